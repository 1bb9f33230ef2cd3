//! Resource amounts as the scheduler counts them: CPU in millicores,
//! memory and ephemeral storage in bytes, pod slots, and extended (scalar)
//! resources, plus upstream's rule for a pod's effective requests.

use apimachinery::quantity::Quantity;
use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use std::collections::BTreeMap;

/// Requests upstream assumes for scoring when a container asks for none.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub allowed_pod_number: i64,
    /// Extended resources (`example.com/gpu`, `hugepages-2Mi`, …) in units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    pub fn add(&mut self, o: &Resources) {
        self.milli_cpu += o.milli_cpu;
        self.memory += o.memory;
        self.ephemeral_storage += o.ephemeral_storage;
        self.allowed_pod_number += o.allowed_pod_number;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    pub fn sub(&mut self, o: &Resources) {
        self.milli_cpu -= o.milli_cpu;
        self.memory -= o.memory;
        self.ephemeral_storage -= o.ephemeral_storage;
        self.allowed_pod_number -= o.allowed_pod_number;
        for (k, v) in &o.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Element-wise maximum.
    pub fn max_with(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// Amounts from a resource list (`requests`, `limits`, `allocatable`).
    pub fn from_list(list: Option<&BTreeMap<String, KQuantity>>) -> Self {
        let mut r = Resources::default();
        for (name, q) in list.into_iter().flatten() {
            let Ok(q) = Quantity::parse(&q.0) else {
                continue;
            };
            match name.as_str() {
                "cpu" => r.milli_cpu = clamp(q.to_millis()),
                "memory" => r.memory = clamp(q.value()),
                "ephemeral-storage" => r.ephemeral_storage = clamp(q.value()),
                "pods" => r.allowed_pod_number = clamp(q.value()),
                n if is_scalar(n) => {
                    r.scalar.insert(n.to_string(), clamp(q.value()));
                }
                _ => {}
            }
        }
        r
    }
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Extended resources, hugepages and attachable volumes are counted as scalars.
pub fn is_scalar(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || (name.contains('/') && !name.starts_with("kubernetes.io/"))
}

fn container_requests(c: &Container, non_zero: bool) -> Resources {
    let mut r = Resources::from_list(c.resources.as_ref().and_then(|r| r.requests.as_ref()));
    if non_zero {
        let reqs = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        if !reqs.is_some_and(|m| m.contains_key("cpu")) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !reqs.is_some_and(|m| m.contains_key("memory")) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// A pod's effective requests: the sum of its containers and sidecars
/// (restartable init containers), or the largest of each init container
/// plus the sidecars started before it, whichever is larger per resource;
/// plus the pod overhead. `non_zero` applies the scoring defaults.
pub fn pod_requests(pod: &Pod, non_zero: bool) -> Resources {
    let Some(spec) = pod.spec.as_ref() else {
        return Resources::default();
    };
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&container_requests(c, non_zero));
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c, non_zero);
        if c.restart_policy.as_deref() == Some("Always") {
            // A sidecar keeps running beside the later init containers.
            sidecars.add(&r);
            init_max.max_with(&sidecars);
        } else {
            let mut with = sidecars.clone();
            with.add(&r);
            init_max.max_with(&with);
        }
    }
    sum.add(&sidecars);
    sum.max_with(&init_max);
    if let Some(o) = spec.overhead.as_ref() {
        sum.add(&Resources::from_list(Some(o)));
    }
    sum.allowed_pod_number = 0;
    sum
}

/// A node's allocatable resources (capacity when allocatable is absent).
pub fn node_allocatable(node: &Node) -> Resources {
    let st = node.status.as_ref();
    let list = st
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| st.and_then(|s| s.capacity.as_ref()));
    Resources::from_list(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn sums_containers_and_takes_max_with_init() {
        let p = pod(json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
            ],
            "initContainers": [
                {"name": "i", "resources": {"requests": {"cpu": "1", "memory": "10Mi"}}}
            ],
            "overhead": {"cpu": "10m"}
        }}));
        let r = pod_requests(&p, false);
        assert_eq!(r.milli_cpu, 1010);
        assert_eq!(r.memory, 1024 * 1024 * 1024);
    }

    #[test]
    fn sidecars_add_to_containers_and_later_inits() {
        let p = pod(json!({"spec": {
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
            "initContainers": [
                {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
                {"name": "i", "resources": {"requests": {"cpu": "500m"}}}
            ]
        }}));
        // max(100+200, 200+500)
        assert_eq!(pod_requests(&p, false).milli_cpu, 700);
    }

    #[test]
    fn non_zero_defaults_apply_to_empty_requests() {
        let p = pod(json!({"spec": {"containers": [{"name": "a"}]}}));
        let r = pod_requests(&p, true);
        assert_eq!(r.milli_cpu, DEFAULT_MILLI_CPU_REQUEST);
        assert_eq!(r.memory, DEFAULT_MEMORY_REQUEST);
        assert_eq!(pod_requests(&p, false).milli_cpu, 0);
    }

    #[test]
    fn extended_resources_are_scalars() {
        let p = pod(json!({"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"example.com/gpu": "2", "hugepages-2Mi": "4Mi"}}}
        ]}}));
        let r = pod_requests(&p, false);
        assert_eq!(r.scalar["example.com/gpu"], 2);
        assert_eq!(r.scalar["hugepages-2Mi"], 4 * 1024 * 1024);
    }
}
