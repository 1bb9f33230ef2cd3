//! Conversion between the group-versions that share one stored resource:
//! `core/v1` Event ↔ `events.k8s.io/v1` Event, and `autoscaling/v2` ↔
//! `autoscaling/v1` HorizontalPodAutoscaler. The registry stores each resource
//! once, in its storage version, and converts request bodies into it before a
//! write and every object it serves out of it.
//!
//! Each pair follows upstream's conversion functions field for field
//! (`pkg/apis/events/v1/conversion.go`, `pkg/apis/autoscaling/v1/conversion.go`
//! with the generated conversions around them). Because upstream goes through Go
//! structs, fields the target version declares without `omitempty` come out
//! even when zero (`eventTime: null`, `reportingComponent: ""`,
//! `desiredReplicas: 0`, ...); fields neither version knows are dropped, as a
//! typed decode drops them. `metadata` is carried over unchanged, except for
//! the HPA round-trip annotations that autoscaling/v1 owns.

mod event;
mod hpa;
mod hpa_behavior;
mod hpa_metrics;

use serde_json::{Map, Value};

pub use hpa::{
    BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION,
    DEFAULT_CPU_UTILIZATION, METRICS_ANNOTATION, ROUND_TRIP_ANNOTATIONS,
    TOLERANCE_SCALE_DOWN_ANNOTATION, TOLERANCE_SCALE_UP_ANNOTATION,
};

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error("object to convert is not a JSON object")]
    NotAnObject,
    #[error("object to convert has no apiVersion and kind")]
    MissingTypeMeta,
    #[error("no conversion for {kind} from {from} to {to}")]
    Unsupported {
        kind: String,
        from: String,
        to: String,
    },
}

/// `group/version` as it appears in `apiVersion` (`v1` for the core group).
fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Splits an `apiVersion` into (group, version); the core group is "".
fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Converts `obj` (any object carrying `apiVersion` and `kind`) to
/// `to_group`/`to_version` (group "" is the core group). An object already at
/// the target comes back as a clone (an autoscaling/v2 HPA minus the v1
/// round-trip annotations, as upstream's v2 conversion drops them); a kind or
/// pair without a conversion is an error. The result carries the target
/// `apiVersion` and the `kind`.
pub fn convert(obj: &Value, to_group: &str, to_version: &str) -> Result<Value, ConversionError> {
    let map = obj.as_object().ok_or(ConversionError::NotAnObject)?;
    let (Some(from), Some(kind)) = (
        map.get("apiVersion").and_then(Value::as_str),
        map.get("kind").and_then(Value::as_str),
    ) else {
        return Err(ConversionError::MissingTypeMeta);
    };
    let from_gv = split_api_version(from);
    if from_gv == (to_group, to_version) {
        // Upstream's v2 codec drops v1's round-trip annotations on every
        // decode and encode, so a v2 client can neither store nor see them.
        if kind == "HorizontalPodAutoscaler" && from_gv == ("autoscaling", "v2") {
            return Ok(hpa::v2_identity(map));
        }
        return Ok(obj.clone());
    }
    match (kind, from_gv, (to_group, to_version)) {
        ("Event", ("", "v1"), ("events.k8s.io", "v1")) => Ok(event::core_to_events(map)),
        ("Event", ("events.k8s.io", "v1"), ("", "v1")) => Ok(event::events_to_core(map)),
        ("HorizontalPodAutoscaler", ("autoscaling", "v2"), ("autoscaling", "v1")) => {
            Ok(hpa::v2_to_v1(map))
        }
        ("HorizontalPodAutoscaler", ("autoscaling", "v1"), ("autoscaling", "v2")) => {
            Ok(hpa::v1_to_v2(map))
        }
        _ => Err(ConversionError::Unsupported {
            kind: kind.to_string(),
            from: from.to_string(),
            to: api_version(to_group, to_version),
        }),
    }
}

/// Whether `convert` knows a conversion for `kind` between the two
/// group-versions (either direction), so callers can check before serving.
pub fn supports(kind: &str, from: (&str, &str), to: (&str, &str)) -> bool {
    if from == to {
        return true;
    }
    let pair = |a, b| (from == a && to == b) || (from == b && to == a);
    match kind {
        "Event" => pair(("", "v1"), ("events.k8s.io", "v1")),
        "HorizontalPodAutoscaler" => pair(("autoscaling", "v1"), ("autoscaling", "v2")),
        _ => false,
    }
}

/// A new object with Go's TypeMeta order (`kind`, then `apiVersion`) and the
/// source's metadata.
fn start_object(kind: &str, api_version: &str, src: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(kind.into()));
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    if let Some(meta) = src.get("metadata") {
        out.insert("metadata".into(), meta.clone());
    }
    out
}

/// A field that is set: present and not null.
fn present<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// A field Go would keep under `omitempty`: not null, "", 0, false, [] or {}.
fn non_empty<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    present(obj, key).filter(|v| match v {
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Bool(b) => *b,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Null => false,
    })
}

/// Copies `obj[from]` to `out[to]` when it survives `omitempty`.
fn copy_non_empty(out: &mut Map<String, Value>, to: &str, obj: &Value, from: &str) {
    if let Some(v) = non_empty(obj, from) {
        out.insert(to.into(), v.clone());
    }
}

/// Copies `obj[from]` to `out[to]` when set (an optional pointer field).
fn copy_present(out: &mut Map<String, Value>, to: &str, obj: &Value, from: &str) {
    if let Some(v) = present(obj, from) {
        out.insert(to.into(), v.clone());
    }
}

/// Copies a field the target declares without `omitempty`: Go writes its zero
/// value (`zero`) when the source has none.
fn copy_or(out: &mut Map<String, Value>, to: &str, obj: &Value, from: &str, zero: Value) {
    out.insert(to.into(), present(obj, from).cloned().unwrap_or(zero));
}

/// `json.Marshal` output for a value: compact, with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped the way Go's encoder escapes them (they can only occur inside
/// strings, so a textual replacement is exact).
fn go_json(value: &Value) -> String {
    let text = value.to_string();
    if !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_is_a_clone_for_any_kind() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "x": 1});
        assert_eq!(convert(&pod, "", "v1").unwrap(), pod);
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"});
        assert_eq!(convert(&hpa, "autoscaling", "v2").unwrap(), hpa);
    }

    #[test]
    fn unsupported_pairs_are_errors() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod"});
        assert_eq!(
            convert(&pod, "events.k8s.io", "v1"),
            Err(ConversionError::Unsupported {
                kind: "Pod".into(),
                from: "v1".into(),
                to: "events.k8s.io/v1".into()
            })
        );
        let hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler"});
        assert!(matches!(
            convert(&hpa, "autoscaling", "v2beta2"),
            Err(ConversionError::Unsupported { .. })
        ));
        let event = json!({"apiVersion": "v1", "kind": "Event"});
        assert!(matches!(
            convert(&event, "autoscaling", "v1"),
            Err(ConversionError::Unsupported { .. })
        ));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(
            convert(&json!([1]), "", "v1"),
            Err(ConversionError::NotAnObject)
        );
        assert_eq!(
            convert(&json!({"kind": "Event"}), "", "v1"),
            Err(ConversionError::MissingTypeMeta)
        );
        assert_eq!(
            convert(&json!({"apiVersion": "v1"}), "", "v1"),
            Err(ConversionError::MissingTypeMeta)
        );
    }

    #[test]
    fn supports_lists_both_directions() {
        assert!(supports("Event", ("", "v1"), ("events.k8s.io", "v1")));
        assert!(supports("Event", ("events.k8s.io", "v1"), ("", "v1")));
        assert!(supports(
            "HorizontalPodAutoscaler",
            ("autoscaling", "v2"),
            ("autoscaling", "v1")
        ));
        assert!(supports("Pod", ("", "v1"), ("", "v1")));
        assert!(!supports("Pod", ("", "v1"), ("apps", "v1")));
        assert!(!supports("Event", ("", "v1"), ("autoscaling", "v1")));
    }

    #[test]
    fn go_json_escapes_html_characters() {
        assert_eq!(
            go_json(&json!({"a": "x<y>&z"})),
            r#"{"a":"x\u003cy\u003e\u0026z"}"#
        );
        assert_eq!(go_json(&json!([1, "b"])), r#"[1,"b"]"#);
    }

    #[test]
    fn split_and_join_api_versions() {
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(
            split_api_version("events.k8s.io/v1"),
            ("events.k8s.io", "v1")
        );
        assert_eq!(api_version("", "v1"), "v1");
        assert_eq!(api_version("autoscaling", "v2"), "autoscaling/v2");
    }
}
