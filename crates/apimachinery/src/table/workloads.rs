//! Workload controllers: deployments, replica sets, stateful sets, daemon
//! sets, replication controllers, controller revisions, jobs, cron jobs,
//! horizontal pod autoscalers and pod disruption budgets.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as hpa;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use super::docs::field;
use super::duration::human_duration;
use super::util::{
    age, arr, format_label_selector, format_labels, get, int, int_or_string, layout_containers,
    name, opt_s, parse_time, s, selector_string, since,
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
    Printer {
        group: "batch",
        plural: "jobs",
        columns: job_columns,
        cells: job_cells,
    },
    Printer {
        group: "batch",
        plural: "cronjobs",
        columns: cron_job_columns,
        cells: cron_job_cells,
    },
    Printer {
        group: "autoscaling",
        plural: "horizontalpodautoscalers",
        columns: hpa_columns,
        cells: hpa_cells,
    },
    Printer {
        group: "policy",
        plural: "poddisruptionbudgets",
        columns: pdb_columns,
        cells: pdb_cells,
    },
];

fn int_col(name: &str, description: String) -> ColumnDefinition {
    ColumnDefinition::new(name, "integer", description)
}

/// The wide Containers and Images columns, and a Selector column.
fn template_columns(selector_doc: String, with_selector: bool) -> Vec<ColumnDefinition> {
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

fn template_cells(obj: &Value, template: &[&str]) -> (Value, Value) {
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

fn job_columns() -> Vec<ColumnDefinition> {
    let mut cols = vec![
        name_column(),
        text("Status", "Status of the job."),
        text("Completions", field::<batch::JobStatus>("succeeded")),
        text("Duration", "Time required to complete the job."),
        age_column(),
    ];
    cols.extend(template_columns(field::<batch::JobSpec>("selector"), true));
    cols
}

fn has_true_condition(obj: &Value, type_: &str) -> bool {
    arr(obj, &["status", "conditions"])
        .iter()
        .find(|c| s(c, &["type"]) == type_)
        .is_some_and(|c| s(c, &["status"]) == "True")
}

fn job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int(obj, &["status", "succeeded"]);
    let completions = match get(obj, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int(obj, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = opt_s(obj, &["status", "startTime"]).and_then(parse_time);
    let end = opt_s(obj, &["status", "completionTime"]).and_then(parse_time);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(st), None) => human_duration(now.duration_since(st)),
        (Some(st), Some(en)) => human_duration(en.duration_since(st)),
    };
    let deleting = get(obj, &["metadata", "deletionTimestamp"]).is_some_and(|d| !d.is_null());
    let status = if has_true_condition(obj, "Complete") {
        "Complete"
    } else if has_true_condition(obj, "Failed") {
        "Failed"
    } else if deleting {
        "Terminating"
    } else if has_true_condition(obj, "Suspended") {
        "Suspended"
    } else if has_true_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = template_cells(obj, &["spec", "template"]);
    vec![
        name(obj),
        status.into(),
        completions.into(),
        duration.into(),
        age(obj, now),
        names,
        images,
        format_label_selector(get(obj, &["spec", "selector"])).into(),
    ]
}

fn cron_job_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<batch::CronJobSpec>(f);
    let mut cols = vec![
        name_column(),
        text("Schedule", spec("schedule")),
        text("Timezone", spec("timeZone")),
        ColumnDefinition::new("Suspend", "boolean", spec("suspend")),
        int_col("Active", field::<batch::CronJobStatus>("active")),
        text(
            "Last Schedule",
            field::<batch::CronJobStatus>("lastScheduleTime"),
        ),
        age_column(),
    ];
    cols.extend(template_columns(field::<batch::JobSpec>("selector"), true));
    cols
}

fn cron_job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let last = match opt_s(obj, &["status", "lastScheduleTime"]) {
        Some(t) => since(Some(t), now),
        None => "<none>".into(),
    };
    let suspend = match get(obj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) = template_cells(obj, &["spec", "jobTemplate", "spec", "template"]);
    vec![
        name(obj),
        s(obj, &["spec", "schedule"]).into(),
        opt_s(obj, &["spec", "timeZone"]).unwrap_or("<none>").into(),
        suspend.into(),
        (arr(obj, &["status", "active"]).len() as i64).into(),
        last.into(),
        age(obj, now),
        names,
        images,
        format_label_selector(get(obj, &["spec", "jobTemplate", "spec", "selector"])).into(),
    ]
}

fn hpa_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<hpa::HorizontalPodAutoscalerSpec>(f);
    vec![
        name_column(),
        text("Reference", spec("scaleTargetRef")),
        text("Targets", spec("metrics")),
        text("MinPods", spec("minReplicas")),
        text("MaxPods", spec("maxReplicas")),
        text(
            "Replicas",
            field::<hpa::HorizontalPodAutoscalerStatus>("currentReplicas"),
        ),
        age_column(),
    ]
}

fn hpa_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        s(obj, &["spec", "scaleTargetRef", "kind"]),
        s(obj, &["spec", "scaleTargetRef", "name"])
    );
    let min = get(obj, &["spec", "minReplicas"])
        .and_then(Value::as_i64)
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    vec![
        name(obj),
        reference.into(),
        super::hpa_metrics::format(obj).into(),
        min.into(),
        int(obj, &["spec", "maxReplicas"]).into(),
        int(obj, &["status", "currentReplicas"]).into(),
        age(obj, now),
    ]
}

fn pdb_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Min Available",
            "The minimum number of pods that must be available.",
        ),
        text(
            "Max Unavailable",
            "The maximum number of pods that may be unavailable.",
        ),
        ColumnDefinition::new(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        age_column(),
    ]
}

fn pdb_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let or_na = |path: &[&str]| get(obj, path).map_or_else(|| "N/A".to_string(), int_or_string);
    vec![
        name(obj),
        or_na(&["spec", "minAvailable"]).into(),
        or_na(&["spec", "maxUnavailable"]).into(),
        int(obj, &["status", "disruptionsAllowed"]).into(),
        age(obj, now),
    ]
}
