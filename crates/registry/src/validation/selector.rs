//! `metav1.LabelSelector` validation and matching over JSON.

use super::{child, index, invalid_str, is_valid_label_value, required_with, validate_labels};
use apimachinery::Cause;
use serde_json::Value;

/// `ValidateLabelSelector`: matchLabels as labels, each expression's key,
/// operator and values.
pub fn validate_label_selector(sel: &Value, path: &str) -> Vec<Cause> {
    let mut errs = validate_labels(sel.get("matchLabels"), &child(path, "matchLabels"));
    let exprs = sel.get("matchExpressions").and_then(Value::as_array);
    for (i, req) in exprs.into_iter().flatten().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let op = req.get("operator").and_then(Value::as_str).unwrap_or("");
        let values = req.get("values").and_then(Value::as_array);
        let n = values.map_or(0, Vec::len);
        match op {
            "In" | "NotIn" if n == 0 => errs.push(required_with(
                child(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "In" | "NotIn" => {}
            "Exists" | "DoesNotExist" if n > 0 => errs.push(Cause::forbidden(
                child(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "Exists" | "DoesNotExist" => {}
            _ => errs.push(invalid_str(
                child(&p, "operator"),
                op,
                "not a valid selector operator",
            )),
        }
        let key = req.get("key").and_then(Value::as_str).unwrap_or("");
        for m in super::is_qualified_name(key) {
            errs.push(invalid_str(child(&p, "key"), key, &m));
        }
        for (j, v) in values.into_iter().flatten().enumerate() {
            let v = v.as_str().unwrap_or("");
            for m in is_valid_label_value(v) {
                errs.push(invalid_str(index(&child(&p, "values"), j), v, &m));
            }
        }
    }
    errs
}

/// True when the selector has neither matchLabels nor matchExpressions.
pub fn selector_is_empty(sel: &Value) -> bool {
    let n_labels = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len());
    let n_exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    n_labels + n_exprs == 0
}

/// Whether `labels` (a JSON object or absent) satisfy the selector.
pub fn selector_matches(sel: &Value, labels: Option<&Value>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let ml = sel.get("matchLabels").and_then(Value::as_object);
    for (k, v) in ml.into_iter().flatten() {
        if get(k) != v.as_str() {
            return false;
        }
    }
    let exprs = sel.get("matchExpressions").and_then(Value::as_array);
    for req in exprs.into_iter().flatten() {
        let key = req.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = req
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let have = get(key);
        let ok = match req.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matching() {
        let sel = json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]});
        assert!(selector_matches(&sel, Some(&json!({"app": "web"}))));
        assert!(!selector_matches(
            &sel,
            Some(&json!({"app": "web", "tier": "db"}))
        ));
        assert!(!selector_matches(&sel, None));
        assert!(selector_is_empty(&json!({})));
    }

    #[test]
    fn validation_paths() {
        let sel = json!({"matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Like", "values": ["x"]}]});
        let e = validate_label_selector(&sel, "spec.selector");
        assert_eq!(e[0].field, "spec.selector.matchExpressions[0].values");
        assert_eq!(e[1].reason, "FieldValueForbidden");
        assert_eq!(
            e[2].message,
            "Invalid value: \"Like\": not a valid selector operator"
        );
    }
}
