//! Pod volumes on disk and the CRI mounts that put them in containers.
//! (Interface placeholder: the volumes work fills it in.)

use crate::cri::api;
use k8s_openapi::api::core::v1::{Container, Pod};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("{0}")]
    Failed(String),
}

/// Prepares and tears down the volumes of the pods on this node.
#[derive(Clone)]
pub struct VolumeManager {
    pods_dir: PathBuf,
    #[allow(dead_code)]
    client: kube::Client,
}

/// The host paths of one pod's volumes, by volume name.
#[derive(Clone, Debug, Default)]
pub struct PodVolumes {
    pub paths: BTreeMap<String, PathBuf>,
}

impl VolumeManager {
    /// `pods_dir` is `ROOT/pods`; a pod's volumes go under `pods_dir/<uid>/volumes`.
    pub fn new(pods_dir: PathBuf, client: kube::Client) -> Self {
        VolumeManager { pods_dir, client }
    }

    /// Make every volume of `pod` ready (idempotent; also refreshes configMap,
    /// secret, downwardAPI and projected contents in place).
    pub async fn setup(&self, pod: &Pod) -> Result<PodVolumes, VolumeError> {
        let _ = (pod, &self.pods_dir);
        Ok(PodVolumes::default())
    }

    /// Remove everything the pod's volumes left on this node.
    pub async fn teardown(&self, pod_uid: &str) -> Result<(), VolumeError> {
        let _ = pod_uid;
        Ok(())
    }
}

impl PodVolumes {
    /// The CRI mounts for `container`'s volumeMounts (subPath, readOnly).
    pub fn mounts_for(&self, container: &Container) -> Result<Vec<api::Mount>, VolumeError> {
        let _ = container;
        Ok(vec![])
    }
}
