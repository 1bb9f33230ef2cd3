//! policy/v1 PodDisruptionBudgets: minAvailable xor maxUnavailable (each an
//! int or a percent ≤ 100%), selector, unhealthyPodEvictionPolicy, and
//! non-negative status counters.

use super::util::str_at;
use super::workload::validate_int_or_percent;
use crate::strategy::Strategy;
use crate::validation::{invalid_raw, validate_label_selector, validate_nonnegative};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct PodDisruptionBudgetStrategy;

impl Strategy for PodDisruptionBudgetStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}));
        }
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        for f in [
            "disruptionsAllowed",
            "currentHealthy",
            "desiredHealthy",
            "expectedPods",
        ] {
            errs.extend(validate_nonnegative(
                new.pointer(&format!("/status/{f}")),
                &format!("status.{f}"),
            ));
        }
        errs
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = vec![];
        let min = spec.get("minAvailable").filter(|v| !v.is_null());
        let max = spec.get("maxUnavailable").filter(|v| !v.is_null());
        if min.is_some() && max.is_some() {
            errs.push(invalid_raw(
                "spec",
                &spec.to_string(),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        errs.extend(validate_int_or_percent(min, "spec.minAvailable", true));
        errs.extend(validate_int_or_percent(max, "spec.maxUnavailable", true));
        if let Some(sel) = spec.get("selector").filter(|s| !s.is_null()) {
            errs.extend(validate_label_selector(sel, "spec.selector"));
        }
        match str_at(spec, "/unhealthyPodEvictionPolicy") {
            "" | "IfHealthyBudget" | "AlwaysAllow" => {}
            p => errs.push(Cause::not_supported(
                "spec.unhealthyPodEvictionPolicy",
                &Value::from(p),
                &["AlwaysAllow", "IfHealthyBudget"],
            )),
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdb_xor() {
        let s = PodDisruptionBudgetStrategy;
        assert!(
            s.validate_create(&json!({"spec": {"minAvailable": "50%"}}))
                .is_empty()
        );
        let e = s.validate_create(&json!({"spec": {"minAvailable": 1, "maxUnavailable": 1}}));
        assert_eq!(e[0].field, "spec");
        assert!(
            e[0].message
                .ends_with("minAvailable and maxUnavailable cannot be both set")
        );
        let st = json!({"status": {"disruptionsAllowed": -1, "expectedPods": 3}});
        let e = s.validate_status_update(&st, &st);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "status.disruptionsAllowed");
    }
}
