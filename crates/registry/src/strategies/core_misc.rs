//! PersistentVolumeClaims and PersistentVolumes (access modes, storage,
//! exactly one volume source for PVs, source and volumeMode immutable).

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

/// PersistentVolume sources, in upstream's checking order.
const PV_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cinder",
    "cephfs",
    "iscsi",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

/// Exactly one volume source; `hostPath: /` may not be recycled.
fn validate_pv_source(spec: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    let mut n = 0;
    for src in PV_SOURCES {
        if spec.get(*src).is_some_and(|v| !v.is_null()) {
            if n > 0 {
                errs.push(Cause::forbidden(
                    format!("spec.{src}"),
                    "may not specify more than 1 volume type",
                ));
            }
            n += 1;
        }
    }
    if n == 0 {
        errs.push(required_with("spec", "must specify a volume type"));
    }
    let host = str_at(spec, "/hostPath/path").trim_end_matches('/');
    if spec.get("hostPath").is_some_and(Value::is_object)
        && host.is_empty()
        && !str_at(spec, "/hostPath/path").is_empty()
        && str_at(spec, "/persistentVolumeReclaimPolicy") == "Recycle"
    {
        errs.push(Cause::forbidden(
            "spec.persistentVolumeReclaimPolicy",
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
    }
    errs
}

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
        errs.extend(validate_pv_source(spec));
        let class = str_at(spec, "/storageClassName");
        if !class.is_empty() {
            errs.extend(crate::validation::invalid_each(
                "spec.storageClassName",
                class,
                crate::validation::is_dns1123_subdomain(class),
            ));
        }
        if let Some(m) = spec.get("volumeMode").and_then(Value::as_str)
            && m != "Block"
            && m != "Filesystem"
        {
            errs.push(Cause::not_supported(
                "spec.volumeMode",
                &Value::from(m),
                &["Block", "Filesystem"],
            ));
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        let source = |v: &Value| -> Vec<Option<Value>> {
            PV_SOURCES
                .iter()
                .map(|s| v.pointer(&format!("/spec/{s}")).cloned())
                .collect()
        };
        if source(new) != source(old) {
            errs.push(Cause::forbidden(
                "spec.persistentvolumesource",
                "spec.persistentvolumesource is immutable after creation",
            ));
        }
        errs.extend(crate::validation::validate_immutable(
            new.pointer("/spec/volumeMode"),
            old.pointer("/spec/volumeMode"),
            "volumeMode",
        ));
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
        let e = s.validate_create(
            &json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}),
        );
        assert_eq!(e[0].message, "Required value: must specify a volume type");
        let mut two = pv.clone();
        two["spec"]["nfs"] = json!({"server": "s", "path": "/"});
        assert_eq!(s.validate_create(&two)[0].field, "spec.nfs");
        let mut moved = pv.clone();
        moved["spec"]["hostPath"]["path"] = json!("/y");
        assert_eq!(
            s.validate_update(&moved, &pv)[0].field,
            "spec.persistentvolumesource"
        );
        let mut retained = pv.clone();
        retained["spec"]["persistentVolumeReclaimPolicy"] = json!("Delete");
        assert!(s.validate_update(&retained, &pv).is_empty());
    }
}
