//! Shared workload rules: selector present, valid and matching the pod
//! template labels; the template validated with the pod rules;
//! int-or-percent fields; and Go-style rendering of a `LabelSelector` for
//! `field is immutable` messages.

use super::pod::{default_pod_spec, require_restart_policy, validate_pod_template};
use crate::validation::selector::selector_is_empty;
use crate::validation::{
    child, go_string_map, invalid_raw, invalid_str, regex_error, selector_matches,
    validate_label_selector, validate_nonnegative,
};
use apimachinery::Cause;
use serde_json::{Value, json};

/// Go's `%#v` of a `v1.LabelSelector`, as upstream prints it in errors.
pub fn go_label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return "null".into();
    };
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items = list
                .iter()
                .map(|r| {
                    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let values = match r.get("values").and_then(Value::as_array) {
                        None => "[]string(nil)".to_string(),
                        Some(v) => format!(
                            "[]string{{{}}}",
                            v.iter()
                                .map(|x| format!("{:?}", x.as_str().unwrap_or("")))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{:?}, Operator:{:?}, Values:{values}}}",
                        s("key"),
                        s("operator")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("[]v1.LabelSelectorRequirement{{{items}}}")
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(sel.get("matchLabels"))
    )
}

/// `spec.selector` must not change (apps/v1 workloads).
pub fn selector_immutable(new: &Value, old: &Value) -> Vec<Cause> {
    let (n, o) = (new.pointer("/spec/selector"), old.pointer("/spec/selector"));
    if n == o {
        return vec![];
    }
    vec![invalid_raw(
        "spec.selector",
        &go_label_selector(n),
        "field is immutable",
    )]
}

/// Selector required, valid and non-empty; template labels must match it;
/// template validated; restartPolicy Always; no activeDeadlineSeconds.
/// `kind` names the workload in upstream's messages (`deployment`,
/// `StatefulSet`, …): `(empty_selector_word, kind_for_deadline)`.
pub fn validate_selector_and_template(spec: &Value, empty_word: &str, kind: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let tmpl = spec.get("template");
    match spec.get("selector").filter(|s| !s.is_null()) {
        None => errs.push(Cause::required("spec.selector")),
        Some(sel) => {
            errs.extend(validate_label_selector(sel, "spec.selector"));
            if selector_is_empty(sel) {
                errs.push(invalid_raw(
                    "spec.selector",
                    &go_label_selector(Some(sel)),
                    &format!("empty selector is invalid for {empty_word}"),
                ));
            } else if let Some(t) = tmpl {
                let labels = t.pointer("/metadata/labels");
                if !selector_matches(sel, labels) {
                    errs.push(invalid_raw(
                        "spec.template.metadata.labels",
                        &go_string_map(labels),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
    }
    errs.extend(validate_pod_template(tmpl, "spec.template"));
    if let Some(t) = tmpl.filter(|t| t.is_object()) {
        errs.extend(require_restart_policy("spec.template", t, &["Always"]));
        if t.pointer("/spec/activeDeadlineSeconds")
            .is_some_and(|v| !v.is_null())
        {
            errs.push(Cause::forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                format!("activeDeadlineSeconds in {kind} is not Supported"),
            ));
        }
    }
    for f in ["replicas", "minReadySeconds", "revisionHistoryLimit"] {
        errs.extend(validate_nonnegative(spec.get(f), &child("spec", f)));
    }
    errs
}

/// `ValidatePositiveIntOrPercent` (and at most 100% when `max_100`).
pub fn validate_int_or_percent(v: Option<&Value>, path: &str, max_100: bool) -> Vec<Cause> {
    match v {
        Some(Value::String(s)) => {
            let digits = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            match digits {
                None => vec![invalid_str(
                    path,
                    s,
                    &regex_error(
                        "a valid percent string must be a numeric string followed by an ending '%'",
                        "[0-9]+%",
                        &["1%", "93%"],
                    ),
                )],
                Some(d) if max_100 && d.parse::<u64>().map_or(true, |n| n > 100) => {
                    vec![invalid_str(path, s, "must not be greater than 100%")]
                }
                Some(_) => vec![],
            }
        }
        Some(Value::Number(_)) => validate_nonnegative(v, path),
        _ => vec![],
    }
}

/// Whether an int-or-percent is zero (`0` or `"0%"`).
pub fn is_zero_int_or_percent(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s == "0%" || s == "0",
        _ => false,
    }
}

/// Default the pod template's spec.
pub fn default_template(spec: &mut Value) {
    if let Some(s) = spec.pointer_mut("/template/spec") {
        default_pod_spec(s);
    }
}

/// A fresh, empty status on create (controllers fill it in).
pub fn reset_status(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), json!({}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_selector_rendering() {
        let s = json!({"matchLabels": {"app": "nginx2"}});
        assert_eq!(
            go_label_selector(Some(&s)),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"app":"nginx2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
    }

    #[test]
    fn int_or_percent() {
        assert!(validate_int_or_percent(Some(&json!("25%")), "x", true).is_empty());
        assert!(validate_int_or_percent(Some(&json!(3)), "x", true).is_empty());
        assert_eq!(
            validate_int_or_percent(Some(&json!("25")), "x", true).len(),
            1
        );
        assert_eq!(
            validate_int_or_percent(Some(&json!("150%")), "x", true)[0].message,
            "Invalid value: \"150%\": must not be greater than 100%"
        );
        assert!(is_zero_int_or_percent(Some(&json!("0%"))));
    }
}
