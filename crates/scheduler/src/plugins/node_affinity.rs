//! NodeAffinity: `spec.nodeSelector` and required node affinity filter
//! nodes; preferred node affinity terms add their weights to a node's score.
//! The matching helpers are public: PodTopologySpread uses them too.

use crate::framework::{
    CycleState, Filter, NodeInfo, Plugin, PodInfo, PreFilter, PreScore, Score, Snapshot, Status,
    default_normalize,
};
use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NAME: &str = "NodeAffinity";
pub const ERR_REASON: &str = "node(s) didn't match Pod's node affinity/selector";
const FILTER_KEY: &str = "PreFilterNodeAffinity";
const SCORE_KEY: &str = "PreScoreNodeAffinity";

pub struct NodeAffinity;

/// A pod's hard node constraints: nodeSelector AND (any required term).
#[derive(Debug, Clone, Default)]
pub struct RequiredNodeAffinity {
    selector: Vec<(String, String)>,
    terms: Option<Vec<NodeSelectorTerm>>,
}

impl RequiredNodeAffinity {
    pub fn from_pod(pod: &Pod) -> Self {
        let Some(spec) = pod.spec.as_ref() else {
            return Self::default();
        };
        let selector = spec
            .node_selector
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let terms = spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|r| r.node_selector_terms.clone());
        Self { selector, terms }
    }

    pub fn is_empty(&self) -> bool {
        self.selector.is_empty() && self.terms.is_none()
    }

    pub fn matches(&self, node: &Node) -> bool {
        let empty = BTreeMap::new();
        let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
        let name = node.metadata.name.as_deref().unwrap_or("");
        if !self
            .selector
            .iter()
            .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
        {
            return false;
        }
        match &self.terms {
            None => true,
            Some(terms) => terms.iter().any(|t| term_matches(t, labels, name)),
        }
    }
}

/// One node selector term: all expressions and fields must match; a term
/// with neither matches nothing.
pub fn term_matches(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    name: &str,
) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields
            .iter()
            .all(|r| r.key == "metadata.name" && requirement_matches(r, Some(name)))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            let (Ok(v), Ok(b)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                return false;
            };
            if r.operator == "Gt" { v > b } else { v < b }
        }
        _ => false,
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilter for NodeAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> Status {
        let req = RequiredNodeAffinity::from_pod(&pod.pod);
        if req.is_empty() {
            return Status::skip();
        }
        state.write(FILTER_KEY, req);
        Status::success()
    }
}

impl Filter for NodeAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let ok = match state.read::<RequiredNodeAffinity>(FILTER_KEY) {
            Some(r) => r.matches(&node.node),
            None => RequiredNodeAffinity::from_pod(&pod.pod).matches(&node.node),
        };
        if ok {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

fn preferred(pod: &Pod) -> Vec<PreferredSchedulingTerm> {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .clone()
        })
        .unwrap_or_default()
}

impl PreScore for NodeAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &[Arc<NodeInfo>],
        _: &Snapshot,
    ) -> Status {
        let terms = preferred(&pod.pod);
        if terms.is_empty() {
            return Status::skip();
        }
        state.write(SCORE_KEY, terms);
        Status::success()
    }
}

impl Score for NodeAffinity {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let own;
        let terms: &Vec<PreferredSchedulingTerm> = match state.read(SCORE_KEY) {
            Some(t) => t,
            None => {
                own = preferred(&pod.pod);
                &own
            }
        };
        let empty = BTreeMap::new();
        let labels = node.node.metadata.labels.as_ref().unwrap_or(&empty);
        Ok(terms
            .iter()
            .filter(|t| t.weight != 0 && term_matches(&t.preference, labels, node.name()))
            .map(|t| t.weight as i64)
            .sum())
    }

    fn normalize(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    fn run_filter(p: &PodInfo, n: &NodeInfo) -> Status {
        let mut st = CycleState::default();
        if NodeAffinity
            .pre_filter(&mut st, p, &Snapshot::default())
            .code
            == Code::Skip
        {
            return Status::success();
        }
        NodeAffinity.filter(&st, p, n)
    }

    #[test]
    fn node_selector_and_required_terms() {
        let ssd = node(
            "a",
            json!({"metadata": {"labels": {"disk": "ssd", "gen": "5"}}}),
        );
        let hdd = node("b", json!({"metadata": {"labels": {"disk": "hdd"}}}));
        let sel = pod(json!({"containers": [], "nodeSelector": {"disk": "ssd"}}));
        assert!(run_filter(&sel, &ssd).is_success());
        let s = run_filter(&sel, &hdd);
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec![ERR_REASON]);

        let req = |expr: serde_json::Value| {
            pod(json!({"containers": [], "affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [expr]}}}}))
        };
        let gt =
            req(json!({"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}));
        assert!(run_filter(&gt, &ssd).is_success());
        assert!(!run_filter(&gt, &hdd).is_success());
        let notin = req(
            json!({"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}),
        );
        assert!(!run_filter(&notin, &ssd).is_success());
        assert!(run_filter(&notin, &hdd).is_success());
        let field = req(
            json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}),
        );
        assert!(!run_filter(&field, &ssd).is_success());
        assert!(run_filter(&field, &hdd).is_success());
        let empty = req(json!({}));
        assert!(!run_filter(&empty, &ssd).is_success());
    }

    #[test]
    fn preferred_terms_score_by_weight() {
        let p = pod(json!({"containers": [], "affinity": {"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
            {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}}
        ]}}}));
        let mut st = CycleState::default();
        assert!(
            NodeAffinity
                .pre_score(&mut st, &p, &[], &Snapshot::default())
                .is_success()
        );
        let a = node(
            "a",
            json!({"metadata": {"labels": {"disk": "ssd", "zone": "z"}}}),
        );
        let b = node("b", json!({"metadata": {"labels": {"zone": "z"}}}));
        let c = node("c", json!({}));
        let mut s: Vec<i64> = [&a, &b, &c]
            .iter()
            .map(|n| NodeAffinity.score(&st, &p, n).unwrap())
            .collect();
        assert_eq!(s, vec![15, 5, 0]);
        NodeAffinity.normalize(&st, &p, &mut s);
        assert_eq!(s, vec![100, 33, 0]);
    }
}
