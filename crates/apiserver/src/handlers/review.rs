//! The review resources, which are asked rather than stored: access reviews
//! (`kubectl auth can-i`), rules reviews, `SelfSubjectReview` (`kubectl auth
//! whoami`) and `TokenReview` (static and service-account tokens). Each
//! answers its request with a status.

use crate::authn::UserInfo;
use crate::authz::Attributes;
use crate::codec::{self, Resp};
use crate::serve::ApiServer;
use apimachinery::{ApiError, Cause, ResourceInfo};
use http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// True for the resources this module answers.
pub fn is_review(res: &ResourceInfo) -> bool {
    matches!(
        (res.group.as_str(), res.plural.as_str()),
        (
            "authorization.k8s.io",
            "subjectaccessreviews"
                | "selfsubjectaccessreviews"
                | "localsubjectaccessreviews"
                | "selfsubjectrulesreviews"
        ) | (
            "authentication.k8s.io",
            "selfsubjectreviews" | "tokenreviews"
        )
    )
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn attributes(spec: &Value) -> Result<Attributes, ApiError> {
    if let Some(r) = spec.get("resourceAttributes") {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        return Ok(Attributes {
            verb: s("verb"),
            group: s("group"),
            version: s("version"),
            resource: s("resource"),
            subresource: s("subresource"),
            namespace: s("namespace"),
            name: s("name"),
            path: String::new(),
        });
    }
    if let Some(n) = spec.get("nonResourceAttributes") {
        let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        return Ok(Attributes {
            verb: s("verb"),
            path: s("path"),
            ..Default::default()
        });
    }
    Err(ApiError::invalid(
        "authorization.k8s.io",
        "SubjectAccessReview",
        "",
        vec![Cause::invalid(
            "spec.resourceAttributes",
            &Value::Null,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
    ))
}

/// Answer a review request made by `user` at namespace `ns`.
pub async fn create(
    srv: &Arc<ApiServer>,
    res: &ResourceInfo,
    ns: &str,
    mut body: Value,
    user: &UserInfo,
) -> Result<Resp, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was in an unknown format",
        ));
    }
    body["apiVersion"] = res.api_version().into();
    body["kind"] = res.kind.clone().into();
    let spec = body.get("spec").cloned().unwrap_or_default();
    let status = match res.plural.as_str() {
        "selfsubjectaccessreviews" | "subjectaccessreviews" | "localsubjectaccessreviews" => {
            let attrs = attributes(&spec)?;
            if res.plural == "localsubjectaccessreviews" && attrs.namespace != ns {
                return Err(ApiError::invalid(
                    &res.group,
                    &res.kind,
                    "",
                    vec![Cause::invalid(
                        "spec.resourceAttributes.namespace",
                        &attrs.namespace.clone().into(),
                        "must match metadata.namespace",
                    )],
                ));
            }
            let subject = if res.plural == "selfsubjectaccessreviews" {
                user.clone()
            } else {
                let groups = strs(spec.get("groups"));
                let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
                let mut u = UserInfo::new(
                    spec.get("user").and_then(Value::as_str).unwrap_or(""),
                    &refs,
                );
                u.uid = spec
                    .get("uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                u
            };
            match srv.authz.authorize(&subject, &attrs) {
                Ok(()) => json!({"allowed": true}),
                Err(reason) => json!({"allowed": false, "reason": reason}),
            }
        }
        "selfsubjectrulesreviews" => json!({
            // The authorizer allows every authenticated user everything.
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        "selfsubjectreviews" => json!({"userInfo": user_json(user)}),
        "tokenreviews" => {
            let token = spec.get("token").and_then(Value::as_str).unwrap_or("");
            let asked = strs(spec.get("audiences"));
            match srv.authn.token(token) {
                Some(u) => {
                    json!({"authenticated": true, "user": user_json(&u), "audiences": asked})
                }
                None => match &srv.sa_tokens {
                    // A service-account token, for the audiences asked about
                    // (the API server's when none are).
                    Some(t) if crate::satoken::looks_like_jwt(token) => {
                        let auds = if asked.is_empty() {
                            t.audiences().to_vec()
                        } else {
                            asked
                        };
                        match t.authenticate_for(&srv.registry, token, &auds).await {
                            Ok((u, claims)) => {
                                let both: Vec<&String> =
                                    auds.iter().filter(|a| claims.aud.contains(a)).collect();
                                json!({"authenticated": true, "user": user_json(&u), "audiences": both})
                            }
                            Err(e) => {
                                json!({"authenticated": false, "user": {}, "error": e.to_string()})
                            }
                        }
                    }
                    _ => json!({"authenticated": false, "user": {}}),
                },
            }
        }
        _ => return Err(ApiError::not_found_path()),
    };
    body["status"] = status;
    if body.get("metadata").is_none() {
        body["metadata"] = json!({});
    }
    Ok(codec::json(StatusCode::CREATED, &body))
}

fn user_json(u: &UserInfo) -> Value {
    let mut v = json!({"username": u.name, "groups": u.groups});
    if !u.uid.is_empty() {
        v["uid"] = u.uid.clone().into();
    }
    if !u.extra.is_empty() {
        v["extra"] = json!(u.extra);
    }
    v
}
