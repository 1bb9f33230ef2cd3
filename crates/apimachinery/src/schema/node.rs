//! [`SchemaNode`]: a cursor over an OpenAPI v3 schema, following `$ref`s into
//! a set of named definitions.

use serde_json::{Map, Value};

/// Lookups in schema objects, which are mostly small: up to a handful of
/// keys are compared in place, which is cheaper than hashing the key.
pub(crate) trait GetKey {
    fn get_key(&self, key: &str) -> Option<&Value>;
}

impl GetKey for Value {
    fn get_key(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) if m.len() <= 8 => m.iter().find(|(k, _)| *k == key).map(|x| x.1),
            Value::Object(m) => m.get(key),
            _ => None,
        }
    }
}

/// Named schemas, keyed by definition name (e.g. `io.k8s.api.apps.v1.Deployment`).
pub type Definitions = Map<String, Value>;

/// How a list merges (from `x-kubernetes-list-type`, or from the patch
/// strategy of a built-in field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// A set of scalars, merged by value.
    Set,
    /// A list of objects keyed by these fields.
    Map(Vec<String>),
}

/// A position in a schema. Cheap to copy.
#[derive(Clone, Copy, Debug)]
pub struct SchemaNode<'a> {
    schema: &'a Value,
    /// The schema as written where this node was reached, before `$ref`s
    /// were followed: upstream puts field-level extensions (e.g.
    /// `x-kubernetes-patch-strategy: retainKeys`) beside the `$ref`.
    site: &'a Value,
    defs: &'a Definitions,
}

impl<'a> SchemaNode<'a> {
    /// A node at `schema`, resolving `$ref`s (`#/definitions/X`,
    /// `#/components/schemas/X` or `#/$defs/X`) in `defs`.
    pub fn new(schema: &'a Value, defs: &'a Definitions) -> Self {
        SchemaNode {
            schema,
            site: schema,
            defs,
        }
        .resolved()
    }

    fn resolved(self) -> Self {
        let mut cur = self.schema;
        for _ in 0..16 {
            let target = cur
                .get_key("$ref")
                .and_then(Value::as_str)
                .or_else(|| {
                    // `allOf: [{$ref}]` is how some generators wrap a reference.
                    cur.get_key("allOf")?
                        .as_array()?
                        .first()?
                        .get_key("$ref")?
                        .as_str()
                })
                .and_then(|r| r.rsplit('/').next())
                .and_then(|name| self.defs.get(name));
            match target {
                Some(t) => cur = t,
                None => break,
            }
        }
        SchemaNode {
            schema: cur,
            site: self.site,
            defs: self.defs,
        }
    }

    pub fn raw(&self) -> &'a Value {
        self.schema
    }

    /// An extension's string value, from the field's own schema (beside a
    /// `$ref`) or else from the referenced definition.
    pub fn ext_str(&self, name: &str) -> Option<&'a str> {
        self.site
            .get_key(name)
            .or_else(|| self.schema.get_key(name))
            .and_then(Value::as_str)
    }

    /// The definitions this node resolves `$ref`s in.
    pub fn definitions(&self) -> &'a Definitions {
        self.defs
    }

    /// The schema of property `name` of an object schema.
    pub fn field(&self, name: &str) -> Option<SchemaNode<'a>> {
        let p = self.schema.get_key("properties")?.get_key(name)?;
        Some(
            SchemaNode {
                schema: p,
                site: p,
                defs: self.defs,
            }
            .resolved(),
        )
    }

    /// The schema of a list's items.
    pub fn items(&self) -> Option<SchemaNode<'a>> {
        let p = self.schema.get_key("items")?;
        Some(
            SchemaNode {
                schema: p,
                site: p,
                defs: self.defs,
            }
            .resolved(),
        )
    }

    /// The schema of a map's values (`additionalProperties` as a schema).
    pub fn additional_properties(&self) -> Option<SchemaNode<'a>> {
        let p = self.schema.get_key("additionalProperties")?;
        if p.is_object() {
            Some(
                SchemaNode {
                    schema: p,
                    site: p,
                    defs: self.defs,
                }
                .resolved(),
            )
        } else {
            None
        }
    }

    /// True when the object accepts fields it does not list
    /// (`additionalProperties`, `x-kubernetes-preserve-unknown-fields`, or
    /// no `properties` at all on an `object` with no type information).
    pub fn open(&self) -> bool {
        self.schema
            .get_key("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true)
            || self
                .schema
                .get_key("additionalProperties")
                .is_some_and(|a| a.is_object() || a == &Value::Bool(true))
            || (self.schema.get_key("properties").is_none()
                && self.schema.get_key("type").is_none())
    }

    pub fn type_name(&self) -> Option<&'a str> {
        match self.schema.get_key("type")? {
            Value::String(s) => Some(s),
            // schemars may emit ["string", "null"] for optional fields.
            Value::Array(a) => a.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        }
    }

    pub fn patch_merge_key(&self) -> Option<&'a str> {
        self.ext_str("x-kubernetes-patch-merge-key")
    }

    /// `merge`, `replace`, `retainKeys`, or a comma-joined pair.
    pub fn patch_strategy(&self) -> Option<&'a str> {
        self.ext_str("x-kubernetes-patch-strategy")
    }

    /// The list type, from `x-kubernetes-list-type` (and `-list-map-keys`),
    /// else from the patch strategy; lists default to atomic.
    pub fn list_type(&self) -> ListType {
        match self.list_kind() {
            ListKind::Atomic => ListType::Atomic,
            ListKind::Set => ListType::Set,
            ListKind::Map(keys) => ListType::Map(keys.iter().map(String::from).collect()),
        }
    }

    /// [`SchemaNode::list_type`] with the keys borrowed from the schema.
    pub fn list_kind(&self) -> ListKind<'a> {
        match self.ext_str("x-kubernetes-list-type") {
            Some("set") => return ListKind::Set,
            Some("atomic") => return ListKind::Atomic,
            Some("map") => {
                let keys = self
                    .site
                    .get_key("x-kubernetes-list-map-keys")
                    .or_else(|| self.schema.get_key("x-kubernetes-list-map-keys"))
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                return ListKind::Map(ListKeys::Many(keys));
            }
            _ => {}
        }
        let merges = self
            .patch_strategy()
            .is_some_and(|s| s.split(',').any(|p| p == "merge"));
        match (merges, self.patch_merge_key()) {
            (true, Some(k)) => ListKind::Map(ListKeys::One(k)),
            (true, None) => ListKind::Set,
            _ => ListKind::Atomic,
        }
    }
}

/// [`ListType`] borrowing its keys from the schema.
#[derive(Clone, Copy, Debug)]
pub enum ListKind<'a> {
    Atomic,
    Set,
    Map(ListKeys<'a>),
}

/// The key fields of a map list, as the schema holds them.
#[derive(Clone, Copy, Debug)]
pub enum ListKeys<'a> {
    /// A patch merge key.
    One(&'a str),
    /// `x-kubernetes-list-map-keys` (non-strings are ignored).
    Many(&'a [Value]),
}

impl<'a> ListKeys<'a> {
    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        let (one, many) = match self {
            ListKeys::One(k) => (Some(k), &[][..]),
            ListKeys::Many(m) => (None, m),
        };
        one.into_iter().chain(many.iter().filter_map(Value::as_str))
    }

    pub fn is_empty(self) -> bool {
        self.iter().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_refs_and_reads_list_types() {
        let defs: Definitions = json!({
            "PodSpec": {"type": "object", "properties": {
                "containers": {"type": "array", "items": {"$ref": "#/definitions/Container"},
                    "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"}}},
            "Container": {"type": "object", "properties": {"name": {"type": "string"}}}
        })
        .as_object()
        .cloned()
        .unwrap();
        let root = json!({"$ref": "#/definitions/PodSpec"});
        let n = SchemaNode::new(&root, &defs);
        let c = n.field("containers").unwrap();
        assert_eq!(c.list_type(), ListType::Map(vec!["name".into()]));
        assert_eq!(
            c.items().unwrap().field("name").unwrap().type_name(),
            Some("string")
        );
        assert!(n.field("nope").is_none());
    }
}
