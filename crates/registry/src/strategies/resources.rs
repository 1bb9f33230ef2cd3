//! Resource-name rules shared by ResourceQuotas and LimitRanges
//! (upstream's `validateResourceName`, `validateContainerResourceName`,
//! `ValidateResourceQuotaResourceName` and `ValidateResourceQuantityValue`),
//! and a quantity-map parser that keeps negative values.

use crate::validation::{Quantity, invalid_str, is_qualified_name, key};
use apimachinery::Cause;
use serde_json::Value;
use std::collections::BTreeMap;

/// Resources a ResourceQuota may name without a domain prefix.
const QUOTA_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
    "storage",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Quota resources counted in whole units.
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

fn is_standard_resource(name: &str) -> bool {
    QUOTA_RESOURCES.contains(&name) || is_hugepages(name)
}

fn is_standard_container_resource(name: &str) -> bool {
    ["cpu", "memory", "ephemeral-storage"].contains(&name) || name.starts_with("hugepages-")
}

/// A domain-prefixed name outside `kubernetes.io` (e.g. `example.com/gpu`).
pub fn is_extended_resource(name: &str) -> bool {
    match name.split_once('/') {
        Some((domain, _)) => {
            domain != "kubernetes.io"
                && !domain.ends_with(".kubernetes.io")
                && !name.starts_with("requests.")
        }
        None => false,
    }
}

/// `validateResourceName`: a qualified name; bare names must be standard.
pub fn validate_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let errs: Vec<Cause> = is_qualified_name(name)
        .into_iter()
        .map(|m| invalid_str(path, name, &m))
        .collect();
    if errs.is_empty() && !name.contains('/') && !is_standard_resource(name) {
        return vec![invalid_str(
            path,
            name,
            "must be a standard resource type or fully qualified",
        )];
    }
    errs
}

/// `validateContainerResourceName`.
pub fn validate_container_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') {
        if !is_standard_container_resource(name) {
            errs.push(invalid_str(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !name.contains("kubernetes.io/") && !is_extended_resource(name) {
        errs.push(invalid_str(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
    errs
}

/// `ValidateResourceQuotaResourceName`.
pub fn validate_quota_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let mut errs = validate_resource_name(name, path);
    if !name.contains('/') && !is_standard_resource(name) {
        errs.push(invalid_str(
            path,
            name,
            "must be a standard resource for quota",
        ));
    }
    errs
}

/// `ValidateResourceQuantityValue`: non-negative, whole for count resources.
pub fn validate_quantity_value(name: &str, q: &Quantity, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    if q.is_negative() {
        errs.push(invalid_str(
            path,
            &q.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    if (INTEGER_RESOURCES.contains(&name) || is_extended_resource(name))
        && q.to_millis() % 1000 != 0
    {
        errs.push(invalid_str(path, &q.to_string(), "must be an integer"));
    }
    errs
}

/// Parse a `ResourceList` (name → quantity), reporting unparsable values at
/// `path[name]`. Negative values are kept for the caller to judge.
pub fn parse_quantities(
    list: Option<&Value>,
    path: &str,
) -> (BTreeMap<String, Quantity>, Vec<Cause>) {
    let mut out = BTreeMap::new();
    let mut errs = vec![];
    let Some(Value::Object(m)) = list else {
        return (out, errs);
    };
    for (name, v) in m {
        let parsed = match v {
            Value::String(s) => Quantity::parse(s).map_err(|e| e.to_string()),
            Value::Number(n) => Quantity::parse(&n.to_string()).map_err(|e| e.to_string()),
            _ => Err("must be a quantity".to_string()),
        };
        match parsed {
            Ok(q) => {
                out.insert(name.clone(), q);
            }
            Err(e) => errs.push(Cause::invalid(key(path, name), v, e)),
        }
    }
    (out, errs)
}

/// Validate a quota `hard`/`used` map: names and values.
pub fn validate_quota_list(list: Option<&Value>, path: &str) -> Vec<Cause> {
    let (parsed, mut errs) = parse_quantities(list, path);
    for (name, q) in &parsed {
        let p = key(path, name);
        errs.extend(validate_quota_resource_name(name, &p));
        errs.extend(validate_quantity_value(name, q, &p));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_values() {
        assert!(validate_quota_resource_name("requests.cpu", "x").is_empty());
        assert!(validate_quota_resource_name("count/deployments.apps", "x").is_empty());
        assert!(validate_quota_resource_name("hugepages-2Mi", "x").is_empty());
        let e = validate_quota_resource_name("gpus", "x");
        assert_eq!(e.len(), 2);
        assert!(
            e[1].message
                .ends_with("must be a standard resource for quota")
        );
        assert!(validate_container_resource_name("cpu", "x").is_empty());
        assert!(validate_container_resource_name("example.com/gpu", "x").is_empty());
        assert_eq!(validate_container_resource_name("pods", "x").len(), 1);
        let e = validate_quota_list(Some(&json!({"pods": "1500m", "cpu": "-1"})), "spec.hard");
        assert_eq!(e[0].field, "spec.hard[cpu]");
        assert_eq!(e[1].message, "Invalid value: \"1500m\": must be an integer");
    }
}
