//! Nodes: podCIDR/podCIDRs (kept in step, valid, one per family, immutable
//! once set), providerID (immutable once set), taints (qualified key, label
//! value, effect, unique by key and effect — reported under
//! `metadata.taints` as upstream does), allocatable defaulted from
//! capacity, unique status addresses, and the `spec.unschedulable` selector.

use super::util::{arr_at, present, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    index, invalid_each, invalid_raw, invalid_str, is_qualified_name, is_valid_cidr,
    is_valid_label_value,
};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct NodeStrategy;

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn go_taint(t: &Value) -> String {
    let time = match t.get("timeAdded").and_then(Value::as_str) {
        Some(s) => format!("&v1.Time{{{s}}}"),
        None => "(*v1.Time)(nil)".into(),
    };
    format!(
        "core.Taint{{Key:{:?}, Value:{:?}, Effect:{:?}, TimeAdded:{time}}}",
        str_at(t, "/key"),
        str_at(t, "/value"),
        str_at(t, "/effect")
    )
}

/// `validateNodeTaints`.
pub fn validate_taints(taints: &[Value], path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let mut seen: Vec<(&str, &str)> = vec![];
    for (i, t) in taints.iter().enumerate() {
        let p = index(path, i);
        let key = str_at(t, "/key");
        errs.extend(invalid_each(
            &format!("{p}.key"),
            key,
            is_qualified_name(key),
        ));
        let value = str_at(t, "/value");
        let msgs = is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(invalid_str(format!("{p}.value"), value, &msgs.join(";")));
        }
        let effect = str_at(t, "/effect");
        if effect.is_empty() {
            errs.push(Cause::required(format!("{p}.effect")));
        } else if !EFFECTS.contains(&effect) {
            errs.push(Cause::not_supported(
                format!("{p}.effect"),
                &Value::from(effect),
                EFFECTS,
            ));
        }
        if seen.contains(&(effect, key)) {
            errs.push(Cause::new(
                "FieldValueDuplicate",
                &p,
                format!(
                    "Duplicate value: {}: taints must be unique by key and effect pair",
                    go_taint(t)
                ),
            ));
            continue;
        }
        seen.push((effect, key));
    }
    errs
}

fn validate_node(obj: &Value) -> Vec<Cause> {
    let mut errs = validate_taints(arr_at(obj, "/spec/taints"), "metadata.taints");
    let cidrs = arr_at(obj, "/spec/podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        let c = c.as_str().unwrap_or("");
        errs.extend(invalid_each(
            &index("spec.podCIDRs", i),
            c,
            is_valid_cidr(c),
        ));
    }
    if cidrs.len() > 1 {
        let v4 = cidrs
            .iter()
            .filter(|c| c.as_str().is_some_and(|c| !c.contains(':')))
            .count();
        if cidrs.len() > 2 || v4 != 1 {
            let list = cidrs
                .iter()
                .map(|c| c.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ");
            errs.push(invalid_raw(
                "spec.podCIDRs",
                &format!("[{list}]"),
                "may specify no more than one CIDR for each IP family",
            ));
        }
    }
    errs
}

impl Strategy for NodeStrategy {
    fn default(&self, obj: &mut Value) {
        // podCIDR and podCIDRs[0] are the same field at v1 (upstream's
        // conversion fills whichever is missing).
        let single = str_at(obj, "/spec/podCIDR").to_string();
        let first = arr_at(obj, "/spec/podCIDRs")
            .first()
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            match first {
                None if !single.is_empty() => {
                    spec.insert("podCIDRs".into(), json!([single]));
                }
                Some(f) if single.is_empty() => {
                    spec.insert("podCIDR".into(), json!(f));
                }
                _ => {}
            }
        }
        let capacity = present(obj, "/status/capacity").cloned();
        if let (Some(cap), Some(status)) = (
            capacity,
            obj.get_mut("status").and_then(Value::as_object_mut),
        ) && status.get("allocatable").is_none_or(Value::is_null)
        {
            status.insert("allocatable".into(), cap);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        validate_node(obj)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = validate_node(new);
        let mut seen = vec![];
        for (i, a) in arr_at(new, "/status/addresses").iter().enumerate() {
            if seen.contains(&a) {
                errs.push(Cause::duplicate(index("status.addresses", i), a));
            }
            seen.push(a);
        }
        let old_cidrs = arr_at(old, "/spec/podCIDRs");
        let new_cidrs = arr_at(new, "/spec/podCIDRs");
        if !old_cidrs.is_empty() {
            let msg = "node updates may not change podCIDR except from \"\" to valid";
            if old_cidrs.len() != new_cidrs.len() {
                errs.push(Cause::forbidden("spec.podCIDRs", msg));
            } else {
                for (o, n) in old_cidrs.iter().zip(new_cidrs) {
                    if o != n {
                        errs.push(Cause::forbidden("spec.podCIDRs", msg));
                    }
                }
            }
        }
        let old_pid = str_at(old, "/spec/providerID");
        if !old_pid.is_empty() && old_pid != str_at(new, "/spec/providerID") {
            errs.push(Cause::forbidden(
                "spec.providerID",
                "node updates may not change providerID except from \"\" to valid",
            ));
        }
        if new.pointer("/spec/externalID") != old.pointer("/spec/externalID") {
            errs.push(Cause::forbidden("spec.externalID", "may not be updated"));
        }
        errs
    }

    fn validate_status_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        self.validate_update(new, old)
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["spec.unschedulable"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "spec.unschedulable").then(|| {
            (obj.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true)).to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn defaults_and_selector() {
        let mut n =
            json!({"spec": {"podCIDR": "10.244.0.0/24"}, "status": {"capacity": {"cpu": "4"}}});
        NodeStrategy.default(&mut n);
        assert_eq!(n["spec"]["podCIDRs"], json!(["10.244.0.0/24"]));
        assert_eq!(n["status"]["allocatable"], json!({"cpu": "4"}));
        let mut m = json!({"spec": {"podCIDRs": ["10.0.0.0/24", "fd00::/64"]}});
        NodeStrategy.default(&mut m);
        assert_eq!(m["spec"]["podCIDR"], "10.0.0.0/24");
        assert!(NodeStrategy.validate_create(&m).is_empty());
        assert_eq!(
            NodeStrategy
                .field_value(&json!({}), "spec.unschedulable")
                .unwrap(),
            "false"
        );
    }

    #[test]
    fn taint_and_cidr_mistakes() {
        let n = json!({"spec": {"podCIDRs": ["10.0.0.0/24", "10.1.0.0/24", "bad"],
            "taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"},
                       {"key": "b c", "value": "-x", "effect": "Sometimes"}, {"key": "d"}]}});
        let e = NodeStrategy.validate_create(&n);
        assert_eq!(
            fields(&e),
            [
                "metadata.taints[1]",
                "metadata.taints[2].key",
                "metadata.taints[2].value",
                "metadata.taints[2].effect",
                "metadata.taints[3].effect",
                "spec.podCIDRs[2]",
                "spec.podCIDRs",
            ]
        );
        assert_eq!(
            e[0].message,
            "Duplicate value: core.Taint{Key:\"a\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair"
        );
        assert_eq!(
            e[3].message,
            "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
        );
    }

    #[test]
    fn update_rules() {
        let old = json!({"spec": {"providerID": "aws://i-1", "podCIDRs": ["10.0.0.0/24"]}});
        let mut new = old.clone();
        new["spec"]["unschedulable"] = json!(true);
        assert!(NodeStrategy.validate_update(&new, &old).is_empty());
        new["spec"]["providerID"] = json!("aws://i-2");
        new["spec"]["podCIDRs"] = json!(["10.0.1.0/24"]);
        assert_eq!(
            fields(&NodeStrategy.validate_update(&new, &old)),
            ["spec.podCIDRs", "spec.providerID"]
        );
        // Setting them the first time is allowed.
        assert!(
            NodeStrategy
                .validate_update(&old, &json!({"spec": {}}))
                .is_empty()
        );
        let dup = json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "InternalIP", "address": "10.0.0.1"}]}});
        assert_eq!(
            fields(&NodeStrategy.validate_status_update(&dup, &dup)),
            ["status.addresses[1]"]
        );
    }
}
