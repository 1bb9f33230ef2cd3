//! The pod's API status from its runtime state, upstream's
//! generateAPIPodStatus: container statuses (with waiting reasons the sync
//! recorded), the phase by getPhase's rules, the conditions, IPs, start
//! time and QoS class.

use super::actions::{is_sidecar, should_container_be_restarted};
pub use super::phase::phase;
use super::phase::{last_terminated, running, terminated};
use super::runtime::{CState, ContainerInfo, PodRuntime};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::HashMap;

/// Readiness and startup results, by container name.
pub trait ReadinessView {
    fn ready(&self, container: &str) -> Option<bool>;
    fn started(&self, container: &str) -> Option<bool>;
}

/// Why the last start of a container failed (upstream's reasonCache).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartFailure {
    pub reason: String,
    pub message: String,
}

pub struct StatusInput<'a> {
    pub pod: &'a Pod,
    pub rt: &'a PodRuntime,
    pub probes: &'a dyn ReadinessView,
    pub failures: &'a HashMap<String, StartFailure>,
    pub host_ip: &'a str,
    pub qos_class: &'a str,
    pub now: jiff::Timestamp,
}

fn ts(ns: i64) -> Option<Time> {
    if ns <= 0 {
        return None;
    }
    jiff::Timestamp::from_nanosecond(ns as i128)
        .ok()
        .map(|t| Time(t.round(jiff::Unit::Second).unwrap_or(t)))
}

fn convert(c: &ContainerInfo) -> ContainerStatus {
    let cid = format!("containerd://{}", c.id);
    let state = match c.state {
        CState::Running => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: ts(c.started_at),
            }),
            ..Default::default()
        },
        CState::Exited => ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: c.exit_code,
                reason: Some(c.reason.clone()).filter(|r| !r.is_empty()),
                message: Some(c.message.clone()).filter(|m| !m.is_empty()),
                started_at: ts(c.started_at),
                finished_at: ts(c.finished_at),
                container_id: Some(cid.clone()),
                signal: None,
            }),
            ..Default::default()
        },
        _ => ContainerState {
            waiting: Some(ContainerStateWaiting::default()),
            ..Default::default()
        },
    };
    ContainerStatus {
        name: c.name.clone(),
        restart_count: c.restart_count as i32,
        image: c.image.clone(),
        image_id: c.image_ref.clone(),
        container_id: Some(cid),
        state: Some(state),
        ..Default::default()
    }
}

/// upstream's convertToAPIContainerStatuses.
fn container_statuses(
    inp: &StatusInput<'_>,
    specs: &[Container],
    previous: &[ContainerStatus],
    default_reason: &str,
    init: bool,
) -> Vec<ContainerStatus> {
    let old: HashMap<&str, &ContainerStatus> =
        previous.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut out: Vec<ContainerStatus> = specs
        .iter()
        .map(|c| {
            let mut s = ContainerStatus {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some(default_reason.into()),
                        message: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            if let Some(o) = old.get(c.name.as_str()) {
                if o.state.as_ref().is_some_and(|st| st.terminated.is_some()) {
                    s = (*o).clone();
                } else {
                    s.restart_count = o.restart_count;
                    s.last_state = o.last_state.clone();
                }
            }
            s
        })
        .collect();
    let index: HashMap<String, usize> = specs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), i))
        .collect();
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for c in &inp.rt.containers {
        let Some(&i) = index.get(&c.name) else {
            continue;
        };
        let n = seen.entry(c.name.as_str()).or_default();
        match *n {
            0 => out[i] = convert(c),
            1 => out[i].last_state = convert(c).state,
            _ => continue,
        }
        *n += 1;
    }
    for (i, c) in specs.iter().enumerate() {
        let latest = inp.rt.latest(&c.name);
        if init
            && !is_sidecar(c)
            && latest.is_some_and(|s| s.state == CState::Exited && s.exit_code == 0)
        {
            continue;
        }
        if !should_container_be_restarted(c, inp.pod, inp.rt) {
            continue;
        }
        let Some(f) = inp.failures.get(&c.name) else {
            continue;
        };
        let s = &mut out[i];
        if s.state.as_ref().is_some_and(|st| st.terminated.is_some()) {
            s.last_state = s.state.clone();
        }
        s.state = Some(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(f.reason.clone()),
                message: Some(f.message.clone()).filter(|m| !m.is_empty()),
            }),
            ..Default::default()
        });
    }
    // Readiness and started, as the prober manager's UpdatePodStatus sets them.
    for (s, c) in out.iter_mut().zip(specs) {
        let running = s.state.as_ref().is_some_and(|st| st.running.is_some());
        if init && !is_sidecar(c) {
            let done = s
                .state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .is_some_and(|t| t.exit_code == 0);
            s.ready = done;
            s.started = Some(running);
            continue;
        }
        let started = running && inp.probes.started(&c.name) == Some(true);
        s.started = Some(started);
        s.ready = started && inp.probes.ready(&c.name) == Some(true);
    }
    out
}

fn condition(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: if ok { None } else { reason.map(Into::into) },
        message: if ok { None } else { message },
        ..Default::default()
    }
}

fn names(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Generate the status. `could_run` is false once no container of the pod
/// runs any more: only then may the phase become terminal.
pub fn generate(inp: &StatusInput<'_>, could_run: bool) -> PodStatus {
    let pod = inp.pod;
    let old = pod.status.clone().unwrap_or_default();
    let empty = Default::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty);
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let has_init = !inits.is_empty();
    let init_statuses = container_statuses(
        inp,
        inits,
        old.init_container_statuses.as_deref().unwrap_or_default(),
        "PodInitializing",
        true,
    );
    let default_reason = if has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let statuses = container_statuses(
        inp,
        &spec.containers,
        old.container_statuses.as_deref().unwrap_or_default(),
        default_reason,
        false,
    );
    let terminal_now = pod.metadata.deletion_timestamp.is_some() && !could_run;
    let mut ph = phase(pod, &init_statuses, &statuses, terminal_now);
    let old_phase = old.phase.as_deref().unwrap_or("Pending");
    if ph != "Failed" && ph != "Succeeded" && matches!(old_phase, "Failed" | "Succeeded") {
        ph = if old_phase == "Failed" {
            "Failed"
        } else {
            "Succeeded"
        };
    }
    // Never report a terminal phase while a container may still run.
    if matches!(ph, "Failed" | "Succeeded") && could_run {
        ph = match old_phase {
            "Running" => "Running",
            _ => "Pending",
        };
    }

    // Conditions.
    let mut conds = Vec::new();
    let sandbox_ok = inp
        .rt
        .latest_sandbox()
        .is_some_and(|s| s.ready && (s.ip.is_some() || super::actions::is_host_network(pod)));
    conds.push(condition(
        "PodReadyToStartContainers",
        sandbox_ok,
        None,
        None,
    ));

    let incomplete: Vec<String> = inits
        .iter()
        .zip(&init_statuses)
        .filter(|(c, s)| {
            if is_sidecar(c) {
                s.started != Some(true)
            } else {
                !s.ready
            }
        })
        .map(|(c, _)| c.name.clone())
        .collect();
    let regular_started = statuses
        .iter()
        .any(|s| running(s) || terminated(s).is_some() || last_terminated(s).is_some());
    let initialized = incomplete.is_empty() || regular_started;
    conds.push(condition(
        "Initialized",
        initialized,
        Some("ContainersNotInitialized"),
        Some(format!(
            "containers with incomplete status: {}",
            names(&incomplete)
        )),
    ));

    let mut unready: Vec<String> = inits
        .iter()
        .zip(&init_statuses)
        .filter(|(c, s)| is_sidecar(c) && !s.ready)
        .map(|(c, _)| c.name.clone())
        .collect();
    unready.extend(statuses.iter().filter(|s| !s.ready).map(|s| s.name.clone()));
    let completed = ph == "Succeeded";
    let containers_ready = unready.is_empty() && !matches!(ph, "Succeeded" | "Failed");
    let (reason, msg) = if completed {
        ("PodCompleted", None)
    } else if !initialized {
        (
            "ContainersNotInitialized",
            Some(format!(
                "containers with incomplete status: {}",
                names(&incomplete)
            )),
        )
    } else {
        (
            "ContainersNotReady",
            Some(format!(
                "containers with unready status: {}",
                names(&unready)
            )),
        )
    };
    conds.push(condition(
        "ContainersReady",
        containers_ready,
        Some(reason),
        msg.clone(),
    ));

    // Readiness gates: each named condition must be True.
    let mut gate_msgs = Vec::new();
    for g in spec.readiness_gates.as_deref().unwrap_or_default() {
        let t = &g.condition_type;
        match old
            .conditions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|c| &c.type_ == t)
        {
            None => gate_msgs.push(format!(
                "corresponding condition of pod readiness gate \"{t}\" does not exist."
            )),
            Some(c) if c.status != "True" => gate_msgs.push(format!(
                "the status of pod readiness gate \"{t}\" is not \"True\", but {}",
                c.status
            )),
            _ => {}
        }
    }
    let ready_cond = if !containers_ready {
        condition("Ready", false, Some(reason), msg)
    } else if !gate_msgs.is_empty() {
        condition(
            "Ready",
            false,
            Some("ReadinessGatesNotReady"),
            Some(gate_msgs.join(", ")),
        )
    } else {
        condition("Ready", true, None, None)
    };
    conds.push(ready_cond);

    // Keep PodScheduled and any condition others own (readiness gates), and
    // lastTransitionTime of conditions whose status did not change.
    let now = Time(inp.now.round(jiff::Unit::Second).unwrap_or(inp.now));
    let mine = [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
    ];
    let mut all: Vec<PodCondition> = Vec::new();
    for c in old.conditions.as_deref().unwrap_or_default() {
        if !mine.contains(&c.type_.as_str()) {
            all.push(c.clone());
        }
    }
    for mut c in conds {
        let prev = old
            .conditions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|o| o.type_ == c.type_);
        c.last_transition_time = match prev {
            Some(p) if p.status == c.status => p.last_transition_time.clone(),
            _ => Some(now.clone()),
        };
        all.push(c);
    }

    let pod_ip = inp
        .rt
        .pod_ip()
        .map(str::to_string)
        .or_else(|| super::actions::is_host_network(pod).then(|| inp.host_ip.to_string()));
    PodStatus {
        phase: Some(ph.into()),
        reason: if ph == old_phase {
            old.reason.clone()
        } else {
            None
        },
        message: if ph == old_phase {
            old.message.clone()
        } else {
            None
        },
        conditions: Some(all),
        host_ip: Some(inp.host_ip.into()),
        host_ips: Some(vec![HostIP {
            ip: inp.host_ip.into(),
        }]),
        pod_ip: pod_ip.clone().or(old.pod_ip.clone()),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]).or(old.pod_ips.clone()),
        start_time: old.start_time.clone().or(Some(now)),
        qos_class: Some(inp.qos_class.into()),
        container_statuses: Some(statuses),
        init_container_statuses: has_init.then_some(init_statuses),
        nominated_node_name: old.nominated_node_name.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
