//! coordination.k8s.io/v1 Leases: leaseDurationSeconds > 0,
//! leaseTransitions ≥ 0, the coordinated-leader `strategy`, and
//! `preferredHolder` only alongside a strategy. holderIdentity is free-form.

use super::util::str_at;
use crate::strategy::Strategy;
use crate::validation::{invalid_each, is_qualified_name};
use apimachinery::Cause;
use serde_json::Value;

pub struct LeaseStrategy;

const STRATEGIES: &[&str] = &["OldestEmulationVersion"];

fn validate_lease(obj: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    if let Some(d) = obj
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64)
        && d <= 0
    {
        errs.push(Cause::invalid(
            "spec.leaseDurationSeconds",
            &Value::from(d),
            "must be greater than 0",
        ));
    }
    if let Some(t) = obj
        .pointer("/spec/leaseTransitions")
        .and_then(Value::as_i64)
        && t < 0
    {
        errs.push(Cause::invalid(
            "spec.leaseTransitions",
            &Value::from(t),
            "must be greater than or equal to 0",
        ));
    }
    let strategy = obj.pointer("/spec/strategy").and_then(Value::as_str);
    if let Some(s) = strategy {
        // Upstream nests `.strategy` twice in this path.
        let path = "spec.strategy.strategy";
        if s.contains('/') {
            errs.extend(invalid_each(path, s, is_qualified_name(s)));
        } else if !STRATEGIES.contains(&s) {
            errs.push(Cause::not_supported(path, &Value::from(s), STRATEGIES));
        }
    }
    if !str_at(obj, "/spec/preferredHolder").is_empty() && strategy.unwrap_or("").is_empty() {
        errs.push(Cause::forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

impl Strategy for LeaseStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        validate_lease(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lease_rules() {
        let ok = json!({"spec": {"holderIdentity": "node-1_abc", "leaseDurationSeconds": 40,
            "leaseTransitions": 0, "renewTime": "2024-01-01T00:00:00.000000Z"}});
        assert!(LeaseStrategy.validate_create(&ok).is_empty());
        let bad = json!({"spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1,
            "strategy": "Newest", "preferredHolder": "x"}});
        let e = LeaseStrategy.validate_create(&bad);
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "spec.leaseDurationSeconds",
                "spec.leaseTransitions",
                "spec.strategy.strategy"
            ]
        );
        assert_eq!(e[0].message, "Invalid value: 0: must be greater than 0");
        let holder = json!({"spec": {"preferredHolder": "x"}});
        assert_eq!(
            LeaseStrategy.validate_create(&holder)[0].message,
            "Forbidden: may only be specified if `strategy` is defined"
        );
    }
}
