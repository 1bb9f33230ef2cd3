//! The garbage collector (upstream's garbagecollector controller): a graph
//! of owners and dependents over every resource that supports list, watch
//! and delete, kept by metadata-only watches (so 50,000 pods cost little
//! memory). Resources are rediscovered every 30 s, so CRDs are picked up.
//! Workers (in `worker`) delete dependents whose owners are gone, carry out
//! foreground deletion and orphaning.

pub mod graph;
mod worker;

use futures::StreamExt;
use graph::{Graph, Identity, Observed, Work};
use informer::{Factory, WorkQueue};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

const RESYNC_DISCOVERY: Duration = Duration::from_secs(30);
/// Upstream deletes with 20 workers and orphans with 5.
const DELETE_WORKERS: usize = 20;
const ORPHAN_WORKERS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
    #[error("no resource known for {0} {1}")]
    UnknownKind(String, String),
    #[error("owner {0} exists but is not observed yet")]
    NotObserved(String),
}

/// A resource the collector watches.
#[derive(Clone)]
pub struct Resource {
    pub ar: ApiResource,
    pub namespaced: bool,
}

/// Resources by (group, kind), the preferred version of each.
#[derive(Default)]
pub struct Resources {
    by_kind: HashMap<(String, String), Resource>,
}

impl Resources {
    /// The resource an `apiVersion` + `kind` names (any version of the group).
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<Resource> {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        self.by_kind
            .get(&(group.to_string(), kind.to_string()))
            .cloned()
    }
}

/// State shared by watchers and workers.
pub(crate) struct Shared {
    pub client: Client,
    pub graph: Mutex<Graph>,
    pub resources: RwLock<Resources>,
    pub delete_queue: WorkQueue<String>,
    pub orphan_queue: WorkQueue<String>,
    /// Owners verified absent (upstream's absentOwnerCache), by
    /// namespace/uid; cleared when it grows past its bound.
    pub absent: Mutex<HashSet<(String, String)>>,
}

impl Shared {
    pub fn dispatch(&self, work: Vec<Work>) {
        for w in work {
            match w {
                Work::AttemptToDelete(uid) => self.delete_queue.add(uid),
                Work::AttemptToOrphan(uid) => self.orphan_queue.add(uid),
            }
        }
    }
}

/// Groups whose resources the collector never watches (upstream's
/// default ignored resources).
fn ignored(group: &str, plural: &str) -> bool {
    plural == "events" && (group.is_empty() || group == "events.k8s.io")
}

pub async fn run(factory: Factory) {
    let shared = Arc::new(Shared {
        client: factory.client(),
        graph: Mutex::new(Graph::default()),
        resources: RwLock::new(Resources::default()),
        delete_queue: WorkQueue::new(),
        orphan_queue: WorkQueue::new(),
        absent: Mutex::new(HashSet::new()),
    });
    let s1 = shared.clone();
    let s2 = shared.clone();
    let dq = shared.delete_queue.clone();
    let oq = shared.orphan_queue.clone();
    futures::join!(
        discovery_loop(shared),
        dq.run(DELETE_WORKERS, move |uid| {
            let s = s1.clone();
            async move { worker::attempt_to_delete(&s, &uid).await.map(|_| None) }
        }),
        oq.run(ORPHAN_WORKERS, move |uid| {
            let s = s2.clone();
            async move { worker::attempt_to_orphan(&s, &uid).await.map(|_| None) }
        }),
    );
}

/// Rediscover resources periodically; start watches for new ones, stop
/// those of resources that went away.
async fn discovery_loop(shared: Arc<Shared>) {
    let mut watches: HashMap<(String, String), tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        match Discovery::new(shared.client.clone()).run().await {
            Ok(discovery) => {
                let mut found = HashMap::new();
                for group in discovery.groups() {
                    for (ar, caps) in group.recommended_resources() {
                        let ok = [verbs::LIST, verbs::WATCH, verbs::DELETE]
                            .iter()
                            .all(|v| caps.supports_operation(v));
                        if !ok || ignored(&ar.group, &ar.plural) {
                            continue;
                        }
                        let namespaced = caps.scope == Scope::Namespaced;
                        found.insert(
                            (ar.group.clone(), ar.kind.clone()),
                            Resource { ar, namespaced },
                        );
                    }
                }
                watches.retain(|k, h| {
                    let keep = found.contains_key(k);
                    if !keep {
                        h.abort();
                    }
                    keep
                });
                for (k, res) in &found {
                    if !watches.contains_key(k) {
                        let task = tokio::spawn(watch_resource(shared.clone(), res.ar.clone()));
                        watches.insert(k.clone(), task);
                    }
                }
                shared.resources.write().expect("gc lock").by_kind = found;
            }
            Err(e) => tracing::warn!("garbage collector discovery: {e}"),
        }
        tokio::time::sleep(RESYNC_DISCOVERY).await;
    }
}

fn identity(ar: &ApiResource, obj: &PartialObjectMeta<DynamicObject>) -> Option<Identity> {
    let m = &obj.metadata;
    Some(Identity {
        api_version: ar.api_version.clone(),
        kind: ar.kind.clone(),
        namespace: m.namespace.clone(),
        name: m.name.clone()?,
        uid: m.uid.clone()?,
    })
}

fn observe(
    shared: &Shared,
    ar: &ApiResource,
    obj: &PartialObjectMeta<DynamicObject>,
) -> Option<String> {
    let id = identity(ar, obj)?;
    let uid = id.uid.clone();
    let m = &obj.metadata;
    let finalizers = m.finalizers.clone().unwrap_or_default();
    let work = shared.graph.lock().expect("gc lock").upsert(Observed {
        identity: id,
        owners: m.owner_references.clone().unwrap_or_default(),
        being_deleted: m.deletion_timestamp.is_some(),
        finalizers: &finalizers,
    });
    shared.dispatch(work);
    Some(uid)
}

/// One metadata-only watch of one resource, feeding the graph.
async fn watch_resource(shared: Arc<Shared>, ar: ApiResource) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(shared.client.clone(), &ar);
    let cfg = watcher::Config::default().page_size(500);
    let mut stream = watcher::watcher(api, cfg).default_backoff().boxed();
    // uids this watch currently knows, so a re-list can report deletions
    // it missed.
    let mut known: HashSet<String> = HashSet::new();
    let mut relist: Option<HashSet<String>> = None;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(Event::Init) => relist = Some(HashSet::new()),
            Ok(Event::InitApply(obj)) => {
                if let Some(uid) = observe(&shared, &ar, &obj) {
                    relist.get_or_insert_with(HashSet::new).insert(uid);
                }
            }
            Ok(Event::InitDone) => {
                let fresh = relist.take().unwrap_or_default();
                for gone in known.difference(&fresh) {
                    let work = shared.graph.lock().expect("gc lock").remove(gone);
                    shared.dispatch(work);
                }
                known = fresh;
            }
            Ok(Event::Apply(obj)) => {
                if let Some(uid) = observe(&shared, &ar, &obj) {
                    known.insert(uid);
                }
            }
            Ok(Event::Delete(obj)) => {
                if let Some(uid) = obj.metadata.uid.as_deref() {
                    known.remove(uid);
                    let work = shared.graph.lock().expect("gc lock").remove(uid);
                    shared.dispatch(work);
                }
            }
            Err(e) => tracing::debug!(resource = %ar.plural, "gc watch: {e}"),
        }
    }
}
