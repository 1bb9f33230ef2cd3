//! The in-process loopback transport: a kube-rs client built on
//! `apiserver::Loopback` does the usual verbs, gets Kubernetes errors as
//! `kube::Error::Api`, watches event by event, ends the server's watch when
//! it drops one, and is still authorized like any other client.

mod common;
use apiserver::authz::Attributes;
use apiserver::{ApiServer, Authenticator, Authorizer, Loopback, UserInfo};
use common::{TestServer, api_code};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::WatchParams;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn admin() -> UserInfo {
    UserInfo::new("system:admin", &["system:masters"])
}

fn loopback_client(server: &Arc<ApiServer>, user: UserInfo) -> kube::Client {
    kube::Client::new(Loopback::new(server.clone(), user), "default")
}

fn cm(name: &str, v: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": v}})).expect("cm")
}

/// Open watches of configmaps, from `apiserver_longrunning_requests`.
async fn open_configmap_watches(client: &kube::Client) -> u64 {
    let req = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("request");
    let text = client.request_text(req).await.expect("metrics");
    text.lines()
        .filter(|l| {
            l.starts_with("apiserver_longrunning_requests{")
                && l.contains("resource=\"configmaps\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn crud_and_typed_errors() {
    let ts = TestServer::start().await;
    let client = loopback_client(&ts.api, admin());
    let api: Api<ConfigMap> = Api::namespaced(client, "test");

    let made = api
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .expect("create");
    assert!(made.metadata.uid.is_some());
    assert!(made.metadata.resource_version.is_some());
    let got = api.get("a").await.expect("get");
    assert_eq!(got.data.unwrap()["k"], "1");
    api.create(&PostParams::default(), &cm("b", "2"))
        .await
        .expect("create b");
    let names: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
    let patched = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "3"}})),
        )
        .await
        .expect("patch");
    assert_eq!(patched.data.unwrap()["k"], "3");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete");

    let missing = api_code(api.get("a").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    let dup = api_code(api.create(&PostParams::default(), &cm("b", "x")).await);
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    let invalid = api_code(
        api.create(&PostParams::default(), &cm("Not_Valid", "x"))
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    let causes = invalid.details.expect("details").causes;
    assert!(
        causes.iter().any(|c| c.field == "metadata.name"),
        "{causes:?}"
    );
}

type Events = futures::stream::BoxStream<'static, kube::Result<WatchEvent<ConfigMap>>>;

async fn next(events: &mut Events) -> WatchEvent<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(10), events.try_next())
        .await
        .expect("event in time")
        .expect("watch ok")
        .expect("watch open")
}

#[tokio::test]
async fn watch_streams_events_and_ends_when_dropped() {
    let ts = TestServer::start().await;
    let client = loopback_client(&ts.api, admin());
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    assert_eq!(open_configmap_watches(&client).await, 0);

    // Two watches at once, and other requests while they are open: no
    // long-running request holds up another.
    let mut first: Events = api
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut second: Events = api
        .watch(&WatchParams::default().labels("w=yes"), &rv)
        .await
        .expect("second watch")
        .boxed();
    assert_eq!(open_configmap_watches(&client).await, 2);
    for i in 0..3 {
        let name = format!("c{i}");
        api.create(&PostParams::default(), &cm(&name, "0"))
            .await
            .expect("create");
        // Each event arrives before the next object exists: streamed, not buffered.
        match next(&mut first).await {
            WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some(name.as_str())),
            other => panic!("expected ADDED {name}, got {other:?}"),
        }
    }
    api.patch(
        "c1",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"w": "yes"}}})),
    )
    .await
    .expect("label");
    match next(&mut second).await {
        // The object starts matching the selector: ADDED, as upstream.
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("c1")),
        other => panic!("expected ADDED c1, got {other:?}"),
    }
    assert!(matches!(next(&mut first).await, WatchEvent::Modified(_)));

    drop(first);
    assert_eq!(open_configmap_watches(&client).await, 1);
    drop(second);
    assert_eq!(open_configmap_watches(&client).await, 0);
}

/// Denies everything to one user, as a stand-in for RBAC.
struct DenyUser(&'static str);

impl Authorizer for DenyUser {
    fn authorize(&self, user: &UserInfo, _: &Attributes) -> Result<(), String> {
        if user.name == self.0 {
            Err("denied by test".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn loopback_requests_are_authorized_as_their_user() {
    let store: Arc<dyn store::Store> = Arc::new(store::memory::MemoryStore::new());
    let registry = registry::engine::Registry::new(store)
        .await
        .expect("registry");
    let server = ApiServer::new(
        registry,
        Authenticator::default(),
        Arc::new(DenyUser("mallory")),
        "127.0.0.1:0".into(),
    );
    let ns: Api<k8s_openapi::api::core::v1::Namespace> =
        Api::all(loopback_client(&server, admin()));
    let obj = serde_json::from_value(json!({"metadata": {"name": "test"}})).expect("namespace");
    ns.create(&PostParams::default(), &obj)
        .await
        .expect("admin creates");

    let denied: Api<ConfigMap> = Api::namespaced(
        loopback_client(&server, UserInfo::new("mallory", &[])),
        "test",
    );
    let status = api_code(denied.create(&PostParams::default(), &cm("x", "1")).await);
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert!(
        status.message.contains("User \"mallory\""),
        "{}",
        status.message
    );
}
