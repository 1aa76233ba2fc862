//! A checkpointed listener of the event store: it has a stable id, keeps its checkpoint
//! (the last position it handled) in its own store, and moves it in the same
//! transaction as what it does with the events, so a crash neither skips nor repeats
//! an event. One loop reads for all of them: [`catch_up`] hands the events after the
//! checkpoint over in batches; [`follow`] does that whenever the store's position moves
//! and sleeps otherwise.
//!
//! Listeners: the projector (its checkpoint in the view; it catches up its own way,
//! reading one batch ahead on a second thread and grouping commits, and does upkeep
//! while idle), a process application's publisher (checkpoint after the broker's
//! acks), the example engine (acting on interaction requests in its engine
//! transactions).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::event::StoredEvent;
use crate::event_store::{EventReader, StoreError};
use crate::position_signal::Waiter;

/// What a listener does with the events it is handed.
pub trait Listener {
    type Error: From<StoreError>;

    /// The listener's stable id (the key of its checkpoint).
    fn id(&self) -> &str;

    /// The last position handled, from the listener's own store.
    fn checkpoint(&mut self) -> Result<i64, Self::Error>;

    /// Handles `events` (in position order, all after the checkpoint) and moves the
    /// checkpoint to the last one's position in the same transaction as their effects.
    fn handle(&mut self, events: &[StoredEvent]) -> Result<(), Self::Error>;

    /// How many events one [`Listener::handle`] gets at most.
    fn batch(&self) -> usize {
        500
    }

    /// Handles everything after the checkpoint; returns how many events. The default
    /// is [`catch_up`]; a listener with a faster way of its own overrides it.
    fn catch_up(&mut self, reader: &mut EventReader) -> Result<usize, Self::Error> {
        let batch = self.batch();
        catch_up(self, reader, batch)
    }

    /// One step of upkeep while there is nothing new; true while more is left (the
    /// follow loop then looks for events again before the next step).
    fn upkeep(&mut self) -> Result<bool, Self::Error> {
        Ok(false)
    }
}

/// Hands `listener` everything the store holds after its checkpoint, `batch` events at
/// a time; returns how many events it handled.
pub fn catch_up<L: Listener + ?Sized>(
    listener: &mut L,
    reader: &mut EventReader,
    batch: usize,
) -> Result<usize, L::Error> {
    let mut handled = 0;
    loop {
        let after = listener.checkpoint()?;
        let events = reader.read_after(after, batch.max(1))?;
        if events.is_empty() {
            return Ok(handled);
        }
        listener.handle(&events)?;
        handled += events.len();
    }
}

/// Follows the store until `stop`: catches up, does upkeep while there is any, then
/// sleeps until the store's position moves past what was read (or a `wake_all`). After
/// a failure `retry` (given the store's head) says how long to pause before trying
/// again (the listener may recover meanwhile, as a publisher making a fresh producer),
/// or `None`: give up and return the error (the caller restarts the listener). To stop
/// it, set `stop`, then `wake_all` the signal behind `waiter`.
pub fn follow<L: Listener + ?Sized>(
    listener: &mut L,
    reader: &mut EventReader,
    waiter: &mut Waiter,
    stop: &AtomicBool,
    mut retry: impl FnMut(&mut L, &L::Error, i64) -> Option<Duration>,
) -> Result<(), L::Error> {
    while !stop.load(Ordering::Relaxed) {
        // The head before reading: what was read reaches at least this far.
        let head = waiter.signal().head();
        let step = listener.catch_up(reader).and_then(|handled| {
            // Nothing new: one step of upkeep, then look again.
            Ok(handled == 0 && listener.upkeep()?)
        });
        match step {
            Ok(true) => continue,
            Ok(false) => {
                let read_to = listener.checkpoint().map(|c| c.max(head)).unwrap_or(head);
                waiter.wait_beyond(read_to, None);
            }
            Err(e) => match retry(listener, &e, head) {
                Some(pause) => waiter.pause(pause),
                None => return Err(e),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::command::TaskCommand;
    use crate::position_signal::PositionSignal;
    use crate::testing::fixtures;
    use crate::{CommandContext, CommandGateway, EventStore};

    /// Remembers what it handled; its "store" is a field.
    struct Recording {
        checkpoint: i64,
        seen: Vec<i64>,
        fail_once_at: Option<i64>,
    }

    impl Listener for Recording {
        type Error = StoreError;
        fn id(&self) -> &str {
            "recording"
        }
        fn checkpoint(&mut self) -> Result<i64, StoreError> {
            Ok(self.checkpoint)
        }
        fn batch(&self) -> usize {
            10
        }
        fn handle(&mut self, events: &[StoredEvent]) -> Result<(), StoreError> {
            if let Some(p) = self
                .fail_once_at
                .filter(|p| events.iter().any(|e| e.position == *p))
            {
                self.fail_once_at = None;
                return Err(StoreError::Corrupt {
                    position: p,
                    message: "failing once".into(),
                });
            }
            self.seen.extend(events.iter().map(|e| e.position));
            self.checkpoint = events.last().map(|e| e.position).unwrap_or(self.checkpoint);
            Ok(())
        }
    }

    fn store_with(n: usize) -> (tempfile::TempDir, EventStore, CommandGateway) {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open(dir.path().join("events.db")).expect("store");
        let gateway = CommandGateway::new(&store).expect("gateway");
        for i in 0..n {
            let t = fixtures::task(&format!("t{i}"), "app");
            gateway
                .send(
                    TaskCommand::CreateTask(t).into(),
                    &CommandContext::default(),
                )
                .expect("sent");
        }
        (dir, store, gateway)
    }

    #[test]
    fn catch_up_hands_over_everything_after_the_checkpoint_in_batches_once() {
        let (_dir, store, _gateway) = store_with(7);
        let mut reader = store.reader().expect("reader");
        let mut l = Recording {
            checkpoint: 2,
            seen: Vec::new(),
            fail_once_at: None,
        };
        assert_eq!(catch_up(&mut l, &mut reader, 3).expect("caught up"), 5);
        assert_eq!(l.seen, vec![3, 4, 5, 6, 7]);
        assert_eq!(
            catch_up(&mut l, &mut reader, 3).expect("again"),
            0,
            "nothing twice"
        );
    }

    #[test]
    fn follow_handles_new_events_retries_a_failure_and_stops_on_request() {
        let (_dir, store, gateway) = store_with(2);
        let signal: PositionSignal = gateway.commit_signal();
        let stop = Arc::new(AtomicBool::new(false));
        let runner = {
            let (store, signal, stop) = (store.clone(), signal.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reader = store.reader().expect("reader");
                let mut waiter = signal.waiter();
                let mut l = Recording {
                    checkpoint: 0,
                    seen: Vec::new(),
                    fail_once_at: Some(3),
                };
                let mut retries = 0;
                follow(&mut l, &mut reader, &mut waiter, &stop, |_, _, _| {
                    retries += 1;
                    Some(Duration::from_millis(10))
                })
                .expect("no error is given up on");
                (l.seen, retries)
            })
        };
        for i in 2..4 {
            let t = fixtures::task(&format!("t{i}"), "app");
            gateway
                .send(
                    TaskCommand::CreateTask(t).into(),
                    &CommandContext::default(),
                )
                .expect("sent");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store
            .reader()
            .expect("reader")
            .head_position()
            .expect("head")
            < 4
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        signal.wake_all();
        let (seen, retries) = runner.join().expect("thread");
        assert_eq!(seen, vec![1, 2, 3, 4], "each event once, in order");
        assert!(retries >= 1, "the failure was retried");
    }
}
