//! [`MetricsApiSource`]: resource metrics (cpu, memory) from
//! `metrics.k8s.io/v1beta1` PodMetrics, combined with the pods' requests as
//! upstream's replica calculator does: pods being deleted or Failed are
//! left out, so are pods without metrics yet; utilization is the summed
//! usage over the summed requests of the pods that have metrics. Custom and
//! external metrics still answer as not served.

use super::metrics::{MetricsSource, NoMetrics, ResourceUsage};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use std::collections::HashMap;

pub struct MetricsApiSource {
    client: Client,
}

impl MetricsApiSource {
    pub fn new(client: Client) -> Self {
        MetricsApiSource { client }
    }
}

fn pod_metrics_resource() -> ApiResource {
    ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    }
}

fn millis(q: &str) -> Option<i64> {
    apimachinery::quantity::Quantity::parse(q)
        .ok()
        .map(|q| q.to_millis() as i64)
}

/// Per pod name, the summed usage (milli-units) of `resource` over its containers.
pub fn usage_by_pod(items: &[DynamicObject], resource: &str) -> HashMap<String, i64> {
    items
        .iter()
        .filter_map(|m| {
            let name = m.metadata.name.clone()?;
            let total = m.data["containers"]
                .as_array()?
                .iter()
                .filter_map(|c| c["usage"][resource].as_str().and_then(millis))
                .sum();
            Some((name, total))
        })
        .collect()
}

/// Upstream's utilization from per-pod usage and the pods: (average
/// milli-units, percent of requests) over the pods that have metrics.
pub fn compute(
    pods: &[Pod],
    usage: &HashMap<String, i64>,
    resource: &str,
) -> Result<ResourceUsage, String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let (mut used, mut requested, mut n) = (0i64, 0i64, 0i64);
    for p in pods {
        let name = p.metadata.name.clone().unwrap_or_default();
        let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
        if p.metadata.deletion_timestamp.is_some() || phase == Some("Failed") {
            continue;
        }
        let Some(u) = usage.get(&name) else { continue };
        let mut req = 0;
        for c in p.spec.iter().flat_map(|s| &s.containers) {
            let r = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource))
                .and_then(|q| millis(&q.0));
            match r {
                Some(r) => req += r,
                None => {
                    return Err(format!(
                        "missing request for {resource} in container {} of Pod {name}",
                        c.name
                    ));
                }
            }
        }
        used += u;
        requested += req;
        n += 1;
    }
    if n == 0 {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    if requested == 0 {
        return Err(format!("missing request for {resource}"));
    }
    Ok(ResourceUsage {
        average_millis: used / n,
        utilization: (used * 100 / requested) as i32,
    })
}

impl MetricsSource for MetricsApiSource {
    fn resource<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a str,
        resource: &'a str,
    ) -> BoxFuture<'a, Result<ResourceUsage, String>> {
        Box::pin(async move {
            let lp = ListParams::default().labels(selector);
            let metrics: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), namespace, &pod_metrics_resource());
            let items = metrics.list(&lp).await.map_err(|e| {
                let why = match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    other => other.to_string(),
                };
                format!("unable to fetch metrics from resource metrics API: {why}")
            })?;
            if items.items.is_empty() {
                return Err("unable to fetch metrics from resource metrics API: no metrics returned from resource metrics API".into());
            }
            let usage = usage_by_pod(&items.items, resource);
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
            let pods = pods.list(&lp).await.map_err(|e| e.to_string())?;
            compute(&pods.items, &usage, resource)
        })
    }

    fn pods_metric<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a str,
        metric: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>> {
        NoMetrics.pods_metric(namespace, selector, metric)
    }

    fn object_metric<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a str,
        name: &'a str,
        metric: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>> {
        NoMetrics.object_metric(namespace, kind, name, metric)
    }

    fn external_metric<'a>(
        &'a self,
        namespace: &'a str,
        metric: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>> {
        NoMetrics.external_metric(namespace, metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, cpu: Option<&str>, phase: &str) -> Pod {
        let res = cpu
            .map(|c| json!({"requests": {"cpu": c}}))
            .unwrap_or(json!({}));
        serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "resources": res}]},
            "status": {"phase": phase}}))
        .unwrap()
    }

    fn pm(name: &str, cpus: &[&str]) -> DynamicObject {
        let cs: Vec<_> = cpus
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"name": format!("c{i}"), "usage": {"cpu": c, "memory": "1Mi"}}))
            .collect();
        serde_json::from_value(
            json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": name}, "containers": cs}),
        )
        .unwrap()
    }

    #[test]
    fn utilization_is_summed_usage_over_summed_requests() {
        let usage = usage_by_pod(&[pm("a", &["150m", "50m"]), pm("b", &["100m"])], "cpu");
        assert_eq!(usage["a"], 200);
        let pods = [
            pod("a", Some("100m"), "Running"),
            pod("b", Some("100m"), "Running"),
            // No metrics yet: left out.
            pod("c", Some("100m"), "Running"),
            pod("d", Some("100m"), "Failed"),
        ];
        let u = compute(&pods, &usage, "cpu").unwrap();
        assert_eq!(
            u,
            ResourceUsage {
                average_millis: 150,
                utilization: 150
            }
        );
    }

    #[test]
    fn missing_requests_and_missing_metrics_are_errors() {
        let usage = usage_by_pod(&[pm("a", &["10m"])], "cpu");
        let e = compute(&[pod("a", None, "Running")], &usage, "cpu").unwrap_err();
        assert_eq!(e, "missing request for cpu in container c of Pod a");
        let e = compute(&[pod("z", Some("1"), "Running")], &usage, "cpu").unwrap_err();
        assert!(e.starts_with("did not receive metrics"), "{e}");
        assert!(compute(&[], &usage, "cpu").is_err());
    }
}
