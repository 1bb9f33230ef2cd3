//! The kubelet's HTTPS server (port 10250): container logs, exec, attach,
//! port-forward and stats, for the API server to proxy to.
//! (Interface placeholder: the server work fills it in.)

pub mod stats;
pub mod streaming;

use crate::cri::DynCri;
use std::path::PathBuf;
use std::sync::Arc;

/// What the handlers need.
#[derive(Clone)]
pub struct ServerState {
    pub cri: DynCri,
    /// Where container logs live (`KubeletConfig::pod_log_dir`).
    pub pod_log_dir: PathBuf,
    pub node_name: String,
}

/// Serve until `shutdown` resolves. Client certificates signed by the
/// cluster CA are required (the API server presents one).
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: ServerState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _ = (listener, tls, state);
    shutdown.await;
    Ok(())
}
