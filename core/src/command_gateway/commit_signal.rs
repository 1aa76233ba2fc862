//! A signal carrying the event store's head position, so in-process readers (projectors,
//! waiting queries) wake up on commit instead of polling.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct CommitSignal {
    shared: Arc<(Mutex<i64>, Condvar)>,
}

impl CommitSignal {
    pub fn new(head: i64) -> Self {
        Self {
            shared: Arc::new((Mutex::new(head), Condvar::new())),
        }
    }

    /// Records a new head position and wakes every waiter.
    pub fn advance(&self, position: i64) {
        let (lock, cvar) = &*self.shared;
        let mut head = lock.lock().unwrap_or_else(|p| p.into_inner());
        if position > *head {
            *head = position;
        }
        cvar.notify_all();
    }

    /// The last head position signalled.
    pub fn head(&self) -> i64 {
        *self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the head is beyond `position`, or the timeout passes; returns the head.
    pub fn wait_beyond(&self, position: i64, timeout: Duration) -> i64 {
        let (lock, cvar) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut head = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *head <= position {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            head = match cvar.wait_timeout(head, deadline - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
        *head
    }
}
