//! The kubelet's HTTPS server (port 10250): the accept loop (tokio-rustls,
//! client certificates required), the router, `/healthz`, and the TLS
//! configuration helper. Container logs live in `logs` (the HTTP side) and
//! `logread` (reading CRI log files); exec, attach and port-forward come
//! from the streaming module.

pub mod logread;
pub mod logs;

pub mod stats;
pub mod streaming;

use crate::cri::DynCri;
use axum::Router;
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// What the handlers need.
#[derive(Clone)]
pub struct ServerState {
    pub cri: DynCri,
    /// Where container logs live (`KubeletConfig::pod_log_dir`).
    pub pod_log_dir: PathBuf,
    pub node_name: String,
}

/// Building the server's TLS configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading PEM {what}: {source}")]
    Pem {
        what: &'static str,
        source: rustls_pki_types::pem::Error,
    },
    #[error("no certificate in the {0} PEM")]
    Empty(&'static str),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The kubelet's server TLS configuration: `cert_pem` (the serving chain,
/// whose SANs must name the address the API server dials: the node's
/// InternalIP), `key_pem`, and `ca_pem`, the cluster CA every client
/// certificate must be signed by (the API server's kubelet-client
/// certificate). Clients without a certificate are refused during the
/// handshake (`WebPkiClientVerifier` without `allow_unauthenticated`).
/// HTTP/1.1 only: exec, attach and port-forward are HTTP/1.1 upgrades.
pub fn tls_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    ca_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs =
        |what: &'static str, pem: &[u8]| -> Result<Vec<CertificateDer<'static>>, TlsError> {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| TlsError::Pem { what, source })?;
            if certs.is_empty() {
                return Err(TlsError::Empty(what));
            }
            Ok(certs)
        };
    let chain = certs("certificate", cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| TlsError::Pem {
        what: "private key",
        source,
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in certs("CA", ca_pem)? {
        roots.add(ca)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build()?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The kubelet's routes: health, container logs, and the streaming
/// endpoints (exec, attach, port-forward).
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/containerLogs/{namespace}/{pod}/{container}",
            get(logs::container_logs),
        )
        .merge(streaming::routes())
        .merge(stats::routes())
        .with_state(state)
}

/// A client that has not finished its TLS handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Nor one that has not sent its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve until `shutdown` resolves. Who may connect is decided by `tls`:
/// build it with [`tls_config`] so that only clients with a certificate
/// signed by the cluster CA (the API server) get through the handshake.
/// Connections already open when `shutdown` resolves finish on their own
/// (a `logs -f` stream ends when its container does or its client leaves).
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: ServerState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let app = router(state);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!("kubelet server accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            {
                Ok(Ok(t)) => t,
                Err(_) => {
                    tracing::debug!(%peer, "kubelet server: TLS handshake timed out");
                    return;
                }
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "kubelet server: TLS handshake failed: {e}");
                    return;
                }
            };
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                .await
            {
                tracing::debug!(%peer, "kubelet server connection: {e}");
            }
        });
    }
}
