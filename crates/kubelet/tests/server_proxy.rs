//! End to end: real `kubectl logs` and kube-rs through the in-process API
//! server to this kubelet server (fake CRI, real log file), certificates
//! from the cluster CA on both legs.

mod server_support;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, LogParams, Patch, PatchParams, PostParams};
use kubelet::cri::api::ContainerState;
use server_support::*;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

async fn kubectl(kubeconfig: std::path::PathBuf, args: &[&str]) -> (bool, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(&args)
            .output()
            .expect("kubectl runs")
    })
    .await
    .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn kubectl_logs_through_the_api_server() {
    let ts = testkit::TestServer::start().await;
    let pki = Pki::from_pem(&ts.ca_pem, &ts.ca_key_pem);
    let cri = Arc::new(FakeCri::default());
    let (addr, _stop) = start_kubelet(&pki, cri.clone()).await;
    ts.api.set_kubelet_client(pki.client_tls(true));

    let client = ts.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let node = serde_json::from_value(serde_json::json!({"metadata": {"name": "node-1"}})).unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    let status = serde_json::json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": addr.port()}}}});
    nodes
        .patch_status("node-1", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "test");
    let pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "web"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "busybox"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("0.log");
    std::fs::write(
        &log,
        "2020-01-01T00:00:00Z stdout F one\n2020-01-01T00:00:01Z stderr F two\n",
    )
    .unwrap();
    let id = cri.add("test", "web", "app", 0, log.clone());

    // kube-rs.
    assert_eq!(
        pods.logs("web", &LogParams::default()).await.unwrap(),
        "one\ntwo\n"
    );
    let tail = LogParams {
        tail_lines: Some(1),
        timestamps: true,
        ..Default::default()
    };
    assert_eq!(
        pods.logs("web", &tail).await.unwrap(),
        "2020-01-01T00:00:01.000000000Z two\n"
    );

    // kubectl, with a token kubeconfig.
    use base64::Engine;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: test}}\ncurrent-context: c\nusers:\n- name: u\n  user: {{token: {}}}\n",
            ts.url,
            base64::engine::general_purpose::STANDARD.encode(&ts.ca_pem),
            testkit::TOKEN
        ),
    )
    .unwrap();
    let (ok, out, err) = kubectl(kubeconfig.clone(), &["logs", "web", "--tail=1"]).await;
    assert!(ok, "{err}");
    assert_eq!(out, "two\n");

    // `kubectl logs -f` gets new lines and ends when the container exits.
    let follow = tokio::spawn(kubectl(kubeconfig.clone(), &["logs", "-f", "web"]));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"2020-01-01T00:00:02Z stdout F three\n")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    cri.set_state(&id, ContainerState::ContainerExited);
    let (ok, out, err) = tokio::time::timeout(Duration::from_secs(20), follow)
        .await
        .expect("kubectl logs -f ends after the container exits")
        .unwrap();
    assert!(ok, "{err}");
    assert_eq!(out, "one\ntwo\nthree\n");
}
