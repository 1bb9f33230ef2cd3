//! Durability of `rkube server` across restarts on the same data dir: the
//! certificates and objects survive a clean stop, a watch resumes from a
//! resourceVersion taken before the restart, and an acknowledged write
//! survives SIGKILL.
//!
//! Writes use `--validate=false` so these tests exercise durability only,
//! not client-side schema validation (covered by the kubectl_* tests).

mod common;
use common::{Server, free_port};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use std::time::Duration;

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {name}\n")
}

async fn client(s: &Server) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kube config");
    kube::Client::try_from(cfg).expect("kube client")
}

#[test]
fn data_and_certificates_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut s = Server::start_in(dir.path(), port, &[]);
    s.kubectl_stdin(&["apply", "--validate=false", "-f", "-"], Some(&cm("kept")))
        .ok();
    s.kubectl_stdin(
        &["apply", "--validate=false", "-f", "-"],
        Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: persisted\n"),
    )
    .ok();
    let ca = s.ca_data();
    let serving = std::fs::read(dir.path().join("server/tls/serving.crt")).ok();
    s.stop();

    let s = Server::start_in(dir.path(), port, &[]);
    assert_eq!(s.ca_data(), ca, "the cluster CA changed across a restart");
    if let Some(before) = serving {
        let after = std::fs::read(dir.path().join("server/tls/serving.crt")).ok();
        assert_eq!(after.as_ref(), Some(&before), "serving certificate changed");
    }
    let out = s
        .kubectl(&["get", "cm", "kept", "-o", "jsonpath={.data.k}"])
        .ok();
    assert_eq!(out.stdout, "kept");
    let out = s.kubectl(&["get", "ns", "-o", "name"]).ok();
    // The default namespaces are not duplicated or broken by the second bootstrap.
    let mut names: Vec<&str> = out.stdout.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "namespace/default",
            "namespace/kube-node-lease",
            "namespace/kube-public",
            "namespace/kube-system",
            "namespace/persisted"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_resumes_from_resource_version_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let path = dir.path().to_path_buf();
    let mut s = tokio::task::spawn_blocking(move || {
        let s = Server::start_in(&path, port, &[]);
        s.kubectl_stdin(
            &["apply", "--validate=false", "-f", "-"],
            Some(&format!("{}---\n{}", cm("old-1"), cm("old-2"))),
        )
        .ok();
        s
    })
    .await
    .expect("start");

    let api: Api<ConfigMap> = Api::namespaced(client(&s).await, "default");
    let list = api.list(&ListParams::default()).await.expect("list");
    let rv = list
        .metadata
        .resource_version
        .expect("list resourceVersion");
    assert!(
        list.items
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("old-2"))
    );

    let path = dir.path().to_path_buf();
    let s2 = tokio::task::spawn_blocking(move || {
        s.stop();
        drop(s);
        let s = Server::start_in(&path, port, &[]);
        s.kubectl_stdin(
            &["apply", "--validate=false", "-f", "-"],
            Some(&format!("{}---\n{}", cm("new-1"), cm("new-2"))),
        )
        .ok();
        s.kubectl(&["delete", "cm", "old-1"]).ok();
        s
    })
    .await
    .expect("restart");

    let api: Api<ConfigMap> = Api::namespaced(client(&s2).await, "default");
    let stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch from old resourceVersion");
    let mut stream = Box::pin(stream);
    let mut seen: Vec<(String, String)> = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 3 {
        let ev = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(ev)) => ev.expect("watch event"),
            _ => break,
        };
        let (kind, obj) = match ev {
            WatchEvent::Added(o) => ("ADDED", o),
            WatchEvent::Modified(o) => ("MODIFIED", o),
            WatchEvent::Deleted(o) => ("DELETED", o),
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => panic!("watch error: {e:?}"),
        };
        seen.push((kind.into(), obj.metadata.name.unwrap_or_default()));
    }
    let want: Vec<(String, String)> =
        [("ADDED", "new-1"), ("ADDED", "new-2"), ("DELETED", "old-1")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(seen, want, "events after the restart");
    drop(s2);
}

#[test]
fn acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut s = Server::start_in(dir.path(), port, &[]);
    for i in 0..5 {
        let out = s
            .kubectl_stdin(
                &["create", "--validate=false", "-f", "-"],
                Some(&cm(&format!("acked-{i}"))),
            )
            .ok();
        assert!(out.stdout.contains("created"), "{}", out.stdout);
    }
    // Right after the acknowledgement, without any grace.
    let out = s
        .kubectl(&[
            "patch",
            "cm",
            "acked-4",
            "--type=merge",
            "-p",
            r#"{"data":{"k":"patched"}}"#,
        ])
        .ok();
    assert!(out.stdout.contains("patched"), "{}", out.stdout);
    s.kill9();

    let s = Server::start_in(dir.path(), port, &[]);
    let out = s.kubectl(&["get", "cm", "-o", "name"]).ok();
    for i in 0..5 {
        assert!(
            out.stdout
                .lines()
                .any(|l| l == format!("configmap/acked-{i}")),
            "acked-{i} lost after SIGKILL:\n{}",
            out.stdout
        );
    }
    let out = s
        .kubectl(&["get", "cm", "acked-4", "-o", "jsonpath={.data.k}"])
        .ok();
    assert_eq!(out.stdout, "patched");
}
