//! batch/v1 CronJobs: defaults (concurrencyPolicy Allow, suspend false,
//! history limits 3/1) and validation (schedule syntax, policies, the job
//! template with the Job rules, name at most 52 characters).

use super::jobs::{default_job_spec, validate_job_spec};
use super::util::{set_default, str_at};
use super::workload::reset_status;
use crate::strategy::Strategy;
use crate::validation::{invalid_str, validate_annotations, validate_labels, validate_nonnegative};
use apimachinery::Cause;
use apimachinery::cron::parse_schedule;
use serde_json::{Value, json};

pub struct CronJobStrategy;

impl Strategy for CronJobStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        reset_status(obj);
    }

    fn default(&self, obj: &mut Value) {
        let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
            return;
        };
        set_default(spec, "concurrencyPolicy", json!("Allow"));
        set_default(spec, "suspend", json!(false));
        set_default(spec, "successfulJobsHistoryLimit", json!(3));
        set_default(spec, "failedJobsHistoryLimit", json!(1));
        if let Some(js) = spec.pointer_mut("/jobTemplate/spec") {
            default_job_spec(js);
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let name = str_at(obj, "/metadata/name");
        if name.len() > 52 {
            errs.push(invalid_str(
                "metadata.name",
                name,
                "must be no more than 52 characters",
            ));
        }
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let schedule = str_at(spec, "/schedule");
        if schedule.is_empty() {
            errs.push(Cause::required("spec.schedule"));
        } else if schedule.contains("TZ") {
            errs.push(invalid_str(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        } else if let Err(e) = parse_schedule(schedule) {
            errs.push(invalid_str("spec.schedule", schedule, &e));
        }
        match str_at(spec, "/concurrencyPolicy") {
            "Allow" | "Forbid" | "Replace" => {}
            "" => errs.push(Cause::required("spec.concurrencyPolicy")),
            p => errs.push(Cause::not_supported(
                "spec.concurrencyPolicy",
                &Value::from(p),
                &["Allow", "Forbid", "Replace"],
            )),
        }
        for f in [
            "startingDeadlineSeconds",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        ] {
            errs.extend(validate_nonnegative(spec.get(f), &format!("spec.{f}")));
        }
        let jt = spec.get("jobTemplate").unwrap_or(&null);
        errs.extend(validate_labels(
            jt.pointer("/metadata/labels"),
            "spec.jobTemplate.metadata.labels",
        ));
        errs.extend(validate_annotations(
            jt.pointer("/metadata/annotations"),
            "spec.jobTemplate.metadata.annotations",
        ));
        if jt.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
            errs.push(Cause::not_supported(
                "spec.jobTemplate.spec.manualSelector",
                &json!(true),
                &["nil", "false"],
            ));
        }
        errs.extend(validate_job_spec(
            jt.get("spec").unwrap_or(&null),
            "spec.jobTemplate.spec",
            false,
        ));
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cj(schedule: &str) -> Value {
        json!({"metadata": {"name": "hello", "namespace": "default"},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    }

    #[test]
    fn defaults_and_valid() {
        let s = CronJobStrategy;
        let mut o = cj("*/1 * * * *");
        s.default(&mut o);
        assert!(
            s.validate_create(&o).is_empty(),
            "{:?}",
            s.validate_create(&o)
        );
        assert_eq!(o["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(o["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(o["spec"]["failedJobsHistoryLimit"], 1);
        assert_eq!(o["spec"]["jobTemplate"]["spec"]["backoffLimit"], 6);
    }

    #[test]
    fn bad_schedule_and_policy() {
        let s = CronJobStrategy;
        let mut o = cj("61 * * * *");
        s.default(&mut o);
        o["spec"]["concurrencyPolicy"] = json!("Sometimes");
        let e = s.validate_create(&o);
        assert_eq!(e[0].field, "spec.schedule");
        assert_eq!(e[1].field, "spec.concurrencyPolicy");
        let mut o = cj("");
        s.default(&mut o);
        assert_eq!(s.validate_create(&o)[0].message, "Required value");
    }
}
