//! Configuration and access objects: config maps, secrets, service
//! accounts, resource quotas, RBAC bindings, certificate signing requests,
//! admission webhooks and policies, API services and flow control.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::flowcontrol::v1 as flowcontrol;
use k8s_openapi::api::rbac::v1 as rbac;
use serde_json::Value;

use super::docs::field;
use super::duration::human_duration;
use super::util::{age, arr, format_label_selector, get, int, len, name, opt_s, s};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "configmaps",
        columns: config_map_columns,
        cells: config_map_cells,
    },
    Printer {
        group: "",
        plural: "secrets",
        columns: secret_columns,
        cells: secret_cells,
    },
    Printer {
        group: "",
        plural: "serviceaccounts",
        columns: sa_columns,
        cells: sa_cells,
    },
    Printer {
        group: "",
        plural: "resourcequotas",
        columns: quota_columns,
        cells: quota_cells,
    },
    Printer {
        group: "rbac.authorization.k8s.io",
        plural: "rolebindings",
        columns: role_binding_columns,
        cells: binding_cells,
    },
    Printer {
        group: "rbac.authorization.k8s.io",
        plural: "clusterrolebindings",
        columns: cluster_role_binding_columns,
        cells: binding_cells,
    },
    Printer {
        group: "certificates.k8s.io",
        plural: "certificatesigningrequests",
        columns: csr_columns,
        cells: csr_cells,
    },
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

fn config_map_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Data", field::<core::ConfigMap>("data")),
        age_column(),
    ]
}

fn config_map_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let data = len(obj, &["data"]) + len(obj, &["binaryData"]);
    vec![name(obj), data.into(), age(obj, now)]
}

fn secret_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Type", field::<core::Secret>("type")),
        text("Data", field::<core::Secret>("data")),
        age_column(),
    ]
}

fn secret_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, &["type"]).into(),
        len(obj, &["data"]).into(),
        age(obj, now),
    ]
}

fn sa_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Secrets", field::<core::ServiceAccount>("secrets")),
        age_column(),
    ]
}

fn sa_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(obj), len(obj, &["secrets"]).into(), age(obj, now)]
}

fn quota_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Request",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        text(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        age_column(),
    ]
}

fn quota_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let mut resources: Vec<(&String, &Value)> = match get(obj, &["status", "hard"]) {
        Some(Value::Object(m)) => m.iter().collect(),
        _ => vec![],
    };
    resources.sort_by(|a, b| a.0.cmp(b.0));
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for (resource, hard) in resources {
        let used = get(obj, &["status", "used", resource])
            .and_then(Value::as_str)
            .unwrap_or("0");
        let entry = format!("{resource}: {used}/{}", hard.as_str().unwrap_or("0"));
        if resource.split('.').count() > 1 && resource.starts_with("limits.") {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![
        name(obj),
        requests.join(", ").into(),
        limits.join(", ").into(),
        age(obj, now),
    ]
}

fn binding_columns(roles_doc: String, what: &str) -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Role", roles_doc),
        age_column(),
        text("Users", format!("Users in the {what}")).wide(),
        text("Groups", format!("Groups in the {what}")).wide(),
        text("ServiceAccounts", format!("ServiceAccounts in the {what}")).wide(),
    ]
}

fn role_binding_columns() -> Vec<ColumnDefinition> {
    binding_columns(field::<rbac::RoleBinding>("roleRef"), "roleBinding")
}

fn cluster_role_binding_columns() -> Vec<ColumnDefinition> {
    binding_columns(
        field::<rbac::ClusterRoleBinding>("roleRef"),
        "clusterRoleBinding",
    )
}

fn binding_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr(obj, &["subjects"]) {
        let n = s(subject, &["name"]);
        match s(subject, &["kind"]) {
            "User" => users.push(n.to_string()),
            "Group" => groups.push(n.to_string()),
            "ServiceAccount" => sas.push(format!("{}/{n}", s(subject, &["namespace"]))),
            _ => {}
        }
    }
    vec![
        name(obj),
        format!(
            "{}/{}",
            s(obj, &["roleRef", "kind"]),
            s(obj, &["roleRef", "name"])
        )
        .into(),
        age(obj, now),
        users.join(", ").into(),
        groups.join(", ").into(),
        sas.join(", ").into(),
    ]
}

fn csr_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<certificates::CertificateSigningRequestSpec>(f);
    vec![
        name_column(),
        age_column(),
        text("SignerName", spec("signerName")),
        text("Requestor", spec("request")),
        text("RequestedDuration", spec("expirationSeconds")),
        text(
            "Condition",
            field::<certificates::CertificateSigningRequestStatus>("conditions"),
        ),
    ]
}

/// Denied, Approved or Pending, then `,Failed` and `,Issued`.
fn csr_condition(obj: &Value) -> String {
    let has = |t: &str| {
        arr(obj, &["status", "conditions"])
            .iter()
            .any(|c| s(c, &["type"]) == t)
    };
    let mut status = if has("Denied") {
        "Denied".to_string()
    } else if has("Approved") {
        "Approved".to_string()
    } else {
        "Pending".to_string()
    };
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !s(obj, &["status", "certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

fn csr_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let duration = get(obj, &["spec", "expirationSeconds"])
        .and_then(Value::as_i64)
        .map_or_else(
            || "<none>".to_string(),
            |secs| human_duration(SignedDuration::from_secs(secs)),
        );
    vec![
        name(obj),
        age(obj, now),
        opt_s(obj, &["spec", "signerName"])
            .filter(|n| !n.is_empty())
            .unwrap_or("<none>")
            .into(),
        s(obj, &["spec", "username"]).into(),
        duration.into(),
        csr_condition(obj).into(),
    ]
}

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
