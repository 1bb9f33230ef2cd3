//! Cluster-level objects: nodes, namespaces, events (core and
//! events.k8s.io), leases, priority classes, runtime classes and component
//! statuses.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::scheduling::v1 as scheduling;
use serde_json::{Value, json};

use super::docs::field;
use super::util::{age, arr, get, name, opt_s, s, since};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "nodes",
        columns: node_columns,
        cells: node_cells,
    },
    Printer {
        group: "",
        plural: "namespaces",
        columns: namespace_columns,
        cells: namespace_cells,
    },
    Printer {
        group: "",
        plural: "events",
        columns: event_columns,
        cells: event_cells,
    },
    Printer {
        group: "events.k8s.io",
        plural: "events",
        columns: event_columns,
        cells: events_v1_cells,
    },
    Printer {
        group: "coordination.k8s.io",
        plural: "leases",
        columns: lease_columns,
        cells: lease_cells,
    },
    Printer {
        group: "scheduling.k8s.io",
        plural: "priorityclasses",
        columns: priority_class_columns,
        cells: priority_class_cells,
    },
    Printer {
        group: "node.k8s.io",
        plural: "runtimeclasses",
        columns: runtime_class_columns,
        cells: runtime_class_cells,
    },
    Printer {
        group: "",
        plural: "componentstatuses",
        columns: component_columns,
        cells: component_cells,
    },
];

fn node_columns() -> Vec<ColumnDefinition> {
    let info = |f: &str| field::<core::NodeSystemInfo>(f);
    vec![
        name_column(),
        text("Status", "The status of the node"),
        text("Roles", "The roles of the node"),
        age_column(),
        text("Version", info("kubeletVersion")),
        text("Internal-IP", field::<core::NodeStatus>("addresses")).wide(),
        text("External-IP", field::<core::NodeStatus>("addresses")).wide(),
        text("OS-Image", info("osImage")).wide(),
        text("Kernel-Version", info("kernelVersion")).wide(),
        text("Container-Runtime", info("containerRuntimeVersion")).wide(),
    ]
}

/// Roles from `node-role.kubernetes.io/<role>` keys and the
/// `kubernetes.io/role` value, sorted.
fn node_roles(node: &Value) -> String {
    let mut roles = BTreeSet::new();
    if let Some(Value::Object(labels)) = get(node, &["metadata", "labels"]) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role" && v.as_str().is_some_and(|v| !v.is_empty()) {
                roles.insert(v.as_str().unwrap_or_default().to_string());
            }
        }
    }
    if roles.is_empty() {
        return "<none>".into();
    }
    roles.into_iter().collect::<Vec<_>>().join(",")
}

fn node_status(node: &Value) -> String {
    // Later conditions of the same type win, as in upstream's map.
    let ready = arr(node, &["status", "conditions"])
        .iter()
        .rfind(|c| s(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if s(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if get(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

fn node_address(node: &Value, type_: &str) -> String {
    arr(node, &["status", "addresses"])
        .iter()
        .find(|a| s(a, &["type"]) == type_)
        .map_or_else(|| "<none>".to_string(), |a| s(a, &["address"]).to_string())
}

fn node_cells(node: &Value, now: Timestamp) -> Vec<Value> {
    let info = |f: &str| match s(node, &["status", "nodeInfo", f]) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        name(node),
        node_status(node).into(),
        node_roles(node).into(),
        age(node, now),
        s(node, &["status", "nodeInfo", "kubeletVersion"]).into(),
        node_address(node, "InternalIP").into(),
        node_address(node, "ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

fn namespace_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Status", "The status of the namespace"),
        age_column(),
    ]
}

fn namespace_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, &["status", "phase"]).into(),
        age(obj, now),
    ]
}

fn event_columns() -> Vec<ColumnDefinition> {
    let doc = |f: &str| field::<core::Event>(f);
    vec![
        text("Last Seen", doc("lastTimestamp")),
        text("Type", doc("type")),
        text("Reason", doc("reason")),
        text("Object", doc("involvedObject")),
        text("Subobject", field::<core::ObjectReference>("fieldPath")).wide(),
        text("Source", doc("source")).wide(),
        text("Message", doc("message")),
        text("First Seen", doc("firstTimestamp")).wide(),
        text("Count", doc("count")).wide(),
        text("Name", super::docs::meta_name())
            .with_format("name")
            .wide(),
    ]
}

fn non_empty(t: Option<&str>) -> Option<&str> {
    t.filter(|t| !t.is_empty())
}

fn event_cells(ev: &Value, now: Timestamp) -> Vec<Value> {
    let first = match non_empty(opt_s(ev, &["firstTimestamp"])) {
        Some(t) => since(Some(t), now),
        None => since(non_empty(opt_s(ev, &["eventTime"])), now),
    };
    let mut last = match non_empty(opt_s(ev, &["lastTimestamp"])) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = get(ev, &["count"]).and_then(Value::as_i64).unwrap_or(0);
    if let Some(series) = get(ev, &["series"]).filter(|v| v.is_object()) {
        last = since(non_empty(opt_s(series, &["lastObservedTime"])), now);
        count = get(series, &["count"]).and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let kind = s(ev, &["involvedObject", "kind"]).to_lowercase();
    let target = match s(ev, &["involvedObject", "name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = match s(ev, &["source", "component"]) {
        "" => s(ev, &["reportingComponent"]),
        c => c,
    };
    let host = match s(ev, &["source", "host"]) {
        "" => s(ev, &["reportingInstance"]),
        h => h,
    };
    let source = if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    };
    vec![
        last.into(),
        s(ev, &["type"]).into(),
        s(ev, &["reason"]).into(),
        target.into(),
        s(ev, &["involvedObject", "fieldPath"]).into(),
        source.into(),
        s(ev, &["message"]).trim().into(),
        first.into(),
        count.into(),
        name(ev),
    ]
}

/// events.k8s.io/v1 events are printed as the core events they convert to.
fn events_v1_cells(ev: &Value, now: Timestamp) -> Vec<Value> {
    let pick = |k: &str| ev.get(k).cloned().unwrap_or(Value::Null);
    let core = json!({
        "metadata": pick("metadata"),
        "firstTimestamp": pick("deprecatedFirstTimestamp"),
        "lastTimestamp": pick("deprecatedLastTimestamp"),
        "count": pick("deprecatedCount"),
        "source": pick("deprecatedSource"),
        "eventTime": pick("eventTime"),
        "series": pick("series"),
        "involvedObject": pick("regarding"),
        "message": pick("note"),
        "reportingComponent": pick("reportingController"),
        "reportingInstance": pick("reportingInstance"),
        "type": pick("type"),
        "reason": pick("reason"),
    });
    event_cells(&core, now)
}

fn lease_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Holder", field::<coordination::LeaseSpec>("holderIdentity")),
        age_column(),
    ]
}

fn lease_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, &["spec", "holderIdentity"]).into(),
        age(obj, now),
    ]
}

fn priority_class_columns() -> Vec<ColumnDefinition> {
    let doc = |f: &str| field::<scheduling::PriorityClass>(f);
    vec![
        name_column(),
        ColumnDefinition::new("Value", "integer", doc("value")),
        ColumnDefinition::new("Global-Default", "boolean", doc("globalDefault")),
        age_column(),
        text("PreemptionPolicy", doc("preemptionPolicy")),
    ]
}

fn priority_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        get(obj, &["value"])
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .into(),
        get(obj, &["globalDefault"])
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .into(),
        age(obj, now),
        s(obj, &["preemptionPolicy"]).into(),
    ]
}

fn runtime_class_columns() -> Vec<ColumnDefinition> {
    // Upstream looks the handler up in ObjectMeta's docs, which have none.
    vec![name_column(), text("Handler", ""), age_column()]
}

fn runtime_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(obj), s(obj, &["handler"]).into(), age(obj, now)]
}

fn component_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Status", "Status of the component conditions"),
        text("Message", "Message of the component conditions"),
        text("Error", "Error of the component conditions"),
    ]
}

fn component_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    let healthy = arr(obj, &["conditions"])
        .iter()
        .find(|c| s(c, &["type"]) == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if s(c, &["status"]) == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            s(c, &["message"]),
            s(c, &["error"]),
        ),
        None => ("Unknown", "", ""),
    };
    vec![name(obj), status.into(), message.into(), error.into()]
}
