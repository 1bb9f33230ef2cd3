//! What a sync must do to a pod (upstream's computePodActions and
//! computeInitContainerActions): create or recreate the sandbox, which init,
//! sidecar and regular containers to start, which to kill, or kill the whole
//! pod because it is done.

use super::runtime::{CState, PodRuntime};
use k8s_openapi::api::core::v1::{Container, Pod};

/// Probe results the decision needs, by container name.
pub trait ProbeView {
    /// `Some(false)`: the liveness probe failed.
    fn liveness(&self, container: &str) -> Option<bool>;
    /// `Some(true)`: started (startup probe passed, or none).
    fn started(&self, container: &str) -> Option<bool>;
    /// Why the probes want the running container restarted (failed
    /// liveness or startup probe), in upstream's Killing wording.
    fn restart_reason(&self, container: &str) -> Option<String> {
        (self.liveness(container) == Some(false))
            .then(|| format!("Container {container} failed liveness probe"))
    }
}

/// No probe results at all (every container alive and started).
pub struct NoProbes;

impl ProbeView for NoProbes {
    fn liveness(&self, _: &str) -> Option<bool> {
        None
    }
    fn started(&self, _: &str) -> Option<bool> {
        Some(true)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillInfo {
    pub id: String,
    pub name: String,
    /// The Killing event's message.
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodActions {
    /// Kill the sandbox and every container (before recreating the sandbox
    /// when `create_sandbox`, for good otherwise).
    pub kill_pod: bool,
    pub create_sandbox: bool,
    pub sandbox_attempt: u32,
    /// Indices into spec.initContainers, in spec order.
    pub init_to_start: Vec<usize>,
    /// Indices into spec.containers.
    pub containers_to_start: Vec<usize>,
    pub kill: Vec<KillInfo>,
}

pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

pub fn should_restart_on_failure(pod: &Pod) -> bool {
    restart_policy(pod) != "Never"
}

pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

pub fn is_host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}

/// Upstream's ShouldContainerBeRestarted.
pub fn should_container_be_restarted(c: &Container, pod: &Pod, rt: &PodRuntime) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let Some(st) = rt.latest(&c.name) else {
        return true;
    };
    match st.state {
        CState::Running => false,
        CState::Unknown | CState::Created => true,
        CState::Exited => match restart_policy(pod) {
            "Never" => false,
            "OnFailure" => st.exit_code != 0,
            _ => true,
        },
    }
}

fn sandbox_changed(pod: &Pod, rt: &PodRuntime) -> (bool, u32) {
    let Some(latest) = rt.latest_sandbox() else {
        return (true, 0);
    };
    let ready = rt.sandboxes.iter().filter(|s| s.ready).count();
    let changed = ready > 1 || !latest.ready || (!is_host_network(pod) && latest.ip.is_none());
    (changed, latest.attempt + 1)
}

/// Decide the actions for `pod` given its runtime state. `hash` is the spec
/// hash of a container (a running container whose hash differs is restarted).
pub fn compute(
    pod: &Pod,
    rt: &PodRuntime,
    probes: &dyn ProbeView,
    hash: &dyn Fn(&Container) -> String,
) -> PodActions {
    let empty = Default::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty);
    let (create, attempt) = sandbox_changed(pod, rt);
    let mut a = PodActions {
        kill_pod: create,
        create_sandbox: create,
        sandbox_attempt: if create { attempt } else { 0 },
        ..Default::default()
    };
    if create {
        if !should_restart_on_failure(pod) && attempt != 0 && !rt.containers.is_empty() {
            // A Never pod whose sandbox died is not started again.
            a.create_sandbox = false;
            return a;
        }
        if !spec
            .init_containers
            .as_deref()
            .unwrap_or_default()
            .is_empty()
        {
            a.init_to_start = vec![0];
            return a;
        }
        a.containers_to_start = spec
            .containers
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                !(restart_policy(pod) == "OnFailure"
                    && rt
                        .latest(&c.name)
                        .is_some_and(|s| s.state == CState::Exited && s.exit_code == 0))
            })
            .map(|(i, _)| i)
            .collect();
        return a;
    }

    let initialized = init_actions(pod, rt, probes, hash, &mut a);
    if a.kill_pod || !initialized {
        return a;
    }

    let mut keep = 0;
    for (idx, c) in spec.containers.iter().enumerate() {
        let st = rt.latest(&c.name);
        let Some(st) = st.filter(|s| s.state == CState::Running) else {
            if should_container_be_restarted(c, pod, rt) {
                a.containers_to_start.push(idx);
                if let Some(s) = st.filter(|s| s.state == CState::Unknown) {
                    a.kill.push(KillInfo {
                        id: s.id.clone(),
                        name: c.name.clone(),
                        message: format!(
                            "Container {} is in unknown state, will be restarted",
                            c.name
                        ),
                    });
                }
            }
            continue;
        };
        let mut restart = should_restart_on_failure(pod);
        let message = if !st.hash.is_empty() && st.hash != hash(c) {
            restart = true;
            format!("Container {} definition changed", c.name)
        } else if let Some(reason) = probes.restart_reason(&c.name) {
            reason
        } else {
            keep += 1;
            continue;
        };
        let message = if restart {
            a.containers_to_start.push(idx);
            format!("{message}, will be restarted")
        } else {
            message
        };
        a.kill.push(KillInfo {
            id: st.id.clone(),
            name: c.name.clone(),
            message,
        });
    }
    if keep == 0 && a.containers_to_start.is_empty() {
        a.kill_pod = true;
        a.init_to_start.clear();
    }
    a
}

fn init_failed(s: &super::runtime::ContainerInfo) -> bool {
    match s.state {
        CState::Exited => s.exit_code != 0,
        CState::Unknown => true,
        _ => false,
    }
}

/// Upstream's computeInitContainerActions (with restartable init
/// containers); returns whether the pod has been initialized.
fn init_actions(
    pod: &Pod,
    rt: &PodRuntime,
    probes: &dyn ProbeView,
    hash: &dyn Fn(&Container) -> String,
    a: &mut PodActions,
) -> bool {
    let empty = Default::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty);
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    if inits.is_empty() {
        return true;
    }
    // A regular container created or running means initialization happened
    // (its init containers may have been removed since).
    let mut initialized = spec.containers.iter().any(|c| {
        rt.latest(&c.name)
            .is_some_and(|s| matches!(s.state, CState::Created | CState::Running))
    });
    let mut previously = initialized;
    let restart_on_failure = should_restart_on_failure(pod);
    let mut to_start: Vec<usize> = Vec::new();
    let last = inits.len() - 1;

    for i in (0..inits.len()).rev() {
        let c = &inits[i];
        let sidecar = is_sidecar(c);
        let Some(st) = rt.latest(&c.name) else {
            if previously && sidecar {
                to_start.push(i);
            }
            continue;
        };
        if previously && !sidecar {
            continue;
        }
        match st.state {
            CState::Created => to_start.push(i),
            CState::Running => {
                if sidecar {
                    'sc: {
                        if c.startup_probe.is_some() && probes.started(&c.name) != Some(true) {
                            break 'sc;
                        }
                        if i == last {
                            initialized = true;
                        } else if !previously {
                            to_start.push(i + 1);
                        }
                        if !st.hash.is_empty() && st.hash != hash(c) {
                            a.kill.push(KillInfo {
                                id: st.id.clone(),
                                name: c.name.clone(),
                                message: format!(
                                    "Init container {} definition changed, will be restarted",
                                    c.name
                                ),
                            });
                            to_start.push(i);
                            break 'sc;
                        }
                        if c.liveness_probe.is_some() && probes.liveness(&c.name) == Some(false) {
                            a.kill.push(KillInfo {
                                id: st.id.clone(),
                                name: c.name.clone(),
                                message: format!(
                                    "Init container {} failed liveness probe, will be restarted",
                                    c.name
                                ),
                            });
                            to_start.push(i);
                        }
                    }
                }
            }
            CState::Exited => {
                if sidecar {
                    to_start.push(i);
                } else if init_failed(st) {
                    if !restart_on_failure {
                        a.kill_pod = true;
                        a.init_to_start.clear();
                        return false;
                    }
                    to_start.push(i);
                } else if i == last {
                    initialized = true;
                } else {
                    to_start.push(i + 1);
                }
            }
            CState::Unknown => {
                if sidecar || init_failed(st) {
                    if !sidecar && !restart_on_failure {
                        a.kill_pod = true;
                        a.init_to_start.clear();
                        return false;
                    }
                    a.kill.push(KillInfo {
                        id: st.id.clone(),
                        name: c.name.clone(),
                        message: format!(
                            "Init container {} is in unknown state, will be restarted",
                            c.name
                        ),
                    });
                    to_start.push(i);
                }
            }
        }
        previously = true;
    }
    if !previously {
        to_start.push(0);
    }
    to_start.reverse();
    to_start.dedup();
    a.init_to_start = to_start;
    initialized
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
