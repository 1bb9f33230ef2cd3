//! What the Endpoints and EndpointSlice controllers share: the pod index by
//! namespace and label, which Services a pod change concerns, which pods
//! belong in a Service's endpoints, and target port resolution.

use informer::{Factory, Informer, ObjectKey};
use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Index of pods by `namespace/key=value`, one entry per label.
pub const POD_LABEL_INDEX: &str = "namespace-label";

fn label_key(ns: &str, k: &str, v: &str) -> String {
    format!("{ns}/{k}={v}")
}

/// The shared Pod informer with the label index.
pub fn pod_informer(factory: &Factory) -> Informer<Pod> {
    factory.informer_with::<Pod>(|inf| {
        inf.add_index(
            POD_LABEL_INDEX,
            Arc::new(|p: &Pod| {
                let ns = p.metadata.namespace.as_deref().unwrap_or("");
                p.metadata
                    .labels
                    .iter()
                    .flatten()
                    .map(|(k, v)| label_key(ns, k, v))
                    .collect()
            }),
        )
    })
}

/// The selector of a Service that selects pods (none or empty: it does not).
pub fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .filter(|s| !s.is_empty())
}

fn matches(sel: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Pods of the Service's namespace its selector matches, through the index.
pub fn selected_pods(pods: &Informer<Pod>, svc: &Service) -> Vec<Arc<Pod>> {
    let (Some(sel), Some(ns)) = (selector(svc), svc.metadata.namespace.as_deref()) else {
        return Vec::new();
    };
    let Some((k, v)) = sel.iter().next() else {
        return Vec::new();
    };
    pods.by_index(POD_LABEL_INDEX, &label_key(ns, k, v))
        .into_iter()
        .filter(|p| matches(sel, p))
        .collect()
}

/// Services whose selector matches the pod before or after a change.
pub fn services_for_pod(
    services: &Informer<Service>,
    old: Option<&Pod>,
    new: Option<&Pod>,
) -> Vec<ObjectKey> {
    let Some(ns) = new.or(old).and_then(|p| p.metadata.namespace.as_deref()) else {
        return Vec::new();
    };
    services
        .list_namespace(ns)
        .iter()
        .filter(|s| {
            selector(s).is_some_and(|sel| {
                old.is_some_and(|p| matches(sel, p)) || new.is_some_and(|p| matches(sel, p))
            })
        })
        .map(|s| ObjectKey::of(s.as_ref()))
        .collect()
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .filter(|ip| !ip.is_empty())
}

/// Upstream's ShouldPodBeInEndpoints: an IP, not finished, and not
/// terminating unless terminating pods are wanted.
pub fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Failed" | "Succeeded")) {
        return false;
    }
    if pod_ip(pod).is_none() {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

/// The pod's port for a Service port: a number, a named container port of
/// the same protocol, or the Service port itself when no target is given.
pub fn resolve_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    let proto = sp.protocol.as_deref().unwrap_or("TCP");
    match &sp.target_port {
        None => Some(sp.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            spec.containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == proto
                })
                .map(|p| p.container_port)
                .or_else(|| name.parse().ok())
        }
    }
}

/// The hostname a pod has under a Service: its `spec.hostname`, when its
/// subdomain is the Service's name.
pub fn hostname(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let host = spec.hostname.as_ref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == svc.metadata.name.as_deref()).then(|| host.clone())
}

pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

pub fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

pub fn service_ports(svc: &Service) -> &[ServicePort] {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[])
}

/// RFC 3339 with nanoseconds, as upstream writes trigger times.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec};

    fn pod_with_port(name: &str, port: i32, proto: &str) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(vec![ContainerPort {
                        name: Some(name.into()),
                        container_port: port,
                        protocol: Some(proto.into()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn sp(target: Option<IntOrString>, proto: &str) -> ServicePort {
        ServicePort {
            port: 80,
            target_port: target,
            protocol: Some(proto.into()),
            ..Default::default()
        }
    }

    #[test]
    fn ports_resolve_by_number_name_and_default() {
        let pod = pod_with_port("http", 8080, "TCP");
        assert_eq!(resolve_port(&pod, &sp(None, "TCP")), Some(80));
        assert_eq!(
            resolve_port(&pod, &sp(Some(IntOrString::Int(9000)), "TCP")),
            Some(9000)
        );
        let named = sp(Some(IntOrString::String("http".into())), "TCP");
        assert_eq!(resolve_port(&pod, &named), Some(8080));
        let udp = sp(Some(IntOrString::String("http".into())), "UDP");
        assert_eq!(resolve_port(&pod, &udp), None);
        let missing = sp(Some(IntOrString::String("grpc".into())), "TCP");
        assert_eq!(resolve_port(&pod, &missing), None);
    }

    #[test]
    fn terminating_and_ipless_pods_are_left_out() {
        let mut pod = Pod::default();
        assert!(!should_be_in_endpoints(&pod, true));
        pod.status = Some(k8s_openapi::api::core::v1::PodStatus {
            pod_ip: Some("10.0.0.1".into()),
            ..Default::default()
        });
        assert!(should_be_in_endpoints(&pod, false));
        pod.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()),
        );
        assert!(!should_be_in_endpoints(&pod, false));
        assert!(should_be_in_endpoints(&pod, true));
    }
}
