//! Authentication with a service-account token: the JWT must carry our
//! signature, be within its times (60 s leeway, as upstream), be issued by
//! us for one of our audiences, and what it names must still be there: the
//! service account with the same uid, and the bound pod, secret or node
//! with theirs, not deleted for longer than the leeway. Lookups are served
//! from the watch cache and repeated against the store only when the cache
//! disagrees, so a token costs no store read in the common case.

use super::claims::username;
use super::{Claims, SaTokenError, ServiceAccountTokens};
use crate::authn::UserInfo;
use apimachinery::meta as m;
use jsonwebtoken::{Algorithm, Validation};
use registry::engine::Registry;
use serde_json::Value;
use std::collections::BTreeMap;

const LEEWAY_SECONDS: u64 = 60;

/// Extra keys upstream sets on service-account users.
pub const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
pub const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";
pub const EXTRA_NODE_NAME: &str = "authentication.kubernetes.io/node-name";
pub const EXTRA_NODE_UID: &str = "authentication.kubernetes.io/node-uid";
pub const EXTRA_CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// Cheap test before any crypto: three base64url segments, the first a
/// JSON object (`eyJ` is `{"` encoded).
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ")
        && token.split('.').count() == 3
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ServiceAccountTokens {
    /// Verify the signature and the registered claims for the API server's
    /// audiences; nothing is looked up.
    pub fn verify_claims(&self, token: &str) -> Result<Claims, SaTokenError> {
        self.verify_claims_for(token, &self.audiences)
    }

    /// As [`Self::verify_claims`], for a token meant for one of `audiences`.
    pub fn verify_claims_for(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Claims, SaTokenError> {
        let mut v = Validation::new(Algorithm::ES256);
        v.leeway = LEEWAY_SECONDS;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.key.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| SaTokenError::Invalid(format!("invalid service account token: {e}")))
    }

    /// The user a token stands for, if it is valid now.
    pub async fn authenticate(
        &self,
        reg: &Registry,
        token: &str,
    ) -> Result<UserInfo, SaTokenError> {
        Ok(self.authenticate_for(reg, token, &self.audiences).await?.0)
    }

    /// As [`Self::authenticate`], for a token meant for one of `audiences`
    /// (a TokenReview's); also hands back the token's claims.
    pub async fn authenticate_for(
        &self,
        reg: &Registry,
        token: &str,
        audiences: &[String],
    ) -> Result<(UserInfo, Claims), SaTokenError> {
        let claims = self.verify_claims_for(token, audiences)?;
        let k = &claims.kubernetes;
        let ns = k.namespace.as_str();
        let sa_name = k.serviceaccount.name.as_str();
        if ns.is_empty() || sa_name.is_empty() || claims.sub != username(ns, sa_name) {
            return Err(SaTokenError::Invalid(
                "service account token claims are incomplete".into(),
            ));
        }
        let now = jiff::Timestamp::now().as_second();
        let deleted_long_ago = |obj: &Value| {
            obj.pointer("/metadata/deletionTimestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .is_some_and(|t| t.as_second() < now - LEEWAY_SECONDS as i64)
        };
        let sa = lookup(reg, "serviceaccounts", ns, sa_name, &k.serviceaccount.uid)
            .await?
            .ok_or_else(|| {
                SaTokenError::Invalid(format!("serviceaccounts \"{sa_name}\" not found"))
            })?;
        if deleted_long_ago(&sa) {
            return Err(SaTokenError::Invalid(format!(
                "service account {ns}/{sa_name} has been deleted"
            )));
        }
        if m::uid(&sa) != k.serviceaccount.uid {
            return Err(SaTokenError::Invalid(format!(
                "service account UID ({}) does not match claim ({})",
                m::uid(&sa),
                k.serviceaccount.uid
            )));
        }
        let invalidated =
            || SaTokenError::Invalid("service account token has been invalidated".into());
        for (plural, bound, scope) in [("secrets", &k.secret, ns), ("pods", &k.pod, ns)] {
            let Some(r) = bound else { continue };
            let obj = lookup(reg, plural, scope, &r.name, &r.uid)
                .await?
                .ok_or_else(invalidated)?;
            if deleted_long_ago(&obj) {
                return Err(invalidated());
            }
            if m::uid(&obj) != r.uid {
                return Err(SaTokenError::Invalid(format!(
                    "{} UID ({}) does not match service account {} ref claim ({})",
                    &plural[..plural.len() - 1],
                    m::uid(&obj),
                    &plural[..plural.len() - 1],
                    r.uid
                )));
            }
        }
        // A node-bound token needs its node; a pod-bound one only names it.
        if let (Some(node), None) = (&k.node, &k.pod) {
            let obj = lookup(reg, "nodes", "", &node.name, &node.uid)
                .await?
                .ok_or_else(invalidated)?;
            if deleted_long_ago(&obj) || m::uid(&obj) != node.uid {
                return Err(invalidated());
            }
        }
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(p) = &k.pod {
            extra.insert(EXTRA_POD_NAME.into(), vec![p.name.clone()]);
            extra.insert(EXTRA_POD_UID.into(), vec![p.uid.clone()]);
        }
        if !claims.jti.is_empty() {
            extra.insert(
                EXTRA_CREDENTIAL_ID.into(),
                vec![format!("JTI={}", claims.jti)],
            );
        }
        if let Some(n) = &k.node {
            extra.insert(EXTRA_NODE_NAME.into(), vec![n.name.clone()]);
            if !n.uid.is_empty() {
                extra.insert(EXTRA_NODE_UID.into(), vec![n.uid.clone()]);
            }
        }
        let ns_group = format!("system:serviceaccounts:{ns}");
        let mut user = UserInfo::new(&claims.sub, &["system:serviceaccounts", ns_group.as_str()]);
        user.uid = k.serviceaccount.uid.clone();
        user.extra = extra;
        Ok((user, claims))
    }
}

/// The object from the watch cache, or from the store when the cache has
/// none or one with another uid (it may lag a recreation).
async fn lookup(
    reg: &Registry,
    plural: &str,
    ns: &str,
    name: &str,
    want_uid: &str,
) -> Result<Option<Value>, SaTokenError> {
    let Some(res) = reg.catalog().find("", "v1", plural) else {
        return Err(SaTokenError::Lookup(format!("no resource {plural}")));
    };
    match reg.get(&res, ns, name, "0").await {
        Ok(obj) if m::uid(&obj) == want_uid => return Ok(Some(obj)),
        Ok(_) => {}
        Err(e) if e.code == 404 => {}
        Err(e) => return Err(SaTokenError::Lookup(e.message)),
    }
    match reg.get(&res, ns, name, "").await {
        Ok(obj) => Ok(Some(obj)),
        Err(e) if e.code == 404 => Ok(None),
        Err(e) => Err(SaTokenError::Lookup(e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("test-admin-token"));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
        assert!(!looks_like_jwt("eyJ a.b.c"));
    }
}
