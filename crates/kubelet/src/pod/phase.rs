//! The pod phase from its container statuses, upstream's getPhase
//! (regular init containers, restartable init containers, then regular
//! containers, with the restart policy deciding between Running,
//! Succeeded and Failed).

use super::actions::is_sidecar;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};

pub(crate) fn waiting(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.waiting.is_some())
}
pub(crate) fn running(s: &ContainerStatus) -> bool {
    s.state.as_ref().is_some_and(|st| st.running.is_some())
}
pub(crate) fn terminated(s: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    s.state.as_ref().and_then(|st| st.terminated.as_ref())
}
pub(crate) fn last_terminated(s: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    s.last_state.as_ref().and_then(|st| st.terminated.as_ref())
}

/// Upstream's getPhase.
pub fn phase(
    pod: &Pod,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    terminal: bool,
) -> &'static str {
    let empty = Default::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty);
    let policy = super::actions::restart_policy(pod);
    let find = |list: &'_ [ContainerStatus], n: &str| list.iter().find(|s| s.name == n).cloned();
    let (mut pending_init, mut pending_sidecar, mut failed_init) = (0, 0, 0);
    let (mut unknown, mut run, mut wait, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    for c in inits.iter().filter(|c| !is_sidecar(c)) {
        let Some(s) = find(init, &c.name) else {
            pending_init += 1;
            continue;
        };
        if running(&s) {
            pending_init += 1;
        } else if let Some(t) = terminated(&s) {
            if t.exit_code != 0 {
                failed_init += 1;
            }
        } else if waiting(&s) {
            match last_terminated(&s) {
                Some(t) if t.exit_code != 0 => failed_init += 1,
                Some(_) => {}
                None => pending_init += 1,
            }
        } else {
            pending_init += 1;
        }
    }
    for c in inits.iter().filter(|c| is_sidecar(c)) {
        let Some(s) = find(init, &c.name) else {
            unknown += 1;
            continue;
        };
        if running(&s) {
            if s.started != Some(true) {
                pending_sidecar += 1;
            }
            run += 1;
        } else if terminated(&s).is_some() {
        } else if waiting(&s) {
            if last_terminated(&s).is_none() {
                pending_sidecar += 1;
                wait += 1;
            }
        } else {
            pending_sidecar += 1;
            unknown += 1;
        }
    }
    for c in &spec.containers {
        let Some(s) = find(regular, &c.name) else {
            unknown += 1;
            continue;
        };
        if running(&s) {
            run += 1;
        } else if let Some(t) = terminated(&s) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if waiting(&s) {
            if last_terminated(&s).is_some() {
                stopped += 1;
            } else {
                wait += 1;
            }
        } else {
            unknown += 1;
        }
    }
    if failed_init > 0 && policy == "Never" {
        return "Failed";
    }
    if pending_init > 0 || (pending_sidecar > 0 && !terminal) || wait > 0 {
        return "Pending";
    }
    if run > 0 && unknown == 0 {
        return "Running";
    }
    if run == 0 && stopped > 0 && unknown == 0 {
        if terminal {
            return if stopped == succeeded {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        if policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}
