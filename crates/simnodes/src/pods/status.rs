//! Pod status as a kubelet writes it, built as merge patches: Running with
//! every container ready (and completed init containers), a restart of a
//! failed OnFailure container, and the terminal Succeeded/Failed status of a
//! run-to-completion pod. Conditions follow upstream's generators (types,
//! reasons, readiness gates); conditions owned by others are kept.

use crate::node::fnv;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// The pod conditions the kubelet owns.
const KUBELET_CONDITIONS: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// How a pod's containers ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub code: i32,
}

impl Exit {
    pub fn reason(self) -> &'static str {
        if self.code == 0 { "Completed" } else { "Error" }
    }
}

fn container_id(uid: &str, name: &str, restarts: u32) -> String {
    format!("sim://{:032x}", fnv(&format!("{uid}/{name}/{restarts}")))
}

fn image_id(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    let h = fnv(image);
    format!("{repo}@sha256:{h:032x}{:032x}", h.rotate_left(64))
}

fn condition(t: &str, status: bool, now: &str, reason: Option<&str>, msg: Option<&str>) -> Value {
    let mut c = json!({"type": t, "status": if status { "True" } else { "False" },
                       "lastProbeTime": null, "lastTransitionTime": now});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = msg {
        c["message"] = json!(m);
    }
    c
}

/// Readiness gates (upstream's generator): `None` when all are True, else
/// the message naming the first that is not.
pub fn readiness_gates_message(pod: &Pod) -> Option<String> {
    let gates = pod.spec.as_ref()?.readiness_gates.as_ref()?;
    let conds = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    for g in gates {
        match conds.iter().find(|c| c.type_ == g.condition_type) {
            None => {
                return Some(format!(
                    "corresponding condition of pod readiness gate \"{}\" does not exist.",
                    g.condition_type
                ));
            }
            Some(c) if c.status != "True" => {
                return Some(format!(
                    "the status of pod readiness gate \"{}\" is not \"True\", but {}",
                    g.condition_type, c.status
                ));
            }
            Some(_) => {}
        }
    }
    None
}

/// The pod's current `Ready` condition status, if any.
pub fn ready_status(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

/// Our conditions merged into the pod's list: those we set replace ours
/// (keeping their transition time when the status did not change), the rest
/// (readiness gates, DisruptionTarget, ...) stay as they are.
fn merge_conditions(pod: &Pod, mine: Vec<Value>, now: &str) -> Value {
    let existing = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    let mut out = Vec::new();
    for mut c in mine {
        if let Some(old) = existing
            .iter()
            .find(|o| Some(o.type_.as_str()) == c["type"].as_str())
            && Some(old.status.as_str()) == c["status"].as_str()
            && let Some(t) = &old.last_transition_time
        {
            c["lastTransitionTime"] = json!(crate::time::time(t.0));
        }
        out.push(c);
    }
    if !out.iter().any(|c| c["type"] == "PodScheduled") {
        // The scheduler's condition is the scheduler's; a pod bound without
        // one (nodeName set at create) gets it as the kubelet would.
        match existing.iter().find(|o| o.type_ == "PodScheduled") {
            Some(o) => out.push(serde_json::to_value(o).unwrap_or(Value::Null)),
            None => out.push(condition("PodScheduled", true, now, None, None)),
        }
    }
    for o in existing {
        if !KUBELET_CONDITIONS.contains(&o.type_.as_str()) {
            out.push(serde_json::to_value(o).unwrap_or(Value::Null));
        }
    }
    Value::Array(out)
}

/// Everything that makes a Running status for one pod.
pub struct Running<'a> {
    pub host_ip: &'a str,
    pub pod_ip: &'a str,
    /// When the pod started (its `startTime`); containers started then too.
    pub started: &'a str,
    pub now: &'a str,
    /// Restarts so far of every container, and how the last run ended.
    pub restarts: u32,
    pub last_exit: Option<(Exit, &'a str, &'a str)>,
}

/// The merge patch that makes `pod` Running with all containers ready.
pub fn running_patch(pod: &Pod, r: &Running) -> Value {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or(&[]);
    let inits = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or(&[]);
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            let mut s = json!({
                "name": c.name, "image": image, "imageID": image_id(&image),
                "containerID": container_id(uid, &c.name, r.restarts),
                "ready": true, "started": true, "restartCount": r.restarts,
                "state": {"running": {"startedAt": r.started}},
                "lastState": {},
            });
            if let Some((exit, started, finished)) = r.last_exit {
                s["lastState"] = json!({"terminated": {
                    "exitCode": exit.code, "reason": exit.reason(),
                    "startedAt": started, "finishedAt": finished,
                    "containerID": container_id(uid, &c.name, r.restarts.saturating_sub(1)),
                }});
            }
            s
        })
        .collect();
    let init_statuses: Vec<Value> = inits
        .iter()
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            let state = if sidecar {
                json!({"running": {"startedAt": r.started}})
            } else {
                json!({"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": r.started, "finishedAt": r.started,
                    "containerID": container_id(uid, &c.name, 0)}})
            };
            json!({
                "name": c.name, "image": image, "imageID": image_id(&image),
                "containerID": container_id(uid, &c.name, 0),
                "ready": true, "started": sidecar, "restartCount": 0,
                "state": state, "lastState": {},
            })
        })
        .collect();
    let gates = readiness_gates_message(pod);
    let now = r.now;
    let mine = vec![
        condition("PodReadyToStartContainers", true, now, None, None),
        condition("Initialized", true, now, None, None),
        match &gates {
            None => condition("Ready", true, now, None, None),
            Some(m) => condition("Ready", false, now, Some("ReadinessGatesNotReady"), Some(m)),
        },
        condition("ContainersReady", true, now, None, None),
    ];
    let mut status = json!({
        "phase": "Running",
        "conditions": merge_conditions(pod, mine, now),
        "hostIP": r.host_ip, "hostIPs": [{"ip": r.host_ip}],
        "podIP": r.pod_ip, "podIPs": [{"ip": r.pod_ip}],
        "startTime": r.started,
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = Value::Array(init_statuses);
    }
    json!({"metadata": {"uid": uid}, "status": status})
}

/// The merge patch that ends a run-to-completion pod: Succeeded when its
/// containers exit 0, Failed otherwise.
pub fn terminated_patch(pod: &Pod, exit: Exit, started: &str, now: &str, restarts: u32) -> Value {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let (phase, reason) = if exit.code == 0 {
        ("Succeeded", "PodCompleted")
    } else {
        ("Failed", "PodFailed")
    };
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            let id = container_id(uid, &c.name, restarts);
            json!({
                "name": c.name, "image": image, "imageID": image_id(&image),
                "containerID": id, "ready": false, "started": false,
                "restartCount": restarts, "lastState": {},
                "state": {"terminated": {"exitCode": exit.code, "reason": exit.reason(),
                    "startedAt": started, "finishedAt": now, "containerID": id}},
            })
        })
        .collect();
    let mine = vec![
        condition("PodReadyToStartContainers", false, now, None, None),
        condition("Initialized", true, now, Some("PodCompleted"), None),
        condition("Ready", false, now, Some(reason), None),
        condition("ContainersReady", false, now, Some(reason), None),
    ];
    json!({"metadata": {"uid": uid}, "status": {
        "phase": phase,
        "conditions": merge_conditions(pod, mine, now),
        "containerStatuses": statuses,
    }})
}

/// The merge patch that only re-evaluates `Ready` (a readiness gate moved).
pub fn ready_patch(pod: &Pod, now: &str) -> Value {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let ready = match readiness_gates_message(pod) {
        None => condition("Ready", true, now, None, None),
        Some(m) => condition(
            "Ready",
            false,
            now,
            Some("ReadinessGatesNotReady"),
            Some(&m),
        ),
    };
    let existing = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or(&[]);
    let mut mine: Vec<Value> = existing
        .iter()
        .filter(|c| KUBELET_CONDITIONS.contains(&c.type_.as_str()) && c.type_ != "Ready")
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    mine.push(ready);
    json!({"metadata": {"uid": uid}, "status": {"conditions": merge_conditions(pod, mine, now)}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(extra: Value) -> Pod {
        let mut v = json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {"nodeName": "sim-node-0", "containers": [{"name": "c", "image": "nginx:1.27"}],
                     "initContainers": [{"name": "init", "image": "busybox"}]},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}]},
        });
        if let (Some(a), Some(b)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in b {
                a.insert(k.clone(), x.clone());
            }
        }
        serde_json::from_value(v).expect("pod")
    }

    fn run() -> Running<'static> {
        Running {
            host_ip: "172.16.0.1",
            pod_ip: "10.0.0.2",
            started: "2025-01-02T00:00:00Z",
            now: "2025-01-02T00:00:00Z",
            restarts: 0,
            last_exit: None,
        }
    }

    fn cond<'a>(p: &'a Value, t: &str) -> &'a Value {
        p["status"]["conditions"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["type"] == t))
            .expect("condition")
    }

    #[test]
    fn running_pod_is_ready_with_ip_and_containers() {
        let p = running_patch(&pod(json!({})), &run());
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["status"]["podIP"], "10.0.0.2");
        for t in [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
        ] {
            assert_eq!(cond(&p, t)["status"], "True", "{t}");
        }
        // The scheduler's transition time survives.
        assert_eq!(
            cond(&p, "PodScheduled")["lastTransitionTime"],
            "2025-01-01T00:00:00Z"
        );
        let c = &p["status"]["containerStatuses"][0];
        assert_eq!(c["ready"], true);
        assert_eq!(c["state"]["running"]["startedAt"], "2025-01-02T00:00:00Z");
        assert!(
            c["containerID"]
                .as_str()
                .is_some_and(|s| s.starts_with("sim://"))
        );
        assert!(
            c["imageID"]
                .as_str()
                .is_some_and(|s| s.starts_with("nginx@sha256:"))
        );
        let i = &p["status"]["initContainerStatuses"][0];
        assert_eq!(i["state"]["terminated"]["reason"], "Completed");
        let _: Pod = serde_json::from_value(json!({"status": p["status"]})).expect("valid status");
    }

    #[test]
    fn readiness_gates_hold_ready_back_and_foreign_conditions_stay() {
        let p = pod(json!({}));
        let mut p2 = p.clone();
        if let Some(s) = p2.spec.as_mut() {
            s.readiness_gates = Some(vec![k8s_openapi::api::core::v1::PodReadinessGate {
                condition_type: "example.com/lb".into(),
            }]);
        }
        let patch = running_patch(&p2, &run());
        let ready = cond(&patch, "Ready");
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["reason"], "ReadinessGatesNotReady");
        assert_eq!(
            ready["message"],
            "corresponding condition of pod readiness gate \"example.com/lb\" does not exist."
        );
        if let Some(st) = p2.status.as_mut()
            && let Some(cs) = st.conditions.as_mut()
        {
            cs.push(
                serde_json::from_value(json!({"type": "example.com/lb", "status": "True"}))
                    .expect("c"),
            );
        }
        let patch = ready_patch(&p2, "2025-01-03T00:00:00Z");
        assert_eq!(cond(&patch, "Ready")["status"], "True");
        assert_eq!(cond(&patch, "example.com/lb")["status"], "True");
    }

    #[test]
    fn terminated_pod_succeeds_or_fails() {
        let p = pod(json!({}));
        let ok = terminated_patch(
            &p,
            Exit { code: 0 },
            "2025-01-02T00:00:00Z",
            "2025-01-02T00:00:01Z",
            0,
        );
        assert_eq!(ok["status"]["phase"], "Succeeded");
        assert_eq!(cond(&ok, "Ready")["reason"], "PodCompleted");
        let t = &ok["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(t["reason"], "Completed");
        assert_eq!(t["exitCode"], 0);
        let bad = terminated_patch(
            &p,
            Exit { code: 3 },
            "2025-01-02T00:00:00Z",
            "2025-01-02T00:00:01Z",
            0,
        );
        assert_eq!(bad["status"]["phase"], "Failed");
        assert_eq!(
            bad["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
            "Error"
        );
        assert_eq!(
            bad["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            3
        );
    }
}
