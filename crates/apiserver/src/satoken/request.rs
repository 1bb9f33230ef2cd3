//! `POST .../serviceaccounts/{name}/token`: a TokenRequest
//! (authentication.k8s.io/v1) answered with a signed token, as upstream's
//! TokenREST: expirationSeconds defaults to 3600 and may not be under 600
//! or over 2^32; audiences default to the API server's; a bound Pod, Secret
//! or Node must exist (with the given uid, if any); a pod-bound token asking
//! for 3607 s lives a year and warns after 3607 s.

use super::claims::{EXTENDED_EXPIRATION_SECONDS, WARN_ONLY_EXPIRATION_SECONDS};
use super::{Claims, ObjectRef, ServiceAccountTokens};
use apimachinery::{ApiError, Cause, meta as m};
use registry::engine::Registry;
use serde_json::{Value, json};

const GROUP: &str = "authentication.k8s.io";
const KIND: &str = "TokenRequest";
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
const MIN_EXPIRATION_SECONDS: i64 = 600;
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn invalid(name: &str, field: &str, value: &Value, detail: &str) -> ApiError {
    ApiError::invalid(
        GROUP,
        KIND,
        name,
        vec![Cause::invalid(field, value, detail)],
    )
}

async fn get_core(reg: &Registry, plural: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
    let res = reg
        .catalog()
        .find("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("no resource {plural}")))?;
    reg.get(&res, ns, name, "").await
}

/// Answer a TokenRequest for service account `ns/name`.
pub async fn create(
    tokens: &ServiceAccountTokens,
    reg: &Registry,
    ns: &str,
    name: &str,
    mut req: Value,
) -> Result<Value, ApiError> {
    if !req.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was in an unknown format",
        ));
    }
    if let Some(kind) = req.get("kind").and_then(Value::as_str)
        && kind != KIND
    {
        return Err(ApiError::bad_request(format!(
            "the body of the request was of kind {kind:?}, expected {KIND}"
        )));
    }
    let body_name = m::name(&req).to_string();
    if !body_name.is_empty() && body_name != name {
        return Err(invalid(
            name,
            "metadata.name",
            &json!(body_name),
            "must match the service account name if specified",
        ));
    }
    let body_ns = m::namespace(&req).to_string();
    if !body_ns.is_empty() && body_ns != ns {
        return Err(invalid(
            name,
            "metadata.namespace",
            &json!(body_ns),
            "must match the service account namespace if specified",
        ));
    }
    let spec = req.get("spec").cloned().unwrap_or_else(|| json!({}));
    let expiration = match spec.get("expirationSeconds") {
        None | Some(Value::Null) => DEFAULT_EXPIRATION_SECONDS,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "TokenRequest in version \"v1\" cannot be handled as a TokenRequest: spec.expirationSeconds: {v} is not an integer"
            ))
        })?,
    };
    let mut audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();

    let sa = get_core(reg, "serviceaccounts", ns, name).await?;
    if audiences.is_empty() {
        audiences = tokens.audiences().to_vec();
    }
    let now = jiff::Timestamp::now().as_second();
    if expiration < MIN_EXPIRATION_SECONDS {
        return Err(invalid(
            "",
            "spec.expirationSeconds",
            &json!(expiration),
            "may not specify a duration less than 10 minutes",
        ));
    }
    if expiration > MAX_EXPIRATION_SECONDS {
        return Err(ApiError::invalid(
            GROUP,
            KIND,
            "",
            vec![Cause::new(
                "FieldValueTooLong",
                "spec.expirationSeconds",
                "may not specify a duration larger than 2^32 seconds",
            )],
        ));
    }

    let mut pod_ref = None;
    let mut secret_ref = None;
    let mut node_ref = None;
    if let Some(r) = spec.get("boundObjectRef").filter(|r| r.is_object()) {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (api_version, kind, ref_name, ref_uid) =
            (s("apiVersion"), s("kind"), s("name"), s("uid"));
        let (group, version) = api_version
            .split_once('/')
            .unwrap_or(("", api_version.as_str()));
        let obj = match (group, kind.as_str()) {
            ("", "Pod") => {
                let pod = get_core(reg, "pods", ns, &ref_name).await?;
                let pod_sa = pod
                    .pointer("/spec/serviceAccountName")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if pod_sa != name {
                    return Err(ApiError::bad_request(format!(
                        "cannot bind token for serviceaccount {name:?} to pod running with different serviceaccount name."
                    )));
                }
                let node_name = pod
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !node_name.is_empty() {
                    // A node that is gone is still named, without a uid.
                    let uid = match get_core(reg, "nodes", "", node_name).await {
                        Ok(n) => m::uid(&n).to_string(),
                        Err(e) if e.code == 404 => String::new(),
                        Err(e) => return Err(e),
                    };
                    node_ref = Some(ObjectRef {
                        name: node_name.to_string(),
                        uid,
                    });
                }
                pod_ref = Some(ObjectRef {
                    name: ref_name.clone(),
                    uid: m::uid(&pod).to_string(),
                });
                pod
            }
            ("", "Secret") => {
                let secret = get_core(reg, "secrets", ns, &ref_name).await?;
                secret_ref = Some(ObjectRef {
                    name: ref_name.clone(),
                    uid: m::uid(&secret).to_string(),
                });
                secret
            }
            ("", "Node") => {
                let node = get_core(reg, "nodes", "", &ref_name).await?;
                node_ref = Some(ObjectRef {
                    name: ref_name.clone(),
                    uid: m::uid(&node).to_string(),
                });
                node
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token to object of type {group}/{version}, Kind={kind}"
                )));
            }
        };
        if !ref_uid.is_empty() && ref_uid != m::uid(&obj) {
            return Err(ApiError::conflict(
                "",
                &kind,
                &ref_name,
                &format!(
                    "the UID in the bound object reference ({ref_uid}) does not match the UID in record. The object might have been deleted and then recreated"
                ),
            ));
        }
    }

    // The projected volume's tokens: valid a year, warned about after the
    // asked time, so a kubelet that fails to refresh does not break pods.
    let mut lifetime = expiration;
    let mut warn_after = None;
    if pod_ref.is_some()
        && expiration == WARN_ONLY_EXPIRATION_SECONDS
        && audiences.iter().all(|a| tokens.audiences().contains(a))
    {
        lifetime = EXTENDED_EXPIRATION_SECONDS;
        warn_after = Some(now + expiration);
    }
    let mut claims = Claims::new(ns, name, m::uid(&sa), audiences.clone(), now, lifetime);
    claims.kubernetes.pod = pod_ref;
    claims.kubernetes.secret = secret_ref;
    claims.kubernetes.node = node_ref;
    claims.kubernetes.warnafter = warn_after;
    let token = tokens
        .sign(&claims)
        .map_err(|e| ApiError::internal(format!("failed to generate token: {e}")))?;

    req["apiVersion"] = json!("authentication.k8s.io/v1");
    req["kind"] = json!(KIND);
    let md = m::metadata_mut(&mut req);
    md.insert("name".into(), json!(name));
    md.insert("namespace".into(), json!(ns));
    md.insert("creationTimestamp".into(), json!(rfc3339(now)));
    let mut spec = spec;
    spec["audiences"] = json!(audiences);
    spec["expirationSeconds"] = json!(expiration);
    req["spec"] = spec;
    req["status"] = json!({
        "token": token,
        "expirationTimestamp": rfc3339(now + expiration),
    });
    Ok(req)
}
