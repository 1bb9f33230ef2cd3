//! autoscaling/v2 ↔ autoscaling/v1 HorizontalPodAutoscaler, as upstream's
//! `Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler`
//! and its inverse do (storage is v2; v2 and the internal type agree field
//! for field, so v2 stands in for internal here).
//!
//! v1 holds only a CPU utilization target and the CPU utilization it last
//! saw. Everything else rides in annotations so that a v1 client reading and
//! writing an object back loses nothing: the other metric specs and all
//! current metrics in v1's flat metric shape, the conditions, and the
//! behavior as Go's internal struct JSON (see `hpa_behavior`). v2 → v1 first
//! drops any round-trip annotations the object already has, so only the ones
//! it writes survive; v1 → v2 reads them back and then drops them all.
//! An annotation that does not decode is ignored, as upstream ignores it.
//!
//! One default lives in the conversion itself, as upstream has it: a v1 HPA
//! with neither a CPU target nor other metrics converts to a v2 HPA with a
//! single 80% CPU utilization metric (v1 used to apply it in the controller).

use serde_json::{Map, Value, json};

use super::hpa_behavior;
use super::hpa_metrics::{metric_v1_to_v2, metric_v2_to_v1, object_ref};
use super::{copy_non_empty, copy_or, copy_present, go_json, present, start_object};

/// `autoscaling.MetricSpecsAnnotation`: v2 metric specs v1 cannot express.
pub const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// `autoscaling.MetricStatusesAnnotation`: every current metric.
pub const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// `autoscaling.HorizontalPodAutoscalerConditionsAnnotation`.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// `autoscaling.BehaviorSpecsAnnotation`.
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
/// `autoscaling.ToleranceScaleDownAnnotation` (written by v2beta2 only;
/// dropped here like the others).
pub const TOLERANCE_SCALE_DOWN_ANNOTATION: &str =
    "autoscaling.alpha.kubernetes.io/scale-down-tolerance";
/// `autoscaling.ToleranceScaleUpAnnotation` (v2beta2 only, dropped here).
pub const TOLERANCE_SCALE_UP_ANNOTATION: &str =
    "autoscaling.alpha.kubernetes.io/scale-up-tolerance";
/// Every annotation `DropRoundTripHorizontalPodAutoscalerAnnotations` removes.
pub const ROUND_TRIP_ANNOTATIONS: [&str; 6] = [
    METRICS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
    TOLERANCE_SCALE_DOWN_ANNOTATION,
    TOLERANCE_SCALE_UP_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
];
/// `autoscaling.DefaultCPUUtilization`.
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

const KIND: &str = "HorizontalPodAutoscaler";

fn is_cpu_resource(metric: &Value) -> Option<&Value> {
    let resource = present(metric, "resource")?;
    (metric.get("type") == Some(&json!("Resource")) && resource.get("name") == Some(&json!("cpu")))
        .then_some(resource)
}

/// A CPU `Resource` metric spec with a utilization target: the utilization.
fn cpu_target_utilization(metric: &Value) -> Option<&Value> {
    present(
        present(is_cpu_resource(metric)?, "target")?,
        "averageUtilization",
    )
}

fn array<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    present(obj, key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `HorizontalPodAutoscalerCondition` has the same fields in v1 and v2:
/// `lastTransitionTime` is a struct Go always writes (null when unset).
fn condition(c: &Value) -> Value {
    let mut out = Map::new();
    copy_or(&mut out, "type", c, "type", json!(""));
    copy_or(&mut out, "status", c, "status", json!(""));
    copy_or(
        &mut out,
        "lastTransitionTime",
        c,
        "lastTransitionTime",
        Value::Null,
    );
    copy_non_empty(&mut out, "reason", c, "reason");
    copy_non_empty(&mut out, "message", c, "message");
    Value::Object(out)
}

/// Removes the round-trip annotations from `out.metadata`; an annotation map
/// left empty goes too (`omitempty`).
fn drop_round_trip_annotations(out: &mut Map<String, Value>) {
    let Some(Value::Object(meta)) = out.get_mut("metadata") else {
        return;
    };
    let Some(Value::Object(annotations)) = meta.get_mut("annotations") else {
        return;
    };
    if !ROUND_TRIP_ANNOTATIONS
        .iter()
        .any(|k| annotations.contains_key(*k))
    {
        return;
    }
    for key in ROUND_TRIP_ANNOTATIONS {
        annotations.shift_remove(key);
    }
    if annotations.is_empty() {
        meta.shift_remove("annotations");
    }
}

fn set_annotation(out: &mut Map<String, Value>, key: &str, value: String) {
    let meta = out.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.insert(key.into(), Value::String(value));
    }
}

/// autoscaling/v2 → autoscaling/v1.
pub(super) fn v2_to_v1(src: &Map<String, Value>) -> Value {
    let mut out = start_object(KIND, "autoscaling/v1", src);
    drop_round_trip_annotations(&mut out);
    let obj = Value::Object(src.clone());
    let spec = present(&obj, "spec").cloned().unwrap_or_else(|| json!({}));
    let status = present(&obj, "status")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let metrics = array(&spec, "metrics");

    let mut v1_spec = Map::new();
    v1_spec.insert(
        "scaleTargetRef".into(),
        object_ref(present(&spec, "scaleTargetRef")),
    );
    copy_present(&mut v1_spec, "minReplicas", &spec, "minReplicas");
    copy_or(&mut v1_spec, "maxReplicas", &spec, "maxReplicas", json!(0));
    // The first CPU utilization target; every CPU utilization metric is then
    // left out of the annotation, since v1 → v2 rebuilds one from this field.
    if let Some(u) = metrics.iter().find_map(cpu_target_utilization) {
        v1_spec.insert("targetCPUUtilizationPercentage".into(), u.clone());
    }
    out.insert("spec".into(), Value::Object(v1_spec));

    let current_metrics = array(&status, "currentMetrics");
    let mut v1_status = Map::new();
    copy_present(
        &mut v1_status,
        "observedGeneration",
        &status,
        "observedGeneration",
    );
    copy_present(&mut v1_status, "lastScaleTime", &status, "lastScaleTime");
    copy_or(
        &mut v1_status,
        "currentReplicas",
        &status,
        "currentReplicas",
        json!(0),
    );
    copy_or(
        &mut v1_status,
        "desiredReplicas",
        &status,
        "desiredReplicas",
        json!(0),
    );
    // Upstream loops without breaking: the last CPU utilization wins.
    let current_cpu = current_metrics
        .iter()
        .filter_map(|m| {
            present(
                present(is_cpu_resource(m)?, "current")?,
                "averageUtilization",
            )
        })
        .next_back();
    if let Some(u) = current_cpu {
        v1_status.insert("currentCPUUtilizationPercentage".into(), u.clone());
    }
    out.insert("status".into(), Value::Object(v1_status));

    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| cpu_target_utilization(m).is_none())
        .map(|m| metric_v2_to_v1(m, false))
        .collect();
    if !others.is_empty() {
        set_annotation(&mut out, METRICS_ANNOTATION, go_json(&Value::Array(others)));
    }
    if !current_metrics.is_empty() {
        let statuses = current_metrics
            .iter()
            .map(|m| metric_v2_to_v1(m, true))
            .collect();
        set_annotation(
            &mut out,
            CURRENT_METRICS_ANNOTATION,
            go_json(&Value::Array(statuses)),
        );
    }
    if let Some(behavior) = present(&spec, "behavior") {
        let internal = hpa_behavior::to_annotation(behavior);
        set_annotation(&mut out, BEHAVIOR_ANNOTATION, go_json(&internal));
    }
    let conditions = array(&status, "conditions");
    if !conditions.is_empty() {
        let conditions = conditions.iter().map(condition).collect();
        set_annotation(
            &mut out,
            CONDITIONS_ANNOTATION,
            go_json(&Value::Array(conditions)),
        );
    }
    Value::Object(out)
}

/// A list-valued annotation: `Some(items)` when it decodes as a JSON array
/// (or `null`, which Go decodes to an empty slice); null items decode to
/// zero structs. Anything else is ignored, as upstream ignores it.
fn list_annotation(annotations: &Value, key: &str) -> Option<Vec<Value>> {
    let text = annotations.get(key)?.as_str()?;
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Null => Some(json!({})),
                Value::Object(_) => Some(item),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// autoscaling/v2 → autoscaling/v2: the object unchanged except that v1's
/// round-trip annotations are dropped.
pub(super) fn v2_identity(src: &Map<String, Value>) -> Value {
    let mut out = src.clone();
    drop_round_trip_annotations(&mut out);
    Value::Object(out)
}

/// autoscaling/v1 → autoscaling/v2.
pub(super) fn v1_to_v2(src: &Map<String, Value>) -> Value {
    let mut out = start_object(KIND, "autoscaling/v2", src);
    let obj = Value::Object(src.clone());
    let spec = present(&obj, "spec").cloned().unwrap_or_else(|| json!({}));
    let status = present(&obj, "status")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let annotations = obj
        .get("metadata")
        .and_then(|m| present(m, "annotations"))
        .cloned()
        .unwrap_or_else(|| json!({}));

    let cpu_metric = |utilization: Value| {
        json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": utilization}}})
    };
    let mut v2_spec = Map::new();
    v2_spec.insert(
        "scaleTargetRef".into(),
        object_ref(present(&spec, "scaleTargetRef")),
    );
    copy_present(&mut v2_spec, "minReplicas", &spec, "minReplicas");
    copy_or(&mut v2_spec, "maxReplicas", &spec, "maxReplicas", json!(0));
    // Annotated metrics first, the CPU target last, as upstream orders them.
    let mut metrics: Vec<Value> = list_annotation(&annotations, METRICS_ANNOTATION)
        .unwrap_or_default()
        .iter()
        .map(|m| metric_v1_to_v2(m, false))
        .collect();
    if let Some(u) = present(&spec, "targetCPUUtilizationPercentage") {
        metrics.push(cpu_metric(u.clone()));
    }
    if metrics.is_empty() {
        metrics.push(cpu_metric(json!(DEFAULT_CPU_UTILIZATION)));
    }
    v2_spec.insert("metrics".into(), Value::Array(metrics));
    let behavior = annotations
        .get(BEHAVIOR_ANNOTATION)
        .and_then(Value::as_str)
        .and_then(hpa_behavior::from_annotation);
    if let Some(behavior) = behavior {
        v2_spec.insert("behavior".into(), behavior);
    }
    out.insert("spec".into(), Value::Object(v2_spec));

    let mut v2_status = Map::new();
    copy_present(
        &mut v2_status,
        "observedGeneration",
        &status,
        "observedGeneration",
    );
    copy_present(&mut v2_status, "lastScaleTime", &status, "lastScaleTime");
    copy_non_empty(
        &mut v2_status,
        "currentReplicas",
        &status,
        "currentReplicas",
    );
    copy_or(
        &mut v2_status,
        "desiredReplicas",
        &status,
        "desiredReplicas",
        json!(0),
    );
    // The annotation has more than the CPU figure, so it wins when it decodes.
    let current_metrics = match list_annotation(&annotations, CURRENT_METRICS_ANNOTATION) {
        Some(items) => Value::Array(items.iter().map(|m| metric_v1_to_v2(m, true)).collect()),
        None => match present(&status, "currentCPUUtilizationPercentage") {
            Some(u) => json!([{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": u}}}]),
            // `currentMetrics` has no omitempty in v2.
            None => Value::Null,
        },
    };
    v2_status.insert("currentMetrics".into(), current_metrics);
    if let Some(conditions) = list_annotation(&annotations, CONDITIONS_ANNOTATION)
        && !conditions.is_empty()
    {
        let conditions = conditions.iter().map(condition).collect();
        v2_status.insert("conditions".into(), Value::Array(conditions));
    }
    out.insert("status".into(), Value::Object(v2_status));
    drop_round_trip_annotations(&mut out);
    Value::Object(out)
}

#[cfg(test)]
#[path = "hpa_tests.rs"]
mod tests;
