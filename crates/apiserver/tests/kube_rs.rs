//! kube-rs against the in-process API server: typed and dynamic CRUD, every
//! patch type, list paging and selectors, and the API errors a client sees
//! (401, 404, 409, 422 with causes).

mod common;
use common::{TestServer, api_code};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value, data: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    }))
    .expect("configmap")
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    {"name": "main", "image": "nginx:1.26", "env": [{"name": "A", "value": "1"}]}
                ]}
            }
        }
    }))
    .expect("deployment")
}

#[tokio::test]
async fn typed_configmap_crud() {
    let ts = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(ts.client().await, "test");
    let pp = PostParams::default();

    let created = api
        .create(&pp, &cm("one", json!({"app": "x"}), json!({"k": "v"})))
        .await
        .expect("create");
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("test"));
    assert!(meta.uid.is_some() && meta.resource_version.is_some());
    assert!(meta.creation_timestamp.is_some());

    let got = api.get("one").await.expect("get");
    assert_eq!(
        got.data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v")
    );

    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());

    // Replace with the current resourceVersion.
    let mut next = got.clone();
    next.data = Some([("k".to_string(), "v2".to_string())].into());
    let replaced = api.replace("one", &pp, &next).await.expect("replace");
    assert_ne!(
        replaced.metadata.resource_version,
        got.metadata.resource_version
    );

    // JSON merge patch: null removes, new keys are added.
    let patched = api
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": null, "k2": "b"}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(
        patched.data,
        Some([("k2".to_string(), "b".to_string())].into())
    );

    // JSON patch.
    // The json-patch type is inferred from the variant, so no direct dependency.
    let ops = Patch::Json::<()>(
        serde_json::from_value(json!([{"op": "add", "path": "/data/k3", "value": "c"}]))
            .expect("ops"),
    );
    let patched = api
        .patch("one", &PatchParams::default(), &ops)
        .await
        .expect("json patch");
    assert_eq!(patched.data.as_ref().map(|d| d.len()), Some(2));

    // Immediate deletion (no graceful period, no finalizers) answers with a
    // success Status naming the object; then it is gone.
    let deleted = api
        .delete("one", &DeleteParams::default())
        .await
        .expect("delete");
    let status = deleted.right().expect("a Status for a configmap delete");
    assert_eq!(status.details.map(|d| d.name), Some("one".to_string()));
    let err = api_code(api.get("one").await);
    assert_eq!(err.code, 404);
    assert_eq!(err.reason, "NotFound");
}

#[tokio::test]
async fn deployment_strategic_and_apply() {
    let ts = TestServer::start().await;
    let api: Api<Deployment> = Api::namespaced(ts.client().await, "test");
    api.create(&PostParams::default(), &deployment("web", 1))
        .await
        .expect("create");

    // Strategic merge merges containers by name and keeps env.
    let d = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "main", "image": "nginx:1.27"},
                {"name": "sidecar", "image": "busybox"}
            ]}}}})),
        )
        .await
        .expect("strategic patch");
    let containers = &d.spec.template.spec.as_ref().expect("pod spec").containers;
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.27"));
    assert_eq!(containers[0].env.as_ref().map(Vec::len), Some(1));

    // Server-side apply from a second manager conflicts on replicas, then forces.
    let applied = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 5}
    });
    let err = api_code(
        api.patch("web", &PatchParams::apply("other"), &Patch::Apply(&applied))
            .await,
    );
    assert_eq!(err.code, 409, "{err:?}");
    assert_eq!(err.reason, "Conflict");
    let d = api
        .patch(
            "web",
            &PatchParams::apply("other").force(),
            &Patch::Apply(&applied),
        )
        .await
        .expect("forced apply");
    assert_eq!(d.spec.replicas, Some(5));
    let managers: Vec<String> = d
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.iter().any(|m| m == "other"), "{managers:?}");

    // Apply also creates objects that do not exist.
    let fresh = serde_json::to_value(deployment("fresh", 2)).expect("to json");
    let d = api
        .patch("fresh", &PatchParams::apply("mgr"), &Patch::Apply(&fresh))
        .await
        .expect("apply create");
    assert_eq!(d.spec.replicas, Some(2));
}

#[tokio::test]
async fn dynamic_object_api() {
    let ts = TestServer::start().await;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap"));
    assert_eq!(ar.plural, "configmaps");
    let api: Api<DynamicObject> = Api::namespaced_with(ts.client().await, "test", &ar);
    let mut obj = DynamicObject::new("dyn", &ar);
    obj.data = json!({"data": {"x": "1"}});
    let created = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("create");
    assert_eq!(
        created.types.as_ref().map(|t| t.kind.as_str()),
        Some("ConfigMap")
    );
    assert_eq!(created.data["data"]["x"], "1");
    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].metadata.name.as_deref(), Some("dyn"));

    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"));
    let api: Api<DynamicObject> = Api::namespaced_with(ts.client().await, "test", &ar);
    let d = serde_json::to_value(deployment("dyn-web", 3)).expect("json");
    let obj: DynamicObject = serde_json::from_value(d).expect("dynamic");
    let created = api
        .create(&PostParams::default(), &obj)
        .await
        .expect("create deploy");
    assert_eq!(created.data["spec"]["replicas"], 3);
    // Defaults are filled in by the server.
    assert_eq!(created.data["spec"]["strategy"]["type"], "RollingUpdate");
}

#[tokio::test]
async fn list_paging_and_selectors() {
    let ts = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(ts.client().await, "test");
    for i in 0..25 {
        let parity = if i % 2 == 0 { "even" } else { "odd" };
        api.create(
            &PostParams::default(),
            &cm(
                &format!("cm-{i:02}"),
                json!({"parity": parity, "set": "paged"}),
                json!({}),
            ),
        )
        .await
        .expect("create");
    }

    let mut names = vec![];
    let mut pages = 0;
    let mut lp = ListParams::default().labels("set=paged").limit(10);
    loop {
        let page = api.list(&lp).await.expect("page");
        pages += 1;
        assert!(page.items.len() <= 10);
        names.extend(page.items.into_iter().filter_map(|c| c.metadata.name));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => {
                assert!(page.metadata.remaining_item_count.is_none_or(|n| n > 0));
                lp = lp.continue_token(&token);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
    assert_eq!(
        names, want,
        "pages are in name order without gaps or repeats"
    );

    let even = api
        .list(&ListParams::default().labels("parity=even"))
        .await
        .expect("label selector");
    assert_eq!(even.items.len(), 13);
    let not_odd = api
        .list(&ListParams::default().labels("parity notin (odd),set"))
        .await
        .expect("set selector");
    assert_eq!(not_odd.items.len(), 13);
    let one = api
        .list(&ListParams::default().fields("metadata.name=cm-07"))
        .await
        .expect("field selector");
    assert_eq!(one.items.len(), 1);
    let rest = api
        .list(&ListParams::default().fields("metadata.name!=cm-07,metadata.namespace=test"))
        .await
        .expect("field selector !=");
    assert_eq!(rest.items.len(), 24);
    let bad = api_code(api.list(&ListParams::default().fields("data.k=v")).await);
    assert_eq!(bad.code, 400, "{bad:?}");
}

#[tokio::test]
async fn api_errors() {
    let ts = TestServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(ts.client().await, "test");
    let pp = PostParams::default();
    let first = api
        .create(&pp, &cm("race", json!({}), json!({"k": "v"})))
        .await
        .expect("create");

    let dup = api_code(api.create(&pp, &cm("race", json!({}), json!({}))).await);
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));

    let mut newer = first.clone();
    newer.data = Some([("k".to_string(), "new".to_string())].into());
    api.replace("race", &pp, &newer).await.expect("replace");
    let stale = api_code(api.replace("race", &pp, &first).await);
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert!(
        stale.message.contains("the object has been modified"),
        "{}",
        stale.message
    );

    let missing = api_code(api.get("ghost").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, r#"configmaps "ghost" not found"#);
    let details = missing.details.expect("details");
    assert_eq!(details.name, "ghost");
    assert_eq!(details.kind, "configmaps");

    let invalid = api_code(
        api.create(&pp, &cm("Not_Valid", json!({}), json!({})))
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    let causes = invalid.details.expect("details").causes;
    assert!(
        causes
            .iter()
            .any(|c| c.field == "metadata.name" && c.reason == "FieldValueInvalid"),
        "{causes:?}"
    );

    // Namespace mismatch between URL and body is a 400.
    let mut other = cm("elsewhere", json!({}), json!({}));
    other.metadata.namespace = Some("default".into());
    let mismatch = api_code(api.create(&pp, &other).await);
    assert_eq!(mismatch.code, 400, "{mismatch:?}");

    // No credentials: 401 Unauthorized; a token works like the certificate.
    let anon: Api<ConfigMap> = Api::namespaced(ts.anonymous_client().await, "test");
    let unauth = api_code(anon.list(&ListParams::default()).await);
    assert_eq!((unauth.code, unauth.reason.as_str()), (401, "Unauthorized"));
    let tok: Api<ConfigMap> = Api::namespaced(ts.token_client().await, "test");
    let list = tok.list(&ListParams::default()).await.expect("token list");
    assert_eq!(list.items.len(), 1);
}
