//! PersistentVolumeClaims and PersistentVolumes (access modes, storage).

use super::pod::containers::parse_resource_list;
use super::util::{arr_at, set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{index, key, required_with};
use apimachinery::Cause;
use serde_json::{Value, json};

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn validate_access_modes(spec: &Value) -> Vec<Cause> {
    let modes = arr_at(spec, "/accessModes");
    if modes.is_empty() {
        return vec![required_with(
            "spec.accessModes",
            "at least 1 access mode is required",
        )];
    }
    let mut errs = vec![];
    for (i, m) in modes.iter().enumerate() {
        if !m.as_str().is_some_and(|s| ACCESS_MODES.contains(&s)) {
            errs.push(Cause::not_supported(
                index("spec.accessModes", i),
                m,
                ACCESS_MODES,
            ));
        }
    }
    errs
}

fn validate_storage(list: Option<&Value>, path: &str) -> Vec<Cause> {
    let (parsed, mut errs) = parse_resource_list(list, path);
    match parsed.get("storage") {
        None if errs.is_empty() => errs.push(Cause::required(key(path, "storage"))),
        Some(q) if q.is_zero() => errs.push(crate::validation::invalid_str(
            key(path, "storage"),
            &q.to_string(),
            "must be greater than zero",
        )),
        _ => {}
    }
    errs
}

pub struct PersistentVolumeClaimStrategy;

impl Strategy for PersistentVolumeClaimStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        crate::strategies::util::set(obj, "status", json!({"phase": "Pending"}));
    }

    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            set_default(spec, "volumeMode", json!("Filesystem"));
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = validate_access_modes(spec);
        errs.extend(validate_storage(
            spec.pointer("/resources/requests"),
            "spec.resources.requests",
        ));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                m.remove("volumeAttributesClassName");
                if let Some(r) = m.get_mut("resources").and_then(Value::as_object_mut) {
                    r.remove("requests");
                }
                // Binding fills volumeName once.
                if old
                    .pointer("/spec/volumeName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    m.remove("volumeName");
                }
            }
            s
        };
        if strip(new) != strip(old) {
            errs.push(Cause::forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
        }
        errs
    }
}

pub struct PersistentVolumeStrategy;

impl Strategy for PersistentVolumeStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        crate::strategies::util::set(obj, "status", json!({"phase": "Pending"}));
    }

    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            set_default(spec, "volumeMode", json!("Filesystem"));
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = validate_access_modes(spec);
        errs.extend(validate_storage(spec.get("capacity"), "spec.capacity"));
        match str_at(spec, "/persistentVolumeReclaimPolicy") {
            "" | "Retain" | "Delete" | "Recycle" => {}
            p => errs.push(Cause::not_supported(
                "spec.persistentVolumeReclaimPolicy",
                &Value::from(p),
                &["Delete", "Recycle", "Retain"],
            )),
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pvc_rules() {
        let s = PersistentVolumeClaimStrategy;
        let mut ok = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        s.prepare_create(&mut ok);
        s.default(&mut ok);
        assert!(s.validate_create(&ok).is_empty());
        assert_eq!(ok["status"]["phase"], "Pending");
        let e = s.validate_create(&json!({"spec": {}}));
        assert_eq!(
            e[0].message,
            "Required value: at least 1 access mode is required"
        );
        assert_eq!(e[1].field, "spec.resources.requests[storage]");
        let mut grown = ok.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(s.validate_update(&grown, &ok).is_empty());
        grown["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        assert_eq!(s.validate_update(&grown, &ok)[0].field, "spec");
    }

    #[test]
    fn pv_rules() {
        let s = PersistentVolumeStrategy;
        let mut pv = json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}, "hostPath": {"path": "/x"}}});
        s.default(&mut pv);
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert!(s.validate_create(&pv).is_empty());
        assert_eq!(
            s.validate_create(&json!({"spec": {"accessModes": ["X"]}}))[0].field,
            "spec.accessModes[0]"
        );
    }
}
