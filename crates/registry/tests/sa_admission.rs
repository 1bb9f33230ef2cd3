//! The ServiceAccount admission step for new pods: the account is defaulted
//! and must exist, the kube-api-access projected volume is added and
//! mounted as upstream does, automount false is respected, and the
//! account's image pull secrets are copied.

mod common;

use common::*;
use serde_json::{Value, json};

const PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

async fn create_sa(reg: &registry::engine::Registry, body: Value) {
    let sas = res(reg, "", "v1", "serviceaccounts");
    reg.create(&sas, "default", body, &wopts("t"))
        .await
        .unwrap();
}

#[tokio::test]
async fn default_account_gets_the_projected_token_volume() {
    let reg = setup().await;
    let mut p = pod("a");
    p["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox"}]);
    let p = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
    let spec = &p["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["serviceAccount"], "default");
    let vols = spec["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 1);
    let name = vols[0]["name"].as_str().unwrap();
    let suffix = name
        .strip_prefix("kube-api-access-")
        .expect("volume name prefix");
    assert_eq!(suffix.len(), 5);
    assert!(
        suffix
            .chars()
            .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
    );
    assert_eq!(
        vols[0]["projected"],
        json!({
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        })
    );
    for c in [&spec["containers"][0], &spec["initContainers"][0]] {
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": name, "readOnly": true, "mountPath": PATH}]),
            "{c}"
        );
    }
}

#[tokio::test]
async fn automount_false_on_the_pod_or_the_account_adds_nothing() {
    let reg = setup().await;
    let mut p = pod("a");
    p["spec"]["automountServiceAccountToken"] = json!(false);
    let p = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
    assert!(p["spec"].get("volumes").is_none(), "{}", p["spec"]);
    assert!(p["spec"]["containers"][0].get("volumeMounts").is_none());

    create_sa(
        &reg,
        json!({"metadata": {"name": "quiet"}, "automountServiceAccountToken": false,
               "imagePullSecrets": [{"name": "regcred"}]}),
    )
    .await;
    let mut p = pod("b");
    p["spec"]["serviceAccountName"] = json!("quiet");
    let p = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
    assert!(p["spec"].get("volumes").is_none());
    assert_eq!(p["spec"]["imagePullSecrets"], json!([{"name": "regcred"}]));

    // The pod's own setting wins over the account's.
    let mut p = pod("c");
    p["spec"]["serviceAccountName"] = json!("quiet");
    p["spec"]["automountServiceAccountToken"] = json!(true);
    p["spec"]["imagePullSecrets"] = json!([{"name": "mine"}]);
    let p = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(p["spec"]["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(p["spec"]["imagePullSecrets"], json!([{"name": "mine"}]));
}

#[tokio::test]
async fn an_existing_mount_at_the_token_path_is_left_alone() {
    let reg = setup().await;
    let mut p = pod("a");
    p["spec"]["volumes"] = json!([{"name": "own", "emptyDir": {}}]);
    p["spec"]["containers"] = json!([
        {"name": "a", "image": "nginx", "volumeMounts": [{"name": "own", "mountPath": PATH}]},
        {"name": "b", "image": "nginx"},
    ]);
    let p = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
    let spec = &p["spec"];
    assert_eq!(
        spec["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let vols = spec["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 2, "b still needs the token volume");
    assert_eq!(
        spec["containers"][1]["volumeMounts"][0]["name"],
        vols[1]["name"]
    );
}

#[tokio::test]
async fn a_missing_named_account_is_forbidden() {
    let reg = setup().await;
    let mut p = pod("a");
    p["spec"]["serviceAccountName"] = json!("ghost");
    let err = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "pods \"a\" is forbidden: error looking up service account default/ghost: serviceaccount \"ghost\" not found"
    );
    create_sa(&reg, json!({"metadata": {"name": "ghost"}})).await;
    let mut p = pod("a");
    p["spec"]["serviceAccountName"] = json!("ghost");
    reg.create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
}

#[tokio::test]
async fn mirror_pods_are_not_touched() {
    let reg = setup().await;
    let mut p = pod("static-web");
    p["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
    let p = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap();
    assert!(p["spec"].get("volumes").is_none());
    let mut p = pod("static-2");
    p["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
    p["spec"]["serviceAccountName"] = json!("x");
    let err = reg
        .create(&pods(&reg), "default", p, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(err.code, 403);
}
