//! `/metrics` in the Prometheus text format, with upstream's request
//! metrics: `apiserver_request_total` and
//! `apiserver_request_duration_seconds` (watches are counted, not timed,
//! as upstream does for long-running requests) and
//! `apiserver_longrunning_requests` (the watches open now).

use crate::request::RequestInfo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
    component: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
    component: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram, fn() -> Histogram>,
    long_running: Family<DurationLabels, Gauge>,
}

/// One open long-running request: counted in `apiserver_longrunning_requests`
/// until dropped (with the response body that holds it).
pub struct LongRunning(Gauge);

impl Drop for LongRunning {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn buckets() -> Histogram {
    // Upstream's request-duration buckets.
    Histogram::new([
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
        10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations =
            Family::<DurationLabels, Histogram, fn() -> Histogram>::new_with_constructor(buckets);
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
            durations.clone(),
        );
        let long_running = Family::<DurationLabels, Gauge>::default();
        registry.register(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
            long_running.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            long_running,
        }
    }
}

/// Upstream's verb label: the HTTP-ish verb, with LIST, WATCH, APPLY and
/// DELETECOLLECTION told apart.
fn verb_label(info: &RequestInfo, method: &str, apply: bool) -> String {
    match info.verb.as_str() {
        "list" => "LIST".into(),
        "watch" => "WATCH".into(),
        "deletecollection" => "DELETECOLLECTION".into(),
        "patch" if apply => "APPLY".into(),
        _ => method.to_string(),
    }
}

fn scope(info: &RequestInfo) -> &'static str {
    if !info.name.is_empty() {
        "resource"
    } else if !info.namespace.is_empty() {
        "namespace"
    } else {
        "cluster"
    }
}

impl Metrics {
    /// Count a watch as open until the returned guard is dropped.
    pub fn watch_started(&self, info: &RequestInfo) -> LongRunning {
        let labels = DurationLabels {
            verb: "WATCH".into(),
            group: info.group.clone(),
            version: info.version.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            scope: scope(info).into(),
            component: "apiserver".into(),
        };
        let gauge = self.long_running.get_or_create(&labels).clone();
        gauge.inc();
        LongRunning(gauge)
    }

    /// Record one finished resource request.
    pub fn record(&self, info: &RequestInfo, method: &str, apply: bool, code: u16, seconds: f64) {
        let scope = scope(info);
        let verb = verb_label(info, method, apply);
        let labels = RequestLabels {
            verb: verb.clone(),
            group: info.group.clone(),
            version: info.version.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            scope: scope.into(),
            component: "apiserver".into(),
            code: code.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        if verb != "WATCH" {
            let d = DurationLabels {
                verb,
                group: labels.group,
                version: labels.version,
                resource: labels.resource,
                subresource: labels.subresource,
                scope: labels.scope,
                component: labels.component,
            };
            self.durations.get_or_create(&d).observe(seconds);
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
