//! Autoscaling and policy: HorizontalPodAutoscalers (scaleTargetRef
//! required, minReplicas ≤ maxReplicas, default CPU 80% metric) and
//! PodDisruptionBudgets (minAvailable xor maxUnavailable).

use super::util::{set_default, str_at};
use super::workload::{reset_status, validate_int_or_percent};
use crate::strategy::Strategy;
use crate::validation::{invalid_raw, validate_label_selector};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct HorizontalPodAutoscalerStrategy;

impl Strategy for HorizontalPodAutoscalerStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        set_default(spec, "minReplicas", json!(1));
        // autoscaling/v1's targetCPUUtilizationPercentage is converted by the
        // apiserver; for v2 an absent metrics list means CPU at 80%.
        if spec.get("targetCPUUtilizationPercentage").is_none() {
            set_default(
                spec,
                "metrics",
                json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
            );
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        for f in ["kind", "name"] {
            if str_at(obj, &format!("/spec/scaleTargetRef/{f}")).is_empty() {
                errs.push(Cause::required(format!("spec.scaleTargetRef.{f}")));
            }
        }
        let min = obj.pointer("/spec/minReplicas").and_then(Value::as_i64);
        let max = obj
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if let Some(m) = min.filter(|m| *m < 1) {
            errs.push(Cause::invalid(
                "spec.minReplicas",
                &Value::from(m),
                "must be greater than or equal to 1",
            ));
        }
        if max < 1 {
            errs.push(Cause::invalid(
                "spec.maxReplicas",
                &Value::from(max),
                "must be greater than 0",
            ));
        }
        if let Some(m) = min
            && max < m
        {
            errs.push(Cause::invalid(
                "spec.maxReplicas",
                &Value::from(max),
                "must be greater than or equal to `minReplicas`",
            ));
        }
        errs
    }
}

pub struct PodDisruptionBudgetStrategy;

impl Strategy for PodDisruptionBudgetStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}));
        }
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
    fn hpa_rules() {
        let s = HorizontalPodAutoscalerStrategy;
        let mut ok = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5}});
        s.default(&mut ok);
        assert!(s.validate_create(&ok).is_empty());
        assert_eq!(ok["spec"]["minReplicas"], 1);
        let e = s.validate_create(&json!({"spec": {"minReplicas": 5, "maxReplicas": 2}}));
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "spec.scaleTargetRef.kind",
                "spec.scaleTargetRef.name",
                "spec.maxReplicas"
            ]
        );
    }

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
    }
}
