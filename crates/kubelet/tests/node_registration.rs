//! The node loop against a real in-process API server and a tiny fake
//! runtime: registration with labels and status, Lease creation and
//! renewal, adopting an existing Node, and Ready flipping when the runtime's
//! network is not ready.

use async_trait::async_trait;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::PostParams;
use kubelet::KubeletConfig;
use kubelet::cri::{Cri, CriError, DynCri, Result, api};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Answers version, status, list_images and image_fs_info; nothing else is
/// used by the node loop.
struct FakeCri {
    network_ready: AtomicBool,
}

#[async_trait]
impl Cri for FakeCri {
    async fn version(&self) -> Result<api::VersionResponse> {
        Ok(api::VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "containerd".into(),
            runtime_version: "1.6.20".into(),
            runtime_api_version: "v1".into(),
        })
    }
    async fn status(&self) -> Result<api::StatusResponse> {
        let net = self.network_ready.load(Ordering::SeqCst);
        Ok(api::StatusResponse {
            status: Some(api::RuntimeStatus {
                conditions: vec![
                    api::RuntimeCondition {
                        r#type: "RuntimeReady".into(),
                        status: true,
                        ..Default::default()
                    },
                    api::RuntimeCondition {
                        r#type: "NetworkReady".into(),
                        status: net,
                        reason: if net { "" } else { "NetworkPluginNotReady" }.into(),
                        message: if net {
                            ""
                        } else {
                            "cni plugin not initialized"
                        }
                        .into(),
                    },
                ],
            }),
            ..Default::default()
        })
    }
    async fn list_images(&self, _f: Option<api::ImageFilter>) -> Result<Vec<api::Image>> {
        Ok(vec![api::Image {
            id: "sha256:abc".into(),
            repo_tags: vec!["rkube.local/pause:1".into()],
            size: 1_234_567,
            ..Default::default()
        }])
    }
    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse> {
        Err(CriError::Status {
            code: 12,
            message: "not in this fake".into(),
        })
    }
    async fn run_pod_sandbox(
        &self,
        _: api::RunPodSandboxRequest,
    ) -> Result<api::RunPodSandboxResponse> {
        unimplemented!()
    }
    async fn stop_pod_sandbox(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn remove_pod_sandbox(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn pod_sandbox_status(&self, _: &str) -> Result<api::PodSandboxStatusResponse> {
        unimplemented!()
    }
    async fn list_pod_sandbox(
        &self,
        _: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        unimplemented!()
    }
    async fn create_container(
        &self,
        _: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse> {
        unimplemented!()
    }
    async fn start_container(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn stop_container(&self, _: &str, _: i64) -> Result<()> {
        unimplemented!()
    }
    async fn remove_container(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn list_containers(
        &self,
        _: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        unimplemented!()
    }
    async fn container_status(&self, _: &str) -> Result<api::ContainerStatusResponse> {
        unimplemented!()
    }
    async fn update_container_resources(
        &self,
        _: api::UpdateContainerResourcesRequest,
    ) -> Result<()> {
        unimplemented!()
    }
    async fn reopen_container_log(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn exec_sync(&self, _: api::ExecSyncRequest) -> Result<api::ExecSyncResponse> {
        unimplemented!()
    }
    async fn exec(&self, _: api::ExecRequest) -> Result<api::ExecResponse> {
        unimplemented!()
    }
    async fn attach(&self, _: api::AttachRequest) -> Result<api::AttachResponse> {
        unimplemented!()
    }
    async fn port_forward(&self, _: api::PortForwardRequest) -> Result<api::PortForwardResponse> {
        unimplemented!()
    }
    async fn list_container_stats(
        &self,
        _: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        unimplemented!()
    }
    async fn list_pod_sandbox_stats(
        &self,
        _: Option<api::PodSandboxStatsFilter>,
    ) -> Result<Vec<api::PodSandboxStats>> {
        unimplemented!()
    }
    async fn image_status(&self, _: &str) -> Result<Option<api::Image>> {
        unimplemented!()
    }
    async fn pull_image(&self, _: api::PullImageRequest) -> Result<String> {
        unimplemented!()
    }
    async fn remove_image(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
}

fn config(name: &str, dir: &std::path::Path) -> KubeletConfig {
    let mut cfg = KubeletConfig::new(name, dir, "10.1.2.3".parse().expect("ip"));
    cfg.lease_interval = Duration::from_millis(300);
    cfg.node_status_report_interval = Duration::from_millis(500);
    cfg.node_labels
        .insert("example.com/role".into(), "test".into());
    cfg
}

/// Poll `f` until it returns `Some`, for up to 20 s.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn condition<'a>(node: &'a Node, t: &str) -> Option<&'a k8s_openapi::api::core::v1::NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
}

#[tokio::test]
async fn registers_node_and_renews_lease() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cri = Arc::new(FakeCri {
        network_ready: AtomicBool::new(true),
    });
    let dyn_cri: DynCri = cri.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(kubelet::node::run(
        client.clone(),
        config("node-a", dir.path()),
        dyn_cri,
        12345,
        async move {
            let _ = rx.await;
        },
    ));

    let nodes: Api<Node> = Api::all(client.clone());
    let node = eventually("node Ready", || async {
        let n = nodes.get_opt("node-a").await.ok().flatten()?;
        (condition(&n, "Ready")?.status == "True").then_some(n)
    })
    .await;
    let labels = node.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("kubernetes.io/hostname").map(String::as_str),
        Some("node-a")
    );
    assert_eq!(
        labels.get("kubernetes.io/os").map(String::as_str),
        Some("linux")
    );
    assert!(labels.contains_key("kubernetes.io/arch"));
    assert_eq!(
        labels.get("example.com/role").map(String::as_str),
        Some("test")
    );
    let status = node.status.clone().expect("status");
    let cap = status.capacity.expect("capacity");
    assert_eq!(cap["pods"].0, "110");
    assert!(
        cap["memory"].0.ends_with("Ki") || cap["memory"].0.ends_with("Mi"),
        "{:?}",
        cap["memory"]
    );
    assert!(
        status
            .allocatable
            .expect("allocatable")
            .contains_key("ephemeral-storage")
    );
    let info = status.node_info.expect("nodeInfo");
    assert_eq!(info.container_runtime_version, "containerd://1.6.20");
    assert_eq!(info.operating_system, "linux");
    assert_eq!(
        status
            .daemon_endpoints
            .and_then(|d| d.kubelet_endpoint)
            .map(|e| e.port),
        Some(12345)
    );
    let images = status.images.expect("images");
    assert_eq!(images[0].size_bytes, Some(1_234_567));
    let uid = node.metadata.uid.clone().expect("uid");

    // The Lease exists, is held by the node, owned by it, and renewed.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first = eventually("lease", || async {
        leases.get_opt("node-a").await.ok().flatten()
    })
    .await;
    let spec = first.spec.clone().expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("node-a"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let owner = &first.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Node", uid.as_str())
    );
    let t0 = spec.renew_time.expect("renewTime").0;
    eventually("lease renewal", || async {
        let l = leases.get_opt("node-a").await.ok().flatten()?;
        (l.spec?.renew_time?.0 > t0).then_some(())
    })
    .await;

    // The network goes down: Ready turns False with upstream's reason.
    cri.network_ready.store(false, Ordering::SeqCst);
    let not_ready = eventually("node NotReady", || async {
        let n = nodes.get_opt("node-a").await.ok().flatten()?;
        let c = condition(&n, "Ready")?.clone();
        (c.status == "False").then_some(c)
    })
    .await;
    assert_eq!(not_ready.reason.as_deref(), Some("KubeletNotReady"));
    let msg = not_ready.message.unwrap_or_default();
    assert!(
        msg.starts_with("container runtime network not ready: NetworkReady=false"),
        "{msg}"
    );

    let _ = tx.send(());
    task.await.expect("join").expect("node loop");
}

#[tokio::test]
async fn adopts_an_existing_node_and_updates_its_labels() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let pre: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "node-b", "labels": {"kubernetes.io/hostname": "old", "keep": "me"}}
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &pre)
        .await
        .expect("create node");

    let dir = tempfile::tempdir().expect("tempdir");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(kubelet::node::run(
        client.clone(),
        config("node-b", dir.path()),
        Arc::new(FakeCri {
            network_ready: AtomicBool::new(true),
        }),
        10250,
        async move {
            let _ = rx.await;
        },
    ));
    let node = eventually("node Ready", || async {
        let n = nodes.get_opt("node-b").await.ok().flatten()?;
        (condition(&n, "Ready")?.status == "True").then_some(n)
    })
    .await;
    let labels = node.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("kubernetes.io/hostname").map(String::as_str),
        Some("node-b")
    );
    assert_eq!(labels.get("keep").map(String::as_str), Some("me"));
    assert_eq!(
        labels.get("example.com/role").map(String::as_str),
        Some("test")
    );
    let _ = tx.send(());
    task.await.expect("join").expect("node loop");
}
