//! Namespaces: DNS-label names, `status.phase: Active` and the `kubernetes`
//! finalizer on create, the `kubernetes.io/metadata.name` label, spec and
//! status kept on update, and the `status.phase` field selector.

use super::util::{field_str, str_at};
use crate::strategy::{NameRule, Strategy};
use crate::validation::{invalid_str, is_qualified_name};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct NamespaceStrategy;

/// Whether a namespace is being deleted (a deletionTimestamp, or phase
/// Terminating): new content may not go into it.
pub fn terminating(ns: &Value) -> bool {
    ns.pointer("/metadata/deletionTimestamp").is_some()
        || ns.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating")
}

/// [`terminating`] read from a namespace's JSON without building the whole
/// object (every create in a namespace asks). None when the JSON is not of
/// the usual shape; the caller then parses it.
pub fn terminating_json(json: &[u8]) -> Option<bool> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        metadata: Option<MetaProbe>,
        #[serde(default)]
        status: Option<StatusProbe>,
    }
    #[derive(serde::Deserialize)]
    struct MetaProbe {
        /// Present at all, whatever its value (even null), as a pointer sees it.
        #[serde(default, rename = "deletionTimestamp", deserialize_with = "present")]
        deletion_timestamp: bool,
    }
    #[derive(serde::Deserialize)]
    struct StatusProbe {
        #[serde(default)]
        phase: Option<Value>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| true)
    }
    use serde::Deserialize;
    let p: Probe = serde_json::from_slice(json).ok()?;
    let deleting = p.metadata.is_some_and(|m| m.deletion_timestamp);
    let phase = p.status.and_then(|s| s.phase);
    Some(deleting || phase.as_ref().and_then(Value::as_str) == Some("Terminating"))
}

/// Standard finalizer names allowed without a `/` prefix.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

impl Strategy for NamespaceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }

    fn prepare_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), json!({"phase": "Active"}));
            let spec = m.entry("spec").or_insert_with(|| json!({}));
            // The namespace controller's finalizer is always there, beside
            // any the client asked for.
            let mut fins: Vec<Value> = spec
                .get("finalizers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !fins.iter().any(|f| f == "kubernetes") {
                fins.push(json!("kubernetes"));
            }
            crate::strategies::util::set(spec, "finalizers", Value::Array(fins));
        }
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        // Finalizers change only through the finalize subresource.
        if let Some(m) = new.as_object_mut() {
            m.insert("spec".into(), old.get("spec").cloned().unwrap_or(json!({})));
        }
    }

    fn default(&self, obj: &mut Value) {
        let name = str_at(obj, "/metadata/name").to_string();
        if name.is_empty() {
            return;
        }
        if let Some(meta) = obj.get_mut("metadata").filter(|m| m.is_object()) {
            let labels = meta
                .as_object_mut()
                .map(|m| m.entry("labels").or_insert_with(|| json!({})));
            if let Some(l) = labels.and_then(Value::as_object_mut) {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let fins = obj.pointer("/spec/finalizers").and_then(Value::as_array);
        for f in fins.into_iter().flatten().filter_map(Value::as_str) {
            if !f.contains('/') {
                if !STANDARD_FINALIZERS.contains(&f) {
                    errs.push(invalid_str(
                        "spec.finalizers",
                        f,
                        "name is neither a standard finalizer name nor is it fully qualified",
                    ));
                }
            } else {
                for m in is_qualified_name(f) {
                    errs.push(invalid_str("spec.finalizers", f, &m));
                }
            }
        }
        errs
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.phase"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.phase")
            .then(|| field_str(obj, "/status/phase"))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_sets_phase_finalizer_and_label() {
        let s = NamespaceStrategy;
        let mut o = json!({"metadata": {"name": "dev"}});
        s.prepare_create(&mut o);
        s.default(&mut o);
        assert_eq!(o["status"]["phase"], "Active");
        assert_eq!(o["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(
            o["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "dev"
        );
        assert!(s.validate_create(&o).is_empty());
        assert_eq!(s.field_value(&o, "status.phase").unwrap(), "Active");
        assert_eq!(s.name_rule(), NameRule::Label);
    }

    #[test]
    fn bad_finalizer_and_update_keeps_spec() {
        let s = NamespaceStrategy;
        let e = s.validate_create(&json!({"spec": {"finalizers": ["foo"]}}));
        assert_eq!(e[0].field, "spec.finalizers");
        let old = json!({"spec": {"finalizers": ["kubernetes"]}});
        let mut new = json!({"spec": {"finalizers": []}});
        s.prepare_update(&mut new, &old);
        assert_eq!(new["spec"]["finalizers"], json!(["kubernetes"]));
    }

    #[test]
    fn terminating_probe_reads_json_as_the_pointers_do() {
        let cases = [
            json!({"metadata": {"name": "a"}, "status": {"phase": "Active"}}),
            json!({"metadata": {"name": "a", "deletionTimestamp": "2025-01-01T00:00:00Z"}}),
            json!({"metadata": {"name": "a", "deletionTimestamp": null}}),
            json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}),
            json!({"metadata": null, "status": null}),
            json!({"status": {"phase": null}}),
            json!({"status": {"phase": 3}}),
            json!({"metadata": "odd"}),
            json!({"status": "odd"}),
            json!({}),
        ];
        for ns in &cases {
            let bytes = serde_json::to_vec(ns).expect("encodes");
            if let Some(t) = terminating_json(&bytes) {
                assert_eq!(t, terminating(ns), "{ns}");
            }
        }
        let usual = serde_json::to_vec(&cases[1]).expect("encodes");
        assert_eq!(terminating_json(&usual), Some(true));
        assert_eq!(terminating_json(b"{\"metadata\": 1}"), None);
    }
}
