//! Starting one container of a pod (upstream's startContainer): crash-loop
//! back-off, the image, the config, create, start, postStart. A failure
//! becomes the container's waiting reason (CrashLoopBackOff, ErrImagePull,
//! CreateContainerConfigError, CreateContainerError, RunContainerError,
//! PostStartHookError).

use super::runtime::{CState, PodRuntime};
use super::status::StartFailure;
use super::{Inner, backoff, container_hash, format_pod};
use crate::container::{ContainerContext, EnvSources, container_config};
use crate::cri::{api, labels};
use crate::images::PullError;
use async_trait::async_trait;
use informer::EventType;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};
use kube::Api;
use std::time::Duration;

/// Env sources read through the API.
pub struct ApiEnvSources(pub kube::Client);

#[async_trait]
impl EnvSources for ApiEnvSources {
    async fn config_map(&self, namespace: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        Api::<ConfigMap>::namespaced(self.0.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|e| e.to_string())
    }
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, String> {
        Api::<Secret>::namespaced(self.0.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|e| e.to_string())
    }
    async fn services(&self, namespace: &str) -> Result<Vec<Service>, String> {
        Api::<Service>::namespaced(self.0.clone(), namespace)
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .map_err(|e| e.to_string())
    }
}

/// What a sync knows about the pod's sandbox when it starts containers.
pub struct SandboxCtx<'a> {
    pub id: &'a str,
    pub config: &'a api::PodSandboxConfig,
    pub ip: Option<&'a str>,
    pub cgroup_parent: &'a str,
}

fn fail(reason: &str, message: impl Into<String>) -> StartFailure {
    StartFailure {
        reason: reason.into(),
        message: message.into(),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Inner {
    /// Start `c`; a failure says why, and how long a back-off has left.
    pub(crate) async fn start_container(
        &self,
        pod: &Pod,
        c: &Container,
        rt: &PodRuntime,
        sb: &SandboxCtx<'_>,
        volumes: &crate::volumes::PodVolumes,
    ) -> Result<(), (StartFailure, Option<Duration>)> {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let hash = container_hash(c);
        let latest = rt.latest(&c.name);

        if let Some(l) = latest.filter(|l| l.state == CState::Exited) {
            let key = backoff::key(uid, &c.name, &hash);
            let finished = l.finished_at / 1_000_000;
            if let Some((cur, left)) = self.backoff.in_backoff_since(&key, finished, now_ms()) {
                self.recorder.event(
                    pod,
                    EventType::Warning,
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {}",
                        c.name,
                        format_pod(pod)
                    ),
                );
                let msg = format!(
                    "back-off {} restarting failed container={} pod={}",
                    backoff::go_duration(cur),
                    c.name,
                    format_pod(pod)
                );
                return Err((fail("CrashLoopBackOff", msg), Some(left)));
            }
            self.backoff.next(&key, finished);
        }

        let secrets = self.pull_secrets(pod).await;
        let image = match self.puller.ensure_image(pod, c, &secrets).await {
            Ok(i) => i,
            Err(PullError::Failed { reason, message }) => {
                // Upstream's caller-side event beside the puller's own.
                self.recorder.event(
                    pod,
                    EventType::Warning,
                    "Failed",
                    format!("Error: {reason}"),
                );
                return Err((fail(reason, message), None));
            }
        };

        let restart_count = latest.map_or(0, |l| l.restart_count + 1);
        let mut mounts = volumes
            .mounts_for(c)
            .map_err(|e| (fail("CreateContainerConfigError", e.to_string()), None))?;
        // The volumes already mount a fresh termination-log file; older
        // volume code did not, so add one only when it is missing.
        let tpath = c
            .termination_message_path
            .as_deref()
            .unwrap_or("/dev/termination-log");
        if !mounts.iter().any(|m| m.container_path == tpath)
            && let Some(m) = self.termination_log_mount(uid, c, restart_count).await
        {
            mounts.push(m);
        }
        let log_dir = std::path::Path::new(&sb.config.log_directory).join(&c.name);
        if let Err(e) = tokio::fs::create_dir_all(&log_dir).await {
            tracing::debug!("creating {}: {e}", log_dir.display());
        }
        let sources = ApiEnvSources(self.client.clone());
        let host_ip = self.cfg.node_ip.to_string();
        let ctx = ContainerContext {
            pod,
            pod_ip: sb.ip,
            host_ip: &host_ip,
            node_name: &self.cfg.node_name,
            mounts,
            restart_count,
            image: &image,
            log_path: format!("{}/{restart_count}.log", c.name),
            cgroup_parent: sb.cgroup_parent,
            sources: &sources,
        };
        let mut config = container_config(&ctx, c)
            .await
            .map_err(|e| (fail("CreateContainerConfigError", e.to_string()), None))?;
        if config.metadata.is_none() {
            config.metadata = Some(api::ContainerMetadata {
                name: c.name.clone(),
                attempt: restart_count,
            });
        }
        let m = &pod.metadata;
        for (k, v) in [
            (labels::POD_NAME, m.name.clone().unwrap_or_default()),
            (
                labels::POD_NAMESPACE,
                m.namespace.clone().unwrap_or_default(),
            ),
            (labels::POD_UID, uid.to_string()),
            (labels::CONTAINER_NAME, c.name.clone()),
        ] {
            config.labels.insert(k.into(), v);
        }
        let policy = c
            .termination_message_policy
            .clone()
            .unwrap_or_else(|| "File".into());
        let path = c
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into());
        for (k, v) in [
            (labels::CONTAINER_HASH, hash.clone()),
            (labels::CONTAINER_RESTART_COUNT, restart_count.to_string()),
            (labels::CONTAINER_TERMINATION_MESSAGE_PATH, path),
            (labels::CONTAINER_TERMINATION_MESSAGE_POLICY, policy),
        ] {
            config.annotations.insert(k.into(), v);
        }

        let id = match self
            .cri
            .create_container(api::CreateContainerRequest {
                pod_sandbox_id: sb.id.to_string(),
                config: Some(config),
                sandbox_config: Some(sb.config.clone()),
            })
            .await
        {
            Ok(r) => r.container_id,
            Err(e) => {
                let msg = e.to_string();
                self.recorder
                    .event(pod, EventType::Warning, "Failed", format!("Error: {msg}"));
                return Err((fail("CreateContainerError", msg), None));
            }
        };
        self.recorder.event(
            pod,
            EventType::Normal,
            "Created",
            format!("Created container: {}", c.name),
        );
        if let Err(e) = self.cri.start_container(&id).await {
            let msg = e.to_string();
            self.recorder
                .event(pod, EventType::Warning, "Failed", format!("Error: {msg}"));
            return Err((fail("RunContainerError", msg), None));
        }
        self.recorder.event(
            pod,
            EventType::Normal,
            "Started",
            format!("Started container {}", c.name),
        );

        if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref())
            && let Err(msg) = crate::probes::run_handler(&self.cri, pod, sb.ip, &id, h).await
        {
            self.recorder
                .event(pod, EventType::Warning, "FailedPostStartHook", msg.clone());
            let grace = super::grace_period(pod);
            if let Err(e) = self.cri.stop_container(&id, grace).await {
                tracing::debug!("stopping {id} after postStart failure: {e}");
            }
            return Err((fail("PostStartHookError", msg), None));
        }
        Ok(())
    }

    async fn pull_secrets(&self, pod: &Pod) -> Vec<Secret> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let mut out = Vec::new();
        let refs = pod
            .spec
            .as_ref()
            .and_then(|s| s.image_pull_secrets.clone())
            .unwrap_or_default();
        for r in refs {
            if let Ok(Some(s)) = api.get_opt(&r.name).await {
                out.push(s);
            }
        }
        out
    }

    /// A fresh file under `ROOT/pods/<uid>/containers/<name>/` mounted at
    /// the container's terminationMessagePath.
    async fn termination_log_mount(
        &self,
        uid: &str,
        c: &Container,
        restart: u32,
    ) -> Option<api::Mount> {
        let path = c
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into());
        if path.is_empty() {
            return None;
        }
        let dir = self
            .cfg
            .root_dir
            .join("pods")
            .join(uid)
            .join("containers")
            .join(&c.name);
        let file = dir.join(format!("termination-log-{restart}"));
        let made = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(&file, b"").await
        }
        .await;
        if let Err(e) = made {
            tracing::debug!("termination log {}: {e}", file.display());
            return None;
        }
        Some(api::Mount {
            container_path: path,
            host_path: file.display().to_string(),
            ..Default::default()
        })
    }
}
