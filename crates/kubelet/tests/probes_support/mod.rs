//! A local fake CRI for the probe tests: only ExecSync (and a NotFound
//! ContainerStatus) answer; nothing else is called by these tests.

use async_trait::async_trait;
use kubelet::cri::{Cri, CriError, Result, api};
use std::sync::atomic::{AtomicBool, Ordering};

/// Only ExecSync is real: `check` follows `healthy`, `true`/`false` exit 0/1,
/// `timeout` is the runtime's deadline error. Nothing else is called here.
#[derive(Default)]
pub struct FakeCri {
    pub healthy: AtomicBool,
}

#[async_trait]
impl Cri for FakeCri {
    async fn exec_sync(&self, req: api::ExecSyncRequest) -> Result<api::ExecSyncResponse> {
        let ok = |code: i32| api::ExecSyncResponse {
            stdout: b"out".to_vec(),
            stderr: b"err".to_vec(),
            exit_code: code,
        };
        match req.cmd.join(" ").as_str() {
            "check" => Ok(ok(if self.healthy.load(Ordering::SeqCst) {
                0
            } else {
                1
            })),
            "true" => Ok(ok(0)),
            "false" => Ok(ok(1)),
            "timeout" => Err(CriError::Status {
                code: 4,
                message: "deadline".into(),
            }),
            _ => Err(CriError::NotFound(req.container_id)),
        }
    }
    async fn container_status(&self, id: &str) -> Result<api::ContainerStatusResponse> {
        Err(CriError::NotFound(id.into()))
    }
    async fn version(&self) -> Result<api::VersionResponse> {
        unimplemented!()
    }
    async fn status(&self) -> Result<api::StatusResponse> {
        unimplemented!()
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
    async fn update_container_resources(
        &self,
        _: api::UpdateContainerResourcesRequest,
    ) -> Result<()> {
        unimplemented!()
    }
    async fn reopen_container_log(&self, _: &str) -> Result<()> {
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
    async fn list_images(&self, _: Option<api::ImageFilter>) -> Result<Vec<api::Image>> {
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
    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse> {
        unimplemented!()
    }
}
