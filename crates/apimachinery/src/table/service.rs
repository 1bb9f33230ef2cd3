//! Service networking: services, endpoints, endpoint slices, ingresses,
//! ingress classes, network policies, service CIDRs and IP addresses.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::networking::v1 as networking;
use serde_json::Value;

use super::docs::field;
use super::util::{
    age, arr, format_label_selector, format_labels, get, int, join_host_port, list_with_more, name,
    opt_s, s,
};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "services",
        columns: service_columns,
        cells: service_cells,
    },
    Printer {
        group: "",
        plural: "endpoints",
        columns: endpoints_columns,
        cells: endpoints_cells,
    },
    Printer {
        group: "discovery.k8s.io",
        plural: "endpointslices",
        columns: slice_columns,
        cells: slice_cells,
    },
    Printer {
        group: "networking.k8s.io",
        plural: "ingresses",
        columns: ingress_columns,
        cells: ingress_cells,
    },
    Printer {
        group: "networking.k8s.io",
        plural: "ingressclasses",
        columns: ingress_class_columns,
        cells: ingress_class_cells,
    },
    Printer {
        group: "networking.k8s.io",
        plural: "networkpolicies",
        columns: netpol_columns,
        cells: netpol_cells,
    },
    Printer {
        group: "networking.k8s.io",
        plural: "servicecidrs",
        columns: cidr_columns,
        cells: cidr_cells,
    },
    Printer {
        group: "networking.k8s.io",
        plural: "ipaddresses",
        columns: ip_columns,
        cells: ip_cells,
    },
];

fn service_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<core::ServiceSpec>(f);
    vec![
        name_column(),
        text("Type", spec("type")),
        text("Cluster-IP", spec("clusterIP")),
        text("External-IP", spec("externalIPs")),
        text("Port(s)", spec("ports")),
        age_column(),
        text("Selector", spec("selector")).wide(),
    ]
}

/// Load-balancer ingress points, sorted and de-duplicated, IP before
/// hostname. The server prints wide, so nothing is clipped.
fn load_balancer_points(obj: &Value) -> String {
    let points: BTreeSet<&str> = arr(obj, &["status", "loadBalancer", "ingress"])
        .iter()
        .filter_map(|i| match (s(i, &["ip"]), s(i, &["hostname"])) {
            ("", "") => None,
            ("", host) => Some(host),
            (ip, _) => Some(ip),
        })
        .collect();
    points.into_iter().collect::<Vec<_>>().join(",")
}

fn external_ip(obj: &Value) -> String {
    let external: Vec<&str> = arr(obj, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match s(obj, &["spec", "type"]) {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".into(),
        "LoadBalancer" => {
            let lb = load_balancer_points(obj);
            if !external.is_empty() {
                let mut all: Vec<&str> = lb.split(',').filter(|p| !p.is_empty()).collect();
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".into()
            }
        }
        "ExternalName" => s(obj, &["spec", "externalName"]).into(),
        _ => "<unknown>".into(),
    }
}

fn service_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let cluster_ip = arr(obj, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let ports: Vec<String> = arr(obj, &["spec", "ports"])
        .iter()
        .map(|p| {
            let (port, proto, node_port) = (
                int(p, &["port"]),
                s(p, &["protocol"]),
                int(p, &["nodePort"]),
            );
            if node_port > 0 {
                format!("{port}:{node_port}/{proto}")
            } else {
                format!("{port}/{proto}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(obj),
        s(obj, &["spec", "type"]).into(),
        cluster_ip.into(),
        external_ip(obj).into(),
        ports.into(),
        age(obj, now),
        format_labels(get(obj, &["spec", "selector"])).into(),
    ]
}

fn endpoints_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("Endpoints", field::<core::Endpoints>("subsets")),
        age_column(),
    ]
}

/// At most three `ip:port` pairs then `+ N more...` (`formatEndpoints`).
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr(ss, &["addresses"]);
        let ports = arr(ss, &["ports"]);
        if ports.is_empty() {
            count += addresses.len();
            list.extend(
                addresses
                    .iter()
                    .take(MAX - list.len().min(MAX))
                    .map(|a| s(a, &["ip"]).to_string()),
            );
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    break;
                }
                list.push(join_host_port(s(a, &["ip"]), int(port, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if count > MAX {
        return format!("{ret} + {} more...", count - MAX);
    }
    ret
}

fn endpoints_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![name(obj), format_endpoints(obj).into(), age(obj, now)]
}

fn slice_columns() -> Vec<ColumnDefinition> {
    let doc = |f: &str| field::<discovery::EndpointSlice>(f);
    vec![
        name_column(),
        text("AddressType", doc("addressType")),
        text("Ports", doc("ports")),
        text("Endpoints", doc("endpoints")),
        age_column(),
    ]
}

fn slice_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let ports: Vec<String> = arr(obj, &["ports"])
        .iter()
        .map(|p| {
            match (
                get(p, &["port"]).and_then(Value::as_i64),
                opt_s(p, &["name"]),
            ) {
                (Some(n), _) => n.to_string(),
                (None, Some(name)) => name.to_string(),
                (None, None) => "*".into(),
            }
        })
        .collect();
    let addresses: Vec<String> = arr(obj, &["endpoints"])
        .iter()
        .flat_map(|e| arr(e, &["addresses"]).iter().filter_map(Value::as_str))
        .map(str::to_string)
        .collect();
    vec![
        name(obj),
        s(obj, &["addressType"]).into(),
        list_with_more(&ports, 3).into(),
        list_with_more(&addresses, 3).into(),
        age(obj, now),
    ]
}

fn ingress_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Class",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        text(
            "Hosts",
            "Hosts that incoming requests are matched against before the ingress rule",
        ),
        text(
            "Address",
            "Address is a list containing ingress points for the load-balancer",
        ),
        text("Ports", "Ports of TLS configurations that open"),
        age_column(),
    ]
}

fn ingress_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    // formatHosts: up to three non-empty hosts; once three are listed any
    // further rule makes the `+ N more...` suffix (N counts rules).
    let rules = arr(obj, &["spec", "rules"]);
    const MAX: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for r in rules {
        if hosts.len() == MAX {
            more = true;
        }
        let host = s(r, &["host"]);
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    };
    let ports = if arr(obj, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(obj),
        opt_s(obj, &["spec", "ingressClassName"])
            .unwrap_or("<none>")
            .into(),
        hosts.into(),
        load_balancer_points(obj).into(),
        ports.into(),
        age(obj, now),
    ]
}

fn ingress_class_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Controller",
            "Controller that is responsible for handling this class",
        ),
        text(
            "Parameters",
            "A reference to a resource with additional parameters",
        ),
        age_column(),
    ]
}

fn ingress_class_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let parameters = match get(obj, &["spec", "parameters"]).filter(|p| p.is_object()) {
        None => "<none>".to_string(),
        Some(p) => {
            let mut out = s(p, &["kind"]).to_string();
            if let Some(g) = opt_s(p, &["apiGroup"]) {
                out = format!("{out}.{g}");
            }
            format!("{out}/{}", s(p, &["name"]))
        }
    };
    vec![
        name(obj),
        s(obj, &["spec", "controller"]).into(),
        parameters.into(),
        age(obj, now),
    ]
}

fn netpol_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Pod-Selector",
            field::<networking::NetworkPolicySpec>("podSelector"),
        ),
        age_column(),
    ]
}

fn netpol_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        format_label_selector(get(obj, &["spec", "podSelector"])).into(),
        age(obj, now),
    ]
}

fn cidr_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("CIDRs", field::<networking::ServiceCIDRSpec>("cidrs")),
        age_column(),
    ]
}

fn cidr_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let cidrs: Vec<&str> = arr(obj, &["spec", "cidrs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    vec![name(obj), cidrs.join(",").into(), age(obj, now)]
}

fn ip_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text("ParentRef", field::<networking::IPAddressSpec>("parentRef")),
    ]
}

fn ip_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    let parent = match get(obj, &["spec", "parentRef"]).filter(|p| p.is_object()) {
        None => "<none>".to_string(),
        Some(p) => {
            let gr = match s(p, &["group"]) {
                "" => s(p, &["resource"]).to_string(),
                g => format!("{}.{g}", s(p, &["resource"])),
            };
            let mut out = gr.to_lowercase();
            if let Some(ns) = opt_s(p, &["namespace"]).filter(|n| !n.is_empty()) {
                out = format!("{out}/{ns}");
            }
            format!("{out}/{}", s(p, &["name"]))
        }
    };
    vec![name(obj), parent.into()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_truncate_after_three() {
        let ep = json!({"subsets": [{
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}],
            "ports": [{"port": 80}]
        }]});
        assert_eq!(
            format_endpoints(&ep),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
        );
        assert_eq!(format_endpoints(&json!({})), "<none>");
        let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.9"}]}]});
        assert_eq!(format_endpoints(&headless), "10.0.0.9");
    }

    #[test]
    fn load_balancer_external_ip() {
        let svc = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert_eq!(external_ip(&svc), "<pending>");
        let svc = json!({"spec": {"type": "LoadBalancer", "externalIPs": ["5.5.5.5"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example"}]}}});
        assert_eq!(external_ip(&svc), "9.9.9.9,lb.example,5.5.5.5");
        let svc = json!({"spec": {"type": "ExternalName", "externalName": "db.example"}});
        assert_eq!(external_ip(&svc), "db.example");
    }
}
