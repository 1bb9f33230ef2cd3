//! apps/v1 workloads: Deployments, ReplicaSets, StatefulSets and DaemonSets
//! (defaults from `pkg/apis/apps/v1/defaults.go`, validation from
//! `pkg/apis/apps/validation`).

use super::util::{obj_mut, set_default, str_at};
use super::workload::{
    default_template, is_zero_int_or_percent, reset_status, selector_immutable,
    validate_int_or_percent, validate_selector_and_template,
};
use crate::strategy::Strategy;
use crate::validation::{invalid_raw, validate_nonnegative};
use apimachinery::Cause;
use serde_json::{Value, json};

fn spec_of(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

/// maxUnavailable/maxSurge of a rolling update at `path`.
fn validate_rolling(ru: &Value, path: &str) -> Vec<Cause> {
    let mu = ru.get("maxUnavailable");
    let ms = ru.get("maxSurge");
    let mut errs = validate_int_or_percent(mu, &format!("{path}.maxUnavailable"), true);
    errs.extend(validate_int_or_percent(
        ms,
        &format!("{path}.maxSurge"),
        false,
    ));
    if is_zero_int_or_percent(mu) && is_zero_int_or_percent(ms) {
        errs.push(Cause::invalid(
            format!("{path}.maxUnavailable"),
            mu.unwrap_or(&json!(0)),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
    errs
}

pub struct DeploymentStrategy;

impl Strategy for DeploymentStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        set_default(spec, "replicas", json!(1));
        if let Some(strategy) = obj_mut(spec, "strategy") {
            let mut s = Value::Object(std::mem::take(strategy));
            set_default(&mut s, "type", json!("RollingUpdate"));
            if str_at(&s, "/type") == "RollingUpdate"
                && let Some(ru) = obj_mut(&mut s, "rollingUpdate")
            {
                ru.entry("maxUnavailable").or_insert(json!("25%"));
                ru.entry("maxSurge").or_insert(json!("25%"));
            }
            if let Value::Object(m) = s {
                *strategy = m;
            }
        }
        set_default(spec, "revisionHistoryLimit", json!(10));
        set_default(spec, "progressDeadlineSeconds", json!(600));
        default_template(spec);
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let spec = spec_of(obj);
        let mut errs = validate_selector_and_template(spec, "deployment", "Deployment");
        let st = spec.get("strategy").cloned().unwrap_or(json!({}));
        match str_at(&st, "/type") {
            "Recreate" => {
                if st.get("rollingUpdate").is_some_and(|v| !v.is_null()) {
                    errs.push(Cause::forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    ));
                }
            }
            "RollingUpdate" => {
                if let Some(ru) = st.get("rollingUpdate").filter(|v| v.is_object()) {
                    errs.extend(validate_rolling(ru, "spec.strategy.rollingUpdate"));
                }
            }
            "" => errs.push(Cause::required("spec.strategy.type")),
            t => errs.push(Cause::not_supported(
                "spec.strategy.type",
                &Value::from(t),
                &["Recreate", "RollingUpdate"],
            )),
        }
        errs.extend(validate_nonnegative(
            spec.get("progressDeadlineSeconds"),
            "spec.progressDeadlineSeconds",
        ));
        if let Some(pd) = spec.get("progressDeadlineSeconds").and_then(Value::as_i64) {
            let mrs = spec
                .get("minReadySeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if pd <= mrs {
                errs.push(Cause::invalid(
                    "spec.progressDeadlineSeconds",
                    &Value::from(pd),
                    "must be greater than minReadySeconds",
                ));
            }
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(selector_immutable(new, old));
        errs
    }
}

pub struct ReplicaSetStrategy;

impl Strategy for ReplicaSetStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.replicas"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.replicas").then(|| {
            obj.pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string()
        })
    }

    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            set_default(spec, "replicas", json!(1));
            default_template(spec);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        // Upstream's ReplicaSet validation reuses the deployment wording.
        validate_selector_and_template(spec_of(obj), "deployment", "ReplicaSet")
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(selector_immutable(new, old));
        errs
    }
}

pub struct StatefulSetStrategy;

/// Spec fields a StatefulSet update may change.
const STS_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

impl Strategy for StatefulSetStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        set_default(spec, "podManagementPolicy", json!("OrderedReady"));
        if let Some(us) = obj_mut(spec, "updateStrategy") {
            let t = us.entry("type").or_insert(json!("RollingUpdate"));
            if t.is_null() {
                *t = json!("RollingUpdate");
            }
            if us.get("type") == Some(&json!("RollingUpdate")) {
                let ru = us.entry("rollingUpdate").or_insert(json!({}));
                set_default(ru, "partition", json!(0));
            }
        }
        set_default(spec, "replicas", json!(1));
        set_default(spec, "revisionHistoryLimit", json!(10));
        set_default(
            spec,
            "persistentVolumeClaimRetentionPolicy",
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
        );
        if let Some(Value::Array(claims)) = spec.get_mut("volumeClaimTemplates") {
            for c in claims {
                set_default(c, "apiVersion", json!("v1"));
                set_default(c, "kind", json!("PersistentVolumeClaim"));
                if let Some(s) = c.get_mut("spec") {
                    set_default(s, "volumeMode", json!("Filesystem"));
                }
            }
        }
        default_template(spec);
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let spec = spec_of(obj);
        let mut errs = vec![];
        match str_at(spec, "/podManagementPolicy") {
            "OrderedReady" | "Parallel" => {}
            "" => errs.push(Cause::required("spec.podManagementPolicy")),
            p => errs.push(Cause::not_supported(
                "spec.podManagementPolicy",
                &Value::from(p),
                &["OrderedReady", "Parallel"],
            )),
        }
        let us = spec.get("updateStrategy").cloned().unwrap_or(json!({}));
        match str_at(&us, "/type") {
            "RollingUpdate" => errs.extend(validate_nonnegative(
                us.pointer("/rollingUpdate/partition"),
                "spec.updateStrategy.rollingUpdate.partition",
            )),
            "OnDelete" => {
                if us.get("rollingUpdate").is_some_and(|v| !v.is_null()) {
                    errs.push(invalid_raw(
                        "spec.updateStrategy.rollingUpdate",
                        &us["rollingUpdate"].to_string(),
                        "only allowed for updateStrategy 'RollingUpdate'",
                    ));
                }
            }
            "" => errs.push(Cause::required("spec.updateStrategy")),
            t => errs.push(Cause::not_supported(
                "spec.updateStrategy",
                &Value::from(t),
                &["OnDelete", "RollingUpdate"],
            )),
        }
        errs.extend(validate_selector_and_template(
            spec,
            "statefulset",
            "StatefulSet",
        ));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        let strip = |v: &Value| {
            let mut s = spec_of(v).clone();
            if let Some(m) = s.as_object_mut() {
                for f in STS_MUTABLE {
                    m.remove(*f);
                }
            }
            s
        };
        if strip(new) != strip(old) {
            errs.push(Cause::forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
        }
        errs
    }
}

pub struct DaemonSetStrategy;

impl Strategy for DaemonSetStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        if let Some(us) = obj_mut(spec, "updateStrategy") {
            let t = us.entry("type").or_insert(json!("RollingUpdate"));
            if t.is_null() {
                *t = json!("RollingUpdate");
            }
            if us.get("type") == Some(&json!("RollingUpdate")) {
                let ru = us.entry("rollingUpdate").or_insert(json!({}));
                set_default(ru, "maxUnavailable", json!(1));
                set_default(ru, "maxSurge", json!(0));
            }
        }
        set_default(spec, "revisionHistoryLimit", json!(10));
        default_template(spec);
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let spec = spec_of(obj);
        let mut errs = validate_selector_and_template(spec, "daemonset", "DaemonSet");
        let us = spec.get("updateStrategy").cloned().unwrap_or(json!({}));
        match str_at(&us, "/type") {
            "OnDelete" => {}
            "RollingUpdate" => {
                if let Some(ru) = us.get("rollingUpdate").filter(|v| v.is_object()) {
                    errs.extend(validate_rolling(ru, "spec.updateStrategy.rollingUpdate"));
                }
            }
            t => errs.push(Cause::not_supported(
                "spec.updateStrategy.type",
                &Value::from(t),
                &["OnDelete", "RollingUpdate"],
            )),
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(selector_immutable(new, old));
        errs
    }
}

#[cfg(test)]
mod tests;
