//! The watch cache: every object of every resource held in memory, fed by
//! one store watch over the whole registry, so LIST and WATCH are served from
//! memory and each event is encoded once for all its watchers. Each resource
//! keeps a ring of recent events so a watch can resume from a recent
//! resourceVersion; on start the ring is refilled from the store's history,
//! so watches survive a server restart.

mod decode;
pub mod encode;
mod expect;
pub mod object;
mod revision;

pub use decode::decode_object;
pub use object::{CacheEvent, CachedObject, EventType};

use crate::keys;
use encode::StoredJson;
use expect::Expectations;
pub use expect::Expecting;
use revision::Revision;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use store::{EventKind, RangeRequest, Store, StoreError, WatchEvent};
use tokio::sync::broadcast;

/// How many events each resource keeps for resuming watches.
const RING_CAPACITY: usize = 4096;
/// Live-event buffer per resource; a watcher further behind is cut off (it
/// re-watches, as upstream's clients do).
const CHANNEL_CAPACITY: usize = 8192;
/// History replayed into the rings at start-up, in revisions.
const REPLAY_REVISIONS: i64 = 20_000;

struct ResourceCache {
    objects: BTreeMap<String, Arc<CachedObject>>,
    ring: VecDeque<Arc<CacheEvent>>,
    /// Every event after this revision is in `ring`.
    ring_from: i64,
    tx: broadcast::Sender<Arc<CacheEvent>>,
}

impl ResourceCache {
    fn new(ring_from: i64) -> Self {
        ResourceCache {
            objects: BTreeMap::new(),
            ring: VecDeque::new(),
            ring_from,
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }
    fn push(&mut self, ev: Arc<CacheEvent>) {
        if self.ring.len() >= RING_CAPACITY
            && let Some(old) = self.ring.pop_front()
        {
            self.ring_from = old.rv;
        }
        self.ring.push_back(ev);
    }
}

/// A snapshot handed to LIST: objects under a prefix and the revision they reflect.
pub struct Snapshot {
    pub items: Vec<Arc<CachedObject>>,
    pub revision: i64,
}

/// What a watch starts with: the events to replay, and the live receiver.
pub struct WatchStart {
    pub initial: Vec<Arc<CacheEvent>>,
    pub live: broadcast::Receiver<Arc<CacheEvent>>,
    pub revision: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld { requested: i64, oldest: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct WatchCache {
    resources: RwLock<HashMap<String, ResourceCache>>,
    /// The revision the cache has caught up to.
    revision: Revision,
    /// Revision from which rings of resources first seen later are complete.
    ring_from: std::sync::atomic::AtomicI64,
    /// Objects this server is writing, so their events need no decoding.
    expected: Expectations,
}

impl WatchCache {
    /// Load the current state and history, then follow the store.
    pub async fn start(store: Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let rev = store.current_revision().await?;
        let compacted = store.compacted_revision().await?;
        let replay_from = (compacted + 1).max(rev - REPLAY_REVISIONS).max(1);
        let cache = Arc::new(WatchCache {
            resources: RwLock::new(HashMap::new()),
            revision: Revision::new(rev),
            ring_from: std::sync::atomic::AtomicI64::new(replay_from - 1),
            expected: Expectations::default(),
        });
        if rev > 0 {
            let mut start_key = None;
            loop {
                let page = store
                    .range(RangeRequest {
                        prefix: keys::ROOT.into(),
                        start_key,
                        limit: 10_000,
                        revision: rev,
                    })
                    .await?;
                {
                    let mut res = cache.resources.write().expect("cache lock");
                    for kv in &page.kvs {
                        if let Some(obj) = decode_object(&kv.key, &kv.value, kv.mod_revision)
                            && let Some((prefix, _, _)) = keys::split_key(&kv.key)
                        {
                            let rc = res
                                .entry(prefix.to_string())
                                .or_insert_with(|| ResourceCache::new(cache.ring_from()));
                            rc.objects.insert(kv.key.clone(), Arc::new(obj));
                        }
                    }
                }
                match (page.more, page.kvs.last()) {
                    (true, Some(last)) => start_key = Some(format!("{}\0", last.key)),
                    _ => break,
                }
            }
        }
        let mut stream = store.watch(keys::ROOT, replay_from).await?;
        // Refill the rings from history before serving, so a watch that
        // resumes from a version taken before a restart finds its events.
        if replay_from <= rev {
            use futures::StreamExt;
            // History that compaction thinned may stop short of `rev`; a
            // pause in the replay means it is over.
            while let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(500), stream.next()).await
            {
                let ev = ev?;
                let r = ev.revision();
                cache.apply(ev, rev);
                if r >= rev {
                    break;
                }
            }
        }
        tokio::spawn(follow(Arc::downgrade(&cache), store, stream, rev));
        Ok(cache)
    }

    fn ring_from(&self) -> i64 {
        self.ring_from.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Tell the cache that `stored`, the store encoding of `obj`, is about
    /// to be written at `key`: its event then goes into the cache without
    /// being parsed back. Call it before the store write (the event may be
    /// applied before the write returns) and `keep` the result once the
    /// write succeeded.
    pub fn expect<'a>(&'a self, key: &'a str, obj: &Value, stored: &StoredJson) -> Expecting<'a> {
        self.expected.expect(key, obj, stored)
    }

    /// The revision the cache reflects.
    pub fn revision(&self) -> i64 {
        self.revision.get()
    }

    /// Wait until the cache has seen `rev` (used for consistent reads).
    pub async fn wait_for(&self, rev: i64) {
        self.revision.wait_for(rev).await;
    }

    /// One object by key.
    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        let (prefix, _, _) = keys::split_key(key)?;
        let res = self.resources.read().expect("cache lock");
        res.get(prefix)?.objects.get(key).cloned()
    }

    /// Every object under `prefix` (a resource prefix, optionally with a namespace).
    pub fn list(&self, prefix: &str, filter: impl Fn(&CachedObject) -> bool) -> Snapshot {
        let Some((rprefix, _, _)) =
            keys::split_key(&format!("{prefix}x")).map(|(p, g, r)| (p.to_string(), g, r))
        else {
            return Snapshot {
                items: vec![],
                revision: self.revision(),
            };
        };
        let res = self.resources.read().expect("cache lock");
        let revision = self.revision();
        let items = res
            .get(&rprefix)
            .map(|rc| {
                rc.objects
                    .range(prefix.to_string()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .filter(|(_, o)| filter(o))
                    .map(|(_, o)| o.clone())
                    .collect()
            })
            .unwrap_or_default();
        Snapshot { items, revision }
    }

    /// Start a watch at the current revision together with a snapshot of the
    /// objects under `prefix` that pass `filter`, taken atomically.
    pub fn watch_with_snapshot(
        &self,
        resource_prefix: &str,
        prefix: &str,
        filter: impl Fn(&CachedObject) -> bool,
    ) -> (Snapshot, broadcast::Receiver<Arc<CacheEvent>>) {
        let mut res = self.resources.write().expect("cache lock");
        let revision = self.revision();
        let rc = res
            .entry(resource_prefix.to_string())
            .or_insert_with(|| ResourceCache::new(self.ring_from()));
        let live = rc.tx.subscribe();
        let items = rc
            .objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, o)| filter(o))
            .map(|(_, o)| o.clone())
            .collect();
        (Snapshot { items, revision }, live)
    }

    /// Start a watch on a resource prefix after revision `from` (0 = now).
    /// Events of other namespaces are the caller's to filter.
    pub fn watch(&self, resource_prefix: &str, from: i64) -> Result<WatchStart, CacheError> {
        let mut res = self.resources.write().expect("cache lock");
        let revision = self.revision();
        let rc = res
            .entry(resource_prefix.to_string())
            .or_insert_with(|| ResourceCache::new(self.ring_from()));
        let live = rc.tx.subscribe();
        if from == 0 || from >= revision {
            return Ok(WatchStart {
                initial: vec![],
                live,
                revision,
            });
        }
        if from < rc.ring_from {
            return Err(CacheError::TooOld {
                requested: from,
                oldest: rc.ring_from + 1,
            });
        }
        let initial = rc.ring.iter().filter(|e| e.rv > from).cloned().collect();
        Ok(WatchStart {
            initial,
            live,
            revision,
        })
    }

    fn apply(&self, ev: WatchEvent, loaded_at: i64) {
        let rev = ev.revision();
        let live = rev > loaded_at;
        let Some((prefix, _, _)) = keys::split_key(&ev.kv.key) else {
            if live {
                self.bump(rev);
            }
            return;
        };
        let key = ev.kv.key.as_str();
        // Parse outside the lock, so readers are not held up by it.
        let put = (ev.kind == EventKind::Put).then(|| {
            self.expected
                .take(key, &ev.kv.value, rev)
                .or_else(|| decode_object(key, &ev.kv.value, rev))
        });
        // Replayed history carries its own previous value (None for a
        // create); live events follow the cached state.
        let replayed_prev = if live {
            None
        } else {
            ev.prev
                .as_ref()
                .and_then(|p| decode_object(&p.key, &p.value, p.mod_revision))
                .map(Arc::new)
        };
        let mut res = self.resources.write().expect("cache lock");
        let rc = res
            .entry(prefix.to_string())
            .or_insert_with(|| ResourceCache::new(self.ring_from()));
        let prev = if live {
            rc.objects.get(key).cloned()
        } else {
            replayed_prev
        };
        let event = match ev.kind {
            EventKind::Put => put.flatten().map(|obj| {
                let obj = Arc::new(obj);
                if live {
                    rc.objects.insert(key.to_string(), obj.clone());
                }
                let kind = if prev.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                CacheEvent {
                    kind,
                    rv: rev,
                    object: obj,
                    prev,
                }
            }),
            EventKind::Delete => {
                if live {
                    rc.objects.remove(key);
                }
                // The last state is the previous object's stored bytes: when
                // the cache holds exactly that revision, only the stamped
                // revision differs.
                let last_rev = ev.prev.as_ref().map(|p| p.mod_revision);
                let last = ev.prev.as_ref().map(|p| &p.value).unwrap_or(&ev.kv.value);
                prev.as_ref()
                    .filter(|p| Some(p.rv) == last_rev)
                    .and_then(|p| p.restamped(rev))
                    .or_else(|| decode_object(key, last, rev))
                    .map(|obj| CacheEvent {
                        kind: EventType::Deleted,
                        rv: rev,
                        object: Arc::new(obj),
                        prev,
                    })
            }
        };
        if let Some(event) = event {
            let event = Arc::new(event);
            rc.push(event.clone());
            if live {
                let _ = rc.tx.send(event);
            }
        }
        // Under the lock, so a snapshot never holds an object newer than
        // the revision it reports.
        if live {
            self.bump(rev);
        }
    }

    fn bump(&self, rev: i64) {
        self.revision.advance(rev);
    }
}

/// Feed store events into the cache until the cache is dropped; reopen the
/// store watch where it left off if it breaks.
async fn follow(
    cache: Weak<WatchCache>,
    store: Arc<dyn Store>,
    mut stream: store::WatchStream,
    loaded_at: i64,
) {
    use futures::StreamExt;
    let mut last = loaded_at;
    loop {
        match stream.next().await {
            Some(Ok(ev)) => {
                let Some(c) = cache.upgrade() else { return };
                last = last.max(ev.revision());
                c.apply(ev, loaded_at);
                continue;
            }
            Some(Err(e)) => tracing::warn!("watch cache: store watch failed: {e}; reopening"),
            None => tracing::debug!("watch cache: store watch ended; reopening"),
        }
        loop {
            if cache.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            match store.watch(keys::ROOT, last + 1).await {
                Ok(s) => {
                    stream = s;
                    break;
                }
                Err(StoreError::Compacted { .. }) => {
                    // History we missed is gone: reload and cut every watcher off,
                    // so clients relist, as upstream's reflectors do.
                    let Some(c) = cache.upgrade() else { return };
                    match c.reload(&store).await {
                        Ok(rev) => last = rev,
                        Err(e) => tracing::warn!("watch cache: reload failed: {e}"),
                    }
                }
                Err(e) => tracing::warn!("watch cache: reopening store watch: {e}"),
            }
        }
    }
}

impl WatchCache {
    /// Replace the whole state with the store's current one and end all watches.
    async fn reload(&self, store: &Arc<dyn Store>) -> Result<i64, StoreError> {
        let rev = store.current_revision().await?;
        let page = store
            .range(RangeRequest {
                prefix: keys::ROOT.into(),
                start_key: None,
                limit: 0,
                revision: rev,
            })
            .await?;
        let mut res = self.resources.write().expect("cache lock");
        res.clear();
        // Writes the reload already holds would never see their events.
        self.expected.clear();
        // Nothing before this revision can be replayed any more.
        self.ring_from
            .store(rev, std::sync::atomic::Ordering::Relaxed);
        for kv in &page.kvs {
            if let Some(obj) = decode_object(&kv.key, &kv.value, kv.mod_revision)
                && let Some((prefix, _, _)) = keys::split_key(&kv.key)
            {
                let rc = res
                    .entry(prefix.to_string())
                    .or_insert_with(|| ResourceCache::new(rev));
                rc.objects.insert(kv.key.clone(), Arc::new(obj));
            }
        }
        drop(res);
        self.revision.reset(rev);
        Ok(rev)
    }
}
