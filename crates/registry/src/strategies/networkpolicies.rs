//! networking.k8s.io/v1 NetworkPolicies: the podSelector (defaulted to `{}`),
//! ingress/egress ports (protocol defaulted to TCP, port/endPort ranges),
//! peers (exactly one kind when ipBlock is used; ipBlock CIDR and `except`
//! strictly inside it) and policyTypes (defaulted from the rules present).

use super::util::{arr_at, each_mut, go_string_slice, present, set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    child, index, invalid_each, invalid_raw, invalid_str, is_valid_cidr, is_valid_port_name,
    is_valid_port_num, required_with, validate_label_selector,
};
use apimachinery::Cause;
use serde_json::{Value, json};
use std::net::IpAddr;

pub struct NetworkPolicyStrategy;

/// A CIDR as (network bits as u128, family width, prefix length).
fn parse_cidr(s: &str) -> Option<(u128, u32, u32)> {
    let (ip, bits) = s.split_once('/')?;
    let bits: u32 = bits.parse().ok()?;
    let (v, width) = match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    if bits > width {
        return None;
    }
    let host = width - bits;
    let masked = if host >= 128 { 0 } else { (v >> host) << host };
    Some((masked, width, bits))
}

fn validate_port(port: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    if let Some(p) = port.get("protocol").and_then(Value::as_str)
        && !["TCP", "UDP", "SCTP"].contains(&p)
    {
        errs.push(Cause::not_supported(
            child(path, "protocol"),
            &Value::from(p),
            &["TCP", "UDP", "SCTP"],
        ));
    }
    let end = port.get("endPort").and_then(Value::as_i64);
    let end_path = child(path, "endPort");
    match present(port, "/port") {
        Some(Value::Number(n)) => {
            let p = n.as_i64().unwrap_or(0);
            for m in is_valid_port_num(p) {
                errs.push(Cause::invalid(child(path, "port"), &Value::from(p), m));
            }
            if let Some(e) = end {
                if e < p {
                    errs.push(Cause::invalid(
                        &end_path,
                        &Value::from(e),
                        "must be greater than or equal to `port`",
                    ));
                }
                for m in is_valid_port_num(e) {
                    errs.push(Cause::invalid(&end_path, &Value::from(e), m));
                }
            }
        }
        Some(v) => {
            if let Some(e) = end {
                errs.push(Cause::invalid(
                    &end_path,
                    &Value::from(e),
                    "may not be specified when `port` is non-numeric",
                ));
            }
            let name = v.as_str().unwrap_or("");
            errs.extend(invalid_each(
                &child(path, "port"),
                name,
                is_valid_port_name(name),
            ));
        }
        None => {
            if let Some(e) = end {
                errs.push(Cause::invalid(
                    &end_path,
                    &Value::from(e),
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

fn validate_ip_block(ipb: &Value, path: &str) -> Vec<Cause> {
    let cidr = str_at(ipb, "/cidr");
    if cidr.is_empty() {
        return vec![Cause::required(child(path, "cidr"))];
    }
    let mut errs = invalid_each(&child(path, "cidr"), cidr, is_valid_cidr(cidr));
    let Some((net, width, bits)) = parse_cidr(cidr) else {
        return errs;
    };
    for (i, ex) in arr_at(ipb, "/except").iter().enumerate() {
        let ep = index(&child(path, "except"), i);
        let ex = ex.as_str().unwrap_or("");
        let msgs = is_valid_cidr(ex);
        if !msgs.is_empty() {
            errs.extend(invalid_each(&ep, ex, msgs));
            continue;
        }
        let Some((enet, ewidth, ebits)) = parse_cidr(ex) else {
            continue;
        };
        let host = width - bits;
        let contained = ewidth == width && (host >= 128 || (enet >> host) << host == net);
        if !contained || bits >= ebits {
            errs.push(invalid_str(&ep, ex, "must be a strict subset of `cidr`"));
        }
    }
    errs
}

fn validate_peer(peer: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let mut n = 0;
    for f in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = present(peer, &format!("/{f}")) {
            n += 1;
            errs.extend(validate_label_selector(sel, &child(path, f)));
        }
    }
    let ipb = present(peer, "/ipBlock");
    if let Some(b) = ipb {
        n += 1;
        errs.extend(validate_ip_block(b, &child(path, "ipBlock")));
    }
    if n == 0 {
        errs.push(required_with(path, "must specify a peer"));
    } else if n > 1 && ipb.is_some() {
        errs.push(Cause::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
    errs
}

fn validate_spec(spec: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    match spec.get("podSelector") {
        Some(sel @ Value::Object(_)) => {
            errs.extend(validate_label_selector(sel, "spec.podSelector"))
        }
        None | Some(Value::Null) => {}
        Some(other) => errs.push(Cause::invalid(
            "spec.podSelector",
            other,
            "must be a label selector",
        )),
    }
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr_at(spec, &format!("/{dir}")).iter().enumerate() {
            let rp = index(&format!("spec.{dir}"), i);
            for (j, port) in arr_at(rule, "/ports").iter().enumerate() {
                errs.extend(validate_port(port, &index(&child(&rp, "ports"), j)));
            }
            for (j, peer) in arr_at(rule, &format!("/{peers}")).iter().enumerate() {
                errs.extend(validate_peer(peer, &index(&child(&rp, peers), j)));
            }
        }
    }
    let types = arr_at(spec, "/policyTypes");
    if types.len() > 2 {
        errs.push(invalid_raw(
            "spec.policyTypes",
            &go_string_slice("networking.PolicyType", types),
            "may not specify more than two policyTypes",
        ));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        if !t.as_str().is_some_and(|t| t == "Ingress" || t == "Egress") {
            errs.push(Cause::not_supported(
                index("spec.policyTypes", i),
                t,
                &["Ingress", "Egress"],
            ));
        }
    }
    errs
}

impl Strategy for NetworkPolicyStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(spec) = super::util::obj_mut(obj, "spec") else {
            return;
        };
        spec.entry("podSelector").or_insert_with(|| json!({}));
        let Some(spec) = obj.get_mut("spec") else {
            return;
        };
        for dir in ["ingress", "egress"] {
            each_mut(spec, dir, |rule| {
                each_mut(rule, "ports", |p| set_default(p, "protocol", json!("TCP")));
            });
        }
        if arr_at(spec, "/policyTypes").is_empty() {
            let mut types = vec![json!("Ingress")];
            if !arr_at(spec, "/egress").is_empty() {
                types.push(json!("Egress"));
            }
            super::util::set(spec, "policyTypes", Value::Array(types));
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        validate_spec(super::util::get(obj, "spec"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn defaults_and_valid() {
        let mut np = json!({"spec": {"egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 80, "endPort": 90}],
            "to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}, "namespaceSelector": {}}], "ports": [{"port": "http"}]}]}});
        NetworkPolicyStrategy.default(&mut np);
        assert_eq!(np["spec"]["podSelector"], json!({}));
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(np["spec"]["egress"][0]["ports"][1]["protocol"], "TCP");
        assert_eq!(np["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");
        assert!(NetworkPolicyStrategy.validate_create(&np).is_empty());
        let mut bare = json!({"spec": {}});
        NetworkPolicyStrategy.default(&mut bare);
        assert_eq!(bare["spec"]["policyTypes"], json!(["Ingress"]));
    }

    #[test]
    fn mistakes() {
        let np = json!({"spec": {"podSelector": {"matchLabels": {"a b": "x"}},
            "ingress": [{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24", "10.0.0.0/8"]}, "podSelector": {}}],
                "ports": [{"protocol": "ICMP", "port": 70000}, {"port": "http", "endPort": 90}, {"endPort": 5}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "300.0.0.0/8"}}]}],
            "policyTypes": ["Ingress", "Sideways"]}});
        let e = NetworkPolicyStrategy.validate_create(&np);
        assert_eq!(
            fields(&e),
            [
                "spec.podSelector.matchLabels",
                "spec.ingress[0].ports[0].protocol",
                "spec.ingress[0].ports[0].port",
                "spec.ingress[0].ports[1].endPort",
                "spec.ingress[0].ports[2].endPort",
                "spec.ingress[0].from[0]",
                "spec.ingress[0].from[1].ipBlock.except[0]",
                "spec.ingress[0].from[1].ipBlock.except[1]",
                "spec.ingress[0].from[1]",
                "spec.egress[0].to[0].ipBlock.cidr",
                "spec.policyTypes[1]",
            ]
        );
        assert_eq!(
            e[6].message,
            "Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`"
        );
        assert_eq!(
            e[8].message,
            "Forbidden: may not specify both ipBlock and another peer"
        );
        let three = json!({"spec": {"policyTypes": ["Ingress", "Egress", "Ingress"]}});
        assert_eq!(
            NetworkPolicyStrategy.validate_create(&three)[0].message,
            "Invalid value: []networking.PolicyType{\"Ingress\", \"Egress\", \"Ingress\"}: may not specify more than two policyTypes"
        );
    }
}
