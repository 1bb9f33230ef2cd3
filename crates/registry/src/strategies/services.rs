//! Services (core/v1): defaults (type ClusterIP, sessionAffinity None,
//! protocol TCP, targetPort = port, traffic policies, single-stack IPv4),
//! `ValidateService` (ports, names, types, selector, clusterIP syntax) and
//! clusterIP immutability. Field selectors `spec.clusterIP`, `spec.type`.
//!
//! HOOK(clusterip-allocation): allocating `spec.clusterIP(s)` and node ports
//! is not done here; the engine / service REST layer must allocate them on
//! create (after `default`, before `validate_create`) and release them on
//! delete.

use super::pod::containers::{validate_port_num_or_name, validate_protocol};
use super::util::{field_str, set_default, str_at};
use crate::strategy::{NameRule, Strategy};
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1123_label, is_dns1123_subdomain, is_valid_ip,
    is_valid_port_num, validate_labels,
};
use apimachinery::Cause;
use serde_json::{Value, json};
use std::collections::HashSet;

pub struct ServiceStrategy;

impl Strategy for ServiceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1035Label
    }

    fn prepare_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"loadBalancer": {}}));
        }
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        set_default(spec, "type", json!("ClusterIP"));
        set_default(spec, "sessionAffinity", json!("None"));
        let ty = str_at(spec, "/type").to_string();
        if str_at(spec, "/sessionAffinity") == "ClientIP" {
            set_default(
                spec,
                "sessionAffinityConfig",
                json!({"clientIP": {"timeoutSeconds": 10800}}),
            );
        }
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for p in ports {
                set_default(p, "protocol", json!("TCP"));
                let missing = p
                    .get("targetPort")
                    .is_none_or(|t| t.is_null() || t == &json!(0) || t == &json!(""));
                if missing && let Some(port) = p.get("port").cloned() {
                    crate::strategies::util::set(p, "targetPort", port);
                }
            }
        }
        if ty == "NodePort" || ty == "LoadBalancer" {
            set_default(spec, "externalTrafficPolicy", json!("Cluster"));
        }
        if ty == "LoadBalancer" {
            set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
        }
        if ty != "ExternalName" {
            set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
            let fam = match str_at(spec, "/clusterIP") {
                ip if ip.contains(':') => "IPv6",
                _ => "IPv4",
            };
            set_default(spec, "ipFamilies", json!([fam]));
            let cip = str_at(spec, "/clusterIP").to_string();
            if !cip.is_empty() {
                set_default(spec, "clusterIPs", json!([cip]));
            }
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = vec![];
        let ty = str_at(spec, "/type");
        let ports = spec
            .get("ports")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let headless = str_at(spec, "/clusterIP") == "None";
        match ty {
            "ExternalName" => {
                let en = str_at(spec, "/externalName");
                if en.is_empty() {
                    errs.push(Cause::required("spec.externalName"));
                } else {
                    errs.extend(invalid_each(
                        "spec.externalName",
                        en,
                        is_dns1123_subdomain(en.trim_end_matches('.')),
                    ));
                }
            }
            "ClusterIP" | "NodePort" | "LoadBalancer" => {
                if ports.is_empty() && !headless {
                    errs.push(Cause::required("spec.ports"));
                }
            }
            "" => errs.push(Cause::required("spec.type")),
            t => errs.push(Cause::not_supported(
                "spec.type",
                &Value::from(t),
                &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
            )),
        }
        let mut names = HashSet::new();
        for (i, p) in ports.iter().enumerate() {
            let ip = index("spec.ports", i);
            let name = str_at(p, "/name");
            if name.is_empty() {
                if ports.len() > 1 {
                    errs.push(Cause::required(child(&ip, "name")));
                }
            } else {
                errs.extend(invalid_each(
                    &child(&ip, "name"),
                    name,
                    is_dns1123_label(name),
                ));
                if !names.insert(name) {
                    errs.push(Cause::duplicate(child(&ip, "name"), &Value::from(name)));
                }
            }
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            for m in is_valid_port_num(port) {
                errs.push(Cause::invalid(child(&ip, "port"), &Value::from(port), m));
            }
            errs.extend(validate_protocol(
                p.get("protocol"),
                &child(&ip, "protocol"),
            ));
            if ty != "ExternalName" {
                errs.extend(validate_port_num_or_name(
                    p.get("targetPort"),
                    &child(&ip, "targetPort"),
                ));
            }
            if let Some(np) = p
                .get("nodePort")
                .and_then(Value::as_i64)
                .filter(|n| *n != 0)
            {
                if ty == "ClusterIP" {
                    errs.push(Cause::forbidden(
                        child(&ip, "nodePort"),
                        "may not be used when `type` is 'ClusterIP'",
                    ));
                } else {
                    for m in is_valid_port_num(np) {
                        errs.push(Cause::invalid(child(&ip, "nodePort"), &Value::from(np), m));
                    }
                }
            }
        }
        match str_at(spec, "/sessionAffinity") {
            "None" | "ClientIP" | "" => {}
            a => errs.push(Cause::not_supported(
                "spec.sessionAffinity",
                &Value::from(a),
                &["ClientIP", "None"],
            )),
        }
        errs.extend(validate_labels(spec.get("selector"), "spec.selector"));
        let cip = str_at(spec, "/clusterIP");
        if !cip.is_empty() && cip != "None" {
            errs.extend(invalid_each("spec.clusterIPs[0]", cip, is_valid_ip(cip)));
        }
        let etp = str_at(spec, "/externalTrafficPolicy");
        if !etp.is_empty() && (ty == "ClusterIP" || ty == "ExternalName") {
            errs.push(invalid_str(
                "spec.externalTrafficPolicy",
                etp,
                "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
            ));
        } else if !etp.is_empty() && etp != "Cluster" && etp != "Local" {
            errs.push(Cause::not_supported(
                "spec.externalTrafficPolicy",
                &Value::from(etp),
                &["Cluster", "Local"],
            ));
        }
        let itp = str_at(spec, "/internalTrafficPolicy");
        if !itp.is_empty() && itp != "Cluster" && itp != "Local" {
            errs.push(Cause::not_supported(
                "spec.internalTrafficPolicy",
                &Value::from(itp),
                &["Cluster", "Local"],
            ));
        }
        match str_at(spec, "/ipFamilyPolicy") {
            "" | "SingleStack" | "PreferDualStack" | "RequireDualStack" => {}
            p => errs.push(Cause::not_supported(
                "spec.ipFamilyPolicy",
                &Value::from(p),
                &["SingleStack", "PreferDualStack", "RequireDualStack"],
            )),
        }
        errs
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        // An update that omits clusterIP keeps the allocated one, as
        // upstream's service REST does for PUT without clusterIP.
        let old_ip = str_at(old, "/spec/clusterIP").to_string();
        if !old_ip.is_empty()
            && str_at(new, "/spec/type") != "ExternalName"
            && str_at(new, "/spec/clusterIP").is_empty()
            && let Some(spec) = new.get_mut("spec").filter(|s| s.is_object())
        {
            crate::strategies::util::set(spec, "clusterIP", json!(old_ip));
            if let Some(ips) = old.pointer("/spec/clusterIPs") {
                crate::strategies::util::set(spec, "clusterIPs", ips.clone());
            }
        }
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        let (n, o) = (
            str_at(new, "/spec/clusterIP"),
            str_at(old, "/spec/clusterIP"),
        );
        if !o.is_empty() && n != o && str_at(new, "/spec/type") != "ExternalName" {
            errs.push(invalid_str(
                "spec.clusterIPs[0]",
                n,
                "may not change once set",
            ));
        }
        errs
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["spec.clusterIP", "spec.type"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "spec.clusterIP" => field_str(obj, "/spec/clusterIP"),
            "spec.type" => field_str(obj, "/spec/type"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    fn run(mut o: Value) -> (Value, Vec<Cause>) {
        let s = ServiceStrategy;
        s.prepare_create(&mut o);
        s.default(&mut o);
        let e = s.validate_create(&o);
        (o, e)
    }

    #[test]
    fn defaults_and_valid() {
        let (o, e) = run(svc(
            json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}),
        ));
        assert!(e.is_empty(), "{e:?}");
        let s = &o["spec"];
        assert_eq!(s["type"], "ClusterIP");
        assert_eq!(s["sessionAffinity"], "None");
        assert_eq!(s["ports"][0]["protocol"], "TCP");
        assert_eq!(s["ports"][0]["targetPort"], 80);
        assert_eq!(s["ipFamilyPolicy"], "SingleStack");
        assert_eq!(s["ipFamilies"], json!(["IPv4"]));
        assert_eq!(s["internalTrafficPolicy"], "Cluster");
    }

    #[test]
    fn port_mistakes() {
        let (_, e) = run(svc(
            json!({"ports": [{"port": 0}, {"port": 80, "name": "http", "nodePort": 30000}]}),
        ));
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "spec.ports[0].name",
                "spec.ports[0].port",
                "spec.ports[0].targetPort",
                "spec.ports[1].nodePort"
            ]
        );
        let (_, e) = run(svc(json!({})));
        assert_eq!(e[0].field, "spec.ports");
        let (_, e) = run(svc(json!({"clusterIP": "None"})));
        assert!(e.is_empty());
        let (_, e) = run(svc(json!({"type": "ExternalName"})));
        assert_eq!(e[0].field, "spec.externalName");
    }

    #[test]
    fn cluster_ip_immutable_and_kept() {
        let (mut old, _) = run(svc(json!({"ports": [{"port": 80}]})));
        old["spec"]["clusterIP"] = json!("10.96.0.10");
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.96.0.11");
        let e = ServiceStrategy.validate_update(&new, &old);
        assert_eq!(e[0].field, "spec.clusterIPs[0]");
        let mut omitted = old.clone();
        omitted["spec"].as_object_mut().unwrap().remove("clusterIP");
        ServiceStrategy.prepare_update(&mut omitted, &old);
        assert_eq!(omitted["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(
            ServiceStrategy.field_value(&old, "spec.type").unwrap(),
            "ClusterIP"
        );
    }
}
