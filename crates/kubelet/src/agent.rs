//! Wires the kubelet together: the node, the kubelet server, and the pod
//! workers fed by a watch of this node's pods.
//! (Interface placeholder: the pod lifecycle work fills it in.)

use crate::KubeletConfig;
use crate::cri::DynCri;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("kubelet server: {0}")]
    Io(#[from] std::io::Error),
    #[error("node: {0}")]
    Node(#[from] crate::node::NodeError),
}

/// Run the kubelet until `shutdown`. `tls` is the kubelet server's TLS config.
pub async fn run(
    cfg: KubeletConfig,
    client: kube::Client,
    cri: DynCri,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), AgentError> {
    let _ = (cfg, client, cri, tls);
    shutdown.await;
    Ok(())
}
