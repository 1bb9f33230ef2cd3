//! Container validation (`validateContainers`, `validateInitContainers` and
//! what they call): names, image, ports, env, volumeMounts, resources,
//! probes and enum fields, with upstream's field paths and messages.

use crate::strategies::util::str_at;
use crate::validation::{
    Quantity, child, index, invalid_each, invalid_str, is_dns1123_label, is_env_var_name,
    is_valid_port_name, is_valid_port_num, key, not_found, required_with, validate_nonnegative,
};
use apimachinery::Cause;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Validate `spec.containers` and `spec.initContainers` of a pod spec at `path`.
pub fn validate_all_containers(spec: &Value, path: &str, volumes: &HashSet<String>) -> Vec<Cause> {
    let mut errs = vec![];
    let containers = spec.get("containers").and_then(Value::as_array);
    let cpath = child(path, "containers");
    let mut names = HashSet::new();
    match containers {
        Some(list) if !list.is_empty() => {
            for (i, c) in list.iter().enumerate() {
                errs.extend(validate_container(
                    c,
                    &index(&cpath, i),
                    volumes,
                    &mut names,
                    false,
                ));
            }
        }
        _ => errs.push(Cause::required(cpath)),
    }
    let ipath = child(path, "initContainers");
    for (i, c) in spec
        .get("initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        errs.extend(validate_container(
            c,
            &index(&ipath, i),
            volumes,
            &mut names,
            true,
        ));
    }
    errs
}

fn validate_container(
    c: &Value,
    path: &str,
    volumes: &HashSet<String>,
    names: &mut HashSet<String>,
    init: bool,
) -> Vec<Cause> {
    let mut errs = vec![];
    let name = str_at(c, "/name");
    let npath = child(path, "name");
    if name.is_empty() {
        errs.push(Cause::required(&npath));
    } else {
        errs.extend(invalid_each(&npath, name, is_dns1123_label(name)));
        if !names.insert(name.to_string()) {
            errs.push(Cause::duplicate(&npath, &Value::from(name)));
        }
    }
    let image = str_at(c, "/image");
    if image.is_empty() {
        errs.push(Cause::required(child(path, "image")));
    } else if image.trim() != image {
        errs.push(invalid_str(
            child(path, "image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    let sidecar = init && str_at(c, "/restartPolicy") == "Always";
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(p) = c.get(probe).filter(|p| !p.is_null()) else {
            continue;
        };
        let ppath = child(path, probe);
        if init && !sidecar {
            errs.push(Cause::forbidden(
                ppath,
                "may not be set for init containers without restartPolicy=Always",
            ));
            continue;
        }
        errs.extend(validate_probe(p, &ppath, probe != "readinessProbe"));
    }
    if init && !sidecar && !str_at(c, "/restartPolicy").is_empty() {
        errs.push(Cause::not_supported(
            child(path, "restartPolicy"),
            &c["restartPolicy"],
            &["Always"],
        ));
    }
    errs.extend(validate_ports(c, &child(path, "ports")));
    errs.extend(validate_env(c, &child(path, "env")));
    errs.extend(validate_mounts(c, &child(path, "volumeMounts"), volumes));
    errs.extend(validate_resources(
        c.get("resources"),
        &child(path, "resources"),
    ));
    let pull = str_at(c, "/imagePullPolicy");
    if !pull.is_empty() && !["Always", "IfNotPresent", "Never"].contains(&pull) {
        errs.push(Cause::not_supported(
            child(path, "imagePullPolicy"),
            &Value::from(pull),
            &["Always", "IfNotPresent", "Never"],
        ));
    }
    let tmp = str_at(c, "/terminationMessagePolicy");
    if !tmp.is_empty() && !["File", "FallbackToLogsOnError"].contains(&tmp) {
        errs.push(Cause::not_supported(
            child(path, "terminationMessagePolicy"),
            &Value::from(tmp),
            &["File", "FallbackToLogsOnError"],
        ));
    }
    errs
}

/// A port given as a number or an IANA_SVC_NAME (`ValidatePortNumOrName`).
pub fn validate_port_num_or_name(port: Option<&Value>, path: &str) -> Vec<Cause> {
    match port {
        Some(Value::Number(n)) => {
            let p = n.as_i64().unwrap_or(0);
            is_valid_port_num(p)
                .into_iter()
                .map(|m| Cause::invalid(path, &Value::from(p), m))
                .collect()
        }
        Some(Value::String(s)) if s.is_empty() => vec![Cause::required(path)],
        Some(Value::String(s)) => invalid_each(path, s, is_valid_port_name(s)),
        _ => vec![Cause::required(path)],
    }
}

/// `validateProbe`: exactly one handler; non-negative timings;
/// `successThreshold` must be 1 for liveness and startup probes.
pub fn validate_probe(p: &Value, path: &str, success_must_be_one: bool) -> Vec<Cause> {
    let mut errs = vec![];
    let handlers: Vec<&str> = ["exec", "httpGet", "tcpSocket", "grpc"]
        .into_iter()
        .filter(|h| p.get(*h).is_some_and(|v| !v.is_null()))
        .collect();
    match handlers.as_slice() {
        [] => errs.push(required_with(path, "must specify a handler type")),
        [one] => {
            let hpath = child(path, one);
            match *one {
                "httpGet" | "tcpSocket" => {
                    errs.extend(validate_port_num_or_name(
                        p[*one].get("port"),
                        &child(&hpath, "port"),
                    ));
                }
                "exec"
                    if p[*one]
                        .get("command")
                        .and_then(Value::as_array)
                        .is_none_or(Vec::is_empty) =>
                {
                    errs.push(Cause::required(child(&hpath, "command")));
                }
                _ => {}
            }
        }
        [_, rest @ ..] => {
            for h in rest {
                errs.push(Cause::forbidden(
                    child(path, h),
                    "may not specify more than 1 handler type",
                ));
            }
        }
    }
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        errs.extend(validate_nonnegative(p.get(f), &child(path, f)));
    }
    if success_must_be_one
        && let Some(n) = p.get("successThreshold").and_then(Value::as_i64)
        && n != 1
    {
        errs.push(Cause::invalid(
            child(path, "successThreshold"),
            &Value::from(n),
            "must be 1",
        ));
    }
    errs
}

fn validate_ports(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let mut names = HashSet::new();
    for (i, p) in c
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ip = index(path, i);
        let name = str_at(p, "/name");
        if !name.is_empty() {
            errs.extend(invalid_each(
                &child(&ip, "name"),
                name,
                is_valid_port_name(name),
            ));
            if !names.insert(name) {
                errs.push(Cause::duplicate(child(&ip, "name"), &Value::from(name)));
            }
        }
        match p.get("containerPort").and_then(Value::as_i64) {
            None | Some(0) => errs.push(Cause::required(child(&ip, "containerPort"))),
            Some(n) => errs.extend(
                is_valid_port_num(n)
                    .into_iter()
                    .map(|m| Cause::invalid(child(&ip, "containerPort"), &Value::from(n), m)),
            ),
        }
        if let Some(n) = p
            .get("hostPort")
            .and_then(Value::as_i64)
            .filter(|n| *n != 0)
        {
            errs.extend(
                is_valid_port_num(n)
                    .into_iter()
                    .map(|m| Cause::invalid(child(&ip, "hostPort"), &Value::from(n), m)),
            );
        }
        errs.extend(validate_protocol(
            p.get("protocol"),
            &child(&ip, "protocol"),
        ));
    }
    errs
}

/// Protocol: required (after defaulting) and one of SCTP, TCP, UDP.
pub fn validate_protocol(proto: Option<&Value>, path: &str) -> Vec<Cause> {
    match proto.and_then(Value::as_str) {
        None | Some("") => vec![Cause::required(path)],
        Some("TCP" | "UDP" | "SCTP") => vec![],
        Some(p) => vec![Cause::not_supported(
            path,
            &Value::from(p),
            &["SCTP", "TCP", "UDP"],
        )],
    }
}

fn validate_env(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    for (i, e) in c
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ip = index(path, i);
        let name = str_at(e, "/name");
        if name.is_empty() {
            errs.push(Cause::required(child(&ip, "name")));
        } else {
            errs.extend(invalid_each(
                &child(&ip, "name"),
                name,
                is_env_var_name(name),
            ));
        }
        let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) else {
            continue;
        };
        let fpath = child(&ip, "valueFrom");
        let sources: Vec<&str> = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
            "fileKeyRef",
        ]
        .into_iter()
        .filter(|s| from.get(*s).is_some_and(|v| !v.is_null()))
        .collect();
        if sources.is_empty() {
            errs.push(invalid_str(&fpath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
        } else if sources.len() > 1 {
            errs.push(invalid_str(
                &fpath,
                "",
                "may not have more than one field specified at a time",
            ));
        }
        if !str_at(e, "/value").is_empty() && !sources.is_empty() {
            errs.push(invalid_str(
                &fpath,
                "",
                "may not be specified when `value` is not empty",
            ));
        }
        for r in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(kr) = from.get(r).filter(|v| v.is_object()) {
                if str_at(kr, "/key").is_empty() {
                    errs.push(Cause::required(child(&child(&fpath, r), "key")));
                }
                if str_at(kr, "/name").is_empty() {
                    errs.push(Cause::required(child(&child(&fpath, r), "name")));
                }
            }
        }
        if let Some(fr) = from.get("fieldRef").filter(|v| v.is_object())
            && str_at(fr, "/fieldPath").is_empty()
        {
            errs.push(Cause::required(child(
                &child(&fpath, "fieldRef"),
                "fieldPath",
            )));
        }
    }
    errs
}

fn validate_mounts(c: &Value, path: &str, volumes: &HashSet<String>) -> Vec<Cause> {
    let mut errs = vec![];
    let mut paths = HashSet::new();
    for (i, m) in c
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ip = index(path, i);
        let name = str_at(m, "/name");
        if name.is_empty() {
            errs.push(Cause::required(child(&ip, "name")));
        } else if !volumes.contains(name) {
            errs.push(not_found(child(&ip, "name"), name));
        }
        let mp = str_at(m, "/mountPath");
        if mp.is_empty() {
            errs.push(Cause::required(child(&ip, "mountPath")));
        } else if !paths.insert(mp) {
            errs.push(invalid_str(child(&ip, "mountPath"), mp, "must be unique"));
        }
        let sp = str_at(m, "/subPath");
        if sp.starts_with('/') {
            errs.push(invalid_str(
                child(&ip, "subPath"),
                sp,
                "must be a relative path",
            ));
        } else if sp.split('/').any(|s| s == "..") {
            errs.push(invalid_str(
                child(&ip, "subPath"),
                sp,
                "must not contain '..'",
            ));
        }
    }
    errs
}

/// Parse every quantity in a resource map, reporting unparsable or negative
/// values at `path[name]`.
pub fn parse_resource_list(
    list: Option<&Value>,
    path: &str,
) -> (BTreeMap<String, Quantity>, Vec<Cause>) {
    let mut out = BTreeMap::new();
    let mut errs = vec![];
    let Some(Value::Object(m)) = list else {
        return (out, errs);
    };
    for (name, v) in m {
        let p = key(path, name);
        let parsed = match v {
            Value::String(s) => Quantity::parse(s).map_err(|e| e.to_string()),
            Value::Number(n) => Quantity::parse(&n.to_string()).map_err(|e| e.to_string()),
            _ => Err("must be a quantity".to_string()),
        };
        match parsed {
            Ok(q) if q.is_negative() => {
                errs.push(invalid_str(
                    &p,
                    &q.to_string(),
                    "must be greater than or equal to 0",
                ));
            }
            Ok(q) => {
                out.insert(name.clone(), q);
            }
            Err(e) => errs.push(Cause::invalid(&p, v, e)),
        }
    }
    (out, errs)
}

/// `ValidateResourceRequirements`: quantities valid and non-negative, each
/// request at most its limit.
pub fn validate_resources(res: Option<&Value>, path: &str) -> Vec<Cause> {
    let Some(res) = res.filter(|r| r.is_object()) else {
        return vec![];
    };
    let lpath = child(path, "limits");
    let rpath = child(path, "requests");
    let (limits, mut errs) = parse_resource_list(res.get("limits"), &lpath);
    let (requests, rerrs) = parse_resource_list(res.get("requests"), &rpath);
    errs.extend(rerrs);
    for (name, req) in &requests {
        if let Some(lim) = limits.get(name)
            && req > lim
        {
            errs.push(invalid_str(
                key(&rpath, name),
                &req.to_string(),
                &format!("must be less than or equal to {name} limit of {lim}"),
            ));
        }
    }
    errs
}
