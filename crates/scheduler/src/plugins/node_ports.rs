//! NodePorts: a pod's host ports must be free on the node. A port bound on
//! 0.0.0.0 conflicts with the same protocol and port on any address.

use crate::framework::{
    CycleState, Filter, HostPort, NodeInfo, Plugin, PodInfo, PreFilter, Snapshot, Status,
    host_ports,
};
use std::collections::HashSet;

pub const NAME: &str = "NodePorts";
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";
const STATE_KEY: &str = "PreFilterNodePorts";

pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilter for NodePorts {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> Status {
        let ports = host_ports(&pod.pod);
        if ports.is_empty() {
            return Status::skip();
        }
        state.write(STATE_KEY, ports);
        Status::success()
    }
}

/// Whether `want` collides with a port in `used`.
pub fn conflicts(want: &HostPort, used: &HashSet<HostPort>) -> bool {
    let (proto, ip, port) = want;
    if ip == "0.0.0.0" {
        return used.iter().any(|(p, _, n)| p == proto && n == port);
    }
    used.contains(want) || used.contains(&(proto.clone(), "0.0.0.0".into(), *port))
}

impl Filter for NodePorts {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let owned;
        let wanted: &Vec<HostPort> = match state.read(STATE_KEY) {
            Some(w) => w,
            None => {
                owned = host_ports(&pod.pod);
                &owned
            }
        };
        if wanted.iter().any(|w| conflicts(w, &node.used_ports)) {
            return Status::unschedulable(ERR_REASON);
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testutil::{node, pod, pod_meta};
    use serde_json::json;
    use std::sync::Arc;

    fn port_pod(uid: &str, ip: Option<&str>, port: i32) -> PodInfo {
        let mut p = json!({"containerPort": 80, "hostPort": port});
        if let Some(ip) = ip {
            p["hostIP"] = json!(ip);
        }
        pod_meta(
            json!({"name": uid, "uid": uid}),
            json!({"containers": [{"name": "c", "ports": [p]}]}),
        )
    }

    #[test]
    fn host_port_conflicts() {
        let mut n = node("a", json!({}));
        n.add_pod(Arc::new(port_pod("x", Some("10.0.0.1"), 8080)));
        let snap = Snapshot::default();
        for (ip, port, ok) in [
            (Some("10.0.0.1"), 8080, false),
            (Some("10.0.0.2"), 8080, true),
            (None, 8080, false),
            (None, 8081, true),
        ] {
            let p = port_pod("p", ip, port);
            let mut st = CycleState::default();
            assert!(NodePorts.pre_filter(&mut st, &p, &snap).is_success());
            let s = NodePorts.filter(&st, &p, &n);
            assert_eq!(s.is_success(), ok, "{ip:?}:{port}");
            if !ok {
                assert_eq!(s.code, Code::Unschedulable);
                assert_eq!(s.reasons, vec![ERR_REASON]);
            }
        }
        let mut st = CycleState::default();
        let none = pod(json!({"containers": [{"name": "c"}]}));
        assert_eq!(NodePorts.pre_filter(&mut st, &none, &snap).code, Code::Skip);
    }
}
