//! Validating/MutatingWebhookConfigurations (admissionregistration.k8s.io/v1):
//! v1 defaults (failurePolicy, matchPolicy, selectors, timeout, scope,
//! reinvocationPolicy, service port) and the basic rules: unique
//! fully-qualified webhook names, clientConfig url xor service,
//! sideEffects, admissionReviewVersions, rules, timeouts.

use super::util::{arr_at, each_mut, present, set_default, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    child, index, invalid_each, invalid_str, is_dns1123_subdomain, required_with,
};
use apimachinery::Cause;
use serde_json::{Value, json};

pub struct WebhookConfigurationStrategy {
    pub mutating: bool,
}

const URL_FORM: &str = "; desired format: https://host[/path]";

/// `IsFullyQualifiedName`: a DNS subdomain with at least three segments.
fn validate_webhook_name(name: &str, path: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![Cause::required(path)];
    }
    let mut errs = invalid_each(path, name, is_dns1123_subdomain(name));
    if errs.is_empty() && name.split('.').count() < 3 {
        errs.push(invalid_str(
            path,
            name,
            "should be a domain with at least three segments separated by dots",
        ));
    }
    errs
}

/// `ValidateWebhookURL` with https forced.
fn validate_url(url: &str, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    if scheme != "https" {
        errs.push(invalid_str(
            path,
            scheme,
            &format!("'https' is the only allowed URL scheme{URL_FORM}"),
        ));
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = rest.split('/').next().unwrap_or("");
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() {
        errs.push(invalid_str(
            path,
            host,
            &format!("host must be specified{URL_FORM}"),
        ));
    }
    if let Some(u) = user {
        errs.push(invalid_str(
            path,
            u,
            "user information is not permitted in the URL",
        ));
    }
    if !fragment.is_empty() {
        errs.push(invalid_str(
            path,
            fragment,
            "fragments are not permitted in the URL",
        ));
    }
    if !query.is_empty() {
        errs.push(invalid_str(
            path,
            query,
            "query parameters are not permitted in the URL",
        ));
    }
    errs
}

fn validate_service(svc: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    if str_at(svc, "/name").is_empty() {
        errs.push(required_with(
            child(path, "name"),
            "service name is required",
        ));
    }
    if str_at(svc, "/namespace").is_empty() {
        errs.push(required_with(
            child(path, "namespace"),
            "service namespace is required",
        ));
    }
    let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
    let msgs = crate::validation::is_valid_port_num(port);
    if !msgs.is_empty() {
        errs.push(Cause::invalid(
            child(path, "port"),
            &Value::from(port),
            format!("port is not valid: {}", msgs.join(", ")),
        ));
    }
    let p = str_at(svc, "/path");
    if !p.is_empty() && p != "/" && !p.starts_with('/') {
        errs.push(invalid_str(child(path, "path"), p, "must start with a '/'"));
    }
    errs
}

fn validate_rule(rule: &Value, path: &str) -> Vec<Cause> {
    let mut errs = vec![];
    let ops = arr_at(rule, "/operations");
    if ops.is_empty() {
        errs.push(Cause::required(child(path, "operations")));
    }
    for (i, op) in ops.iter().enumerate() {
        if !op
            .as_str()
            .is_some_and(|o| ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"].contains(&o))
        {
            errs.push(Cause::not_supported(
                index(&child(path, "operations"), i),
                op,
                &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"],
            ));
        }
    }
    for f in ["apiGroups", "apiVersions", "resources"] {
        if arr_at(rule, &format!("/{f}")).is_empty() {
            errs.push(Cause::required(child(path, f)));
        }
    }
    if let Some(s) = rule.get("scope").and_then(Value::as_str)
        && !["*", "Cluster", "Namespaced"].contains(&s)
    {
        errs.push(Cause::not_supported(
            child(path, "scope"),
            &Value::from(s),
            &["*", "Cluster", "Namespaced"],
        ));
    }
    errs
}

fn validate_webhook(hook: &Value, path: &str, mutating: bool) -> Vec<Cause> {
    let mut errs = validate_webhook_name(str_at(hook, "/name"), &child(path, "name"));
    for (i, r) in arr_at(hook, "/rules").iter().enumerate() {
        errs.extend(validate_rule(r, &index(&child(path, "rules"), i)));
    }
    let one_of = |field: &str, allowed: &[&str], errs: &mut Vec<Cause>| {
        if let Some(v) = hook.get(field).and_then(Value::as_str)
            && !allowed.contains(&v)
        {
            errs.push(Cause::not_supported(
                child(path, field),
                &Value::from(v),
                allowed,
            ));
        }
    };
    one_of("failurePolicy", &["Fail", "Ignore"], &mut errs);
    one_of("matchPolicy", &["Equivalent", "Exact"], &mut errs);
    if mutating {
        one_of("reinvocationPolicy", &["IfNeeded", "Never"], &mut errs);
    }
    match hook.get("sideEffects").and_then(Value::as_str) {
        None => errs.push(required_with(
            child(path, "sideEffects"),
            "must specify one of None, NoneOnDryRun",
        )),
        Some("None" | "NoneOnDryRun") => {}
        Some(s) => errs.push(Cause::not_supported(
            child(path, "sideEffects"),
            &Value::from(s),
            &["None", "NoneOnDryRun"],
        )),
    }
    let versions = arr_at(hook, "/admissionReviewVersions");
    let vp = child(path, "admissionReviewVersions");
    if versions.is_empty() {
        errs.push(required_with(&vp, "must specify one of v1, v1beta1"));
    } else if !versions
        .iter()
        .any(|v| v.as_str().is_some_and(|v| v == "v1" || v == "v1beta1"))
    {
        errs.push(Cause::invalid(
            &vp,
            &Value::Array(versions.to_vec()),
            "must include at least one of v1, v1beta1",
        ));
    }
    if let Some(t) = hook.get("timeoutSeconds").and_then(Value::as_i64)
        && !(1..=30).contains(&t)
    {
        errs.push(Cause::invalid(
            child(path, "timeoutSeconds"),
            &Value::from(t),
            "the timeout value must be between 1 and 30 seconds",
        ));
    }
    for sel in ["namespaceSelector", "objectSelector"] {
        if let Some(s) = present(hook, &format!("/{sel}")) {
            errs.extend(crate::validation::validate_label_selector(
                s,
                &child(path, sel),
            ));
        }
    }
    let cp = child(path, "clientConfig");
    match (
        present(hook, "/clientConfig/url").and_then(Value::as_str),
        present(hook, "/clientConfig/service"),
    ) {
        (Some(url), None) => errs.extend(validate_url(url, &child(&cp, "url"))),
        (None, Some(svc)) => errs.extend(validate_service(svc, &child(&cp, "service"))),
        _ => errs.push(required_with(
            &cp,
            "exactly one of url or service is required",
        )),
    }
    errs
}

impl Strategy for WebhookConfigurationStrategy {
    fn default(&self, obj: &mut Value) {
        let mutating = self.mutating;
        each_mut(obj, "webhooks", |h| {
            set_default(h, "failurePolicy", json!("Fail"));
            set_default(h, "matchPolicy", json!("Equivalent"));
            set_default(h, "namespaceSelector", json!({}));
            set_default(h, "objectSelector", json!({}));
            set_default(h, "timeoutSeconds", json!(10));
            if mutating {
                set_default(h, "reinvocationPolicy", json!("Never"));
            }
            each_mut(h, "rules", |r| set_default(r, "scope", json!("*")));
            if let Some(svc) = h
                .pointer_mut("/clientConfig/service")
                .filter(|s| s.is_object())
            {
                set_default(svc, "port", json!(443));
            }
        });
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let mut names = vec![];
        for (i, h) in arr_at(obj, "/webhooks").iter().enumerate() {
            let p = index("webhooks", i);
            errs.extend(validate_webhook(h, &p, self.mutating));
            let name = str_at(h, "/name");
            if !name.is_empty() {
                if names.contains(&name) {
                    errs.push(Cause::duplicate(child(&p, "name"), &Value::from(name)));
                }
                names.push(name);
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &[Cause]) -> Vec<&str> {
        e.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn defaults_and_valid() {
        let s = WebhookConfigurationStrategy { mutating: true };
        let mut cfg = json!({"webhooks": [{"name": "pods.example.com", "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "clientConfig": {"service": {"name": "wh", "namespace": "sys", "path": "/mutate"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]});
        s.default(&mut cfg);
        let h = &cfg["webhooks"][0];
        assert_eq!(h["failurePolicy"], "Fail");
        assert_eq!(h["timeoutSeconds"], 10);
        assert_eq!(h["reinvocationPolicy"], "Never");
        assert_eq!(h["rules"][0]["scope"], "*");
        assert_eq!(h["clientConfig"]["service"]["port"], 443);
        assert!(s.validate_create(&cfg).is_empty());
    }

    #[test]
    fn mistakes() {
        let s = WebhookConfigurationStrategy { mutating: false };
        let cfg = json!({"webhooks": [
            {"name": "short.com", "admissionReviewVersions": ["v2"], "timeoutSeconds": 31,
             "clientConfig": {"url": "http://x.example.com/p?q=1"}},
            {"name": "short.com", "sideEffects": "Some", "admissionReviewVersions": [], "clientConfig": {},
             "rules": [{"operations": ["PATCH"]}]}]});
        let e = s.validate_create(&cfg);
        assert_eq!(
            fields(&e),
            [
                "webhooks[0].name",
                "webhooks[0].sideEffects",
                "webhooks[0].admissionReviewVersions",
                "webhooks[0].timeoutSeconds",
                "webhooks[0].clientConfig.url",
                "webhooks[0].clientConfig.url",
                "webhooks[1].name",
                "webhooks[1].rules[0].operations[0]",
                "webhooks[1].rules[0].apiGroups",
                "webhooks[1].rules[0].apiVersions",
                "webhooks[1].rules[0].resources",
                "webhooks[1].sideEffects",
                "webhooks[1].admissionReviewVersions",
                "webhooks[1].clientConfig",
                "webhooks[1].name",
            ]
        );
        assert_eq!(
            e[1].message,
            "Required value: must specify one of None, NoneOnDryRun"
        );
        assert_eq!(
            e[4].message,
            "Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]"
        );
        assert_eq!(
            e[13].message,
            "Required value: exactly one of url or service is required"
        );
        assert_eq!(e[14].reason, "FieldValueDuplicate");
    }
}
