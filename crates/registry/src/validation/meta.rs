//! `ValidateObjectMeta`: name or generateName, namespace presence, labels,
//! annotations, ownerReferences and finalizers.

use super::{
    child, invalid_raw, invalid_str, is_dns1123_label, is_qualified_name, is_valid_label_value,
    required_with, validate_name, validate_nonnegative,
};
use crate::strategy::NameRule;
use apimachinery::Cause;
use serde_json::Value;

/// Upstream's limit on the summed size of annotation keys and values.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `ValidateLabels`: keys are qualified names, values label values. Errors
/// carry the map's path (`metadata.labels`), as upstream.
pub fn validate_labels(labels: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let Some(Value::Object(m)) = labels else {
        return errs;
    };
    for (k, v) in m {
        for msg in is_qualified_name(k) {
            errs.push(invalid_str(path, k, &msg));
        }
        match v.as_str() {
            Some(s) => {
                for msg in is_valid_label_value(s) {
                    errs.push(invalid_str(path, s, &msg));
                }
            }
            None => errs.push(Cause::invalid(path, v, "must be a string")),
        }
    }
    errs
}

/// `ValidateAnnotations`: qualified keys (checked lower-cased) and a total
/// size of at most 256 KiB.
pub fn validate_annotations(annotations: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let Some(Value::Object(m)) = annotations else {
        return errs;
    };
    let mut total = 0usize;
    for (k, v) in m {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(invalid_str(path, k, &msg));
        }
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(Cause::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs
}

fn validate_owner_references(refs: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let Some(Value::Array(refs)) = refs else {
        return errs;
    };
    let mut controllers = vec![];
    for r in refs {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
        let api_version = s("apiVersion");
        if api_version.is_empty() {
            errs.push(invalid_str(
                child(path, "apiVersion"),
                api_version,
                "version must not be empty",
            ));
        } else if api_version.split('/').count() > 2 {
            errs.push(invalid_str(
                child(path, "apiVersion"),
                api_version,
                &format!("unexpected GroupVersion string: {api_version}"),
            ));
        }
        for k in ["kind", "name", "uid"] {
            if s(k).is_empty() {
                errs.push(invalid_str(child(path, k), "", "must not be empty"));
            }
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            controllers.push(format!(
                "{}/{}, Kind={}, Name={}, UID={}",
                api_version.split('/').next().unwrap_or(""),
                api_version.rsplit('/').next().unwrap_or(""),
                s("kind"),
                s("name"),
                s("uid")
            ));
        }
    }
    if controllers.len() > 1 {
        errs.push(invalid_raw(
            path,
            &Value::Array(refs.clone()).to_string(),
            &format!(
                "Only one reference can have Controller set to true. Found \"true\" in references for {}",
                controllers.join(" and ")
            ),
        ));
    }
    errs
}

fn validate_finalizers(finalizers: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let Some(Value::Array(list)) = finalizers else {
        return errs;
    };
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for f in &names {
        for msg in is_qualified_name(f) {
            errs.push(invalid_str(path, f, &msg));
        }
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        errs.push(invalid_raw(
            path,
            &format!(
                "[]string{{{}}}",
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// Validate `obj.metadata` the way upstream's `ValidateObjectMeta` does.
/// `metadata.name` may be empty only when `generateName` is set (the engine
/// fills the name in afterwards).
pub fn validate_object_meta(obj: &Value, namespaced: bool, name_rule: NameRule) -> Vec<Cause> {
    let mut errs = vec![];
    let null = Value::Null;
    let meta = obj.get("metadata").unwrap_or(&null);
    let s = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or("");
    let (name, generate_name) = (s("name"), s("generateName"));
    if !generate_name.is_empty() {
        for msg in validate_name(name_rule, generate_name, true) {
            errs.push(invalid_str("metadata.generateName", generate_name, &msg));
        }
    }
    if name.is_empty() {
        if generate_name.is_empty() {
            errs.push(required_with(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for msg in validate_name(name_rule, name, false) {
            errs.push(invalid_str("metadata.name", name, &msg));
        }
    }
    let namespace = s("namespace");
    if namespaced {
        if namespace.is_empty() {
            errs.push(Cause::required("metadata.namespace"));
        } else {
            for msg in is_dns1123_label(namespace) {
                errs.push(invalid_str("metadata.namespace", namespace, &msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(Cause::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    errs.extend(validate_nonnegative(
        meta.get("generation"),
        "metadata.generation",
    ));
    errs.extend(validate_labels(meta.get("labels"), "metadata.labels"));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        "metadata.annotations",
    ));
    errs.extend(validate_owner_references(
        meta.get("ownerReferences"),
        "metadata.ownerReferences",
    ));
    errs.extend(validate_finalizers(
        meta.get("finalizers"),
        "metadata.finalizers",
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn valid_meta_passes() {
        let o = json!({"metadata": {"name": "web", "namespace": "default",
            "labels": {"app.kubernetes.io/name": "web"}, "annotations": {"Note": "x"},
            "finalizers": ["example.com/x"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "u", "controller": true}]}});
        assert!(validate_object_meta(&o, true, NameRule::Subdomain).is_empty());
    }

    #[test]
    fn name_rules() {
        let o = json!({"metadata": {"namespace": "default"}});
        let e = validate_object_meta(&o, true, NameRule::Subdomain);
        assert_eq!(
            e[0].message,
            "Required value: name or generateName is required"
        );
        let o = json!({"metadata": {"generateName": "web-", "namespace": "default"}});
        assert!(validate_object_meta(&o, true, NameRule::Subdomain).is_empty());
        let o = json!({"metadata": {"name": "Web", "namespace": "default"}});
        assert_eq!(
            fields(&validate_object_meta(&o, true, NameRule::Subdomain)),
            ["metadata.name"]
        );
    }

    #[test]
    fn namespace_presence() {
        let o = json!({"metadata": {"name": "x"}});
        assert_eq!(
            fields(&validate_object_meta(&o, true, NameRule::Subdomain)),
            ["metadata.namespace"]
        );
        let o = json!({"metadata": {"name": "x", "namespace": "a"}});
        let e = validate_object_meta(&o, false, NameRule::Subdomain);
        assert_eq!(e[0].message, "Forbidden: not allowed on this type");
    }

    #[test]
    fn labels_annotations_owners_finalizers() {
        let o = json!({"metadata": {"name": "x", "labels": {"a b": "c", "ok": "-bad"},
            "annotations": {"big": "x".repeat(300 * 1024)},
            "ownerReferences": [{"apiVersion": "", "kind": "K", "name": "n", "uid": "u"}],
            "finalizers": ["a/b/c"]}});
        let e = validate_object_meta(&o, false, NameRule::Subdomain);
        assert_eq!(
            fields(&e),
            [
                "metadata.labels",
                "metadata.labels",
                "metadata.annotations",
                "metadata.ownerReferences.apiVersion",
                "metadata.finalizers"
            ]
        );
        assert_eq!(e[2].message, "Too long: may not be more than 262144 bytes");
    }
}
