//! networking.k8s.io/v1 Ingresses (rules, hosts with an optional leading
//! `*.`, paths and pathTypes, backends, TLS, the ingress-class annotation)
//! and IngressClasses (domain-prefixed controller, immutable; parameters).

use super::util::{arr_at, present, str_at};
use super::workload::reset_status;
use crate::strategy::Strategy;
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1035_label, is_dns1123_label,
    is_dns1123_subdomain, is_path_segment_name, is_valid_port_name, is_valid_port_num,
    max_len_error, regex_error, required_with, validate_immutable,
};
use apimachinery::Cause;
use serde_json::{Value, json};
use std::net::IpAddr;

const WILDCARD_FMT: &str = r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const WILDCARD_MSG: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

/// `IsWildcardDNS1123Subdomain`.
pub fn is_wildcard_dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = vec![];
    if s.len() > 253 {
        errs.push(max_len_error(253));
    }
    let ok = s
        .strip_prefix("*.")
        .is_some_and(|rest| is_dns1123_subdomain(rest).is_empty());
    if !ok {
        errs.push(regex_error(WILDCARD_MSG, WILDCARD_FMT, &["*.example.com"]));
    }
    errs
}

/// A host that is a DNS subdomain, or a wildcard one when it has a `*`.
fn validate_host(host: &str, path: &str) -> Vec<Cause> {
    if host.contains('*') {
        invalid_each(path, host, is_wildcard_dns1123_subdomain(host))
    } else {
        invalid_each(path, host, is_dns1123_subdomain(host))
    }
}

fn validate_typed_ref(r: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    if let Some(g) = r.get("apiGroup").and_then(Value::as_str) {
        errs.extend(invalid_each(
            &child(path, "apiGroup"),
            g,
            is_dns1123_subdomain(g),
        ));
    }
    for f in ["kind", "name"] {
        let v = str_at(r, &format!("/{f}"));
        if v.is_empty() {
            errs.push(Cause::required(child(path, f)));
        } else {
            errs.extend(invalid_each(&child(path, f), v, is_path_segment_name(v)));
        }
    }
    errs
}

/// `validateIngressBackend`.
fn validate_backend(b: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    match (present(b, "/resource"), present(b, "/service")) {
        (Some(_), Some(_)) => errs.push(invalid_str(
            path,
            "",
            "cannot set both resource and service backends",
        )),
        (Some(r), None) => errs.extend(validate_typed_ref(r, &child(path, "resource"))),
        (None, Some(svc)) => {
            let name = str_at(svc, "/name");
            let np = format!("{path}.service.name");
            if name.is_empty() {
                errs.push(Cause::required(np));
            } else {
                errs.extend(invalid_each(&np, name, is_dns1035_label(name)));
            }
            let pname = str_at(svc, "/port/name");
            let pnum = svc
                .pointer("/port/number")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            match (pname.is_empty(), pnum == 0) {
                (false, false) => errs.push(invalid_str(
                    path,
                    "",
                    "cannot set both port name & port number",
                )),
                (false, true) => errs.extend(invalid_each(
                    &format!("{path}.service.port.name"),
                    pname,
                    is_valid_port_name(pname),
                )),
                (true, false) => {
                    for m in is_valid_port_num(pnum) {
                        errs.push(Cause::invalid(
                            format!("{path}.service.port.number"),
                            &Value::from(pnum),
                            m,
                        ));
                    }
                }
                (true, true) => errs.push(required_with(path, "port name or number is required")),
            }
        }
        (None, None) => errs.push(invalid_str(
            path,
            "",
            "resource or service backend is required",
        )),
    }
    errs
}

fn validate_http_path(p: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let Some(pt) = p.get("pathType").and_then(Value::as_str) else {
        return vec![required_with(
            child(path, "pathType"),
            "pathType must be specified",
        )];
    };
    let value = str_at(p, "/path");
    let pp = child(path, "path");
    match pt {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(invalid_str(&pp, value, "must be an absolute path"));
            }
            for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                if value.contains(seq) {
                    errs.push(invalid_str(
                        &pp,
                        value,
                        &format!("must not contain '{seq}'"),
                    ));
                }
            }
            for suffix in ["/..", "/."] {
                if value.ends_with(suffix) {
                    errs.push(invalid_str(
                        &pp,
                        value,
                        &format!("cannot end with '{suffix}'"),
                    ));
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(invalid_str(&pp, value, "must be an absolute path"));
            }
        }
        other => errs.push(Cause::not_supported(
            child(path, "pathType"),
            &Value::from(other),
            &["Exact", "ImplementationSpecific", "Prefix"],
        )),
    }
    let null = Value::Null;
    errs.extend(validate_backend(
        p.get("backend").unwrap_or(&null),
        &child(path, "backend"),
    ));
    errs
}

fn validate_rules(spec: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    for (i, rule) in arr_at(spec, "/rules").iter().enumerate() {
        let rp = index("spec.rules", i);
        let host = str_at(rule, "/host");
        if !host.is_empty() {
            if host.parse::<IpAddr>().is_ok() {
                errs.push(invalid_str(
                    child(&rp, "host"),
                    host,
                    "must be a DNS name, not an IP address",
                ));
            }
            errs.extend(validate_host(host, &child(&rp, "host")));
        }
        if let Some(http) = present(rule, "/http") {
            let hp = child(&rp, "http");
            let paths = arr_at(http, "/paths");
            if paths.is_empty() {
                errs.push(Cause::required(child(&hp, "paths")));
            }
            for (j, p) in paths.iter().enumerate() {
                errs.extend(validate_http_path(p, &index(&child(&hp, "paths"), j)));
            }
        }
    }
    errs
}

/// `ValidateIngressSpec` plus the create-time annotation check.
fn validate_ingress(obj: &Value) -> Vec<Cause> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let mut errs = vec![];
    let rules = arr_at(spec, "/rules");
    let default_backend = present(spec, "/defaultBackend");
    if rules.is_empty() && default_backend.is_none() {
        let rendered = if spec.get("rules").is_some_and(Value::is_array) {
            "[]networking.IngressRule{}"
        } else {
            "[]networking.IngressRule(nil)"
        };
        errs.push(crate::validation::invalid_raw(
            "spec",
            rendered,
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default_backend {
        errs.extend(validate_backend(b, "spec.defaultBackend"));
    }
    errs.extend(validate_rules(spec));
    for (i, tls) in arr_at(spec, "/tls").iter().enumerate() {
        let tp = index("spec.tls", i);
        for (j, h) in arr_at(tls, "/hosts").iter().enumerate() {
            errs.extend(validate_host(
                h.as_str().unwrap_or(""),
                &index(&child(&tp, "hosts"), j),
            ));
        }
        let secret = str_at(tls, "/secretName");
        if !secret.is_empty() {
            errs.extend(invalid_each(
                &child(&tp, "secretName"),
                secret,
                is_dns1123_subdomain(secret),
            ));
        }
    }
    if let Some(cls) = spec.get("ingressClassName").and_then(Value::as_str) {
        errs.extend(invalid_each(
            "spec.ingressClassName",
            cls,
            is_dns1123_subdomain(cls),
        ));
    }
    errs
}

pub struct IngressStrategy;

impl Strategy for IngressStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = validate_ingress(obj);
        let ann = obj
            .pointer("/metadata/annotations/kubernetes.io~1ingress.class")
            .and_then(Value::as_str);
        let cls = obj
            .pointer("/spec/ingressClassName")
            .and_then(Value::as_str);
        if let (Some(a), Some(c)) = (ann, cls)
            && a != c
        {
            errs.push(invalid_str(
                "annotations.kubernetes.io/ingress.class",
                a,
                "must match `ingressClassName` when both are specified",
            ));
        }
        errs
    }

    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        validate_ingress(new)
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        for (i, ing) in arr_at(new, "/status/loadBalancer/ingress")
            .iter()
            .enumerate()
        {
            let p = index("status.loadBalancer.ingress", i);
            let ip = str_at(ing, "/ip");
            if !ip.is_empty() {
                errs.extend(invalid_each(
                    &child(&p, "ip"),
                    ip,
                    crate::validation::is_valid_ip(ip),
                ));
            }
            let host = str_at(ing, "/hostname");
            if !host.is_empty() {
                errs.extend(invalid_each(
                    &child(&p, "hostname"),
                    host,
                    is_dns1123_subdomain(host),
                ));
                if host.parse::<IpAddr>().is_ok() {
                    errs.push(invalid_str(
                        child(&p, "hostname"),
                        host,
                        "must be a DNS name, not an IP address",
                    ));
                }
            }
        }
        errs
    }
}

/// `IsDomainPrefixedPath` (e.g. `example.com/ingress-controller`).
fn validate_domain_prefixed_path(v: &str, path: &str) -> Vec<Cause> {
    let Some((host, rest)) = v
        .split_once('/')
        .filter(|(h, r)| !h.is_empty() && !r.is_empty())
    else {
        return vec![invalid_str(
            path,
            v,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        )];
    };
    let mut errs = invalid_each(path, host, is_dns1123_subdomain(host));
    let ok = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c));
    if !ok {
        errs.push(invalid_str(
            path,
            rest,
            &regex_error(
                "must be a valid path",
                r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+",
                &[],
            ),
        ));
    }
    errs
}

pub struct IngressClassStrategy;

impl Strategy for IngressClassStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(p) = obj
            .pointer_mut("/spec/parameters")
            .filter(|p| p.is_object())
        {
            super::util::set_default(p, "scope", json!("Cluster"));
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let ctrl = str_at(obj, "/spec/controller");
        if ctrl.is_empty() {
            errs.push(Cause::required("spec.controller"));
        } else {
            if ctrl.len() > 250 {
                errs.push(Cause::too_long("spec.controller", 250));
            }
            errs.extend(validate_domain_prefixed_path(ctrl, "spec.controller"));
        }
        let Some(params) = present(obj, "/spec/parameters") else {
            return errs;
        };
        let pp = "spec.parameters";
        if let Some(g) = params.get("apiGroup").and_then(Value::as_str) {
            errs.extend(invalid_each(
                &child(pp, "apiGroup"),
                g,
                is_dns1123_subdomain(g),
            ));
        }
        for f in ["kind", "name"] {
            let v = str_at(params, &format!("/{f}"));
            if v.is_empty() {
                errs.push(Cause::required(child(pp, f)));
            } else {
                errs.extend(invalid_each(&child(pp, f), v, is_path_segment_name(v)));
            }
        }
        let ns = params.get("namespace").and_then(Value::as_str);
        match params.get("scope").and_then(Value::as_str) {
            None => errs.push(Cause::required(child(pp, "scope"))),
            Some("Namespace") => match ns {
                None => errs.push(required_with(
                    child(pp, "namespace"),
                    "`parameters.scope` is set to 'Namespace'",
                )),
                Some(n) => errs.extend(invalid_each(
                    &child(pp, "namespace"),
                    n,
                    is_dns1123_label(n),
                )),
            },
            Some("Cluster") => {
                if ns.is_some() {
                    errs.push(Cause::forbidden(
                        child(pp, "namespace"),
                        "`parameters.scope` is set to 'Cluster'",
                    ));
                }
            }
            Some(s) => errs.push(Cause::not_supported(
                child(pp, "scope"),
                &Value::from(s),
                &["Cluster", "Namespace"],
            )),
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = validate_immutable(
            new.pointer("/spec/controller"),
            old.pointer("/spec/controller"),
            "spec.controller",
        );
        errs.extend(self.validate_create(new));
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    fn svc(name: &str, port: Value) -> Value {
        json!({"service": {"name": name, "port": port}})
    }

    #[test]
    fn valid_ingress() {
        let ing = json!({"spec": {"ingressClassName": "nginx", "rules": [
            {"host": "*.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": svc("web", json!({"number": 80}))},
                {"pathType": "ImplementationSpecific", "backend": svc("web", json!({"name": "http"}))},
                {"path": "/x", "pathType": "Exact", "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "b"}}}]}}],
            "tls": [{"hosts": ["foo.example.com"], "secretName": "tls"}]},
            "metadata": {"annotations": {"kubernetes.io/ingress.class": "nginx"}}});
        assert!(IngressStrategy.validate_create(&ing).is_empty());
        let only_default = json!({"spec": {"defaultBackend": svc("web", json!({"number": 8080}))}});
        assert!(IngressStrategy.validate_create(&only_default).is_empty());
    }

    #[test]
    fn ingress_mistakes() {
        let e = IngressStrategy.validate_create(&json!({"spec": {}}));
        assert_eq!(
            e[0].message,
            "Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"
        );
        let ing = json!({"spec": {"rules": [
            {"host": "*", "http": {"paths": [{"path": "/a", "backend": svc("web", json!({"number": 80}))}]}},
            {"host": "1.2.3.4", "http": {"paths": [
                {"path": "a//b", "pathType": "Prefix", "backend": svc("Web", json!({}))},
                {"path": "/", "pathType": "Regex", "backend": {}}]}},
            {"http": {"paths": []}}]},
            "metadata": {"annotations": {"kubernetes.io/ingress.class": "a"}}});
        let mut ing2 = ing.clone();
        ing2["spec"]["ingressClassName"] = json!("b");
        let e = IngressStrategy.validate_create(&ing2);
        assert_eq!(
            fields(&e),
            [
                "spec.rules[0].host",
                "spec.rules[0].http.paths[0].pathType",
                "spec.rules[1].host",
                "spec.rules[1].http.paths[0].path",
                "spec.rules[1].http.paths[0].path",
                "spec.rules[1].http.paths[0].backend.service.name",
                "spec.rules[1].http.paths[0].backend",
                "spec.rules[1].http.paths[1].pathType",
                "spec.rules[1].http.paths[1].backend",
                "spec.rules[2].http.paths",
                "annotations.kubernetes.io/ingress.class",
            ]
        );
        assert!(
            e[0].message
                .starts_with("Invalid value: \"*\": a wildcard DNS-1123 subdomain")
        );
        assert_eq!(e[1].message, "Required value: pathType must be specified");
        assert_eq!(
            e[2].message,
            "Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address"
        );
        assert_eq!(
            e[3].message,
            "Invalid value: \"a//b\": must be an absolute path"
        );
        assert_eq!(
            e[6].message,
            "Required value: port name or number is required"
        );
        assert_eq!(
            e[8].message,
            "Invalid value: \"\": resource or service backend is required"
        );
        // The annotation check is create-only.
        assert_eq!(IngressStrategy.validate_update(&ing2, &ing).len(), 10);
    }

    #[test]
    fn ingress_class() {
        let mut ic = json!({"spec": {"controller": "example.com/ingress", "parameters": {"kind": "Params", "name": "p"}}});
        IngressClassStrategy.default(&mut ic);
        assert_eq!(ic["spec"]["parameters"]["scope"], "Cluster");
        assert!(IngressClassStrategy.validate_create(&ic).is_empty());
        let mut changed = ic.clone();
        changed["spec"]["controller"] = json!("nginx");
        let e = IngressClassStrategy.validate_update(&changed, &ic);
        assert_eq!(fields(&e), ["spec.controller", "spec.controller"]);
        assert_eq!(e[0].message, "Invalid value: \"nginx\": field is immutable");
        assert_eq!(
            e[1].message,
            "Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")"
        );
        let ns = json!({"spec": {"controller": "a.io/b", "parameters": {"kind": "K", "name": "n", "scope": "Namespace"}}});
        assert_eq!(
            IngressClassStrategy.validate_create(&ns)[0].message,
            "Required value: `parameters.scope` is set to 'Namespace'"
        );
    }
}
