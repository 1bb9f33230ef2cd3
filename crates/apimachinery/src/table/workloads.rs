//! Workload controllers: deployments, replica sets, stateful sets, daemon
//! sets, replication controllers and controller revisions.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use super::docs::field;
use super::util::{
    age, arr, format_label_selector, format_labels, get, int, layout_containers, name, s,
    selector_string,
};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "apps",
        plural: "deployments",
        columns: deployment_columns,
        cells: deployment_cells,
    },
    Printer {
        group: "apps",
        plural: "replicasets",
        columns: replica_set_columns,
        cells: replica_set_cells,
    },
    Printer {
        group: "",
        plural: "replicationcontrollers",
        columns: rc_columns,
        cells: rc_cells,
    },
    Printer {
        group: "apps",
        plural: "statefulsets",
        columns: stateful_set_columns,
        cells: stateful_set_cells,
    },
    Printer {
        group: "apps",
        plural: "daemonsets",
        columns: daemon_set_columns,
        cells: daemon_set_cells,
    },
    Printer {
        group: "apps",
        plural: "controllerrevisions",
        columns: revision_columns,
        cells: revision_cells,
    },
];

pub(crate) fn int_col(name: &str, description: String) -> ColumnDefinition {
    ColumnDefinition::new(name, "integer", description)
}

/// The wide Containers and Images columns, and a Selector column.
pub(crate) fn template_columns(selector_doc: String, with_selector: bool) -> Vec<ColumnDefinition> {
    let mut cols = vec![
        text("Containers", "Names of each container in the template.").wide(),
        text(
            "Images",
            "Images referenced by each container in the template.",
        )
        .wide(),
    ];
    if with_selector {
        cols.push(text("Selector", selector_doc).wide());
    }
    cols
}

pub(crate) fn template_cells(obj: &Value, template: &[&str]) -> (Value, Value) {
    let mut path = template.to_vec();
    path.extend(["spec", "containers"]);
    layout_containers(arr(obj, &path))
}

fn deployment_columns() -> Vec<ColumnDefinition> {
    let mut cols = vec![
        name_column(),
        text("Ready", "Number of the pod with ready state"),
        text(
            "Up-to-date",
            field::<apps::DeploymentStatus>("updatedReplicas"),
        ),
        text(
            "Available",
            field::<apps::DeploymentStatus>("availableReplicas"),
        ),
        age_column(),
    ];
    cols.extend(template_columns(
        field::<apps::DeploymentSpec>("selector"),
        true,
    ));
    cols
}

fn deployment_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_cells(obj, &["spec", "template"]);
    let selector =
        selector_string(get(obj, &["spec", "selector"])).unwrap_or_else(|| "<invalid>".into());
    vec![
        name(obj),
        format!(
            "{}/{}",
            int(obj, &["status", "readyReplicas"]),
            int(obj, &["spec", "replicas"])
        )
        .into(),
        int(obj, &["status", "updatedReplicas"]).into(),
        int(obj, &["status", "availableReplicas"]).into(),
        age(obj, now),
        names,
        images,
        selector.into(),
    ]
}

fn replica_set_columns() -> Vec<ColumnDefinition> {
    let mut cols = vec![
        name_column(),
        int_col("Desired", field::<apps::ReplicaSetSpec>("replicas")),
        int_col("Current", field::<apps::ReplicaSetStatus>("replicas")),
        int_col("Ready", field::<apps::ReplicaSetStatus>("readyReplicas")),
        age_column(),
    ];
    cols.extend(template_columns(
        field::<apps::ReplicaSetSpec>("selector"),
        true,
    ));
    cols
}

fn replica_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_cells(obj, &["spec", "template"]);
    vec![
        name(obj),
        int(obj, &["spec", "replicas"]).into(),
        int(obj, &["status", "replicas"]).into(),
        int(obj, &["status", "readyReplicas"]).into(),
        age(obj, now),
        names,
        images,
        format_label_selector(get(obj, &["spec", "selector"])).into(),
    ]
}

fn rc_columns() -> Vec<ColumnDefinition> {
    let mut cols = vec![
        name_column(),
        int_col(
            "Desired",
            field::<core::ReplicationControllerSpec>("replicas"),
        ),
        int_col(
            "Current",
            field::<core::ReplicationControllerStatus>("replicas"),
        ),
        int_col(
            "Ready",
            field::<core::ReplicationControllerStatus>("readyReplicas"),
        ),
        age_column(),
    ];
    cols.extend(template_columns(
        field::<core::ReplicationControllerSpec>("selector"),
        true,
    ));
    cols
}

fn rc_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_cells(obj, &["spec", "template"]);
    // Replicas defaults to 1 for replication controllers.
    let desired = get(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1);
    vec![
        name(obj),
        desired.into(),
        int(obj, &["status", "replicas"]).into(),
        int(obj, &["status", "readyReplicas"]).into(),
        age(obj, now),
        names,
        images,
        format_labels(get(obj, &["spec", "selector"])).into(),
    ]
}

fn stateful_set_columns() -> Vec<ColumnDefinition> {
    let mut cols = vec![
        name_column(),
        text("Ready", "Number of the pod with ready state"),
        age_column(),
    ];
    cols.extend(template_columns(String::new(), false));
    cols
}

fn stateful_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_cells(obj, &["spec", "template"]);
    vec![
        name(obj),
        format!(
            "{}/{}",
            int(obj, &["status", "readyReplicas"]),
            int(obj, &["spec", "replicas"])
        )
        .into(),
        age(obj, now),
        names,
        images,
    ]
}

fn daemon_set_columns() -> Vec<ColumnDefinition> {
    let status = |f: &str| field::<apps::DaemonSetStatus>(f);
    let mut cols = vec![
        name_column(),
        int_col("Desired", status("desiredNumberScheduled")),
        int_col("Current", status("currentNumberScheduled")),
        int_col("Ready", status("numberReady")),
        int_col("Up-to-date", status("updatedNumberScheduled")),
        int_col("Available", status("numberAvailable")),
        text("Node Selector", field::<core::PodSpec>("nodeSelector")),
        age_column(),
    ];
    cols.extend(template_columns(
        field::<apps::DaemonSetSpec>("selector"),
        true,
    ));
    cols
}

fn daemon_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_cells(obj, &["spec", "template"]);
    let st = |f: &str| Value::from(int(obj, &["status", f]));
    vec![
        name(obj),
        st("desiredNumberScheduled"),
        st("currentNumberScheduled"),
        st("numberReady"),
        st("updatedNumberScheduled"),
        st("numberAvailable"),
        format_labels(get(obj, &["spec", "template", "spec", "nodeSelector"])).into(),
        age(obj, now),
        names,
        images,
        format_label_selector(get(obj, &["spec", "selector"])).into(),
    ]
}

fn revision_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Controller", "Controller of the object"),
        text("Revision", field::<apps::ControllerRevision>("revision")),
        age_column(),
    ]
}

fn revision_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let controller = arr(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| get(r, &["controller"]).and_then(Value::as_bool) == Some(true))
        .map_or_else(
            || "<none>".to_string(),
            |r| {
                let group = s(r, &["apiVersion"]).split_once('/').map_or("", |(g, _)| g);
                let kind = s(r, &["kind"]);
                let gk = if group.is_empty() {
                    kind.to_string()
                } else {
                    format!("{kind}.{group}")
                };
                if kind.is_empty() {
                    s(r, &["name"]).to_string()
                } else {
                    format!("{}/{}", gk.to_lowercase(), s(r, &["name"]))
                }
            },
        );
    vec![
        name(obj),
        controller.into(),
        int(obj, &["revision"]).into(),
        age(obj, now),
    ]
}
