//! Images: pulls with imagePullPolicy and imagePullSecrets (with per-image
//! back-off), importing air-gapped archives, and the images rkube builds
//! itself (the pause image and the busybox test image).

pub mod auth;
pub mod backoff;
pub mod builtin;
pub mod import;
pub mod oci;
pub mod puller;
pub mod reference;

pub use import::{import_dir, import_file, import_pause_image};
pub use puller::ImagePuller;

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
