//! HPA metric specs and statuses between the autoscaling/v2 shape (a
//! `metric` identifier plus a `target`/`current` block) and the flat
//! autoscaling/v1 shape that the v1 round-trip annotations carry
//! (`metricName`, `targetAverageValue`, `currentAverageUtilization`, ...), as
//! upstream's per-source conversion functions in
//! `pkg/apis/autoscaling/v1/conversion.go` do.
//!
//! Quirks kept on purpose because upstream has them: v1 declares some
//! quantities as non-pointers, so a missing one is written as Go's zero
//! quantity `"0"` (e.g. an Object metric's `targetValue`), and v1 → v2 always
//! sets `value` on an Object target and `averageValue` on a Resource status.

use serde_json::{Map, Value, json};

use super::{copy_non_empty, copy_or, copy_present, present};

/// Go's zero `resource.Quantity`, as it marshals.
fn zero_quantity() -> Value {
    json!("0")
}

fn empty() -> Value {
    json!({})
}

/// `CrossVersionObjectReference` (the same shape in v1 and v2): `kind` and
/// `name` always written, `apiVersion` under `omitempty`.
pub(super) fn object_ref(src: Option<&Value>) -> Value {
    let src = src.cloned().unwrap_or_else(empty);
    let mut out = Map::new();
    copy_or(&mut out, "kind", &src, "kind", json!(""));
    copy_or(&mut out, "name", &src, "name", json!(""));
    copy_non_empty(&mut out, "apiVersion", &src, "apiVersion");
    Value::Object(out)
}

/// v2 `MetricIdentifier` from a v1 source's name and selector fields.
fn identifier(src: &Value, selector_key: &str) -> Value {
    let mut out = Map::new();
    copy_or(&mut out, "name", src, "metricName", json!(""));
    copy_present(&mut out, "selector", src, selector_key);
    Value::Object(out)
}

/// The block under `key` (`target`, `current`, `metric`), or `{}`.
fn block(src: &Value, key: &str) -> Value {
    present(src, key).cloned().unwrap_or_else(empty)
}

/// Writes the v1 `metricName` and, when set, the selector of a v2 source.
fn flat_identifier(out: &mut Map<String, Value>, src: &Value) -> Option<Value> {
    let metric = block(src, "metric");
    copy_or(out, "metricName", &metric, "name", json!(""));
    present(&metric, "selector").cloned()
}

/// The sources a metric spec or status can name (the same keys in v1 and v2).
const SOURCES: [&str; 5] = [
    "object",
    "pods",
    "resource",
    "containerResource",
    "external",
];

/// Converts one v2 `MetricSpec` or `MetricStatus` (`status` true) to v1.
pub(super) fn metric_v2_to_v1(m: &Value, status: bool) -> Value {
    let mut out = Map::new();
    copy_or(&mut out, "type", m, "type", json!(""));
    for key in SOURCES {
        if let Some(src) = present(m, key) {
            let converted = if status {
                status_source_v2_to_v1(key, src)
            } else {
                spec_source_v2_to_v1(key, src)
            };
            out.insert(key.into(), converted);
        }
    }
    Value::Object(out)
}

/// Converts one v1 `MetricSpec` or `MetricStatus` (`status` true) to v2.
pub(super) fn metric_v1_to_v2(m: &Value, status: bool) -> Value {
    let mut out = Map::new();
    copy_or(&mut out, "type", m, "type", json!(""));
    for key in SOURCES {
        if let Some(src) = present(m, key) {
            let converted = if status {
                status_source_v1_to_v2(key, src)
            } else {
                spec_source_v1_to_v2(key, src)
            };
            out.insert(key.into(), converted);
        }
    }
    Value::Object(out)
}

fn spec_source_v2_to_v1(key: &str, src: &Value) -> Value {
    let target = block(src, "target");
    let mut out = Map::new();
    match key {
        "object" => {
            out.insert("target".into(), object_ref(present(src, "describedObject")));
            let selector = flat_identifier(&mut out, src);
            copy_or(&mut out, "targetValue", &target, "value", zero_quantity());
            if let Some(s) = selector {
                out.insert("selector".into(), s);
            }
            copy_present(&mut out, "averageValue", &target, "averageValue");
        }
        "pods" => {
            let selector = flat_identifier(&mut out, src);
            copy_or(
                &mut out,
                "targetAverageValue",
                &target,
                "averageValue",
                zero_quantity(),
            );
            if let Some(s) = selector {
                out.insert("selector".into(), s);
            }
        }
        "resource" | "containerResource" => {
            copy_or(&mut out, "name", src, "name", json!(""));
            copy_present(
                &mut out,
                "targetAverageUtilization",
                &target,
                "averageUtilization",
            );
            copy_present(&mut out, "targetAverageValue", &target, "averageValue");
            if key == "containerResource" {
                copy_or(&mut out, "container", src, "container", json!(""));
            }
        }
        _ => {
            let selector = flat_identifier(&mut out, src);
            if let Some(s) = selector {
                out.insert("metricSelector".into(), s);
            }
            copy_present(&mut out, "targetValue", &target, "value");
            copy_present(&mut out, "targetAverageValue", &target, "averageValue");
        }
    }
    Value::Object(out)
}

fn spec_source_v1_to_v2(key: &str, src: &Value) -> Value {
    let mut out = Map::new();
    let mut target = Map::new();
    match key {
        "object" => {
            let kind = if present(src, "averageValue").is_none() {
                "Value"
            } else {
                "AverageValue"
            };
            target.insert("type".into(), json!(kind));
            copy_or(&mut target, "value", src, "targetValue", zero_quantity());
            copy_present(&mut target, "averageValue", src, "averageValue");
            out.insert("describedObject".into(), object_ref(present(src, "target")));
            out.insert("target".into(), Value::Object(target));
            out.insert("metric".into(), identifier(src, "selector"));
        }
        "pods" => {
            target.insert("type".into(), json!("AverageValue"));
            copy_or(
                &mut target,
                "averageValue",
                src,
                "targetAverageValue",
                zero_quantity(),
            );
            out.insert("metric".into(), identifier(src, "selector"));
            out.insert("target".into(), Value::Object(target));
        }
        "resource" | "containerResource" => {
            let kind = if present(src, "targetAverageUtilization").is_none() {
                "AverageValue"
            } else {
                "Utilization"
            };
            target.insert("type".into(), json!(kind));
            copy_present(&mut target, "averageValue", src, "targetAverageValue");
            copy_present(
                &mut target,
                "averageUtilization",
                src,
                "targetAverageUtilization",
            );
            copy_or(&mut out, "name", src, "name", json!(""));
            out.insert("target".into(), Value::Object(target));
            if key == "containerResource" {
                copy_or(&mut out, "container", src, "container", json!(""));
            }
        }
        _ => {
            let kind = if present(src, "targetValue").is_none() {
                "AverageValue"
            } else {
                "Value"
            };
            target.insert("type".into(), json!(kind));
            copy_present(&mut target, "value", src, "targetValue");
            copy_present(&mut target, "averageValue", src, "targetAverageValue");
            out.insert("metric".into(), identifier(src, "metricSelector"));
            out.insert("target".into(), Value::Object(target));
        }
    }
    Value::Object(out)
}

fn status_source_v2_to_v1(key: &str, src: &Value) -> Value {
    let current = block(src, "current");
    let mut out = Map::new();
    match key {
        "object" => {
            out.insert("target".into(), object_ref(present(src, "describedObject")));
            let selector = flat_identifier(&mut out, src);
            copy_or(&mut out, "currentValue", &current, "value", zero_quantity());
            if let Some(s) = selector {
                out.insert("selector".into(), s);
            }
            copy_present(&mut out, "averageValue", &current, "averageValue");
        }
        "pods" => {
            let selector = flat_identifier(&mut out, src);
            copy_or(
                &mut out,
                "currentAverageValue",
                &current,
                "averageValue",
                zero_quantity(),
            );
            if let Some(s) = selector {
                out.insert("selector".into(), s);
            }
        }
        "resource" | "containerResource" => {
            copy_or(&mut out, "name", src, "name", json!(""));
            copy_present(
                &mut out,
                "currentAverageUtilization",
                &current,
                "averageUtilization",
            );
            copy_or(
                &mut out,
                "currentAverageValue",
                &current,
                "averageValue",
                zero_quantity(),
            );
            if key == "containerResource" {
                copy_or(&mut out, "container", src, "container", json!(""));
            }
        }
        _ => {
            let selector = flat_identifier(&mut out, src);
            if let Some(s) = selector {
                out.insert("metricSelector".into(), s);
            }
            copy_or(&mut out, "currentValue", &current, "value", zero_quantity());
            copy_present(&mut out, "currentAverageValue", &current, "averageValue");
        }
    }
    Value::Object(out)
}

fn status_source_v1_to_v2(key: &str, src: &Value) -> Value {
    let mut out = Map::new();
    let mut current = Map::new();
    match key {
        "object" => {
            copy_or(&mut current, "value", src, "currentValue", zero_quantity());
            copy_present(&mut current, "averageValue", src, "averageValue");
            out.insert("metric".into(), identifier(src, "selector"));
            out.insert("current".into(), Value::Object(current));
            out.insert("describedObject".into(), object_ref(present(src, "target")));
        }
        "pods" => {
            copy_or(
                &mut current,
                "averageValue",
                src,
                "currentAverageValue",
                zero_quantity(),
            );
            out.insert("metric".into(), identifier(src, "selector"));
            out.insert("current".into(), Value::Object(current));
        }
        "resource" | "containerResource" => {
            copy_or(
                &mut current,
                "averageValue",
                src,
                "currentAverageValue",
                zero_quantity(),
            );
            copy_present(
                &mut current,
                "averageUtilization",
                src,
                "currentAverageUtilization",
            );
            copy_or(&mut out, "name", src, "name", json!(""));
            out.insert("current".into(), Value::Object(current));
            if key == "containerResource" {
                copy_or(&mut out, "container", src, "container", json!(""));
            }
        }
        _ => {
            copy_or(&mut current, "value", src, "currentValue", zero_quantity());
            copy_present(&mut current, "averageValue", src, "currentAverageValue");
            out.insert("metric".into(), identifier(src, "metricSelector"));
            out.insert("current".into(), Value::Object(current));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel() -> Value {
        json!({"matchLabels": {"queue": "jobs"}})
    }

    #[test]
    fn spec_sources_v2_to_v1_and_back() {
        // (v2, v1): every source kind with the target types v1 can hold exactly.
        let cases = [
            (
                json!({"type": "Object", "object": {
                    "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
                    "target": {"type": "Value", "value": "10"},
                    "metric": {"name": "rps", "selector": sel()}}}),
                json!({"type": "Object", "object": {
                    "target": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
                    "metricName": "rps", "targetValue": "10", "selector": sel()}}),
            ),
            (
                json!({"type": "Pods", "pods": {
                    "metric": {"name": "tps"},
                    "target": {"type": "AverageValue", "averageValue": "1k"}}}),
                json!({"type": "Pods", "pods": {"metricName": "tps", "targetAverageValue": "1k"}}),
            ),
            (
                json!({"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "100Mi"}}}),
                json!({"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}),
            ),
            (
                json!({"type": "ContainerResource", "containerResource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 60}, "container": "app"}}),
                json!({"type": "ContainerResource", "containerResource": {"name": "cpu",
                    "targetAverageUtilization": 60, "container": "app"}}),
            ),
            (
                json!({"type": "External", "external": {
                    "metric": {"name": "queue", "selector": sel()},
                    "target": {"type": "Value", "value": "30"}}}),
                json!({"type": "External", "external": {"metricName": "queue",
                    "metricSelector": sel(), "targetValue": "30"}}),
            ),
            (
                json!({"type": "External", "external": {"metric": {"name": "queue"},
                    "target": {"type": "AverageValue", "averageValue": "3"}}}),
                json!({"type": "External", "external": {"metricName": "queue", "targetAverageValue": "3"}}),
            ),
        ];
        for (v2, v1) in cases {
            assert_eq!(metric_v2_to_v1(&v2, false), v1);
            assert_eq!(metric_v1_to_v2(&v1, false), v2);
        }
    }

    #[test]
    fn object_average_value_gains_a_zero_value_as_upstream() {
        let v2 = json!({"type": "Object", "object": {
            "describedObject": {"kind": "Service", "name": "s"},
            "target": {"type": "AverageValue", "averageValue": "5"},
            "metric": {"name": "m"}}});
        let v1 = metric_v2_to_v1(&v2, false);
        assert_eq!(
            v1["object"],
            json!({"target": {"kind": "Service", "name": "s"}, "metricName": "m",
                   "targetValue": "0", "averageValue": "5"})
        );
        let back = metric_v1_to_v2(&v1, false);
        assert_eq!(
            back["object"]["target"],
            json!({"type": "AverageValue", "value": "0", "averageValue": "5"})
        );
    }

    #[test]
    fn status_sources_v2_to_v1_and_back() {
        let cases = [
            (
                json!({"type": "Object", "object": {"metric": {"name": "rps"},
                    "current": {"value": "12"},
                    "describedObject": {"kind": "Ingress", "name": "main"}}}),
                json!({"type": "Object", "object": {"target": {"kind": "Ingress", "name": "main"},
                    "metricName": "rps", "currentValue": "12"}}),
            ),
            (
                json!({"type": "Pods", "pods": {"metric": {"name": "tps", "selector": sel()},
                    "current": {"averageValue": "900"}}}),
                json!({"type": "Pods", "pods": {"metricName": "tps", "currentAverageValue": "900",
                    "selector": sel()}}),
            ),
            (
                json!({"type": "Resource", "resource": {"name": "cpu",
                    "current": {"averageValue": "250m", "averageUtilization": 50}}}),
                json!({"type": "Resource", "resource": {"name": "cpu",
                    "currentAverageUtilization": 50, "currentAverageValue": "250m"}}),
            ),
            (
                json!({"type": "ContainerResource", "containerResource": {"name": "memory",
                    "current": {"averageValue": "1Gi"}, "container": "app"}}),
                json!({"type": "ContainerResource", "containerResource": {"name": "memory",
                    "currentAverageValue": "1Gi", "container": "app"}}),
            ),
            (
                json!({"type": "External", "external": {"metric": {"name": "q", "selector": sel()},
                    "current": {"value": "7", "averageValue": "1"}}}),
                json!({"type": "External", "external": {"metricName": "q", "metricSelector": sel(),
                    "currentValue": "7", "currentAverageValue": "1"}}),
            ),
        ];
        for (v2, v1) in cases {
            assert_eq!(metric_v2_to_v1(&v2, true), v1);
            assert_eq!(metric_v1_to_v2(&v1, true), v2);
        }
    }

    #[test]
    fn missing_required_values_become_go_zero_values() {
        let v2 = json!({"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": 20}}});
        assert_eq!(
            metric_v2_to_v1(&v2, true)["resource"],
            json!({"name": "cpu", "currentAverageUtilization": 20, "currentAverageValue": "0"})
        );
        let v1 = json!({"type": "Object", "object": {}});
        assert_eq!(
            metric_v1_to_v2(&v1, false)["object"],
            json!({"describedObject": {"kind": "", "name": ""},
                   "target": {"type": "Value", "value": "0"}, "metric": {"name": ""}})
        );
    }
}
