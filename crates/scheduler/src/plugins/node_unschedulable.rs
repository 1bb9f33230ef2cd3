//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) take only pods
//! that tolerate the `node.kubernetes.io/unschedulable:NoSchedule` taint.

use super::taint_toleration::tolerates;
use crate::framework::{CycleState, Filter, NodeInfo, Plugin, PodInfo, Status};
use k8s_openapi::api::core::v1::Taint;

pub const NAME: &str = "NodeUnschedulable";
pub const ERR_REASON: &str = "node(s) were unschedulable";
pub const TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl Filter for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let cordoned = node
            .node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        if !cordoned {
            return Status::success();
        }
        let taint = Taint {
            key: TAINT_KEY.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let tolerations = pod.pod.spec.as_ref().and_then(|s| s.tolerations.as_ref());
        if tolerations.is_some_and(|ts| ts.iter().any(|t| tolerates(t, &taint))) {
            return Status::success();
        }
        Status::unresolvable(ERR_REASON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    #[test]
    fn cordoned_node_rejects_unless_tolerated() {
        let st = CycleState::default();
        let cordoned = node("a", json!({"spec": {"unschedulable": true}}));
        let p = pod(json!({"containers": []}));
        assert_eq!(
            NodeUnschedulable.filter(&st, &p, &cordoned).reasons,
            vec![ERR_REASON]
        );
        assert!(
            NodeUnschedulable
                .filter(&st, &p, &node("b", json!({})))
                .is_success()
        );
        let tol = pod(json!({"containers": [], "tolerations": [
            {"key": TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]}));
        assert!(NodeUnschedulable.filter(&st, &tol, &cordoned).is_success());
    }
}
