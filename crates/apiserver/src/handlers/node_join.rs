//! Joining nodes (k3s's scheme): `GET /cacerts` hands out the cluster CA
//! without authentication (the agent checks it against the hash in its join
//! token), and `POST /v1-rkube/node-credentials`, authenticated with the
//! token's secret as a bearer, returns a node's client and kubelet serving
//! certificates. Minting certificates is not this crate's business: the
//! binary plugs a [`NodeCredentialIssuer`] in with `ApiServer::with_node_join`.

use crate::codec::ReqBody;
use crate::codec::{self, Resp};
use apimachinery::ApiError;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;

pub const CACERTS_PATH: &str = "/cacerts";
pub const CREDENTIALS_PATH: &str = "/v1-rkube/node-credentials";
/// A join request is a name and a few addresses.
const MAX_BODY: usize = 64 * 1024;

/// What an agent asks for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeCredentialsRequest {
    pub node_name: String,
    #[serde(default)]
    pub node_ips: Vec<IpAddr>,
}

/// A node's credentials, all PEM: the cluster CA, the kubelet's client
/// certificate (`system:node:<name>` in `system:nodes`) and its serving
/// certificate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeCredentials {
    pub ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
}

/// Mints node credentials (the binary's certificate authority).
pub trait NodeCredentialIssuer: Send + Sync {
    fn issue(&self, node: &str, ips: &[IpAddr]) -> Result<NodeCredentials, String>;
}

/// The join settings an [`crate::ApiServer`] carries.
pub(crate) struct NodeJoin {
    pub ca_pem: String,
    pub secret: String,
    pub issuer: Arc<dyn NodeCredentialIssuer>,
}

pub(crate) fn is_join_path(path: &str) -> bool {
    path == CACERTS_PATH || path == CREDENTIALS_PATH
}

/// Equal without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A DNS subdomain (RFC 1123), what a Node's name must be.
fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Serve the join endpoints; `join` is `None` when the server has joining off.
pub(crate) async fn handle(join: Option<&NodeJoin>, req: Request<ReqBody>) -> Resp {
    match serve(join, req).await {
        Ok(r) => r,
        Err(e) => codec::error(&e),
    }
}

async fn serve(join: Option<&NodeJoin>, req: Request<ReqBody>) -> Result<Resp, ApiError> {
    let Some(join) = join else {
        return Err(ApiError::not_found_path());
    };
    let path = req.uri().path();
    if path == CACERTS_PATH {
        if req.method() != http::Method::GET {
            return Err(ApiError::method_not_allowed("only GET"));
        }
        return Ok(codec::bytes(
            StatusCode::OK,
            "application/x-pem-file",
            join.ca_pem.clone().into(),
        ));
    }
    if req.method() != http::Method::POST {
        return Err(ApiError::method_not_allowed("only POST"));
    }
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    if !bearer.is_some_and(|t| constant_time_eq(t.as_bytes(), join.secret.as_bytes())) {
        return Err(ApiError::unauthorized());
    }
    let body = http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request: {e}")))?
        .to_bytes();
    let ask: NodeCredentialsRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("decoding the request: {e}")))?;
    if !valid_node_name(&ask.node_name) {
        return Err(ApiError::bad_request(format!(
            "invalid node name {:?}: must be a lowercase RFC 1123 subdomain",
            ask.node_name
        )));
    }
    let creds = join
        .issuer
        .issue(&ask.node_name, &ask.node_ips)
        .map_err(|e| ApiError::internal(format!("issuing node credentials: {e}")))?;
    tracing::info!(node = %ask.node_name, "issued node credentials");
    let value = serde_json::to_value(&creds).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(codec::json(StatusCode::OK, &value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names() {
        assert!(valid_node_name("node-1"));
        assert!(valid_node_name("node-1.example.com"));
        assert!(!valid_node_name("Node"));
        assert!(!valid_node_name("-a"));
        assert!(!valid_node_name(""));
        assert!(!valid_node_name("a..b"));
        assert!(!valid_node_name("a/b"));
    }

    #[test]
    fn secret_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
