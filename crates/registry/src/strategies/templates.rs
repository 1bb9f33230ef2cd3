//! PodTemplates (the template defaulted and validated with the pod rules)
//! and ControllerRevisions (data required and immutable, revision ≥ 0).

use super::pod::{default_pod_spec, validate_pod_template};
use crate::strategy::Strategy;
use crate::validation::{required_with, validate_immutable, validate_nonnegative};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct PodTemplateStrategy;

impl Strategy for PodTemplateStrategy {
    fn default(&self, obj: &mut Value) {
        if let Some(spec) = obj.pointer_mut("/template/spec") {
            default_pod_spec(spec);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        // `template` is a struct upstream: absent reads as an empty one.
        let empty = json!({});
        let tmpl = obj
            .get("template")
            .filter(|t| !t.is_null())
            .unwrap_or(&empty);
        validate_pod_template(Some(tmpl), "template")
    }
}

pub struct ControllerRevisionStrategy;

impl Strategy for ControllerRevisionStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        if obj.get("data").is_none_or(Value::is_null) {
            errs.push(required_with("data", "data is mandatory"));
        }
        errs.extend(validate_nonnegative(obj.get("revision"), "revision"));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        errs.extend(validate_immutable(new.get("data"), old.get("data"), "data"));
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_template() {
        let mut pt = json!({"template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}});
        PodTemplateStrategy.default(&mut pt);
        assert_eq!(pt["template"]["spec"]["restartPolicy"], "Always");
        assert_eq!(
            pt["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
        assert!(PodTemplateStrategy.validate_create(&pt).is_empty());
        let e = PodTemplateStrategy.validate_create(&json!({}));
        assert_eq!(e[0].field, "template.spec.containers");
        let bad = json!({"template": {"spec": {"containers": [{"name": "c"}]}}});
        assert_eq!(
            PodTemplateStrategy.validate_create(&bad)[0].field,
            "template.spec.containers[0].image"
        );
    }

    #[test]
    fn controller_revision() {
        let cr = json!({"data": {"spec": {}}, "revision": 1});
        assert!(ControllerRevisionStrategy.validate_create(&cr).is_empty());
        let e = ControllerRevisionStrategy.validate_create(&json!({"revision": -1}));
        assert_eq!(e[0].message, "Required value: data is mandatory");
        assert_eq!(e[1].field, "revision");
        let mut new = cr.clone();
        new["data"] = json!({"spec": {"x": 1}});
        assert_eq!(
            ControllerRevisionStrategy.validate_update(&new, &cr)[0].field,
            "data"
        );
        new["data"] = cr["data"].clone();
        new["revision"] = json!(2);
        assert!(
            ControllerRevisionStrategy
                .validate_update(&new, &cr)
                .is_empty()
        );
    }
}
