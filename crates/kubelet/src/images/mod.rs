//! Images: pulls with imagePullPolicy and imagePullSecrets (with per-image
//! back-off), importing air-gapped archives, and the images rkube builds
//! itself (the pause image). (Interface placeholder: the runtime work fills it in.)

pub mod builtin;
pub mod import;
pub mod oci;

pub use import::{import_dir, import_file, import_pause_image};

use crate::cri::DynCri;
use k8s_openapi::api::core::v1::{Container, Pod, Secret};

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// `reason` is what the container's waiting state shows: `ErrImagePull`,
    /// `ImagePullBackOff`, `ErrImageNeverPull` or `InvalidImageName`;
    /// `message` is upstream's (with the registry's own words).
    #[error("{reason}: {message}")]
    Failed {
        reason: &'static str,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("importing {file}: {message}")]
    Failed { file: String, message: String },
}

/// Pulls the images pods need, honouring imagePullPolicy, with upstream's
/// back-off between failed pulls of one image, and Pulling/Pulled/Failed/BackOff events.
#[derive(Clone)]
pub struct ImagePuller {
    cri: DynCri,
    #[allow(dead_code)]
    recorder: informer::Recorder,
}

impl ImagePuller {
    pub fn new(cri: DynCri, recorder: informer::Recorder) -> Self {
        ImagePuller { cri, recorder }
    }

    /// Make `container`'s image present; returns the image reference to run.
    pub async fn ensure_image(
        &self,
        pod: &Pod,
        container: &Container,
        pull_secrets: &[Secret],
    ) -> Result<String, PullError> {
        let _ = (pod, pull_secrets, &self.cri);
        Ok(container.image.clone().unwrap_or_default())
    }
}
