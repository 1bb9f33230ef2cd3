//! The Endpoints controller (upstream's endpoint-controller): for every
//! Service with a selector, an Endpoints object of the same name listing
//! the selected pods' addresses, ready and not ready, with the ports their
//! target ports resolve to. Services without a selector are left alone.

pub mod pods;

use informer::{Change, Factory, Informer, ObjectKey, WorkQueue};
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";
/// Upstream truncates Endpoints past 1000 addresses.
pub const MAX_ADDRESSES: usize = 1000;
const WORKERS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
}

#[derive(Clone)]
struct Ctx {
    client: kube::Client,
    services: Informer<Service>,
    pods: Informer<Pod>,
    endpoints: Informer<Endpoints>,
}

pub async fn run(factory: Factory) {
    let ctx = Ctx {
        client: factory.client(),
        services: factory.informer::<Service>(),
        pods: pods::pod_informer(&factory),
        endpoints: factory.informer::<Endpoints>(),
    };
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    let q = queue.clone();
    ctx.services
        .on_change(move |c| q.add(ObjectKey::of(c.object().as_ref())));
    let q = queue.clone();
    let services = ctx.services.clone();
    ctx.pods.on_change(move |c| {
        let (old, new) = match c {
            Change::Added(p) => (None, Some(p.as_ref())),
            Change::Updated { old, new } => (Some(old.as_ref()), Some(new.as_ref())),
            Change::Deleted(p) => (Some(p.as_ref()), None),
        };
        for k in pods::services_for_pod(&services, old, new) {
            q.add(k);
        }
    });
    let q = queue.clone();
    let services = ctx.services.clone();
    ctx.endpoints.on_change(move |c| {
        // Changed or deleted behind our back: put it right.
        let key = ObjectKey::of(c.object().as_ref());
        let ours = services
            .get(&key)
            .is_some_and(|s| pods::selector(&s).is_some());
        if ours && !matches!(c, Change::Added(_)) {
            q.add(key);
        }
    });
    ctx.services.wait_synced().await;
    ctx.pods.wait_synced().await;
    ctx.endpoints.wait_synced().await;
    // Leftovers of Services deleted while we were not running (upstream's
    // checkLeftoverEndpoints), except leader-election records.
    for ep in ctx.endpoints.list() {
        let key = ObjectKey::of(ep.as_ref());
        let leader = ep
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(LEADER_ANNOTATION));
        if ctx.services.get(&key).is_none() && !leader {
            queue.add(key);
        }
    }
    queue
        .run(WORKERS, move |key: ObjectKey| {
            let ctx = ctx.clone();
            async move { reconcile(&ctx, &key).await.map(|_| None) }
        })
        .await;
}

async fn reconcile(ctx: &Ctx, key: &ObjectKey) -> Result<(), Error> {
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let Some(svc) = ctx.services.get(key) else {
        // The Service is gone: so are its Endpoints.
        return match api.delete(&key.name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        };
    };
    if pods::selector(&svc).is_none() {
        return Ok(());
    }
    let pods = pods::selected_pods(&ctx.pods, &svc);
    let (subsets, truncated) = compute_subsets(&svc, &pods);
    let mut labels: BTreeMap<String, String> = svc.metadata.labels.clone().unwrap_or_default();
    labels.remove(HEADLESS_LABEL);
    if pods::is_headless(&svc) {
        labels.insert(HEADLESS_LABEL.to_string(), String::new());
    }
    let current = ctx.endpoints.get(key);
    if let Some(cur) = &current {
        let cur_trunc = cur
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(OVER_CAPACITY));
        let cur_subsets = cur.subsets.clone().unwrap_or_default();
        if cur_subsets == subsets
            && cur.metadata.labels.clone().unwrap_or_default() == labels
            && cur_trunc == truncated
        {
            return Ok(());
        }
    }
    let mut annotations = current
        .as_ref()
        .and_then(|c| c.metadata.annotations.clone())
        .unwrap_or_default();
    annotations.insert(TRIGGER_TIME.to_string(), pods::now_rfc3339());
    if truncated {
        annotations.insert(OVER_CAPACITY.to_string(), "truncated".to_string());
    } else {
        annotations.remove(OVER_CAPACITY);
    }
    let ep = Endpoints {
        metadata: ObjectMeta {
            name: Some(key.name.clone()),
            namespace: Some(key.namespace.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            resource_version: current
                .as_ref()
                .and_then(|c| c.metadata.resource_version.clone()),
            ..Default::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    };
    let written = match current {
        None => api.create(&PostParams::default(), &ep).await?,
        Some(_) => api.replace(&key.name, &PostParams::default(), &ep).await?,
    };
    ctx.endpoints.apply(Arc::new(written));
    Ok(())
}

/// Subsets for the selected pods, grouped by the set of ports each pod
/// resolves, sorted; and whether addresses were dropped past the cap.
pub fn compute_subsets(svc: &Service, pods: &[Arc<Pod>]) -> (Vec<EndpointSubset>, bool) {
    let tolerate_unready = pods::publish_not_ready(svc);
    let svc_ports = pods::service_ports(svc);
    // ports → (ready, not ready)
    type Addrs = (Vec<EndpointAddress>, Vec<EndpointAddress>);
    let mut groups: BTreeMap<String, (Vec<EndpointPort>, Addrs)> = BTreeMap::new();
    for pod in pods {
        if !pods::should_be_in_endpoints(pod, tolerate_unready) {
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
                    port: pods::resolve_port(pod, sp)?,
                    protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: sp.app_protocol.clone(),
                })
            })
            .collect();
        // A pod none of whose ports resolve serves nothing (a Service
        // without ports, headless, lists bare addresses).
        if ports.is_empty() && !svc_ports.is_empty() {
            continue;
        }
        ports.sort_by(|a, b| (&a.name, a.port).cmp(&(&b.name, b.port)));
        let addr = EndpointAddress {
            ip: ip.to_string(),
            hostname: pods::hostname(pod, svc),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: pod.metadata.namespace.clone(),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
                ..Default::default()
            }),
        };
        let group_key = format!("{ports:?}");
        let entry = groups
            .entry(group_key)
            .or_insert_with(|| (ports, Default::default()));
        if tolerate_unready || pods::is_ready(pod) {
            entry.1.0.push(addr);
        } else {
            entry.1.1.push(addr);
        }
    }
    let mut budget = MAX_ADDRESSES;
    let mut truncated = false;
    let mut subsets: Vec<(
        Vec<EndpointPort>,
        Vec<EndpointAddress>,
        Vec<EndpointAddress>,
    )> = groups
        .into_values()
        .map(|(ports, (mut ready, mut not_ready))| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            (ports, ready, not_ready)
        })
        .collect();
    // Ready addresses are kept before not-ready ones.
    for (_, ready, _) in subsets.iter_mut() {
        if ready.len() > budget {
            ready.truncate(budget);
            truncated = true;
        }
        budget -= ready.len();
    }
    for (_, _, not_ready) in subsets.iter_mut() {
        if not_ready.len() > budget {
            not_ready.truncate(budget);
            truncated = true;
        }
        budget -= not_ready.len();
    }
    let out = subsets
        .into_iter()
        .filter(|(_, r, n)| !r.is_empty() || !n.is_empty())
        .map(|(ports, ready, not_ready)| EndpointSubset {
            addresses: (!ready.is_empty()).then_some(ready),
            not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
            ports: (!ports.is_empty()).then_some(ports),
        })
        .collect();
    (out, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus, ServicePort, ServiceSpec};

    fn pod(name: &str, ip: &str, ready: bool) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.status = Some(PodStatus {
            pod_ip: Some(ip.into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        Arc::new(p)
    }

    fn svc(publish: bool) -> Service {
        Service {
            spec: Some(ServiceSpec {
                ports: Some(vec![ServicePort {
                    port: 80,
                    ..Default::default()
                }]),
                publish_not_ready_addresses: Some(publish),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ready_and_not_ready_split() {
        let pods = vec![pod("a", "10.0.0.2", true), pod("b", "10.0.0.1", false)];
        let (subsets, truncated) = compute_subsets(&svc(false), &pods);
        assert!(!truncated);
        assert_eq!(subsets.len(), 1);
        let s = &subsets[0];
        assert_eq!(
            s.addresses.as_ref().map(|a| a[0].ip.as_str()),
            Some("10.0.0.2")
        );
        assert_eq!(
            s.not_ready_addresses.as_ref().map(|a| a[0].ip.as_str()),
            Some("10.0.0.1")
        );
        let (subsets, _) = compute_subsets(&svc(true), &pods);
        assert_eq!(subsets[0].addresses.as_ref().map(Vec::len), Some(2));
        assert!(subsets[0].not_ready_addresses.is_none());
    }

    #[test]
    fn addresses_past_the_cap_are_truncated() {
        let pods: Vec<_> = (0..1100)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    &format!("10.0.{}.{}", i / 256, i % 256),
                    i % 2 == 0,
                )
            })
            .collect();
        let (subsets, truncated) = compute_subsets(&svc(false), &pods);
        assert!(truncated);
        let s = &subsets[0];
        assert_eq!(s.addresses.as_ref().map(Vec::len), Some(550));
        assert_eq!(s.not_ready_addresses.as_ref().map(Vec::len), Some(450));
    }
}
