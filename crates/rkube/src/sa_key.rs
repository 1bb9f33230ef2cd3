//! The service-account signing key: `DATA/server/tls/service-account.key`,
//! an ECDSA P-256 private key (PKCS#8 PEM, mode 0600) created on first start
//! and reused afterwards, so tokens issued before a restart stay valid.

use anyhow::Context;
use apiserver::ServiceAccountTokens;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "service-account.key";

pub fn path(tls_dir: &Path) -> PathBuf {
    tls_dir.join(FILE_NAME)
}

/// Load the key under `tls_dir`, creating it first if it is missing.
pub fn ensure(tls_dir: &Path) -> anyhow::Result<ServiceAccountTokens> {
    let path = path(tls_dir);
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(tls_dir)
                .with_context(|| format!("creating {}", tls_dir.display()))?;
            let pem = rcgen::KeyPair::generate()
                .context("generating the service-account key")?
                .serialize_pem();
            crate::certs::write_private(&path, &pem)
                .with_context(|| format!("writing {}", path.display()))?;
            pem.into_bytes()
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    ServiceAccountTokens::from_pem(&pem).with_context(|| format!("loading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_private_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("server/tls");
        let first = ensure(&tls).unwrap();
        let mode = std::fs::metadata(path(&tls)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = ensure(&tls).unwrap();
        assert_eq!(
            first.key_id(),
            again.key_id(),
            "the same key after a restart"
        );
        std::fs::write(path(&tls), "garbage").unwrap();
        assert!(ensure(&tls).is_err());
    }
}
