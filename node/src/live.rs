//! A subscription as an async stream, for every transport that carries it (SSE in the
//! server, the Tauri channel in the desktop app): the subscription's blocking reads run
//! on the blocking pool, and the stream sleeps until the change feed wakes it.

use std::sync::Arc;

use futures_util::Stream;
use taskpool_core::live::{LiveItem, Subscription};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::problem::Problem;

/// What a live stream yields after the snapshot.
#[derive(Debug)]
pub enum LiveEvent {
    /// Changes, in position order.
    Items(Vec<LiveItem>),
    /// The node is stopping (or `stop` was cancelled); `position` is the last one sent.
    End { position: i64 },
    /// The view could not be read (the cause is logged, not told).
    Failed { position: i64, problem: Problem },
}

/// The changes of `subscription` after its snapshot, until `stop` is cancelled or the
/// node stops.
pub fn live_events(
    mut subscription: Subscription,
    stop: CancellationToken,
) -> impl Stream<Item = LiveEvent> {
    let notify = Arc::new(Notify::new());
    {
        let notify = notify.clone();
        subscription.set_waker(Arc::new(move || notify.notify_one()));
    }
    async_stream::stream! {
        let mut subscription: Option<Subscription> = Some(subscription);
        loop {
            let Some(sub) = subscription.take() else { break };
            let position = sub.position();
            let joined = tokio::task::spawn_blocking(move || {
                let mut sub = sub;
                let items = sub.try_next();
                (sub, items)
            })
            .await;
            let Ok((sub, items)) = joined else { break };
            subscription = Some(sub);
            match items {
                Ok(Some(items)) if !items.is_empty() => {
                    yield LiveEvent::Items(items);
                    continue;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    yield LiveEvent::End { position };
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live stream failed");
                    yield LiveEvent::Failed { position, problem: Problem::internal("the live stream could not read the view") };
                    break;
                }
            }
            tokio::select! {
                _ = stop.cancelled() => {
                    yield LiveEvent::End { position };
                    break;
                }
                _ = notify.notified() => {}
            }
        }
    }
}
