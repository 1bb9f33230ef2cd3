//! kube-rs watches against the in-process API server: the runtime
//! `watcher` sees create, update and delete, and a raw watch from a
//! resourceVersion replays only later changes.

mod common;
use common::TestServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use std::time::Duration;

fn cm(name: &str, v: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"w": "yes"}}, "data": {"k": v}}),
    )
    .expect("configmap")
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("watcher event in time")
        .expect("watcher running")
}

#[tokio::test]
async fn runtime_watcher_sees_create_update_delete() {
    let ts = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(ts.client().await, "test");
    api.create(&PostParams::default(), &cm("before", "0"))
        .await
        .expect("create");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stream = watcher::watcher(api.clone(), watcher::Config::default().labels("w=yes"));
    let task = tokio::spawn(async move {
        let mut stream = Box::pin(stream);
        while let Ok(Some(ev)) = stream.try_next().await {
            let line = match ev {
                Event::Init => "init".to_string(),
                Event::InitApply(o) => {
                    format!("init-apply {}", o.metadata.name.unwrap_or_default())
                }
                Event::InitDone => "init-done".to_string(),
                Event::Apply(o) => format!(
                    "apply {} {}",
                    o.metadata.name.unwrap_or_default(),
                    o.data.and_then(|d| d.get("k").cloned()).unwrap_or_default()
                ),
                Event::Delete(o) => format!("delete {}", o.metadata.name.unwrap_or_default()),
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    assert_eq!(next(&mut rx).await, "init");
    assert_eq!(next(&mut rx).await, "init-apply before");
    assert_eq!(next(&mut rx).await, "init-done");

    api.create(&PostParams::default(), &cm("live", "1"))
        .await
        .expect("create");
    assert_eq!(next(&mut rx).await, "apply live 1");
    api.patch(
        "live",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .expect("patch");
    assert_eq!(next(&mut rx).await, "apply live 2");
    // A change that drops the label leaves the selection: upstream sends DELETED.
    api.patch(
        "before",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"w": "no"}}})),
    )
    .await
    .expect("unlabel");
    assert_eq!(next(&mut rx).await, "delete before");
    api.delete("live", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(next(&mut rx).await, "delete live");
    task.abort();
}

#[tokio::test]
async fn watch_from_resource_version_replays_later_changes() {
    let ts = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(ts.client().await, "test");
    api.create(&PostParams::default(), &cm("old", "0"))
        .await
        .expect("create");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    api.create(&PostParams::default(), &cm("new", "1"))
        .await
        .expect("create");
    api.delete("old", &DeleteParams::default())
        .await
        .expect("delete");

    let stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("watch");
    let events: Vec<String> = Box::pin(stream)
        .take(2)
        .map(|e| match e.expect("event") {
            WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.unwrap_or_default()),
            WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata.name.unwrap_or_default()),
            WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.unwrap_or_default()),
            WatchEvent::Bookmark(_) => "BOOKMARK".into(),
            WatchEvent::Error(e) => format!("ERROR {e:?}"),
        })
        .collect()
        .await;
    assert_eq!(events, ["ADDED new", "DELETED old"]);

    // A watch with a timeout ends by itself.
    let stream = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("watch");
    let all = tokio::time::timeout(
        Duration::from_secs(10),
        Box::pin(stream).collect::<Vec<_>>(),
    )
    .await
    .expect("watch closed after timeoutSeconds");
    assert!(all.iter().all(|e| e.is_ok()));
}
