//! batch/v1 Jobs: `SetDefaults_Job`, the generated selector and
//! `controller-uid`/`job-name` labels, `ValidateJob` (restartPolicy
//! OnFailure|Never, selector matches template, completion mode) and the
//! update rules (selector, template, completionMode immutable).

use super::pod::{require_restart_policy, validate_pod_template};
use super::util::{set_default, str_at};
use super::workload::{default_template, go_label_selector, reset_status};
use crate::strategy::Strategy;
use crate::validation::{
    child, go_string_map, invalid_raw, required_with, selector_matches, validate_immutable,
    validate_label_selector, validate_nonnegative,
};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct JobStrategy;

const UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const NAME_LABEL: &str = "batch.kubernetes.io/job-name";

/// `SetDefaults_Job` on a job spec (shared with CronJob's jobTemplate).
pub fn default_job_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        crate::strategies::util::set(spec, "completions", json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let backoff = if spec
        .get("backoffLimitPerIndex")
        .is_some_and(|v| !v.is_null())
    {
        i64::from(i32::MAX)
    } else {
        6
    };
    set_default(spec, "backoffLimit", json!(backoff));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let replacement = if spec.get("podFailurePolicy").is_some_and(|v| !v.is_null()) {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    default_template(spec);
}

/// `validateJobSpec` at `path`; `require_selector` for Jobs (not templates).
pub fn validate_job_spec(spec: &Value, path: &str, require_selector: bool) -> Vec<Cause> {
    let mut errs = vec![];
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
    ] {
        errs.extend(validate_nonnegative(spec.get(f), &child(path, f)));
    }
    let tmpl_path = child(path, "template");
    let tmpl = spec.get("template");
    match spec.get("selector").filter(|s| !s.is_null()) {
        None if require_selector => errs.push(Cause::required(child(path, "selector"))),
        None => {}
        Some(sel) => {
            errs.extend(validate_label_selector(sel, &child(path, "selector")));
            let labels = tmpl.and_then(|t| t.pointer("/metadata/labels"));
            if !selector_matches(sel, labels) {
                errs.push(invalid_raw(
                    child(&child(&tmpl_path, "metadata"), "labels"),
                    &go_string_map(labels),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errs.extend(validate_pod_template(tmpl, &tmpl_path));
    if let Some(t) = tmpl.filter(|t| t.is_object()) {
        errs.extend(require_restart_policy(
            &tmpl_path,
            t,
            &["OnFailure", "Never"],
        ));
    }
    match str_at(spec, "/completionMode") {
        "" | "NonIndexed" => {}
        "Indexed" => {
            if spec.get("completions").is_none_or(Value::is_null) {
                errs.push(required_with(
                    child(path, "completions"),
                    "when completion mode is Indexed",
                ));
            }
        }
        m => errs.push(Cause::not_supported(
            child(path, "completionMode"),
            &Value::from(m),
            &["NonIndexed", "Indexed"],
        )),
    }
    errs
}

fn manual_selector(obj: &Value) -> bool {
    obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true)
}

/// Upstream's `generateSelector`: label the template with the job's uid and
/// name, and select on the uid.
pub fn generate_selector(obj: &mut Value) {
    let uid = str_at(obj, "/metadata/uid").to_string();
    let name = str_at(obj, "/metadata/name").to_string();
    if uid.is_empty() {
        return;
    }
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    let tmpl = spec
        .as_object_mut()
        .map(|m| m.entry("template").or_insert_with(|| json!({})));
    if let Some(t) = tmpl.filter(|t| t.is_object()) {
        set_default(t, "metadata", json!({}));
        let labels = super::util::obj_mut(t, "metadata")
            .map(|m| m.entry("labels").or_insert_with(|| json!({})));
        if let Some(l) = labels.and_then(Value::as_object_mut) {
            for (k, v) in [
                ("controller-uid", &uid),
                (UID_LABEL, &uid),
                ("job-name", &name),
                (NAME_LABEL, &name),
            ] {
                l.entry(k).or_insert(json!(v));
            }
        }
    }
    set_default(spec, "selector", json!({"matchLabels": {UID_LABEL: uid}}));
}

impl Strategy for JobStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        // Object labels default to the template's.
        let tl = obj.pointer("/spec/template/metadata/labels").cloned();
        if let Some(l) = tl.filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
            && obj
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .is_none_or(|m| m.is_empty())
            && let Some(meta) = obj.get_mut("metadata").filter(|m| m.is_object())
        {
            crate::strategies::util::set(meta, "labels", l);
        }
        if let Some(spec) = obj.get_mut("spec") {
            default_job_spec(spec);
        }
    }

    fn finalize_create(&self, obj: &mut Value) {
        if !manual_selector(obj) {
            generate_selector(obj);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let mut errs = validate_job_spec(obj.get("spec").unwrap_or(&null), "spec", true);
        if !manual_selector(obj) && obj.pointer("/spec/selector").is_some_and(|s| !s.is_null()) {
            let uid = str_at(obj, "/metadata/uid");
            let has = str_at(
                obj,
                &format!(
                    "/spec/template/metadata/labels/{}",
                    UID_LABEL.replace('/', "~1")
                ),
            );
            if !uid.is_empty() && has != uid {
                errs.push(invalid_raw(
                    "spec.selector",
                    &go_label_selector(obj.pointer("/spec/selector")),
                    "`selector` not auto-generated",
                ));
            }
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        if new.pointer("/spec/selector") != old.pointer("/spec/selector") {
            errs.push(invalid_raw(
                "spec.selector",
                &go_label_selector(new.pointer("/spec/selector")),
                "field is immutable",
            ));
        }
        errs.extend(validate_immutable(
            new.pointer("/spec/completionMode"),
            old.pointer("/spec/completionMode"),
            "spec.completionMode",
        ));
        // The template may change only while the job is suspended (its
        // scheduling directives); otherwise it is immutable.
        let suspended = old.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
        if !suspended && new.pointer("/spec/template") != old.pointer("/spec/template") {
            errs.push(invalid_raw(
                "spec.template",
                "core.PodTemplateSpec{...}",
                "field is immutable",
            ));
        }
        errs
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["status.successful"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "status.successful").then(|| {
            obj.pointer("/status/succeeded")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(restart: &str) -> Value {
        json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
            "spec": {"template": {"spec": {"restartPolicy": restart,
                "containers": [{"name": "pi", "image": "perl"}]}}}})
    }

    fn run(mut o: Value) -> (Value, Vec<Cause>) {
        let s = JobStrategy;
        s.prepare_create(&mut o);
        s.default(&mut o);
        s.finalize_create(&mut o);
        let e = s.validate_create(&o);
        (o, e)
    }

    #[test]
    fn defaults_and_generated_selector() {
        let (j, e) = run(job("Never"));
        assert!(e.is_empty(), "{e:?}");
        let s = &j["spec"];
        assert_eq!(s["completions"], 1);
        assert_eq!(s["parallelism"], 1);
        assert_eq!(s["backoffLimit"], 6);
        assert_eq!(s["completionMode"], "NonIndexed");
        assert_eq!(s["selector"]["matchLabels"][UID_LABEL], "u-1");
        assert_eq!(s["template"]["metadata"]["labels"][NAME_LABEL], "pi");
        assert_eq!(s["template"]["metadata"]["labels"]["job-name"], "pi");
    }

    #[test]
    fn restart_policy_always_rejected() {
        let mut j = job("Always");
        j["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        let (_, e) = run(j);
        assert_eq!(e[0].field, "spec.template.spec.restartPolicy");
        assert_eq!(
            e[0].message,
            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
        );
    }

    #[test]
    fn template_immutable() {
        let (old, _) = run(job("Never"));
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:2");
        let e = JobStrategy.validate_update(&new, &old);
        assert_eq!(e[0].field, "spec.template");
        assert!(JobStrategy.validate_update(&old, &old).is_empty());
    }

    #[test]
    fn indexed_needs_completions() {
        let mut j = job("Never");
        j["spec"]["completionMode"] = json!("Indexed");
        j["spec"]["parallelism"] = json!(2);
        let (_, e) = run(j);
        assert_eq!(e[0].field, "spec.completions");
    }
}
