//! DefaultPreemption (upstream's `defaultpreemption` PostFilter): when a pod
//! fits nowhere, find the node where evicting the fewest / least important
//! lower-priority pods makes it fit (respecting PodDisruptionBudgets where
//! possible), then nominate it there and evict the victims through the API.
//!
//! Construct with [`DefaultPreemption::new`]`(factory, recorder)`: it reads
//! PDBs (policy/v1) and Pods from the shared informers. When preemption
//! cannot help, `post_filter` returns an Unschedulable status whose reason
//! is the text upstream appends to the pod's condition ("preemption: 0/N
//! nodes are available: …").

mod actions;
#[cfg(test)]
mod tests;
pub mod victims;

use crate::framework::{Code, NodeInfo, Plugin, PostFilter, PostFilterContext, Status};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
pub use victims::{
    Candidate, Pdb, pick_one_node, preemption_failure_message, select_victims_on_node,
};

pub const NAME: &str = "DefaultPreemption";

/// Upstream's defaults: examine at least 10% of the nodes, and at least 100.
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PreemptionError {
    #[error("preempting {victim}: {source}")]
    Evict { victim: String, source: kube::Error },
    #[error("nominating {node} for {pod}: {source}")]
    Nominate {
        pod: String,
        node: String,
        source: kube::Error,
    },
}

pub struct DefaultPreemption {
    client: kube::Client,
    pdbs: informer::Informer<PodDisruptionBudget>,
    pods: informer::Informer<Pod>,
    recorder: informer::Recorder,
    /// Rotates where the candidate search starts, as upstream's random offset.
    offset: AtomicUsize,
}

impl DefaultPreemption {
    /// Starts (or joins) the shared PDB and Pod informers of `factory`;
    /// events ("Preempted") go through `recorder`.
    pub fn new(factory: informer::Factory, recorder: informer::Recorder) -> Self {
        Self {
            client: factory.client(),
            pdbs: factory.informer::<PodDisruptionBudget>(),
            pods: factory.informer::<Pod>(),
            recorder,
            offset: AtomicUsize::new(0),
        }
    }

    /// Upstream's `PodEligibleToPreemptOthers`; `Err` carries the reason.
    fn eligible(&self, ctx: &PostFilterContext<'_>) -> Result<(), String> {
        let spec = ctx.pod.pod.spec.as_ref();
        if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
            return Err("not eligible due to preemptionPolicy=Never.".into());
        }
        let nominated = ctx
            .pod
            .pod
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref())
            .filter(|n| !n.is_empty());
        let Some(nominated) = nominated else {
            return Ok(());
        };
        if ctx
            .node_statuses
            .get(nominated)
            .is_some_and(|s| s.code == Code::UnschedulableAndUnresolvable)
        {
            return Ok(());
        }
        if let Some(ni) = ctx.snapshot.get(nominated)
            && ni
                .pods
                .iter()
                .any(|p| p.priority() < ctx.pod.priority() && terminating_by_preemption(&p.pod))
        {
            return Err("not eligible due to a terminating pod on the nominated node.".into());
        }
        Ok(())
    }

    fn pdbs(&self) -> Vec<Pdb> {
        self.pdbs.list().iter().map(|p| Pdb::from_api(p)).collect()
    }

    /// Dry-runs preemption on the nodes where it might help; returns the
    /// candidates and every examined node's failure status.
    pub fn find_candidates(
        &self,
        ctx: &PostFilterContext<'_>,
        pdbs: &[Pdb],
    ) -> (Vec<Candidate>, HashMap<String, Status>) {
        let potential: Vec<&std::sync::Arc<NodeInfo>> = ctx
            .snapshot
            .nodes
            .iter()
            .filter(|n| {
                ctx.node_statuses
                    .get(n.name())
                    .is_some_and(|s| s.code != Code::UnschedulableAndUnresolvable)
            })
            .collect();
        let mut statuses: HashMap<String, Status> = HashMap::new();
        for (name, s) in ctx.node_statuses {
            if s.code == Code::UnschedulableAndUnresolvable {
                statuses.insert(name.clone(), Status::unresolvable(victims::NOT_HELPFUL));
            }
        }
        let mut candidates = Vec::new();
        if potential.is_empty() {
            return (candidates, statuses);
        }
        let wanted = (potential.len() * MIN_CANDIDATE_NODES_PERCENTAGE / 100)
            .max(MIN_CANDIDATE_NODES_ABSOLUTE)
            .min(potential.len());
        let start = self.offset.fetch_add(1, Ordering::Relaxed) % potential.len();
        for i in 0..potential.len() {
            let ni = potential[(start + i) % potential.len()];
            match select_victims_on_node(ctx.filters, ctx.state, ctx.pod, ni, pdbs) {
                Ok(c) => {
                    candidates.push(c);
                    if candidates.len() >= wanted {
                        break;
                    }
                }
                Err(s) => {
                    statuses.insert(ni.name().to_string(), s);
                }
            }
        }
        (candidates, statuses)
    }
}

/// Being deleted after the scheduler preempted it (DisruptionTarget by PreemptionByScheduler).
pub fn terminating_by_preemption(pod: &Pod) -> bool {
    if pod.metadata.deletion_timestamp.is_none() {
        return false;
    }
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "DisruptionTarget"))
        .is_some_and(|c| c.status == "True" && c.reason.as_deref() == Some("PreemptionByScheduler"))
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
}

#[async_trait::async_trait]
impl PostFilter for DefaultPreemption {
    async fn post_filter(&self, ctx: PostFilterContext<'_>) -> Result<Option<String>, Status> {
        if let Err(reason) = self.eligible(&ctx) {
            return Err(Status::unschedulable(format!("preemption: {reason}")));
        }
        let pdbs = self.pdbs();
        let (candidates, statuses) = self.find_candidates(&ctx, &pdbs);
        let Some(best) = pick_one_node(&candidates) else {
            let all = ctx.snapshot.nodes.len().max(ctx.node_statuses.len());
            return Err(Status::unschedulable(preemption_failure_message(
                all, &statuses,
            )));
        };
        let chosen = &candidates[best];
        if let Err(e) = self.prepare_candidate(ctx.pod, chosen).await {
            tracing::warn!(pod = ctx.pod.name(), error = %e, "preemption failed");
            return Err(Status::error(e.to_string()));
        }
        Ok(Some(chosen.node.clone()))
    }
}
