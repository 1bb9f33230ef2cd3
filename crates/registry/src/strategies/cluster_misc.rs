//! Small cluster-level resources: PriorityClasses (reserved `system-`
//! names, user values ≤ 1e9, immutable value and preemptionPolicy),
//! StorageClasses (provisioner, parameters, reclaimPolicy, binding mode;
//! most fields immutable) and RuntimeClasses (DNS-label handler, immutable).

use super::util::{set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    invalid_each, invalid_str, is_dns1123_label, is_qualified_name, validate_immutable,
};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct PriorityClassStrategy;

const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
const SYSTEM_CLASSES: &[(&str, i64)] = &[
    ("system-cluster-critical", 2_000_000_000),
    ("system-node-critical", 2_000_001_000),
];

impl Strategy for PriorityClassStrategy {
    fn default(&self, obj: &mut Value) {
        set_default(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let name = str_at(obj, "/metadata/name");
        let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
        if name.starts_with("system-") {
            let why = match SYSTEM_CLASSES.iter().find(|(n, _)| *n == name) {
                None => Some(format!("{name} is not a known system priority class")),
                Some((_, v)) if *v != value => {
                    Some(format!("value of {name} PriorityClass must be {v}"))
                }
                Some(_) if obj.get("globalDefault").and_then(Value::as_bool) == Some(true) => Some(
                    format!("globalDefault of {name} PriorityClass must be false"),
                ),
                Some(_) => None,
            };
            if let Some(why) = why {
                errs.push(Cause::forbidden(
                    "metadata.name",
                    format!("priority class names with 'system-' prefix are reserved for system use only. error: {why}"),
                ));
            }
        } else if value > HIGHEST_USER_PRIORITY {
            errs.push(Cause::forbidden(
                "value",
                format!(
                    "maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"
                ),
            ));
        }
        match obj.get("preemptionPolicy").and_then(Value::as_str) {
            None | Some("PreemptLowerPriority" | "Never") => {}
            Some("") => errs.push(Cause::required("preemptionPolicy")),
            Some(p) => errs.push(Cause::not_supported(
                "preemptionPolicy",
                &Value::from(p),
                &["PreemptLowerPriority", "Never"],
            )),
        }
        errs
    }

    /// Upstream's update rules replace (not extend) the create rules.
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        if new.get("value") != old.get("value") {
            errs.push(Cause::forbidden(
                "value",
                "may not be changed in an update.",
            ));
        }
        errs.extend(validate_immutable(
            new.get("preemptionPolicy"),
            old.get("preemptionPolicy"),
            "preemptionPolicy",
        ));
        errs
    }
}

pub struct StorageClassStrategy;

/// Upstream's limits on provisioner parameters.
const MAX_PARAMETERS: usize = 512;
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;

impl Strategy for StorageClassStrategy {
    fn default(&self, obj: &mut Value) {
        set_default(obj, "reclaimPolicy", json!("Delete"));
        set_default(obj, "volumeBindingMode", json!("Immediate"));
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let prov = str_at(obj, "/provisioner");
        if prov.is_empty() {
            errs.push(Cause::required("provisioner"));
        } else {
            let lower = prov.to_lowercase();
            errs.extend(invalid_each(
                "provisioner",
                &lower,
                is_qualified_name(&lower),
            ));
        }
        if let Some(params) = obj.get("parameters").and_then(Value::as_object) {
            if params.len() > MAX_PARAMETERS {
                errs.push(Cause::too_long("parameters", MAX_PARAMETERS));
            } else {
                let mut size = 0;
                for (k, v) in params {
                    if k.is_empty() {
                        errs.push(invalid_str("parameters", k, "field can not be empty."));
                    }
                    size += k.len() + v.as_str().map_or(0, str::len);
                }
                if size > MAX_PARAMETERS_SIZE {
                    errs.push(Cause::too_long("parameters", MAX_PARAMETERS_SIZE));
                }
            }
        }
        match str_at(obj, "/reclaimPolicy") {
            "" | "Delete" | "Retain" => {}
            p => errs.push(Cause::not_supported(
                "reclaimPolicy",
                &Value::from(p),
                &["Delete", "Retain"],
            )),
        }
        match obj.get("volumeBindingMode").and_then(Value::as_str) {
            None => errs.push(Cause::required("volumeBindingMode")),
            Some("Immediate" | "WaitForFirstConsumer") => {}
            Some(m) => errs.push(Cause::not_supported(
                "volumeBindingMode",
                &Value::from(m),
                &["Immediate", "WaitForFirstConsumer"],
            )),
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        for f in ["parameters", "provisioner", "reclaimPolicy"] {
            if new.get(f) != old.get(f) {
                errs.push(Cause::forbidden(
                    f,
                    format!("updates to {f} are forbidden."),
                ));
            }
        }
        errs.extend(validate_immutable(
            new.get("volumeBindingMode"),
            old.get("volumeBindingMode"),
            "volumeBindingMode",
        ));
        errs
    }
}

pub struct RuntimeClassStrategy;

impl Strategy for RuntimeClassStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let handler = str_at(obj, "/handler");
        let mut errs = invalid_each("handler", handler, is_dns1123_label(handler));
        let (_, e) = super::resources::parse_quantities(
            obj.pointer("/overhead/podFixed"),
            "overhead.podFixed",
        );
        errs.extend(e);
        errs.extend(crate::validation::validate_labels(
            obj.pointer("/scheduling/nodeSelector"),
            "scheduling.nodeSelector",
        ));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        validate_immutable(new.get("handler"), old.get("handler"), "handler")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_class() {
        let mut pc = json!({"metadata": {"name": "system-foo"}, "value": 5});
        PriorityClassStrategy.default(&mut pc);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
        let e = PriorityClassStrategy.validate_create(&pc);
        assert_eq!(e[0].field, "metadata.name");
        assert_eq!(
            e[0].message,
            "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class"
        );
        let sys = json!({"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000});
        assert!(PriorityClassStrategy.validate_create(&sys).is_empty());
        let big = json!({"metadata": {"name": "high"}, "value": 2_000_000_000, "preemptionPolicy": "Always"});
        let e = PriorityClassStrategy.validate_create(&big);
        assert_eq!(
            e[0].message,
            "Forbidden: maximum allowed value of a user defined priority is 1000000000"
        );
        assert_eq!(e[1].field, "preemptionPolicy");
        let old = json!({"metadata": {"name": "high"}, "value": 10, "preemptionPolicy": "Never"});
        let mut new = old.clone();
        new["value"] = json!(11);
        assert_eq!(
            PriorityClassStrategy.validate_update(&new, &old)[0].message,
            "Forbidden: may not be changed in an update."
        );
    }

    #[test]
    fn storage_class() {
        let mut sc = json!({"provisioner": "kubernetes.io/aws-ebs", "parameters": {"type": "gp2"}});
        StorageClassStrategy.default(&mut sc);
        assert_eq!(sc["volumeBindingMode"], "Immediate");
        assert!(StorageClassStrategy.validate_create(&sc).is_empty());
        let bad = json!({"reclaimPolicy": "Recycle", "volumeBindingMode": "Later"});
        let f: Vec<String> = StorageClassStrategy
            .validate_create(&bad)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(f, ["provisioner", "reclaimPolicy", "volumeBindingMode"]);
        let mut sc2 = sc.clone();
        sc2["reclaimPolicy"] = json!("Retain");
        sc2["volumeBindingMode"] = json!("WaitForFirstConsumer");
        let e = StorageClassStrategy.validate_update(&sc2, &sc);
        assert_eq!(
            e[0].message,
            "Forbidden: updates to reclaimPolicy are forbidden."
        );
        assert_eq!(
            e[1].message,
            "Invalid value: \"WaitForFirstConsumer\": field is immutable"
        );
    }

    #[test]
    fn runtime_class() {
        let rc = json!({"handler": "runc", "overhead": {"podFixed": {"cpu": "250m"}}});
        assert!(RuntimeClassStrategy.validate_create(&rc).is_empty());
        let e = RuntimeClassStrategy.validate_create(&json!({"handler": "Run_C"}));
        assert_eq!(e[0].field, "handler");
        let mut new = rc.clone();
        new["handler"] = json!("kata");
        assert_eq!(
            RuntimeClassStrategy.validate_update(&new, &rc)[0].field,
            "handler"
        );
    }
}
