//! Stopping things: one container (preStop, then SIGTERM with the rest of
//! the grace period), a whole pod (regular containers in parallel, then
//! sidecars in reverse order, then the sandbox), the cleanup after a pod
//! (volumes, pod cgroup directories in every v1 hierarchy), dead container
//! pruning, and runtime objects whose pod is gone.

use super::actions::is_sidecar;
use super::runtime::{CState, PodRuntime};
use super::{Inner, grace_period};
use crate::cri::labels;
use informer::EventType;
use k8s_openapi::api::core::v1::Pod;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Upstream's minimum grace left for the stop after a preStop hook.
const MIN_GRACE_AFTER_HOOK: i64 = 2;

impl Inner {
    /// Stop container `id` (named `name`) of `pod` within `grace` seconds,
    /// running its preStop hook first.
    pub(crate) async fn kill_container(
        &self,
        pod: &Pod,
        id: &str,
        name: &str,
        grace: i64,
        message: &str,
        ip: Option<&str>,
    ) {
        self.recorder
            .event(pod, EventType::Normal, "Killing", message.to_string());
        let spec_c = pod.spec.as_ref().and_then(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
                .find(|c| c.name == name)
        });
        let mut left = grace;
        if let Some(h) = spec_c
            .and_then(|c| c.lifecycle.as_ref())
            .and_then(|l| l.pre_stop.as_ref())
            && grace > 0
        {
            let t0 = Instant::now();
            let hook = crate::probes::run_handler(&self.cri, pod, ip, id, h);
            match tokio::time::timeout(Duration::from_secs(grace as u64), hook).await {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => {
                    self.recorder
                        .event(pod, EventType::Warning, "FailedPreStopHook", msg);
                }
                Err(_) => tracing::debug!(name, "preStop hook timed out"),
            }
            left = (grace - t0.elapsed().as_secs() as i64).max(MIN_GRACE_AFTER_HOOK);
        }
        if let Err(e) = self.cri.stop_container(id, left).await
            && !e.is_not_found()
        {
            tracing::warn!(name, "stopping container: {e}");
        }
    }

    /// Stop every running container of `pod` and its sandboxes.
    pub(crate) async fn kill_pod(&self, pod: &Pod, rt: &PodRuntime, grace: i64) {
        let ip = rt.pod_ip().map(str::to_string);
        let running: Vec<_> = rt
            .containers
            .iter()
            .filter(|c| matches!(c.state, CState::Running | CState::Created | CState::Unknown))
            .collect();
        let sidecars: HashSet<String> = pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.clone())
            .unwrap_or_default()
            .iter()
            .filter(|c| is_sidecar(c))
            .map(|c| c.name.clone())
            .collect();
        let t0 = Instant::now();
        let regular = running
            .iter()
            .filter(|c| !sidecars.contains(&c.name))
            .map(|c| {
                let msg = format!("Stopping container {}", c.name);
                let ip = ip.clone();
                async move {
                    self.kill_container(pod, &c.id, &c.name, grace, &msg, ip.as_deref())
                        .await
                }
            });
        futures::future::join_all(regular).await;
        // Sidecars stop after the containers they serve, last started first.
        let order: Vec<String> = pod
            .spec
            .as_ref()
            .and_then(|s| s.init_containers.clone())
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|c| c.name.clone())
            .collect();
        for name in order {
            for c in running
                .iter()
                .filter(|c| c.name == name && sidecars.contains(&name))
            {
                let left = (grace - t0.elapsed().as_secs() as i64).max(MIN_GRACE_AFTER_HOOK);
                let msg = format!("Stopping container {}", c.name);
                self.kill_container(pod, &c.id, &c.name, left, &msg, ip.as_deref())
                    .await;
            }
        }
        for sb in &rt.sandboxes {
            if sb.ready
                && let Err(e) = self.cri.stop_pod_sandbox(&sb.id).await
                && !e.is_not_found()
            {
                tracing::warn!("stopping sandbox {}: {e}", sb.id);
            }
        }
    }

    /// Remove every sandbox (and so every container) of the pod.
    pub(crate) async fn remove_runtime(&self, rt: &PodRuntime) {
        for c in &rt.containers {
            if let Err(e) = self.cri.remove_container(&c.id).await
                && !e.is_not_found()
            {
                tracing::debug!("removing container {}: {e}", c.id);
            }
        }
        for sb in &rt.sandboxes {
            if let Err(e) = self.cri.stop_pod_sandbox(&sb.id).await
                && !e.is_not_found()
            {
                tracing::debug!("stopping sandbox {}: {e}", sb.id);
            }
            if let Err(e) = self.cri.remove_pod_sandbox(&sb.id).await
                && !e.is_not_found()
            {
                tracing::debug!("removing sandbox {}: {e}", sb.id);
            }
        }
    }

    /// Keep the newest dead instance of each container (for `logs
    /// --previous`) and remove older ones; remove dead sandboxes that no
    /// longer hold a container.
    pub(crate) async fn prune(&self, rt: &PodRuntime) {
        let mut dead_seen: HashMap<&str, u32> = HashMap::new();
        let mut kept_sandboxes: HashSet<&str> = HashSet::new();
        if let Some(sb) = rt.latest_sandbox() {
            kept_sandboxes.insert(&sb.id);
        }
        for c in &rt.containers {
            if c.state != CState::Exited {
                kept_sandboxes.insert(&c.sandbox_id);
                continue;
            }
            let n = dead_seen.entry(c.name.as_str()).or_default();
            *n += 1;
            if *n > 1 {
                if let Err(e) = self.cri.remove_container(&c.id).await
                    && !e.is_not_found()
                {
                    tracing::debug!("removing dead container {}: {e}", c.id);
                }
            } else {
                kept_sandboxes.insert(&c.sandbox_id);
            }
        }
        for sb in &rt.sandboxes {
            if !sb.ready && !kept_sandboxes.contains(sb.id.as_str()) {
                let _ = self.cri.remove_pod_sandbox(&sb.id).await;
            }
        }
    }

    /// After the pod stopped: its volumes and its cgroup directories.
    pub(crate) async fn cleanup(&self, uid: &str) {
        if let Err(e) = self.volumes.teardown(uid).await {
            tracing::warn!(uid, "tearing down volumes: {e}");
        }
        let root = self.cfg.cgroup_root.clone();
        let uid = uid.to_string();
        let _ = tokio::task::spawn_blocking(move || remove_pod_cgroups(&root, &uid)).await;
    }

    /// Stop and remove whatever the runtime holds of pod `uid` when no pod
    /// object is known (adoption of leftovers, force deletions).
    pub(crate) async fn remove_orphan(&self, uid: &str) -> crate::cri::Result<()> {
        let rt = super::runtime::gather(&self.cri, uid).await?;
        let grace = orphan_grace(&self.cri, &rt).await;
        for c in rt.containers.iter().filter(|c| c.state != CState::Exited) {
            if let Err(e) = self.cri.stop_container(&c.id, grace).await
                && !e.is_not_found()
            {
                tracing::debug!("stopping orphan container {}: {e}", c.id);
            }
        }
        self.remove_runtime(&rt).await;
        self.cleanup(uid).await;
        Ok(())
    }
}

async fn orphan_grace(cri: &crate::cri::DynCri, rt: &PodRuntime) -> i64 {
    let Some(sb) = rt.latest_sandbox() else {
        return 2;
    };
    let Ok(st) = cri.pod_sandbox_status(&sb.id).await else {
        return 2;
    };
    st.status
        .and_then(|s| {
            s.annotations
                .get(labels::POD_TERMINATION_GRACE_PERIOD)
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(2)
}

/// The grace period of a pod that is being terminated.
pub fn termination_grace(pod: &Pod) -> i64 {
    grace_period(pod)
}

/// The pod's cgroup parents under every QoS level.
pub fn pod_cgroup_candidates(root: &str, uid: &str) -> Vec<String> {
    ["", "/burstable", "/besteffort"]
        .iter()
        .map(|q| format!("{root}{q}/pod{uid}"))
        .collect()
}

/// rmdir the pod's cgroup directories (deepest first) in every v1 hierarchy.
fn remove_pod_cgroups(root: &str, uid: &str) {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let parents = pod_cgroup_candidates(root, uid);
    for h in hierarchies.flatten() {
        let base = h.path();
        for p in &parents {
            let dir = base.join(p.trim_start_matches('/'));
            if dir.is_dir() {
                rmdir_tree(&dir);
            }
        }
    }
}

fn rmdir_tree(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_tree(&e.path());
            }
        }
    }
    if let Err(e) = std::fs::remove_dir(dir) {
        tracing::debug!("rmdir {}: {e}", dir.display());
    }
}
