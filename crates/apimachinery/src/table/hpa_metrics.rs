//! The TARGETS cell of a horizontal pod autoscaler (`formatHPAMetrics`):
//! `cpu: 40%/80%`, `<unknown>/100m (avg)`, at most two then `+ N more...`.
//! autoscaling/v1 objects (one CPU target) are read as the v2 form they
//! convert to.

use serde_json::{Value, json};

use super::util::{arr, get, s};

/// A quantity as Go prints a possibly-nil `*Quantity`.
fn qty(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "<nil>".into(),
    }
}

/// Spec metrics and status metrics, in v2 shape.
fn metrics(obj: &Value) -> (Vec<Value>, Vec<Value>) {
    if let Some(cpu) = get(obj, &["spec", "targetCPUUtilizationPercentage"]).and_then(Value::as_i64)
    {
        let spec = vec![json!({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}})];
        let status = get(obj, &["status", "currentCPUUtilizationPercentage"])
            .and_then(Value::as_i64)
            .map(|cur| {
                vec![json!({"type": "Resource", "resource": {
                    "name": "cpu", "current": {"averageUtilization": cur}}})]
            })
            .unwrap_or_default();
        return (spec, status);
    }
    (
        arr(obj, &["spec", "metrics"]).to_vec(),
        arr(obj, &["status", "currentMetrics"]).to_vec(),
    )
}

/// The formatted targets of an HPA object.
pub(crate) fn format(obj: &Value) -> String {
    let (specs, statuses) = metrics(obj);
    if specs.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 2;
    let mut list = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        // The status entry at the same index, when it has this source.
        let status = |source: &str| {
            statuses
                .get(i)
                .and_then(|st| st.get(source))
                .filter(|v| !v.is_null())
        };
        let unknown = || "<unknown>".to_string();
        let item = match s(spec, &["type"]) {
            t @ ("External" | "Object") => {
                let source = if t == "External" {
                    "external"
                } else {
                    "object"
                };
                let target = get(spec, &[source, "target"]);
                let avg = target.and_then(|t| t.get("averageValue"));
                if avg.is_some() {
                    let current = status(source)
                        .and_then(|st| get(st, &["current", "averageValue"]))
                        .map_or_else(unknown, |v| qty(Some(v)));
                    format!("{current}/{} (avg)", qty(avg))
                } else {
                    let current = status(source)
                        .map_or_else(unknown, |st| qty(get(st, &["current", "value"])));
                    format!("{current}/{}", qty(target.and_then(|t| t.get("value"))))
                }
            }
            "Pods" => {
                let current = status("pods")
                    .map_or_else(unknown, |st| qty(get(st, &["current", "averageValue"])));
                format!(
                    "{current}/{}",
                    qty(get(spec, &["pods", "target", "averageValue"]))
                )
            }
            t @ ("Resource" | "ContainerResource") => {
                let source = if t == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let metric = s(spec, &[source, "name"]);
                let avg = get(spec, &[source, "target", "averageValue"]);
                if avg.is_some() {
                    let current = status(source)
                        .map_or_else(unknown, |st| qty(get(st, &["current", "averageValue"])));
                    format!("{metric}: {current}/{}", qty(avg))
                } else {
                    let current = status(source)
                        .and_then(|st| get(st, &["current", "averageUtilization"]))
                        .and_then(Value::as_i64)
                        .map_or_else(unknown, |u| format!("{u}%"));
                    let target = get(spec, &[source, "target", "averageUtilization"])
                        .and_then(Value::as_i64)
                        .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                    format!("{metric}: {current}/{target}")
                }
            }
            _ => "<unknown type>".into(),
        };
        list.push(item);
    }
    let count = list.len();
    if count > MAX {
        list.truncate(MAX);
        return format!("{} + {} more...", list.join(", "), count - MAX);
    }
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_resource_and_pods_metrics() {
        let obj = json!({
            "spec": {"metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}
            ]},
            "status": {"currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}
            ]}
        });
        assert_eq!(format(&obj), "cpu: 40%/80%, <unknown>/1k + 1 more...");
    }

    #[test]
    fn v1_cpu_target_and_none() {
        let v1 = json!({"spec": {"targetCPUUtilizationPercentage": 50}});
        assert_eq!(format(&v1), "cpu: <unknown>/50%");
        assert_eq!(format(&json!({"spec": {}})), "<none>");
    }
}
