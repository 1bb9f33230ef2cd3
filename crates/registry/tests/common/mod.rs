//! Shared setup of the registry's integration tests: a registry over an
//! in-memory store with the `default` namespace, resource lookup, option
//! builders, object fixtures and helpers to read watch streams.
#![allow(dead_code)]

use apimachinery::ResourceInfo;
use futures::StreamExt;
use registry::cache::EventType;
use registry::engine::{Registry, WatchEventOut, WatchStream};
use registry::options::{DeleteOptions, ListOptions, WatchOptions, WriteOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// A registry over a fresh memory store, with `default` created.
pub async fn setup() -> Arc<Registry> {
    setup_with_store().await.0
}

/// Like [`setup`], also handing back the store (for compaction tests).
pub async fn setup_with_store() -> (Arc<Registry>, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(store::memory::MemoryStore::new());
    let reg = Registry::new(store.clone()).await.expect("registry starts");
    create_namespace(&reg, "default").await;
    (reg, store)
}

pub async fn create_namespace(reg: &Registry, name: &str) -> Value {
    let ns = res(reg, "", "v1", "namespaces");
    reg.create(&ns, "", json!({"metadata": {"name": name}}), &wopts("test"))
        .await
        .expect("namespace created")
}

/// A served resource, by group, version and plural.
pub fn res(reg: &Registry, group: &str, version: &str, plural: &str) -> Arc<ResourceInfo> {
    reg.catalog()
        .find(group, version, plural)
        .unwrap_or_else(|| panic!("resource {group}/{version}/{plural} is served"))
}

pub fn pods(reg: &Registry) -> Arc<ResourceInfo> {
    res(reg, "", "v1", "pods")
}
pub fn configmaps(reg: &Registry) -> Arc<ResourceInfo> {
    res(reg, "", "v1", "configmaps")
}
pub fn deployments(reg: &Registry) -> Arc<ResourceInfo> {
    res(reg, "apps", "v1", "deployments")
}
pub fn services(reg: &Registry) -> Arc<ResourceInfo> {
    res(reg, "", "v1", "services")
}
pub fn namespaces(reg: &Registry) -> Arc<ResourceInfo> {
    res(reg, "", "v1", "namespaces")
}

/// Write options with a field manager.
pub fn wopts(manager: &str) -> WriteOptions {
    WriteOptions {
        field_manager: Some(manager.to_string()),
        default_manager: "default-manager".into(),
        ..Default::default()
    }
}

pub fn dry_run() -> WriteOptions {
    WriteOptions {
        dry_run: true,
        ..wopts("test")
    }
}

pub fn dopts() -> DeleteOptions {
    DeleteOptions::default()
}

pub fn lopts() -> ListOptions {
    ListOptions::default()
}

pub fn labels(sel: &str) -> ListOptions {
    ListOptions {
        label_selector: Some(sel.into()),
        ..Default::default()
    }
}

pub fn fields(sel: &str) -> ListOptions {
    ListOptions {
        field_selector: Some(sel.into()),
        ..Default::default()
    }
}

pub fn watch_from(rv: &str) -> WatchOptions {
    WatchOptions {
        resource_version: rv.into(),
        ..Default::default()
    }
}

pub fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name}, "data": {"k": "v"}})
}

pub fn configmap_labelled(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

pub fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
}

pub fn pod_on(name: &str, node: &str) -> Value {
    let mut p = pod(name);
    p["spec"]["nodeName"] = node.into();
    p
}

pub fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"replicas": replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}})
}

pub fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}})
}

/// A namespaced CRD `widgets.example.com` (kind Widget, version v1) with
/// status and scale subresources and a structural schema: `spec.size`
/// (integer, 1..10, default 3), `spec.color` (enum red/blue), `spec.replicas`.
pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas"}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "replicas": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {
                        "ready": {"type": "boolean"},
                        "replicas": {"type": "integer"}}}}}}
            }]
        }
    })
}

/// Create the widget CRD and wait until the catalog serves `widgets`.
pub async fn install_widgets(reg: &Registry) -> (Value, Arc<ResourceInfo>) {
    let crds = res(
        reg,
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
    );
    let crd = reg
        .create(&crds, "", widget_crd(), &wopts("test"))
        .await
        .expect("CRD created");
    for _ in 0..100 {
        if let Some(r) = reg.catalog().find("example.com", "v1", "widgets") {
            return (crd, r);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("widgets never became servable");
}

pub fn widget(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": name}, "spec": spec})
}

pub fn rv(obj: &Value) -> String {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

pub fn names(items: &[Arc<registry::cache::CachedObject>]) -> Vec<String> {
    items.iter().map(|o| o.name.clone()).collect()
}

/// What a test sees of a watch event: type and object name, or a bookmark,
/// or an error code.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Seen {
    Ev(&'static str, String),
    /// `end`: the bookmark that closes `sendInitialEvents` (the apiserver
    /// annotates it `k8s.io/initial-events-end: "true"`).
    Bookmark {
        end: bool,
    },
    Error(u16),
}

fn seen(ev: WatchEventOut) -> Seen {
    match ev {
        WatchEventOut::Event { kind, object } => Seen::Ev(kind.as_str(), object.name.clone()),
        WatchEventOut::Bookmark {
            initial_events_end, ..
        } => Seen::Bookmark {
            end: initial_events_end,
        },
        WatchEventOut::Error(e) => Seen::Error(e.code),
    }
}

/// The next event within `ms` milliseconds; None on timeout or end of stream.
pub async fn next(stream: &mut WatchStream, ms: u64) -> Option<Seen> {
    tokio::time::timeout(Duration::from_millis(ms), stream.next())
        .await
        .ok()
        .flatten()
        .map(seen)
}

/// The next event, which must arrive within two seconds.
pub async fn expect_next(stream: &mut WatchStream) -> Seen {
    next(stream, 2000).await.expect("a watch event")
}

/// Whether nothing arrives within `ms` milliseconds.
pub async fn quiet(stream: &mut WatchStream, ms: u64) -> bool {
    next(stream, ms).await.is_none()
}

pub fn ev(kind: EventType, name: &str) -> Seen {
    Seen::Ev(kind.as_str(), name.to_string())
}
