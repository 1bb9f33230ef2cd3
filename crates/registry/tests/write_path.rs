//! The write path's shortcuts must not show: the watch cache holds, and its
//! events carry, exactly what decoding the store gives (on every backend),
//! and an update that starts from a stale cached copy ends as one that read
//! the store (results, errors, no-ops), as do admission's consistent reads.

mod common;

use common::*;
use futures::StreamExt;
use registry::cache::{EventType, decode_object};
use registry::engine::{PatchKind, Registry};
use serde_json::{Value, json};
use std::sync::Arc;
use store::{EventKind, RangeRequest, Store};
use tokio::sync::watch;

/// A store whose watch events can be held back, so the watch cache lags.
struct HeldStore {
    inner: Arc<dyn Store>,
    held: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl Store for HeldStore {
    async fn get(&self, key: &str) -> store::Result<(Option<store::KeyValue>, i64)> {
        self.inner.get(key).await
    }
    async fn range(&self, req: RangeRequest) -> store::Result<store::RangeResponse> {
        self.inner.range(req).await
    }
    async fn count(&self, prefix: &str) -> store::Result<i64> {
        self.inner.count(prefix).await
    }
    async fn create(&self, key: &str, value: Vec<u8>) -> store::Result<i64> {
        self.inner.create(key, value).await
    }
    async fn update(&self, key: &str, value: Vec<u8>, rev: i64) -> store::Result<i64> {
        self.inner.update(key, value, rev).await
    }
    async fn delete(&self, key: &str, rev: Option<i64>) -> store::Result<(store::KeyValue, i64)> {
        self.inner.delete(key, rev).await
    }
    async fn watch(&self, prefix: &str, rev: i64) -> store::Result<store::WatchStream> {
        let events = self.inner.watch(prefix, rev).await?;
        let gate = self.held.subscribe();
        Ok(Box::pin(futures::stream::unfold(
            (events, gate),
            |(mut events, mut gate)| async move {
                let ev = events.next().await?;
                let _ = gate.wait_for(|held| !held).await;
                Some((ev, (events, gate)))
            },
        )))
    }
    async fn current_revision(&self) -> store::Result<i64> {
        self.inner.current_revision().await
    }
    async fn compact(&self, rev: i64) -> store::Result<()> {
        self.inner.compact(rev).await
    }
    async fn compacted_revision(&self) -> store::Result<i64> {
        self.inner.compacted_revision().await
    }
}

async fn caught_up(reg: &Registry) {
    let rev = reg.store.current_revision().await.expect("revision");
    reg.cache.wait_for(rev).await;
}

/// Every write the scheduler bench's pods go through, and a few more.
async fn exercise(reg: &Registry) {
    let (p, cm) = (pods(reg), configmaps(reg));
    let o = wopts("test");
    for i in 0..3 {
        let mut pod = pod(&format!("p{i}"));
        pod["metadata"]["labels"] = json!({"app": "web", "i": i.to_string()});
        reg.create(&p, "default", pod, &o).await.expect("create");
        let binding = json!({"target": {"name": "node-1"}});
        reg.bind_pod("default", &format!("p{i}"), &binding, &o)
            .await
            .expect("bind");
        let status = json!({"status": {"phase": "Running", "podIP": format!("10.0.0.{i}")}});
        reg.patch(
            &p,
            "default",
            &format!("p{i}"),
            PatchKind::Merge,
            &status,
            Some("status"),
            &o,
        )
        .await
        .expect("status");
    }
    let relabel = json!({"metadata": {"labels": {"app": "db"}}});
    reg.patch(&p, "default", "p1", PatchKind::Merge, &relabel, None, &o)
        .await
        .expect("relabel");
    reg.delete(&p, "default", "p2", &dopts())
        .await
        .expect("delete");
    // An object with a float (written by someone else) takes the parsing
    // path, and so do updates of it.
    let floaty = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "f", "namespace": "default", "uid": "u"},
        "data": {"k": "v"}, "extra": 0.30000000000000004});
    reg.store
        .create(
            "/registry/core/configmaps/default/f",
            serde_json::to_vec(&floaty).expect("json"),
        )
        .await
        .expect("create");
    let label = json!({"metadata": {"labels": {"x": "y"}}});
    reg.patch(&cm, "default", "f", PatchKind::Merge, &label, None, &o)
        .await
        .expect("patch");
    reg.create(&cm, "default", configmap("g"), &o)
        .await
        .expect("create");
    reg.delete(&cm, "default", "g", &dopts())
        .await
        .expect("delete");
}

async fn cache_matches_store(reg: Arc<Registry>) {
    let started = reg.store.current_revision().await.expect("revision");
    exercise(&reg).await;
    caught_up(&reg).await;
    let all = reg
        .store
        .range(RangeRequest {
            prefix: "/registry/".into(),
            ..Default::default()
        })
        .await
        .expect("range");
    for kv in &all.kvs {
        let want = decode_object(&kv.key, &kv.value, kv.mod_revision).expect("decodes");
        let got = reg.cache.get(&kv.key).expect("cached");
        assert_eq!(got.json, want.json, "{}", kv.key);
        assert_eq!(
            (&got.namespace, &got.name, got.rv, &got.labels, &got.fields),
            (
                &want.namespace,
                &want.name,
                want.rv,
                &want.labels,
                &want.fields
            ),
            "{}",
            kv.key
        );
        assert_eq!(got.exact, want.exact, "{}", kv.key);
    }

    // Every event of the exercise, against the store's history decoded.
    let now = reg.store.current_revision().await.expect("revision");
    let mut history = reg
        .store
        .watch("/registry/", started + 1)
        .await
        .expect("watch");
    let mut expected = Vec::new();
    while let Some(ev) = history.next().await {
        let ev = ev.expect("event");
        let rev = ev.revision();
        expected.push(ev);
        if rev >= now {
            break;
        }
    }
    for prefix in ["/registry/core/pods/", "/registry/core/configmaps/"] {
        let seen = reg.cache.watch(prefix, started).expect("watch").initial;
        let want: Vec<_> = expected
            .iter()
            .filter(|e| e.kv.key.starts_with(prefix))
            .collect();
        assert_eq!(seen.len(), want.len(), "{prefix}");
        for (got, ev) in seen.iter().zip(want) {
            let last = match ev.kind {
                EventKind::Put => &ev.kv.value,
                EventKind::Delete => &ev.prev.as_ref().expect("prev").value,
            };
            let obj = decode_object(&ev.kv.key, last, ev.revision()).expect("decodes");
            assert_eq!(
                got.object.json,
                obj.json,
                "{} at {}",
                ev.kv.key,
                ev.revision()
            );
            assert_eq!(got.object.labels, obj.labels);
            assert_eq!(got.object.fields, obj.fields);
            let kind = match (ev.kind, &ev.prev) {
                (EventKind::Delete, _) => EventType::Deleted,
                (EventKind::Put, Some(_)) => EventType::Modified,
                (EventKind::Put, None) => EventType::Added,
            };
            assert_eq!(got.kind, kind);
            let prev = ev.prev.as_ref().map(|p| {
                decode_object(&p.key, &p.value, p.mod_revision)
                    .expect("decodes")
                    .json
            });
            assert_eq!(got.prev.as_ref().map(|p| p.json.clone()), prev);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_matches_the_store_on_memory() {
    cache_matches_store(setup().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_matches_the_store_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(store::sqlite::SqliteStore::open(dir.path().join("db")).expect("open"));
    let reg = Registry::new(store).await.expect("registry");
    create_namespace(&reg, "default").await;
    cache_matches_store(reg).await;
}

/// A registry whose cache can be made to lag, with pod `p` created.
async fn held() -> (Arc<Registry>, watch::Sender<bool>) {
    let (held, _) = watch::channel(false);
    let store = HeldStore {
        inner: Arc::new(store::memory::MemoryStore::new()),
        held: held.clone(),
    };
    let reg = Registry::new(Arc::new(store)).await.expect("registry");
    create_namespace(&reg, "default").await;
    reg.create(&pods(&reg), "default", pod("p"), &wopts("test"))
        .await
        .expect("create");
    caught_up(&reg).await;
    (reg, held)
}

/// Change pod `p` behind the registry's back (the cache will not see it).
async fn change_in_store(reg: &Registry, change: impl Fn(&mut Value)) -> i64 {
    let key = "/registry/core/pods/default/p";
    let (kv, _) = reg.store.get(key).await.expect("get");
    let kv = kv.expect("stored");
    let mut v: Value = serde_json::from_slice(&kv.value).expect("json");
    change(&mut v);
    let bytes = serde_json::to_vec(&v).expect("json");
    reg.store
        .update(key, bytes, kv.mod_revision)
        .await
        .expect("update")
}

#[tokio::test]
async fn updates_from_a_stale_copy_end_as_reads_of_the_store_would() {
    let (reg, held) = held().await;
    let p = pods(&reg);
    let o = wopts("test");
    let cached_rv = rv(&reg.get(&p, "default", "p", "0").await.expect("cached"));
    held.send_replace(true);
    change_in_store(&reg, |v| v["metadata"]["labels"] = json!({"x": "1"})).await;

    // A patch keeps what the store has.
    let patch = json!({"metadata": {"labels": {"y": "2"}}});
    let out = reg
        .patch(&p, "default", "p", PatchKind::Merge, &patch, None, &o)
        .await
        .expect("patch")
        .0;
    assert_eq!(out["metadata"]["labels"], json!({"x": "1", "y": "2"}));
    let rev = rv(&out).parse::<i64>().expect("rv");

    // A no-op against the store is one, though not against the copy.
    let same = json!({"metadata": {"labels": {"x": "1"}}});
    let out = reg
        .patch(&p, "default", "p", PatchKind::Merge, &same, None, &o)
        .await
        .expect("patch")
        .0;
    assert_eq!(rv(&out), rev.to_string(), "nothing written");
    assert_eq!(reg.store.current_revision().await.expect("rev"), rev);

    // Preconditions are checked against the store.
    let current = json!({"metadata": {"resourceVersion": rev.to_string(), "labels": {"w": "0"}}});
    let out = reg
        .patch(&p, "default", "p", PatchKind::Merge, &current, None, &o)
        .await
        .expect("patch with the store's version")
        .0;
    let rev = rv(&out).parse::<i64>().expect("rv");
    let mut body = out.clone();
    body["metadata"]["labels"]["z"] = json!("3");
    let ok = reg
        .update(&p, "default", "p", body.clone(), None, &o)
        .await
        .expect("current precondition");
    body["metadata"]["resourceVersion"] = json!(cached_rv);
    let err = reg
        .update(&p, "default", "p", body, None, &o)
        .await
        .expect_err("stale precondition");
    assert_eq!(err.code, 409);
    assert!(
        err.message.contains("the object has been modified"),
        "{}",
        err.message
    );
    let err = reg
        .patch(
            &p,
            "default",
            "p",
            PatchKind::Merge,
            &json!({"metadata": {"resourceVersion": cached_rv}}),
            None,
            &o,
        )
        .await
        .expect_err("stale patch precondition");
    assert_eq!(err.code, 409);

    // Errors come from the store's state: bound behind the cache's back.
    change_in_store(&reg, |v| v["spec"]["nodeName"] = json!("node-9")).await;
    let err = reg
        .bind_pod("default", "p", &json!({"target": {"name": "node-1"}}), &o)
        .await
        .expect_err("already bound");
    assert_eq!(err.code, 409);
    assert!(
        err.message.contains("already assigned to node \"node-9\""),
        "{}",
        err.message
    );

    // And nothing the cache decided on was kept once it catches up.
    held.send_replace(false);
    caught_up(&reg).await;
    let now = reg.get(&p, "default", "p", "").await.expect("get");
    assert_eq!(
        now["metadata"]["labels"],
        json!({"x": "1", "y": "2", "w": "0", "z": "3"})
    );
    assert_eq!(now["spec"]["nodeName"], "node-9");
    assert!(rv(&ok).parse::<i64>().expect("rv") > rev);
}

#[tokio::test]
async fn admission_reads_are_consistent_with_a_lagging_cache() {
    let (reg, held) = held().await;
    let classes = res(&reg, "scheduling.k8s.io", "v1", "priorityclasses");
    let o = wopts("test");
    // Created through the registry: the next pod sees it at once.
    let class = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": "high"}, "value": 1000, "globalDefault": true});
    reg.create(&classes, "", class, &o).await.expect("class");
    let out = reg
        .create(&pods(&reg), "default", pod("a"), &o)
        .await
        .expect("pod");
    assert_eq!(out["spec"]["priority"], 1000);

    // Created while the cache lags: the read falls back to the store.
    held.send_replace(true);
    let lower = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": "low"}, "value": 10, "globalDefault": true});
    reg.create(&classes, "", lower, &o).await.expect("class");
    let out = reg
        .create(&pods(&reg), "default", pod("b"), &o)
        .await
        .expect("pod");
    assert_eq!(out["spec"]["priorityClassName"], "low");
    assert_eq!(out["spec"]["priority"], 10);
    held.send_replace(false);
}
