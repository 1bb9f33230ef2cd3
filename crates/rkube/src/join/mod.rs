//! Joining nodes, k3s's way. The server keeps a join token
//! `K10<sha256 of the CA PEM>::server:<secret>` in `DATA/server/token`. An
//! agent fetches the CA from `/cacerts` without verifying (it has nothing
//! to verify with yet), trusts it only if its hash matches the token, then
//! asks `/v1-rkube/node-credentials` (bearer: the secret) for its client and
//! serving certificates over TLS verified with that CA. The credentials and
//! a kubeconfig land in `DATA/agent/`; later starts reuse them and need no token.

use crate::certs::{self, write_private};
use anyhow::{Context, anyhow, bail};
use apiserver::NodeCredentials;
use base64::Engine;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

mod client;
pub use client::{fetch_ca, request_credentials};

/// The token's prefix: k3s's "secure" format, version 10.
const TOKEN_PREFIX: &str = "K10";

/// sha256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A parsed join token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub ca_hash: String,
    pub secret: String,
}

impl Token {
    pub fn parse(text: &str) -> anyhow::Result<Token> {
        let bad = || {
            anyhow!(
                "malformed join token: expected K10<CA hash>::server:<secret> (see `rkube token` on the server)"
            )
        };
        let rest = text.trim().strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
        let (hash, cred) = rest.split_once("::").ok_or_else(bad)?;
        let secret = cred.strip_prefix("server:").ok_or_else(bad)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || secret.is_empty() {
            return Err(bad());
        }
        Ok(Token {
            ca_hash: hash.to_ascii_lowercase(),
            secret: secret.to_string(),
        })
    }

    pub fn format(&self) -> String {
        format!("{TOKEN_PREFIX}{}::server:{}", self.ca_hash, self.secret)
    }
}

/// The server's token path under its data dir.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("server").join("token")
}

/// Load the server's join token, or create it (0600) on first start.
pub fn ensure_server_token(data_dir: &Path, ca_pem: &str) -> anyhow::Result<Token> {
    let path = token_path(data_dir);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = Token::parse(&text).with_context(|| format!("reading {}", path.display()))?;
        if token.ca_hash != sha256_hex(ca_pem.as_bytes()) {
            bail!(
                "{} was made for another CA; remove it to get a new join token",
                path.display()
            );
        }
        return Ok(token);
    }
    let mut secret = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| anyhow!("no randomness for the join token"))?;
    let token = Token {
        ca_hash: sha256_hex(ca_pem.as_bytes()),
        secret: secret.iter().map(|b| format!("{b:02x}")).collect(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_private(&path, &format!("{}\n", token.format()))?;
    Ok(token)
}

/// Where an agent keeps its credentials.
#[derive(Clone, Debug)]
pub struct AgentFiles {
    pub certs_dir: PathBuf,
    pub kubeconfig: PathBuf,
}

impl AgentFiles {
    pub fn new(agent_dir: &Path) -> Self {
        AgentFiles {
            certs_dir: agent_dir.join("certs"),
            kubeconfig: agent_dir.join("kubelet.kubeconfig"),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.certs_dir.join(name)
    }

    /// The stored credentials, if a join happened before.
    pub fn load(&self) -> Option<NodeCredentials> {
        let r = |n: &str| std::fs::read_to_string(self.path(n)).ok();
        Some(NodeCredentials {
            ca_pem: r("ca.crt")?,
            client_cert_pem: r("client-kubelet.crt")?,
            client_key_pem: r("client-kubelet.key")?,
            serving_cert_pem: r("serving-kubelet.crt")?,
            serving_key_pem: r("serving-kubelet.key")?,
        })
    }

    /// Store credentials (0600) and a kubeconfig for `server_url` using them.
    pub fn store(&self, creds: &NodeCredentials, server_url: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.certs_dir)
            .with_context(|| format!("creating {}", self.certs_dir.display()))?;
        for (name, text) in [
            ("ca.crt", &creds.ca_pem),
            ("client-kubelet.crt", &creds.client_cert_pem),
            ("client-kubelet.key", &creds.client_key_pem),
            ("serving-kubelet.crt", &creds.serving_cert_pem),
            ("serving-kubelet.key", &creds.serving_key_pem),
        ] {
            write_private(&self.path(name), text)?;
        }
        write_private(&self.kubeconfig, &kubeconfig(server_url, creds))
    }
}

/// The kubelet's kubeconfig: the node's client certificate, inline.
fn kubeconfig(server_url: &str, creds: &NodeCredentials) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server_url}
  name: rkube
contexts:
- context:
    cluster: rkube
    user: kubelet
  name: rkube
current-context: rkube
preferences: {{}}
users:
- name: kubelet
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
",
        ca = b64(&creds.ca_pem),
        cert = b64(&creds.client_cert_pem),
        key = b64(&creds.client_key_pem),
    )
}

/// The agent's credentials: stored ones if a join happened before (the
/// kubeconfig is rewritten for `server`), otherwise a join with `token`.
pub async fn agent_credentials(
    files: &AgentFiles,
    server: &str,
    token: Option<&str>,
    node: &str,
    ips: &[IpAddr],
) -> anyhow::Result<NodeCredentials> {
    if let Some(creds) = files.load() {
        files.store(&creds, server)?;
        return Ok(creds);
    }
    let token = token.ok_or_else(|| {
        anyhow!(
            "no node credentials in {} yet: --token is needed to join (`rkube token` on the server prints it)",
            files.certs_dir.display()
        )
    })?;
    let token = Token::parse(token)?;
    let ca = fetch_ca(server, &token).await?;
    let creds = request_credentials(server, &token, &ca, node, ips).await?;
    files.store(&creds, server)?;
    tracing::info!(node, server, "joined the cluster");
    Ok(creds)
}

/// The server's own node: credentials straight from its CA, no HTTP.
pub fn local_credentials(
    files: &AgentFiles,
    issuer: &certs::NodeIssuer,
    server: &str,
    node: &str,
    ips: &[IpAddr],
) -> anyhow::Result<NodeCredentials> {
    // The server's own node is issued fresh credentials on every start
    // (cheap, local): its name or address may have changed since.
    let creds = issuer.credentials(node, ips)?;
    files.store(&creds, server)?;
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        let t = Token {
            ca_hash: sha256_hex(b"ca"),
            secret: "abc123".into(),
        };
        let text = t.format();
        assert!(text.starts_with("K10"));
        assert!(text.ends_with("::server:abc123"));
        assert_eq!(Token::parse(&format!("{text}\n")).expect("parse"), t);
        assert!(Token::parse("abc123").is_err());
        assert!(Token::parse("K10abcd::server:x").is_err());
        assert!(Token::parse(&format!("K10{}::server:", sha256_hex(b"ca"))).is_err());
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn server_token_is_stable_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let a = ensure_server_token(dir.path(), "CA").expect("token");
        let b = ensure_server_token(dir.path(), "CA").expect("token");
        assert_eq!(a, b);
        assert_eq!(a.ca_hash, sha256_hex(b"CA"));
        assert_eq!(a.secret.len(), 32);
        let mode = std::fs::metadata(token_path(dir.path()))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(ensure_server_token(dir.path(), "other CA").is_err());
    }
}
