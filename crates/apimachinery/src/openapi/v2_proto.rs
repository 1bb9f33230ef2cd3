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

use yaml::yaml;

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

mod yaml;

#[cfg(test)]
mod tests;
