//! The scheduling framework's types (upstream's `framework` package):
//! the per-node view plugins read (`NodeInfo`), the per-pod facts computed
//! once (`PodInfo`), per-cycle scratch state (`CycleState`), the outcome of
//! one plugin call (`Status`), and the plugin traits for each extension
//! point. Plugins are pure: they read a `Snapshot` and never call the API.

pub mod resources;

use k8s_openapi::api::core::v1::{Node, Pod};
pub use resources::Resources;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Highest score a Score plugin returns for one node after normalizing.
pub const MAX_NODE_SCORE: i64 = 100;

/// One pod as plugins see it, with its resource requests computed once.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    /// Effective requests as upstream counts them: max(sum of containers
    /// (+ restartable init containers), each init container) + overhead.
    pub requests: Resources,
    /// The same with upstream's non-zero defaults for containers that
    /// request no CPU (100m) or memory (200Mi), used by scoring.
    pub non_zero_requests: Resources,
}

impl PodInfo {
    pub fn new(pod: Arc<Pod>) -> Self {
        let requests = resources::pod_requests(&pod, false);
        let non_zero_requests = resources::pod_requests(&pod, true);
        Self {
            pod,
            requests,
            non_zero_requests,
        }
    }

    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }

    pub fn uid(&self) -> &str {
        self.pod.metadata.uid.as_deref().unwrap_or("")
    }

    /// `spec.priority`, 0 when unset.
    pub fn priority(&self) -> i32 {
        self.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
    }
}

/// A host port in use: (protocol, host IP, port). Host IP "0.0.0.0" means all.
pub type HostPort = (String, String, i32);

/// One node and the pods the scheduler counts on it (bound and assumed).
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    pub pods: Vec<Arc<PodInfo>>,
    /// Pods on this node with required or preferred pod (anti-)affinity.
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// Pods on this node with required pod anti-affinity.
    pub pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    pub allocatable: Resources,
    /// Sum of the pods' requests.
    pub requested: Resources,
    /// Sum of the pods' non-zero requests (for scoring).
    pub non_zero_requested: Resources,
    pub used_ports: HashSet<HostPort>,
    /// Image names (every tag/digest name) on the node → size in bytes.
    pub images: HashMap<String, i64>,
    /// Bumped on every change, so snapshots copy only what changed.
    pub generation: u64,
}

impl NodeInfo {
    pub fn new(node: Arc<Node>) -> Self {
        let allocatable = resources::node_allocatable(&node);
        let images = node_images(&node);
        Self {
            node,
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            allocatable,
            requested: Resources::default(),
            non_zero_requested: Resources::default(),
            used_ports: HashSet::new(),
            images,
            generation: 0,
        }
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    /// Replace the Node object, keeping the pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.allocatable = resources::node_allocatable(&node);
        self.images = node_images(&node);
        self.node = node;
    }

    pub fn add_pod(&mut self, pi: Arc<PodInfo>) {
        self.requested.add(&pi.requests);
        self.non_zero_requested.add(&pi.non_zero_requests);
        for p in host_ports(&pi.pod) {
            self.used_ports.insert(p);
        }
        let (any, required_anti) = affinity_kinds(&pi.pod);
        if any {
            self.pods_with_affinity.push(pi.clone());
        }
        if required_anti {
            self.pods_with_required_anti_affinity.push(pi.clone());
        }
        self.pods.push(pi);
    }

    /// Remove the pod with `uid`; returns whether it was there.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.uid() == uid) else {
            return false;
        };
        let pi = self.pods.swap_remove(i);
        self.requested.sub(&pi.requests);
        self.non_zero_requested.sub(&pi.non_zero_requests);
        for p in host_ports(&pi.pod) {
            self.used_ports.remove(&p);
        }
        self.pods_with_affinity.retain(|p| p.uid() != uid);
        self.pods_with_required_anti_affinity
            .retain(|p| p.uid() != uid);
        true
    }
}

/// Whether a pod has any pod (anti-)affinity, and whether it has required anti-affinity.
pub fn affinity_kinds(pod: &Pod) -> (bool, bool) {
    let Some(aff) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else {
        return (false, false);
    };
    let required_anti = aff
        .pod_anti_affinity
        .as_ref()
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_some_and(|v| !v.is_empty());
    let any = aff.pod_affinity.is_some() || aff.pod_anti_affinity.is_some();
    (any, required_anti)
}

/// The host ports a pod's containers ask for.
pub fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let hp = p.host_port.filter(|hp| *hp > 0)?;
            let ip = p
                .host_ip
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "0.0.0.0".into());
            Some((p.protocol.clone().unwrap_or_else(|| "TCP".into()), ip, hp))
        })
        .collect()
}

fn node_images(node: &Node) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    for img in node.status.iter().flat_map(|s| s.images.iter().flatten()) {
        for n in img.names.iter().flatten() {
            out.insert(n.clone(), img.size_bytes.unwrap_or(0));
        }
    }
    out
}

/// What the plugins see of the cluster during one scheduling cycle.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub nodes: Vec<Arc<NodeInfo>>,
    pub index: HashMap<String, usize>,
    /// Image name → how many nodes hold it (ImageLocality's spread factor).
    pub image_nodes: HashMap<String, usize>,
}

impl Snapshot {
    pub fn new(nodes: Vec<Arc<NodeInfo>>) -> Self {
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name().to_string(), i))
            .collect();
        let mut image_nodes = HashMap::new();
        for n in &nodes {
            for img in n.images.keys() {
                *image_nodes.entry(img.clone()).or_default() += 1;
            }
        }
        Self {
            nodes,
            index,
            image_nodes,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    /// Nodes holding pods with any pod (anti-)affinity.
    pub fn nodes_with_affinity_pods(&self) -> impl Iterator<Item = &Arc<NodeInfo>> {
        self.nodes
            .iter()
            .filter(|n| !n.pods_with_affinity.is_empty())
    }
}

/// Scratch state of one scheduling cycle, written by PreFilter/PreScore,
/// read by Filter/Score. Cloned when preemption tries what-ifs.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Arc<dyn Any + Send + Sync>>,
    /// Plugins whose PreFilter said Skip: their Filter is not called.
    pub skip_filter: HashSet<&'static str>,
    /// Plugins whose PreScore said Skip: their Score is not called.
    pub skip_score: HashSet<&'static str>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
            skip_filter: self.skip_filter.clone(),
            skip_score: self.skip_score.clone(),
        }
    }
}

impl CycleState {
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Arc::new(value));
    }

    pub fn read<T: Any + Send + Sync>(&self, key: &'static str) -> Option<&T> {
        self.data.get(key)?.downcast_ref::<T>()
    }

    /// Mutable access for PreFilter extensions (add/remove pod); copies the
    /// value first if another clone of the state shares it.
    pub fn read_mut<T: Any + Send + Sync + Clone>(&mut self, key: &'static str) -> Option<&mut T> {
        let slot = self.data.get_mut(key)?;
        if Arc::get_mut(slot).is_none() {
            let copy: T = slot.downcast_ref::<T>()?.clone();
            *slot = Arc::new(copy);
        }
        Arc::get_mut(slot)?.downcast_mut::<T>()
    }
}

/// How a plugin call ended (upstream's status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Success,
    /// Fails here, but preemption might make it fit.
    Unschedulable,
    /// Fails here and preemption cannot help.
    UnschedulableAndUnresolvable,
    /// The plugin has nothing to do for this pod.
    Skip,
    /// An internal error: the pod goes to backoff.
    Error,
}

/// A plugin's verdict, with the reasons shown in the pod's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
    /// The plugin that returned it (filled by the framework).
    pub plugin: &'static str,
}

impl Status {
    pub fn success() -> Self {
        Self::new(Code::Success, Vec::new())
    }
    pub fn skip() -> Self {
        Self::new(Code::Skip, Vec::new())
    }
    pub fn unschedulable(reason: impl Into<String>) -> Self {
        Self::new(Code::Unschedulable, vec![reason.into()])
    }
    pub fn unresolvable(reason: impl Into<String>) -> Self {
        Self::new(Code::UnschedulableAndUnresolvable, vec![reason.into()])
    }
    pub fn error(reason: impl Into<String>) -> Self {
        Self::new(Code::Error, vec![reason.into()])
    }
    pub fn new(code: Code, reasons: Vec<String>) -> Self {
        Self {
            code,
            reasons,
            plugin: "",
        }
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
}

/// Every plugin has a name (used in the config and in status messages).
pub trait Plugin: Send + Sync {
    fn name(&self) -> &'static str;
}

/// PreEnqueue: may a pod enter the active queue at all (SchedulingGates)?
pub trait PreEnqueue: Plugin {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status;
}

/// PreFilter: compute per-cycle state once; may reject the pod outright or
/// return `Skip` so the plugin's Filter is not run.
pub trait PreFilter: Plugin {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status;

    /// Preemption's what-if: `victim` is added to (or removed from) `node`
    /// in `state`; plugins whose pre-filter state depends on other pods
    /// (inter-pod affinity, topology spread) update it. Default: nothing.
    fn add_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _victim: &PodInfo,
        _node: &NodeInfo,
    ) {
    }
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _victim: &PodInfo,
        _node: &NodeInfo,
    ) {
    }
}

/// Filter: can the pod run on this node?
pub trait Filter: Plugin {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// PreScore: compute per-cycle scoring state over the feasible nodes.
pub trait PreScore: Plugin {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status;
}

/// Score: rank one feasible node; `normalize` then maps all scores to
/// 0..=MAX_NODE_SCORE (default: leave them as they are).
pub trait Score: Plugin {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;
    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [i64]) {}
}

/// Helper for normalize: scale scores so the highest becomes MAX_NODE_SCORE,
/// optionally reversed (upstream's `DefaultNormalizeScore`).
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let mut v = MAX_NODE_SCORE * *s / max;
        if reverse {
            v = MAX_NODE_SCORE - v;
        }
        *s = v;
    }
}

/// What the framework offers PostFilter plugins: re-running the profile's
/// filters on what-if node states (preemption removes victims and asks
/// whether the pod fits then).
pub trait FilterRunner: Send + Sync {
    /// Run every enabled Filter plugin (honouring `state.skip_filter`);
    /// the first rejection is returned.
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
    /// Tell every PreFilter plugin that `victim` was added to `node`.
    fn run_pre_filter_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        victim: &PodInfo,
        node: &NodeInfo,
    );
    /// Tell every PreFilter plugin that `victim` was removed from `node`.
    fn run_pre_filter_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        victim: &PodInfo,
        node: &NodeInfo,
    );
}

/// Inputs of a PostFilter call: the pod fits nowhere.
pub struct PostFilterContext<'a> {
    pub state: &'a CycleState,
    pub pod: &'a PodInfo,
    pub snapshot: &'a Snapshot,
    /// Why each node was rejected, by node name.
    pub node_statuses: &'a HashMap<String, Status>,
    pub filters: &'a dyn FilterRunner,
}

/// PostFilter: runs when no node fits (DefaultPreemption). Returns the
/// nominated node name when preemption made room, `Ok(None)` when it could
/// not help. It may call the API (delete victims, set the nominated node).
#[async_trait::async_trait]
pub trait PostFilter: Plugin {
    async fn post_filter(&self, ctx: PostFilterContext<'_>) -> Result<Option<String>, Status>;
}
