//! The CRI client over gRPC on a unix socket (containerd, CRI-O): one
//! tonic channel shared by the RuntimeService and ImageService clients, each
//! call bounded by a timeout that fits what it does.

use super::{CriError, DynCri, Result, api};
use api::image_service_client::ImageServiceClient;
use api::runtime_service_client::RuntimeServiceClient;
use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// Upstream's default `--runtime-request-timeout`.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Pulls of large images over slow links take long; the runtime reports
/// stalled pulls itself.
const PULL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Lists and stats of a busy node are big; upstream allows 16 MiB.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// A CRI runtime reached over gRPC. Cloning shares the connection.
#[derive(Clone)]
pub struct RemoteCri {
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
    endpoint: String,
}

/// The socket path of `unix:///path` (or a bare path).
pub fn socket_path(endpoint: &str) -> Result<PathBuf> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    if path.is_empty() || !path.starts_with('/') {
        return Err(CriError::Transport(format!(
            "{endpoint}: only unix:///absolute/path endpoints are supported"
        )));
    }
    Ok(PathBuf::from(path))
}

/// Connect to `endpoint` (`unix:///run/containerd/containerd.sock`).
pub async fn connect(endpoint: &str) -> std::result::Result<DynCri, CriError> {
    Ok(Arc::new(RemoteCri::connect(endpoint).await?))
}

impl RemoteCri {
    /// Dial the socket once (fails fast when nothing listens); later calls
    /// reconnect on their own if the runtime restarts.
    pub async fn connect(endpoint: &str) -> Result<RemoteCri> {
        let path = socket_path(endpoint)?;
        // The URI is required by tonic but never resolved: the connector dials the socket.
        let channel =
            Endpoint::from_static("http://[::1]:0")
                .connect_timeout(Duration::from_secs(5))
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?))
                    }
                }))
                .await
                .map_err(|e| CriError::Transport(format!("{endpoint}: {}", error_chain(&e))))?;
        Ok(RemoteCri {
            runtime: RuntimeServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            images: ImageServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            endpoint: endpoint.to_string(),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn rt(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    fn img(&self) -> ImageServiceClient<Channel> {
        self.images.clone()
    }
}

/// The source chain of a transport error: tonic's top-level message alone is
/// just "transport error".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        // io errors wrapped twice print the same words twice.
        let m = c.to_string();
        if !s.ends_with(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// Map a gRPC status: NotFound is its own kind; a status tonic made up
/// because the connection failed is a transport problem.
pub fn map_status(s: tonic::Status) -> CriError {
    use tonic::Code;
    match s.code() {
        Code::NotFound => CriError::NotFound(s.message().to_string()),
        _ if s.source_is_transport() => CriError::Transport(s.message().to_string()),
        code => CriError::Status {
            code: code as i32,
            message: s.message().to_string(),
        },
    }
}

trait StatusExt {
    fn source_is_transport(&self) -> bool;
}

impl StatusExt for tonic::Status {
    /// tonic attaches the transport error as the source of statuses it
    /// synthesises when it cannot reach the server.
    fn source_is_transport(&self) -> bool {
        use std::error::Error;
        let mut cur = self.source();
        while let Some(e) = cur {
            if e.is::<tonic::transport::Error>() || e.is::<std::io::Error>() {
                return true;
            }
            cur = e.source();
        }
        false
    }
}

/// Run one call under `limit` (`None`: unbounded) and unwrap its response.
async fn call<T, F>(limit: Option<Duration>, what: &str, fut: F) -> Result<T>
where
    F: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
{
    let res = match limit {
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| CriError::Status {
                code: tonic::Code::DeadlineExceeded as i32,
                message: format!("{what}: no answer within {}s", d.as_secs()),
            })?,
        None => fut.await,
    };
    res.map(tonic::Response::into_inner).map_err(map_status)
}

fn spec(image: &str) -> api::ImageSpec {
    api::ImageSpec {
        image: image.to_string(),
        ..Default::default()
    }
}

const T: Option<Duration> = Some(CALL_TIMEOUT);

#[async_trait]
impl super::Cri for RemoteCri {
    async fn version(&self) -> Result<api::VersionResponse> {
        let req = api::VersionRequest {
            version: "v1".into(),
        };
        call(T, "Version", self.rt().version(req)).await
    }

    async fn status(&self) -> Result<api::StatusResponse> {
        let req = api::StatusRequest { verbose: false };
        call(T, "Status", self.rt().status(req)).await
    }

    async fn run_pod_sandbox(
        &self,
        req: api::RunPodSandboxRequest,
    ) -> Result<api::RunPodSandboxResponse> {
        // Creating the network namespace and running CNI can take a while
        // on a loaded machine; upstream gives it the same request timeout.
        call(T, "RunPodSandbox", self.rt().run_pod_sandbox(req)).await
    }

    async fn stop_pod_sandbox(&self, pod_sandbox_id: &str) -> Result<()> {
        let req = api::StopPodSandboxRequest {
            pod_sandbox_id: pod_sandbox_id.into(),
        };
        call(T, "StopPodSandbox", self.rt().stop_pod_sandbox(req))
            .await
            .map(drop)
    }

    async fn remove_pod_sandbox(&self, pod_sandbox_id: &str) -> Result<()> {
        let req = api::RemovePodSandboxRequest {
            pod_sandbox_id: pod_sandbox_id.into(),
        };
        call(T, "RemovePodSandbox", self.rt().remove_pod_sandbox(req))
            .await
            .map(drop)
    }

    async fn pod_sandbox_status(
        &self,
        pod_sandbox_id: &str,
    ) -> Result<api::PodSandboxStatusResponse> {
        let req = api::PodSandboxStatusRequest {
            pod_sandbox_id: pod_sandbox_id.into(),
            verbose: false,
        };
        call(T, "PodSandboxStatus", self.rt().pod_sandbox_status(req)).await
    }

    async fn list_pod_sandbox(
        &self,
        filter: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        let req = api::ListPodSandboxRequest { filter };
        let r = call(T, "ListPodSandbox", self.rt().list_pod_sandbox(req)).await?;
        Ok(r.items)
    }

    async fn create_container(
        &self,
        req: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse> {
        call(T, "CreateContainer", self.rt().create_container(req)).await
    }

    async fn start_container(&self, container_id: &str) -> Result<()> {
        let req = api::StartContainerRequest {
            container_id: container_id.into(),
        };
        call(T, "StartContainer", self.rt().start_container(req))
            .await
            .map(drop)
    }

    async fn stop_container(&self, container_id: &str, timeout: i64) -> Result<()> {
        let req = api::StopContainerRequest {
            container_id: container_id.into(),
            timeout,
        };
        // The runtime waits up to `timeout` before it kills; upstream adds
        // the request timeout on top.
        let limit = CALL_TIMEOUT + Duration::from_secs(timeout.max(0) as u64);
        call(Some(limit), "StopContainer", self.rt().stop_container(req))
            .await
            .map(drop)
    }

    async fn remove_container(&self, container_id: &str) -> Result<()> {
        let req = api::RemoveContainerRequest {
            container_id: container_id.into(),
        };
        call(T, "RemoveContainer", self.rt().remove_container(req))
            .await
            .map(drop)
    }

    async fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        let req = api::ListContainersRequest { filter };
        let r = call(T, "ListContainers", self.rt().list_containers(req)).await?;
        Ok(r.containers)
    }

    async fn container_status(&self, container_id: &str) -> Result<api::ContainerStatusResponse> {
        let req = api::ContainerStatusRequest {
            container_id: container_id.into(),
            verbose: false,
        };
        call(T, "ContainerStatus", self.rt().container_status(req)).await
    }

    async fn update_container_resources(
        &self,
        req: api::UpdateContainerResourcesRequest,
    ) -> Result<()> {
        call(
            T,
            "UpdateContainerResources",
            self.rt().update_container_resources(req),
        )
        .await
        .map(drop)
    }

    async fn reopen_container_log(&self, container_id: &str) -> Result<()> {
        let req = api::ReopenContainerLogRequest {
            container_id: container_id.into(),
        };
        call(T, "ReopenContainerLog", self.rt().reopen_container_log(req))
            .await
            .map(drop)
    }

    async fn exec_sync(&self, req: api::ExecSyncRequest) -> Result<api::ExecSyncResponse> {
        // A command with no timeout runs as long as it likes (upstream: the
        // probe's own timeout bounds it, or none at all).
        let limit =
            (req.timeout > 0).then(|| CALL_TIMEOUT + Duration::from_secs(req.timeout as u64));
        call(limit, "ExecSync", self.rt().exec_sync(req)).await
    }

    async fn exec(&self, req: api::ExecRequest) -> Result<api::ExecResponse> {
        call(None, "Exec", self.rt().exec(req)).await
    }

    async fn attach(&self, req: api::AttachRequest) -> Result<api::AttachResponse> {
        call(None, "Attach", self.rt().attach(req)).await
    }

    async fn port_forward(&self, req: api::PortForwardRequest) -> Result<api::PortForwardResponse> {
        call(None, "PortForward", self.rt().port_forward(req)).await
    }

    async fn list_container_stats(
        &self,
        filter: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        let req = api::ListContainerStatsRequest { filter };
        let r = call(T, "ListContainerStats", self.rt().list_container_stats(req)).await?;
        Ok(r.stats)
    }

    async fn list_pod_sandbox_stats(
        &self,
        filter: Option<api::PodSandboxStatsFilter>,
    ) -> Result<Vec<api::PodSandboxStats>> {
        let req = api::ListPodSandboxStatsRequest { filter };
        let r = call(
            T,
            "ListPodSandboxStats",
            self.rt().list_pod_sandbox_stats(req),
        )
        .await?;
        Ok(r.stats)
    }

    async fn list_images(&self, filter: Option<api::ImageFilter>) -> Result<Vec<api::Image>> {
        let req = api::ListImagesRequest { filter };
        let r = call(T, "ListImages", self.img().list_images(req)).await?;
        Ok(r.images)
    }

    async fn image_status(&self, image: &str) -> Result<Option<api::Image>> {
        let req = api::ImageStatusRequest {
            image: Some(spec(image)),
            verbose: false,
        };
        match call(T, "ImageStatus", self.img().image_status(req)).await {
            Ok(r) => Ok(r.image),
            // Some runtimes answer NotFound instead of an empty status.
            Err(CriError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn pull_image(&self, req: api::PullImageRequest) -> Result<String> {
        let r = call(Some(PULL_TIMEOUT), "PullImage", self.img().pull_image(req)).await?;
        Ok(r.image_ref)
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        let req = api::RemoveImageRequest {
            image: Some(spec(image)),
        };
        call(T, "RemoveImage", self.img().remove_image(req))
            .await
            .map(drop)
    }

    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse> {
        call(
            T,
            "ImageFsInfo",
            self.img().image_fs_info(api::ImageFsInfoRequest {}),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_paths() {
        assert_eq!(
            socket_path("unix:///run/c.sock").unwrap(),
            PathBuf::from("/run/c.sock")
        );
        assert_eq!(
            socket_path("/run/c.sock").unwrap(),
            PathBuf::from("/run/c.sock")
        );
        assert!(socket_path("tcp://1.2.3.4:5").is_err());
        assert!(socket_path("unix://").is_err());
    }

    #[test]
    fn status_mapping() {
        assert!(map_status(tonic::Status::not_found("no such container")).is_not_found());
        match map_status(tonic::Status::invalid_argument("bad")) {
            CriError::Status { code, message } => {
                assert_eq!(code, tonic::Code::InvalidArgument as i32);
                assert_eq!(message, "bad");
            }
            other => panic!("unexpected {other:?}"),
        }
        // A plain Unavailable from the server itself stays a status.
        assert!(matches!(
            map_status(tonic::Status::unavailable("busy")),
            CriError::Status { .. }
        ));
    }

    #[tokio::test]
    async fn connect_to_missing_socket_is_transport_error() {
        let dir = tempfile::tempdir().unwrap();
        let ep = format!("unix://{}/none.sock", dir.path().display());
        match connect(&ep).await {
            Err(CriError::Transport(m)) => assert!(m.contains("none.sock"), "{m}"),
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => panic!("connected to nothing"),
        }
    }
}
