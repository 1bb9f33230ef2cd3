//! TaintToleration: nodes with NoSchedule/NoExecute taints take only pods
//! that tolerate them; PreferNoSchedule taints the pod does not tolerate
//! lower the node's score.

use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
    default_normalize,
};
use k8s_openapi::api::core::v1::{Taint, Toleration};
use std::sync::Arc;

pub const NAME: &str = "TaintToleration";
const STATE_KEY: &str = "PreScoreTaintToleration";

pub struct TaintToleration;

/// Whether `t` tolerates `taint` (upstream's `ToleratesTaint`).
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect
    {
        return false;
    }
    if let Some(k) = t.key.as_deref().filter(|k| !k.is_empty())
        && k != taint.key
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// The first taint among `taints` (filtered by `effects`) no toleration tolerates.
pub fn first_untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    effects: &[&str],
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| effects.contains(&t.effect.as_str()))
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

fn tolerations(pod: &PodInfo) -> &[Toleration] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

fn taints(node: &NodeInfo) -> &[Taint] {
    node.node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[])
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl Filter for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match first_untolerated(taints(node), tolerations(pod), &["NoSchedule", "NoExecute"]) {
            None => Status::success(),
            Some(t) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or("")
            )),
        }
    }
}

impl PreScore for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &[Arc<NodeInfo>],
        _: &Snapshot,
    ) -> Status {
        // Only tolerations that can match PreferNoSchedule taints matter.
        let prefer: Vec<Toleration> = tolerations(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some("PreferNoSchedule")
                )
            })
            .cloned()
            .collect();
        state.write(STATE_KEY, prefer);
        Status::success()
    }
}

impl Score for TaintToleration {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let own;
        let tols: &[Toleration] = match state.read::<Vec<Toleration>>(STATE_KEY) {
            Some(t) => t,
            None => {
                own = tolerations(pod).to_vec();
                &own
            }
        };
        let n = taints(node)
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule")
            .filter(|t| !tols.iter().any(|tol| tolerates(tol, t)))
            .count();
        Ok(n as i64)
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    #[test]
    fn untolerated_taints_reject() {
        let st = CycleState::default();
        let n = node(
            "a",
            json!({"spec": {"taints": [{"key": "node-role", "value": "x", "effect": "NoSchedule"}]}}),
        );
        let p = pod(json!({"containers": []}));
        let s = TaintToleration.filter(&st, &p, &n);
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(
            s.reasons,
            vec!["node(s) had untolerated taint {node-role: x}"]
        );
        let eq = pod(json!({"containers": [], "tolerations": [
            {"key": "node-role", "operator": "Equal", "value": "x", "effect": "NoSchedule"}]}));
        assert!(TaintToleration.filter(&st, &eq, &n).is_success());
        let wrong = pod(json!({"containers": [], "tolerations": [
            {"key": "node-role", "value": "y"}]}));
        assert!(!TaintToleration.filter(&st, &wrong, &n).is_success());
        let all = pod(json!({"containers": [], "tolerations": [{"operator": "Exists"}]}));
        assert!(TaintToleration.filter(&st, &all, &n).is_success());
    }

    #[test]
    fn prefer_no_schedule_lowers_score() {
        let p = pod(json!({"containers": []}));
        let mut st = CycleState::default();
        TaintToleration.pre_score(&mut st, &p, &[], &Snapshot::default());
        let clean = node("a", json!({}));
        let tainted = node(
            "b",
            json!({"spec": {"taints": [{"key": "k", "effect": "PreferNoSchedule"}]}}),
        );
        let mut scores = vec![
            TaintToleration.score(&st, &p, &clean).unwrap(),
            TaintToleration.score(&st, &p, &tainted).unwrap(),
        ];
        assert_eq!(scores, vec![0, 1]);
        TaintToleration.normalize(&st, &p, &mut scores);
        assert_eq!(scores, vec![100, 0]);
    }
}
