//! Where the HPA's numbers come from. `MetricsSource` is the seam a
//! metrics.k8s.io / custom.metrics.k8s.io / external.metrics.k8s.io client
//! plugs into; until the cluster serves those APIs, [`NoMetrics`] answers
//! with the errors upstream reports when they are not registered.

use futures::future::BoxFuture;

/// Current average usage of a resource over the target's pods.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResourceUsage {
    /// Average usage in milli-units.
    pub average_millis: i64,
    /// Average usage as a percentage of the pods' requests.
    pub utilization: i32,
}

pub trait MetricsSource: Send + Sync {
    /// Resource metric (cpu, memory) of the pods `selector` selects.
    fn resource<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a str,
        resource: &'a str,
    ) -> BoxFuture<'a, Result<ResourceUsage, String>>;

    /// Average per-pod value (milli-units) of a custom pods metric.
    fn pods_metric<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a str,
        metric: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>>;

    /// Value (milli-units) of a custom metric describing one object.
    fn object_metric<'a>(
        &'a self,
        namespace: &'a str,
        kind: &'a str,
        name: &'a str,
        metric: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>>;

    /// Total value (milli-units) of an external metric.
    fn external_metric<'a>(
        &'a self,
        namespace: &'a str,
        metric: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>>;
}

/// No metrics APIs are served yet.
pub struct NoMetrics;

impl MetricsSource for NoMetrics {
    fn resource<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<ResourceUsage, String>> {
        Box::pin(async {
            Err("unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)".into())
        })
    }

    fn pods_metric<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>> {
        Box::pin(async {
            Err("unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered".into())
        })
    }

    fn object_metric<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<i64, String>> {
        Box::pin(async {
            Err("unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered".into())
        })
    }

    fn external_metric<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<i64, String>> {
        Box::pin(async {
            Err("unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered".into())
        })
    }
}
