//! The Node object: registration with capacity, allocatable, addresses,
//! node info and conditions; status updates; the node Lease renewed every
//! `lease_interval`.
//!
//! As upstream: the node registers itself (or adopts the Node a previous run
//! left, refreshing its labels), then samples its status every 10 s and
//! posts it when something changed, or every `node_status_report_interval`
//! otherwise, while the Lease carries the frequent heartbeat.

pub mod lease;
pub mod readings;
pub mod status;
#[cfg(test)]
mod status_tests;

use crate::KubeletConfig;
use crate::cri::DynCri;
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use readings::MachineInfo;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0}")]
    Api(#[from] kube::Error),
}

/// Upstream's nodeStatusUpdateFrequency: how often status is sampled.
pub const STATUS_UPDATE_INTERVAL: Duration = Duration::from_secs(10);
/// Registration retries back off up to this (upstream's 7 s).
const MAX_REGISTER_BACKOFF: Duration = Duration::from_secs(7);

/// The labels the kubelet always sets, plus the configured ones.
pub fn node_labels(cfg: &KubeletConfig) -> BTreeMap<String, String> {
    let arch = readings::go_arch().to_string();
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), cfg.node_name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), arch.clone()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("beta.kubernetes.io/arch".to_string(), arch),
    ]);
    labels.extend(cfg.node_labels.clone());
    labels
}

fn node_object(cfg: &KubeletConfig) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(cfg.node_name.clone()),
            labels: Some(node_labels(cfg)),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Create the Node, or adopt an existing one (a restarted kubelet, or a
/// Node someone made by hand) and bring its labels up to date.
pub async fn register(client: &kube::Client, cfg: &KubeletConfig) -> Result<Node, kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    match nodes
        .create(&PostParams::default(), &node_object(cfg))
        .await
    {
        Ok(n) => {
            tracing::info!(node = %cfg.node_name, "registered node");
            Ok(n)
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let existing = nodes.get(&cfg.node_name).await?;
            let have = existing.metadata.labels.clone().unwrap_or_default();
            let want = node_labels(cfg);
            if want.iter().all(|(k, v)| have.get(k) == Some(v)) {
                return Ok(existing);
            }
            tracing::info!(node = %cfg.node_name, "node exists; updating its labels");
            let patch = json!({"metadata": {"labels": want}});
            nodes
                .patch(
                    &cfg.node_name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
        }
        Err(e) => Err(e),
    }
}

/// The runtime's view, sampled once per status update.
struct RuntimeView {
    version: String,
    not_ready: Option<String>,
    images: Vec<crate::cri::api::Image>,
    image_fs: Option<PathBuf>,
}

async fn runtime_view(cri: &DynCri) -> RuntimeView {
    let version = match cri.version().await {
        Ok(v) => format!("{}://{}", v.runtime_name, v.runtime_version),
        Err(_) => String::new(),
    };
    let not_ready = status::runtime_problem(&cri.status().await);
    let images = cri.list_images(None).await.unwrap_or_default();
    let image_fs = cri
        .image_fs_info()
        .await
        .ok()
        .and_then(|i| i.image_filesystems.into_iter().next())
        .and_then(|fs| fs.fs_id)
        .map(|id| PathBuf::from(id.mountpoint))
        .filter(|p| !p.as_os_str().is_empty());
    RuntimeView {
        version,
        not_ready,
        images,
        image_fs,
    }
}

/// Keeps one node's status: what it last posted and the conditions the
/// server holds (for transition times and conditions others own).
struct StatusKeeper {
    cfg: KubeletConfig,
    cri: DynCri,
    kubelet_port: u16,
    machine: MachineInfo,
    thresholds: status::Thresholds,
    last_posted: Option<(NodeStatus, Instant)>,
    conditions: Vec<NodeCondition>,
}

impl StatusKeeper {
    /// Sample, and post when changed or when the report interval is up.
    async fn update(&mut self, client: &kube::Client, force: bool) -> Result<bool, kube::Error> {
        let rt = runtime_view(&self.cri).await;
        let root = self.cfg.root_dir.clone();
        let image_fs = rt.image_fs.clone();
        let r = tokio::task::spawn_blocking(move || readings::read(&root, image_fs.as_deref()))
            .await
            .unwrap_or_default();
        let facts = status::Facts {
            node_name: self.cfg.node_name.clone(),
            node_ip: self.cfg.node_ip,
            kubelet_port: self.kubelet_port,
            max_pods: self.cfg.max_pods,
            machine: self.machine.clone(),
            runtime_version: rt.version,
        };
        let now = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let new = status::node_status(
            &facts,
            &r,
            &self.thresholds,
            rt.not_ready.as_deref(),
            &rt.images,
            &self.conditions,
            now,
        );
        let due = match &self.last_posted {
            None => true,
            Some((old, at)) => {
                force
                    || status::changed(old, &new)
                    || at.elapsed() >= self.cfg.node_status_report_interval
            }
        };
        if !due {
            return Ok(false);
        }
        let nodes: Api<Node> = Api::all(client.clone());
        // Strategic merge: conditions merge by type, so the ones other
        // components own (NetworkUnavailable) stay.
        let patch = json!({"status": new});
        let node = nodes
            .patch_status(
                &self.cfg.node_name,
                &PatchParams::default(),
                &Patch::Strategic(&patch),
            )
            .await?;
        self.conditions = node.status.and_then(|s| s.conditions).unwrap_or_default();
        self.last_posted = Some((new, Instant::now()));
        Ok(true)
    }
}

/// Register until it works (backing off), or `None` on shutdown.
async fn register_with_retry(
    client: &kube::Client,
    cfg: &KubeletConfig,
    shutdown: &mut (impl std::future::Future<Output = ()> + Unpin),
) -> Option<Node> {
    let mut backoff = Duration::from_millis(100);
    loop {
        match register(client, cfg).await {
            Ok(n) => return Some(n),
            Err(e) => tracing::warn!(node = %cfg.node_name, "registering node: {e}"),
        }
        tokio::select! {
            _ = &mut *shutdown => return None,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_REGISTER_BACKOFF);
    }
}

/// Register the node (create, or update an existing one), then keep its
/// status and Lease fresh until `shutdown`. `kubelet_port` is the port the
/// kubelet server really listens on (daemonEndpoints.kubeletEndpoint).
pub async fn run(
    client: kube::Client,
    cfg: KubeletConfig,
    cri: DynCri,
    kubelet_port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), NodeError> {
    let mut shutdown = std::pin::pin!(shutdown);
    let Some(node) = register_with_retry(&client, &cfg, &mut shutdown).await else {
        return Ok(());
    };
    let mut uid = node.metadata.uid.clone().unwrap_or_default();
    let machine = tokio::task::spawn_blocking(readings::machine_info)
        .await
        .unwrap_or_default();
    let mut keeper = StatusKeeper {
        conditions: node.status.and_then(|s| s.conditions).unwrap_or_default(),
        cfg: cfg.clone(),
        cri,
        kubelet_port,
        machine,
        thresholds: cfg.eviction_hard,
        last_posted: None,
    };
    // Tests shorten the report interval; sampling never waits longer than it.
    let sample_every = STATUS_UPDATE_INTERVAL.min(cfg.node_status_report_interval);
    let mut status_tick = tokio::time::interval(sample_every);
    let mut lease_tick = tokio::time::interval(cfg.lease_interval);
    for t in [&mut status_tick, &mut lease_tick] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = status_tick.tick() => {
                match keeper.update(&client, false).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        // Someone deleted the Node: register again, as a
                        // fresh kubelet would, and post a full status.
                        tracing::warn!(node = %cfg.node_name, "node object is gone; registering again");
                        match register(&client, &cfg).await {
                            Ok(n) => {
                                uid = n.metadata.uid.unwrap_or_default();
                                keeper.conditions.clear();
                                keeper.last_posted = None;
                            }
                            Err(e) => tracing::warn!(node = %cfg.node_name, "registering node: {e}"),
                        }
                    }
                    Err(e) => tracing::warn!(node = %cfg.node_name, "posting node status: {e}"),
                }
            }
            _ = lease_tick.tick() => {
                if let Err(e) = lease::renew(&client, &cfg.node_name, &uid).await {
                    tracing::warn!(node = %cfg.node_name, "renewing node lease: {e}");
                }
            }
        }
    }
}
