//! The claims of a service-account token: the registered ones (iss, sub,
//! aud, exp, iat, nbf, jti) and upstream's private `kubernetes.io` claim
//! naming the namespace, the service account and the bound object.

use serde::{Deserialize, Deserializer, Serialize};

/// Upstream's `WarnOnlyBoundTokenExpirationSeconds`: the expiration the
/// admission-injected projected volume asks for (1h7s), which marks a token
/// whose lifetime the server extends while warning after the asked time.
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 3607;
/// Upstream's `ExpirationExtensionSeconds`: one year.
pub const EXTENDED_EXPIRATION_SECONDS: i64 = 24 * 365 * 60 * 60;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default)]
    pub serviceaccount: ObjectRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    #[serde(rename = "kubernetes.io", default)]
    pub kubernetes: KubernetesClaims,
}

/// The username of a service account.
pub fn username(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

impl Claims {
    /// Claims for service account `ns/name` (uid `uid`), valid from `now`
    /// (unix seconds) for `expiration_seconds`, with a fresh jti.
    pub fn new(
        ns: &str,
        name: &str,
        uid: &str,
        audiences: Vec<String>,
        now: i64,
        expiration_seconds: i64,
    ) -> Self {
        Claims {
            iss: String::new(),
            sub: username(ns, name),
            aud: audiences,
            exp: now + expiration_seconds,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
            kubernetes: KubernetesClaims {
                namespace: ns.to_string(),
                serviceaccount: ObjectRef {
                    name: name.to_string(),
                    uid: uid.to_string(),
                },
                ..Default::default()
            },
        }
    }
}

/// `aud` is a list, but RFC 7519 allows a single string.
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(s) => vec![s],
        Aud::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn private_claim_shape() {
        let mut c = Claims::new("ns", "sa", "u1", vec!["a".into()], 100, 3600);
        c.kubernetes.pod = Some(ObjectRef {
            name: "p".into(),
            uid: "pu".into(),
        });
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["sub"], "system:serviceaccount:ns:sa");
        assert_eq!(
            (v["exp"].as_i64(), v["nbf"].as_i64()),
            (Some(3700), Some(100))
        );
        assert_eq!(
            v["kubernetes.io"],
            json!({"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "u1"}, "pod": {"name": "p", "uid": "pu"}})
        );
        let mut v2 = v.clone();
        v2["aud"] = json!("single");
        let back: Claims = serde_json::from_value(v2).unwrap();
        assert_eq!(back.aud, vec!["single"]);
    }
}
