//! How many live streams one user, and everyone together, may hold open: a stream holds
//! memory and a share of the change feed, so one careless (or hostile) client must not
//! take a node's capacity. Over a limit a stream is refused with 429 and `Retry-After`;
//! a permit is returned when its stream ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The limits (configurable; see `ServerConfig`).
#[derive(Debug, Clone)]
pub struct StreamLimits {
    counts: Arc<Mutex<Counts>>,
    per_user: usize,
    total: usize,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_user: HashMap<String, usize>,
}

/// An open stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamPermit {
    counts: Arc<Mutex<Counts>>,
    user: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        if let Ok(mut c) = self.counts.lock() {
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.by_user.get_mut(&self.user) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.by_user.remove(&self.user);
                }
            }
        }
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRefusal {
    /// The user holds as many as one user may.
    PerUser(usize),
    /// The node holds as many as it may.
    Total(usize),
}

impl StreamLimits {
    pub fn new(per_user: usize, total: usize) -> Self {
        Self {
            counts: Arc::default(),
            per_user: per_user.max(1),
            total: total.max(1),
        }
    }

    /// A place for one more stream of `user`, if there is one.
    pub fn acquire(&self, user: &str) -> Result<StreamPermit, StreamRefusal> {
        let mut c = self
            .counts
            .lock()
            .map_err(|_| StreamRefusal::Total(self.total))?;
        if c.total >= self.total {
            return Err(StreamRefusal::Total(self.total));
        }
        let mine = c.by_user.get(user).copied().unwrap_or(0);
        if mine >= self.per_user {
            return Err(StreamRefusal::PerUser(self.per_user));
        }
        c.total += 1;
        *c.by_user.entry(user.to_string()).or_default() += 1;
        Ok(StreamPermit {
            counts: self.counts.clone(),
            user: user.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_per_user_and_in_total_come_back_when_streams_end() {
        let limits = StreamLimits::new(2, 3);
        let a1 = limits.acquire("alice").expect("1");
        let _a2 = limits.acquire("alice").expect("2");
        assert_eq!(
            limits.acquire("alice").err(),
            Some(StreamRefusal::PerUser(2))
        );
        let _b1 = limits.acquire("bob").expect("bob");
        assert_eq!(limits.acquire("carol").err(), Some(StreamRefusal::Total(3)));
        drop(a1);
        assert!(limits.acquire("alice").is_ok());
    }
}
