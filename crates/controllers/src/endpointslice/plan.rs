//! The pure half of the EndpointSlice controller: the endpoints a Service
//! should have, grouped by port set, and the plan that turns the existing
//! slices into them with as little churn as upstream's reconciler (keep
//! endpoints where they are, fill slices with room, then make new ones).

use crate::endpoints::pods;
use informer::Informer;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::ObjectMeta;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// Upstream's --max-endpoints-per-slice default.
pub const MAX_PER_SLICE: usize = 100;

/// Endpoints sharing one port set.
#[derive(Debug, Default)]
pub struct Group {
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
}

fn eps(s: &EndpointSlice) -> &[Endpoint] {
    s.endpoints.as_deref().unwrap_or(&[])
}

fn ports_key(ports: &[EndpointPort]) -> String {
    format!("{ports:?}")
}

fn endpoint_key(ep: &Endpoint) -> String {
    ep.target_ref
        .as_ref()
        .and_then(|r| r.uid.clone())
        .or_else(|| ep.addresses.first().cloned())
        .unwrap_or_default()
}

/// The endpoints the Service's selected pods give, by port set.
pub fn desired(
    svc: &Service,
    selected: &[Arc<Pod>],
    nodes: &Informer<Node>,
) -> BTreeMap<String, Group> {
    let publish = pods::publish_not_ready(svc);
    let svc_ports = pods::service_ports(svc);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in selected {
        // Terminating pods stay, marked terminating (upstream's slices
        // carry them so proxies can drain).
        if !pods::should_be_in_endpoints(pod, true) {
            continue;
        }
        let Some(ip) = pods::pod_ip(pod) else {
            continue;
        };
        let mut ports: Vec<EndpointPort> = svc_ports
            .iter()
            .filter_map(|sp| {
                Some(EndpointPort {
                    name: sp.name.clone(),
                    port: Some(pods::resolve_port(pod, sp)?),
                    protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        if ports.is_empty() && !svc_ports.is_empty() {
            continue;
        }
        ports.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
        let serving = pods::is_ready(pod);
        let terminating = pod.metadata.deletion_timestamp.is_some();
        let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        let zone = node_name
            .as_deref()
            .and_then(|n| nodes.get_named(None, n))
            .and_then(|n| n.metadata.labels.as_ref()?.get(ZONE_LABEL).cloned());
        let ep = Endpoint {
            addresses: vec![ip.to_string()],
            conditions: Some(EndpointConditions {
                ready: Some(publish || (serving && !terminating)),
                serving: Some(serving),
                terminating: Some(terminating),
            }),
            hostname: pods::hostname(pod, svc),
            node_name,
            zone,
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: pod.metadata.namespace.clone(),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let g = groups.entry(ports_key(&ports)).or_default();
        g.ports = ports;
        g.endpoints.push(ep);
    }
    for g in groups.values_mut() {
        g.endpoints.sort_by(|a, b| a.addresses.cmp(&b.addresses));
    }
    groups
}

/// Labels and owner every slice of the Service carries.
pub fn slice_meta(svc: &Service) -> (BTreeMap<String, String>, OwnerReference) {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.remove(crate::endpoints::HEADLESS_LABEL);
    if pods::is_headless(svc) {
        labels.insert(crate::endpoints::HEADLESS_LABEL.into(), String::new());
    }
    labels.insert(
        SERVICE_NAME_LABEL.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    (labels, owner)
}

#[derive(Debug, Default)]
pub struct Plan {
    pub create: Vec<EndpointSlice>,
    pub update: Vec<EndpointSlice>,
    pub delete: Vec<String>,
}

fn new_slice(
    svc: &Service,
    labels: &BTreeMap<String, String>,
    owner: &OwnerReference,
) -> EndpointSlice {
    let name = svc.metadata.name.clone().unwrap_or_default();
    // Upstream keeps generated names within 63 characters.
    let prefix: String = name.chars().take(57).collect();
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{prefix}-")),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            owner_references: Some(vec![owner.clone()]),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(Vec::new()),
        ports: None,
    }
}

/// Turn `existing` slices (ours, of this Service) into `groups`.
pub fn plan(
    svc: &Service,
    mut groups: BTreeMap<String, Group>,
    existing: &[Arc<EndpointSlice>],
    max: usize,
) -> Plan {
    let (labels, owner) = slice_meta(svc);
    let mut out = Plan::default();
    let meta_differs = |s: &EndpointSlice| {
        s.metadata.labels.as_ref() != Some(&labels)
            || s.metadata.owner_references.as_deref() != Some(std::slice::from_ref(&owner))
    };
    let mut existing: Vec<&Arc<EndpointSlice>> = existing.iter().collect();
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));

    if groups.values().all(|g| g.endpoints.is_empty()) {
        // No endpoints: one empty placeholder slice, as upstream keeps.
        let mut rest = existing.into_iter();
        match rest.next() {
            Some(first) => {
                if !eps(first).is_empty() || first.ports.is_some() || meta_differs(first) {
                    let mut s = (**first).clone();
                    s.endpoints = Some(Vec::new());
                    s.ports = None;
                    s.metadata.labels = Some(labels.clone());
                    s.metadata.owner_references = Some(vec![owner.clone()]);
                    out.update.push(s);
                }
            }
            None => out.create.push(new_slice(svc, &labels, &owner)),
        }
        out.delete
            .extend(rest.filter_map(|s| s.metadata.name.clone()));
        return out;
    }

    // Per group: the slices kept (with whether they changed).
    let mut slots: HashMap<String, Vec<(EndpointSlice, Vec<Endpoint>, bool)>> = HashMap::new();
    let mut wanted: HashMap<String, HashMap<String, Endpoint>> = groups
        .iter()
        .map(|(k, g)| {
            (
                k.clone(),
                g.endpoints
                    .iter()
                    .map(|e| (endpoint_key(e), e.clone()))
                    .collect(),
            )
        })
        .collect();
    for s in existing {
        let key = ports_key(s.ports.as_deref().unwrap_or(&[]));
        let Some(want) = wanted.get_mut(&key) else {
            out.delete.extend(s.metadata.name.clone());
            continue;
        };
        let kept: Vec<Endpoint> = eps(s)
            .iter()
            .filter_map(|e| want.remove(&endpoint_key(e)))
            .collect();
        let changed = kept != eps(s) || meta_differs(s) || s.address_type != "IPv4";
        slots
            .entry(key)
            .or_default()
            .push(((**s).clone(), kept, changed));
    }
    for (key, g) in groups.iter_mut() {
        let want = wanted.remove(key).unwrap_or_default();
        // New endpoints, in the desired (address) order.
        let mut fresh: Vec<Endpoint> = g
            .endpoints
            .drain(..)
            .filter(|e| want.contains_key(&endpoint_key(e)))
            .collect();
        let mut slices = slots.remove(key).unwrap_or_default();
        // Slices already being rewritten take new endpoints first.
        slices.sort_by_key(|(_, _, changed)| !*changed);
        for (_, kept, changed) in slices.iter_mut() {
            while kept.len() < max && !fresh.is_empty() {
                kept.push(fresh.remove(0));
                *changed = true;
            }
        }
        while !fresh.is_empty() {
            let mut s = new_slice(svc, &labels, &owner);
            s.ports = Some(g.ports.clone());
            let n = fresh.len().min(max);
            s.endpoints = Some(fresh.drain(..n).collect());
            out.create.push(s);
        }
        for (mut s, kept, changed) in slices {
            if kept.is_empty() {
                out.delete.extend(s.metadata.name.clone());
            } else if changed {
                s.endpoints = Some(kept);
                s.metadata.labels = Some(labels.clone());
                s.metadata.owner_references = Some(vec![owner.clone()]);
                s.address_type = "IPv4".into();
                out.update.push(s);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str) -> Endpoint {
        Endpoint {
            addresses: vec![ip.into()],
            target_ref: Some(ObjectReference {
                uid: Some(format!("uid-{ip}")),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn svc() -> Service {
        let mut s = Service::default();
        s.metadata.name = Some("web".into());
        s.metadata.uid = Some("svc-uid".into());
        s
    }

    fn group(ips: &[String]) -> BTreeMap<String, Group> {
        let ports = vec![EndpointPort {
            port: Some(80),
            protocol: Some("TCP".into()),
            ..Default::default()
        }];
        let mut m = BTreeMap::new();
        m.insert(
            ports_key(&ports),
            Group {
                ports,
                endpoints: ips.iter().map(|i| ep(i)).collect(),
            },
        );
        m
    }

    fn realize(p: Plan, names: &mut usize) -> Vec<Arc<EndpointSlice>> {
        p.create
            .into_iter()
            .chain(p.update)
            .map(|mut s| {
                if s.metadata.name.is_none() {
                    *names += 1;
                    s.metadata.name = Some(format!("web-{names}"));
                }
                Arc::new(s)
            })
            .collect()
    }

    #[test]
    fn slices_fill_to_the_cap_and_keep_endpoints_in_place() {
        let ips: Vec<String> = (0..250)
            .map(|i| format!("10.0.{}.{}", i / 200, i % 200))
            .collect();
        let p = plan(&svc(), group(&ips), &[], MAX_PER_SLICE);
        assert_eq!(p.create.len(), 3);
        assert_eq!(eps(&p.create[0]).len(), 100);
        assert_eq!(eps(&p.create[2]).len(), 50);
        let mut n = 0;
        let slices = realize(p, &mut n);
        // One endpoint goes: only its slice is rewritten.
        let fewer: Vec<String> = ips[1..].to_vec();
        let p = plan(&svc(), group(&fewer), &slices, MAX_PER_SLICE);
        assert!(p.create.is_empty() && p.delete.is_empty());
        assert_eq!(p.update.len(), 1);
        assert_eq!(eps(&p.update[0]).len(), 99);
        // Nothing changed: nothing to do.
        let p = plan(&svc(), group(&ips), &slices, MAX_PER_SLICE);
        assert!(p.create.is_empty() && p.update.is_empty() && p.delete.is_empty());
    }

    #[test]
    fn no_endpoints_leaves_one_placeholder() {
        let ips: Vec<String> = (0..150).map(|i| format!("10.1.0.{i}")).collect();
        let mut n = 0;
        let slices = realize(plan(&svc(), group(&ips), &[], MAX_PER_SLICE), &mut n);
        let p = plan(&svc(), group(&[]), &slices, MAX_PER_SLICE);
        assert_eq!(p.update.len(), 1);
        assert!(eps(&p.update[0]).is_empty());
        assert_eq!(p.delete.len(), 1);
        let p = plan(&svc(), group(&[]), &[], MAX_PER_SLICE);
        assert_eq!(p.create.len(), 1);
        let labels = p.create[0].metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(SERVICE_NAME_LABEL).map(String::as_str),
            Some("web")
        );
        assert_eq!(
            labels.get(MANAGED_BY_LABEL).map(String::as_str),
            Some(MANAGED_BY)
        );
    }
}
