//! autoscaling/v2 HorizontalPodAutoscalers (the storage shape; v1 requests
//! are converted before the strategy runs): replica bounds, scaleTargetRef,
//! metrics (exactly the source named by `type`, with its target), and
//! behavior (scaling rules and policies, defaulted when present).

use super::util::{arr_at, present, str_at};
use super::workload::reset_status;
use crate::strategy::Strategy;
use crate::validation::{
    Quantity, child, index, invalid_each, is_dns1123_label, is_path_segment_name, required_with,
    validate_nonnegative,
};
use apimachinery::Cause;
use serde_json::{Map, Value, json};

pub struct HorizontalPodAutoscalerStrategy;

const SOURCE_TYPES: &[&str] = &[
    "Object",
    "Pods",
    "Resource",
    "External",
    "ContainerResource",
];
/// (type, JSON field) pairs, in upstream's checking order.
const SOURCES: &[(&str, &str)] = &[
    ("Object", "object"),
    ("External", "external"),
    ("Pods", "pods"),
    ("Resource", "resource"),
    ("ContainerResource", "containerResource"),
];
const MAX_PERIOD_SECONDS: i64 = 1800;
const MAX_STABILIZATION_SECONDS: i64 = 3600;

/// `ValidateCrossVersionObjectReference`.
fn validate_ref(r: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    for f in ["kind", "name"] {
        let v = str_at(r, &format!("/{f}"));
        if v.is_empty() {
            errs.push(Cause::required(child(path, f)));
        } else {
            errs.extend(invalid_each(&child(path, f), v, is_path_segment_name(v)));
        }
    }
    errs
}

fn validate_metric_id(id: &Value, path: &str) -> Vec<Cause> {
    let name = str_at(id, "/name");
    if name.is_empty() {
        vec![required_with(
            child(path, "name"),
            "must specify a metric name",
        )]
    } else {
        invalid_each(&child(path, "name"), name, is_path_segment_name(name))
    }
}

fn positive_quantity(v: &Value) -> bool {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return false,
    };
    Quantity::parse(&s).is_ok_and(|q| !q.is_negative() && !q.is_zero())
}

fn validate_target(t: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    match str_at(t, "/type") {
        "" => errs.push(required_with(
            child(path, "type"),
            "must specify a metric target type",
        )),
        "Utilization" | "Value" | "AverageValue" => {}
        other => errs.push(Cause::invalid(
            child(path, "type"),
            &Value::from(other),
            "must be either Utilization, Value, or AverageValue",
        )),
    }
    if str_at(t, "/type").is_empty() {
        errs.push(Cause::invalid(
            child(path, "type"),
            &Value::from(""),
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for f in ["value", "averageValue"] {
        if let Some(v) = present(t, &format!("/{f}"))
            && !positive_quantity(v)
        {
            errs.push(Cause::invalid(child(path, f), v, "must be positive"));
        }
    }
    if let Some(u) = t.get("averageUtilization").and_then(Value::as_i64)
        && u < 1
    {
        errs.push(Cause::invalid(
            child(path, "averageUtilization"),
            &Value::from(u),
            "must be greater than 0",
        ));
    }
    errs
}

fn validate_source(kind: &str, src: &Value, path: &str) -> Vec<Cause> {
    let null = Value::Null;
    let target = src.get("target").unwrap_or(&null);
    let tp = child(path, "target");
    let has = |f: &str| present(target, &format!("/{f}")).is_some();
    let mut errs = vec![];
    match kind {
        "object" => {
            errs.extend(validate_ref(
                src.get("describedObject").unwrap_or(&null),
                &child(path, "describedObject"),
            ));
            errs.extend(validate_metric_id(
                src.get("metric").unwrap_or(&null),
                &child(path, "metric"),
            ));
            errs.extend(validate_target(target, &tp));
            if !has("value") && !has("averageValue") {
                errs.push(required_with(
                    child(&tp, "averageValue"),
                    "must set either a target value or averageValue",
                ));
            }
        }
        "external" => {
            errs.extend(validate_metric_id(
                src.get("metric").unwrap_or(&null),
                &child(path, "metric"),
            ));
            errs.extend(validate_target(target, &tp));
            if !has("value") && !has("averageValue") {
                errs.push(required_with(
                    child(&tp, "averageValue"),
                    "must set either a target value for metric or a per-pod target",
                ));
            }
            if has("value") && has("averageValue") {
                errs.push(Cause::forbidden(
                    child(&tp, "value"),
                    "may not set both a target value for metric and a per-pod target",
                ));
            }
        }
        "pods" => {
            errs.extend(validate_metric_id(
                src.get("metric").unwrap_or(&null),
                &child(path, "metric"),
            ));
            errs.extend(validate_target(target, &tp));
            if !has("averageValue") {
                errs.push(required_with(
                    child(&tp, "averageValue"),
                    "must specify a positive target averageValue",
                ));
            }
        }
        _ => {
            if str_at(src, "/name").is_empty() {
                errs.push(required_with(
                    child(path, "name"),
                    "must specify a resource name",
                ));
            }
            if kind == "containerResource" {
                let c = str_at(src, "/container");
                if c.is_empty() {
                    errs.push(required_with(
                        child(path, "container"),
                        "must specify a container",
                    ));
                } else {
                    errs.extend(invalid_each(
                        &child(path, "container"),
                        c,
                        is_dns1123_label(c),
                    ));
                }
            }
            errs.extend(validate_target(target, &tp));
            if !has("averageUtilization") && !has("averageValue") {
                errs.push(required_with(
                    child(&tp, "averageUtilization"),
                    "must set either a target raw value or a target utilization",
                ));
            }
            if has("averageUtilization") && has("averageValue") {
                errs.push(Cause::forbidden(
                    child(&tp, "averageValue"),
                    "may not set both a target raw value and a target utilization",
                ));
            }
        }
    }
    errs
}

fn validate_metric(m: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let ty = str_at(m, "/type");
    if ty.is_empty() {
        errs.push(required_with(
            child(path, "type"),
            "must specify a metric source type",
        ));
    }
    if !SOURCE_TYPES.contains(&ty) {
        errs.push(Cause::not_supported(
            child(path, "type"),
            &Value::from(ty),
            SOURCE_TYPES,
        ));
    }
    let present_fields: Vec<&str> = SOURCES
        .iter()
        .map(|(_, f)| *f)
        .filter(|f| present(m, &format!("/{f}")).is_some())
        .collect();
    if let Some(first) = present_fields.first()
        && let Some(src) = m.get(*first)
    {
        errs.extend(validate_source(first, src, &child(path, first)));
    }
    match SOURCES.iter().find(|(t, _)| *t == ty) {
        Some((_, f)) => {
            if !present_fields.contains(f) {
                errs.push(required_with(
                    child(path, f),
                    "must populate information for the given metric source",
                ));
            }
            if present_fields.len() != 1 {
                for other in present_fields.iter().filter(|o| *o != f) {
                    errs.push(Cause::forbidden(
                        child(path, other),
                        "must populate the given metric source only",
                    ));
                }
            }
        }
        None => errs.push(Cause::not_supported(
            child(path, "type"),
            &Value::from(ty),
            SOURCE_TYPES,
        )),
    }
    errs
}

fn validate_rules(rules: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    if let Some(w) = rules
        .get("stabilizationWindowSeconds")
        .and_then(Value::as_i64)
    {
        let wp = child(path, "stabilizationWindowSeconds");
        if w < 0 {
            errs.push(Cause::invalid(
                &wp,
                &Value::from(w),
                "must be greater than or equal to zero",
            ));
        }
        if w > MAX_STABILIZATION_SECONDS {
            errs.push(Cause::invalid(
                &wp,
                &Value::from(w),
                format!("must be less than or equal to {MAX_STABILIZATION_SECONDS}"),
            ));
        }
    }
    if let Some(sp) = rules.get("selectPolicy").and_then(Value::as_str)
        && !["Disabled", "Max", "Min"].contains(&sp)
    {
        errs.push(Cause::not_supported(
            child(path, "selectPolicy"),
            &Value::from(sp),
            &["Disabled", "Max", "Min"],
        ));
    }
    let pp = child(path, "policies");
    let policies = arr_at(rules, "/policies");
    if policies.is_empty() {
        errs.push(required_with(&pp, "must specify at least one Policy"));
    }
    for (i, p) in policies.iter().enumerate() {
        let ip = index(&pp, i);
        let ty = str_at(p, "/type");
        if ty != "Pods" && ty != "Percent" {
            errs.push(Cause::not_supported(
                child(&ip, "type"),
                &Value::from(ty),
                &["Percent", "Pods"],
            ));
        }
        let value = p.get("value").and_then(Value::as_i64).unwrap_or(0);
        if value <= 0 {
            errs.push(Cause::invalid(
                child(&ip, "value"),
                &Value::from(value),
                "must be greater than zero",
            ));
        }
        let period = p.get("periodSeconds").and_then(Value::as_i64).unwrap_or(0);
        if period <= 0 {
            errs.push(Cause::invalid(
                child(&ip, "periodSeconds"),
                &Value::from(period),
                "must be greater than zero",
            ));
        }
        if period > MAX_PERIOD_SECONDS {
            errs.push(Cause::invalid(
                child(&ip, "periodSeconds"),
                &Value::from(period),
                format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
    errs
}

/// Fill a behavior's scaling rules the way upstream's
/// `GenerateHPAScaleUpRules`/`GenerateHPAScaleDownRules` do: user fields win.
fn default_rules(rules: Option<&Value>, defaults: Value) -> Value {
    let mut out = defaults;
    if let (Some(Value::Object(user)), Some(o)) = (rules, out.as_object_mut()) {
        for f in [
            "selectPolicy",
            "stabilizationWindowSeconds",
            "policies",
            "tolerance",
        ] {
            if let Some(v) = user.get(f).filter(|v| !v.is_null()) {
                o.insert(f.into(), v.clone());
            }
        }
    }
    out
}

impl Strategy for HorizontalPodAutoscalerStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
            return;
        };
        spec.entry("minReplicas").or_insert(json!(1));
        if spec
            .get("metrics")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            spec.insert(
                "metrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
            );
        }
        if let Some(b) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
            let up = default_rules(
                b.get("scaleUp"),
                json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]}),
            );
            let down = default_rules(
                b.get("scaleDown"),
                json!({"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]}),
            );
            let mut m = Map::new();
            m.insert("scaleUp".into(), up);
            m.insert("scaleDown".into(), down);
            b.extend(m);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = vec![];
        let min = spec.get("minReplicas").and_then(Value::as_i64);
        let max = spec.get("maxReplicas").and_then(Value::as_i64).unwrap_or(0);
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
        errs.extend(validate_ref(
            spec.get("scaleTargetRef").unwrap_or(&null),
            "spec.scaleTargetRef",
        ));
        for (i, m) in arr_at(spec, "/metrics").iter().enumerate() {
            errs.extend(validate_metric(m, &index("spec.metrics", i)));
        }
        if let Some(b) = present(spec, "/behavior") {
            for dir in ["scaleUp", "scaleDown"] {
                if let Some(r) = present(b, &format!("/{dir}")) {
                    errs.extend(validate_rules(r, &format!("spec.behavior.{dir}")));
                }
            }
        }
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        let mut errs = validate_nonnegative(
            new.pointer("/status/currentReplicas"),
            "status.currentReplicas",
        );
        errs.extend(validate_nonnegative(
            new.pointer("/status/desiredReplicas"),
            "status.desiredReplicas",
        ));
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn defaults_and_valid() {
        let s = HorizontalPodAutoscalerStrategy;
        let mut ok = json!({"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
        s.default(&mut ok);
        assert_eq!(ok["spec"]["minReplicas"], 1);
        assert_eq!(
            ok["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert_eq!(
            ok["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
            60
        );
        assert_eq!(ok["spec"]["behavior"]["scaleDown"]["selectPolicy"], "Max");
        assert_eq!(ok["spec"]["behavior"]["scaleUp"]["policies"][0]["value"], 4);
        assert!(s.validate_create(&ok).is_empty());
        let metrics = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3, "metrics": [
            {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": 30}}},
            {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s"}, "metric": {"name": "hits"}, "target": {"type": "Value", "value": "10"}}},
            {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "app", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}]}});
        assert!(s.validate_create(&metrics).is_empty());
    }

    #[test]
    fn mistakes() {
        let s = HorizontalPodAutoscalerStrategy;
        let e = s.validate_create(&json!({"spec": {"minReplicas": 5, "maxReplicas": 2}}));
        assert_eq!(
            fields(&e),
            [
                "spec.maxReplicas",
                "spec.scaleTargetRef.kind",
                "spec.scaleTargetRef.name"
            ]
        );
        let bad = json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}},
                {"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "1"}},
                 "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleUp": {"selectPolicy": "Median", "policies": [{"type": "Pods", "value": 0, "periodSeconds": 2000}]},
                         "scaleDown": {"policies": []}}}});
        let e = s.validate_create(&bad);
        assert_eq!(
            fields(&e),
            [
                "spec.metrics[0].resource.target.averageUtilization",
                // One wrong source: only the missing one is reported.
                "spec.metrics[1].pods",
                "spec.metrics[2].resource",
                "spec.behavior.scaleUp.selectPolicy",
                "spec.behavior.scaleUp.policies[0].value",
                "spec.behavior.scaleUp.policies[0].periodSeconds",
                "spec.behavior.scaleDown.policies",
            ]
        );
        assert_eq!(
            e[1].message,
            "Required value: must populate information for the given metric source"
        );
        assert_eq!(
            e[2].message,
            "Forbidden: must populate the given metric source only"
        );
        assert_eq!(
            e[5].message,
            "Invalid value: 2000: must be less than or equal to 1800"
        );
    }
}
