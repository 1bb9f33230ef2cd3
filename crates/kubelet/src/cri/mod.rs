//! The container runtime seam: the CRI calls the kubelet makes, as one trait
//! over the CRI v1 message types (`k8s_cri::v1`). `remote` speaks it over
//! gRPC to containerd (or CRI-O); `fake` is an in-memory runtime for unit
//! tests. Everything else in the kubelet talks to an `Arc<dyn Cri>`.

pub mod fake;
pub mod labels;
pub mod remote;

use async_trait::async_trait;
pub use k8s_cri::v1 as api;
use std::sync::Arc;

/// A CRI failure: `NotFound` is split out because callers treat "already
/// gone" as success when they remove things.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("runtime error ({code}): {message}")]
    Status { code: i32, message: String },
    #[error("runtime unreachable: {0}")]
    Transport(String),
}

impl CriError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, CriError::NotFound(_))
    }
}

pub type Result<T> = std::result::Result<T, CriError>;

/// The CRI RuntimeService and ImageService methods the kubelet uses, one
/// method per RPC with the RPC's own request and response types.
#[async_trait]
pub trait Cri: Send + Sync + 'static {
    async fn version(&self) -> Result<api::VersionResponse>;
    async fn status(&self) -> Result<api::StatusResponse>;

    async fn run_pod_sandbox(
        &self,
        req: api::RunPodSandboxRequest,
    ) -> Result<api::RunPodSandboxResponse>;
    async fn stop_pod_sandbox(&self, pod_sandbox_id: &str) -> Result<()>;
    async fn remove_pod_sandbox(&self, pod_sandbox_id: &str) -> Result<()>;
    async fn pod_sandbox_status(
        &self,
        pod_sandbox_id: &str,
    ) -> Result<api::PodSandboxStatusResponse>;
    async fn list_pod_sandbox(
        &self,
        filter: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>>;

    async fn create_container(
        &self,
        req: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse>;
    async fn start_container(&self, container_id: &str) -> Result<()>;
    /// Stop with SIGTERM (or the image's stop signal), SIGKILL after `timeout` seconds.
    async fn stop_container(&self, container_id: &str, timeout: i64) -> Result<()>;
    async fn remove_container(&self, container_id: &str) -> Result<()>;
    async fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>>;
    async fn container_status(&self, container_id: &str) -> Result<api::ContainerStatusResponse>;
    async fn update_container_resources(
        &self,
        req: api::UpdateContainerResourcesRequest,
    ) -> Result<()>;
    async fn reopen_container_log(&self, container_id: &str) -> Result<()>;

    async fn exec_sync(&self, req: api::ExecSyncRequest) -> Result<api::ExecSyncResponse>;
    /// The runtime's streaming URL for an exec session.
    async fn exec(&self, req: api::ExecRequest) -> Result<api::ExecResponse>;
    async fn attach(&self, req: api::AttachRequest) -> Result<api::AttachResponse>;
    async fn port_forward(&self, req: api::PortForwardRequest) -> Result<api::PortForwardResponse>;

    async fn list_container_stats(
        &self,
        filter: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>>;
    async fn list_pod_sandbox_stats(
        &self,
        filter: Option<api::PodSandboxStatsFilter>,
    ) -> Result<Vec<api::PodSandboxStats>>;

    async fn list_images(&self, filter: Option<api::ImageFilter>) -> Result<Vec<api::Image>>;
    /// `Ok(None)` when the image is not present.
    async fn image_status(&self, image: &str) -> Result<Option<api::Image>>;
    /// Pull and return the image reference (digest) the runtime stored.
    async fn pull_image(&self, req: api::PullImageRequest) -> Result<String>;
    async fn remove_image(&self, image: &str) -> Result<()>;
    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse>;
}

pub type DynCri = Arc<dyn Cri>;
