//! ResourceQuotas (hard/used quantities, scopes, scopeSelector, status
//! reset on create) and LimitRanges (limit types, per-type resource names,
//! min ≤ defaultRequest ≤ default ≤ max, maxLimitRequestRatio ≥ 1).

use super::resources::{
    parse_quantities, validate_container_resource_name, validate_quota_list, validate_resource_name,
};
use super::util::{arr_at, go_string_slice, str_at};
use crate::strategy::Strategy;
use crate::validation::{
    Quantity, child, index, invalid_raw, invalid_str, is_qualified_name, key, required_with,
};
use apimachinery::Cause;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

/// Resources a scope may constrain (upstream's
/// `IsResourceQuotaScopeValidForResource`).
fn scope_allows(scope: &str, res: &str) -> bool {
    const POD_COMPUTE: &[&str] = &[
        "pods",
        "count/pods",
        "cpu",
        "memory",
        "limits.cpu",
        "limits.memory",
        "requests.cpu",
        "requests.memory",
    ];
    match scope {
        "BestEffort" => ["pods", "count/pods"].contains(&res),
        "VolumeAttributesClass" => [
            "persistentvolumeclaims",
            "count/persistentvolumeclaims",
            "requests.storage",
        ]
        .contains(&res),
        _ => POD_COMPUTE.contains(&res),
    }
}

fn validate_scopes(spec: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    let scopes = arr_at(spec, "/scopes");
    if scopes.is_empty() {
        return errs;
    }
    let rendered = go_string_slice("core.ResourceQuotaScope", scopes);
    let hard: Vec<&String> = spec
        .get("hard")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let mut set = BTreeSet::new();
    for s in scopes {
        let s = s.as_str().unwrap_or("");
        if !SCOPES.contains(&s) {
            errs.push(invalid_raw("spec.scopes", &rendered, "unsupported scope"));
        }
        for k in &hard {
            if super::resources::validate_quota_resource_name(k, "").is_empty()
                && !k.contains('/')
                && !scope_allows(s, k)
            {
                errs.push(invalid_raw(
                    "spec.scopes",
                    &rendered,
                    "unsupported scope applied to resource",
                ));
            }
        }
        set.insert(s);
    }
    for (a, b) in [
        ("BestEffort", "NotBestEffort"),
        ("Terminating", "NotTerminating"),
    ] {
        if set.contains(a) && set.contains(b) {
            errs.push(invalid_raw("spec.scopes", &rendered, "conflicting scopes"));
        }
    }
    errs
}

fn validate_scope_selector(spec: &Value) -> Vec<Cause> {
    let mut errs = vec![];
    let path = "spec.scopeSelector.matchExpressions";
    for (i, req) in arr_at(spec, "/scopeSelector/matchExpressions")
        .iter()
        .enumerate()
    {
        let p = index(path, i);
        let scope = str_at(req, "/scopeName");
        if !SCOPES.contains(&scope) {
            errs.push(invalid_str(
                child(&p, "scopeName"),
                scope,
                "unsupported scope",
            ));
        }
        let n = arr_at(req, "/values").len();
        match str_at(req, "/operator") {
            "In" | "NotIn" if n == 0 => errs.push(required_with(
                child(&p, "values"),
                "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
            )),
            "Exists" | "DoesNotExist" if n != 0 => errs.push(invalid_raw(
                child(&p, "values"),
                &go_string_slice("string", arr_at(req, "/values")),
                "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.push(Cause::not_supported(
                child(&p, "operator"),
                &Value::from(op),
                &["DoesNotExist", "Exists", "In", "NotIn"],
            )),
        }
    }
    errs
}

pub struct ResourceQuotaStrategy;

impl Strategy for ResourceQuotaStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        super::util::set(obj, "status", json!({}));
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let null = Value::Null;
        let spec = obj.get("spec").unwrap_or(&null);
        let mut errs = validate_quota_list(spec.get("hard"), "spec.hard");
        errs.extend(validate_scopes(spec));
        errs.extend(validate_scope_selector(spec));
        errs.extend(self.validate_status(obj));
        errs
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        self.validate_status(new)
    }
}

impl ResourceQuotaStrategy {
    fn validate_status(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = validate_quota_list(obj.pointer("/status/hard"), "status.hard");
        errs.extend(validate_quota_list(
            obj.pointer("/status/used"),
            "status.used",
        ));
        errs
    }
}

const LIMIT_TYPES: &[&str] = &["Pod", "Container", "PersistentVolumeClaim"];

pub struct LimitRangeStrategy;

fn validate_limit_type(t: &str, path: &str) -> Vec<Cause> {
    let errs: Vec<Cause> = is_qualified_name(t)
        .into_iter()
        .map(|m| invalid_str(path, t, &m))
        .collect();
    if errs.is_empty() && !t.contains('/') && !LIMIT_TYPES.contains(&t) {
        return vec![invalid_str(
            path,
            t,
            "must be a standard limit type or fully qualified",
        )];
    }
    errs
}

/// One `spec.limits[i]` entry.
fn validate_limit(limit: &Value, p: &str) -> Vec<Cause> {
    let ty = str_at(limit, "/type");
    let mut errs = validate_limit_type(ty, &child(p, "type"));
    let name_rule = |name: &str, path: &str| match ty {
        "Pod" | "Container" => validate_container_resource_name(name, path),
        _ => validate_resource_name(name, path),
    };
    let mut keys = BTreeSet::new();
    let mut parse = |field: &str, errs: &mut Vec<Cause>| {
        let fp = child(p, field);
        let (m, e) = parse_quantities(limit.get(field), &fp);
        errs.extend(e);
        for k in m.keys() {
            errs.extend(name_rule(k, &key(&fp, k)));
            keys.insert(k.clone());
        }
        m
    };
    let max = parse("max", &mut errs);
    let min = parse("min", &mut errs);
    let (defaults, default_requests) = if ty == "Pod" {
        for f in ["default", "defaultRequest"] {
            if limit
                .get(f)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
            {
                errs.push(Cause::forbidden(
                    child(p, f),
                    "may not be specified when `type` is 'Pod'",
                ));
            }
        }
        Default::default()
    } else {
        (
            parse("default", &mut errs),
            parse("defaultRequest", &mut errs),
        )
    };
    if ty == "PersistentVolumeClaim" && !min.contains_key("storage") && !max.contains_key("storage")
    {
        errs.push(required_with(
            child(p, "limits"),
            "either minimum or maximum storage value is required, but neither was provided",
        ));
    }
    let ratios = parse("maxLimitRequestRatio", &mut errs);
    let one = Quantity::parse("1").ok();
    for k in &keys {
        let (mn, mx, df, dr, ra) = (
            min.get(k),
            max.get(k),
            defaults.get(k),
            default_requests.get(k),
            ratios.get(k),
        );
        let at = |f: &str| key(&child(p, f), k);
        let inv = |f: &str, q: &Quantity, msg: String| invalid_str(at(f), &q.to_string(), &msg);
        if let (Some(mn), Some(mx)) = (mn, mx)
            && mn > mx
        {
            errs.push(inv(
                "min",
                mn,
                format!("min value {mn} is greater than max value {mx}"),
            ));
        }
        if let (Some(dr), Some(mn)) = (dr, mn)
            && mn > dr
        {
            errs.push(inv(
                "defaultRequest",
                dr,
                format!("min value {mn} is greater than default request value {dr}"),
            ));
        }
        if let (Some(dr), Some(mx)) = (dr, mx)
            && dr > mx
        {
            errs.push(inv(
                "defaultRequest",
                dr,
                format!("default request value {dr} is greater than max value {mx}"),
            ));
        }
        if let (Some(dr), Some(df)) = (dr, df)
            && dr > df
        {
            errs.push(inv(
                "defaultRequest",
                dr,
                format!("default request value {dr} is greater than default limit value {df}"),
            ));
        }
        if let (Some(df), Some(mn)) = (df, mn)
            && mn > df
        {
            errs.push(inv(
                "default",
                mn,
                format!("min value {mn} is greater than default value {df}"),
            ));
        }
        if let (Some(df), Some(mx)) = (df, mx)
            && df > mx
        {
            errs.push(inv(
                "default",
                mx,
                format!("default value {df} is greater than max value {mx}"),
            ));
        }
        if let Some(ra) = ra {
            if one.is_some_and(|o| *ra < o) {
                errs.push(inv(
                    "maxLimitRequestRatio",
                    ra,
                    format!("ratio {ra} is less than 1"),
                ));
            }
            if let (Some(mn), Some(mx)) = (mn, mx)
                && !mn.is_zero()
            {
                let limit = mx.as_f64() / mn.as_f64();
                if ra.as_f64() > limit {
                    errs.push(inv(
                        "maxLimitRequestRatio",
                        ra,
                        format!("ratio {ra} is greater than max/min = {limit:.6}"),
                    ));
                }
            }
        }
        // Resources that cannot be overcommitted (hugepages, extended
        // resources) need default == defaultRequest.
        let overcommit = !k.starts_with("hugepages-") && !k.contains('/');
        if let (Some(df), Some(dr)) = (df, dr)
            && !overcommit
            && df != dr
        {
            errs.push(inv(
                "defaultRequest",
                dr,
                format!("default value {df} must equal to defaultRequest value {dr} in {k}"),
            ));
        }
    }
    errs
}

impl Strategy for LimitRangeStrategy {
    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let mut seen = BTreeSet::new();
        for (i, limit) in arr_at(obj, "/spec/limits").iter().enumerate() {
            let p = index("spec.limits", i);
            let ty = str_at(limit, "/type");
            errs.extend(validate_limit(limit, &p));
            if !seen.insert(ty.to_string()) {
                errs.push(Cause::duplicate(child(&p, "type"), &Value::from(ty)));
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
    fn quota_valid_and_status_reset() {
        let mut q = json!({"spec": {"hard": {"pods": "10", "requests.cpu": "2", "count/deployments.apps": "3"}},
            "status": {"used": {"pods": "99"}}});
        ResourceQuotaStrategy.prepare_create(&mut q);
        assert_eq!(q["status"], json!({}));
        assert!(ResourceQuotaStrategy.validate_create(&q).is_empty());
        let scoped = json!({"spec": {"hard": {"pods": "1"}, "scopes": ["BestEffort"],
            "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}});
        assert!(ResourceQuotaStrategy.validate_create(&scoped).is_empty());
    }

    #[test]
    fn quota_mistakes() {
        let q = json!({"spec": {"hard": {"pods": "-1", "widgets": "1", "cpu": "1"},
            "scopes": ["BestEffort", "NotBestEffort", "Sometimes"],
            "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In"}]}}});
        let e = ResourceQuotaStrategy.validate_create(&q);
        assert!(fields(&e).contains(&"spec.hard[pods]"));
        assert!(fields(&e).contains(&"spec.hard[widgets]"));
        assert!(e.iter().any(|c| c.message
            == "Invalid value: []core.ResourceQuotaScope{\"BestEffort\", \"NotBestEffort\", \"Sometimes\"}: conflicting scopes"));
        assert!(
            e.iter()
                .any(|c| c.message.ends_with("unsupported scope applied to resource"))
        );
        assert!(e.iter().any(|c| c.message.ends_with(": unsupported scope")));
        assert!(fields(&e).contains(&"spec.scopeSelector.matchExpressions[0].values"));
        let st = json!({"status": {"used": {"pods": "x"}}});
        assert_eq!(
            ResourceQuotaStrategy.validate_status_update(&st, &st)[0].field,
            "status.used[pods]"
        );
    }

    #[test]
    fn limit_range_valid() {
        let lr = json!({"spec": {"limits": [
            {"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "2"}, "default": {"cpu": "500m"},
             "defaultRequest": {"cpu": "200m"}, "maxLimitRequestRatio": {"cpu": "4"}},
            {"type": "Pod", "max": {"memory": "1Gi"}},
            {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}]}});
        assert!(LimitRangeStrategy.validate_create(&lr).is_empty());
    }

    #[test]
    fn limit_range_mistakes() {
        let lr = json!({"spec": {"limits": [
            {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}, "default": {"cpu": "3"},
             "defaultRequest": {"cpu": "4"}, "maxLimitRequestRatio": {"cpu": "500m"}},
            {"type": "Pod", "default": {"cpu": "1"}},
            {"type": "Pod"},
            {"type": "PersistentVolumeClaim"},
            {"type": "Node"}]}});
        let e = LimitRangeStrategy.validate_create(&lr);
        assert_eq!(
            e[0].message,
            "Invalid value: \"2\": min value 2 is greater than max value 1"
        );
        let f = fields(&e);
        assert!(f.contains(&"spec.limits[0].defaultRequest[cpu]"));
        assert!(f.contains(&"spec.limits[0].default[cpu]"));
        assert!(
            e.iter()
                .any(|c| c.message.ends_with("ratio 500m is less than 1"))
        );
        assert!(f.contains(&"spec.limits[1].default"));
        assert!(f.contains(&"spec.limits[2].type"));
        assert!(f.contains(&"spec.limits[3].limits"));
        assert!(e.iter().any(|c| {
            c.field == "spec.limits[4].type"
                && c.message
                    .ends_with("must be a standard limit type or fully qualified")
        }));
    }
}
