//! NodeResourcesFit: a pod fits a node when its requests (CPU, memory,
//! ephemeral storage, extended resources, one pod slot) fit in what the
//! node has left; scoring prefers emptier nodes (LeastAllocated), fuller
//! ones (MostAllocated) or follows a utilization→score curve
//! (RequestedToCapacityRatio), weighted per resource.

use super::resource_scoring::{ResourceWeight, Strategy, parse_strategy};
use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
};
use serde::Deserialize;
use std::sync::Arc;

pub const NAME: &str = "NodeResourcesFit";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FitArgs {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    ignored_resources: Option<Vec<String>>,
    ignored_resource_groups: Option<Vec<String>>,
    scoring_strategy: Option<serde_json::Value>,
}

pub struct NodeResourcesFit {
    pub strategy: Strategy,
    pub resources: Vec<ResourceWeight>,
    ignored: Vec<String>,
    ignored_groups: Vec<String>,
}

impl Default for NodeResourcesFit {
    fn default() -> Self {
        Self::from_args(None).expect("default args are valid")
    }
}

impl NodeResourcesFit {
    /// Build from `NodeResourcesFitArgs`; errors name the offending field.
    pub fn from_args(args: Option<&serde_json::Value>) -> Result<Self, String> {
        let a: FitArgs = match args {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("args: {e}"))?,
            None => FitArgs::default(),
        };
        let (strategy, resources) = parse_strategy(a.scoring_strategy.as_ref())?;
        Ok(Self {
            strategy,
            resources,
            ignored: a.ignored_resources.unwrap_or_default(),
            ignored_groups: a.ignored_resource_groups.unwrap_or_default(),
        })
    }

    fn ignored(&self, name: &str) -> bool {
        self.ignored.iter().any(|i| i == name)
            || name
                .split_once('/')
                .is_some_and(|(g, _)| self.ignored_groups.iter().any(|i| i == g))
    }

    /// (requested incl. the pod, allocatable) of one resource for scoring;
    /// an extended resource the pod does not ask for is left out (0, 0).
    fn amounts(pod: &PodInfo, node: &NodeInfo, name: &str) -> (i64, i64) {
        let a = &node.allocatable;
        match name {
            "cpu" => (
                node.non_zero_requested.milli_cpu + pod.non_zero_requests.milli_cpu,
                a.milli_cpu,
            ),
            "memory" => (
                node.non_zero_requested.memory + pod.non_zero_requests.memory,
                a.memory,
            ),
            "ephemeral-storage" => (
                node.requested.ephemeral_storage + pod.requests.ephemeral_storage,
                a.ephemeral_storage,
            ),
            n => match pod.requests.scalar.get(n) {
                Some(&want) if want > 0 => (
                    node.requested.scalar.get(n).copied().unwrap_or(0) + want,
                    a.scalar.get(n).copied().unwrap_or(0),
                ),
                _ => (0, 0),
            },
        }
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl Filter for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let mut reasons = Vec::new();
        let mut unresolvable = false;
        if node.pods.len() as i64 + 1 > node.allocatable.allowed_pod_number {
            reasons.push("Too many pods".to_string());
        }
        let want = &pod.requests;
        let alloc = &node.allocatable;
        let used = &node.requested;
        let mut check = |name: &str, want: i64, alloc: i64, used: i64| {
            if want > 0 && want > alloc - used {
                reasons.push(format!("Insufficient {name}"));
                unresolvable |= want > alloc;
            }
        };
        check("cpu", want.milli_cpu, alloc.milli_cpu, used.milli_cpu);
        check("memory", want.memory, alloc.memory, used.memory);
        check(
            "ephemeral-storage",
            want.ephemeral_storage,
            alloc.ephemeral_storage,
            used.ephemeral_storage,
        );
        for (name, &q) in &want.scalar {
            if self.ignored(name) {
                continue;
            }
            let a = alloc.scalar.get(name).copied().unwrap_or(0);
            let u = used.scalar.get(name).copied().unwrap_or(0);
            check(name, q, a, u);
        }
        if reasons.is_empty() {
            Status::success()
        } else if unresolvable {
            Status::new(
                crate::framework::Code::UnschedulableAndUnresolvable,
                reasons,
            )
        } else {
            Status::new(crate::framework::Code::Unschedulable, reasons)
        }
    }
}

impl PreScore for NodeResourcesFit {
    fn pre_score(
        &self,
        _: &mut CycleState,
        _: &PodInfo,
        _: &[Arc<NodeInfo>],
        _: &Snapshot,
    ) -> Status {
        Status::success()
    }
}

impl Score for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        Ok(self.strategy.score(
            self.resources
                .iter()
                .map(|r| (Self::amounts(pod, node, &r.name), r.weight)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testutil::{node, pod_meta, pod_req};
    use serde_json::json;

    #[test]
    fn filter_reports_each_insufficient_resource() {
        let fit = NodeResourcesFit::default();
        let st = CycleState::default();
        let mut n = node(
            "a",
            json!({"status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "2", "example.com/gpu": "1"}}}),
        );
        n.add_pod(Arc::new(pod_req("x", "1500m", "512Mi")));
        assert!(
            fit.filter(&st, &pod_req("p", "500m", "512Mi"), &n)
                .is_success()
        );
        let s = fit.filter(&st, &pod_req("p", "600m", "600Mi"), &n);
        assert_eq!(s.code, Code::Unschedulable);
        assert_eq!(s.reasons, vec!["Insufficient cpu", "Insufficient memory"]);
        // More than the node has at all: preemption cannot help.
        let s = fit.filter(&st, &pod_req("p", "3", "1Mi"), &n);
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        n.add_pod(Arc::new(pod_req("y", "0", "0")));
        assert_eq!(
            fit.filter(&st, &pod_req("p", "0", "0"), &n).reasons,
            vec!["Too many pods"]
        );
    }

    #[test]
    fn extended_resources_and_ignored_groups() {
        let n = node(
            "a",
            json!({"status": {"allocatable": {"example.com/gpu": "1"}}}),
        );
        let gpu = pod_meta(
            json!({"name": "p", "uid": "p"}),
            json!({"containers": [{"name": "c", "resources": {"requests": {"example.com/gpu": "2", "other.io/x": "1"}}}]}),
        );
        let st = CycleState::default();
        let s = NodeResourcesFit::default().filter(&st, &gpu, &n);
        assert_eq!(
            s.reasons,
            vec!["Insufficient example.com/gpu", "Insufficient other.io/x"]
        );
        let fit = NodeResourcesFit::from_args(Some(
            &json!({"ignoredResourceGroups": ["example.com"], "ignoredResources": ["other.io/x"]}),
        ))
        .unwrap();
        assert!(fit.filter(&st, &gpu, &n).is_success());
    }

    #[test]
    fn least_and_most_allocated_scores() {
        let st = CycleState::default();
        let n = node(
            "a",
            json!({"status": {"allocatable": {"cpu": "4", "memory": "4Gi"}}}),
        );
        let p = pod_req("p", "1", "1Gi");
        // 3/4 free of both: 75.
        assert_eq!(NodeResourcesFit::default().score(&st, &p, &n).unwrap(), 75);
        let most = NodeResourcesFit::from_args(Some(
            &json!({"scoringStrategy": {"type": "MostAllocated"}}),
        ))
        .unwrap();
        assert_eq!(most.score(&st, &p, &n).unwrap(), 25);
        let weighted = NodeResourcesFit::from_args(Some(&json!({"scoringStrategy": {
            "type": "MostAllocated", "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}]}}))).unwrap();
        let p2 = pod_req("p", "2", "1Gi");
        // cpu 50 * 3 + memory 25 * 1 over 4 = 43
        assert_eq!(weighted.score(&st, &p2, &n).unwrap(), 43);
    }

    #[test]
    fn bad_args_name_the_field() {
        let e = NodeResourcesFit::from_args(Some(&json!({"scoringStrategy": {"type": "Nope"}})))
            .err()
            .unwrap();
        assert!(e.contains("scoringStrategy.type"), "{e}");
        let e = NodeResourcesFit::from_args(Some(
            &json!({"scoringStrategy": {"resources": [{"name": "cpu", "weight": 0}]}}),
        ))
        .err()
        .unwrap();
        assert!(e.contains("scoringStrategy.resources[0].weight"), "{e}");
        let e = NodeResourcesFit::from_args(Some(&json!({"bogus": 1})))
            .err()
            .unwrap();
        assert!(e.contains("bogus"), "{e}");
    }
}
