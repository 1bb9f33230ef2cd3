//! Admission that needs other objects. The ServiceAccount plugin is in
//! `sa_admission`. Here upstream's Priority plugin: a new
//! pod's `priorityClassName` is resolved to its PriorityClass, whose value
//! becomes `spec.priority` and whose preemption policy becomes the pod's;
//! a pod without a class gets the global default class, if there is one.

use super::Registry;
use crate::keys;
use apimachinery::{ApiError, ResourceInfo, meta as m};
use serde_json::{Value, json};

fn priority_classes() -> ResourceInfo {
    ResourceInfo::new(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
    )
}

impl Registry {
    /// Every admission step a new pod goes through, in upstream's order.
    pub(crate) async fn admit_new_pod(&self, ns: &str, pod: &mut Value) -> Result<(), ApiError> {
        self.admit_pod_service_account(ns, pod).await?;
        self.admit_pod_priority(pod).await
    }

    /// Resolve the pod's priority class into `spec.priority` and
    /// `spec.preemptionPolicy`, as upstream's Priority admission plugin.
    pub(crate) async fn admit_pod_priority(&self, pod: &mut Value) -> Result<(), ApiError> {
        let name = m::name(pod).to_string();
        let class_name = pod
            .pointer("/spec/priorityClassName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        // As consistent as a read from the store: a class created a moment
        // ago counts.
        let res = priority_classes();
        let class = if class_name.is_empty() {
            let all = self.consistent_list(&keys::list_prefix(&res, "")).await?;
            // The global default class, if any (the lowest-valued one when
            // several claim it, as upstream).
            all.into_iter()
                .filter(|v| v.get("globalDefault").and_then(Value::as_bool) == Some(true))
                .min_by_key(|v| v.get("value").and_then(Value::as_i64).unwrap_or(0))
        } else {
            let key = keys::object_key(&res, "", &class_name);
            match self.consistent_get(&key).await? {
                Some(class) => Some(class),
                None => {
                    return Err(ApiError::forbidden(format!(
                        "pods \"{name}\" is forbidden: no PriorityClass with name {class_name} was found"
                    )));
                }
            }
        };
        let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let Some(class) = class else {
            return Ok(());
        };
        if class_name.is_empty() {
            spec.insert("priorityClassName".into(), json!(m::name(&class)));
        }
        let value = class.get("value").and_then(Value::as_i64).unwrap_or(0);
        if let Some(given) = spec.get("priority").and_then(Value::as_i64)
            && given != value
        {
            return Err(ApiError::forbidden(format!(
                "pods \"{name}\" is forbidden: the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
            )));
        }
        spec.insert("priority".into(), json!(value));
        let policy = class
            .get("preemptionPolicy")
            .and_then(Value::as_str)
            .unwrap_or("PreemptLowerPriority")
            .to_string();
        match spec.get("preemptionPolicy").and_then(Value::as_str) {
            Some(p) if p != policy => {
                return Err(ApiError::forbidden(format!(
                    "pods \"{name}\" is forbidden: the string value of PreemptionPolicy ({p}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
                )));
            }
            _ => {
                spec.insert("preemptionPolicy".into(), json!(policy));
            }
        }
        Ok(())
    }
}
