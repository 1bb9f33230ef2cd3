//! The Node object: registration with capacity, allocatable, addresses,
//! node info and conditions; status updates; the node Lease renewed every
//! `lease_interval`. (Interface placeholder: the node work fills it in.)

use crate::KubeletConfig;
use crate::cri::DynCri;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0}")]
    Api(#[from] kube::Error),
}

/// Register the node (create, or update an existing one), then keep its
/// status and Lease fresh until `shutdown`. `kubelet_port` is the port the
/// kubelet server really listens on (daemonEndpoints.kubeletEndpoint).
pub async fn run(
    client: kube::Client,
    cfg: KubeletConfig,
    cri: DynCri,
    kubelet_port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), NodeError> {
    let _ = (client, cfg, cri, kubelet_port);
    shutdown.await;
    Ok(())
}
