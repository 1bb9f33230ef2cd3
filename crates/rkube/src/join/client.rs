//! The agent's side of the join over HTTPS: fetch `/cacerts` without
//! verification and check it against the token's hash, then ask for the
//! node's credentials over TLS that trusts only that CA.

use super::{Token, sha256_hex};
use anyhow::{Context, anyhow, bail};
use apiserver::{NodeCredentials, NodeCredentialsRequest};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use std::net::IpAddr;
use std::sync::Arc;

/// The API server's join endpoint (apiserver's `node_join` handler).
const CREDENTIALS_PATH: &str = "/v1-rkube/node-credentials";

/// Accepts any server certificate: only for fetching the CA, which is then
/// checked against the token's hash before anything trusts it.
#[derive(Debug)]
struct AcceptAnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn insecure_tls() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        .with_no_client_auth();
    Arc::new(cfg)
}

fn trusting(ca_pem: &str) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c?)?;
    }
    Ok(Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// One HTTPS/1.1 request to `server` (`https://host:port`): (status, body).
async fn request(
    server: &str,
    tls: Arc<rustls::ClientConfig>,
    method: http::Method,
    path: &str,
    bearer: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<(http::StatusCode, Vec<u8>)> {
    let uri: http::Uri = server
        .parse()
        .with_context(|| format!("--server {server:?} is not a URL"))?;
    if uri.scheme_str() != Some("https") {
        bail!("--server {server:?} must be an https:// URL");
    }
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("--server {server:?} has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(6443);
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|e| anyhow!("--server host {host:?}: {e}"))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await?;
        anyhow::Ok(stream)
    };
    let stream = tokio::time::timeout(std::time::Duration::from_secs(15), connect)
        .await
        .map_err(|_| anyhow!("connecting to {server}: timed out"))?
        .with_context(|| format!("connecting to {server}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, format!("{host}:{port}"))
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let resp = sender
        .send_request(req.body(http_body_util::Full::new(bytes_of(body)))?)
        .await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, body))
}

fn bytes_of(v: Vec<u8>) -> hyper::body::Bytes {
    hyper::body::Bytes::from(v)
}

/// Fetch the server's CA and check it against the token's hash.
pub async fn fetch_ca(server: &str, token: &Token) -> anyhow::Result<String> {
    let (status, body) = request(
        server,
        insecure_tls(),
        http::Method::GET,
        "/cacerts",
        None,
        vec![],
    )
    .await
    .context("fetching the cluster CA")?;
    if !status.is_success() {
        bail!("fetching the cluster CA: {server}/cacerts answered {status}");
    }
    let got = sha256_hex(&body);
    if got != token.ca_hash {
        bail!(
            "the CA certificate served by {server} does not match the join token's hash \
             (token: {}, server: {got}): refusing to join; check --server and --token",
            token.ca_hash
        );
    }
    String::from_utf8(body).context("the cluster CA is not text")
}

/// Ask the server for this node's credentials.
pub async fn request_credentials(
    server: &str,
    token: &Token,
    ca_pem: &str,
    node: &str,
    ips: &[IpAddr],
) -> anyhow::Result<NodeCredentials> {
    let ask = NodeCredentialsRequest {
        node_name: node.into(),
        node_ips: ips.to_vec(),
    };
    let (status, body) = request(
        server,
        trusting(ca_pem)?,
        http::Method::POST,
        CREDENTIALS_PATH,
        Some(&token.secret),
        serde_json::to_vec(&ask)?,
    )
    .await
    .context("requesting node credentials")?;
    if status == http::StatusCode::UNAUTHORIZED {
        bail!("{server} refused the join token's secret (401): check --token");
    }
    if !status.is_success() {
        bail!(
            "requesting node credentials: {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    serde_json::from_slice(&body).context("decoding the node credentials")
}
