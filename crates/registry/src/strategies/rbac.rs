//! rbac.authorization.k8s.io: Roles/ClusterRoles (rules need verbs, and api
//! groups with resources) and RoleBindings/ClusterRoleBindings (roleRef
//! required and immutable, subjects). Names are path segments.

use super::util::{arr_at, str_at};
use crate::strategy::{NameRule, Strategy};
use crate::validation::{child, index, invalid_raw, required_with};
use apimachinery::Cause;
use serde_json::Value;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub struct RoleStrategy;

impl Strategy for RoleStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        for (i, r) in arr_at(obj, "/rules").iter().enumerate() {
            let p = index("rules", i);
            if arr_at(r, "/verbs").is_empty() {
                errs.push(required_with(
                    child(&p, "verbs"),
                    "verbs must contain at least one value",
                ));
            }
            let has_urls = !arr_at(r, "/nonResourceURLs").is_empty();
            if has_urls
                && obj
                    .pointer("/metadata/namespace")
                    .is_some_and(|n| n.as_str().is_some_and(|s| !s.is_empty()))
            {
                errs.push(invalid_raw(
                    child(&p, "nonResourceURLs"),
                    &r["nonResourceURLs"].to_string(),
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !has_urls
                && !arr_at(r, "/resources").is_empty()
                && arr_at(r, "/apiGroups").is_empty()
            {
                errs.push(required_with(
                    child(&p, "apiGroups"),
                    "resource rules must supply at least one api group",
                ));
            }
            if has_urls
                && (!arr_at(r, "/resources").is_empty() || !arr_at(r, "/apiGroups").is_empty())
            {
                errs.push(invalid_raw(
                    child(&p, "nonResourceURLs"),
                    &r["nonResourceURLs"].to_string(),
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
        }
        errs
    }
}

/// Role or ClusterRole bindings; `cluster` limits roleRef.kind to ClusterRole.
pub struct RoleBindingStrategy {
    pub cluster: bool,
}

impl Strategy for RoleBindingStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        let group = str_at(obj, "/roleRef/apiGroup");
        if group != RBAC_GROUP {
            errs.push(Cause::not_supported(
                "roleRef.apiGroup",
                &Value::from(group),
                &[RBAC_GROUP],
            ));
        }
        let kind = str_at(obj, "/roleRef/kind");
        let kinds: &[&str] = if self.cluster {
            &["ClusterRole"]
        } else {
            &["Role", "ClusterRole"]
        };
        if !kinds.contains(&kind) {
            errs.push(Cause::not_supported(
                "roleRef.kind",
                &Value::from(kind),
                kinds,
            ));
        }
        let name = str_at(obj, "/roleRef/name");
        if name.is_empty() {
            errs.push(Cause::required("roleRef.name"));
        } else {
            errs.extend(crate::validation::invalid_each(
                "roleRef.name",
                name,
                crate::validation::is_path_segment_name(name),
            ));
        }
        for (i, s) in arr_at(obj, "/subjects").iter().enumerate() {
            let p = index("subjects", i);
            if str_at(s, "/name").is_empty() {
                errs.push(Cause::required(child(&p, "name")));
            }
            match str_at(s, "/kind") {
                "ServiceAccount" => {
                    let g = str_at(s, "/apiGroup");
                    if !g.is_empty() {
                        errs.push(Cause::not_supported(
                            child(&p, "apiGroup"),
                            &Value::from(g),
                            &[""],
                        ));
                    }
                    if self.cluster && str_at(s, "/namespace").is_empty() {
                        errs.push(Cause::required(child(&p, "namespace")));
                    }
                }
                "User" | "Group" => {
                    let g = str_at(s, "/apiGroup");
                    if g != RBAC_GROUP {
                        errs.push(Cause::not_supported(
                            child(&p, "apiGroup"),
                            &Value::from(g),
                            &[RBAC_GROUP],
                        ));
                    }
                }
                k => errs.push(Cause::not_supported(
                    child(&p, "kind"),
                    &Value::from(k),
                    &["ServiceAccount", "User", "Group"],
                )),
            }
        }
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<Cause> {
        let mut errs = self.validate_create(new);
        if new.get("roleRef") != old.get("roleRef") {
            let r = |k: &str| str_at(new, &format!("/roleRef/{k}")).to_string();
            errs.push(invalid_raw(
                "roleRef",
                &format!(
                    "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
                    r("apiGroup"),
                    r("kind"),
                    r("name")
                ),
                "cannot change roleRef",
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_rules() {
        let ok = json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
        assert!(RoleStrategy.validate_create(&ok).is_empty());
        let e = RoleStrategy.validate_create(&json!({"rules": [{"resources": ["pods"]}]}));
        assert_eq!(e[0].field, "rules[0].verbs");
        assert_eq!(e[1].field, "rules[0].apiGroups");
        assert_eq!(RoleStrategy.name_rule(), NameRule::PathSegment);
    }

    #[test]
    fn binding_roleref() {
        let s = RoleBindingStrategy { cluster: false };
        let ok = json!({"roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "x"}]});
        assert!(s.validate_create(&ok).is_empty());
        let e = s.validate_create(&json!({}));
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(f, ["roleRef.apiGroup", "roleRef.kind", "roleRef.name"]);
        let mut changed = ok.clone();
        changed["roleRef"]["name"] = json!("other");
        let e = s.validate_update(&changed, &ok);
        assert_eq!(e[0].field, "roleRef");
        assert!(e[0].message.ends_with("cannot change roleRef"));
        let e = RoleBindingStrategy { cluster: true }.validate_create(&ok);
        assert_eq!(e[0].field, "roleRef.kind");
    }
}
