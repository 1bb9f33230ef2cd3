//! Engine-side subresources: `scale` of deployments and of a custom
//! resource with `subresources.scale`, and `pods/binding`.

mod common;

use common::*;
use registry::engine::PatchKind;
use serde_json::json;

#[tokio::test]
async fn deployment_scale_reads_replicas_and_selector() {
    let reg = setup().await;
    let deps = deployments(&reg);
    let d = reg
        .create(&deps, "default", deployment("web", 2), &wopts("t"))
        .await
        .unwrap();
    let s = reg.scale_of(&deps, &d).unwrap();
    assert_eq!(s["kind"], "Scale");
    assert_eq!(s["apiVersion"], "autoscaling/v1");
    assert_eq!(s["metadata"]["name"], "web");
    assert_eq!(s["metadata"]["namespace"], "default");
    assert_eq!(s["metadata"]["uid"], d["metadata"]["uid"]);
    assert_eq!(
        s["metadata"]["resourceVersion"],
        d["metadata"]["resourceVersion"]
    );
    assert_eq!(s["spec"]["replicas"], 2);
    assert_eq!(s["status"]["replicas"], 0);
    assert_eq!(s["status"]["selector"], "app=web");
}

#[tokio::test]
async fn deployment_scale_update_sets_spec_replicas() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 2), &wopts("t"))
        .await
        .unwrap();
    let s = reg
        .update_scale(
            &deps,
            "default",
            "web",
            None,
            &json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                    "metadata": {"name": "web", "namespace": "default"},
                    "spec": {"replicas": 5}}),
            &wopts("hpa"),
        )
        .await
        .unwrap();
    assert_eq!(s["spec"]["replicas"], 5);
    let d = reg.get(&deps, "default", "web", "").await.unwrap();
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(
        s["metadata"]["resourceVersion"],
        d["metadata"]["resourceVersion"]
    );
    // Recorded as the manager's write through the scale subresource.
    let hpa = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "hpa")
        .cloned()
        .expect("hpa's entry");
    assert_eq!(hpa["subresource"], "scale");
    assert!(hpa["fieldsV1"]["f:spec"]["f:replicas"].is_object(), "{hpa}");
}

#[tokio::test]
async fn deployment_scale_patch() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 2), &wopts("t"))
        .await
        .unwrap();
    let s = reg
        .update_scale(
            &deps,
            "default",
            "web",
            Some(PatchKind::Merge),
            &json!({"spec": {"replicas": 0}}),
            &wopts("kubectl"),
        )
        .await
        .unwrap();
    assert_eq!(s["spec"]["replicas"], 0);
    let s = reg
        .update_scale(
            &deps,
            "default",
            "web",
            Some(PatchKind::Json),
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]),
            &wopts("kubectl"),
        )
        .await
        .unwrap();
    assert_eq!(s["spec"]["replicas"], 4);
}

#[tokio::test]
async fn negative_scale_is_invalid() {
    let reg = setup().await;
    let deps = deployments(&reg);
    reg.create(&deps, "default", deployment("web", 2), &wopts("t"))
        .await
        .unwrap();
    let e = reg
        .update_scale(
            &deps,
            "default",
            "web",
            None,
            &json!({"spec": {"replicas": -1}}),
            &wopts("t"),
        )
        .await
        .expect_err("invalid");
    assert_eq!(e.code, 422);
    assert!(e.causes.iter().any(|c| c.field == "spec.replicas"), "{e:?}");
}

#[tokio::test]
async fn stale_scale_update_conflicts() {
    let reg = setup().await;
    let deps = deployments(&reg);
    let d = reg
        .create(&deps, "default", deployment("web", 2), &wopts("t"))
        .await
        .unwrap();
    let mut d2 = d.clone();
    d2["spec"]["replicas"] = 3.into();
    reg.update(&deps, "default", "web", d2, None, &wopts("t"))
        .await
        .unwrap();
    let e = reg
        .update_scale(
            &deps,
            "default",
            "web",
            None,
            &json!({"metadata": {"resourceVersion": rv(&d)}, "spec": {"replicas": 9}}),
            &wopts("t"),
        )
        .await
        .expect_err("conflict");
    assert_eq!(e.code, 409);
}

#[tokio::test]
async fn scale_of_missing_object_is_not_found() {
    let reg = setup().await;
    let e = reg
        .update_scale(
            &deployments(&reg),
            "default",
            "nope",
            None,
            &json!({"spec": {"replicas": 1}}),
            &wopts("t"),
        )
        .await
        .expect_err("404");
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn custom_resource_scale_follows_the_crd_paths() {
    let reg = setup().await;
    let (_, widgets) = install_widgets(&reg).await;
    assert!(widgets.has_subresource("scale"));
    reg.create(
        &widgets,
        "default",
        widget("w", json!({"size": 2, "replicas": 1})),
        &wopts("t"),
    )
    .await
    .unwrap();
    let s = reg
        .update_scale(
            &widgets,
            "default",
            "w",
            None,
            &json!({"spec": {"replicas": 6}}),
            &wopts("hpa"),
        )
        .await
        .unwrap();
    assert_eq!(s["kind"], "Scale");
    assert_eq!(s["spec"]["replicas"], 6);
    let w = reg.get(&widgets, "default", "w", "").await.unwrap();
    assert_eq!(w["spec"]["replicas"], 6);
    // status.replicas is read from the status path.
    let mut st = w.clone();
    st["status"] = json!({"replicas": 4});
    let st = reg
        .update(&widgets, "default", "w", st, Some("status"), &wopts("ctrl"))
        .await
        .unwrap();
    let s = reg.scale_of(&widgets, &st).unwrap();
    assert_eq!(s["status"]["replicas"], 4);
    assert_eq!(s["spec"]["replicas"], 6);
}

#[tokio::test]
async fn binding_assigns_the_node_and_marks_the_pod_scheduled() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod("p"), &wopts("t"))
        .await
        .unwrap();
    let binding = json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "node-1"}});
    reg.bind_pod("default", "p", &binding, &wopts("scheduler"))
        .await
        .unwrap();
    let p = reg.get(&pods, "default", "p", "").await.unwrap();
    assert_eq!(p["spec"]["nodeName"], "node-1");
    let conds = p["status"]["conditions"].as_array().unwrap();
    let sched = conds
        .iter()
        .find(|c| c["type"] == "PodScheduled")
        .expect("PodScheduled");
    assert_eq!(sched["status"], "True");
    // The field selector the kubelet uses now finds it.
    let on = reg
        .list(&pods, "", &fields("spec.nodeName=node-1"))
        .await
        .unwrap();
    assert_eq!(names(&on.items), vec!["p"]);
}

#[tokio::test]
async fn second_binding_conflicts() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod("p"), &wopts("t"))
        .await
        .unwrap();
    let to = |n: &str| json!({"metadata": {"name": "p"}, "target": {"kind": "Node", "name": n}});
    reg.bind_pod("default", "p", &to("node-1"), &wopts("scheduler"))
        .await
        .unwrap();
    let e = reg
        .bind_pod("default", "p", &to("node-2"), &wopts("scheduler"))
        .await
        .expect_err("already bound");
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"node-1\""
    );
    let p = reg.get(&pods, "default", "p", "").await.unwrap();
    assert_eq!(p["spec"]["nodeName"], "node-1");
}

#[tokio::test]
async fn second_binding_conflicts_with_code_409() {
    // The status code alone (the message wording is checked above).
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod("p"), &wopts("t"))
        .await
        .unwrap();
    let to = |n: &str| json!({"metadata": {"name": "p"}, "target": {"kind": "Node", "name": n}});
    reg.bind_pod("default", "p", &to("node-1"), &wopts("s"))
        .await
        .unwrap();
    let e = reg
        .bind_pod("default", "p", &to("node-1"), &wopts("s"))
        .await
        .expect_err("already bound");
    assert_eq!(e.code, 409);
}

#[tokio::test]
async fn binding_without_a_target_is_invalid_and_missing_pod_not_found() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod("p"), &wopts("t"))
        .await
        .unwrap();
    let e = reg
        .bind_pod(
            "default",
            "p",
            &json!({"metadata": {"name": "p"}, "target": {}}),
            &wopts("s"),
        )
        .await
        .expect_err("invalid");
    assert_eq!(e.code, 422);
    let e = reg
        .bind_pod(
            "default",
            "ghost",
            &json!({"metadata": {"name": "ghost"}, "target": {"name": "n"}}),
            &wopts("s"),
        )
        .await
        .expect_err("not found");
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn ephemeral_containers_are_added_never_removed() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod("p"), &wopts("t"))
        .await
        .unwrap();
    let mut current = reg.get(&pods, "default", "p", "").await.unwrap();
    current["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    let out = reg
        .update(
            &pods,
            "default",
            "p",
            current.clone(),
            Some("ephemeralcontainers"),
            &wopts("kubectl-debug"),
        )
        .await
        .unwrap();
    assert_eq!(out["spec"]["ephemeralContainers"][0]["name"], "debug");
    // Only that field changed: other spec edits through it are ignored.
    let mut other = out.clone();
    other["spec"]["containers"][0]["image"] = json!("other");
    other["spec"]["ephemeralContainers"] = json!([]);
    let err = reg
        .update(
            &pods,
            "default",
            "p",
            other,
            Some("ephemeralcontainers"),
            &wopts("kubectl-debug"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 422, "{err:?}");
    let stored = reg.get(&pods, "default", "p", "").await.unwrap();
    assert_ne!(stored["spec"]["containers"][0]["image"], "other");
    let mut unnamed = stored.clone();
    unnamed["spec"]["ephemeralContainers"] =
        json!([{"name": "debug", "image": "busybox"}, {"image": "x"}]);
    let err = reg
        .update(
            &pods,
            "default",
            "p",
            unnamed,
            Some("ephemeralcontainers"),
            &wopts("kubectl-debug"),
        )
        .await
        .unwrap_err();
    assert!(
        err.message.contains("spec.ephemeralContainers[1].name"),
        "{err:?}"
    );
}

#[tokio::test]
async fn csr_records_its_requester_however_it_is_created() {
    use base64::Engine;
    let reg = setup().await;
    let csrs = res(
        &reg,
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
    );
    let pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
    let body = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "c1"},
        "spec": {"request": base64::engine::general_purpose::STANDARD.encode(pem),
                 "signerName": "example.com/signer", "usages": ["client auth"],
                 "username": "forged", "groups": ["system:masters"]}});
    let mut opts = wopts("kubectl");
    opts.field_manager = Some("kubectl".into());
    opts.requester = Some(registry::options::Requester {
        name: "alice".into(),
        uid: "".into(),
        groups: vec!["devs".into()],
    });
    // Server-side apply that creates the object records the caller too.
    let (out, created) = reg
        .patch(&csrs, "", "c1", PatchKind::Apply, &body, None, &opts)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(out["spec"]["username"], "alice");
    assert_eq!(out["spec"]["groups"], json!(["devs"]));
}
