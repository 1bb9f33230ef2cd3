//! `ValidatePodSpec` and `ValidatePodTemplateSpec`: volumes, containers,
//! policies, node selector, tolerations and the scalar fields. Shared by
//! pods and every workload's pod template.

use super::containers::validate_all_containers;
use crate::strategies::util::str_at;
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1123_label, is_dns1123_subdomain,
    is_qualified_name, is_valid_label_value, required_with, validate_annotations, validate_labels,
};
use apimachinery::Cause;
use serde_json::Value;
use std::collections::HashSet;

/// Every volume source upstream knows; exactly one must be set.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn validate_volumes(spec: &Value, path: &str) -> (HashSet<String>, Vec<Cause>) {
    let mut names = HashSet::new();
    let mut errs = vec![];
    for (i, v) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ip = index(path, i);
        let name = str_at(v, "/name");
        let npath = child(&ip, "name");
        if name.is_empty() {
            errs.push(Cause::required(&npath));
        } else {
            errs.extend(invalid_each(&npath, name, is_dns1123_label(name)));
            if !names.insert(name.to_string()) {
                errs.push(Cause::duplicate(&npath, &Value::from(name)));
            }
        }
        let set: Vec<&str> = VOLUME_SOURCES
            .iter()
            .copied()
            .filter(|s| v.get(*s).is_some_and(|x| !x.is_null()))
            .collect();
        match set.as_slice() {
            [] => errs.push(required_with(&ip, "must specify a volume type")),
            [one] => errs.extend(validate_volume_source(one, &v[*one], &child(&ip, one))),
            [_, rest @ ..] => {
                for s in rest {
                    errs.push(Cause::forbidden(
                        child(&ip, s),
                        "may not specify more than 1 volume type",
                    ));
                }
            }
        }
    }
    (names, errs)
}

fn validate_volume_source(kind: &str, src: &Value, path: &str) -> Vec<Cause> {
    let required = |field: &str| {
        if str_at(src, &format!("/{field}")).is_empty() {
            vec![Cause::required(child(path, field))]
        } else {
            vec![]
        }
    };
    match kind {
        "configMap" => required("name"),
        "secret" => required("secretName"),
        "persistentVolumeClaim" => required("claimName"),
        "hostPath" => {
            let mut e = required("path");
            let t = str_at(src, "/type");
            let ok = [
                "",
                "DirectoryOrCreate",
                "Directory",
                "FileOrCreate",
                "File",
                "Socket",
                "CharDevice",
                "BlockDevice",
            ];
            if !ok.contains(&t) {
                e.push(Cause::not_supported(
                    child(path, "type"),
                    &Value::from(t),
                    &ok[1..],
                ));
            }
            e
        }
        "nfs" => [required("server"), required("path")].concat(),
        "csi" => required("driver"),
        _ => vec![],
    }
}

fn validate_tolerations(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    for (i, t) in spec
        .get("tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ip = index(path, i);
        let key = str_at(t, "/key");
        let op = str_at(t, "/operator");
        if !key.is_empty() {
            errs.extend(invalid_each(
                &child(&ip, "key"),
                key,
                is_qualified_name(key),
            ));
        } else if op != "Exists" {
            errs.push(invalid_str(child(&ip, "operator"), op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
        }
        let effect = str_at(t, "/effect");
        if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
            errs.push(invalid_str(
                child(&ip, "effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        let value = str_at(t, "/value");
        match op {
            "" | "Equal" => errs.extend(invalid_each(
                &child(&ip, "value"),
                value,
                is_valid_label_value(value),
            )),
            "Exists" if !value.is_empty() => errs.push(Cause::invalid(
                child(&ip, "operator"),
                t,
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            _ => errs.push(Cause::not_supported(
                child(&ip, "operator"),
                &Value::from(op),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
        {
            errs.push(Cause::not_supported(
                child(&ip, "effect"),
                &Value::from(effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}

/// `ValidatePodSpec` (after defaulting) at `path` (e.g. `spec`,
/// `spec.template.spec`).
pub fn validate_pod_spec(spec: &Value, path: &str) -> Vec<Cause> {
    let (volumes, mut errs) = validate_volumes(spec, &child(path, "volumes"));
    errs.extend(validate_all_containers(spec, path, &volumes));
    let restart = str_at(spec, "/restartPolicy");
    match restart {
        "" => errs.push(Cause::required(child(path, "restartPolicy"))),
        "Always" | "OnFailure" | "Never" => {}
        r => errs.push(Cause::not_supported(
            child(path, "restartPolicy"),
            &Value::from(r),
            &["Always", "OnFailure", "Never"],
        )),
    }
    let dns = str_at(spec, "/dnsPolicy");
    match dns {
        "" => errs.push(Cause::required(child(path, "dnsPolicy"))),
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" => {}
        "None" => {
            if spec.get("dnsConfig").is_none_or(Value::is_null) {
                errs.push(required_with(
                    child(path, "dnsConfig"),
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                ));
            }
        }
        d => errs.push(Cause::not_supported(
            child(path, "dnsPolicy"),
            &Value::from(d),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(validate_labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
    ));
    for (f, check) in [
        (
            "serviceAccountName",
            is_dns1123_subdomain as fn(&str) -> Vec<String>,
        ),
        ("nodeName", is_dns1123_subdomain),
        ("hostname", is_dns1123_label),
        ("subdomain", is_dns1123_label),
        ("priorityClassName", is_dns1123_subdomain),
    ] {
        let v = str_at(spec, &format!("/{f}"));
        if !v.is_empty() {
            errs.extend(invalid_each(&child(path, f), v, check(v)));
        }
    }
    errs.extend(validate_tolerations(spec, &child(path, "tolerations")));
    if let Some(n) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && !(1..=i64::from(i32::MAX)).contains(&n)
    {
        errs.push(Cause::invalid(
            child(path, "activeDeadlineSeconds"),
            &Value::from(n),
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    for (i, s) in spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if str_at(s, "/name").is_empty() {
            errs.push(Cause::required(child(
                &index(&child(path, "imagePullSecrets"), i),
                "name",
            )));
        }
    }
    errs
}

/// `ValidatePodTemplateSpec`: template labels and annotations, then the spec.
pub fn validate_pod_template(tmpl: Option<&Value>, path: &str) -> Vec<Cause> {
    let Some(t) = tmpl.filter(|t| t.is_object()) else {
        return vec![Cause::required(path)];
    };
    let mut errs = validate_labels(t.pointer("/metadata/labels"), &child(path, "labels"));
    errs.extend(validate_annotations(
        t.pointer("/metadata/annotations"),
        &child(path, "annotations"),
    ));
    let null = Value::Null;
    errs.extend(validate_pod_spec(
        t.get("spec").unwrap_or(&null),
        &child(path, "spec"),
    ));
    errs
}
