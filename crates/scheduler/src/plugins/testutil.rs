//! Builders shared by the plugin unit tests.

use crate::framework::{NodeInfo, PodInfo};
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn pod(spec: Value) -> PodInfo {
    pod_meta(
        json!({"name": "p", "namespace": "default", "uid": "p"}),
        spec,
    )
}

pub fn pod_meta(meta: Value, spec: Value) -> PodInfo {
    let p: Pod = serde_json::from_value(json!({"metadata": meta, "spec": spec})).unwrap();
    PodInfo::new(Arc::new(p))
}

/// A pod requesting `cpu` and `memory` (strings as in a manifest).
pub fn pod_req(uid: &str, cpu: &str, memory: &str) -> PodInfo {
    pod_meta(
        json!({"name": uid, "namespace": "default", "uid": uid}),
        json!({"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}),
    )
}

pub fn node(name: &str, extra: Value) -> NodeInfo {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}}
    });
    merge(&mut v, extra);
    let n: Node = serde_json::from_value(v).unwrap();
    NodeInfo::new(Arc::new(n))
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}
