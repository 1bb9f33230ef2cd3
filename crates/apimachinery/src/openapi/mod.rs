//! The OpenAPI documents clients download: `/openapi/v2` (Swagger 2.0, one
//! document; older kubectl and client-side validation) and `/openapi/v3`
//! (a discovery document pointing at one OpenAPI 3.0 document per
//! group-version; `kubectl explain` and `kubectl apply` use these and find
//! types by `x-kubernetes-group-version-kind`).
//!
//! Documents are rendered on demand from the process-wide built-in
//! definitions plus the custom resources' schemas the caller passes in; the
//! caller caches the serialized bytes (and their [`document_hash`]) as long
//! as the set of served resources does not change.

mod ops;
mod v2;
mod v2_proto;
mod v3;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::resources::ResourceInfo;
use crate::schema::{DEFINITIONS_PREFIX, builtin_definitions, definition_name};

pub use v2::v2_document;
pub use v2_proto::v2_to_protobuf;
pub use v3::{v3_discovery, v3_group_version};

/// The version upstream reports in the documents' `info`.
pub const KUBERNETES_VERSION: &str = "v1.33.0";

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
/// Always included: responses and bodies of every group-version refer to them.
const COMMON: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
];

/// A stable hash of a serialized document, as uppercase hex (upstream uses
/// SHA-512; clients only compare it). Two FNV-1a lanes give 128 bits.
pub fn document_hash(bytes: &[u8]) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &byte in bytes {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte.rotate_left(3))).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{a:016X}{b:016X}")
}

/// The definition name upstream gives a custom resource: the group reversed,
/// then version and kind (`stable.example.com/v1 CronTab` →
/// `com.example.stable.v1.CronTab`).
pub fn custom_definition_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// The definitions and operations of a set of served resources.
struct Model {
    /// Custom resources' definitions (with `#/definitions/` refs).
    custom: BTreeMap<String, Value>,
    ops: Vec<ops::Op>,
    roots: BTreeSet<String>,
}

fn model<'r>(resources: impl Iterator<Item = &'r (ResourceInfo, Option<Value>)>) -> Model {
    let mut m = Model {
        custom: BTreeMap::new(),
        ops: Vec::new(),
        roots: COMMON.iter().map(|s| s.to_string()).collect(),
    };
    for (r, schema) in resources {
        let (kind_def, list_def) = match schema {
            Some(schema) => {
                let name = custom_definition_name(&r.group, &r.version, &r.kind);
                let list = format!("{name}List");
                m.custom.insert(name.clone(), custom_kind(r, schema));
                m.custom.insert(list.clone(), custom_list(r, &name));
                (Some(name), Some(list))
            }
            None => (
                definition_name(&r.group, &r.version, &r.kind).map(String::from),
                definition_name(&r.group, &r.version, &r.list_kind()).map(String::from),
            ),
        };
        m.roots
            .extend(kind_def.iter().chain(list_def.iter()).cloned());
        if r.has_subresource("scale") {
            m.roots.insert("io.k8s.api.autoscaling.v1.Scale".into());
        }
        m.ops.extend(ops::resource_ops(
            r,
            kind_def.as_deref(),
            list_def.as_deref(),
        ));
    }
    m
}

fn gvk_ext(r: &ResourceInfo, kind: &str) -> Value {
    json!([{"group": r.group, "kind": kind, "version": r.version}])
}

/// A CRD's schema as upstream publishes it: `apiVersion`, `kind` and
/// `metadata` (ObjectMeta) filled in, and the GVK extension.
fn custom_kind(r: &ResourceInfo, schema: &Value) -> Value {
    let mut s = schema.as_object().cloned().unwrap_or_default();
    s.entry("type").or_insert_with(|| "object".into());
    let props = s
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = props {
        props.insert("apiVersion".into(), type_meta_field("apiVersion"));
        props.insert("kind".into(), type_meta_field("kind"));
        props.insert(
            "metadata".into(),
            json!({"$ref": format!("{DEFINITIONS_PREFIX}{OBJECT_META}"),
                   "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}),
        );
    }
    s.insert(
        "x-kubernetes-group-version-kind".into(),
        gvk_ext(r, &r.kind),
    );
    Value::Object(s)
}

fn custom_list(r: &ResourceInfo, item: &str) -> Value {
    json!({
        "description": format!("{} is a list of {}", r.list_kind(), r.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": type_meta_field("apiVersion"),
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", r.plural),
                "type": "array",
                "items": {"$ref": format!("{DEFINITIONS_PREFIX}{item}")},
            },
            "kind": type_meta_field("kind"),
            "metadata": {"$ref": format!("{DEFINITIONS_PREFIX}{LIST_META}"),
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"},
        },
        "x-kubernetes-group-version-kind": gvk_ext(r, &r.list_kind()),
    })
}

fn type_meta_field(name: &str) -> Value {
    let desc = if name == "kind" {
        "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
    } else {
        "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
    };
    json!({"description": desc, "type": "string"})
}

/// Every definition reachable from the model's roots, by name, borrowed from
/// the built-in set or the custom ones.
fn reachable(m: &Model) -> BTreeMap<String, &Value> {
    let builtin = builtin_definitions();
    let mut out: BTreeMap<String, &Value> = BTreeMap::new();
    let mut todo: Vec<String> = m.roots.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        if out.contains_key(&name) {
            continue;
        }
        let Some(def) = m.custom.get(&name).or_else(|| builtin.get(&name)) else {
            continue;
        };
        refs(def, &mut todo);
        out.insert(name, def);
    }
    out
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, c) in map {
                if k == "$ref" {
                    if let Some(name) = c.as_str().and_then(|r| r.rsplit('/').next()) {
                        out.push(name.to_string());
                    }
                } else {
                    refs(c, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
        _ => {}
    }
}

/// Patch types an operation accepts: custom resources take no strategic
/// merge patch, and kubectl picks the patch it sends from this list.
pub(crate) fn patch_types(body_def: Option<&str>) -> &'static [&'static str] {
    const ALL: &[&str] = &[
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ];
    const CUSTOM: &[&str] = &[
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ];
    match body_def {
        Some(d) if !crate::schema::builtin_definitions().contains_key(d) => CUSTOM,
        _ => ALL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_sensitive() {
        assert_eq!(document_hash(b"abc"), document_hash(b"abc"));
        assert_ne!(document_hash(b"abc"), document_hash(b"abd"));
        assert_eq!(document_hash(b"").len(), 32);
    }

    #[test]
    fn custom_names_reverse_the_group() {
        assert_eq!(
            custom_definition_name("stable.example.com", "v1", "CronTab"),
            "com.example.stable.v1.CronTab"
        );
    }
}
