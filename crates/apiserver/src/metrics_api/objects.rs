//! The metrics.k8s.io/v1beta1 documents: NodeMetrics and PodMetrics (and
//! their lists and Tables), the quantities and durations in them, and the
//! group's entries for legacy and aggregated discovery.

use super::scrape::{PodUsage, Usage};
use apimachinery::quantity::Quantity;
use apimachinery::table::{ColumnDefinition, IncludeObject, assemble_table, row_object};
use serde_json::{Value, json};

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
pub const GROUP_VERSION: &str = "metrics.k8s.io/v1beta1";

/// CPU in nanocores, canonical as upstream prints it ("12m", "12345n").
pub fn cpu(nanocores: u64) -> String {
    Quantity::parse(&format!("{nanocores}n"))
        .map(|q| q.to_string())
        .unwrap_or_else(|_| format!("{nanocores}n"))
}

/// Memory in bytes, binary suffixes when exact ("4Ki", "1025").
pub fn memory(bytes: u64) -> String {
    let s = if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}Ki", bytes / 1024)
    } else {
        bytes.to_string()
    };
    Quantity::parse(&s).map(|q| q.to_string()).unwrap_or(s)
}

/// A Go duration string (metav1.Duration): "15s", "14.987s", "1m0.5s".
pub fn duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let secs = if rest % 1000 == 0 {
        format!("{}s", rest / 1000)
    } else {
        let s = format!("{}.{:03}", rest / 1000, rest % 1000);
        format!("{}s", s.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

pub fn rfc3339_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn meta(obj: &Value, namespaced: bool, now: &str) -> Value {
    let m = &obj["metadata"];
    let mut out = json!({"name": m["name"], "creationTimestamp": now});
    if namespaced {
        out["namespace"] = m["namespace"].clone();
    }
    if let Some(l) = m.get("labels").filter(|l| l.is_object()) {
        out["labels"] = l.clone();
    }
    out
}

pub fn node_metrics(node: &Value, u: &Usage, now: &str) -> Value {
    json!({
        "kind": "NodeMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": meta(node, false, now),
        "timestamp": rfc3339_ms(u.timestamp_ms),
        "window": duration(u.window_ms),
        "usage": {"cpu": cpu(u.cpu_nanocores), "memory": memory(u.memory_bytes)},
    })
}

pub fn pod_metrics(pod: &Value, u: &PodUsage, now: &str) -> Value {
    let containers: Vec<Value> = u
        .containers
        .iter()
        .map(|(name, c, m)| json!({"name": name, "usage": {"cpu": cpu(*c), "memory": memory(*m)}}))
        .collect();
    json!({
        "kind": "PodMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": meta(pod, true, now),
        "timestamp": rfc3339_ms(u.timestamp_ms),
        "window": duration(u.window_ms),
        "containers": containers,
    })
}

pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"kind": format!("{kind}List"), "apiVersion": GROUP_VERSION, "metadata": {}, "items": items})
}

/// The Table of `kubectl get nodemetrics|podmetrics`: NAME, CPU, MEMORY, WINDOW.
pub fn table(items: &[Value], include: IncludeObject) -> Value {
    let cols = [
        ColumnDefinition::new("Name", "string", "Name of the resource").with_format("name"),
        ColumnDefinition::new("CPU", "string", "CPU usage"),
        ColumnDefinition::new("Memory", "string", "Memory usage"),
        ColumnDefinition::new("Window", "string", "Time window of the usage"),
    ];
    let rows = items
        .iter()
        .map(|o| {
            let (c, m) = match o.get("usage") {
                Some(u) => (u["cpu"].clone(), u["memory"].clone()),
                None => {
                    let cs = o["containers"].as_array().cloned().unwrap_or_default();
                    let sum = |k: &str| -> i128 {
                        cs.iter()
                            .filter_map(|c| c["usage"][k].as_str())
                            .filter_map(|q| Quantity::parse(q).ok())
                            .map(|q| q.nanos())
                            .sum()
                    };
                    let cpu_n = sum("cpu");
                    let mem_b = sum("memory") / 1_000_000_000;
                    (
                        cpu(u64::try_from(cpu_n).unwrap_or(0)).into(),
                        memory(u64::try_from(mem_b).unwrap_or(0)).into(),
                    )
                }
            };
            (
                vec![o["metadata"]["name"].clone(), c, m, o["window"].clone()],
                None,
                row_object(o, include),
            )
        })
        .collect();
    assemble_table(&cols, rows, json!({}))
}

fn resources() -> [(&'static str, &'static str, bool); 2] {
    [
        ("nodes", "NodeMetrics", false),
        ("pods", "PodMetrics", true),
    ]
}

/// The group in a legacy `APIGroupList` (and, with kind set, `APIGroup`).
pub fn api_group() -> Value {
    let v = json!({"groupVersion": GROUP_VERSION, "version": VERSION});
    json!({"name": GROUP, "versions": [v.clone()], "preferredVersion": v})
}

/// The legacy `APIResourceList` of metrics.k8s.io/v1beta1.
pub fn resource_list() -> Value {
    let list: Vec<Value> = resources()
        .iter()
        .map(|(plural, kind, ns)| {
            json!({"name": plural, "singularName": "", "namespaced": ns, "kind": kind, "verbs": ["get", "list"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": list})
}

/// The group's item of an aggregated `APIGroupDiscoveryList`.
pub fn aggregated_item() -> Value {
    let list: Vec<Value> = resources()
        .iter()
        .map(|(plural, kind, ns)| {
            json!({
                "resource": plural,
                "responseKind": {"group": GROUP, "version": VERSION, "kind": kind},
                "scope": if *ns { "Namespaced" } else { "Cluster" },
                "singularResource": "",
                "verbs": ["get", "list"],
            })
        })
        .collect();
    json!({"metadata": {"name": GROUP, "creationTimestamp": null},
        "versions": [{"version": VERSION, "resources": list, "freshness": "Current"}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_windows_print_as_upstream() {
        assert_eq!(cpu(12_000_000), "12m");
        assert_eq!(cpu(12_345), "12345n");
        assert_eq!(cpu(1_000_000_000), "1");
        assert_eq!(cpu(0), "0");
        assert_eq!(memory(4096), "4Ki");
        assert_eq!(memory(3 * 1024 * 1024), "3Mi");
        assert_eq!(memory(1025), "1025");
        assert_eq!(duration(15_000), "15s");
        assert_eq!(duration(14_987), "14.987s");
        assert_eq!(duration(14_500), "14.5s");
        assert_eq!(duration(60_500), "1m0.5s");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
