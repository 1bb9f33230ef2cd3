//! The `autoscaling.alpha.kubernetes.io/behavior` annotation of an
//! autoscaling/v1 HPA. Upstream marshals its *internal*
//! `HorizontalPodAutoscalerBehavior` into it, and internal types carry no json
//! tags, so the keys are Go's field names (`ScaleUp`, `StabilizationWindowSeconds`,
//! `SelectPolicy`, `Policies`, `Type`, `Value`, `PeriodSeconds`, `Tolerance`) and
//! unset pointers are written as `null`. Reading it back follows
//! `encoding/json`: keys match case-insensitively (the last match wins), unknown
//! keys are ignored, and a value of the wrong type fails the whole decode, in
//! which case upstream ignores the annotation.

use serde_json::{Map, Value, json};

use super::present;

/// The internal-type JSON for a v2 `behavior` block.
pub(super) fn to_annotation(behavior: &Value) -> Value {
    json!({
        "ScaleUp": rules_to_internal(present(behavior, "scaleUp")),
        "ScaleDown": rules_to_internal(present(behavior, "scaleDown")),
    })
}

fn rules_to_internal(rules: Option<&Value>) -> Value {
    let Some(rules) = rules else {
        return Value::Null;
    };
    let policies = match present(rules, "policies") {
        Some(Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|p| {
                    json!({
                        "Type": present(p, "type").cloned().unwrap_or(json!("")),
                        "Value": present(p, "value").cloned().unwrap_or(json!(0)),
                        "PeriodSeconds": present(p, "periodSeconds").cloned().unwrap_or(json!(0)),
                    })
                })
                .collect(),
        ),
        _ => Value::Null,
    };
    let field = |key| present(rules, key).cloned().unwrap_or(Value::Null);
    json!({
        "StabilizationWindowSeconds": field("stabilizationWindowSeconds"),
        "SelectPolicy": field("selectPolicy"),
        "Policies": policies,
        "Tolerance": field("tolerance"),
    })
}

/// The v2 `behavior` block an annotation value decodes to; `None` when it does
/// not decode (upstream ignores it then) or sets neither direction.
pub(super) fn from_annotation(text: &str) -> Option<Value> {
    let parsed: Value = serde_json::from_str(text).ok()?;
    let top = match parsed {
        Value::Null => return None,
        Value::Object(map) => map,
        _ => return None,
    };
    let scale_up = rules_from_internal(field(&top, "ScaleUp"))?;
    let scale_down = rules_from_internal(field(&top, "ScaleDown"))?;
    if scale_up.is_none() && scale_down.is_none() {
        return None;
    }
    let mut out = Map::new();
    if let Some(rules) = scale_up {
        out.insert("scaleUp".into(), rules);
    }
    if let Some(rules) = scale_down {
        out.insert("scaleDown".into(), rules);
    }
    Some(Value::Object(out))
}

/// The value `encoding/json` would decode into Go field `name`: the last key
/// equal to it ignoring ASCII case.
fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .next_back()
}

/// Outer `None`: a type error (the annotation is ignored). Inner `None`: the
/// pointer stays nil.
fn rules_from_internal(value: Option<&Value>) -> Option<Option<Value>> {
    let map = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Object(map)) => map,
        Some(_) => return None,
    };
    let mut out = Map::new();
    if let Some(v) = optional_int32(field(map, "StabilizationWindowSeconds"))? {
        out.insert("stabilizationWindowSeconds".into(), v);
    }
    if let Some(v) = optional_string(field(map, "SelectPolicy"))? {
        out.insert("selectPolicy".into(), v);
    }
    match field(map, "Policies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let policies = items
                .iter()
                .map(policy_from_internal)
                .collect::<Option<Vec<_>>>()?;
            // v2 declares `policies,omitempty`.
            if !policies.is_empty() {
                out.insert("policies".into(), Value::Array(policies));
            }
        }
        Some(_) => return None,
    }
    match field(map, "Tolerance") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            out.insert("tolerance".into(), json!(s));
        }
        // `resource.Quantity` also parses an unquoted number.
        Some(Value::Number(n)) => {
            out.insert("tolerance".into(), json!(n.to_string()));
        }
        Some(_) => return None,
    }
    Some(Some(Value::Object(out)))
}

fn policy_from_internal(value: &Value) -> Option<Value> {
    let empty = Map::new();
    let map = match value {
        Value::Null => &empty,
        Value::Object(map) => map,
        _ => return None,
    };
    let kind = optional_string(field(map, "Type"))?.unwrap_or(json!(""));
    let amount = optional_int32(field(map, "Value"))?.unwrap_or(json!(0));
    let period = optional_int32(field(map, "PeriodSeconds"))?.unwrap_or(json!(0));
    Some(json!({"type": kind, "value": amount, "periodSeconds": period}))
}

/// An `int32` field: null or absent is unset, an integer in range is kept,
/// anything else is a decode error.
fn optional_int32(value: Option<&Value>) -> Option<Option<Value>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => {
            let v = n.as_i64().filter(|v| i32::try_from(*v).is_ok())?;
            Some(Some(json!(v)))
        }
        Some(_) => None,
    }
}

fn optional_string(value: Option<&Value>) -> Option<Option<Value>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(json!(s))),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_behavior() -> Value {
        json!({
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}
                ],
                "tolerance": "50m"
            },
            "scaleDown": {
                "stabilizationWindowSeconds": 300,
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]
            }
        })
    }

    #[test]
    fn encodes_with_go_field_names_and_nulls() {
        let text = super::super::go_json(&to_annotation(&v2_behavior()));
        assert_eq!(
            text,
            concat!(
                r#"{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","#,
                r#""Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15},"#,
                r#"{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":"50m"},"#,
                r#""ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":null,"#,
                r#""Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null}}"#
            )
        );
        let only_down = to_annotation(&json!({"scaleDown": {"selectPolicy": "Disabled"}}));
        assert_eq!(only_down["ScaleUp"], Value::Null);
        assert_eq!(only_down["ScaleDown"]["Policies"], Value::Null);
    }

    #[test]
    fn round_trips_through_the_annotation() {
        let text = to_annotation(&v2_behavior()).to_string();
        assert_eq!(from_annotation(&text), Some(v2_behavior()));
    }

    #[test]
    fn decodes_keys_case_insensitively_last_wins() {
        let text = r#"{"scaleup": {"stabilizationwindowseconds": 5, "STABILIZATIONWINDOWSECONDS": 7,
                       "selectpolicy": "Min", "unknown": true}, "Other": 1}"#;
        assert_eq!(
            from_annotation(text),
            Some(json!({"scaleUp": {"stabilizationWindowSeconds": 7, "selectPolicy": "Min"}}))
        );
    }

    #[test]
    fn empty_or_invalid_annotations_decode_to_nothing() {
        for text in [
            "",
            "not json",
            "null",
            "{}",
            r#"{"ScaleUp": null, "ScaleDown": null}"#,
            "[1]",
            r#"{"ScaleUp": 3}"#,
            r#"{"ScaleUp": {"StabilizationWindowSeconds": "60"}}"#,
            r#"{"ScaleUp": {"StabilizationWindowSeconds": 1.5}}"#,
            r#"{"ScaleUp": {"StabilizationWindowSeconds": 4294967296}}"#,
            r#"{"ScaleUp": {"Policies": {"Type": "Pods"}}}"#,
            r#"{"ScaleUp": {"Policies": [{"Value": "4"}]}}"#,
            r#"{"ScaleUp": {"SelectPolicy": 1}}"#,
            r#"{"ScaleUp": {"Tolerance": true}}"#,
        ] {
            assert_eq!(from_annotation(text), None, "{text}");
        }
    }

    #[test]
    fn zero_structs_and_numbers_decode_like_go() {
        let text = r#"{"ScaleDown": {"Policies": [null, {"Type": "Pods"}], "Tolerance": 0.1}}"#;
        assert_eq!(
            from_annotation(text),
            Some(json!({"scaleDown": {
                "policies": [
                    {"type": "", "value": 0, "periodSeconds": 0},
                    {"type": "Pods", "value": 0, "periodSeconds": 0}
                ],
                "tolerance": "0.1"
            }}))
        );
        // An empty rule set is still a set rule (a non-nil pointer).
        assert_eq!(
            from_annotation(r#"{"ScaleUp": {"Policies": []}}"#),
            Some(json!({"scaleUp": {}}))
        );
    }
}
