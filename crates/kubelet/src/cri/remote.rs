//! The CRI client over gRPC on a unix socket (containerd, CRI-O).
//! (Interface placeholder: the runtime work fills it in.)

use super::{CriError, DynCri};

/// Connect to `endpoint` (`unix:///run/containerd/containerd.sock`).
pub async fn connect(endpoint: &str) -> Result<DynCri, CriError> {
    Err(CriError::Transport(format!(
        "{endpoint}: CRI client not built yet"
    )))
}
