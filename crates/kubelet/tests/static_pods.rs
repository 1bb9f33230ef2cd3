//! Static pods end to end against a real in-process API server and the fake
//! runtime: a manifest becomes a running pod with a mirror pod (name,
//! annotations, Node owner, Running status); a mirror deleted through the
//! API comes back without the pod restarting; removing the manifest stops
//! the containers and deletes the mirror.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::DeleteParams;
use kubelet::KubeletConfig;
use kubelet::cri::api::ContainerState;
use kubelet::cri::fake::FakeCri;
use std::sync::Arc;
use std::time::Duration;

fn tls() -> Arc<rustls::ServerConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der)
            .unwrap(),
    )
}

const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: app
    image: busybox:1
";

async fn until<T>(secs: u64, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} not reached");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_pod_with_mirror() {
    let ts = testkit::TestServer::start().await;
    ts.add_pod_prerequisites("default").await;
    let client = ts.client().await;
    let cri = FakeCri::new();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(manifests.join("web.yaml"), MANIFEST).unwrap();
    std::fs::write(manifests.join("notes.txt"), "ignored").unwrap();
    let mut cfg = KubeletConfig::new("n1", dir.path(), "127.0.0.1".parse().unwrap());
    cfg.port = 0;
    cfg.cgroup_root = format!("/rkube-test-{}", std::process::id());
    cfg.static_pod_path = Some(manifests.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(kubelet::agent::run(
        cfg,
        client.clone(),
        cri.clone(),
        tls(),
        async move {
            let _ = rx.await;
        },
    ));
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    let mirror = until(30, "running mirror pod", async || {
        let p = pods.get_opt("web-n1").await.unwrap()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await;
    let a = mirror.metadata.annotations.clone().unwrap();
    assert_eq!(a["kubernetes.io/config.source"], "file");
    let hash = a["kubernetes.io/config.hash"].clone();
    assert_eq!(a["kubernetes.io/config.mirror"], hash);
    assert!(a.contains_key("kubernetes.io/config.seen"));
    assert_ne!(mirror.metadata.uid.as_deref(), Some(hash.as_str()));
    let owner = &mirror.metadata.owner_references.clone().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Node", "n1"));
    assert_eq!(owner.controller, Some(true));
    assert_eq!(
        mirror.spec.as_ref().unwrap().node_name.as_deref(),
        Some("n1")
    );
    let started = |cri: &FakeCri| {
        cri.calls()
            .iter()
            .filter(|c| c.as_str() == "StartContainer app")
            .count()
    };
    assert_eq!(started(&cri), 1);

    // Deleting the mirror through the API: it comes back, the pod keeps running.
    pods.delete("web-n1", &DeleteParams::default())
        .await
        .unwrap();
    let old_uid = mirror.metadata.uid.clone();
    let back = until(30, "recreated mirror", async || {
        let p = pods.get_opt("web-n1").await.unwrap()?;
        (p.metadata.uid != old_uid
            && p.metadata.deletion_timestamp.is_none()
            && p.status.as_ref()?.phase.as_deref() == Some("Running"))
        .then_some(p)
    })
    .await;
    assert_eq!(
        back.metadata.annotations.unwrap()["kubernetes.io/config.mirror"],
        hash
    );
    assert_eq!(started(&cri), 1, "{:?}", cri.calls());
    assert!(!cri.calls().iter().any(|c| c.starts_with("StopContainer")));

    // Removing the manifest (picked up by the 20 s poll) stops the pod and deletes the mirror.
    std::fs::remove_file(manifests.join("web.yaml")).unwrap();
    until(40, "mirror deleted", async || {
        pods.get_opt("web-n1")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    until(10, "containers stopped", async || {
        cri.container_states()
            .iter()
            .all(|(_, _, s)| *s != ContainerState::ContainerRunning)
            .then_some(())
    })
    .await;
    assert!(
        cri.calls().iter().any(|c| c == "StopPodSandbox web-n1"),
        "{:?}",
        cri.calls()
    );

    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), agent).await;
}
