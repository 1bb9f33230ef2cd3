//! Pods: defaulting (plus what admission adds on create), validation, the
//! create-time status (`Pending` + QoS class), the spec-immutability rule on
//! update, and the pod field selectors.

pub mod containers;
pub mod defaults;
pub mod spec;

use crate::strategies::util::{arr_at, field_str, str_at};
use crate::strategy::Strategy;
use crate::validation::{Quantity, child};
use apimachinery::Cause;
use serde_json::{Value, json};

pub use defaults::{default_pod_spec, default_pull_policy};
pub use spec::{validate_pod_spec, validate_pod_template};

/// Upstream's message when a pod update touches an immutable spec field.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

pub struct PodStrategy;

/// The pod's QoS class, as `qos.GetPodQOS`: BestEffort without any cpu or
/// memory requests/limits, Guaranteed when every container limits both and
/// requests equal limits, otherwise Burstable.
pub fn qos_class(pod: &Value) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    let containers = arr_at(pod, "/spec/containers")
        .iter()
        .chain(arr_at(pod, "/spec/initContainers"));
    for c in containers {
        for r in ["cpu", "memory"] {
            let q = |kind: &str| {
                c.pointer(&format!("/resources/{kind}/{r}"))
                    .and_then(|v| match v {
                        Value::String(s) => Quantity::parse(s).ok(),
                        Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
                        _ => None,
                    })
                    .filter(|q| !q.is_zero())
            };
            let limit = q("limits");
            let request = q("requests").or(limit);
            if limit.is_some() || request.is_some() {
                any = true;
            }
            match (request, limit) {
                (Some(req), Some(lim)) if req == lim => {}
                _ => guaranteed = false,
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn tolerations_superset(new: &Value, old: &Value) -> bool {
    let n = arr_at(new, "/tolerations");
    arr_at(old, "/tolerations").iter().all(|t| n.contains(t))
}

/// Copy into `old` the spec fields a pod update may change, so the rest can
/// be compared for equality.
fn allow_mutable(old: &mut Value, new: &Value) {
    for list in ["containers", "initContainers"] {
        let new_list = arr_at(new, &format!("/{list}"));
        if let Some(Value::Array(o)) = old.get_mut(list)
            && o.len() == new_list.len()
        {
            for (oc, nc) in o.iter_mut().zip(new_list) {
                if let Some(img) = nc.get("image") {
                    crate::strategies::util::set(oc, "image", img.clone());
                }
            }
        }
    }
    if let Some(m) = old.as_object_mut() {
        match new.get("activeDeadlineSeconds") {
            Some(v) => m.insert("activeDeadlineSeconds".into(), v.clone()),
            None => m.remove("activeDeadlineSeconds"),
        };
    }
    if tolerations_superset(new, old) {
        crate::strategies::util::set(
            old,
            "tolerations",
            new.get("tolerations").cloned().unwrap_or(Value::Null),
        );
        if new.get("tolerations").is_none()
            && let Some(m) = old.as_object_mut()
        {
            m.remove("tolerations");
        }
    }
    let old_grace = old
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    if old_grace.is_some_and(|g| g < 0)
        && new
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            == Some(1)
    {
        crate::strategies::util::set(old, "terminationGracePeriodSeconds", json!(1));
    }
    // Scheduling gates may only be removed.
    let gates = arr_at(new, "/schedulingGates");
    if gates
        .iter()
        .all(|g| arr_at(old, "/schedulingGates").contains(g))
        && let Some(m) = old.as_object_mut()
    {
        match new.get("schedulingGates") {
            Some(v) => m.insert("schedulingGates".into(), v.clone()),
            None => m.remove("schedulingGates"),
        };
    }
}

impl Strategy for PodStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        defaults::admit_new_pod(obj);
        let qos = qos_class(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
    }

    fn default(&self, obj: &mut Value) {
        defaults::default_pod(obj);
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        validate_pod_spec(obj.get("spec").unwrap_or(&null), "spec")
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        let null = Value::Null;
        let new_spec = new.get("spec").unwrap_or(&null);
        let old_spec = old.get("spec").unwrap_or(&null);
        let ads = child("spec", "activeDeadlineSeconds");
        match (
            old_spec
                .get("activeDeadlineSeconds")
                .and_then(Value::as_i64),
            new_spec
                .get("activeDeadlineSeconds")
                .and_then(Value::as_i64),
        ) {
            (Some(_), None) => errs.push(Cause::invalid(
                &ads,
                &Value::Null,
                "must not update from a positive integer to nil value",
            )),
            (Some(o), Some(n)) if n > o => errs.push(Cause::invalid(
                &ads,
                &Value::from(n),
                "must be less than or equal to previous value",
            )),
            _ => {}
        }
        let mut mutated = old_spec.clone();
        allow_mutable(&mut mutated, new_spec);
        if &mutated != new_spec {
            errs.push(Cause::forbidden("spec", POD_UPDATE_FORBIDDEN));
        }
        errs
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.hostNetwork" => Some(
                (obj.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true))
                    .to_string(),
            ),
            "spec.nodeName"
            | "spec.restartPolicy"
            | "spec.schedulerName"
            | "spec.serviceAccountName"
            | "status.phase"
            | "status.podIP"
            | "status.nominatedNodeName" => {
                field_str(obj, &format!("/{}", field.replace('.', "/")))
            }
            _ => None,
        }
    }
}

/// Validate a pod template's `restartPolicy` in one of `allowed`.
pub fn require_restart_policy(tmpl_path: &str, tmpl: &Value, allowed: &[&str]) -> Vec<Cause> {
    let rp = str_at(tmpl, "/spec/restartPolicy");
    if allowed.contains(&rp) {
        vec![]
    } else {
        vec![Cause::not_supported(
            child(&child(tmpl_path, "spec"), "restartPolicy"),
            &Value::from(rp),
            allowed,
        )]
    }
}

#[cfg(test)]
mod tests;
