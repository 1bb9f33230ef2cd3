//! Jobs, cron jobs, horizontal pod autoscalers and pod disruption budgets.

use jiff::Timestamp;
use k8s_openapi::api::autoscaling::v2 as hpa;
use k8s_openapi::api::batch::v1 as batch;
use serde_json::Value;

use super::docs::field;
use super::duration::human_duration;
use super::util::{
    age, arr, format_label_selector, get, int, int_or_string, name, opt_s, parse_time, s, since,
};
use super::workloads::{int_col, template_cells, template_columns};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
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
