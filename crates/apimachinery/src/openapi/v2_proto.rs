//! The protobuf form of `/openapi/v2` (`Accept:
//! application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): the
//! Swagger 2.0 JSON document re-encoded as gnostic's `openapi.v2.Document`,
//! the only form kubectl asks for when it falls back from `/openapi/v3`.
//!
//! kubectl builds its models from this message (kube-openapi's
//! `pkg/util/proto`), so every field that parser reads is encoded with the
//! message layout of gnostic's `OpenAPIv2.proto`; values kept as gnostic
//! `Any` (defaults, enums, examples, vendor extensions) carry YAML text in
//! `Any.yaml`, which is what kube-openapi unmarshals. The encoder follows
//! proto3 rules as Go's marshaller applies them: zero scalars are left out,
//! present submessages (even empty ones, e.g. `properties: {}`, whose
//! presence kubectl tests) and set oneof members are always written.

use serde_json::{Map, Value};

/// Encodes a Swagger 2.0 document (as rendered by [`super::v2_document`])
/// as the wire bytes of gnostic's `openapi.v2.Document`.
pub fn v2_to_protobuf(doc: &Value) -> Vec<u8> {
    let mut w = Pb::default();
    if let Some(o) = doc.as_object() {
        document(&mut w, o);
    }
    w.0
}

/// A protobuf message being written.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn bool(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, 0);
            // Negative int64s are ten-byte two's complement varints.
            self.varint(v.cast_unsigned());
        }
    }

    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.key(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A submessage, written even when empty (it is present).
    fn msg(&mut self, field: u32, f: impl FnOnce(&mut Pb)) {
        let mut inner = Pb::default();
        f(&mut inner);
        self.bytes(field, &inner.0);
    }

    /// A string field taken from a JSON object.
    fn s(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        self.str(field, o.get(key).and_then(Value::as_str).unwrap_or(""));
    }

    /// A repeated string field taken from a JSON array of strings.
    fn strs(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        for s in array(o, key).iter().filter_map(Value::as_str) {
            self.bytes(field, s.as_bytes());
        }
    }

    fn b(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        self.bool(field, o.get(key).and_then(Value::as_bool).unwrap_or(false));
    }

    fn i(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        self.int64(field, o.get(key).and_then(Value::as_i64).unwrap_or(0));
    }

    fn f(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        self.double(field, o.get(key).and_then(Value::as_f64).unwrap_or(0.0));
    }

    /// An `Any` holding the value as YAML, when the key is present.
    fn any(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        if let Some(v) = o.get(key) {
            self.msg(field, |w| w.str(2, &yaml(v)));
        }
    }

    /// `repeated Any` from a JSON array.
    fn anys(&mut self, field: u32, o: &Map<String, Value>, key: &str) {
        for v in array(o, key) {
            self.msg(field, |w| w.str(2, &yaml(v)));
        }
    }

    /// A submessage from a JSON object, when the key holds one.
    fn obj(
        &mut self,
        field: u32,
        o: &Map<String, Value>,
        key: &str,
        f: fn(&mut Pb, &Map<String, Value>),
    ) {
        if let Some(c) = o.get(key).and_then(Value::as_object) {
            self.msg(field, |w| f(w, c));
        }
    }

    /// `repeated NamedAny vendor_extension`: every `x-` key.
    fn vendor(&mut self, field: u32, o: &Map<String, Value>) {
        for (k, v) in o.iter().filter(|(k, _)| k.starts_with("x-")) {
            self.msg(field, |w| {
                w.str(1, k);
                w.msg(2, |w| w.str(2, &yaml(v)));
            });
        }
    }

    /// A map message of `Named*` entries (`{name = 1, value = 2}`), keeping
    /// the document's key order.
    fn named(
        &mut self,
        field: u32,
        o: &Map<String, Value>,
        key: &str,
        f: fn(&mut Pb, &Map<String, Value>),
    ) {
        if let Some(m) = o.get(key).and_then(Value::as_object) {
            self.msg(field, |w| named_entries(w, 1, m, f));
        }
    }
}

fn named_entries(
    w: &mut Pb,
    field: u32,
    m: &Map<String, Value>,
    f: fn(&mut Pb, &Map<String, Value>),
) {
    for (name, v) in m {
        let Some(v) = v.as_object() else { continue };
        w.msg(field, |w| {
            w.str(1, name);
            w.msg(2, |w| f(w, v));
        });
    }
}

fn array<'v>(o: &'v Map<String, Value>, key: &str) -> &'v [Value] {
    o.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn document(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "swagger");
    w.obj(2, o, "info", info);
    w.s(3, o, "host");
    w.s(4, o, "basePath");
    w.strs(5, o, "schemes");
    w.strs(6, o, "consumes");
    w.strs(7, o, "produces");
    w.obj(8, o, "paths", paths);
    w.named(9, o, "definitions", schema);
    w.named(10, o, "parameters", parameter);
    w.named(11, o, "responses", response);
    security(w, 12, o);
    w.named(13, o, "securityDefinitions", security_definition);
    for t in array(o, "tags").iter().filter_map(Value::as_object) {
        w.msg(14, |w| {
            w.s(1, t, "name");
            w.s(2, t, "description");
            w.obj(3, t, "externalDocs", external_docs);
            w.vendor(4, t);
        });
    }
    w.obj(15, o, "externalDocs", external_docs);
    w.vendor(16, o);
}

fn info(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "title");
    w.s(2, o, "version");
    w.s(3, o, "description");
    w.s(4, o, "termsOfService");
    w.obj(5, o, "contact", |w, c| {
        w.s(1, c, "name");
        w.s(2, c, "url");
        w.s(3, c, "email");
        w.vendor(4, c);
    });
    w.obj(6, o, "license", |w, l| {
        w.s(1, l, "name");
        w.s(2, l, "url");
        w.vendor(3, l);
    });
    w.vendor(7, o);
}

fn external_docs(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "description");
    w.s(2, o, "url");
    w.vendor(3, o);
}

/// `Schema`, the message kubectl builds its models from.
fn schema(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "$ref");
    w.s(2, o, "format");
    w.s(3, o, "title");
    w.s(4, o, "description");
    w.any(5, o, "default");
    w.f(6, o, "multipleOf");
    w.f(7, o, "maximum");
    w.b(8, o, "exclusiveMaximum");
    w.f(9, o, "minimum");
    w.b(10, o, "exclusiveMinimum");
    w.i(11, o, "maxLength");
    w.i(12, o, "minLength");
    w.s(13, o, "pattern");
    w.i(14, o, "maxItems");
    w.i(15, o, "minItems");
    w.b(16, o, "uniqueItems");
    w.i(17, o, "maxProperties");
    w.i(18, o, "minProperties");
    w.strs(19, o, "required");
    w.anys(20, o, "enum");
    match o.get("additionalProperties") {
        // A oneof member: written even when false.
        Some(Value::Bool(b)) => w.msg(21, |w| {
            w.key(2, 0);
            w.varint(u64::from(*b));
        }),
        Some(Value::Object(s)) => w.msg(21, |w| w.msg(1, |w| schema(w, s))),
        _ => {}
    }
    match o.get("type") {
        Some(Value::String(t)) => w.msg(22, |w| w.str(1, t)),
        Some(Value::Array(_)) => w.msg(22, |w| w.strs(1, o, "type")),
        _ => {}
    }
    match o.get("items") {
        Some(Value::Object(s)) => w.msg(23, |w| w.msg(1, |w| schema(w, s))),
        Some(Value::Array(a)) => w.msg(23, |w| {
            for s in a.iter().filter_map(Value::as_object) {
                w.msg(1, |w| schema(w, s));
            }
        }),
        _ => {}
    }
    for s in array(o, "allOf").iter().filter_map(Value::as_object) {
        w.msg(24, |w| schema(w, s));
    }
    w.named(25, o, "properties", schema);
    w.s(26, o, "discriminator");
    w.b(27, o, "readOnly");
    w.obj(28, o, "xml", |w, x| {
        w.s(1, x, "name");
        w.s(2, x, "namespace");
        w.s(3, x, "prefix");
        w.b(4, x, "attribute");
        w.b(5, x, "wrapped");
        w.vendor(6, x);
    });
    w.obj(29, o, "externalDocs", external_docs);
    w.any(30, o, "example");
    w.vendor(31, o);
}

/// The validation fields `PrimitivesItems`, `Header` and the non-body
/// parameter sub-schemas share, in `PrimitivesItems`' numbering shifted by
/// `base` (the sub-schemas number them after their own leading fields).
fn primitive(w: &mut Pb, o: &Map<String, Value>, base: u32) {
    w.s(base + 1, o, "type");
    w.s(base + 2, o, "format");
    w.obj(base + 3, o, "items", primitives_items);
    w.s(base + 4, o, "collectionFormat");
    w.any(base + 5, o, "default");
    w.f(base + 6, o, "maximum");
    w.b(base + 7, o, "exclusiveMaximum");
    w.f(base + 8, o, "minimum");
    w.b(base + 9, o, "exclusiveMinimum");
    w.i(base + 10, o, "maxLength");
    w.i(base + 11, o, "minLength");
    w.s(base + 12, o, "pattern");
    w.i(base + 13, o, "maxItems");
    w.i(base + 14, o, "minItems");
    w.b(base + 15, o, "uniqueItems");
    w.anys(base + 16, o, "enum");
    w.f(base + 17, o, "multipleOf");
}

fn primitives_items(w: &mut Pb, o: &Map<String, Value>) {
    primitive(w, o, 0);
    w.vendor(18, o);
}

fn paths(w: &mut Pb, o: &Map<String, Value>) {
    w.vendor(1, o);
    for (path, item) in o.iter().filter(|(k, _)| k.starts_with('/')) {
        let Some(item) = item.as_object() else {
            continue;
        };
        w.msg(2, |w| {
            w.str(1, path);
            w.msg(2, |w| path_item(w, item));
        });
    }
}

fn path_item(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "$ref");
    let methods = ["get", "put", "post", "delete", "options", "head", "patch"];
    for (field, method) in (2..).zip(methods) {
        w.obj(field, o, method, operation);
    }
    parameters_items(w, 9, o);
    w.vendor(10, o);
}

fn operation(w: &mut Pb, o: &Map<String, Value>) {
    w.strs(1, o, "tags");
    w.s(2, o, "summary");
    w.s(3, o, "description");
    w.obj(4, o, "externalDocs", external_docs);
    w.s(5, o, "operationId");
    w.strs(6, o, "produces");
    w.strs(7, o, "consumes");
    parameters_items(w, 8, o);
    w.obj(9, o, "responses", |w, r| {
        let codes = r.iter().filter(|(k, _)| {
            k.as_str() == "default" || (k.len() == 3 && k.bytes().all(|b| b.is_ascii_digit()))
        });
        for (code, v) in codes {
            let Some(v) = v.as_object() else { continue };
            w.msg(1, |w| {
                w.str(1, code);
                w.msg(2, |w| match v.get("$ref") {
                    Some(_) => w.msg(2, |w| json_reference(w, v)),
                    None => w.msg(1, |w| response(w, v)),
                });
            });
        }
        w.vendor(2, r);
    });
    w.strs(10, o, "schemes");
    w.b(11, o, "deprecated");
    security(w, 12, o);
    w.vendor(13, o);
}

fn json_reference(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "$ref");
    w.s(2, o, "description");
}

/// `repeated ParametersItem`: a reference or an inline parameter.
fn parameters_items(w: &mut Pb, field: u32, o: &Map<String, Value>) {
    for p in array(o, "parameters").iter().filter_map(Value::as_object) {
        if p.contains_key("$ref") {
            w.msg(field, |w| w.msg(2, |w| json_reference(w, p)));
        } else if parameter_kind(p).is_some() {
            w.msg(field, |w| w.msg(1, |w| parameter(w, p)));
        }
    }
}

/// Which `NonBodyParameter` member a parameter is, by `in` (0 for body).
fn parameter_kind(p: &Map<String, Value>) -> Option<u32> {
    match p.get("in").and_then(Value::as_str)? {
        "body" => Some(0),
        "header" => Some(1),
        "formData" => Some(2),
        "query" => Some(3),
        "path" => Some(4),
        _ => None,
    }
}

/// `Parameter`: a `BodyParameter` or a `NonBodyParameter`.
fn parameter(w: &mut Pb, p: &Map<String, Value>) {
    match parameter_kind(p) {
        Some(0) => w.msg(1, |w| {
            w.s(1, p, "description");
            w.s(2, p, "name");
            w.s(3, p, "in");
            w.b(4, p, "required");
            w.obj(5, p, "schema", schema);
            w.vendor(6, p);
        }),
        Some(kind) => w.msg(2, |w| {
            w.msg(kind, |w| {
                w.b(1, p, "required");
                w.s(2, p, "in");
                w.s(3, p, "description");
                w.s(4, p, "name");
                // Only query and formData parameters have allowEmptyValue,
                // which shifts the rest of their fields by one.
                let base = if kind == 2 || kind == 3 {
                    w.b(5, p, "allowEmptyValue");
                    5
                } else {
                    4
                };
                primitive(w, p, base);
                w.vendor(base + 18, p);
            })
        }),
        None => {}
    }
}

fn response(w: &mut Pb, o: &Map<String, Value>) {
    w.s(1, o, "description");
    // SchemaItem: the Schema member (file schemas are rare and parse as one).
    w.obj(2, o, "schema", |w, s| w.msg(1, |w| schema(w, s)));
    w.named(3, o, "headers", |w, h| {
        primitive(w, h, 0);
        w.s(18, h, "description");
        w.vendor(19, h);
    });
    if let Some(ex) = o.get("examples").and_then(Value::as_object) {
        w.msg(4, |w| {
            for (name, v) in ex {
                w.msg(1, |w| {
                    w.str(1, name);
                    w.msg(2, |w| w.str(2, &yaml(v)));
                });
            }
        });
    }
    w.vendor(5, o);
}

/// `repeated SecurityRequirement`: each maps scheme names to scope lists.
fn security(w: &mut Pb, field: u32, o: &Map<String, Value>) {
    for req in array(o, "security").iter().filter_map(Value::as_object) {
        w.msg(field, |w| {
            for (name, scopes) in req {
                w.msg(1, |w| {
                    w.str(1, name);
                    w.msg(2, |w| {
                        for s in scopes.as_array().into_iter().flatten() {
                            w.str(1, s.as_str().unwrap_or(""));
                        }
                    });
                });
            }
        });
    }
}

/// `SecurityDefinitionsItem`, whose member depends on `type` and `flow`.
fn security_definition(w: &mut Pb, o: &Map<String, Value>) {
    let scopes = |w: &mut Pb, field: u32| {
        if let Some(m) = o.get("scopes").and_then(Value::as_object) {
            w.msg(field, |w| {
                for (k, v) in m {
                    w.msg(1, |w| {
                        w.str(1, k);
                        w.str(2, v.as_str().unwrap_or(""));
                    });
                }
            });
        }
    };
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
    let flow = o.get("flow").and_then(Value::as_str).unwrap_or("");
    match (kind, flow) {
        ("basic", _) => w.msg(1, |w| {
            w.s(1, o, "type");
            w.s(2, o, "description");
            w.vendor(3, o);
        }),
        ("apiKey", _) => w.msg(2, |w| {
            w.s(1, o, "type");
            w.s(2, o, "name");
            w.s(3, o, "in");
            w.s(4, o, "description");
            w.vendor(5, o);
        }),
        ("oauth2", "implicit" | "password" | "application" | "accessCode") => {
            let member = match flow {
                "implicit" => 3,
                "password" => 4,
                "application" => 5,
                _ => 6,
            };
            w.msg(member, |w| {
                w.s(1, o, "type");
                w.s(2, o, "flow");
                scopes(w, 3);
                let mut next = 4;
                if flow == "implicit" || flow == "accessCode" {
                    w.s(next, o, "authorizationUrl");
                    next += 1;
                }
                if flow != "implicit" {
                    w.s(next, o, "tokenUrl");
                    next += 1;
                }
                w.s(next, o, "description");
                w.vendor(next + 1, o);
            });
        }
        _ => {}
    }
}

/// A JSON value as block-style YAML text, as gnostic stores in `Any.yaml`.
/// Strings that a YAML 1.1 reader (kube-openapi uses yaml.v2) could take
/// for anything but a string are double-quoted.
fn yaml(v: &Value) -> String {
    let mut lines = Vec::new();
    yaml_lines(v, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn yaml_lines(v: &Value, out: &mut Vec<String>) {
    let nested = |c: &Value| match c {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let key = yaml_string(k);
                if nested(c) {
                    out.push(format!("{key}:"));
                    let mut sub = Vec::new();
                    yaml_lines(c, &mut sub);
                    out.extend(sub.into_iter().map(|l| format!("  {l}")));
                } else {
                    out.push(format!("{key}: {}", yaml_scalar(c)));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for c in a {
                let mut sub = Vec::new();
                yaml_lines(c, &mut sub);
                for (i, l) in sub.into_iter().enumerate() {
                    out.push(if i == 0 {
                        format!("- {l}")
                    } else {
                        format!("  {l}")
                    });
                }
            }
        }
        _ => out.push(yaml_scalar(v)),
    }
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn yaml_string(s: &str) -> String {
    const SPECIAL: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && !SPECIAL.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Control characters, line separators YAML would fold, and
            // characters a YAML reader refuses, as escapes.
            '\0'..='\x1f'
            | '\x7f'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn yaml_text_is_unambiguous_for_yaml_1_1() {
        assert_eq!(yaml(&json!(true)), "true\n");
        assert_eq!(yaml(&json!("true")), "\"true\"\n");
        assert_eq!(yaml(&json!("On")), "\"On\"\n");
        assert_eq!(yaml(&json!("1.0")), "\"1.0\"\n");
        assert_eq!(yaml(&json!("")), "\"\"\n");
        assert_eq!(yaml(&json!(null)), "null\n");
        assert_eq!(yaml(&json!(-2.5)), "-2.5\n");
        assert_eq!(
            yaml(&json!("a \"b\"\nc\u{2028}\u{1}")),
            "\"a \\\"b\\\"\\nc\\u2028\\u0001\"\n"
        );
        assert_eq!(
            yaml(&json!({"a": [1, {"b": "c d", "e": []}], "f": {}, "g": [[1, 2]]})),
            "a:\n  - 1\n  - b: \"c d\"\n    e: []\nf: {}\ng:\n  - - 1\n    - 2\n"
        );
    }
}
