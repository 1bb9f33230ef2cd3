//! storage.k8s.io/v1 CSIDrivers (v1 defaults; attachRequired, fsGroupPolicy,
//! volumeLifecycleModes, tokenRequests; attachRequired and lifecycle modes
//! immutable) and CSINodes (driver names unique, nodeID, topology keys).

use super::util::{arr_at, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1123_subdomain, is_qualified_name,
    validate_immutable, validate_nonnegative,
};
use apimachinery::Cause;
use serde_json::{Value, json};

/// `ValidateCSIDriverName`: at most 63 characters, a (lower-cased) subdomain.
fn validate_driver_name(name: &str, path: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![Cause::required(path)];
    }
    let mut errs = vec![];
    if name.len() > 63 {
        errs.push(Cause::too_long(path, 63));
    }
    errs.extend(invalid_each(
        path,
        name,
        is_dns1123_subdomain(&name.to_lowercase()),
    ));
    errs
}

pub struct CsiDriverStrategy;

impl Strategy for CsiDriverStrategy {
    fn default(&self, obj: &mut Value) {
        let Some(spec) = super::util::obj_mut(obj, "spec") else {
            return;
        };
        for (k, v) in [
            ("attachRequired", json!(true)),
            ("podInfoOnMount", json!(false)),
            ("storageCapacity", json!(false)),
            ("fsGroupPolicy", json!("ReadWriteOnceWithFSType")),
            ("requiresRepublish", json!(false)),
            ("seLinuxMount", json!(false)),
        ] {
            if spec.get(k).is_none_or(Value::is_null) {
                spec.insert(k.into(), v);
            }
        }
        if spec
            .get("volumeLifecycleModes")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = validate_driver_name(str_at(obj, "/metadata/name"), "name");
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        // Upstream spells this path `attachedRequired`.
        for (f, path) in [
            ("attachRequired", "spec.attachedRequired"),
            ("podInfoOnMount", "spec.podInfoOnMount"),
            ("storageCapacity", "spec.storageCapacity"),
        ] {
            if spec.get(f).is_none_or(Value::is_null) {
                errs.push(Cause::required(path));
            }
        }
        match spec.get("fsGroupPolicy").and_then(Value::as_str) {
            None => errs.push(Cause::required("spec.fsGroupPolicy")),
            Some("File" | "None" | "ReadWriteOnceWithFSType") => {}
            Some(p) => errs.push(Cause::not_supported(
                "spec.fsGroupPolicy",
                &Value::from(p),
                &["File", "None", "ReadWriteOnceWithFSType"],
            )),
        }
        let mut audiences = vec![];
        for (i, tr) in arr_at(spec, "/tokenRequests").iter().enumerate() {
            let p = index("spec.tokenRequests", i);
            let aud = str_at(tr, "/audience");
            if audiences.contains(&aud) {
                errs.push(Cause::duplicate(child(&p, "audience"), &Value::from(aud)));
            }
            audiences.push(aud);
            if let Some(e) = tr.get("expirationSeconds").and_then(Value::as_i64) {
                let msg = if e < 600 {
                    Some("may not specify a duration less than 10 minutes")
                } else if e > 1 << 32 {
                    Some("may not specify a duration larger than 2^32 seconds")
                } else {
                    None
                };
                if let Some(msg) = msg {
                    errs.push(Cause::invalid(
                        child(&p, "expirationSeconds"),
                        &Value::from(e),
                        msg,
                    ));
                }
            }
        }
        for (i, m) in arr_at(spec, "/volumeLifecycleModes").iter().enumerate() {
            if !m
                .as_str()
                .is_some_and(|m| m == "Persistent" || m == "Ephemeral")
            {
                errs.push(Cause::not_supported(
                    index("spec.volumeLifecycleModes", i),
                    m,
                    &["Ephemeral", "Persistent"],
                ));
            }
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(validate_immutable(
            new.pointer("/spec/attachRequired"),
            old.pointer("/spec/attachRequired"),
            "spec.attachedRequired",
        ));
        errs.extend(validate_immutable(
            new.pointer("/spec/volumeLifecycleModes"),
            old.pointer("/spec/volumeLifecycleModes"),
            "spec.volumeLifecycleModes",
        ));
        errs
    }
}

pub struct CsiNodeStrategy;

impl Strategy for CsiNodeStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let mut names = vec![];
        for (i, d) in arr_at(obj, "/spec/drivers").iter().enumerate() {
            let p = index("spec.drivers", i);
            let name = str_at(d, "/name");
            errs.extend(validate_driver_name(name, &child(&p, "name")));
            let node_id = str_at(d, "/nodeID");
            if node_id.is_empty() {
                errs.push(Cause::required(child(&p, "nodeID")));
            } else if node_id.len() > 192 {
                errs.push(invalid_str(
                    child(&p, "nodeID"),
                    node_id,
                    "must be 192 characters or less",
                ));
            }
            for k in arr_at(d, "/topologyKeys") {
                let k = k.as_str().unwrap_or("");
                errs.extend(invalid_each(
                    &child(&p, "topologyKeys"),
                    k,
                    is_qualified_name(k),
                ));
            }
            errs.extend(validate_nonnegative(
                d.pointer("/allocatable/count"),
                &format!("{p}.allocatable.count"),
            ));
            if names.contains(&name) {
                errs.push(Cause::duplicate(child(&p, "name"), &Value::from(name)));
            }
            names.push(name);
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csi_driver() {
        let mut d = json!({"metadata": {"name": "ebs.csi.aws.com"}, "spec": {"tokenRequests": [{"audience": "a", "expirationSeconds": 3600}]}});
        CsiDriverStrategy.default(&mut d);
        assert_eq!(d["spec"]["attachRequired"], true);
        assert_eq!(d["spec"]["volumeLifecycleModes"], json!(["Persistent"]));
        assert!(CsiDriverStrategy.validate_create(&d).is_empty());
        let bad = json!({"metadata": {"name": "x"}, "spec": {"attachRequired": true, "podInfoOnMount": false,
            "storageCapacity": false, "fsGroupPolicy": "Any", "volumeLifecycleModes": ["Temporary"],
            "tokenRequests": [{"audience": "a", "expirationSeconds": 60}, {"audience": "a"}]}});
        let f: Vec<String> = CsiDriverStrategy
            .validate_create(&bad)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            f,
            [
                "spec.fsGroupPolicy",
                "spec.tokenRequests[0].expirationSeconds",
                "spec.tokenRequests[1].audience",
                "spec.volumeLifecycleModes[0]"
            ]
        );
        let mut new = d.clone();
        new["spec"]["attachRequired"] = json!(false);
        assert_eq!(
            CsiDriverStrategy.validate_update(&new, &d)[0].message,
            "Invalid value: false: field is immutable"
        );
    }

    #[test]
    fn csi_node() {
        let ok = json!({"spec": {"drivers": [{"name": "ebs.csi.aws.com", "nodeID": "i-1", "topologyKeys": ["topology.ebs.csi.aws.com/zone"], "allocatable": {"count": 25}}]}});
        assert!(CsiNodeStrategy.validate_create(&ok).is_empty());
        let bad = json!({"spec": {"drivers": [{"name": "a.b", "nodeID": "x"}, {"name": "a.b", "allocatable": {"count": -1}}]}});
        let f: Vec<String> = CsiNodeStrategy
            .validate_create(&bad)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            f,
            [
                "spec.drivers[1].nodeID",
                "spec.drivers[1].allocatable.count",
                "spec.drivers[1].name"
            ]
        );
    }
}
