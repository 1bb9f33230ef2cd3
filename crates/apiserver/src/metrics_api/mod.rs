//! `metrics.k8s.io/v1beta1` served in-process (upstream serves it through
//! metrics-server as an aggregated APIService): a scraper task reads every
//! Ready node's kubelet `/metrics/resource` each interval, turns two
//! scrapes into usage ([`scrape`]), and get/list of NodeMetrics and
//! PodMetrics answer from that cache, joined with the Node and Pod objects
//! so label and field selectors work as for the objects themselves.

pub mod fetch;
pub mod objects;
pub mod scrape;

use crate::codec::{self, Output, Resp};
use crate::request::{Query, RequestInfo};
use crate::serve::ApiServer;
use apimachinery::ApiError;
pub use fetch::{HttpsFetcher, KubeletFetcher, NodeTarget};
use futures::StreamExt;
use http::{HeaderMap, StatusCode};
use registry::options::ListOptions;
use scrape::{PodUsage, Scrape, Usage};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// metrics-server's default `--metric-resolution`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
/// A node seen for the first time is scraped again this soon, so usage
/// shows up without waiting a whole interval.
const FIRST_RESCRAPE: Duration = Duration::from_secs(2);
/// Kubelets scraped at once.
const SCRAPE_CONCURRENCY: usize = 64;

#[derive(Default)]
struct Cache {
    prev: HashMap<String, Scrape>,
    nodes: HashMap<String, Usage>,
    pods: BTreeMap<(String, String), PodUsage>,
}

/// The state of the metrics API of one API server.
pub struct MetricsApi {
    fetcher: Mutex<Option<Arc<dyn KubeletFetcher>>>,
    interval: Mutex<Duration>,
    started: AtomicBool,
    cache: RwLock<Cache>,
}

impl Default for MetricsApi {
    fn default() -> Self {
        MetricsApi {
            fetcher: Mutex::new(None),
            interval: Mutex::new(DEFAULT_INTERVAL),
            started: AtomicBool::new(false),
            cache: RwLock::default(),
        }
    }
}

impl ApiServer {
    /// How the metrics API reaches kubelets, and how often it scrapes them.
    /// Without a fetcher the metrics lists are empty.
    pub fn set_metrics_fetcher(&self, fetcher: Arc<dyn KubeletFetcher>, interval: Duration) {
        *self
            .metrics_api
            .fetcher
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(fetcher);
        *self
            .metrics_api
            .interval
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = interval;
    }

    /// Scrape kubelets with this TLS client config (a certificate they trust).
    pub fn set_kubelet_metrics_client(&self, tls: Arc<rustls::ClientConfig>) {
        self.set_metrics_fetcher(Arc::new(HttpsFetcher::new(tls)), DEFAULT_INTERVAL);
    }

    /// Start the scraper (once; the first metrics request starts it too).
    /// It ends when the server is dropped.
    pub fn start_metrics_scraper(self: &Arc<Self>) {
        if self.metrics_api.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(srv) = weak.upgrade() else { return };
                let fresh = scrape_all(&srv).await;
                let interval = *srv
                    .metrics_api
                    .interval
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                drop(srv);
                let wait = if fresh {
                    interval.min(FIRST_RESCRAPE)
                } else {
                    interval
                };
                tokio::time::sleep(wait).await;
            }
        });
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn list_objects(
    srv: &ApiServer,
    plural: &str,
    ns: &str,
    opts: &ListOptions,
) -> Result<Vec<Value>, ApiError> {
    let res = srv
        .registry
        .catalog()
        .find("", "v1", plural)
        .ok_or_else(ApiError::not_found_path)?;
    let out = srv.registry.list(&res, ns, opts).await?;
    Ok(out
        .items
        .iter()
        .filter_map(|o| serde_json::from_slice(&o.json).ok())
        .collect())
}

/// One scrape of every Ready node. True when some node had no previous
/// scrape (so no usage yet).
async fn scrape_all(srv: &ApiServer) -> bool {
    let fetcher = srv
        .metrics_api
        .fetcher
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(fetcher) = fetcher else { return false };
    let nodes = match list_objects(srv, "nodes", "", &ListOptions::default()).await {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!("metrics scraper: list nodes: {e}");
            return false;
        }
    };
    let targets: Vec<NodeTarget> = nodes.iter().filter_map(fetch::target_of).collect();
    // Bounded: thousands of nodes must not mean thousands of connections
    // (and sockets) at once every interval.
    let scrapes: Vec<_> = targets
        .into_iter()
        .map(|t| {
            let f = fetcher.clone();
            async move {
                let answer = f.resource_metrics(&t).await;
                (t.name, answer)
            }
        })
        .collect();
    let answers: Vec<_> = futures::stream::iter(scrapes)
        .buffer_unordered(SCRAPE_CONCURRENCY)
        .collect()
        .await;
    let now = now_ms();
    let mut cache = srv
        .metrics_api
        .cache
        .write()
        .unwrap_or_else(|e| e.into_inner());
    let mut fresh = false;
    let mut seen = std::collections::HashSet::new();
    for (node, answer) in answers {
        seen.insert(node.clone());
        let text = match answer {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(%node, "metrics scraper: {e}");
                cache.nodes.remove(&node);
                cache.prev.remove(&node);
                continue;
            }
        };
        let cur = scrape::parse(&text, now);
        let prev = cache.prev.remove(&node);
        fresh |= prev.is_none();
        let (nu, pods) = scrape::usage(&prev.unwrap_or_default(), &cur);
        match nu {
            Some(u) => {
                cache.nodes.insert(node.clone(), u);
            }
            None => {
                cache.nodes.remove(&node);
            }
        }
        // Pods of this node: replace what the last scrape of it said.
        cache
            .pods
            .retain(|(ns, p), _| !cur.containers.keys().any(|(n, q, _)| n == ns && q == p));
        cache.pods.extend(pods);
        cache.prev.insert(node, cur);
    }
    // Nodes gone or not Ready: forget them.
    cache.prev.retain(|n, _| seen.contains(n));
    cache.nodes.retain(|n, _| seen.contains(n));
    let live: std::collections::HashSet<(String, String)> = cache
        .prev
        .values()
        .flat_map(|s| s.containers.keys().map(|(n, p, _)| (n.clone(), p.clone())))
        .collect();
    cache.pods.retain(|k, _| live.contains(k));
    fresh
}

/// Serve a metrics.k8s.io request (`info.group` is the group).
pub async fn handle(
    srv: &Arc<ApiServer>,
    info: RequestInfo,
    query: Query,
    headers: &HeaderMap,
) -> Result<Resp, ApiError> {
    if info.version != objects::VERSION || !info.subresource.is_empty() {
        return Err(ApiError::not_found_path());
    }
    let (plural, kind, namespaced) = match info.resource.as_str() {
        "nodes" => ("nodes", "NodeMetrics", false),
        "pods" => ("pods", "PodMetrics", true),
        _ => return Err(ApiError::not_found_path()),
    };
    if !namespaced && !info.namespace.is_empty() {
        return Err(ApiError::not_found_path());
    }
    if !matches!(info.verb.as_str(), "get" | "list") {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    srv.start_metrics_scraper();
    let now = objects::rfc3339_ms(now_ms());
    let objs = if info.verb == "get" {
        let opts = ListOptions {
            field_selector: Some(format!("metadata.name={}", info.name)),
            ..Default::default()
        };
        list_objects(srv, plural, &info.namespace, &opts).await?
    } else {
        let opts = ListOptions {
            label_selector: query.get("labelSelector").cloned(),
            field_selector: query.get("fieldSelector").cloned(),
            ..Default::default()
        };
        list_objects(srv, plural, &info.namespace, &opts).await?
    };
    let items: Vec<Value> = {
        let cache = srv
            .metrics_api
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner());
        objs.iter()
            .filter_map(|o| {
                let name = o["metadata"]["name"].as_str()?;
                if namespaced {
                    let ns = o["metadata"]["namespace"].as_str()?;
                    let u = cache.pods.get(&(ns.to_string(), name.to_string()))?;
                    Some(objects::pod_metrics(o, u, &now))
                } else {
                    Some(objects::node_metrics(o, cache.nodes.get(name)?, &now))
                }
            })
            .collect()
    };
    let table = match codec::negotiate(headers) {
        Output::Table(_, mut inc) => {
            if let Some(raw) = query.get("includeObject") {
                inc = apimachinery::table::IncludeObject::parse(raw).unwrap_or_default();
            }
            Some(inc)
        }
        _ => None,
    };
    if info.verb == "get" {
        let Some(item) = items.into_iter().next() else {
            let res = if namespaced {
                "podmetrics"
            } else {
                "nodemetrics"
            };
            return Err(ApiError::not_found(objects::GROUP, res, &info.name));
        };
        return Ok(match table {
            Some(inc) => codec::json(StatusCode::OK, &objects::table(&[item], inc)),
            None => codec::json(StatusCode::OK, &item),
        });
    }
    Ok(match table {
        Some(inc) => codec::json(StatusCode::OK, &objects::table(&items, inc)),
        None => codec::json(StatusCode::OK, &objects::list(kind, items)),
    })
}
