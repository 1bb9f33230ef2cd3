//! Pods and pod templates: kubectl's READY, STATUS and RESTARTS.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
use serde_json::Value;

use super::docs::field;
use super::util::{
    age, arr, boolean, format_labels, get, int, layout_containers, name, parse_time, s,
};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "pods",
        columns: pod_columns,
        cells: pod_cells,
    },
    Printer {
        group: "",
        plural: "podtemplates",
        columns: pod_template_columns,
        cells: pod_template_cells,
    },
];

fn pod_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Ready",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        text(
            "Status",
            "The aggregate status of the containers in this pod.",
        ),
        text(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        age_column(),
        text("IP", field::<PodStatus>("podIP")).wide(),
        text("Node", field::<PodSpec>("nodeName")).wide(),
        text("Nominated Node", field::<PodStatus>("nominatedNodeName")).wide(),
        text("Readiness Gates", field::<PodSpec>("readinessGates")).wide(),
    ]
}

/// A sidecar: an init container that keeps running (`restartPolicy: Always`).
fn is_restartable_init(spec_init: &[Value], name: &str) -> bool {
    spec_init
        .iter()
        .find(|c| s(c, &["name"]) == name)
        .is_some_and(|c| s(c, &["restartPolicy"]) == "Always")
}

fn has_condition(pod: &Value, type_: &str) -> bool {
    arr(pod, &["status", "conditions"])
        .iter()
        .any(|c| s(c, &["type"]) == type_ && s(c, &["status"]) == "True")
}

/// The later of a running maximum and a status's last termination time.
fn last_finished(latest: &mut Option<Timestamp>, status: &Value) {
    if let Some(t) = get(status, &["lastState", "terminated", "finishedAt"])
        .and_then(Value::as_str)
        .and_then(parse_time)
        && latest.is_none_or(|l| l < t)
    {
        *latest = Some(t);
    }
}

/// `Signal:N` or `ExitCode:N` for a termination without a reason.
fn termination_code(terminated: &Value) -> String {
    let signal = int(terminated, &["signal"]);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int(terminated, &["exitCode"]))
    }
}

/// The READY, STATUS and RESTARTS of a pod, computed as kubectl does.
pub(crate) fn pod_summary(pod: &Value, now: Timestamp) -> (String, String, String) {
    let spec_init = arr(pod, &["spec", "initContainers"]);
    let total = arr(pod, &["spec", "containers"]).len()
        + spec_init
            .iter()
            .filter(|c| s(c, &["restartPolicy"]) == "Always")
            .count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let phase = s(pod, &["status", "phase"]);
    let mut reason = match s(pod, &["status", "reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    for c in arr(pod, &["status", "conditions"]) {
        if s(c, &["type"]) == "PodScheduled" && s(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }

    let mut initializing = false;
    for (i, cs) in arr(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int(cs, &["restartCount"]);
        last_finished(&mut last_restart, cs);
        let sidecar = is_restartable_init(spec_init, s(cs, &["name"]));
        if sidecar {
            sidecar_restarts += int(cs, &["restartCount"]);
            last_finished(&mut last_sidecar_restart, cs);
        }
        let terminated = get(cs, &["state", "terminated"]);
        let waiting_reason = s(cs, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && boolean(cs, &["started"]) {
            if boolean(cs, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = match s(t, &["reason"]) {
                "" => format!("Init:{}", termination_code(t)),
                r => format!("Init:{r}"),
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", spec_init.len());
        }
        initializing = true;
        break;
    }

    if !initializing || has_condition(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for cs in arr(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int(cs, &["restartCount"]);
            last_finished(&mut last_restart, cs);
            let waiting_reason = s(cs, &["state", "waiting", "reason"]);
            let terminated = get(cs, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = match s(t, &["reason"]) {
                    "" => termination_code(t),
                    r => r.to_string(),
                };
            } else if boolean(cs, &["ready"]) && get(cs, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has_condition(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    let deleting = get(pod, &["metadata", "deletionTimestamp"]).is_some_and(|d| !d.is_null());
    if deleting && s(pod, &["status", "reason"]) == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", super::human_since(t, now)),
        _ => restarts.to_string(),
    };
    (format!("{ready}/{total}"), reason, restarts_str)
}

fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let (ready, status, restarts) = pod_summary(pod, now);
    let or_none = |v: &str| {
        if v.is_empty() {
            "<none>".to_string()
        } else {
            v.to_string()
        }
    };
    let ip = arr(pod, &["status", "podIPs"])
        .first()
        .map(|p| s(p, &["ip"]))
        .unwrap_or("");
    let gates = arr(pod, &["spec", "readinessGates"]);
    let readiness = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = arr(pod, &["status", "conditions"]);
        let true_count = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| s(c, &["type"]) == s(g, &["conditionType"]))
                    .is_some_and(|c| s(c, &["status"]) == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        name(pod),
        ready.into(),
        status.into(),
        restarts.into(),
        age(pod, now),
        or_none(ip).into(),
        or_none(s(pod, &["spec", "nodeName"])).into(),
        or_none(s(pod, &["status", "nominatedNodeName"])).into(),
        readiness.into(),
    ]
}

fn pod_template_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Containers", "Names of each container in the template."),
        text(
            "Images",
            "Images referenced by each container in the template.",
        ),
        text("Pod Labels", "The labels for the pod template."),
    ]
}

fn pod_template_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    let (names, images) = layout_containers(arr(obj, &["template", "spec", "containers"]));
    let labels = format_labels(get(obj, &["template", "metadata", "labels"]));
    vec![name(obj), names, images, labels.into()]
}
