//! Small cluster-level resources with light rules: PriorityClasses,
//! StorageClasses (defaults) and ServiceAccounts.

use super::util::{set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::invalid_str;
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct PriorityClassStrategy;

impl Strategy for PriorityClassStrategy {
    fn default(&self, obj: &mut Value) {
        set_default(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let name = str_at(obj, "/metadata/name");
        if name.starts_with("system-")
            && !["system-cluster-critical", "system-node-critical"].contains(&name)
        {
            errs.push(invalid_str(
                "metadata.name",
                name,
                "priority class names with 'system-' prefix are reserved",
            ));
        }
        match str_at(obj, "/preemptionPolicy") {
            "" | "PreemptLowerPriority" | "Never" => {}
            p => errs.push(Cause::not_supported(
                "preemptionPolicy",
                &Value::from(p),
                &["Never", "PreemptLowerPriority"],
            )),
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(crate::validation::validate_immutable(
            new.get("value"),
            old.get("value"),
            "value",
        ));
        errs
    }
}

pub struct StorageClassStrategy;

impl Strategy for StorageClassStrategy {
    fn default(&self, obj: &mut Value) {
        set_default(obj, "reclaimPolicy", json!("Delete"));
        set_default(obj, "volumeBindingMode", json!("Immediate"));
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        if str_at(obj, "/provisioner").is_empty() {
            vec![Cause::required("provisioner")]
        } else {
            vec![]
        }
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        for f in [
            "parameters",
            "provisioner",
            "reclaimPolicy",
            "volumeBindingMode",
        ] {
            if new.get(f) != old.get(f) {
                errs.push(Cause::forbidden(
                    f,
                    "updates to provisioner are forbidden.".replace("provisioner", f),
                ));
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_class_and_storage_class() {
        let mut pc = json!({"metadata": {"name": "system-foo"}, "value": 5});
        PriorityClassStrategy.default(&mut pc);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(
            PriorityClassStrategy.validate_create(&pc)[0].field,
            "metadata.name"
        );
        let mut sc = json!({"provisioner": "x"});
        StorageClassStrategy.default(&mut sc);
        assert_eq!(sc["volumeBindingMode"], "Immediate");
        assert!(StorageClassStrategy.validate_create(&sc).is_empty());
        let mut sc2 = sc.clone();
        sc2["reclaimPolicy"] = json!("Retain");
        assert_eq!(
            StorageClassStrategy.validate_update(&sc2, &sc)[0].field,
            "reclaimPolicy"
        );
    }
}
