//! API extension plumbing: admission webhooks and policies, API services
//! (the aggregator's printer) and API priority and fairness objects.

use jiff::Timestamp;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
use serde_json::Value;

use super::docs::field;
use super::util::{age, arr, format_label_selector, get, int, len, name, opt_s, s};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "admissionregistration.k8s.io",
        plural: "mutatingwebhookconfigurations",
        columns: webhook_columns,
        cells: webhook_cells,
    },
    Printer {
        group: "admissionregistration.k8s.io",
        plural: "validatingwebhookconfigurations",
        columns: webhook_columns,
        cells: webhook_cells,
    },
    Printer {
        group: "admissionregistration.k8s.io",
        plural: "validatingadmissionpolicies",
        columns: vap_columns,
        cells: vap_cells,
    },
    Printer {
        group: "admissionregistration.k8s.io",
        plural: "validatingadmissionpolicybindings",
        columns: vapb_columns,
        cells: vapb_cells,
    },
    Printer {
        group: "apiregistration.k8s.io",
        plural: "apiservices",
        columns: api_service_columns,
        cells: api_service_cells,
    },
    Printer {
        group: "flowcontrol.apiserver.k8s.io",
        plural: "flowschemas",
        columns: flow_schema_columns,
        cells: flow_schema_cells,
    },
    Printer {
        group: "flowcontrol.apiserver.k8s.io",
        plural: "prioritylevelconfigurations",
        columns: plc_columns,
        cells: plc_cells,
    },
];

fn webhook_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        ColumnDefinition::new(
            "Webhooks",
            "integer",
            "Webhooks indicates the number of webhooks registered in this configuration",
        ),
        age_column(),
    ]
}

fn webhook_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(obj), len(obj, &["webhooks"]).into(), age(obj, now)]
}

fn vap_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        ColumnDefinition::new(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        ),
        text(
            "ParamKind",
            "ParamKind specifies the kind of resources used to parameterize this policy",
        ),
        age_column(),
    ]
}

fn vap_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let param_kind = get(obj, &["spec", "paramKind"])
        .filter(|p| p.is_object())
        .map_or_else(
            || "<unset>".to_string(),
            |p| format!("{}/{}", s(p, &["apiVersion"]), s(p, &["kind"])),
        );
    vec![
        name(obj),
        len(obj, &["spec", "validations"]).into(),
        param_kind.into(),
        age(obj, now),
    ]
}

fn vapb_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "PolicyName",
            "PolicyName indicates the policy definition which the policy binding binded to",
        ),
        text(
            "ParamRef",
            "ParamRef indicates the param resource which sets the configration param",
        ),
        age_column(),
    ]
}

fn vapb_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let param = match get(obj, &["spec", "paramRef"]).filter(|p| p.is_object()) {
        None => "<unset>".to_string(),
        Some(p) => match (s(p, &["name"]), s(p, &["namespace"])) {
            ("", _) if get(p, &["selector"]).is_some() => {
                format_label_selector(get(p, &["selector"]))
            }
            ("", _) => "<unset>".to_string(),
            (n, "") => format!("*/{n}"),
            (n, ns) => format!("{ns}/{n}"),
        },
    };
    vec![
        name(obj),
        s(obj, &["spec", "policyName"]).into(),
        param.into(),
        age(obj, now),
    ]
}

fn api_service_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Service",
            "The reference to the service that hosts this API endpoint.",
        ),
        text("Available", "Whether this service is available."),
        age_column(),
    ]
}

fn api_service_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let service = get(obj, &["spec", "service"])
        .filter(|v| v.is_object())
        .map_or_else(
            || "Local".to_string(),
            |svc| format!("{}/{}", s(svc, &["namespace"]), s(svc, &["name"])),
        );
    let available = arr(obj, &["status", "conditions"])
        .iter()
        .find(|c| s(c, &["type"]) == "Available")
        .map_or_else(
            || "Unknown".to_string(),
            |c| match (s(c, &["status"]), s(c, &["reason"])) {
                ("True", _) | (_, "") => s(c, &["status"]).to_string(),
                (st, reason) => format!("{st} ({reason})"),
            },
        );
    vec![name(obj), service.into(), available.into(), age(obj, now)]
}

fn flow_schema_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<flowcontrol::FlowSchemaSpec>(f);
    vec![
        name_column(),
        text(
            "PriorityLevel",
            field::<flowcontrol::PriorityLevelConfigurationReference>("name"),
        ),
        text("MatchingPrecedence", spec("matchingPrecedence")),
        text("DistinguisherMethod", spec("distinguisherMethod")),
        age_column(),
        text(
            "MissingPL",
            "references a broken or non-existent PriorityLevelConfiguration",
        ),
    ]
}

fn flow_schema_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let method = opt_s(obj, &["spec", "distinguisherMethod", "type"]).unwrap_or("<none>");
    let dangling = arr(obj, &["status", "conditions"])
        .iter()
        .find(|c| s(c, &["type"]) == "Dangling")
        .map_or("?", |c| s(c, &["status"]));
    vec![
        name(obj),
        s(obj, &["spec", "priorityLevelConfiguration", "name"]).into(),
        int(obj, &["spec", "matchingPrecedence"]).into(),
        method.into(),
        age(obj, now),
        dangling.into(),
    ]
}

fn plc_columns() -> Vec<ColumnDefinition> {
    let queuing = |f: &str| field::<flowcontrol::QueuingConfiguration>(f);
    vec![
        name_column(),
        text(
            "Type",
            field::<flowcontrol::PriorityLevelConfigurationSpec>("type"),
        ),
        text(
            "NominalConcurrencyShares",
            field::<flowcontrol::LimitedPriorityLevelConfiguration>("nominalConcurrencyShares"),
        ),
        text("Queues", queuing("queues")),
        text("HandSize", queuing("handSize")),
        text("QueueLengthLimit", queuing("queueLengthLimit")),
        age_column(),
    ]
}

fn plc_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let none = || Value::from("<none>");
    let limited = get(obj, &["spec", "limited"]).filter(|l| l.is_object());
    let ncs = limited.map_or_else(none, |l| int(l, &["nominalConcurrencyShares"]).into());
    let queuing = limited
        .and_then(|l| get(l, &["limitResponse", "queuing"]))
        .filter(|q| q.is_object());
    let q = |f: &str| queuing.map_or_else(none, |q| int(q, &[f]).into());
    vec![
        name(obj),
        s(obj, &["spec", "type"]).into(),
        ncs,
        q("queues"),
        q("handSize"),
        q("queueLengthLimit"),
        age(obj, now),
    ]
}
