//! A shared informer: one watch of one resource type feeding one cache that
//! any number of readers share, with change handlers (client-go's
//! SharedIndexInformer). Handlers run on the watch task and must be cheap:
//! they enqueue keys, they do not call the API.
//!
//! The cache keeps objects without `metadata.managedFields` (client-go's
//! `TransformStripManagedFields`, kube-rs' reflector advice): no controller
//! reads them, and as `serde_json::Value` trees they cost several times the
//! rest of a Node or Pod.

use crate::keys::ObjectKey;
use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

/// One change the cache saw.
#[derive(Debug)]
pub enum Change<K> {
    Added(Arc<K>),
    Updated { old: Arc<K>, new: Arc<K> },
    Deleted(Arc<K>),
}

impl<K> Change<K> {
    /// The object as it is now (or was last, for a deletion).
    pub fn object(&self) -> &Arc<K> {
        match self {
            Change::Added(o) | Change::Deleted(o) => o,
            Change::Updated { new, .. } => new,
        }
    }
}

pub type Handler<K> = Arc<dyn Fn(&Change<K>) + Send + Sync>;
/// Maps an object to the index values it is found under.
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

struct Index<K> {
    func: IndexFn<K>,
    entries: HashMap<String, HashSet<ObjectKey>>,
}

struct Cache<K> {
    /// namespace ("" for cluster-scoped) → name → object
    items: HashMap<String, HashMap<String, Arc<K>>>,
    len: usize,
    indexes: HashMap<String, Index<K>>,
    /// Recently deleted keys and the last resourceVersion seen of each, so a
    /// component's own late `apply` of an older copy cannot resurrect them.
    tombstones: HashMap<ObjectKey, u64>,
}

/// Tombstones kept before the oldest are forgotten (all at once: cheap, and
/// by then the writes they guard against are long done).
const MAX_TOMBSTONES: usize = 20_000;

/// A resourceVersion as a number (our server's are store revisions); `None`
/// for anything else, which disables the ordering checks.
fn rv_of<K: Resource>(obj: &K) -> Option<u64> {
    obj.meta().resource_version.as_deref()?.parse().ok()
}

impl<K> Cache<K> {
    fn get(&self, key: &ObjectKey) -> Option<&Arc<K>> {
        self.items.get(&key.namespace)?.get(&key.name)
    }

    fn insert(&mut self, key: ObjectKey, obj: Arc<K>) -> Option<Arc<K>> {
        for idx in self.indexes.values_mut() {
            for v in (idx.func)(&obj) {
                idx.entries.entry(v).or_default().insert(key.clone());
            }
        }
        let old = self
            .items
            .entry(key.namespace.clone())
            .or_default()
            .insert(key.name.clone(), obj);
        match &old {
            Some(o) => self.unindex(&key, o, true),
            None => self.len += 1,
        }
        old
    }

    fn remove(&mut self, key: &ObjectKey) -> Option<Arc<K>> {
        let ns = self.items.get_mut(&key.namespace)?;
        let old = ns.remove(&key.name)?;
        if ns.is_empty() {
            self.items.remove(&key.namespace);
        }
        self.len -= 1;
        self.unindex(key, &old, false);
        Some(old)
    }

    /// Drop `key` from the index entries of `old`; when the key was just
    /// re-inserted, keep the entries the new object still has.
    fn unindex(&mut self, key: &ObjectKey, old: &Arc<K>, replaced: bool) {
        let current = if replaced {
            self.get(key).cloned()
        } else {
            None
        };
        for idx in self.indexes.values_mut() {
            let keep: HashSet<String> = current
                .as_ref()
                .map(|c| (idx.func)(c).into_iter().collect())
                .unwrap_or_default();
            for v in (idx.func)(old) {
                if keep.contains(&v) {
                    continue;
                }
                if let Some(set) = idx.entries.get_mut(&v) {
                    set.remove(key);
                    if set.is_empty() {
                        idx.entries.remove(&v);
                    }
                }
            }
        }
    }
}

struct Inner<K> {
    cache: RwLock<Cache<K>>,
    handlers: RwLock<Vec<Handler<K>>>,
    synced: tokio::sync::watch::Sender<bool>,
}

/// A shared, cheaply clonable cache of one resource type kept current by a watch.
pub struct Informer<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for Informer<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// An informer that has not started: add indexes, then `start`.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                cache: RwLock::new(Cache {
                    items: HashMap::new(),
                    len: 0,
                    indexes: HashMap::new(),
                    tombstones: HashMap::new(),
                }),
                handlers: RwLock::new(Vec::new()),
                synced: tokio::sync::watch::channel(false).0,
            }),
        }
    }

    /// Keep an index named `name`: objects by each value `func` returns.
    pub fn add_index(&self, name: &str, func: IndexFn<K>) {
        let mut cache = self.inner.cache.write().expect("informer lock");
        let mut entries: HashMap<String, HashSet<ObjectKey>> = HashMap::new();
        for (ns, items) in &cache.items {
            for (n, obj) in items {
                for v in func(obj) {
                    entries
                        .entry(v)
                        .or_default()
                        .insert(ObjectKey::new(ns.clone(), n.clone()));
                }
            }
        }
        cache
            .indexes
            .insert(name.to_string(), Index { func, entries });
    }

    /// Watch `api` forever (re-listing after errors, with backoff).
    pub fn start(&self, api: Api<K>, config: watcher::Config) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut stream = watcher::watcher(api, config).default_backoff().boxed();
            let mut initial: Option<HashMap<ObjectKey, Arc<K>>> = None;
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(Event::Init) => initial = Some(HashMap::new()),
                    Ok(Event::InitApply(mut obj)) => {
                        strip(&mut obj);
                        let key = ObjectKey::of(&obj);
                        initial
                            .get_or_insert_with(HashMap::new)
                            .insert(key, Arc::new(obj));
                    }
                    Ok(Event::InitDone) => {
                        me.replace(initial.take().unwrap_or_default());
                        me.inner.synced.send_replace(true);
                    }
                    Ok(Event::Apply(mut obj)) => {
                        strip(&mut obj);
                        me.apply_from_watch(Arc::new(obj));
                    }
                    Ok(Event::Delete(obj)) => me.delete_with_rv(&ObjectKey::of(&obj), rv_of(&obj)),
                    Err(e) => tracing::debug!(kind = std::any::type_name::<K>(), "watch: {e}"),
                }
            }
        })
    }

    /// Call `handler` for every change from now on; objects already cached
    /// are replayed to it as `Added`.
    pub fn on_change(&self, handler: impl Fn(&Change<K>) + Send + Sync + 'static) {
        let handler: Handler<K> = Arc::new(handler);
        let existing: Vec<Arc<K>> = {
            let cache = self.inner.cache.read().expect("informer lock");
            self.inner
                .handlers
                .write()
                .expect("informer lock")
                .push(handler.clone());
            cache
                .items
                .values()
                .flat_map(|m| m.values().cloned())
                .collect()
        };
        for obj in existing {
            handler(&Change::Added(obj));
        }
    }

    /// Wait until the first full list has been loaded.
    pub async fn wait_synced(&self) {
        let mut rx = self.inner.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub fn has_synced(&self) -> bool {
        *self.inner.synced.borrow()
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<K>> {
        self.inner
            .cache
            .read()
            .expect("informer lock")
            .get(key)
            .cloned()
    }

    pub fn get_named(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        self.get(&ObjectKey::new(namespace.unwrap_or(""), name))
    }

    /// Every cached object.
    pub fn list(&self) -> Vec<Arc<K>> {
        let cache = self.inner.cache.read().expect("informer lock");
        cache
            .items
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    /// Every cached object of one namespace.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let cache = self.inner.cache.read().expect("informer lock");
        cache
            .items
            .get(namespace)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Objects found under `value` in the index `index`.
    pub fn by_index(&self, index: &str, value: &str) -> Vec<Arc<K>> {
        let cache = self.inner.cache.read().expect("informer lock");
        let Some(keys) = cache.indexes.get(index).and_then(|i| i.entries.get(value)) else {
            return Vec::new();
        };
        keys.iter().filter_map(|k| cache.get(k).cloned()).collect()
    }

    pub fn len(&self) -> usize {
        self.inner.cache.read().expect("informer lock").len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Put `obj` in the cache as if the watch had delivered it (tests, and
    /// components that want their own writes visible before the watch
    /// echoes them).
    ///
    /// A copy older than what the cache holds, or than the deletion it saw,
    /// is ignored: the watch already told us more.
    pub fn apply(&self, obj: Arc<K>) {
        self.insert_checked(obj, false)
    }

    fn apply_from_watch(&self, obj: Arc<K>) {
        self.insert_checked(obj, true)
    }

    fn insert_checked(&self, mut obj: Arc<K>, from_watch: bool) {
        if obj.meta().managed_fields.is_some() {
            strip(Arc::make_mut(&mut obj));
        }
        let key = ObjectKey::of(obj.as_ref());
        let (old, handlers) = {
            let mut cache = self.inner.cache.write().expect("informer lock");
            let new_rv = rv_of(obj.as_ref());
            if let Some(cur) = cache.get(&key) {
                let stale = match (rv_of(cur.as_ref()), new_rv) {
                    (Some(c), Some(n)) => n <= c,
                    _ => cur.meta().resource_version == obj.meta().resource_version,
                };
                if stale {
                    return;
                }
            } else if !from_watch
                && let (Some(dead), Some(n)) = (cache.tombstones.get(&key), new_rv)
                && n <= *dead
            {
                return;
            }
            if from_watch {
                cache.tombstones.remove(&key);
            }
            let old = cache.insert(key, obj.clone());
            (old, self.handlers())
        };
        let change = match old {
            Some(old) => Change::Updated { old, new: obj },
            None => Change::Added(obj),
        };
        for h in handlers {
            h(&change);
        }
    }

    /// Remove `key` from the cache as if the watch had said it was deleted.
    pub fn delete(&self, key: &ObjectKey) {
        self.delete_with_rv(key, None)
    }

    fn delete_with_rv(&self, key: &ObjectKey, rv: Option<u64>) {
        let (old, handlers) = {
            let mut cache = self.inner.cache.write().expect("informer lock");
            let old = cache.remove(key);
            let last = [rv, old.as_ref().and_then(|o| rv_of(o.as_ref()))]
                .into_iter()
                .flatten()
                .max();
            if let Some(last) = last {
                if cache.tombstones.len() >= MAX_TOMBSTONES {
                    cache.tombstones.clear();
                }
                cache.tombstones.insert(key.clone(), last);
            }
            (old, self.handlers())
        };
        if let Some(old) = old {
            let change = Change::Deleted(old);
            for h in handlers {
                h(&change);
            }
        }
    }

    fn handlers(&self) -> Vec<Handler<K>> {
        self.inner.handlers.read().expect("informer lock").clone()
    }

    /// A fresh list replaced the cache: report what changed while we were away.
    fn replace(&self, fresh: HashMap<ObjectKey, Arc<K>>) {
        let mut changes = Vec::new();
        let handlers = {
            let mut cache = self.inner.cache.write().expect("informer lock");
            let old_keys: Vec<ObjectKey> = cache
                .items
                .iter()
                .flat_map(|(ns, m)| m.keys().map(|n| ObjectKey::new(ns.clone(), n.clone())))
                .collect();
            for k in old_keys {
                if !fresh.contains_key(&k)
                    && let Some(old) = cache.remove(&k)
                {
                    changes.push(Change::Deleted(old));
                }
            }
            for (k, obj) in fresh {
                let same = cache.get(&k).is_some_and(|cur| {
                    cur.meta().resource_version.is_some()
                        && cur.meta().resource_version == obj.meta().resource_version
                });
                if same {
                    continue;
                }
                match cache.insert(k, obj.clone()) {
                    Some(old) => changes.push(Change::Updated { old, new: obj }),
                    None => changes.push(Change::Added(obj)),
                }
            }
            self.handlers()
        };
        for c in &changes {
            for h in &handlers {
                h(c);
            }
        }
    }
}

/// What the cache leaves out of every object it keeps: managedFields, and
/// the spare room of decoded lists (see [`crate::compact`]).
fn strip<K: Resource + 'static>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    crate::compact::compact(obj);
}

impl<K> Default for Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn cm(name: &str, rv: &str) -> Arc<ConfigMap> {
        let mut c = ConfigMap::default();
        c.metadata.name = Some(name.into());
        c.metadata.namespace = Some("ns".into());
        c.metadata.resource_version = Some(rv.into());
        Arc::new(c)
    }

    fn rv(inf: &Informer<ConfigMap>, name: &str) -> Option<String> {
        inf.get_named(Some("ns"), name)
            .and_then(|c| c.metadata.resource_version.clone())
    }

    #[test]
    fn an_older_copy_never_replaces_a_newer_one() {
        let inf = Informer::<ConfigMap>::new();
        inf.apply(cm("a", "5"));
        inf.apply(cm("a", "3"));
        assert_eq!(rv(&inf, "a").as_deref(), Some("5"));
        inf.apply(cm("a", "9"));
        assert_eq!(rv(&inf, "a").as_deref(), Some("9"));
    }

    #[test]
    fn a_late_apply_does_not_resurrect_a_deleted_object() {
        let inf = Informer::<ConfigMap>::new();
        inf.apply_from_watch(cm("a", "5"));
        inf.delete_with_rv(&ObjectKey::new("ns", "a"), Some(6));
        inf.apply(cm("a", "5"));
        assert_eq!(rv(&inf, "a"), None);
        // Recreated, as the watch says: back.
        inf.apply_from_watch(cm("a", "8"));
        assert_eq!(rv(&inf, "a").as_deref(), Some("8"));
    }

    #[test]
    fn handlers_see_adds_updates_and_deletes() {
        let inf = Informer::<ConfigMap>::new();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        inf.on_change(move |c| {
            s.lock().unwrap().push(match c {
                Change::Added(_) => "added",
                Change::Updated { .. } => "updated",
                Change::Deleted(_) => "deleted",
            })
        });
        inf.apply(cm("a", "1"));
        inf.apply(cm("a", "2"));
        inf.delete(&ObjectKey::new("ns", "a"));
        assert_eq!(*seen.lock().unwrap(), ["added", "updated", "deleted"]);
    }

    fn config_map(rv: &str) -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "a", "namespace": "ns", "resourceVersion": rv,
                "managedFields": [{"manager": "m", "operation": "Update",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:k": {}}}}],
            },
            "data": {"k": "v"},
        }))
        .expect("config map")
    }

    #[test]
    fn cache_and_handlers_see_objects_without_managed_fields() {
        let inf = Informer::<ConfigMap>::new();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        inf.on_change(move |c| {
            s.lock()
                .expect("lock")
                .push(c.object().metadata.managed_fields.is_some())
        });
        let mine = Arc::new(config_map("1"));
        inf.apply(mine.clone());
        // The caller's own copy is left as it was.
        assert!(mine.metadata.managed_fields.is_some());
        let cached = inf.get_named(Some("ns"), "a").expect("cached");
        assert!(cached.metadata.managed_fields.is_none());
        assert_eq!(cached.data, mine.data);
        inf.apply(Arc::new(config_map("2")));
        assert_eq!(*seen.lock().expect("lock"), [false, false]);
    }
}
