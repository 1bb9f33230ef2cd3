//! The node lifecycle controller: notices nodes whose kubelet stopped
//! renewing its Lease and posting status (conditions to Unknown), keeps the
//! condition taints (TaintNodesByCondition and the NoExecute taints) in line
//! with each node's state, marks pods on NotReady nodes NotReady and evicts
//! pods that do not tolerate a NoExecute taint (or once their
//! tolerationSeconds run out).
//!
//! Scale: a periodic monitor walks the node cache (cheap per node, no
//! writes for healthy nodes) and only queues nodes whose state must change;
//! pod work is queued per node through a node-name index.

mod eviction;
pub mod health;

use health::{ready_status, reconciled_taints, stale_conditions};
use informer::{Change, EventType, Factory, Informer, ObjectKey, Recorder, WorkQueue};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::PostParams;
use kube::{Api, Client};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use eviction::{Verdict, tolerates, verdict};

const NODE_INDEX: &str = "spec.nodeName";
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Timing of the controller; the defaults are upstream's.
#[derive(Clone, Debug)]
pub struct NodeLifecycleConfig {
    /// How often node health is checked (`--node-monitor-period`).
    pub monitor_period: Duration,
    /// How long a running node may go without renewing its Lease or
    /// posting status before it is Unknown (`--node-monitor-grace-period`).
    pub grace_period: Duration,
    /// The same for a node that never posted Ready (`--node-startup-grace-period`).
    pub startup_grace_period: Duration,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        Self {
            monitor_period: Duration::from_secs(5),
            grace_period: Duration::from_secs(50),
            startup_grace_period: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("api: {0}")]
    Api(#[from] kube::Error),
}

/// What the monitor last saw of a node's heartbeats, on its own clock (as
/// upstream: timestamps written by the kubelet may be skewed).
struct Health {
    probe: Instant,
    heartbeat: Option<jiff::Timestamp>,
    renew: Option<jiff::Timestamp>,
}

pub(crate) struct Ctx {
    client: Client,
    nodes: Informer<Node>,
    pods: Informer<Pod>,
    leases: Informer<Lease>,
    recorder: Recorder,
    health: Mutex<HashMap<String, Health>>,
    /// Pods under a NoExecute taint without `timeAdded`: when first seen.
    first_seen: Mutex<HashMap<ObjectKey, jiff::Timestamp>>,
    node_queue: WorkQueue<String>,
    pod_queue: WorkQueue<ObjectKey>,
    cfg: NodeLifecycleConfig,
}

pub async fn run(factory: Factory) {
    run_with(factory, NodeLifecycleConfig::default()).await
}

/// Run with explicit timing (tests use a short grace period).
pub async fn run_with(factory: Factory, cfg: NodeLifecycleConfig) {
    let pods = factory.informer_with::<Pod>(|inf| {
        inf.add_index(
            NODE_INDEX,
            Arc::new(|p: &Pod| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .into_iter()
                    .collect()
            }),
        )
    });
    let ctx = Arc::new(Ctx {
        client: factory.client(),
        nodes: factory.informer::<Node>(),
        pods,
        leases: factory.informer::<Lease>(),
        recorder: Recorder::new(factory.client(), "node-controller"),
        health: Mutex::default(),
        first_seen: Mutex::default(),
        node_queue: WorkQueue::new(),
        pod_queue: WorkQueue::new(),
        cfg,
    });
    ctx.nodes.wait_synced().await;
    ctx.pods.wait_synced().await;
    ctx.leases.wait_synced().await;
    watch_changes(&ctx);

    let c = ctx.clone();
    let nodes = ctx.node_queue.run(2, move |name| {
        let c = c.clone();
        async move { reconcile_node(&c, &name).await }
    });
    let c = ctx.clone();
    let pods = ctx.pod_queue.run(4, move |key| {
        let c = c.clone();
        async move { eviction::reconcile_pod(&c, key).await }
    });
    futures::join!(monitor(ctx.clone()), nodes, pods);
}

fn enqueue_pods_of(ctx: &Ctx, node: &str) {
    for p in ctx.pods.by_index(NODE_INDEX, node) {
        ctx.pod_queue.add(ObjectKey::of(p.as_ref()));
    }
}

fn watch_changes(ctx: &Arc<Ctx>) {
    let c = ctx.clone();
    ctx.nodes.on_change(move |ch: &Change<Node>| match ch {
        Change::Added(n) => {
            let name = n.metadata.name.clone().unwrap_or_default();
            c.node_queue.add(name.clone());
            if eviction::node_needs_pod_work(n) {
                enqueue_pods_of(&c, &name);
            }
        }
        Change::Updated { old, new } => {
            let name = new.metadata.name.clone().unwrap_or_default();
            c.node_queue.add(name.clone());
            let taints_changed = old.spec.as_ref().and_then(|s| s.taints.as_ref())
                != new.spec.as_ref().and_then(|s| s.taints.as_ref());
            if (taints_changed || ready_status(old) != ready_status(new))
                && (eviction::node_needs_pod_work(new) || eviction::node_needs_pod_work(old))
            {
                enqueue_pods_of(&c, &name);
            }
        }
        Change::Deleted(n) => {
            if let Some(name) = n.metadata.name.as_deref() {
                c.health.lock().expect("lock").remove(name);
            }
        }
    });
    let c = ctx.clone();
    ctx.pods.on_change(move |ch: &Change<Pod>| {
        let (Change::Added(p) | Change::Updated { new: p, .. }) = ch else {
            return;
        };
        let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            return;
        };
        if c.nodes
            .get_named(None, node)
            .is_some_and(|n| eviction::node_needs_pod_work(&n))
        {
            c.pod_queue.add(ObjectKey::of(p.as_ref()));
        }
    });
}

/// Every period: note heartbeats, decide staleness, queue nodes that must change.
async fn monitor(ctx: Arc<Ctx>) {
    let mut tick = tokio::time::interval(ctx.cfg.monitor_period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        monitor_once(&ctx);
    }
}

fn monitor_once(ctx: &Ctx) {
    let now = Instant::now();
    let wall = jiff::Timestamp::now();
    let nodes = ctx.nodes.list();
    let mut queue = Vec::new();
    {
        let mut health = ctx.health.lock().expect("lock");
        let mut seen = HashSet::with_capacity(nodes.len());
        for node in &nodes {
            let Some(name) = node.metadata.name.as_deref() else {
                continue;
            };
            seen.insert(name);
            let stale = observe(ctx, &mut health, name, node, now);
            tracing::trace!(name, stale, "node observed");
            if (stale && stale_conditions(node, wall).is_some())
                || reconciled_taints(node, wall).is_some()
            {
                queue.push(name.to_string());
            }
        }
        health.retain(|n, _| seen.contains(n.as_str()));
    }
    for n in queue {
        ctx.node_queue.add(n);
    }
}

/// Note the node's heartbeats (Ready's lastHeartbeatTime and its Lease's
/// renewTime) and say whether it has been silent past its grace period.
fn observe(
    ctx: &Ctx,
    health: &mut HashMap<String, Health>,
    name: &str,
    node: &Node,
    now: Instant,
) -> bool {
    let ready = health::condition(node, "Ready");
    let heartbeat = ready
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let renew = ctx
        .leases
        .get_named(Some(LEASE_NAMESPACE), name)
        .and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
    let h = health.entry(name.to_string()).or_insert(Health {
        probe: now,
        heartbeat,
        renew,
    });
    if h.heartbeat != heartbeat || h.renew != renew {
        h.heartbeat = heartbeat;
        h.renew = renew;
        h.probe = now;
    }
    let grace = if ready.is_none() {
        ctx.cfg.startup_grace_period
    } else {
        ctx.cfg.grace_period
    };
    now.saturating_duration_since(h.probe) > grace
}

/// Write the node's Unknown conditions (when stale) and its condition taints.
async fn reconcile_node(ctx: &Ctx, name: &str) -> Result<Option<Duration>, Error> {
    let Some(node) = ctx.nodes.get_named(None, name) else {
        return Ok(None);
    };
    // Judged afresh: a status the kubelet just posted must not be
    // overwritten on the strength of the last tick's verdict.
    let stale = observe(
        ctx,
        &mut ctx.health.lock().expect("lock"),
        name,
        &node,
        Instant::now(),
    );
    let api: Api<Node> = Api::all(ctx.client.clone());
    let now = jiff::Timestamp::now();
    let mut node = (*node).clone();
    if stale && let Some(conds) = stale_conditions(&node, now) {
        let was_ready = ready_status(&node) == "True";
        node.status.get_or_insert_with(Default::default).conditions = Some(conds);
        node = api
            .replace_status(name, &PostParams::default(), &node)
            .await?;
        ctx.nodes.apply(Arc::new(node.clone()));
        if was_ready {
            ctx.recorder.event(
                &node,
                EventType::Normal,
                "NodeNotReady",
                format!("Node {name} status is now: NodeNotReady"),
            );
        }
    }
    if let Some(taints) = reconciled_taints(&node, now) {
        node.spec.get_or_insert_with(Default::default).taints = Some(taints);
        let updated = api.replace(name, &PostParams::default(), &node).await?;
        ctx.nodes.apply(Arc::new(updated));
    }
    Ok(None)
}
