//! WATCH: a stream of events for one resource (optionally one namespace),
//! filtered by selectors the way upstream filters them (an object that stops
//! matching is seen as DELETED, one that starts matching as ADDED), with
//! bookmarks, initial events and a timeout.

use super::Registry;
use super::list::parse_rv;
use super::select::Selection;
use crate::cache::{CacheError, CacheEvent, CachedObject, EventType};
use crate::options::WatchOptions;
use crate::{keys, strategies};
use apimachinery::{ApiError, Cause, ResourceInfo};
use futures::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);
/// Upstream closes watches after a random 30–60 minutes unless asked sooner.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

pub enum WatchEventOut {
    Event {
        kind: EventType,
        object: Arc<CachedObject>,
    },
    /// A bookmark at this resourceVersion; `initial_events_end` marks the end
    /// of `sendInitialEvents`.
    Bookmark { rv: i64, initial_events_end: bool },
    /// A terminal error (e.g. 410 when the watcher fell behind).
    Error(ApiError),
}

pub type WatchStream = BoxStream<'static, WatchEventOut>;

impl Registry {
    pub(crate) async fn watch_stored(
        self: &Arc<Self>,
        res: &ResourceInfo,
        ns: &str,
        opts: &WatchOptions,
    ) -> Result<WatchStream, ApiError> {
        let strategy = strategies::for_resource(&res.group, &res.plural);
        let sel = Selection::parse(
            opts.label_selector.as_deref(),
            opts.field_selector.as_deref(),
            strategy.as_ref(),
        )?;
        let rprefix = keys::resource_prefix(res);
        let prefix = keys::list_prefix(res, ns);
        let rv = parse_rv(&opts.resource_version)?;
        // Upstream: initial events when the version is "" or "0" (or asked for
        // with sendInitialEvents); otherwise start right after the version.
        let initial_wanted = opts.send_initial_events.unwrap_or(rv == 0);
        let causes = watch_option_causes(opts);
        if !causes.is_empty() {
            return Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", causes));
        }
        let (initial, live, start_rev): (Vec<WatchEventOut>, _, i64) =
            if rv == 0 || opts.send_initial_events == Some(true) {
                self.wait_fresh(&opts.resource_version, rv).await?;
                let (snap, live) = self
                    .cache
                    .watch_with_snapshot(&rprefix, &prefix, |o| sel.matches(o));
                let initial = if initial_wanted {
                    snap.items
                        .into_iter()
                        .map(|object| WatchEventOut::Event {
                            kind: EventType::Added,
                            object,
                        })
                        .collect()
                } else {
                    vec![]
                };
                (initial, live, snap.revision)
            } else {
                let start = match self.cache.watch(&rprefix, rv) {
                    Ok(s) => s,
                    // Upstream's watch cache answers a too-old version with a
                    // watch holding one ERROR event (410), not an HTTP error:
                    // clients (client-go, kube-rs) relist on that event, but
                    // retry an HTTP 410 at watch start with the same version
                    // forever.
                    Err(e @ CacheError::TooOld { .. }) => {
                        let ev = WatchEventOut::Error(ApiError::expired(e.to_string()));
                        return Ok(Box::pin(futures::stream::iter([ev])));
                    }
                    Err(CacheError::Store(s)) => return Err(super::store_error(s)),
                };
                let initial = start
                    .initial
                    .iter()
                    .filter_map(|ev| filter_event(ev, &prefix, &sel))
                    .collect();
                (initial, start.live, rv)
            };
        let send_end_bookmark = opts.send_initial_events == Some(true) && opts.allow_bookmarks;
        // No (or a zero) timeout: upstream picks 30–60 minutes at random, so
        // watches do not all reconnect at once.
        let timeout = match opts.timeout_seconds {
            Some(t) if t > 0 => Duration::from_secs(t),
            _ => {
                DEFAULT_TIMEOUT + Duration::from_secs(uuid::Uuid::new_v4().as_u128() as u64 % 1800)
            }
        };
        let (tx, rx) = mpsc::channel(256);
        let bookmarks = opts.allow_bookmarks;
        tokio::spawn(run_watch(
            initial,
            live,
            start_rev,
            prefix,
            sel,
            tx,
            timeout,
            bookmarks,
            send_end_bookmark,
        ));
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|x| (x, rx))
        })))
    }
}

/// What one cache event looks like to a watcher with this prefix and selection.
fn filter_event(ev: &CacheEvent, prefix: &str, sel: &Selection) -> Option<WatchEventOut> {
    if !ev.object.key.starts_with(prefix) {
        return None;
    }
    let now = sel.matches(&ev.object);
    let kind = match ev.kind {
        EventType::Added if now => EventType::Added,
        EventType::Deleted if now => EventType::Deleted,
        EventType::Modified => {
            let before = ev.prev.as_ref().is_some_and(|p| sel.matches(p));
            match (before, now) {
                (true, true) => EventType::Modified,
                (false, true) => EventType::Added,
                (true, false) => EventType::Deleted,
                (false, false) => return None,
            }
        }
        _ => return None,
    };
    Some(WatchEventOut::Event {
        kind,
        object: ev.object.clone(),
    })
}

async fn run_watch(
    initial: Vec<WatchEventOut>,
    mut live: broadcast::Receiver<Arc<CacheEvent>>,
    start_rev: i64,
    prefix: String,
    sel: Selection,
    tx: mpsc::Sender<WatchEventOut>,
    timeout: Duration,
    bookmarks: bool,
    send_end_bookmark: bool,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = start_rev;
    for ev in initial {
        if let WatchEventOut::Event { object, .. } = &ev {
            last = last.max(object.rv);
        }
        if tx.send(ev).await.is_err() {
            return;
        }
    }
    if send_end_bookmark
        && tx
            .send(WatchEventOut::Bookmark {
                rv: last,
                initial_events_end: true,
            })
            .await
            .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tx.closed() => return,
            _ = tokio::time::sleep(BOOKMARK_EVERY), if bookmarks => {
                if live.is_empty() && tx.send(WatchEventOut::Bookmark { rv: last, initial_events_end: false }).await.is_err() {
                    return;
                }
            }
            msg = live.recv() => match msg {
                Ok(ev) => {
                    if ev.rv <= last {
                        continue;
                    }
                    last = ev.rv;
                    if let Some(out) = filter_event(&ev, &prefix, &sel)
                        && tx.send(out).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let _ = tx.send(WatchEventOut::Error(ApiError::gone("watch fell too far behind; restart it"))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// Upstream's checks of watch options (streaming lists).
fn watch_option_causes(opts: &WatchOptions) -> Vec<Cause> {
    let mut causes = vec![];
    let m = opts.resource_version_match.as_str();
    if let Some(send) = opts.send_initial_events {
        if m != "NotOlderThan" {
            causes.push(Cause::forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if send && !opts.allow_bookmarks {
            causes.push(Cause::forbidden(
                "allowWatchBookmarks",
                "sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
    } else if !m.is_empty() {
        causes.push(Cause::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    causes
}
