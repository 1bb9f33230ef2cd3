//! imagePullSecrets: the registry credentials in `kubernetes.io/dockerconfigjson`
//! and `kubernetes.io/dockercfg` Secrets, and which of them apply to an
//! image. Like upstream's keyring, a key matches when its host (with `*`
//! label globs) and port equal the image's registry and its path is a
//! prefix of the image's path; more specific keys are tried first.

use super::reference::{DOCKER_HUB, ImageRef};
use crate::cri::api::AuthConfig;
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
pub const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";
pub const DOCKERCFG: &str = "kubernetes.io/dockercfg";
pub const DOCKERCFG_KEY: &str = ".dockercfg";

#[derive(Deserialize, Default, Clone, Debug)]
struct Entry {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auth: String,
    #[serde(default)]
    identitytoken: String,
    #[serde(default)]
    registrytoken: String,
}

#[derive(Deserialize)]
struct ConfigJson {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
}

/// The registry entries of one secret (none when it is of another type or malformed).
fn entries(secret: &Secret) -> BTreeMap<String, Entry> {
    let ty = secret.type_.as_deref().unwrap_or_default();
    let data = secret.data.as_ref();
    let get = |k: &str| data.and_then(|d| d.get(k)).map(|b| b.0.as_slice());
    let parsed = match ty {
        DOCKER_CONFIG_JSON => get(DOCKER_CONFIG_JSON_KEY)
            .and_then(|b| serde_json::from_slice::<ConfigJson>(b).ok())
            .map(|c| c.auths),
        DOCKERCFG => get(DOCKERCFG_KEY).and_then(|b| serde_json::from_slice(b).ok()),
        _ => None,
    };
    parsed.unwrap_or_default()
}

/// A key's host, port and path: `https://reg.io:5000/team/` → (`reg.io`, `5000`, `team`).
fn split_key(key: &str) -> (String, String, String) {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let (hostport, path) = k.split_once('/').unwrap_or((k, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (hostport, ""),
    };
    let mut host = host.to_ascii_lowercase();
    let mut path = path.trim_end_matches('/').to_string();
    // Docker Hub's historic keys all mean docker.io; `/v1/` is the API version, not a path.
    if matches!(
        host.as_str(),
        "index.docker.io" | "registry-1.docker.io" | "docker.io"
    ) {
        host = DOCKER_HUB.into();
        if path == "v1" || path == "v2" {
            path.clear();
        }
    }
    (host, port.to_string(), path)
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p.len() == h.len()
        && p.iter()
            .zip(&h)
            .all(|(p, h)| *p == "*" || p == h || (p.contains('*') && glob(p, h)))
}

/// `*` matches any run of characters within one label.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((pre, rest)) => {
            let Some(tail) = s.strip_prefix(pre) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

fn key_matches(key: &str, image: &ImageRef) -> bool {
    let (khost, kport, kpath) = split_key(key);
    let (ihost, iport, _) = split_key(image.registry());
    let ipath = image
        .registry_path()
        .split_once('/')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    let path_ok = kpath.is_empty() || ipath == kpath || ipath.starts_with(&format!("{kpath}/"));
    kport == iport && host_matches(&khost, &ihost) && path_ok
}

fn to_auth(e: &Entry) -> AuthConfig {
    let (mut username, mut password) = (e.username.clone(), e.password.clone());
    if username.is_empty()
        && !e.auth.is_empty()
        && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(e.auth.trim())
        && let Ok(s) = String::from_utf8(raw)
        && let Some((u, p)) = s.split_once(':')
    {
        username = u.to_string();
        password = p.to_string();
    }
    AuthConfig {
        username,
        password,
        auth: e.auth.clone(),
        // Left empty as upstream's keyring leaves it: containerd parses a
        // non-empty one as a URL and drops the credentials unless its host
        // equals the registry's, which a bare key (`reg:5000`, `docker.io`)
        // never satisfies; the key already chose these credentials.
        server_address: String::new(),
        identity_token: e.identitytoken.clone(),
        registry_token: e.registrytoken.clone(),
    }
}

/// The credentials from `secrets` that apply to `image`, most specific
/// key first (upstream tries them in turn until a pull succeeds).
pub fn auths_for(image: &ImageRef, secrets: &[Secret]) -> Vec<AuthConfig> {
    let mut matched: Vec<(String, AuthConfig)> = Vec::new();
    for s in secrets {
        for (key, entry) in entries(s) {
            if key_matches(&key, image) {
                let (h, p, path) = split_key(&key);
                matched.push((format!("{h}:{p}/{path}"), to_auth(&entry)));
            }
        }
    }
    // Reverse lexicographic order puts longer paths before their prefixes.
    matched.sort_by(|a, b| b.0.cmp(&a.0));
    matched.into_iter().map(|(_, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::reference::parse;
    use k8s_openapi::ByteString;

    fn secret(ty: &str, key: &str, body: serde_json::Value) -> Secret {
        Secret {
            type_: Some(ty.into()),
            data: Some(
                [(
                    key.to_string(),
                    ByteString(serde_json::to_vec(&body).unwrap()),
                )]
                .into_iter()
                .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn dockerconfigjson_matches_registry_host() {
        let s = secret(
            DOCKER_CONFIG_JSON,
            DOCKER_CONFIG_JSON_KEY,
            serde_json::json!({"auths": {
                "127.0.0.1:5000": {"auth": base64::engine::general_purpose::STANDARD.encode("alice:s3cret")},
                "other.example.com": {"username": "bob", "password": "x"},
            }}),
        );
        let a = auths_for(
            &parse("127.0.0.1:5000/app:1").unwrap(),
            std::slice::from_ref(&s),
        );
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].username.as_str(), a[0].password.as_str()),
            ("alice", "s3cret")
        );
        assert_eq!(a[0].server_address, "", "containerd must not filter on it");
        assert!(
            auths_for(
                &parse("127.0.0.1:5001/app:1").unwrap(),
                std::slice::from_ref(&s)
            )
            .is_empty()
        );
        assert!(auths_for(&parse("busybox").unwrap(), &[s]).is_empty());
    }

    #[test]
    fn dockercfg_and_docker_hub_keys() {
        let s = secret(
            DOCKERCFG,
            DOCKERCFG_KEY,
            serde_json::json!({"https://index.docker.io/v1/": {"username": "u", "password": "p"}}),
        );
        let a = auths_for(&parse("busybox:1.36").unwrap(), std::slice::from_ref(&s));
        assert_eq!(a.len(), 1);
        assert_eq!(
            auths_for(
                &parse("docker.io/team/x").unwrap(),
                std::slice::from_ref(&s)
            )
            .len(),
            1
        );
        assert!(auths_for(&parse("quay.io/team/x").unwrap(), &[s]).is_empty());
    }

    #[test]
    fn globs_paths_and_order() {
        let s = secret(
            DOCKER_CONFIG_JSON,
            DOCKER_CONFIG_JSON_KEY,
            serde_json::json!({"auths": {
                "*.example.com": {"username": "wild", "password": "1"},
                "reg.example.com/team": {"username": "team", "password": "2"},
                "reg.example.com/teamx": {"username": "no", "password": "3"},
            }}),
        );
        let a = auths_for(
            &parse("reg.example.com/team/app:1").unwrap(),
            std::slice::from_ref(&s),
        );
        let users: Vec<&str> = a.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(users, ["team", "wild"]);
        // A glob stays within one label.
        assert!(auths_for(&parse("a.reg.example.com/x:1").unwrap(), &[s]).is_empty());
    }

    #[test]
    fn other_secret_types_are_ignored() {
        let s = secret(
            "Opaque",
            DOCKER_CONFIG_JSON_KEY,
            serde_json::json!({"auths": {"docker.io": {}}}),
        );
        assert!(auths_for(&parse("busybox").unwrap(), &[s]).is_empty());
    }
}
