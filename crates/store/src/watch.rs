//! The watcher machinery both local backends share: replay from history, then
//! live events from an in-process broadcast.
//!
//! Writers never wait for watchers: they publish into a bounded broadcast. A
//! watcher that falls behind the broadcast does not fail; it catches up from
//! the stored history (as etcd's unsynced watchers do) and rejoins the live
//! feed. It fails only when the history it needs has been compacted away.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{broadcast, mpsc};

use crate::{Result, WatchEvent, WatchStream};

/// Capacity of the live broadcast: how far a watcher may lag before it falls
/// back to reading history.
pub(crate) const BROADCAST_CAPACITY: usize = 4096;
/// Events buffered between a watcher's task and its consumer.
const STREAM_BUFFER: usize = 256;
/// Rows read per history page during replay.
const PAGE: usize = 512;

/// The stored history a watcher replays from.
#[async_trait]
pub(crate) trait History: Send + Sync + 'static {
    /// Events under `prefix` with revisions in `from..=until`, in revision
    /// order, at most `limit` of them. `Compacted` if `from` is at or below
    /// the compacted revision (events may be missing).
    async fn events(
        &self,
        prefix: &str,
        from: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<WatchEvent>>;

    /// The latest revision whose event has been, or is being, published.
    /// Every event above it is published after this call returns.
    async fn current(&self) -> Result<i64>;
}

/// Starts a watcher task and returns its stream. `rx` must have been
/// subscribed before `start` was decided, so no event can slip between the
/// replay and the live feed.
pub(crate) fn spawn_watcher(
    history: Arc<dyn History>,
    prefix: String,
    start: i64,
    rx: broadcast::Receiver<Arc<WatchEvent>>,
) -> WatchStream {
    let (tx, out) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(run(history, prefix, start, rx, tx));
    Box::pin(futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|ev| (ev, out))
    }))
}

type Out = mpsc::Sender<Result<WatchEvent>>;

async fn run(
    history: Arc<dyn History>,
    prefix: String,
    mut next: i64,
    mut rx: broadcast::Receiver<Arc<WatchEvent>>,
    tx: Out,
) {
    loop {
        // Catch up from history up to what has already been published.
        let until = match history.current().await {
            Ok(until) => until,
            Err(e) => return fail(&tx, e).await,
        };
        while next <= until {
            let page = tokio::select! {
                page = history.events(&prefix, next, until, PAGE) => page,
                _ = tx.closed() => return,
            };
            let events = match page {
                Ok(events) => events,
                Err(e) => return fail(&tx, e).await,
            };
            let Some(last) = events.last() else { break };
            next = last.revision() + 1;
            for ev in events {
                if tx.send(Ok(ev)).await.is_err() {
                    return;
                }
            }
        }
        next = next.max(until + 1);

        // Live: skip what the replay already delivered.
        loop {
            let received = tokio::select! {
                received = rx.recv() => received,
                _ = tx.closed() => return,
            };
            match received {
                Ok(ev) => {
                    if ev.revision() < next || !ev.kv.key.starts_with(prefix.as_str()) {
                        continue;
                    }
                    next = ev.revision() + 1;
                    if tx.send(Ok(WatchEvent::clone(&ev))).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Rejoin at the tail, then fill the gap from history.
                    rx = rx.resubscribe();
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

async fn fail(tx: &Out, e: crate::StoreError) {
    let _ = tx.send(Err(e)).await;
}
