//! What a ResourceQuota's `status.used` says: usage per resource name over
//! the namespace's objects, as upstream's quota evaluators count it (only
//! non-terminal pods, pod compute resources as the larger of the containers'
//! sum and the largest init container, plus overhead; scopes filter pods).

use apimachinery::quantity::{Format, Quantity};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, Pod, ResourceQuotaSpec, ScopedResourceSelectorRequirement, Service,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KQuantity;
use std::collections::BTreeMap;

/// A running total of quantities that prints as upstream would.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum {
    nanos: i128,
    binary: Option<bool>,
}

impl Sum {
    pub fn count(n: usize) -> Self {
        Sum {
            nanos: n as i128 * 1_000_000_000,
            binary: Some(false),
        }
    }

    pub fn add(&mut self, q: &Quantity) {
        self.nanos += q.nanos();
        // Upstream keeps the format of the first operand.
        self.binary.get_or_insert(q.format() == Format::BinarySI);
    }

    pub fn add_str(&mut self, s: &str) {
        if let Ok(q) = Quantity::parse(s) {
            self.add(&q);
        }
    }

    pub fn to_quantity(self) -> KQuantity {
        const KI_NANOS: i128 = 1024 * 1_000_000_000;
        let text = if self.binary == Some(true) && self.nanos % KI_NANOS == 0 {
            format!("{}Ki", self.nanos / KI_NANOS)
        } else {
            format!("{}n", self.nanos)
        };
        KQuantity(
            Quantity::parse(&text)
                .map(|q| q.to_string())
                .unwrap_or_else(|_| "0".into()),
        )
    }
}

/// Whether a pod still counts against quota (upstream's `QuotaV1Pod`).
pub fn pod_counts(pod: &Pod, now: jiff::Timestamp) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded") | Some("Failed")) {
        return false;
    }
    if let Some(ts) = &pod.metadata.deletion_timestamp {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
        if ts.0 + jiff::SignedDuration::from_secs(grace) < now {
            return false;
        }
    }
    true
}

fn is_best_effort(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else { return true };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .all(|c| {
            let r = c.resources.as_ref();
            let empty = |m: Option<&BTreeMap<String, KQuantity>>| {
                m.is_none_or(|m| !m.keys().any(|k| k == "cpu" || k == "memory"))
            };
            empty(r.and_then(|r| r.requests.as_ref())) && empty(r.and_then(|r| r.limits.as_ref()))
        })
}

fn matches_priority(pod: &Pod, req: &ScopedResourceSelectorRequirement) -> bool {
    let pc = pod
        .spec
        .as_ref()
        .and_then(|s| s.priority_class_name.as_deref());
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => pc.is_some_and(|p| values.iter().any(|v| v == p)),
        "NotIn" => pc.is_none_or(|p| !values.iter().any(|v| v == p)),
        "Exists" => pc.is_some(),
        "DoesNotExist" => pc.is_none(),
        _ => false,
    }
}

fn matches_scope(pod: &Pod, scope: &str, req: Option<&ScopedResourceSelectorRequirement>) -> bool {
    let terminating = pod
        .spec
        .as_ref()
        .and_then(|s| s.active_deadline_seconds)
        .is_some_and(|s| s >= 0);
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "PriorityClass" => req.is_none_or(|r| matches_priority(pod, r)),
        _ => false,
    }
}

/// Whether a pod falls under every scope of the quota.
pub fn pod_in_scope(pod: &Pod, spec: &ResourceQuotaSpec) -> bool {
    spec.scopes
        .iter()
        .flatten()
        .all(|s| matches_scope(pod, s, None))
        && spec
            .scope_selector
            .as_ref()
            .and_then(|s| s.match_expressions.as_ref())
            .into_iter()
            .flatten()
            .all(|r| matches_scope(pod, &r.scope_name, Some(r)))
}

/// A pod's effective request or limit of `resource` (upstream's
/// `PodRequests`/`PodLimits` without sidecar subtleties).
pub fn pod_resource(pod: &Pod, limits: bool, resource: &str, out: &mut Sum) {
    let Some(spec) = &pod.spec else { return };
    let pick = |c: &k8s_openapi::api::core::v1::Container| -> Option<Quantity> {
        let r = c.resources.as_ref()?;
        let m = if limits {
            r.limits.as_ref()?
        } else {
            r.requests.as_ref()?
        };
        Quantity::parse(&m.get(resource)?.0).ok()
    };
    let mut sum = Sum::default();
    for c in &spec.containers {
        if let Some(q) = pick(c) {
            sum.add(&q);
        }
    }
    for c in spec.init_containers.iter().flatten() {
        if let Some(q) = pick(c)
            && q.nanos() > sum.nanos
        {
            sum = Sum::default();
            sum.add(&q);
        }
    }
    if let Some(o) = spec.overhead.as_ref().and_then(|o| o.get(resource)) {
        sum.add_str(&o.0);
    }
    if sum.binary.is_some() {
        out.nanos += sum.nanos;
        out.binary.get_or_insert(sum.binary == Some(true));
    }
}

/// Usage of pod-derived resource `name`, or `None` when it is not one.
pub fn pod_usage(name: &str, pods: &[&Pod]) -> Option<Sum> {
    let (limits, resource) = match name {
        "pods" | "count/pods" => return Some(Sum::count(pods.len())),
        "cpu" | "requests.cpu" => (false, "cpu"),
        "memory" | "requests.memory" => (false, "memory"),
        "ephemeral-storage" | "requests.ephemeral-storage" => (false, "ephemeral-storage"),
        "limits.cpu" => (true, "cpu"),
        "limits.memory" => (true, "memory"),
        "limits.ephemeral-storage" => (true, "ephemeral-storage"),
        other => match other.strip_prefix("requests.") {
            // Extended resources (requests.nvidia.com/gpu).
            Some(r) if r.contains('/') => (false, r),
            _ => return None,
        },
    };
    let mut sum = Sum::default();
    for p in pods {
        pod_resource(p, limits, resource, &mut sum);
    }
    Some(sum)
}

/// Usage of service-derived resource `name`.
pub fn service_usage(name: &str, services: &[&Service]) -> Option<Sum> {
    let type_of = |s: &Service| {
        s.spec
            .as_ref()
            .and_then(|s| s.type_.clone())
            .unwrap_or_else(|| "ClusterIP".into())
    };
    let n = match name {
        "services" | "count/services" => services.len(),
        "services.loadbalancers" => services
            .iter()
            .filter(|s| type_of(s) == "LoadBalancer")
            .count(),
        "services.nodeports" => services
            .iter()
            .map(|s| {
                let ports = s
                    .spec
                    .as_ref()
                    .and_then(|s| s.ports.as_deref())
                    .unwrap_or_default();
                match type_of(s).as_str() {
                    "NodePort" => ports.len(),
                    "LoadBalancer" => ports
                        .iter()
                        .filter(|p| p.node_port.is_some_and(|n| n != 0))
                        .count(),
                    _ => 0,
                }
            })
            .sum(),
        _ => return None,
    };
    Some(Sum::count(n))
}

/// Usage of claim-derived resource `name` (with per-StorageClass forms).
pub fn pvc_usage(name: &str, claims: &[&PersistentVolumeClaim]) -> Option<Sum> {
    const SC: &str = ".storageclass.storage.k8s.io/";
    let (class, what) = match name.split_once(SC) {
        Some((c, w)) => (Some(c), w),
        None => (None, name),
    };
    let in_class = |c: &&&PersistentVolumeClaim| {
        class.is_none_or(|cls| {
            c.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
                == Some(cls)
        })
    };
    match what {
        "persistentvolumeclaims" | "count/persistentvolumeclaims" => {
            Some(Sum::count(claims.iter().filter(in_class).count()))
        }
        "requests.storage" => {
            let mut sum = Sum::default();
            for c in claims.iter().filter(in_class) {
                if let Some(q) = c
                    .spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                {
                    sum.add_str(&q.0);
                }
            }
            Some(sum)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn sums_print_like_upstream() {
        let mut s = Sum::count(0);
        s.add_str("500m");
        s.add_str("1");
        assert_eq!(s.to_quantity().0, "1500m");
        let mut m = Sum::default();
        m.add_str("128Mi");
        m.add_str("128Mi");
        assert_eq!(m.to_quantity().0, "256Mi");
        assert_eq!(Sum::count(3).to_quantity().0, "3");
        assert_eq!(Sum::count(0).to_quantity().0, "0");
    }

    #[test]
    fn pod_requests_take_larger_of_containers_and_init() {
        let p = pod(json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "500m"}}}]}}));
        assert_eq!(
            pod_usage("requests.cpu", &[&p]).unwrap().to_quantity().0,
            "500m"
        );
        assert_eq!(pod_usage("limits.cpu", &[&p]).unwrap().to_quantity().0, "0");
        assert!(pod_usage("configmaps", &[&p]).is_none());
    }

    #[test]
    fn scopes_filter_pods() {
        let be = pod(json!({"spec": {"containers": [{"name": "a"}]}}));
        let burst = pod(
            json!({"spec": {"activeDeadlineSeconds": 10, "priorityClassName": "high",
            "containers": [{"name": "a", "resources": {"requests": {"memory": "1Gi"}}}]}}),
        );
        let spec = |v: serde_json::Value| serde_json::from_value::<ResourceQuotaSpec>(v).unwrap();
        let best_effort = spec(json!({"scopes": ["BestEffort"]}));
        assert!(pod_in_scope(&be, &best_effort));
        assert!(!pod_in_scope(&burst, &best_effort));
        let term = spec(json!({"scopes": ["Terminating", "NotBestEffort"]}));
        assert!(pod_in_scope(&burst, &term));
        assert!(!pod_in_scope(&be, &term));
        let prio = spec(json!({"scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}));
        assert!(pod_in_scope(&burst, &prio));
        assert!(!pod_in_scope(&be, &prio));
    }

    #[test]
    fn terminal_pods_do_not_count() {
        let done = pod(json!({"spec": {"containers": []}, "status": {"phase": "Succeeded"}}));
        let running = pod(json!({"spec": {"containers": []}, "status": {"phase": "Running"}}));
        let now = jiff::Timestamp::now();
        assert!(!pod_counts(&done, now));
        assert!(pod_counts(&running, now));
    }

    #[test]
    fn node_ports_and_storage_classes() {
        let svc: Service = serde_json::from_value(json!({"spec": {"type": "NodePort",
            "ports": [{"port": 80}, {"port": 443}]}}))
        .unwrap();
        assert_eq!(
            service_usage("services.nodeports", &[&svc])
                .unwrap()
                .to_quantity()
                .0,
            "2"
        );
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({"spec": {
            "storageClassName": "gold", "resources": {"requests": {"storage": "1Gi"}}}}))
        .unwrap();
        assert_eq!(
            pvc_usage("requests.storage", &[&pvc])
                .unwrap()
                .to_quantity()
                .0,
            "1Gi"
        );
        assert_eq!(
            pvc_usage("gold.storageclass.storage.k8s.io/requests.storage", &[&pvc])
                .unwrap()
                .to_quantity()
                .0,
            "1Gi"
        );
        assert_eq!(
            pvc_usage(
                "silver.storageclass.storage.k8s.io/persistentvolumeclaims",
                &[&pvc]
            )
            .unwrap()
            .to_quantity()
            .0,
            "0"
        );
    }
}
