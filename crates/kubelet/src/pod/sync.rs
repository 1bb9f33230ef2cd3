//! One sync of one pod (upstream's SyncPod / SyncTerminatingPod /
//! SyncTerminatedPod): decide, kill, create the sandbox, start containers,
//! hand running containers to the prober, write the status; or terminate
//! the pod, clean up and confirm its deletion.

use super::actions::{self, ProbeView};
use super::runtime::{self, CState, PodRuntime};
use super::start::SandboxCtx;
use super::status::{self, ReadinessView, StatusInput};
use super::{Inner, PodWorkers, SyncError, container_hash, grace_period, lock};
use crate::cri::api;
use crate::probes::{ProbeManager, RunningContainer};
use informer::EventType;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use std::sync::Arc;
use std::time::Duration;

/// Resync a healthy pod this often.
pub const RESYNC: Duration = Duration::from_secs(10);

struct Probes<'a> {
    pm: &'a ProbeManager,
    uid: &'a str,
}

impl ProbeView for Probes<'_> {
    fn liveness(&self, c: &str) -> Option<bool> {
        self.pm.liveness(self.uid, c)
    }
    fn started(&self, c: &str) -> Option<bool> {
        self.pm.started(self.uid, c)
    }
    fn restart_reason(&self, c: &str) -> Option<String> {
        self.pm.should_restart(self.uid, c)
    }
}

impl ReadinessView for Probes<'_> {
    fn ready(&self, c: &str) -> Option<bool> {
        self.pm.readiness(self.uid, c)
    }
    fn started(&self, c: &str) -> Option<bool> {
        self.pm.started(self.uid, c)
    }
}

fn is_terminal_phase(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl PodWorkers {
    /// Sync pod `uid`; `Ok(Some(d))` asks to be synced again after `d`.
    pub async fn sync(&self, uid: &str) -> Result<Option<Duration>, SyncError> {
        let inner = &self.inner;
        let Some(entry) = self.entry(uid) else {
            inner.remove_orphan(uid).await?;
            return Ok(None);
        };
        let pod = entry.pod;
        if entry.removed {
            let rt = runtime::gather(&inner.cri, uid).await?;
            inner.probes.remove_pod(uid);
            inner.kill_pod(&pod, &rt, grace_period(&pod).min(2)).await;
            inner.remove_runtime(&rt).await;
            inner.cleanup(uid).await;
            inner.forget(uid);
            return Ok(None);
        }
        if pod.metadata.deletion_timestamp.is_some() || is_terminal_phase(&pod) {
            return inner.terminate(&pod, uid).await;
        }
        inner.sync_running(&pod, uid).await
    }
}

impl Inner {
    pub(crate) fn forget(&self, uid: &str) {
        lock(&self.pods).remove(uid);
        lock(&self.failures).remove(uid);
        lock(&self.written).remove(uid);
        lock(&self.mirrors).remove(uid);
        self.backoff.forget_pod(uid);
    }

    /// A deleted or finished pod: stop everything, write the final status,
    /// clean up, and confirm a deletion to the API.
    async fn terminate(&self, pod: &Arc<Pod>, uid: &str) -> Result<Option<Duration>, SyncError> {
        let rt = runtime::gather(&self.cri, uid).await?;
        self.probes.remove_pod(uid);
        if rt.any_running() || rt.sandboxes.iter().any(|s| s.ready) {
            self.kill_pod(pod, &rt, grace_period(pod)).await;
        }
        let rt = runtime::gather(&self.cri, uid).await?;
        if rt.any_running() {
            return Ok(Some(Duration::from_secs(1)));
        }
        self.write_status(pod, &rt, false).await?;
        self.cleanup(uid).await;
        if pod.metadata.deletion_timestamp.is_some() {
            self.remove_runtime(&rt).await;
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid.to_string()),
                    resource_version: None,
                }),
                ..Default::default()
            };
            match Api::<Pod>::namespaced(self.client.clone(), ns)
                .delete(name, &dp)
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    async fn sync_running(&self, pod: &Arc<Pod>, uid: &str) -> Result<Option<Duration>, SyncError> {
        let mut rt = runtime::gather(&self.cri, uid).await?;
        let mut volumes = match self.volumes.setup(pod).await {
            Ok(v) => v,
            Err(e) => {
                self.recorder.event(
                    pod.as_ref(),
                    EventType::Warning,
                    "FailedMount",
                    format!("MountVolume.SetUp failed: {e}"),
                );
                self.write_status(pod, &rt, rt.any_running()).await?;
                return Err(e.into());
            }
        };
        let probes = Probes {
            pm: &self.probes,
            uid,
        };
        let acts = actions::compute(pod, &rt, &probes, &container_hash);
        let grace = grace_period(pod);

        if acts.kill_pod {
            if acts.create_sandbox && rt.latest_sandbox().is_some() {
                self.recorder.event(
                    pod.as_ref(),
                    EventType::Normal,
                    "SandboxChanged",
                    "Pod sandbox changed, it will be killed and re-created.",
                );
            }
            self.kill_pod(pod, &rt, grace).await;
            if !acts.create_sandbox {
                // The pod is done: nothing will run again.
                self.probes.remove_pod(uid);
                let rt = runtime::gather(&self.cri, uid).await?;
                self.write_status(pod, &rt, rt.any_running()).await?;
                if !rt.any_running() {
                    self.cleanup(uid).await;
                    return Ok(None);
                }
                return Ok(Some(Duration::from_secs(1)));
            }
            rt = runtime::gather(&self.cri, uid).await?;
        }
        let ip0 = rt.pod_ip().map(str::to_string);
        for k in &acts.kill {
            self.kill_container(pod, &k.id, &k.name, grace, &k.message, ip0.as_deref())
                .await;
        }
        if !acts.kill.is_empty() {
            rt = runtime::gather(&self.cri, uid).await?;
        }
        self.prune(&rt).await;

        let cgroup_parent = crate::container::pod_cgroup_parent(pod, &self.cfg.cgroup_root);
        let attempt = if acts.create_sandbox {
            acts.sandbox_attempt
        } else {
            rt.latest_sandbox().map_or(0, |s| s.attempt)
        };
        let sb_config = super::sandbox::sandbox_config(
            &self.cfg,
            pod,
            attempt,
            &cgroup_parent,
            super::sandbox::host_dns(),
        );
        let sandbox_key = format!("{uid}/sandbox");
        let now_ms = jiff::Timestamp::now().as_millisecond();
        if acts.create_sandbox
            && let Some(left) = self.backoff.waiting(&sandbox_key, now_ms)
        {
            // The last attempt failed (CNI, runtime): wait, however often
            // the relist wakes this pod up.
            self.write_status(pod, &rt, rt.any_running()).await?;
            return Ok(Some(left));
        }
        if acts.create_sandbox {
            if let Err(e) = tokio::fs::create_dir_all(&sb_config.log_directory).await {
                tracing::debug!("log directory: {e}");
            }
            if let Err(e) = self
                .cri
                .run_pod_sandbox(api::RunPodSandboxRequest {
                    config: Some(sb_config.clone()),
                    runtime_handler: String::new(),
                })
                .await
            {
                self.recorder.event(
                    pod.as_ref(),
                    EventType::Warning,
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {e}"),
                );
                self.backoff.next(&sandbox_key, now_ms);
                self.write_status(pod, &rt, rt.any_running()).await?;
                return Err(e.into());
            }
            self.backoff.reset(&sandbox_key);
            rt = runtime::gather(&self.cri, uid).await?;
        }
        let Some(sb) = rt.latest_sandbox().filter(|s| s.ready).cloned() else {
            return Err(SyncError::Other("sandbox not ready".into()));
        };
        let ip = sb.ip.clone();
        let host_network = pod
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false);
        if !host_network {
            let ips: Vec<String> = ip.iter().cloned().collect();
            if let Err(e) = volumes.write_etc_hosts(pod, &ips) {
                tracing::warn!(pod = %super::format_pod(pod), "/etc/hosts: {e}");
            }
        }
        let sctx = SandboxCtx {
            id: &sb.id,
            config: &sb_config,
            ip: ip.as_deref(),
            cgroup_parent: &cgroup_parent,
        };

        let spec = pod.spec.clone().unwrap_or_default();
        let inits = spec.init_containers.clone().unwrap_or_default();
        let mut requeue = RESYNC;
        let mut started_any = false;
        let mut to_start: Vec<&k8s_openapi::api::core::v1::Container> = acts
            .init_to_start
            .iter()
            .filter_map(|&i| inits.get(i))
            .collect();
        to_start.extend(
            acts.containers_to_start
                .iter()
                .filter_map(|&i| spec.containers.get(i)),
        );
        for c in to_start {
            match self.start_container(pod, c, &rt, &sctx, &volumes).await {
                Ok(()) => {
                    started_any = true;
                    if let Some(m) = lock(&self.failures).get_mut(uid) {
                        m.remove(&c.name);
                    }
                }
                Err((f, left)) => {
                    lock(&self.failures)
                        .entry(uid.to_string())
                        .or_default()
                        .insert(c.name.clone(), f);
                    requeue = requeue.min(left.unwrap_or(Duration::from_secs(2)));
                    // An init container that failed to start holds back the next one.
                    if inits.iter().any(|i| i.name == c.name) && !actions::is_sidecar(c) {
                        break;
                    }
                }
            }
        }
        if started_any {
            rt = runtime::gather(&self.cri, uid).await?;
            requeue = requeue.min(Duration::from_secs(1));
        }
        let running: Vec<RunningContainer> = rt
            .containers
            .iter()
            .filter(|c| c.state == CState::Running)
            .map(|c| RunningContainer {
                name: c.name.clone(),
                container_id: c.id.clone(),
                started_at: jiff::Timestamp::from_nanosecond(c.started_at as i128)
                    .unwrap_or_else(|_| jiff::Timestamp::now()),
            })
            .collect();
        self.probes.sync_pod(pod, ip.as_deref(), &running);
        self.write_status(pod, &rt, rt.any_running()).await?;
        Ok(Some(requeue))
    }

    /// Generate the status and patch it when it differs from what was last written.
    pub(crate) async fn write_status(
        &self,
        pod: &Pod,
        rt: &PodRuntime,
        could_run: bool,
    ) -> Result<(), SyncError> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let failures = lock(&self.failures).get(&uid).cloned().unwrap_or_default();
        let probes = Probes {
            pm: &self.probes,
            uid: &uid,
        };
        let host_ip = self.cfg.node_ip.to_string();
        let st = status::generate(
            &StatusInput {
                pod,
                rt,
                probes: &probes,
                failures: &failures,
                host_ip: &host_ip,
                qos_class: crate::container::qos_class(pod),
                now: jiff::Timestamp::now(),
            },
            could_run,
        );
        if lock(&self.written).get(&uid) == Some(&st) {
            return Ok(());
        }
        if pod.status.as_ref() == Some(&st) {
            lock(&self.written).insert(uid, st);
            return Ok(());
        }
        // A static pod's status goes to its mirror pod, once there is one.
        let api_uid = if super::is_static(pod) {
            match lock(&self.mirrors).get(&uid) {
                Some(m) => m.clone(),
                None => return Ok(()),
            }
        } else {
            uid.clone()
        };
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let patch = serde_json::json!({
            "metadata": {"uid": api_uid},
            "status": st,
        });
        match Api::<Pod>::namespaced(self.client.clone(), ns)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                lock(&self.written).insert(uid, st);
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
