//! What the runtime has of one pod right now (upstream's kubecontainer
//! PodStatus): its sandboxes and containers, newest first, with the details
//! status generation and the action computation need.

use crate::cri::{DynCri, api, labels};
use std::collections::HashMap;

/// A container's runtime state, as kubecontainer.State.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CState {
    Created,
    Running,
    Exited,
    Unknown,
}

impl CState {
    pub fn from_cri(state: i32) -> CState {
        match api::ContainerState::try_from(state) {
            Ok(api::ContainerState::ContainerCreated) => CState::Created,
            Ok(api::ContainerState::ContainerRunning) => CState::Running,
            Ok(api::ContainerState::ContainerExited) => CState::Exited,
            _ => CState::Unknown,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SandboxInfo {
    pub id: String,
    pub attempt: u32,
    pub ready: bool,
    /// Nanoseconds since the epoch.
    pub created_at: i64,
    pub ip: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ContainerInfo {
    pub id: String,
    pub sandbox_id: String,
    pub name: String,
    pub state: CState,
    /// Nanoseconds since the epoch (0 = never).
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
    pub exit_code: i32,
    pub reason: String,
    /// The runtime's message, then the termination message.
    pub message: String,
    pub image: String,
    pub image_ref: String,
    /// The spec hash it was created from (annotation).
    pub hash: String,
    pub restart_count: u32,
}

/// One pod's sandboxes and containers, newest first.
#[derive(Clone, Debug, Default)]
pub struct PodRuntime {
    pub sandboxes: Vec<SandboxInfo>,
    pub containers: Vec<ContainerInfo>,
}

impl PodRuntime {
    /// The newest instance of container `name`.
    pub fn latest(&self, name: &str) -> Option<&ContainerInfo> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn latest_sandbox(&self) -> Option<&SandboxInfo> {
        self.sandboxes.first()
    }

    pub fn any_running(&self) -> bool {
        self.containers
            .iter()
            .any(|c| matches!(c.state, CState::Running | CState::Unknown))
    }

    /// The pod's IP from its newest ready sandbox.
    pub fn pod_ip(&self) -> Option<&str> {
        self.sandboxes
            .iter()
            .find(|s| s.ready)
            .and_then(|s| s.ip.as_deref())
    }
}

/// The longest termination message kept (upstream: 4096 bytes; logs: 80 lines / 2048 bytes).
const MAX_MESSAGE: usize = 4096;
const MAX_LOG_LINES: usize = 80;
const MAX_LOG_BYTES: usize = 2048;

/// Read the runtime state of pod `uid`.
pub async fn gather(cri: &DynCri, uid: &str) -> crate::cri::Result<PodRuntime> {
    let sel: HashMap<String, String> = [(labels::POD_UID.to_string(), uid.to_string())].into();
    let sbs = cri
        .list_pod_sandbox(Some(api::PodSandboxFilter {
            label_selector: sel.clone(),
            ..Default::default()
        }))
        .await?;
    let mut sandboxes = Vec::new();
    for sb in sbs {
        let mut info = SandboxInfo {
            id: sb.id.clone(),
            attempt: sb.metadata.as_ref().map_or(0, |m| m.attempt),
            ready: sb.state == api::PodSandboxState::SandboxReady as i32,
            created_at: sb.created_at,
            ip: None,
        };
        if info.ready {
            match cri.pod_sandbox_status(&sb.id).await {
                Ok(st) => {
                    info.ip = st
                        .status
                        .and_then(|s| s.network)
                        .map(|n| n.ip)
                        .filter(|ip| !ip.is_empty());
                }
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        sandboxes.push(info);
    }
    sandboxes.sort_by_key(|c| std::cmp::Reverse(c.created_at));

    let cs = cri
        .list_containers(Some(api::ContainerFilter {
            label_selector: sel,
            ..Default::default()
        }))
        .await?;
    let mut containers = Vec::new();
    for c in cs {
        let st = match cri.container_status(&c.id).await {
            Ok(r) => match r.status {
                Some(s) => s,
                None => continue,
            },
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        containers.push(container_info(c.pod_sandbox_id.clone(), st).await);
    }
    containers.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    Ok(PodRuntime {
        sandboxes,
        containers,
    })
}

async fn container_info(sandbox_id: String, st: api::ContainerStatus) -> ContainerInfo {
    let ann = &st.annotations;
    let name = st
        .labels
        .get(labels::CONTAINER_NAME)
        .cloned()
        .or_else(|| st.metadata.as_ref().map(|m| m.name.clone()))
        .unwrap_or_default();
    let attempt = st.metadata.as_ref().map_or(0, |m| m.attempt);
    let restart_count = ann
        .get(labels::CONTAINER_RESTART_COUNT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(attempt);
    let state = CState::from_cri(st.state);
    let mut message = st.message.clone();
    if state == CState::Exited {
        let path = ann
            .get(labels::CONTAINER_TERMINATION_MESSAGE_PATH)
            .cloned()
            .unwrap_or_default();
        let fallback = ann
            .get(labels::CONTAINER_TERMINATION_MESSAGE_POLICY)
            .is_some_and(|p| p == "FallbackToLogsOnError")
            && st.exit_code != 0
            && st.reason != "ContainerCannotRun";
        let mut tmsg = termination_file(&st, &path).await;
        if tmsg.is_empty() && fallback {
            tmsg = log_tail(&st.log_path).await;
        }
        if !tmsg.is_empty() {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&tmsg);
        }
    }
    ContainerInfo {
        id: st.id.clone(),
        sandbox_id,
        name,
        state,
        created_at: st.created_at,
        started_at: st.started_at,
        finished_at: st.finished_at,
        exit_code: st.exit_code,
        reason: st.reason.clone(),
        message,
        image: st
            .image
            .as_ref()
            .map(|i| i.image.clone())
            .unwrap_or_default(),
        image_ref: st.image_ref.clone(),
        hash: ann.get(labels::CONTAINER_HASH).cloned().unwrap_or_default(),
        restart_count,
    }
}

/// The termination message file, through the mount at `path`.
async fn termination_file(st: &api::ContainerStatus, path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let Some(m) = st.mounts.iter().find(|m| m.container_path == path) else {
        return String::new();
    };
    match tokio::fs::read(&m.host_path).await {
        Ok(mut b) => {
            b.truncate(MAX_MESSAGE);
            String::from_utf8_lossy(&b).into_owned()
        }
        Err(_) => String::new(),
    }
}

/// The last lines of a CRI log file (`<time> <stream> <F|P> <text>`), as
/// upstream's FallbackToLogsOnError reads them.
async fn log_tail(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let Ok(b) = tokio::fs::read(path).await else {
        return String::new();
    };
    cri_log_tail(&String::from_utf8_lossy(&b))
}

pub fn cri_log_tail(content: &str) -> String {
    let lines: Vec<&str> = content.lines().collect();
    let start = lines.len().saturating_sub(MAX_LOG_LINES);
    let mut out = String::new();
    for l in &lines[start..] {
        let mut parts = l.splitn(4, ' ');
        let (_, _, tag, text) = (parts.next(), parts.next(), parts.next(), parts.next());
        out.push_str(text.unwrap_or(""));
        if tag != Some("P") {
            out.push('\n');
        }
    }
    if out.len() > MAX_LOG_BYTES {
        let mut cut = out.len() - MAX_LOG_BYTES;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_joins_partial_lines() {
        let s = "2024-01-01T00:00:00Z stdout P hel\n2024-01-01T00:00:00Z stdout F lo\n2024-01-01T00:00:01Z stderr F boom\n";
        assert_eq!(cri_log_tail(s), "hello\nboom\n");
    }
}
