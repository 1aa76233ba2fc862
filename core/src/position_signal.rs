//! A signal carrying a position: the event store's head (the gateway's commit signal)
//! or a view's (the projector's), so in-process readers (projectors, the change feed,
//! publishers, waiting queries) wake up when it moves instead of polling.
//!
//! A follow loop that must also stop on request waits through a [`Waiter`]: besides a
//! new position, it returns when [`PositionSignal::wake_all`] was called since the
//! waiter last returned. So a loop checks its stop flag, waits with no timeout, and a
//! stop (flag set, then `wake_all`) is never missed, even one that lands between the
//! check and the wait. An idle loop then costs nothing: no wake-up without a new
//! position or a stop.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct PositionSignal {
    shared: Arc<(Mutex<State>, Condvar)>,
}

#[derive(Debug)]
struct State {
    head: i64,
    /// How many times `wake_all` was called.
    wakes: u64,
}

impl PositionSignal {
    pub fn new(head: i64) -> Self {
        Self {
            shared: Arc::new((Mutex::new(State { head, wakes: 0 }), Condvar::new())),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new head position and wakes every waiter (if it moved).
    pub fn advance(&self, position: i64) {
        let mut state = self.state();
        if position > state.head {
            state.head = position;
            self.shared.1.notify_all();
        }
    }

    /// Wakes every waiter whatever the position: [`Waiter`]s return, so their loops look
    /// at their stop flags. Set the flag first, then call this.
    pub fn wake_all(&self) {
        let mut state = self.state();
        state.wakes = state.wakes.wrapping_add(1);
        self.shared.1.notify_all();
    }

    /// The last head position signalled.
    pub fn head(&self) -> i64 {
        self.state().head
    }

    /// Waits until the head is beyond `position`, or the timeout passes; returns the head.
    pub fn wait_beyond(&self, position: i64, timeout: Duration) -> i64 {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        while state.head <= position {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self.wait(state, Some(deadline - now));
        }
        state.head
    }

    /// A waiter for a follow loop; create it before the loop's first look at its stop
    /// flag.
    pub fn waiter(&self) -> Waiter {
        Waiter {
            wakes: self.state().wakes,
            signal: self.clone(),
        }
    }

    fn wait<'a>(
        &'a self,
        state: MutexGuard<'a, State>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, State> {
        let cvar = &self.shared.1;
        match timeout {
            Some(t) => match cvar.wait_timeout(state, t) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            },
            None => match cvar.wait(state) {
                Ok(guard) => guard,
                Err(p) => p.into_inner(),
            },
        }
    }
}

/// One follow loop's view of a [`PositionSignal`]: remembers the wake-ups it has seen.
#[derive(Debug)]
pub struct Waiter {
    signal: PositionSignal,
    wakes: u64,
}

impl Waiter {
    /// Waits until the head is beyond `position`, a `wake_all` not seen yet, or the
    /// timeout (`None`: none) passes; returns the head.
    pub fn wait_beyond(&mut self, position: i64, timeout: Option<Duration>) -> i64 {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.signal.state();
        while state.head <= position && state.wakes == self.wakes {
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => break,
                },
                None => None,
            };
            state = self.signal.wait(state, left);
        }
        self.wakes = state.wakes;
        state.head
    }

    /// Sleeps for `duration` unless a `wake_all` not seen yet comes first (a pause in a
    /// loop that must still stop at once).
    pub fn pause(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        let mut state = self.signal.state();
        while state.wakes == self.wakes {
            match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => state = self.signal.wait(state, Some(left)),
                _ => break,
            }
        }
        self.wakes = state.wakes;
    }

    /// The signal this waiter follows.
    pub fn signal(&self) -> &PositionSignal {
        &self.signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_returns_on_a_new_position() {
        let signal = PositionSignal::new(5);
        let mut waiter = signal.waiter();
        let s = signal.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s.advance(6);
        });
        assert_eq!(waiter.wait_beyond(5, None), 6);
        t.join().expect("thread");
    }

    #[test]
    fn a_wake_all_before_the_wait_is_not_missed() {
        // Given a loop that looked at its stop flag and is about to wait
        let signal = PositionSignal::new(5);
        let mut waiter = signal.waiter();
        // When the stop lands between the look and the wait
        signal.wake_all();
        // Then the wait returns at once, without a new position
        let started = Instant::now();
        assert_eq!(waiter.wait_beyond(5, Some(Duration::from_secs(10))), 5);
        assert!(started.elapsed() < Duration::from_secs(5));
        // and the next wait waits again (the wake-up was seen)
        assert_eq!(waiter.wait_beyond(5, Some(Duration::from_millis(30))), 5);
    }

    #[test]
    fn an_older_position_neither_moves_the_head_nor_wakes() {
        let signal = PositionSignal::new(5);
        signal.advance(3);
        assert_eq!(signal.head(), 5);
        let mut waiter = signal.waiter();
        let started = Instant::now();
        waiter.pause(Duration::from_millis(30));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
