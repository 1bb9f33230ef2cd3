//! ServiceAccounts. Upstream validates only the metadata (a DNS subdomain
//! name); its strategy trims every `secrets[]` reference down to its `name`
//! on create and update, which is what this file owns.

use crate::strategy::Strategy;
use serde_json::{Map, Value};

pub struct ServiceAccountStrategy;

/// Keep only `name` in each `secrets[]` reference (upstream's
/// `cleanSecretReferences`: the other ObjectReference fields are ignored).
fn clean_secret_references(obj: &mut Value) {
    if let Some(Value::Array(secrets)) = obj.get_mut("secrets") {
        for s in secrets.iter_mut() {
            let mut clean = Map::new();
            if let Some(n) = s.get("name").filter(|n| !n.is_null()) {
                clean.insert("name".into(), n.clone());
            }
            *s = Value::Object(clean);
        }
    }
}

impl Strategy for ServiceAccountStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        clean_secret_references(obj);
    }

    fn prepare_update(&self, new: &mut Value, _old: &Value) {
        clean_secret_references(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_references_keep_only_names() {
        let mut sa = json!({"secrets": [{"name": "tok", "namespace": "x", "uid": "u"}, {"kind": "Secret"}],
            "imagePullSecrets": [{"name": "reg"}], "automountServiceAccountToken": false});
        ServiceAccountStrategy.prepare_create(&mut sa);
        assert_eq!(sa["secrets"], json!([{"name": "tok"}, {}]));
        assert_eq!(sa["imagePullSecrets"], json!([{"name": "reg"}]));
        assert_eq!(sa["automountServiceAccountToken"], false);
        let mut upd = json!({"secrets": [{"name": "a", "fieldPath": "f"}]});
        ServiceAccountStrategy.prepare_update(&mut upd, &sa);
        assert_eq!(upd["secrets"], json!([{"name": "a"}]));
        assert!(ServiceAccountStrategy.validate_create(&sa).is_empty());
    }
}
