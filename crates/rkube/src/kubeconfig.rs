//! The admin kubeconfig `kubectl --kubeconfig PATH` uses as is.

use crate::certs::Pki;
use base64::Engine;
use std::path::Path;

pub fn write_admin(path: &Path, server_url: &str, pki: &Pki) -> anyhow::Result<()> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let text = format!(
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
    user: admin
  name: rkube
current-context: rkube
preferences: {{}}
users:
- name: admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
",
        ca = b64(&pki.ca_pem),
        cert = b64(&pki.admin_cert_pem),
        key = b64(&pki.admin_key_pem),
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::certs::write_private(path, &text)
}
