//! apiregistration.k8s.io/v1 APIServices: the name must be
//! `<version>.<group>`, group/version syntax, priority bounds, and the
//! service reference (port defaulted to 443) or local-only restrictions.

use super::util::{present, str_at};
use crate::strategy::{NameRule, Strategy};
use crate::validation::{invalid_each, invalid_str, is_dns1035_label, is_dns1123_subdomain};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct ApiServiceStrategy;

impl Strategy for ApiServiceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }

    fn default(&self, obj: &mut Value) {
        if let Some(svc) = obj.pointer_mut("/spec/service").filter(|s| s.is_object()) {
            super::util::set_default(svc, "port", json!(443));
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let group = str_at(obj, "/spec/group");
        let version = str_at(obj, "/spec/version");
        let required = format!("{version}.{group}");
        let name = str_at(obj, "/metadata/name");
        if !name.is_empty() && name != required {
            errs.push(invalid_str(
                "metadata.name",
                name,
                &format!("must be `spec.version+\".\"+spec.group`: {required:?}"),
            ));
        }
        if group.is_empty() && version != "v1" {
            errs.push(crate::validation::required_with(
                "spec.group",
                "only v1 may have an empty group and it better be legacy kube",
            ));
        }
        if !group.is_empty() {
            errs.extend(invalid_each(
                "spec.group",
                group,
                is_dns1123_subdomain(group),
            ));
        }
        errs.extend(invalid_each(
            "spec.version",
            version,
            is_dns1035_label(version),
        ));
        let int = |f: &str| {
            obj.pointer(&format!("/spec/{f}"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let gpm = int("groupPriorityMinimum");
        if !(1..=20000).contains(&gpm) {
            errs.push(Cause::invalid(
                "spec.groupPriorityMinimum",
                &Value::from(gpm),
                "must be positive and less than 20000",
            ));
        }
        let vp = int("versionPriority");
        if !(1..=1000).contains(&vp) {
            errs.push(Cause::invalid(
                "spec.versionPriority",
                &Value::from(vp),
                "must be positive and less than 1000",
            ));
        }
        let ca = str_at(obj, "/spec/caBundle");
        let insecure = obj
            .pointer("/spec/insecureSkipTLSVerify")
            .and_then(Value::as_bool)
            == Some(true);
        let Some(svc) = present(obj, "/spec/service") else {
            if !ca.is_empty() {
                // caBundle is base64 in JSON; upstream reports the decoded size.
                let n = (ca.len() / 4 * 3).saturating_sub(ca.matches('=').count());
                errs.push(invalid_str(
                    "spec.caBundle",
                    &format!("{n} bytes"),
                    "local APIServices may not have a caBundle",
                ));
            }
            if insecure {
                errs.push(Cause::invalid(
                    "spec.insecureSkipTLSVerify",
                    &Value::Bool(true),
                    "local APIServices may not have insecureSkipTLSVerify",
                ));
            }
            return errs;
        };
        for f in ["namespace", "name"] {
            if str_at(svc, &format!("/{f}")).is_empty() {
                errs.push(Cause::required(format!("spec.service.{f}")));
            }
        }
        let port = svc.get("port").and_then(Value::as_i64).unwrap_or(0);
        let msgs = crate::validation::is_valid_port_num(port);
        if !msgs.is_empty() {
            errs.push(Cause::invalid(
                "spec.service.port",
                &Value::from(port),
                format!("port is not valid: {}", msgs.join(", ")),
            ));
        }
        if insecure && !ca.is_empty() {
            errs.push(Cause::invalid(
                "spec.insecureSkipTLSVerify",
                &Value::Bool(true),
                "may not be true if caBundle is present",
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiservice_rules() {
        let mut ok = json!({"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {"group": "metrics.k8s.io",
            "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
            "service": {"namespace": "kube-system", "name": "metrics-server"}, "insecureSkipTLSVerify": true}});
        ApiServiceStrategy.default(&mut ok);
        assert_eq!(ok["spec"]["service"]["port"], 443);
        assert!(ApiServiceStrategy.validate_create(&ok).is_empty());
        let local = json!({"metadata": {"name": "v1."}, "spec": {"version": "v1", "groupPriorityMinimum": 18000, "versionPriority": 1}});
        assert!(ApiServiceStrategy.validate_create(&local).is_empty());
        let bad = json!({"metadata": {"name": "v1.foo"}, "spec": {"group": "bar", "version": "V1",
            "groupPriorityMinimum": 0, "versionPriority": 2000, "caBundle": "YWJj"}});
        let e = ApiServiceStrategy.validate_create(&bad);
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "metadata.name",
                "spec.version",
                "spec.groupPriorityMinimum",
                "spec.versionPriority",
                "spec.caBundle"
            ]
        );
        assert_eq!(
            e[0].message,
            "Invalid value: \"v1.foo\": must be `spec.version+\".\"+spec.group`: \"V1.bar\""
        );
        assert_eq!(
            e[4].message,
            "Invalid value: \"3 bytes\": local APIServices may not have a caBundle"
        );
    }
}
