//! The cluster's certificates: a CA, the API server's serving certificate
//! (SANs: localhost, 127.0.0.1, the hostname, the machine's addresses and
//! `--tls-san` extras) and an admin client certificate in `system:masters`.
//! Created on first start, reused afterwards (the serving certificate is
//! re-issued when the wanted SANs change). Also the API server's client
//! certificate for kubelets, node credentials (a kubelet's client and
//! serving certificates) and the kubelet server's TLS settings.

use anyhow::{Context, anyhow};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Pki {
    pub dir: PathBuf,
    pub ca_pem: String,
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
    ca_key_pem: String,
    kubelet_client: Arc<rustls::ClientConfig>,
}

/// Write a file only its owner can read, atomically (temp file, fsync, rename).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // A fresh temp file (never one left behind, nor a link someone planted),
    // so the mode really is 0600.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Every name the serving certificate should carry.
fn wanted_sans(extra: &[String]) -> Vec<String> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
    ];
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            sans.push(h.to_string());
        }
    }
    sans.extend(local_addresses());
    sans.extend(extra.iter().cloned());
    sans.sort();
    sans.dedup();
    sans
}

/// IPv4 addresses of this machine's interfaces, from /proc (no extra crate).
pub fn local_addresses() -> Vec<String> {
    let mut out = vec![];
    if let Ok(text) = std::fs::read_to_string("/proc/net/fib_trie") {
        let lines: Vec<&str> = text.lines().collect();
        for w in lines.windows(2) {
            if w[1].contains("/32 host LOCAL") {
                let ip = w[0].trim().trim_start_matches("|-- ").trim();
                if !ip.starts_with("127.")
                    && !ip.starts_with("169.254.")
                    && ip != "0.0.0.0"
                    && !out.iter().any(|x| x == ip)
                {
                    out.push(ip.to_string());
                }
            }
        }
    }
    out
}

/// The address this machine reaches others from: the source address of
/// its default route (a connected UDP socket sends nothing), else the first
/// local IPv4 address. CNI bridges rkube made itself are never the answer
/// unless nothing else exists.
pub fn primary_address() -> Option<std::net::IpAddr> {
    let routed = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.255:9")
                .or_else(|_| s.connect("8.8.8.8:53"))?;
            s.local_addr()
        })
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified() && !ip.is_loopback());
    routed.or_else(|| local_addresses().into_iter().find_map(|a| a.parse().ok()))
}

fn san(name: &str) -> anyhow::Result<SanType> {
    Ok(match name.parse::<std::net::IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(
            name.try_into()
                .map_err(|e| anyhow!("--tls-san {name:?}: {e}"))?,
        ),
    })
}

/// Load or create the PKI under `dir`.
pub fn ensure(dir: &Path, extra_sans: &[String]) -> anyhow::Result<Pki> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (ca_cert_p, ca_key_p) = (dir.join("ca.crt"), dir.join("ca.key"));
    let (ca_pem, ca_key_pem) = match (read(&ca_cert_p), read(&ca_key_p)) {
        (Some(c), Some(k)) => (c, k),
        _ => {
            let key = KeyPair::generate()?;
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.distinguished_name.push(
                DnType::CommonName,
                format!("rkube-ca@{}", jiff::Timestamp::now().as_second()),
            );
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            p.not_after = rcgen::date_time_ymd(2036, 1, 1);
            let cert = p.self_signed(&key)?;
            write_private(&ca_key_p, &key.serialize_pem())?;
            write_private(&ca_cert_p, &cert.pem())?;
            (cert.pem(), key.serialize_pem())
        }
    };
    let ca_key = KeyPair::from_pem(&ca_key_pem).context("reading ca.key")?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).context("reading ca.crt")?;

    let sans = wanted_sans(extra_sans);
    let sans_p = dir.join("serving.sans");
    if read(&sans_p).as_deref() != Some(sans.join("\n").as_str())
        || read(&dir.join("serving.crt")).is_none()
    {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.subject_alt_names = sans.iter().map(|s| san(s)).collect::<anyhow::Result<_>>()?;
        p.distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.not_after = rcgen::date_time_ymd(2036, 1, 1);
        let cert = p.signed_by(&key, &issuer)?;
        write_private(&dir.join("serving.key"), &key.serialize_pem())?;
        write_private(
            &dir.join("serving.crt"),
            &format!("{}{}", cert.pem(), ca_pem),
        )?;
        write_private(&sans_p, &sans.join("\n"))?;
    }

    let (admin_cert_pem, admin_key_pem) = client_cert(
        &issuer,
        dir,
        "client-admin",
        "system:admin",
        "system:masters",
    )?;
    // How the API server proves itself to kubelets (logs, exec, port-forward).
    let (kc_cert, kc_key) = client_cert(
        &issuer,
        dir,
        "client-kube-apiserver",
        "kube-apiserver-kubelet-client",
        "system:masters",
    )?;
    let kubelet_client = client_config(&ca_pem, &kc_cert, &kc_key)?;
    Ok(Pki {
        dir: dir.to_path_buf(),
        ca_pem,
        admin_cert_pem,
        admin_key_pem,
        ca_key_pem,
        kubelet_client,
    })
}

/// Load `DIR/NAME.crt`/`.key`, or issue a client certificate CN=`cn`, O=`org`.
fn client_cert(
    issuer: &Issuer<'_, KeyPair>,
    dir: &Path,
    name: &str,
    cn: &str,
    org: &str,
) -> anyhow::Result<(String, String)> {
    let (cert_p, key_p) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    if let (Some(c), Some(k)) = (read(&cert_p), read(&key_p)) {
        return Ok((c, k));
    }
    let (cert, key) = issue(issuer, cn, &[org], &[], ExtendedKeyUsagePurpose::ClientAuth)?;
    write_private(&key_p, &key)?;
    write_private(&cert_p, &cert)?;
    Ok((cert, key))
}

/// A leaf certificate signed by `issuer`: (cert PEM, key PEM).
fn issue(
    issuer: &Issuer<'_, KeyPair>,
    cn: &str,
    orgs: &[&str],
    sans: &[String],
    usage: ExtendedKeyUsagePurpose,
) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.subject_alt_names = sans.iter().map(|s| san(s)).collect::<anyhow::Result<_>>()?;
    p.distinguished_name.push(DnType::CommonName, cn);
    for o in orgs {
        p.distinguished_name.push(DnType::OrganizationName, *o);
    }
    p.extended_key_usages = vec![usage];
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let cert = p.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn roots(ca_pem: &str) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c?)?;
    }
    Ok(roots)
}

/// TLS for a client that trusts only `ca_pem` and presents `cert`/`key`.
pub fn client_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots(ca_pem)?)
        .with_client_auth_cert(certs, key)?;
    Ok(Arc::new(cfg))
}

/// TLS for the kubelet server: its serving certificate, and only clients
/// with a certificate from the cluster CA (the API server, other nodes).
pub fn kubelet_server_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let verifier =
        rustls::server::WebPkiClientVerifier::builder(Arc::new(roots(ca_pem)?)).build()?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Mints node credentials with the cluster CA: what `rkube server` hands
/// joining agents, and what it gives its own in-process agent.
pub struct NodeIssuer {
    ca_pem: String,
    ca_key_pem: String,
}

impl NodeIssuer {
    pub fn credentials(
        &self,
        node: &str,
        ips: &[std::net::IpAddr],
    ) -> anyhow::Result<apiserver::NodeCredentials> {
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).context("reading ca.key")?;
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, ca_key).context("reading ca.crt")?;
        let user = format!("system:node:{node}");
        let (client_cert_pem, client_key_pem) = issue(
            &issuer,
            &user,
            &["system:nodes"],
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let mut sans = vec![node.to_string()];
        sans.extend(ips.iter().map(|ip| ip.to_string()));
        let (serving_cert_pem, serving_key_pem) = issue(
            &issuer,
            &user,
            &["system:nodes"],
            &sans,
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        Ok(apiserver::NodeCredentials {
            ca_pem: self.ca_pem.clone(),
            client_cert_pem,
            client_key_pem,
            serving_cert_pem,
            serving_key_pem,
        })
    }
}

impl apiserver::NodeCredentialIssuer for NodeIssuer {
    fn issue(
        &self,
        node: &str,
        ips: &[std::net::IpAddr],
    ) -> Result<apiserver::NodeCredentials, String> {
        self.credentials(node, ips).map_err(|e| format!("{e:#}"))
    }
}

impl Pki {
    /// TLS for the API server's connections to kubelets: trusts the cluster
    /// CA, presents `kube-apiserver-kubelet-client` (in `system:masters`).
    pub fn kubelet_client_config(&self) -> Arc<rustls::ClientConfig> {
        self.kubelet_client.clone()
    }

    /// The node credential issuer backed by this CA.
    pub fn node_issuer(&self) -> NodeIssuer {
        NodeIssuer {
            ca_pem: self.ca_pem.clone(),
            ca_key_pem: self.ca_key_pem.clone(),
        }
    }

    /// TLS for the API server: the serving certificate; client certificates
    /// signed by the CA are verified when offered but not required.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.dir.join("serving.crt"))?
                .collect::<Result<_, _>>()?;
        let key = PrivateKeyDer::from_pem_file(self.dir.join("serving.key"))?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(c?)?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .allow_unauthenticated()
            .build()?;
        let mut cfg = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}
