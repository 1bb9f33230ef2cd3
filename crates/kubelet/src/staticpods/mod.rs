//! Static pods: pods read from manifest files (`file`) rather than the API,
//! run by the same pod workers under their own UID (the manifest's hash),
//! and shown in the API as MIRROR pods (upstream's mirror_client): a copy
//! annotated `kubernetes.io/config.mirror`, owned by the Node, carrying the
//! status the kubelet writes. A deleted mirror is recreated and never stops
//! the pod; a deleted manifest stops the pod and deletes the mirror; a
//! changed manifest is a new pod that replaces the old one.

pub mod file;

use crate::pod::PodWorkers;
use file::CONFIG_MIRROR;
use informer::WorkQueue;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::{DeleteParams, PostParams, Preconditions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How often the manifest directory is read (upstream's file source: 20 s).
pub const POLL: Duration = Duration::from_secs(20);
/// Retry mirror creation this soon when it failed (no Node yet, API down).
const RETRY: Duration = Duration::from_secs(2);

/// The file source and mirror pod client of one node; clone freely.
#[derive(Clone)]
pub struct StaticPods {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    node_name: String,
    client: kube::Client,
    workers: PodWorkers,
    queue: WorkQueue<String>,
    /// Static uid → the pod as read.
    pods: Mutex<HashMap<String, Arc<Pod>>>,
    wake: Notify,
}

/// A pod in the API that is a mirror pod.
pub fn is_mirror(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(CONFIG_MIRROR))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StaticPods {
    pub fn new(
        dir: PathBuf,
        node_name: String,
        client: kube::Client,
        workers: PodWorkers,
        queue: WorkQueue<String>,
    ) -> Self {
        StaticPods {
            inner: Arc::new(Inner {
                dir,
                node_name,
                client,
                workers,
                queue,
                pods: Mutex::new(HashMap::new()),
                wake: Notify::new(),
            }),
        }
    }

    /// A mirror pod changed or was deleted in the API: reconcile now.
    pub fn mirror_changed(&self) {
        self.inner.wake.notify_one();
    }

    /// Read the directory and hand new pods to the workers and gone ones
    /// for removal. Returns the pods that went away.
    pub async fn load(&self) -> Vec<Arc<Pod>> {
        let (dir, node) = (self.inner.dir.clone(), self.inner.node_name.clone());
        let read = tokio::task::spawn_blocking(move || file::read_dir(&dir, &node))
            .await
            .unwrap_or_default();
        let desired: HashMap<String, Arc<Pod>> = read
            .into_iter()
            .filter_map(|(_, p)| Some((p.metadata.uid.clone()?, Arc::new(p))))
            .collect();
        let w = &self.inner.workers;
        let q = &self.inner.queue;
        let mut known = lock(&self.inner.pods);
        let mut gone = Vec::new();
        known.retain(|uid, pod| {
            if desired.contains_key(uid) {
                return true;
            }
            tracing::info!(pod = %crate::pod::format_pod(pod), "static pod manifest removed or changed");
            if let Some(uid) = w.remove_pod(pod) {
                q.add(uid);
            }
            gone.push(pod.clone());
            false
        });
        for (uid, pod) in desired {
            if known.contains_key(&uid) {
                continue;
            }
            tracing::info!(pod = %crate::pod::format_pod(&pod), "static pod added");
            if let Some(uid) = w.update_pod(pod.clone()) {
                q.add(uid);
            }
            known.insert(uid, pod);
        }
        gone
    }

    /// Read manifests and bring mirror pods in line until the task is aborted.
    pub async fn run(self) {
        loop {
            let gone = self.load().await;
            let ok = self.sync_mirrors(&gone).await;
            let wait = if ok { POLL } else { RETRY };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    /// Delete mirrors of removed pods and create or replace those of the
    /// current ones. `false` when something must be retried soon.
    async fn sync_mirrors(&self, gone: &[Arc<Pod>]) -> bool {
        let current: Vec<Arc<Pod>> = lock(&self.inner.pods).values().cloned().collect();
        let mut ok = true;
        for pod in gone {
            let replaced = current.iter().any(|p| {
                p.metadata.name == pod.metadata.name
                    && p.metadata.namespace == pod.metadata.namespace
            });
            if !replaced && let Err(e) = self.delete_mirror(pod).await {
                tracing::warn!(pod = %crate::pod::format_pod(pod), "deleting mirror pod: {e}");
                ok = false;
            }
        }
        for pod in current {
            if let Err(e) = self.sync_mirror(&pod).await {
                tracing::warn!(pod = %crate::pod::format_pod(&pod), "mirror pod: {e}");
                ok = false;
            }
        }
        ok
    }

    fn api(&self, pod: &Pod) -> Api<Pod> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        Api::namespaced(self.inner.client.clone(), ns)
    }

    async fn delete_mirror(&self, pod: &Pod) -> Result<(), kube::Error> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let api = self.api(pod);
        let Some(m) = api.get_opt(&name).await? else {
            return Ok(());
        };
        if !is_mirror(&m) {
            return Ok(());
        }
        delete_exact(&api, &m).await
    }

    /// Upstream's syncPod mirror handling: a mirror that is being deleted or
    /// mirrors another version is deleted; a missing one is created.
    async fn sync_mirror(&self, pod: &Arc<Pod>) -> Result<(), kube::Error> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let api = self.api(pod);
        if let Some(m) = api.get_opt(&name).await? {
            let hash = m
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(CONFIG_MIRROR));
            if hash == Some(&uid) && m.metadata.deletion_timestamp.is_none() {
                self.set_mirror(&uid, m.metadata.uid.clone());
                return Ok(());
            }
            self.set_mirror(&uid, None);
            delete_exact(&api, &m).await?;
        }
        let Some(node) = Api::<Node>::all(self.inner.client.clone())
            .get_opt(&self.inner.node_name)
            .await?
        else {
            return Err(kube::Error::Service("node not registered yet".into()));
        };
        let mut mirror = (**pod).clone();
        mirror.metadata.uid = None;
        mirror.metadata.resource_version = None;
        mirror
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(CONFIG_MIRROR.into(), uid.clone());
        mirror.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: self.inner.node_name.clone(),
            uid: node.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
        let created = api.create(&PostParams::default(), &mirror).await?;
        tracing::info!(pod = %name, "created mirror pod");
        self.set_mirror(&uid, created.metadata.uid);
        Ok(())
    }

    fn set_mirror(&self, uid: &str, mirror_uid: Option<String>) {
        let had = mirror_uid.is_some();
        self.inner.workers.set_mirror_uid(uid, mirror_uid);
        if had {
            // Write the status to the (new) mirror.
            self.inner.queue.add(uid.to_string());
        }
    }
}

async fn delete_exact(api: &Api<Pod>, m: &Pod) -> Result<(), kube::Error> {
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: m.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api
        .delete(m.metadata.name.as_deref().unwrap_or_default(), &dp)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}
