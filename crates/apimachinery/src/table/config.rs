//! Configuration and access objects: config maps, secrets, service
//! accounts, resource quotas, RBAC bindings and certificate signing
//! requests.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::certificates::v1 as certificates;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use serde_json::Value;

use super::docs::field;
use super::duration::human_duration;
use super::util::{age, arr, get, len, name, opt_s, s};
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
