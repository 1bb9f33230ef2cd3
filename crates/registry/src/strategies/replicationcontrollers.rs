//! ReplicationControllers (core/v1): selector defaults to the template's
//! labels (as do the object's labels), and the pod template rules.

use super::pod::{require_restart_policy, validate_pod_template};
use super::util::set_default;
use super::workload::{default_template, reset_status};
use crate::strategy::Strategy;
use crate::validation::{
    child, go_string_map, invalid_raw, selector_matches, validate_labels, validate_nonnegative,
};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct ReplicationControllerStrategy;

fn empty_map(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_none_or(|m| m.is_empty())
}

impl Strategy for ReplicationControllerStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.replicas"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.replicas").then(|| {
            obj.pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string()
        })
    }

    fn default(&self, obj: &mut Value) {
        let labels = obj.pointer("/spec/template/metadata/labels").cloned();
        if let Some(l) = labels.filter(|l| !empty_map(Some(l))) {
            if empty_map(obj.pointer("/spec/selector"))
                && let Some(spec) = obj.get_mut("spec")
            {
                crate::strategies::util::set(spec, "selector", l.clone());
            }
            if empty_map(obj.pointer("/metadata/labels"))
                && let Some(meta) = obj.get_mut("metadata").filter(|m| m.is_object())
            {
                crate::strategies::util::set(meta, "labels", l);
            }
        }
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            set_default(spec, "replicas", json!(1));
            default_template(spec);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = vec![];
        for f in ["replicas", "minReadySeconds"] {
            errs.extend(validate_nonnegative(spec.get(f), &child("spec", f)));
        }
        let sel = spec.get("selector");
        if empty_map(sel) {
            errs.push(Cause::required("spec.selector"));
        } else {
            errs.extend(validate_labels(sel, "spec.selector"));
        }
        let tmpl = spec.get("template");
        if let Some(t) = tmpl.filter(|t| t.is_object()) {
            let labels = t.pointer("/metadata/labels");
            let as_selector = json!({"matchLabels": sel.cloned().unwrap_or(json!({}))});
            if !empty_map(sel) && !selector_matches(&as_selector, labels) {
                errs.push(invalid_raw(
                    "spec.template.metadata.labels",
                    &go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
            errs.extend(validate_pod_template(tmpl, "spec.template"));
            errs.extend(require_restart_policy("spec.template", t, &["Always"]));
            if t.pointer("/spec/activeDeadlineSeconds")
                .is_some_and(|v| !v.is_null())
            {
                errs.push(Cause::forbidden(
                    "spec.template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                ));
            }
        } else {
            errs.push(Cause::required("spec.template"));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_and_labels_default_from_template() {
        let s = ReplicationControllerStrategy;
        let mut rc = json!({"metadata": {"name": "rc"}, "spec": {"template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
        s.default(&mut rc);
        assert_eq!(rc["spec"]["selector"], json!({"app": "a"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "a"}));
        assert_eq!(rc["spec"]["replicas"], 1);
        assert!(s.validate_create(&rc).is_empty());
        rc["spec"]["selector"] = json!({"app": "b"});
        let e = s.validate_create(&rc);
        assert_eq!(e[0].field, "spec.template.metadata.labels");
    }

    #[test]
    fn template_required() {
        let e = ReplicationControllerStrategy
            .validate_create(&json!({"spec": {"selector": {"a": "b"}}}));
        assert_eq!(e[0].field, "spec.template");
    }
}
