//! The process-wide definitions of every built-in type, built once on first
//! use from k8s-openapi's schemars output and shaped like upstream's
//! OpenAPI v2 `definitions`: upstream's names, `$ref: #/definitions/<name>`,
//! `x-kubernetes-group-version-kind` on every kind and list kind, and the
//! list/patch extensions of [`super::ext`].
//!
//! Only one copy is kept: the OpenAPI documents are rendered from it on
//! demand (see `crate::openapi`).

use std::collections::HashMap;
use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::kinds::{KindDef, all_kinds};
use super::{Definitions, SchemaNode, ext};

/// Where `$ref`s of the built-in definitions point.
pub const DEFINITIONS_PREFIX: &str = "#/definitions/";

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const APIEXTENSIONS: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";

struct Builtin {
    defs: Definitions,
    /// kind → (group, version, definition name) of every kind so named:
    /// looked up on every request, without building a key.
    by_kind: HashMap<String, Vec<(String, String, String)>>,
}

static BUILTIN: OnceLock<Builtin> = OnceLock::new();

fn builtin() -> &'static Builtin {
    BUILTIN.get_or_init(build)
}

/// Every built-in definition, keyed by upstream's definition name.
pub fn builtin_definitions() -> &'static Definitions {
    &builtin().defs
}

/// The definition name of a built-in kind (list kinds included), e.g.
/// `("apps", "v1", "Deployment")` → `io.k8s.api.apps.v1.Deployment`.
pub fn definition_name(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    builtin()
        .by_kind
        .get(kind)?
        .iter()
        .find(|(g, v, _)| g == group && v == version)
        .map(|(_, _, name)| name.as_str())
}

/// The schema of a built-in kind, or `None` for kinds k8s-openapi lacks
/// (custom resources bring their own schema).
pub fn schema_for_kind(group: &str, version: &str, kind: &str) -> Option<SchemaNode<'static>> {
    let defs = builtin_definitions();
    let name = definition_name(group, version, kind)?;
    Some(SchemaNode::new(defs.get(name)?, defs))
}

fn build() -> Builtin {
    let mut generator = SchemaSettings::draft07()
        .with(|s| {
            s.definitions_path = "/definitions".into();
            s.meta_schema = None;
            // Keep `description` beside `$ref`, as upstream's v2 does.
            s.transforms.clear();
        })
        .into_generator();
    let kinds = all_kinds(&mut generator);
    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>();
    generator.subschema_for::<
        k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent<serde_json::Value>,
    >();
    // The body schema of every PATCH operation in the OpenAPI documents.
    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Patch>();
    let mut defs = generator.take_definitions(false);
    normalize(&mut defs);
    ext::apply(&mut defs);

    let mut by_kind: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    let mut add = |group: &str, version: &str, kind: &str, name: &str| {
        by_kind.entry(kind.to_string()).or_default().push((
            group.to_string(),
            version.to_string(),
            name.to_string(),
        ));
    };
    for k in &kinds {
        unrequire_metadata(&mut defs, &k.definition);
        add_gvk(&mut defs, &k.definition, k.group, k.version, k.kind);
        add(k.group, k.version, k.kind, &k.definition);
        if let Some(list_kind) = k.list_kind {
            let list_name = format!("{}List", k.definition);
            if let Some(list) = list_definition(&defs, k, list_kind) {
                defs.insert(list_name.clone(), list);
                add_gvk(&mut defs, &list_name, k.group, k.version, list_kind);
                add(k.group, k.version, list_kind, &list_name);
            }
        }
    }
    // Upstream registers DeleteOptions and WatchEvent in every group-version.
    let mut gvs: Vec<(&str, &str)> = kinds.iter().map(|k| (k.group, k.version)).collect();
    gvs.sort_unstable();
    gvs.dedup();
    for (group, version) in gvs {
        add_gvk(&mut defs, DELETE_OPTIONS, group, version, "DeleteOptions");
        add_gvk(&mut defs, WATCH_EVENT, group, version, "WatchEvent");
    }
    defs.sort_keys();
    Builtin { defs, by_kind }
}

/// Quantity and IntOrString as upstream's v2 publishes them: strings, the
/// latter with format `int-or-string` (the v3 renderer turns them into
/// `oneOf`s as upstream's v3 does); the CRD schema's "any JSON" types
/// untyped.
fn normalize(defs: &mut Definitions) {
    for (name, format) in [(QUANTITY, None), (INT_OR_STRING, Some("int-or-string"))] {
        let Some(def) = defs.get_mut(name).and_then(Value::as_object_mut) else {
            continue;
        };
        def.remove("x-kubernetes-int-or-string");
        def.insert("type".into(), "string".into());
        if let Some(f) = format {
            def.insert("format".into(), f.into());
        }
    }
    // Upstream gives these no type at all (any JSON value; a schema or a
    // bool/array); k8s-openapi's `oneOf`s are not valid Swagger 2.0.
    for (suffix, key) in [
        ("JSON", "type"),
        ("JSONSchemaPropsOrArray", "oneOf"),
        ("JSONSchemaPropsOrBool", "oneOf"),
        ("JSONSchemaPropsOrStringArray", "oneOf"),
    ] {
        let name = format!("{APIEXTENSIONS}.{suffix}");
        if let Some(def) = defs.get_mut(&name).and_then(Value::as_object_mut) {
            def.remove(key);
        }
    }
}

/// k8s-openapi marks every kind's `metadata` required (its Rust field is
/// not optional); upstream does not, and `kubectl explain` shows it.
fn unrequire_metadata(defs: &mut Definitions, name: &str) {
    let Some(def) = defs.get_mut(name).and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(Value::Array(required)) = def.get_mut("required") {
        required.retain(|r| r != "metadata");
        if required.is_empty() {
            def.remove("required");
        }
    }
}

fn add_gvk(defs: &mut Definitions, name: &str, group: &str, version: &str, kind: &str) {
    let Some(def) = defs.get_mut(name).and_then(Value::as_object_mut) else {
        return;
    };
    let entry = json!({"group": group, "kind": kind, "version": version});
    let list = def
        .entry("x-kubernetes-group-version-kind")
        .or_insert_with(|| Value::Array(vec![]));
    if let Value::Array(a) = list
        && !a.contains(&entry)
    {
        a.push(entry);
    }
}

/// k8s-openapi has no schema for `FooList`; upstream's is apiVersion, kind,
/// `items` (required) and list metadata.
fn list_definition(defs: &Definitions, k: &KindDef, list_kind: &str) -> Option<Value> {
    let item = defs.get(&k.definition)?;
    let props = item.get("properties");
    let type_meta = |f: &str| {
        props
            .and_then(|p| p.get(f))
            .cloned()
            .unwrap_or(json!({"type": "string"}))
    };
    Some(json!({
        "description": format!("{list_kind} is a list of {}.", k.kind),
        "type": "object",
        "properties": {
            "apiVersion": type_meta("apiVersion"),
            "items": {
                "description": format!("Items is the list of {}.", k.kind),
                "type": "array",
                "items": {"$ref": format!("{DEFINITIONS_PREFIX}{}", k.definition)},
            },
            "kind": type_meta("kind"),
            "metadata": {
                "$ref": format!("{DEFINITIONS_PREFIX}{LIST_META}"),
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ListType;

    #[test]
    fn deployment_reaches_containers_with_merge_key() {
        let d = schema_for_kind("apps", "v1", "Deployment").expect("Deployment");
        let containers = d
            .field("spec")
            .and_then(|s| s.field("template"))
            .and_then(|t| t.field("spec"))
            .and_then(|s| s.field("containers"))
            .expect("containers");
        assert_eq!(containers.patch_merge_key(), Some("name"));
        assert_eq!(containers.patch_strategy(), Some("merge"));
        assert_eq!(containers.list_type(), ListType::Map(vec!["name".into()]));
        let ports = containers
            .items()
            .and_then(|c| c.field("ports"))
            .expect("ports");
        assert_eq!(
            ports.list_type(),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(ports.patch_merge_key(), Some("containerPort"));
    }

    #[test]
    fn object_meta_is_referenced_and_kinds_carry_gvk() {
        let defs = builtin_definitions();
        let dep = &defs["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            dep["properties"]["metadata"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(dep["required"], json!(["spec"]));
        assert!(defs["io.k8s.api.core.v1.Pod"].get("required").is_none());
        assert_eq!(
            dep["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
        );
        let list = &defs["io.k8s.api.core.v1.PodList"];
        assert_eq!(
            list["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "PodList", "version": "v1"}])
        );
        assert_eq!(
            definition_name("", "v1", "ConfigMapList"),
            Some("io.k8s.api.core.v1.ConfigMapList")
        );
        let meta = schema_for_kind("", "v1", "Pod").and_then(|p| p.field("metadata"));
        let finalizers = meta
            .and_then(|m| m.field("finalizers"))
            .expect("finalizers");
        assert_eq!(finalizers.list_type(), ListType::Set);
    }

    #[test]
    fn scalars_and_retain_keys_look_like_upstream() {
        let defs = builtin_definitions();
        assert_eq!(defs[INT_OR_STRING]["type"], "string");
        assert_eq!(defs[INT_OR_STRING]["format"], "int-or-string");
        assert_eq!(defs[QUANTITY]["type"], "string");
        let props_or_bool = &defs[&format!("{APIEXTENSIONS}.JSONSchemaPropsOrBool")];
        assert!(props_or_bool.get("oneOf").is_none());
        assert!(props_or_bool.get("description").is_some());
        assert_eq!(
            defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"],
            "date-time"
        );
        let strategy = schema_for_kind("apps", "v1", "Deployment")
            .and_then(|d| d.field("spec"))
            .and_then(|s| s.field("strategy"))
            .expect("strategy");
        assert_eq!(strategy.patch_strategy(), Some("retainKeys"));
        // Every `$ref` resolves.
        let text = serde_json::to_string(defs).unwrap_or_default();
        for part in text.split("\"$ref\":\"").skip(1) {
            let target = part.split('"').next().unwrap_or_default();
            let name = target.trim_start_matches(DEFINITIONS_PREFIX);
            assert!(defs.contains_key(name), "dangling {target}");
        }
    }
}
