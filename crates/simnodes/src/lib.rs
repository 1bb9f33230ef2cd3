//! `simnodes`: simulated nodes for testing the control plane at scale, as
//! upstream's hollow nodes (kubemark) and KWOK do. A simulation registers N
//! Node objects with the capacity and labels asked for, keeps their Leases
//! and status heartbeats going like a kubelet would, and moves the pods bound
//! to them through a realistic life (Pending → Running → Succeeded/Failed for
//! run-to-completion pods, graceful deletion confirmed) without containers.
//! It is a plain API client: it works against any rkube (or Kubernetes) API
//! server through one shared informer factory.

mod lease;
mod node;
mod pods;
mod recover;
mod time;

pub use node::{node_internal_ip, node_name, node_pod_cidr};
pub use pods::{EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION};

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Label every simulated node carries (`type=sim`), KWOK's `type=kwok` in spirit.
pub const SIM_LABEL: (&str, &str) = ("type", "sim");
/// Annotation marking a node as simulated (no kubelet, no containers).
pub const SIM_ANNOTATION: &str = "sim.rkube.io/node";

/// Errors of a simulation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("registering node {node}: {source}")]
    Register {
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error("invalid simulation config: {0}")]
    Config(String),
}

/// A taint put on every simulated node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimTaint {
    pub key: String,
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// How many nodes; they are named `{name_prefix}{0..count}`.
    pub count: usize,
    pub name_prefix: String,
    /// Capacity (and allocatable) of every node, as Kubernetes quantities.
    pub cpu: String,
    pub memory: String,
    pub pods: String,
    pub ephemeral_storage: String,
    /// Extra labels on every node.
    pub labels: BTreeMap<String, String>,
    /// Spread nodes round-robin over this many zones (`zone-0`, ...) through
    /// `topology.kubernetes.io/zone`; 0 sets no zone label.
    pub zones: usize,
    pub taints: Vec<SimTaint>,
    /// How often each node renews its Lease (upstream: 10 s).
    pub lease_interval: Duration,
    /// How often node status is re-posted when nothing changed (upstream's
    /// nodeStatusReportFrequency: 5 min).
    pub status_report_interval: Duration,
    /// How long a bound pod stays Pending before it runs.
    pub pod_start_delay: Duration,
    /// How long a run-to-completion pod (restartPolicy Never/OnFailure) runs
    /// unless its `sim.rkube.io/run-seconds` annotation says otherwise.
    pub job_run_time: Duration,
    /// API writes in flight at once, per kind of work (pods, leases).
    pub concurrency: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            count: 1,
            name_prefix: "sim-node-".into(),
            cpu: "32".into(),
            memory: "256Gi".into(),
            pods: "110".into(),
            ephemeral_storage: "100Gi".into(),
            labels: BTreeMap::new(),
            zones: 0,
            taints: Vec::new(),
            lease_interval: Duration::from_secs(10),
            status_report_interval: Duration::from_secs(300),
            pod_start_delay: Duration::ZERO,
            job_run_time: Duration::from_secs(1),
            concurrency: 32,
        }
    }
}

impl SimConfig {
    fn validate(&self) -> Result<(), Error> {
        if self.name_prefix.is_empty() {
            return Err(Error::Config("name prefix must not be empty".into()));
        }
        if self.lease_interval.is_zero() {
            return Err(Error::Config("lease interval must be positive".into()));
        }
        if self.concurrency == 0 {
            return Err(Error::Config("concurrency must be positive".into()));
        }
        Ok(())
    }

    /// Names of the simulated nodes, in registration order.
    pub fn node_names(&self) -> Vec<String> {
        (0..self.count)
            .map(|i| node_name(&self.name_prefix, i))
            .collect()
    }
}

/// A running simulation; `stop` ends it (its nodes stay registered and, like
/// a dead kubelet's, stop renewing their Leases).
pub struct SimHandle {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    nodes: Arc<Vec<String>>,
}

impl SimHandle {
    pub fn node_names(&self) -> &[String] {
        &self.nodes
    }

    /// Stop renewing leases and handling pods; waits for the loops to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Register the nodes (returns once all are registered with Ready status and
/// a Lease), then keep them alive and run their pods in the background.
pub async fn start(factory: informer::Factory, cfg: SimConfig) -> Result<SimHandle, Error> {
    cfg.validate()?;
    let cfg = Arc::new(cfg);
    let client = factory.client();
    // Start the pod informer before registering so its list overlaps the
    // registration round trips.
    let pod_sim = pods::PodSim::new(&factory, cfg.clone());
    let started = std::time::Instant::now();
    let nodes = Arc::new(node::register_all(&client, &cfg).await?);
    tracing::info!(
        nodes = nodes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "simulated nodes registered"
    );
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = vec![
        tokio::spawn(lease::keep_alive(
            client.clone(),
            cfg.clone(),
            nodes.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(recover::run(
            factory.clone(),
            nodes.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(pod_sim.run(stop_rx)),
    ];
    Ok(SimHandle { stop, tasks, nodes })
}

/// Run a simulation until `shutdown` resolves.
pub async fn run(
    factory: informer::Factory,
    cfg: SimConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let handle = start(factory, cfg).await?;
    shutdown.await;
    handle.stop().await;
    Ok(())
}

/// Resolves when `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
