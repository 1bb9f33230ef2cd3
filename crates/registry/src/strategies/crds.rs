//! apiextensions.k8s.io CustomResourceDefinitions: name `<plural>.<group>`,
//! names (plural, kind, defaults singular/listKind), scope, versions (at
//! least one, exactly one storage version, served versions need a schema),
//! plus a basic structural check of the schema root. Defaults conversion
//! strategy `None`.

use super::util::{arr_at, obj_mut, set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1035_label, is_dns1123_subdomain, required_with,
};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct CustomResourceDefinitionStrategy;

impl Strategy for CustomResourceDefinitionStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"acceptedNames": {"kind": "", "plural": ""}, "conditions": [], "storedVersions": []}));
        }
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        if let Some(names) = obj_mut(spec, "names") {
            let kind = names
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if names
                .get("singular")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                names.insert("singular".into(), json!(kind.to_lowercase()));
            }
            if !kind.is_empty()
                && names
                    .get("listKind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
            {
                names.insert("listKind".into(), json!(format!("{kind}List")));
            }
        }
        set_default(spec, "conversion", json!({"strategy": "None"}));
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let group = str_at(spec, "/group");
        let plural = str_at(spec, "/names/plural");
        let name = str_at(obj, "/metadata/name");
        if name != format!("{plural}.{group}") {
            errs.push(invalid_str(
                "metadata.name",
                name,
                "must be spec.names.plural+\".\"+spec.group",
            ));
        }
        if group.is_empty() {
            errs.push(Cause::required("spec.group"));
        } else {
            errs.extend(invalid_each(
                "spec.group",
                group,
                is_dns1123_subdomain(group),
            ));
            if group.split('.').count() < 2 {
                errs.push(invalid_str(
                    "spec.group",
                    group,
                    "should be a domain with at least one dot",
                ));
            }
        }
        match str_at(spec, "/scope") {
            "Cluster" | "Namespaced" => {}
            "" => errs.push(Cause::required("spec.scope")),
            s => errs.push(Cause::not_supported(
                "spec.scope",
                &Value::from(s),
                &["Cluster", "Namespaced"],
            )),
        }
        for (f, required) in [
            ("plural", true),
            ("singular", false),
            ("kind", true),
            ("listKind", true),
        ] {
            let v = str_at(spec, &format!("/names/{f}"));
            let p = format!("spec.names.{f}");
            if v.is_empty() {
                if required {
                    errs.push(required_with(&p, ""));
                }
            } else if f == "plural" || f == "singular" {
                errs.extend(invalid_each(&p, v, is_dns1035_label(v)));
            } else if !v.chars().next().is_some_and(char::is_alphabetic) || v.to_lowercase() == v {
                errs.push(invalid_str(
                    &p,
                    v,
                    "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
                ));
            }
        }
        let versions = arr_at(spec, "/versions");
        if versions.is_empty() {
            errs.push(Cause::invalid(
                "spec.versions",
                &json!([]),
                "must have exactly one version marked as storage version",
            ));
        }
        let storage = versions
            .iter()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .count();
        if !versions.is_empty() && storage != 1 {
            errs.push(Cause::invalid(
                "spec.versions",
                &Value::Array(versions.to_vec()),
                "must have exactly one version marked as storage version",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, v) in versions.iter().enumerate() {
            let p = index("spec.versions", i);
            let vname = str_at(v, "/name");
            errs.extend(invalid_each(
                &child(&p, "name"),
                vname,
                is_dns1035_label(vname),
            ));
            if !seen.insert(vname) {
                errs.push(Cause::invalid(
                    "spec.versions",
                    &Value::from(vname),
                    "must contain unique version names",
                ));
            }
            let served = v.get("served").and_then(Value::as_bool) == Some(true);
            match v.pointer("/schema/openAPIV3Schema") {
                None if served => errs.push(required_with(
                    child(&child(&p, "schema"), "openAPIV3Schema"),
                    "schemas are required",
                )),
                Some(s) => {
                    // Structural-schema rules, root type included.
                    let sp = child(&child(&p, "schema"), "openAPIV3Schema");
                    errs.extend(crate::custom::validate_crd_schema(s, &sp));
                }
                None => {}
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com",
            "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    }

    #[test]
    fn valid_with_defaults() {
        let s = CustomResourceDefinitionStrategy;
        let mut o = crd();
        s.default(&mut o);
        assert!(
            s.validate_create(&o).is_empty(),
            "{:?}",
            s.validate_create(&o)
        );
        assert_eq!(o["spec"]["names"]["singular"], "widget");
        assert_eq!(o["spec"]["names"]["listKind"], "WidgetList");
        assert_eq!(o["spec"]["conversion"]["strategy"], "None");
    }

    #[test]
    fn typical_mistakes() {
        let s = CustomResourceDefinitionStrategy;
        let mut o = crd();
        o["metadata"]["name"] = json!("widget.example.com");
        o["spec"]["versions"][0]["storage"] = json!(false);
        o["spec"]["versions"][0]
            .as_object_mut()
            .unwrap()
            .remove("schema");
        s.default(&mut o);
        let e = s.validate_create(&o);
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "metadata.name",
                "spec.versions",
                "spec.versions[0].schema.openAPIV3Schema"
            ]
        );
        assert_eq!(e[2].message, "Required value: schemas are required");
    }
}
