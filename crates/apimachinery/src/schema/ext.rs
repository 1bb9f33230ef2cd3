//! Upstream's `x-kubernetes-*` extensions that k8s-openapi's schemars output
//! lacks: list types and map keys (server-side apply), patch strategies and
//! merge keys (strategic merge patch), and atomic maps and structs. The
//! table `upstream_ext.txt` lists them per definition and field; it is
//! generated from upstream's Go API types by `gen_upstream_ext.py`.

use serde_json::{Map, Value};

use super::Definitions;

const TABLE: &str = include_str!("upstream_ext.txt");

/// Adds the table's extensions to `defs`; returns how many entries matched a
/// definition (entries for types this k8s-openapi version lacks are skipped).
pub(super) fn apply(defs: &mut Definitions) -> usize {
    let mut applied = 0;
    for line in TABLE.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(def), Some(field)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(schema) = defs.get_mut(def).and_then(Value::as_object_mut) else {
            continue;
        };
        let target = if field == "-" {
            Some(schema)
        } else {
            schema
                .get_mut("properties")
                .and_then(|p| p.get_mut(field))
                .and_then(Value::as_object_mut)
        };
        let Some(target) = target else { continue };
        for attr in words {
            insert_attr(target, attr);
        }
        applied += 1;
    }
    applied
}

fn insert_attr(target: &mut Map<String, Value>, attr: &str) {
    let Some((key, value)) = attr.split_once('=') else {
        return;
    };
    let (name, value) = match key {
        "ps" => ("x-kubernetes-patch-strategy", Value::from(value)),
        "mk" => ("x-kubernetes-patch-merge-key", Value::from(value)),
        "lt" => ("x-kubernetes-list-type", Value::from(value)),
        "lk" => (
            "x-kubernetes-list-map-keys",
            Value::Array(value.split(',').map(Value::from).collect()),
        ),
        // Upstream publishes both `+mapType` and `+structType` as map-type.
        "mt" | "st" => ("x-kubernetes-map-type", Value::from(value)),
        _ => return,
    };
    target.insert(name.to_string(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_field_and_type_entries() {
        let mut defs: Definitions = json!({
            "io.k8s.api.core.v1.ServiceSpec": {"type": "object", "properties": {
                "ports": {"type": "array", "items": {}}}},
            "io.k8s.api.core.v1.LocalObjectReference": {"type": "object", "properties": {}}
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        assert!(apply(&mut defs) >= 2);
        let ports = &defs["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"];
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "port");
        assert_eq!(ports["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(ports["x-kubernetes-list-type"], "map");
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            json!(["port", "protocol"])
        );
        assert_eq!(
            defs["io.k8s.api.core.v1.LocalObjectReference"]["x-kubernetes-map-type"],
            "atomic"
        );
    }
}
