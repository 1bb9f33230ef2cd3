//! An in-memory container runtime for tests: sandboxes and containers with
//! CRI states, scripted exits and start failures, scripted `exec_sync`
//! answers, an image set, and a log of every mutating call so tests can
//! assert the order of operations.

use super::{Cri, CriError, Result, api};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
struct FakeSandbox {
    config: api::PodSandboxConfig,
    state: api::PodSandboxState,
    created_at: i64,
    ip: String,
}

#[derive(Clone, Debug)]
struct FakeContainer {
    sandbox_id: String,
    config: api::ContainerConfig,
    state: api::ContainerState,
    created_at: i64,
    started_at: i64,
    finished_at: i64,
    exit_code: i32,
    reason: String,
    message: String,
}

#[derive(Default)]
struct State {
    next_id: u64,
    sandboxes: BTreeMap<String, FakeSandbox>,
    containers: BTreeMap<String, FakeContainer>,
    /// Container name → exit code it exits with as soon as it starts.
    exits: HashMap<String, i32>,
    /// Container name → the message StartContainer fails with.
    start_errors: HashMap<String, String>,
    /// Pod name → the message RunPodSandbox fails with (a CNI error, say).
    sandbox_errors: HashMap<String, String>,
    /// First word of the command → the answer of ExecSync.
    exec_results: HashMap<String, api::ExecSyncResponse>,
    images: BTreeSet<String>,
    /// Image name → size in bytes reported by ListImages (default 0).
    image_sizes: HashMap<String, u64>,
    /// What ImageFsInfo reports as the image filesystem's mountpoint.
    image_fs_mountpoint: String,
    calls: Vec<String>,
    /// Exit code a stopped container reports (SIGTERM'd shell: 143).
    stop_exit_code: i32,
    /// Container name → (cumulative CPU ns, memory working set bytes).
    stats: HashMap<String, (u64, u64)>,
}

/// The fake runtime; share it as `Arc<FakeCri>` (coerces to `DynCri`).
pub struct FakeCri {
    st: Mutex<State>,
}

impl Default for FakeCri {
    fn default() -> Self {
        FakeCri {
            st: Mutex::new(State {
                stop_exit_code: 143,
                ..Default::default()
            }),
        }
    }
}

fn now_ns() -> i64 {
    i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX)
}

fn label_match(labels: &HashMap<String, String>, sel: &HashMap<String, String>) -> bool {
    sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl FakeCri {
    pub fn new() -> Arc<FakeCri> {
        Arc::new(FakeCri::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Containers named `name` exit with `code` right after each start.
    pub fn set_exit(&self, name: &str, code: i32) {
        self.lock().exits.insert(name.into(), code);
    }

    /// Containers named `name` keep running after start again.
    pub fn clear_exit(&self, name: &str) {
        self.lock().exits.remove(name);
    }

    /// StartContainer of containers named `name` fails with `message`.
    /// RunPodSandbox for pod `pod_name` fails with `message` (None: succeeds again).
    pub fn set_sandbox_error(&self, pod_name: &str, message: Option<&str>) {
        let mut st = self.lock();
        match message {
            Some(m) => st.sandbox_errors.insert(pod_name.into(), m.into()),
            None => st.sandbox_errors.remove(pod_name),
        };
    }

    pub fn set_start_error(&self, name: &str, message: &str) {
        self.lock().start_errors.insert(name.into(), message.into());
    }

    /// ExecSync of a command whose first word is `cmd0` answers `exit_code` and `stdout`.
    pub fn set_exec_result(&self, cmd0: &str, exit_code: i32, stdout: &str) {
        self.lock().exec_results.insert(
            cmd0.into(),
            api::ExecSyncResponse {
                stdout: stdout.as_bytes().to_vec(),
                stderr: vec![],
                exit_code,
            },
        );
    }

    /// What `ListContainerStats` reports for the running container `name`.
    pub fn set_container_stats(&self, name: &str, cpu_core_ns: u64, working_set: u64) {
        self.lock()
            .stats
            .insert(name.into(), (cpu_core_ns, working_set));
    }

    pub fn add_image(&self, image: &str) {
        self.lock().images.insert(image.into());
    }

    /// Add `image` reporting `size` bytes in ListImages.
    pub fn add_image_sized(&self, image: &str, size: u64) {
        let mut st = self.lock();
        st.images.insert(image.into());
        st.image_sizes.insert(image.into(), size);
    }

    /// The images present now, by name.
    pub fn images(&self) -> Vec<String> {
        self.lock().images.iter().cloned().collect()
    }

    /// The image ID the fake reports for `image` (stable per name).
    pub fn image_id(image: &str) -> String {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in image.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("sha256:{h:016x}")
    }

    /// The mountpoint ImageFsInfo reports.
    pub fn set_image_fs_mountpoint(&self, path: &str) {
        self.lock().image_fs_mountpoint = path.into();
    }

    /// Make the running container(s) named `name` exit with `code` now.
    pub fn exit_container(&self, name: &str, code: i32) {
        let now = now_ns();
        let mut st = self.lock();
        for c in st.containers.values_mut() {
            if c.config.metadata.as_ref().is_some_and(|m| m.name == name)
                && c.state == api::ContainerState::ContainerRunning
            {
                c.state = api::ContainerState::ContainerExited;
                c.finished_at = now;
                c.exit_code = code;
                c.reason = if code == 0 { "Completed" } else { "Error" }.into();
            }
        }
    }

    /// The sandbox of pod `pod_name` dies, and its containers with it (exit 137).
    pub fn kill_sandbox(&self, pod_name: &str) {
        let now = now_ns();
        let mut st = self.lock();
        let ids: Vec<String> = st
            .sandboxes
            .iter_mut()
            .filter(|(_, s)| {
                s.config
                    .metadata
                    .as_ref()
                    .is_some_and(|m| m.name == pod_name)
            })
            .map(|(id, s)| {
                s.state = api::PodSandboxState::SandboxNotready;
                id.clone()
            })
            .collect();
        for c in st.containers.values_mut() {
            if ids.contains(&c.sandbox_id) && c.state == api::ContainerState::ContainerRunning {
                c.state = api::ContainerState::ContainerExited;
                c.finished_at = now;
                c.exit_code = 137;
                c.reason = "Error".into();
            }
        }
    }

    /// Every mutating call so far, e.g. `RunPodSandbox default/web`,
    /// `CreateContainer app`, `StartContainer app`, `ExecSync app sh`,
    /// `StopContainer app 30`, `RemoveContainer app`, `StopPodSandbox web`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// (name, attempt, state) of every container, oldest first.
    pub fn container_states(&self) -> Vec<(String, u32, api::ContainerState)> {
        let st = self.lock();
        let mut v: Vec<_> = st.containers.values().collect();
        v.sort_by_key(|c| c.created_at);
        v.iter()
            .map(|c| {
                let m = c.config.metadata.clone().unwrap_or_default();
                (m.name, m.attempt, c.state)
            })
            .collect()
    }

    /// How many sandboxes exist (any state).
    pub fn sandbox_count(&self) -> usize {
        self.lock().sandboxes.len()
    }

    /// The config a container named `name` was last created with.
    pub fn container_config(&self, name: &str) -> Option<api::ContainerConfig> {
        let st = self.lock();
        st.containers
            .values()
            .filter(|c| c.config.metadata.as_ref().is_some_and(|m| m.name == name))
            .max_by_key(|c| c.created_at)
            .map(|c| c.config.clone())
    }

    /// The config the latest sandbox of pod `pod_name` was run with.
    pub fn sandbox_config(&self, pod_name: &str) -> Option<api::PodSandboxConfig> {
        let st = self.lock();
        st.sandboxes
            .values()
            .filter(|s| {
                s.config
                    .metadata
                    .as_ref()
                    .is_some_and(|m| m.name == pod_name)
            })
            .max_by_key(|s| s.created_at)
            .map(|s| s.config.clone())
    }

    fn name_of(&self, st: &State, id: &str) -> String {
        st.containers
            .get(id)
            .and_then(|c| c.config.metadata.as_ref())
            .map(|m| m.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn container_view(id: &str, c: &FakeContainer) -> api::Container {
        api::Container {
            id: id.to_string(),
            pod_sandbox_id: c.sandbox_id.clone(),
            metadata: c.config.metadata.clone(),
            image: c.config.image.clone(),
            image_ref: c
                .config
                .image
                .as_ref()
                .map(|i| i.image.clone())
                .unwrap_or_default(),
            state: c.state as i32,
            created_at: c.created_at,
            labels: c.config.labels.clone(),
            annotations: c.config.annotations.clone(),
            image_id: String::new(),
        }
    }
}

#[async_trait]
impl Cri for FakeCri {
    async fn version(&self) -> Result<api::VersionResponse> {
        Ok(api::VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "fake".into(),
            runtime_version: "1.0".into(),
            runtime_api_version: "v1".into(),
        })
    }

    async fn status(&self) -> Result<api::StatusResponse> {
        Ok(api::StatusResponse::default())
    }

    async fn run_pod_sandbox(
        &self,
        req: api::RunPodSandboxRequest,
    ) -> Result<api::RunPodSandboxResponse> {
        let config = req.config.unwrap_or_default();
        let mut st = self.lock();
        st.next_id += 1;
        let id = format!("sb{:04}", st.next_id);
        let md = config.metadata.clone().unwrap_or_default();
        if let Some(m) = st.sandbox_errors.get(&md.name).cloned() {
            st.calls
                .push(format!("RunPodSandbox {}/{} failed", md.namespace, md.name));
            return Err(super::CriError::Status {
                code: 2,
                message: m,
            });
        }
        st.calls
            .push(format!("RunPodSandbox {}/{}", md.namespace, md.name));
        let ip = format!("10.88.{}.{}", st.next_id / 250, st.next_id % 250 + 2);
        st.sandboxes.insert(
            id.clone(),
            FakeSandbox {
                config,
                state: api::PodSandboxState::SandboxReady,
                created_at: now_ns(),
                ip,
            },
        );
        Ok(api::RunPodSandboxResponse { pod_sandbox_id: id })
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let now = now_ns();
        let mut st = self.lock();
        let Some(sb) = st.sandboxes.get_mut(id) else {
            return Err(CriError::NotFound(id.into()));
        };
        sb.state = api::PodSandboxState::SandboxNotready;
        let name = sb.config.metadata.clone().unwrap_or_default().name;
        let code = st.stop_exit_code;
        for c in st.containers.values_mut() {
            if c.sandbox_id == id && c.state == api::ContainerState::ContainerRunning {
                c.state = api::ContainerState::ContainerExited;
                c.finished_at = now;
                c.exit_code = code;
                c.reason = "Error".into();
            }
        }
        st.calls.push(format!("StopPodSandbox {name}"));
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut st = self.lock();
        let Some(sb) = st.sandboxes.remove(id) else {
            return Err(CriError::NotFound(id.into()));
        };
        st.containers.retain(|_, c| c.sandbox_id != id);
        let name = sb.config.metadata.unwrap_or_default().name;
        st.calls.push(format!("RemovePodSandbox {name}"));
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatusResponse> {
        let st = self.lock();
        let sb = st
            .sandboxes
            .get(id)
            .ok_or_else(|| CriError::NotFound(id.into()))?;
        Ok(api::PodSandboxStatusResponse {
            status: Some(api::PodSandboxStatus {
                id: id.into(),
                metadata: sb.config.metadata.clone(),
                state: sb.state as i32,
                created_at: sb.created_at,
                network: Some(api::PodSandboxNetworkStatus {
                    ip: sb.ip.clone(),
                    additional_ips: vec![],
                }),
                labels: sb.config.labels.clone(),
                annotations: sb.config.annotations.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn list_pod_sandbox(
        &self,
        filter: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        let f = filter.unwrap_or_default();
        let st = self.lock();
        Ok(st
            .sandboxes
            .iter()
            .filter(|(id, s)| {
                (f.id.is_empty() || f.id == **id)
                    && f.state.is_none_or(|v| v.state == s.state as i32)
                    && label_match(&s.config.labels, &f.label_selector)
            })
            .map(|(id, s)| api::PodSandbox {
                id: id.clone(),
                metadata: s.config.metadata.clone(),
                state: s.state as i32,
                created_at: s.created_at,
                labels: s.config.labels.clone(),
                annotations: s.config.annotations.clone(),
                runtime_handler: String::new(),
            })
            .collect())
    }

    async fn create_container(
        &self,
        req: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse> {
        let config = req.config.unwrap_or_default();
        let mut st = self.lock();
        if !st.sandboxes.contains_key(&req.pod_sandbox_id) {
            return Err(CriError::NotFound(req.pod_sandbox_id));
        }
        st.next_id += 1;
        let id = format!("c{:04}", st.next_id);
        let name = config.metadata.clone().unwrap_or_default().name;
        st.calls.push(format!("CreateContainer {name}"));
        st.containers.insert(
            id.clone(),
            FakeContainer {
                sandbox_id: req.pod_sandbox_id,
                config,
                state: api::ContainerState::ContainerCreated,
                created_at: now_ns(),
                started_at: 0,
                finished_at: 0,
                exit_code: 0,
                reason: String::new(),
                message: String::new(),
            },
        );
        Ok(api::CreateContainerResponse { container_id: id })
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let now = now_ns();
        let mut st = self.lock();
        let name = self.name_of(&st, id);
        st.calls.push(format!("StartContainer {name}"));
        let exit = st.exits.get(&name).copied();
        let start_err = st.start_errors.get(&name).cloned();
        let c = st
            .containers
            .get_mut(id)
            .ok_or_else(|| CriError::NotFound(id.into()))?;
        if let Some(msg) = start_err {
            c.state = api::ContainerState::ContainerExited;
            c.exit_code = 128;
            c.reason = "StartError".into();
            c.message = msg.clone();
            c.finished_at = now;
            return Err(CriError::Status {
                code: 2,
                message: msg,
            });
        }
        c.started_at = now;
        match exit {
            Some(code) => {
                c.state = api::ContainerState::ContainerExited;
                c.finished_at = now + 1_000_000;
                c.exit_code = code;
                c.reason = if code == 0 { "Completed" } else { "Error" }.into();
            }
            None => c.state = api::ContainerState::ContainerRunning,
        }
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: i64) -> Result<()> {
        let now = now_ns();
        let mut st = self.lock();
        let name = self.name_of(&st, id);
        st.calls.push(format!("StopContainer {name} {timeout}"));
        let code = st.stop_exit_code;
        let c = st
            .containers
            .get_mut(id)
            .ok_or_else(|| CriError::NotFound(id.into()))?;
        if c.state == api::ContainerState::ContainerRunning {
            c.state = api::ContainerState::ContainerExited;
            c.finished_at = now;
            c.exit_code = code;
            c.reason = "Error".into();
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let mut st = self.lock();
        let name = self.name_of(&st, id);
        if st.containers.remove(id).is_none() {
            return Err(CriError::NotFound(id.into()));
        }
        st.calls.push(format!("RemoveContainer {name}"));
        Ok(())
    }

    async fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        let f = filter.unwrap_or_default();
        let st = self.lock();
        Ok(st
            .containers
            .iter()
            .filter(|(id, c)| {
                (f.id.is_empty() || f.id == **id)
                    && (f.pod_sandbox_id.is_empty() || f.pod_sandbox_id == c.sandbox_id)
                    && f.state.is_none_or(|v| v.state == c.state as i32)
                    && label_match(&c.config.labels, &f.label_selector)
            })
            .map(|(id, c)| Self::container_view(id, c))
            .collect())
    }

    async fn container_status(&self, id: &str) -> Result<api::ContainerStatusResponse> {
        let st = self.lock();
        let c = st
            .containers
            .get(id)
            .ok_or_else(|| CriError::NotFound(id.into()))?;
        Ok(api::ContainerStatusResponse {
            status: Some(api::ContainerStatus {
                id: id.into(),
                metadata: c.config.metadata.clone(),
                state: c.state as i32,
                created_at: c.created_at,
                started_at: c.started_at,
                finished_at: c.finished_at,
                exit_code: c.exit_code,
                image: c.config.image.clone(),
                image_ref: c
                    .config
                    .image
                    .as_ref()
                    .map(|i| Self::image_id(&i.image))
                    .unwrap_or_default(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                labels: c.config.labels.clone(),
                annotations: c.config.annotations.clone(),
                mounts: c.config.mounts.clone(),
                log_path: c.config.log_path.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn update_container_resources(
        &self,
        _req: api::UpdateContainerResourcesRequest,
    ) -> Result<()> {
        Ok(())
    }

    async fn reopen_container_log(&self, _id: &str) -> Result<()> {
        Ok(())
    }

    async fn exec_sync(&self, req: api::ExecSyncRequest) -> Result<api::ExecSyncResponse> {
        let mut st = self.lock();
        let name = self.name_of(&st, &req.container_id);
        let cmd0 = req.cmd.first().cloned().unwrap_or_default();
        st.calls.push(format!("ExecSync {name} {cmd0}"));
        Ok(st.exec_results.get(&cmd0).cloned().unwrap_or_default())
    }

    async fn exec(&self, _req: api::ExecRequest) -> Result<api::ExecResponse> {
        Err(CriError::Status {
            code: 12,
            message: "fake runtime does not stream".into(),
        })
    }

    async fn attach(&self, _req: api::AttachRequest) -> Result<api::AttachResponse> {
        Err(CriError::Status {
            code: 12,
            message: "fake runtime does not stream".into(),
        })
    }

    async fn port_forward(
        &self,
        _req: api::PortForwardRequest,
    ) -> Result<api::PortForwardResponse> {
        Err(CriError::Status {
            code: 12,
            message: "fake runtime does not stream".into(),
        })
    }

    async fn list_container_stats(
        &self,
        _filter: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        let st = self.lock();
        let now = now_ns();
        // Like containerd: running containers only.
        Ok(st
            .containers
            .iter()
            .filter(|(_, c)| c.state == api::ContainerState::ContainerRunning)
            .map(|(id, c)| {
                let stats = st
                    .stats
                    .get(&c.config.metadata.clone().unwrap_or_default().name);
                api::ContainerStats {
                    attributes: Some(api::ContainerAttributes {
                        id: id.clone(),
                        metadata: c.config.metadata.clone(),
                        labels: c.config.labels.clone(),
                        annotations: c.config.annotations.clone(),
                    }),
                    cpu: stats.map(|&(cpu, _)| api::CpuUsage {
                        timestamp: now,
                        usage_core_nano_seconds: Some(api::UInt64Value { value: cpu }),
                        usage_nano_cores: None,
                    }),
                    memory: stats.map(|&(_, ws)| api::MemoryUsage {
                        timestamp: now,
                        working_set_bytes: Some(api::UInt64Value { value: ws }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect())
    }

    async fn list_pod_sandbox_stats(
        &self,
        _filter: Option<api::PodSandboxStatsFilter>,
    ) -> Result<Vec<api::PodSandboxStats>> {
        Ok(vec![])
    }

    async fn list_images(&self, _filter: Option<api::ImageFilter>) -> Result<Vec<api::Image>> {
        let st = self.lock();
        Ok(st
            .images
            .iter()
            .map(|i| api::Image {
                id: Self::image_id(i),
                repo_tags: vec![i.clone()],
                size: st.image_sizes.get(i).copied().unwrap_or(0),
                ..Default::default()
            })
            .collect())
    }

    async fn image_status(&self, image: &str) -> Result<Option<api::Image>> {
        let st = self.lock();
        Ok(st.images.get(image).map(|i| api::Image {
            id: Self::image_id(i),
            repo_tags: vec![i.clone()],
            ..Default::default()
        }))
    }

    async fn pull_image(&self, req: api::PullImageRequest) -> Result<String> {
        let image = req.image.map(|i| i.image).unwrap_or_default();
        let mut st = self.lock();
        st.calls.push(format!("PullImage {image}"));
        st.images.insert(image.clone());
        Ok(image)
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        let mut st = self.lock();
        // Accepts a name or the ID the fake reports for it.
        let name = st
            .images
            .iter()
            .find(|i| *i == image || Self::image_id(i) == image)
            .cloned();
        let Some(name) = name else {
            return Err(CriError::NotFound(image.into()));
        };
        st.images.remove(&name);
        st.calls.push(format!("RemoveImage {name}"));
        Ok(())
    }

    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse> {
        let st = self.lock();
        if st.image_fs_mountpoint.is_empty() {
            return Ok(api::ImageFsInfoResponse::default());
        }
        Ok(api::ImageFsInfoResponse {
            image_filesystems: vec![api::FilesystemUsage {
                fs_id: Some(api::FilesystemIdentifier {
                    mountpoint: st.image_fs_mountpoint.clone(),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
    }
}
