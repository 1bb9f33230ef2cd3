//! Service-account tokens, as upstream: ES256 JWTs signed with the cluster's
//! service-account key, issued by the `serviceaccounts/token` subresource
//! (TokenRequest), accepted as bearer tokens while the service account (and
//! the pod, secret or node they are bound to) still exists, and published
//! through OIDC discovery (`/.well-known/openid-configuration`,
//! `/openid/v1/jwks`).

mod claims;
pub mod request;
mod signing;
mod verify;

pub use claims::{Claims, KubernetesClaims, ObjectRef};
pub use signing::SigningKey;
pub use verify::looks_like_jwt;

use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

/// The issuer (and default audience) of every token, upstream's default
/// `--service-account-issuer` for a cluster domain of `cluster.local`.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

#[derive(Debug, thiserror::Error)]
pub enum SaTokenError {
    #[error("service-account key: {0}")]
    Key(String),
    #[error("signing the token: {0}")]
    Sign(String),
    /// The token is not valid (signature, times, issuer, audience) or what
    /// it names no longer exists; the client gets a 401.
    #[error("{0}")]
    Invalid(String),
    /// A lookup failed for another reason than absence.
    #[error("{0}")]
    Lookup(String),
}

/// The issuing and verifying side of the service-account tokens.
#[derive(Debug)]
pub struct ServiceAccountTokens {
    key: SigningKey,
    issuer: String,
    /// What the API server itself accepts (`--api-audiences`, defaulting to
    /// the issuer), and what a TokenRequest without audiences gets.
    audiences: Vec<String>,
}

impl ServiceAccountTokens {
    /// From the PKCS#8 PEM ECDSA P-256 key (`service-account.key`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, SaTokenError> {
        Ok(ServiceAccountTokens {
            key: SigningKey::from_pem(pem)?,
            issuer: ISSUER.to_string(),
            audiences: vec![ISSUER.to_string()],
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    pub fn key_id(&self) -> &str {
        &self.key.kid
    }

    /// A signed JWT carrying `claims` (its `iss` is set to ours).
    pub fn sign(&self, claims: &Claims) -> Result<String, SaTokenError> {
        let mut claims = claims.clone();
        claims.iss = self.issuer.clone();
        let mut header = Header::new(Algorithm::ES256);
        // Upstream's header is {"alg","kid"} only.
        header.typ = None;
        header.kid = Some(self.key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key.encoding)
            .map_err(|e| SaTokenError::Sign(e.to_string()))
    }

    /// `/openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        self.key.jwks()
    }

    /// `/.well-known/openid-configuration`, as upstream with the default
    /// JWKS URI (the issuer's `/openid/v1/jwks`).
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }
}

/// The answer to `/.well-known/openid-configuration` or `/openid/v1/jwks`.
pub(crate) fn discovery_response(tokens: &ServiceAccountTokens, path: &str) -> crate::codec::Resp {
    let (ct, body) = if path == "/openid/v1/jwks" {
        ("application/jwk-set+json", tokens.jwks())
    } else {
        ("application/json", tokens.openid_configuration())
    };
    let mut resp = crate::codec::bytes(
        http::StatusCode::OK,
        ct,
        serde_json::to_vec(&body).unwrap_or_default().into(),
    );
    // Upstream lets caches keep these for an hour.
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}
