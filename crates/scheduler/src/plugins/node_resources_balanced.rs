//! NodeResourcesBalancedAllocation: prefer nodes where, with the pod added,
//! the used fractions of CPU and memory (or the configured resources) are
//! close to each other.

use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
};
use serde::Deserialize;
use std::sync::Arc;

pub const NAME: &str = "NodeResourcesBalancedAllocation";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
    #[serde(rename = "kind")]
    _kind: Option<String>,
    resources: Option<Vec<ResourceArg>>,
}

#[derive(Deserialize)]
struct ResourceArg {
    name: String,
    #[serde(rename = "weight")]
    _weight: Option<i64>,
}

pub struct BalancedAllocation {
    resources: Vec<String>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        Self {
            resources: vec!["cpu".into(), "memory".into()],
        }
    }
}

impl BalancedAllocation {
    pub fn from_args(args: Option<&serde_json::Value>) -> Result<Self, String> {
        let Some(v) = args else {
            return Ok(Self::default());
        };
        let a: Args = serde_json::from_value(v.clone()).map_err(|e| format!("args: {e}"))?;
        Ok(match a.resources {
            Some(rs) if !rs.is_empty() => Self {
                resources: rs.into_iter().map(|r| r.name).collect(),
            },
            _ => Self::default(),
        })
    }

    fn pod_request(pod: &PodInfo, name: &str) -> i64 {
        let r = &pod.requests;
        match name {
            "cpu" => r.milli_cpu,
            "memory" => r.memory,
            "ephemeral-storage" => r.ephemeral_storage,
            n => r.scalar.get(n).copied().unwrap_or(0),
        }
    }

    fn node_amounts(node: &NodeInfo, name: &str) -> (i64, i64) {
        let (u, a) = (&node.requested, &node.allocatable);
        match name {
            "cpu" => (u.milli_cpu, a.milli_cpu),
            "memory" => (u.memory, a.memory),
            "ephemeral-storage" => (u.ephemeral_storage, a.ephemeral_storage),
            n => (
                u.scalar.get(n).copied().unwrap_or(0),
                a.scalar.get(n).copied().unwrap_or(0),
            ),
        }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreScore for BalancedAllocation {
    fn pre_score(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &[Arc<NodeInfo>],
        _: &Snapshot,
    ) -> Status {
        // A best-effort pod changes no node's balance.
        if self
            .resources
            .iter()
            .all(|r| Self::pod_request(pod, r) == 0)
        {
            return Status::skip();
        }
        Status::success()
    }
}

impl Score for BalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let mut fractions = [0f64; 8];
        let mut n = 0;
        for r in &self.resources {
            let want = Self::pod_request(pod, r);
            let (used, alloc) = Self::node_amounts(node, r);
            // Extended resources the pod does not use do not count.
            if alloc == 0
                || (want == 0 && !matches!(r.as_str(), "cpu" | "memory"))
                || n == fractions.len()
            {
                continue;
            }
            fractions[n] = ((used + want) as f64 / alloc as f64).min(1.0);
            n += 1;
        }
        let f = &fractions[..n];
        let std = match n {
            0 | 1 => 0.0,
            2 => (f[0] - f[1]).abs() / 2.0,
            _ => {
                let mean = f.iter().sum::<f64>() / n as f64;
                (f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
            }
        };
        Ok(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testutil::{node, pod, pod_req};
    use serde_json::json;

    #[test]
    fn balanced_nodes_score_higher() {
        let b = BalancedAllocation::default();
        let st = CycleState::default();
        let n = node(
            "a",
            json!({"status": {"allocatable": {"cpu": "4", "memory": "4Gi"}}}),
        );
        // 1/4 cpu and 1/4 memory: perfectly balanced.
        assert_eq!(b.score(&st, &pod_req("p", "1", "1Gi"), &n).unwrap(), 100);
        // 3/4 cpu vs 1/4 memory: std 0.25.
        assert_eq!(b.score(&st, &pod_req("p", "3", "1Gi"), &n).unwrap(), 75);
    }

    #[test]
    fn best_effort_pods_skip() {
        let mut st = CycleState::default();
        let p = pod(json!({"containers": [{"name": "c"}]}));
        let s = BalancedAllocation::default().pre_score(&mut st, &p, &[], &Snapshot::default());
        assert_eq!(s.code, Code::Skip);
    }
}
