//! Tests of the `openapi.v2.Document` encoding: a small protobuf field
//! walker decodes the bytes back and checks what kubectl reads.

use serde_json::json;

use super::*;
use crate::openapi::{KUBERNETES_VERSION, v2_document};
use crate::resources::ResourceInfo;

/// One decoded field: a varint, a fixed64 or length-delimited bytes.
#[derive(Debug, PartialEq)]
enum F<'a> {
    V(u64),
    D(u64),
    B(&'a [u8]),
}

fn read_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = buf[*pos];
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
    }
    panic!("varint too long");
}

/// Walks one message's fields, panicking on malformed input.
fn walk(buf: &[u8]) -> Vec<(u32, F<'_>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos);
        let field = u32::try_from(key >> 3).expect("field number");
        let value = match key & 7 {
            0 => F::V(read_varint(buf, &mut pos)),
            1 => {
                let b: [u8; 8] = buf[pos..pos + 8].try_into().expect("fixed64");
                pos += 8;
                F::D(u64::from_le_bytes(b))
            }
            2 => {
                let len = usize::try_from(read_varint(buf, &mut pos)).expect("len");
                pos += len;
                F::B(&buf[pos - len..pos])
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((field, value));
    }
    out
}

fn all(buf: &[u8], field: u32) -> Vec<&[u8]> {
    walk(buf)
        .into_iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, v)| match v {
            F::B(b) => b,
            other => panic!("field {field} is {other:?}"),
        })
        .collect()
}

fn one(buf: &[u8], field: u32) -> &[u8] {
    let found = all(buf, field);
    assert_eq!(found.len(), 1, "field {field} occurs {} times", found.len());
    found[0]
}

fn text(buf: &[u8], field: u32) -> String {
    all(buf, field)
        .first()
        .map(|b| String::from_utf8(b.to_vec()).expect("utf-8"))
        .unwrap_or_default()
}

/// The `Named*` entries (name 1, value 2) of a map message.
fn entry<'a>(map: &'a [u8], name: &str) -> &'a [u8] {
    all(map, 1)
        .into_iter()
        .find(|e| text(e, 1) == name)
        .map(|e| one(e, 2))
        .unwrap_or_else(|| panic!("no entry {name}"))
}

fn names(map: &[u8]) -> Vec<String> {
    all(map, 1).into_iter().map(|e| text(e, 1)).collect()
}

/// The YAML of a vendor extension on a message with them at `field`.
fn extension(msg: &[u8], field: u32, name: &str) -> String {
    let ext = all(msg, field)
        .into_iter()
        .find(|e| text(e, 1) == name)
        .unwrap_or_else(|| panic!("no extension {name}"));
    text(one(ext, 2), 2)
}

fn deployment_doc() -> Vec<u8> {
    let served = vec![(
        ResourceInfo::new("apps", "v1", "Deployment", "deployments", true)
            .with_subresources(&["status", "scale"]),
        None,
    )];
    v2_to_protobuf(&v2_document(&served))
}

#[test]
fn document_carries_definitions_kubectl_reads() {
    let doc = deployment_doc();
    assert_eq!(text(&doc, 1), "2.0");
    let info = one(&doc, 2);
    assert_eq!(text(info, 1), "Kubernetes");
    assert_eq!(text(info, 2), KUBERNETES_VERSION);
    let defs = one(&doc, 9);
    assert!(names(defs).contains(&"io.k8s.api.apps.v1.Deployment".to_string()));
    let deployment = entry(defs, "io.k8s.api.apps.v1.Deployment");
    assert_eq!(text(one(deployment, 22), 1), "object");
    assert_eq!(
        extension(deployment, 31, "x-kubernetes-group-version-kind"),
        "- group: apps\n  kind: Deployment\n  version: v1\n"
    );
    let spec = entry(one(deployment, 25), "spec");
    assert_eq!(
        text(spec, 1),
        "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    );
    // Every reference resolves to an encoded definition.
    let defined = names(defs);
    for def in all(defs, 1) {
        for (_, prop) in all(one(def, 2), 25)
            .iter()
            .flat_map(|p| all(p, 1).into_iter().map(|e| (text(e, 1), one(e, 2))))
        {
            let target = text(prop, 1);
            if let Some(name) = target.strip_prefix("#/definitions/") {
                assert!(defined.iter().any(|d| d == name), "dangling {target}");
            }
        }
    }
}

#[test]
fn document_carries_paths_and_security() {
    let doc = deployment_doc();
    let paths = one(&doc, 8);
    let item = all(paths, 2)
        .into_iter()
        .find(|p| text(p, 1) == "/apis/apps/v1/namespaces/{namespace}/deployments")
        .map(|p| one(p, 2))
        .expect("collection path");
    // Path-level parameter `namespace`: NonBodyParameter.path_parameter_sub_schema.
    let namespace = all(item, 9)
        .into_iter()
        .map(|p| one(one(one(p, 1), 2), 4))
        .find(|p| text(p, 4) == "namespace")
        .expect("namespace parameter");
    assert_eq!(walk(namespace)[0], (1, F::V(1)), "required");
    assert_eq!(text(namespace, 5), "string");
    let post = one(item, 4);
    assert_eq!(text(post, 5), "createAppsV1NamespacedDeployment");
    assert_eq!(extension(post, 13, "x-kubernetes-action"), "post\n");
    let params = all(post, 8);
    let body = one(one(params[0], 1), 1);
    assert_eq!(text(body, 3), "body");
    assert_eq!(
        text(one(body, 5), 1),
        "#/definitions/io.k8s.api.apps.v1.Deployment"
    );
    let dry_run = params
        .iter()
        .skip(1)
        .map(|p| one(one(one(p, 1), 2), 3))
        .find(|q| text(q, 4) == "dryRun")
        .expect("dryRun query parameter");
    assert_eq!(text(dry_run, 2), "query");
    assert_eq!(text(dry_run, 6), "string");
    let created = entry(one(post, 9), "201");
    let response = one(created, 1);
    assert_eq!(text(response, 1), "Created");
    assert_eq!(
        text(one(one(response, 2), 1), 1),
        "#/definitions/io.k8s.api.apps.v1.Deployment"
    );
    let requirement = one(one(&doc, 12), 1);
    assert_eq!(text(requirement, 1), "BearerToken");
    assert!(one(requirement, 2).is_empty());
    let api_key = one(entry(one(&doc, 13), "BearerToken"), 2);
    assert_eq!(text(api_key, 2), "authorization");
    assert_eq!(text(api_key, 3), "header");
}

#[test]
fn schema_fields_keep_presence_and_wire_types() {
    let s = json!({
        "type": "object",
        "properties": {},
        "additionalProperties": false,
    });
    let mut w = Pb::default();
    schema(&mut w, s.as_object().expect("object"));
    // An empty Properties is still present; a false oneof is still set.
    assert!(one(&w.0, 25).is_empty());
    assert_eq!(one(&w.0, 21), [0x10, 0x00]);

    let s = json!({
        "type": ["string", "null"], "maxLength": 5, "minimum": -1.5,
        "exclusiveMinimum": true, "enum": ["a", "yes"], "default": "a",
        "items": [{"type": "integer"}, {"$ref": "#/definitions/X"}],
        "additionalProperties": {"type": "string"},
        "x-kubernetes-list-map-keys": ["name"],
    });
    let mut w = Pb::default();
    schema(&mut w, s.as_object().expect("object"));
    let fields = walk(&w.0);
    assert!(fields.contains(&(11, F::V(5))));
    assert!(fields.contains(&(9, F::D((-1.5f64).to_bits()))));
    assert!(fields.contains(&(10, F::V(1))));
    let types: Vec<_> = all(one(&w.0, 22), 1);
    assert_eq!(types, [b"string".as_slice(), b"null".as_slice()]);
    let enums: Vec<String> = all(&w.0, 20).into_iter().map(|a| text(a, 2)).collect();
    assert_eq!(enums, ["a\n", "\"yes\"\n"]);
    assert_eq!(text(one(&w.0, 5), 2), "a\n");
    let items = all(one(&w.0, 23), 1);
    assert_eq!(items.len(), 2);
    assert_eq!(text(one(items[0], 22), 1), "integer");
    assert_eq!(text(items[1], 1), "#/definitions/X");
    assert_eq!(text(one(one(one(&w.0, 21), 1), 22), 1), "string");
    assert_eq!(
        extension(&w.0, 31, "x-kubernetes-list-map-keys"),
        "- name\n"
    );
    // Absent fields stay absent.
    assert!(all(&w.0, 25).is_empty());
    assert!(all(&w.0, 1).is_empty());
}

#[test]
fn varints_follow_the_wire_format() {
    let mut w = Pb::default();
    w.int64(1, 300);
    w.int64(2, -1);
    w.int64(3, 0);
    assert_eq!(&w.0[..3], [0x08, 0xac, 0x02]);
    assert_eq!(w.0[3], 0x10);
    assert_eq!(w.0.len(), 3 + 1 + 10, "negative is ten bytes, zero omitted");
    assert_eq!(walk(&w.0)[1], (2, F::V(u64::MAX)));
}
