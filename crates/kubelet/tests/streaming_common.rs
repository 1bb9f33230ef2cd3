//! Shared pieces of the streaming tests (included with `#[path]`): a fake
//! CRI that knows one running container and one ready sandbox, a fake
//! runtime streaming server speaking SPDY like containerd's, and the kubelet
//! streaming routes served over plain HTTP/1.1 with upgrades.

use async_trait::async_trait;
use kubelet::cri::{Cri, CriError, Result, api};
use kubelet::server::ServerState;
use remotecmd::spdy::{Incoming, Role, Session};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct FakeCri {
    /// The runtime streaming server's address.
    pub runtime: String,
}

fn unsupported<T>() -> Result<T> {
    Err(CriError::Status {
        code: 12,
        message: "not in this fake".into(),
    })
}

#[async_trait]
impl Cri for FakeCri {
    async fn version(&self) -> Result<api::VersionResponse> {
        unsupported()
    }
    async fn status(&self) -> Result<api::StatusResponse> {
        unsupported()
    }
    async fn run_pod_sandbox(
        &self,
        _: api::RunPodSandboxRequest,
    ) -> Result<api::RunPodSandboxResponse> {
        unsupported()
    }
    async fn stop_pod_sandbox(&self, _: &str) -> Result<()> {
        unsupported()
    }
    async fn remove_pod_sandbox(&self, _: &str) -> Result<()> {
        unsupported()
    }
    async fn pod_sandbox_status(&self, _: &str) -> Result<api::PodSandboxStatusResponse> {
        unsupported()
    }
    async fn list_pod_sandbox(
        &self,
        f: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        let f = f.unwrap_or_default();
        if f.label_selector
            .get("io.kubernetes.pod.name")
            .map(String::as_str)
            != Some("web")
        {
            return Ok(vec![]);
        }
        Ok(vec![api::PodSandbox {
            id: "sb1".into(),
            ..Default::default()
        }])
    }
    async fn create_container(
        &self,
        _: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse> {
        unsupported()
    }
    async fn start_container(&self, _: &str) -> Result<()> {
        unsupported()
    }
    async fn stop_container(&self, _: &str, _: i64) -> Result<()> {
        unsupported()
    }
    async fn remove_container(&self, _: &str) -> Result<()> {
        unsupported()
    }
    async fn list_containers(
        &self,
        f: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        let f = f.unwrap_or_default();
        let ok = f
            .label_selector
            .get("io.kubernetes.pod.namespace")
            .map(String::as_str)
            == Some("default")
            && f.label_selector
                .get("io.kubernetes.pod.name")
                .map(String::as_str)
                == Some("web")
            && f.label_selector
                .get("io.kubernetes.container.name")
                .map(String::as_str)
                == Some("app")
            && f.state.map(|s| s.state) == Some(api::ContainerState::ContainerRunning as i32);
        Ok(if ok {
            vec![api::Container {
                id: "c1".into(),
                ..Default::default()
            }]
        } else {
            vec![]
        })
    }
    async fn container_status(&self, _: &str) -> Result<api::ContainerStatusResponse> {
        unsupported()
    }
    async fn update_container_resources(
        &self,
        _: api::UpdateContainerResourcesRequest,
    ) -> Result<()> {
        unsupported()
    }
    async fn reopen_container_log(&self, _: &str) -> Result<()> {
        unsupported()
    }
    async fn exec_sync(&self, _: api::ExecSyncRequest) -> Result<api::ExecSyncResponse> {
        unsupported()
    }
    async fn exec(&self, req: api::ExecRequest) -> Result<api::ExecResponse> {
        assert_eq!(req.container_id, "c1");
        Ok(api::ExecResponse {
            url: format!("http://{}/exec/token1", self.runtime),
        })
    }
    async fn attach(&self, req: api::AttachRequest) -> Result<api::AttachResponse> {
        assert_eq!(req.container_id, "c1");
        Ok(api::AttachResponse {
            url: format!("http://{}/attach/token2", self.runtime),
        })
    }
    async fn port_forward(&self, req: api::PortForwardRequest) -> Result<api::PortForwardResponse> {
        assert_eq!(req.pod_sandbox_id, "sb1");
        Ok(api::PortForwardResponse {
            url: format!("http://{}/portforward/token3", self.runtime),
        })
    }
    async fn list_container_stats(
        &self,
        _: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        unsupported()
    }
    async fn list_pod_sandbox_stats(
        &self,
        _: Option<api::PodSandboxStatsFilter>,
    ) -> Result<Vec<api::PodSandboxStats>> {
        unsupported()
    }
    async fn list_images(&self, _: Option<api::ImageFilter>) -> Result<Vec<api::Image>> {
        unsupported()
    }
    async fn image_status(&self, _: &str) -> Result<Option<api::Image>> {
        unsupported()
    }
    async fn pull_image(&self, _: api::PullImageRequest) -> Result<String> {
        unsupported()
    }
    async fn remove_image(&self, _: &str) -> Result<()> {
        unsupported()
    }
    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse> {
        unsupported()
    }
}

/// A fake runtime streaming server: answers each SPDY upgrade like
/// containerd does and hands the server session to `serve`.
pub async fn start_runtime<F, Fut>(serve: F) -> String
where
    F: Fn(String, Session, Incoming) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = l.accept().await {
            let serve = serve.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    head.push(tcp.read_u8().await.unwrap());
                }
                let head = String::from_utf8(head).unwrap();
                let protocol = head
                    .lines()
                    .find_map(|l| l.strip_prefix("X-Stream-Protocol-Version: "))
                    .unwrap()
                    .to_string();
                let path = head.split_whitespace().nth(1).unwrap().to_string();
                tcp.write_all(
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: {protocol}\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
                let (session, incoming) = Session::new(tcp, Role::Server);
                serve(path, session, incoming).await;
            });
        }
    });
    addr
}

/// Serves the kubelet's streaming routes on a loopback port; returns its address.
pub async fn start_kubelet(runtime: String) -> String {
    let state = ServerState {
        cri: Arc::new(FakeCri { runtime }),
        pod_log_dir: PathBuf::from("/nonexistent"),
        node_name: "n1".into(),
    };
    let app = kubelet::server::streaming::routes().with_state(state);
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let svc = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}
