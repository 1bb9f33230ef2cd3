//! Wires the kubelet together: the kubelet server, the node, and the pod
//! workers fed by a watch of this node's pods, the prober's result changes,
//! a periodic resync, and a relist of the runtime's containers every second
//! (upstream's PLEG) so a container dying is noticed at once. On start,
//! runtime objects of pods still bound here are adopted as they are (the
//! next sync keeps running containers whose spec did not change), and
//! those of pods that are gone are stopped and removed. Static pods from
//! the manifest directory feed the same workers (mirror pods in the API are
//! never run themselves), and the garbage collector runs beside them.

use crate::KubeletConfig;
use crate::cri::{DynCri, labels};
use crate::images::ImagePuller;
use crate::pod::PodWorkers;
use crate::probes::ProbeManager;
use crate::server::{self, ServerState};
use crate::staticpods::{StaticPods, is_mirror};
use crate::volumes::VolumeManager;
use futures::FutureExt;
use informer::{Change, Informer, WorkQueue};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::watcher;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("kubelet server: {0}")]
    Io(#[from] std::io::Error),
    #[error("node: {0}")]
    Node(#[from] crate::node::NodeError),
}

/// How many pods sync at the same time (each pod by at most one worker).
const POD_WORKERS: usize = 8;
/// How often the runtime is relisted.
const RELIST: Duration = Duration::from_secs(1);
/// How often every known pod is resynced regardless.
const RESYNC: Duration = Duration::from_secs(10);

/// Run the kubelet until `shutdown`. `tls` is the kubelet server's TLS config.
///
/// Binds the kubelet server on `cfg.node_ip:cfg.port` (port 0 picks one,
/// which is what the Node advertises), registers the node, and runs the pods
/// whose `spec.nodeName` is `cfg.node_name` on `cri`.
pub async fn run(
    cfg: KubeletConfig,
    client: kube::Client,
    cri: DynCri,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), AgentError> {
    let shutdown = shutdown.boxed().shared();
    let listener = tokio::net::TcpListener::bind((cfg.node_ip, cfg.port)).await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(server::serve(
        listener,
        tls,
        ServerState {
            cri: cri.clone(),
            pod_log_dir: cfg.pod_log_dir.clone(),
            node_name: cfg.node_name.clone(),
        },
        shutdown.clone(),
    ));
    let mut node = tokio::spawn(crate::node::run(
        client.clone(),
        cfg.clone(),
        cri.clone(),
        port,
        shutdown.clone(),
    ));

    let recorder = informer::Recorder::new(client.clone(), "kubelet");
    let puller = ImagePuller::new(cri.clone(), recorder.clone());
    let volumes = VolumeManager::new(cfg.root_dir.join("pods"), client.clone())
        .with_cluster_domain(cfg.cluster_domain.clone());
    let (probes, mut probe_changes) = ProbeManager::new(cri.clone());
    let probes = probes.with_recorder(recorder.clone());
    let workers = PodWorkers::new(
        cfg.clone(),
        client.clone(),
        cri.clone(),
        puller,
        volumes,
        probes,
        recorder.clone(),
    );
    let queue: WorkQueue<String> = WorkQueue::new();
    let statics = cfg.static_pod_path.clone().map(|dir| {
        StaticPods::new(
            dir,
            cfg.node_name.clone(),
            client.clone(),
            workers.clone(),
            queue.clone(),
        )
    });
    if let Some(s) = &statics {
        // Known before adoption, so their running containers are kept.
        s.load().await;
    }

    let pods: Informer<Pod> = Informer::new();
    {
        let (w, q) = (workers.clone(), queue.clone());
        let statics = statics.clone();
        pods.on_change(move |c: &Change<Pod>| {
            // Mirror pods only show static pods; the file source runs those.
            let mirror = match c {
                Change::Added(p) | Change::Updated { new: p, .. } | Change::Deleted(p) => {
                    is_mirror(p)
                }
            };
            if mirror {
                let gone = matches!(c, Change::Deleted(_))
                    || matches!(c, Change::Updated { new, .. } if new.metadata.deletion_timestamp.is_some());
                if gone && let Some(s) = &statics {
                    s.mirror_changed();
                }
                return;
            }
            let uid = match c {
                Change::Added(p) | Change::Updated { new: p, .. } => w.update_pod(p.clone()),
                Change::Deleted(p) => w.remove_pod(p),
            };
            if let Some(uid) = uid {
                q.add(uid);
            }
        });
    }
    let watch = pods.start(
        Api::all(client.clone()),
        watcher::Config::default().fields(&format!("spec.nodeName={}", cfg.node_name)),
    );

    let mut tasks = vec![watch];
    tasks.push(tokio::spawn({
        let (pods, cri, q, w) = (pods.clone(), cri.clone(), queue.clone(), workers.clone());
        async move {
            pods.wait_synced().await;
            adopt(&cri, &w, &q).await;
            let q2 = q.clone();
            let w2 = w.clone();
            q.run(POD_WORKERS, move |uid: String| {
                let w = w2.clone();
                async move { w.sync(&uid).await }
            })
            .await;
            drop(q2);
        }
    }));
    tasks.push(tokio::spawn({
        let q = queue.clone();
        async move {
            while let Some(uid) = probe_changes.recv().await {
                q.add(uid);
            }
        }
    }));
    tasks.push(tokio::spawn(relist(cri.clone(), queue.clone())));
    if let Some(s) = statics {
        tasks.push(tokio::spawn(s.run()));
    }
    tasks.push(tokio::spawn(crate::gc::run(
        cfg.clone(),
        cri.clone(),
        workers.clone(),
        recorder.clone(),
    )));
    tasks.push(tokio::spawn({
        let (q, w) = (queue.clone(), workers.clone());
        async move {
            let mut tick = tokio::time::interval(RESYNC);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for uid in w.known_uids() {
                    q.add(uid);
                }
            }
        }
    }));

    let result = tokio::select! {
        _ = shutdown.clone() => Ok(()),
        r = &mut node => match r {
            Ok(Err(e)) => Err(AgentError::Node(e)),
            _ => Ok(()),
        },
    };
    for t in &tasks {
        t.abort();
    }
    if !node.is_finished() {
        node.abort();
    }
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Err(e))) => tracing::warn!("kubelet server: {e}"),
        Ok(_) => {}
        Err(_) => tracing::warn!("kubelet server did not stop in time"),
    }
    result
}

/// Queue every pod the runtime holds: those still bound here are synced
/// (and keep their running containers), the others are orphans and removed.
async fn adopt(cri: &DynCri, workers: &PodWorkers, queue: &WorkQueue<String>) {
    match cri.list_pod_sandbox(None).await {
        Ok(sbs) => {
            for sb in sbs {
                if let Some(uid) = sb.labels.get(labels::POD_UID) {
                    queue.add(uid.clone());
                }
            }
        }
        Err(e) => tracing::warn!("listing sandboxes for adoption: {e}"),
    }
    for uid in workers.known_uids() {
        queue.add(uid);
    }
}

/// Upstream's PLEG: relist containers and sandboxes every second and queue
/// the pods whose runtime state changed.
async fn relist(cri: DynCri, queue: WorkQueue<String>) {
    let mut last: HashMap<String, (i32, String)> = HashMap::new();
    let mut tick = tokio::time::interval(RELIST);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut now: HashMap<String, (i32, String)> = HashMap::new();
        match cri.list_containers(None).await {
            Ok(cs) => {
                for c in cs {
                    let uid = c.labels.get(labels::POD_UID).cloned().unwrap_or_default();
                    now.insert(c.id, (c.state, uid));
                }
            }
            Err(e) => {
                tracing::debug!("relist containers: {e}");
                continue;
            }
        }
        match cri.list_pod_sandbox(None).await {
            Ok(sbs) => {
                for s in sbs {
                    let uid = s.labels.get(labels::POD_UID).cloned().unwrap_or_default();
                    // Sandbox states are offset so they never equal a container's.
                    now.insert(s.id, (100 + s.state, uid));
                }
            }
            Err(e) => {
                tracing::debug!("relist sandboxes: {e}");
                continue;
            }
        }
        for (id, (state, uid)) in &now {
            if last.get(id).map(|(s, _)| s) != Some(state) && !uid.is_empty() {
                queue.add(uid.clone());
            }
        }
        for (id, (_, uid)) in &last {
            if !now.contains_key(id) && !uid.is_empty() {
                queue.add(uid.clone());
            }
        }
        last = now;
    }
}
