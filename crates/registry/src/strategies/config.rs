//! ConfigMaps and Secrets: key names, the 1 MiB total, `immutable: true`,
//! Secret `type` (default Opaque, immutable, per-type required keys), base64
//! data, `stringData` folded into `data`, and the Secret `type` field
//! selector.

use super::util::{field_str, set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{invalid_each, invalid_str, key, required_with};
use apimachinery::Cause;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// Upstream's `MaxSecretSize` (also the ConfigMap limit).
pub const MAX_SIZE: usize = 1024 * 1024;

fn entries(obj: &Value, field: &str) -> Map<String, Value> {
    obj.get(field)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn immutable_rules(new: &Value, old: &Value, fields: &[&str]) -> Vec<Cause> {
    let mut errs = vec![];
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return errs;
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(Cause::forbidden(
            "immutable",
            "field is immutable when `immutable` is set",
        ));
    }
    for f in fields {
        if new.get(*f) != old.get(*f) {
            errs.push(Cause::forbidden(
                *f,
                "field is immutable when `immutable` is set",
            ));
        }
    }
    errs
}

pub struct ConfigMapStrategy;

impl Strategy for ConfigMapStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let data = entries(obj, "data");
        let binary = entries(obj, "binaryData");
        let mut total = 0;
        for (k, v) in &data {
            errs.extend(invalid_each(
                &key("data", k),
                k,
                crate::validation::is_config_map_key(k),
            ));
            total += v.as_str().map_or(0, str::len);
        }
        for (k, v) in &binary {
            errs.extend(invalid_each(
                &key("binaryData", k),
                k,
                crate::validation::is_config_map_key(k),
            ));
            if data.contains_key(k) {
                errs.push(invalid_str(
                    key("data", k),
                    k,
                    "duplicate of key present in binaryData",
                ));
            }
            match v.as_str().map(|s| STANDARD.decode(s)) {
                Some(Ok(b)) => total += b.len(),
                _ => errs.push(Cause::invalid(
                    key("binaryData", k),
                    v,
                    "illegal base64 data",
                )),
            }
        }
        if total > MAX_SIZE {
            errs.push(Cause::too_long("", MAX_SIZE));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(immutable_rules(new, old, &["data", "binaryData"]));
        errs
    }
}

pub struct SecretStrategy;

/// Keys each well-known secret type requires in `data`.
fn required_keys(ty: &str) -> &'static [&'static str] {
    match ty {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        _ => &[],
    }
}

impl Strategy for SecretStrategy {
    fn default(&self, obj: &mut Value) {
        set_default(obj, "type", json!("Opaque"));
        // The v1 conversion merges stringData into data (stringData wins).
        let string_data = obj.as_object_mut().and_then(|m| m.remove("stringData"));
        if let Some(Value::Object(sd)) = string_data {
            set_default(obj, "data", json!({}));
            if let Some(d) = obj.get_mut("data").and_then(Value::as_object_mut) {
                for (k, v) in sd {
                    d.insert(k, json!(STANDARD.encode(v.as_str().unwrap_or(""))));
                }
            }
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let data = entries(obj, "data");
        let mut total = 0;
        for (k, v) in &data {
            errs.extend(invalid_each(
                &key("data", k),
                k,
                crate::validation::is_config_map_key(k),
            ));
            match v.as_str().map(|s| STANDARD.decode(s)) {
                Some(Ok(b)) => total += b.len(),
                _ => errs.push(Cause::invalid(key("data", k), v, "illegal base64 data")),
            }
        }
        if total > MAX_SIZE {
            errs.push(Cause::too_long("data", MAX_SIZE));
        }
        let ty = str_at(obj, "/type");
        for k in required_keys(ty) {
            if !data.contains_key(*k) {
                errs.push(Cause::required(key("data", k)));
            }
        }
        let sa_name = str_at(
            obj,
            "/metadata/annotations/kubernetes.io~1service-account.name",
        );
        if ty == "kubernetes.io/service-account-token" && sa_name.is_empty() {
            errs.push(Cause::required(key(
                "metadata.annotations",
                "kubernetes.io/service-account.name",
            )));
        }
        if ty == "kubernetes.io/basic-auth"
            && !data.contains_key("username")
            && !data.contains_key("password")
        {
            errs.push(required_with(key("data", "username"), ""));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(crate::validation::validate_immutable(
            new.get("type"),
            old.get("type"),
            "type",
        ));
        errs.extend(immutable_rules(new, old, &["data"]));
        errs
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["type"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "type").then(|| field_str(obj, "/type")).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_keys_and_size() {
        let s = ConfigMapStrategy;
        assert!(
            s.validate_create(&json!({"data": {"a.b": "x", "C_D-1": "y"}}))
                .is_empty()
        );
        let e = s.validate_create(&json!({"data": {"a b": "x"}}));
        assert_eq!(e[0].field, "data[a b]");
        assert!(
            e[0].message
                .contains("a valid config key must consist of alphanumeric characters")
        );
        let e = s.validate_create(&json!({"data": {"big": "x".repeat(MAX_SIZE + 1)}}));
        assert_eq!(e[0].reason, "FieldValueTooLong");
    }

    #[test]
    fn configmap_immutable() {
        let s = ConfigMapStrategy;
        let old = json!({"immutable": true, "data": {"a": "1"}});
        let new = json!({"immutable": true, "data": {"a": "2"}});
        let e = s.validate_update(&new, &old);
        assert_eq!(e[0].field, "data");
        assert_eq!(
            e[0].message,
            "Forbidden: field is immutable when `immutable` is set"
        );
        assert!(s.validate_update(&old, &old).is_empty());
    }

    #[test]
    fn secret_defaults_and_rules() {
        let s = SecretStrategy;
        let mut o = json!({"stringData": {"pw": "hunter2"}});
        s.default(&mut o);
        assert_eq!(o["type"], "Opaque");
        assert_eq!(o["data"]["pw"], STANDARD.encode("hunter2"));
        assert!(o.get("stringData").is_none());
        assert!(s.validate_create(&o).is_empty());
        let e = s.validate_create(&json!({"type": "Opaque", "data": {"k": "!!notbase64"}}));
        assert_eq!(e[0].field, "data[k]");
        let e = s.validate_create(&json!({"type": "kubernetes.io/tls", "data": {"tls.crt": ""}}));
        assert_eq!(e[0].field, "data[tls.key]");
        let mut new = o.clone();
        new["type"] = json!("kubernetes.io/basic-auth");
        new["data"]["username"] = json!("");
        let e = s.validate_update(&new, &o);
        assert_eq!(e[0].field, "type");
        assert_eq!(s.field_value(&o, "type").unwrap(), "Opaque");
    }
}
