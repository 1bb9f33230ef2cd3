//! Pod volumes on disk and the CRI mounts that put them in containers.
//! Layout as upstream: `pods_dir/<uid>/volumes/kubernetes.io~<kind>/<name>`.
//! One file per volume kind; `atomic_writer` publishes configMap, secret,
//! downwardAPI and projected contents; `mounts` turns volumeMounts into CRI
//! mounts; `pod_files` holds `/etc/hosts` and termination logs.

pub mod atomic_writer;
pub mod config_map;
pub mod downward_api;
pub mod empty_dir;
pub mod host_path;
pub mod mounts;
pub mod ownership;
pub mod pod_files;
pub mod projected;
pub mod pvc;
pub mod secret;

use crate::cri::api;
use atomic_writer::Payload;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Volume};
use kube::Api;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("{0}")]
    Failed(String),
}

/// Prepares and tears down the volumes of the pods on this node.
#[derive(Clone)]
pub struct VolumeManager {
    pods_dir: PathBuf,
    client: kube::Client,
    cluster_domain: String,
    tokens: Arc<Mutex<HashMap<String, projected::CachedToken>>>,
}

/// The host paths of one pod's volumes, by volume name.
#[derive(Clone, Debug, Default)]
pub struct PodVolumes {
    pub paths: BTreeMap<String, PathBuf>,
    /// Volumes every mount of which is read-only (configMap, secret,
    /// downwardAPI, projected, read-only claims).
    pub read_only: BTreeSet<String>,
    /// `pods_dir/<uid>`: termination-log files are created under it.
    pub pod_dir: PathBuf,
    /// The managed hosts file, once the pod has IPs (see `write_etc_hosts`).
    pub etc_hosts: Option<PathBuf>,
    cluster_domain: String,
}

/// What one volume needs on disk, decided before any blocking IO.
enum Plan {
    EmptyDir {
        dir: PathBuf,
        memory: bool,
        size: Option<i128>,
    },
    HostPath {
        path: PathBuf,
        type_: Option<String>,
    },
    Files {
        dir: PathBuf,
        tmpfs: bool,
        payload: Payload,
    },
}

fn failed(volume: &str, msg: impl std::fmt::Display) -> VolumeError {
    VolumeError::Failed(format!(
        "MountVolume.SetUp failed for volume \"{volume}\" : {msg}"
    ))
}

/// A pod UID usable as a directory name (never a path that escapes `pods_dir`).
fn checked_uid(uid: &str) -> Result<&str, VolumeError> {
    if uid.is_empty() || uid.contains('/') || uid.starts_with('.') {
        return Err(VolumeError::Failed(format!("invalid pod uid {uid:?}")));
    }
    Ok(uid)
}

impl VolumeManager {
    /// `pods_dir` is `ROOT/pods`; a pod's volumes go under `pods_dir/<uid>/volumes`.
    pub fn new(pods_dir: PathBuf, client: kube::Client) -> Self {
        VolumeManager {
            pods_dir,
            client,
            cluster_domain: "cluster.local".into(),
            tokens: Arc::default(),
        }
    }

    /// The cluster domain used for `<subdomain>.<ns>.svc.<domain>` in `/etc/hosts`.
    pub fn with_cluster_domain(mut self, domain: impl Into<String>) -> Self {
        self.cluster_domain = domain.into();
        self
    }

    pub fn pod_dir(&self, pod_uid: &str) -> PathBuf {
        self.pods_dir.join(pod_uid)
    }

    /// `pods_dir/<uid>/volumes/kubernetes.io~<kind>/<name>`.
    pub fn volume_dir(&self, pod_uid: &str, kind: &str, name: &str) -> PathBuf {
        self.pod_dir(pod_uid)
            .join("volumes")
            .join(format!("kubernetes.io~{kind}"))
            .join(name)
    }

    pub(crate) async fn config_map(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Option<ConfigMap>, String> {
        Api::<ConfigMap>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(|e| format!("couldn't get configMap {ns}/{name}: {e}"))
    }

    pub(crate) async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(|e| format!("couldn't get secret {ns}/{name}: {e}"))
    }

    async fn plan(
        &self,
        pod: &Pod,
        uid: &str,
        v: &Volume,
        pv: &mut PodVolumes,
    ) -> Result<Plan, String> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = v.name.as_str();
        let files = |kind: &str, tmpfs: bool, payload: Payload| Plan::Files {
            dir: self.volume_dir(uid, kind, name),
            tmpfs,
            payload,
        };
        if let Some(e) = &v.empty_dir {
            return Ok(Plan::EmptyDir {
                dir: self.volume_dir(uid, "empty-dir", name),
                memory: e.medium.as_deref() == Some("Memory"),
                size: e
                    .size_limit
                    .as_ref()
                    .and_then(crate::container::resources::parse)
                    .map(|q| q.value()),
            });
        }
        if let Some(h) = &v.host_path {
            return Ok(Plan::HostPath {
                path: PathBuf::from(&h.path),
                type_: h.type_.clone(),
            });
        }
        if let Some(c) = &v.config_map {
            pv.read_only.insert(name.into());
            let cm = self.config_map(ns, &c.name).await?;
            let p = config_map::payload(
                &c.name,
                cm.as_ref(),
                c.items.as_deref(),
                c.default_mode,
                c.optional == Some(true),
            )?;
            return Ok(files("configmap", false, p));
        }
        if let Some(s) = &v.secret {
            pv.read_only.insert(name.into());
            let sname = s.secret_name.clone().unwrap_or_default();
            let sec = self.secret(ns, &sname).await?;
            let p = secret::payload(
                &sname,
                sec.as_ref(),
                s.items.as_deref(),
                s.default_mode,
                s.optional == Some(true),
            )?;
            return Ok(files("secret", true, p));
        }
        if let Some(d) = &v.downward_api {
            pv.read_only.insert(name.into());
            let p =
                downward_api::payload(pod, d.items.as_deref().unwrap_or_default(), d.default_mode)?;
            return Ok(files("downward-api", true, p));
        }
        if let Some(p) = &v.projected {
            pv.read_only.insert(name.into());
            let p = projected::payload(self, pod, name, p).await?;
            return Ok(files("projected", true, p));
        }
        let claim = match (&v.persistent_volume_claim, &v.ephemeral) {
            (Some(c), _) => {
                if c.read_only == Some(true) {
                    pv.read_only.insert(name.into());
                }
                Some(c.claim_name.clone())
            }
            // Generic ephemeral volumes are claims named `<pod>-<volume>`.
            (None, Some(_)) => Some(format!(
                "{}-{name}",
                pod.metadata.name.as_deref().unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(claim) = claim {
            let (path, type_) = pvc::resolve(&self.client, ns, &claim).await?;
            return Ok(Plan::HostPath { path, type_ });
        }
        Err("unsupported volume source".into())
    }

    /// Make every volume of `pod` ready (idempotent; also refreshes configMap,
    /// secret, downwardAPI and projected contents in place). Writes the
    /// managed `/etc/hosts` too when the pod's status already has IPs.
    pub async fn setup(&self, pod: &Pod) -> Result<PodVolumes, VolumeError> {
        let uid = checked_uid(pod.metadata.uid.as_deref().unwrap_or_default())?.to_string();
        let mut pv = PodVolumes {
            pod_dir: self.pod_dir(&uid),
            cluster_domain: self.cluster_domain.clone(),
            ..Default::default()
        };
        let spec = pod.spec.as_ref();
        let fs_group = spec
            .and_then(|s| s.security_context.as_ref())
            .and_then(|s| s.fs_group);
        let mut plans = vec![];
        for v in spec.and_then(|s| s.volumes.as_deref()).unwrap_or_default() {
            let plan = self
                .plan(pod, &uid, v, &mut pv)
                .await
                .map_err(|e| failed(&v.name, e))?;
            plans.push((v.name.clone(), plan));
        }
        let pod_dir = pv.pod_dir.clone();
        let paths = tokio::task::spawn_blocking(move || apply(&pod_dir, plans, fs_group))
            .await
            .map_err(|e| VolumeError::Failed(format!("volume setup task: {e}")))??;
        pv.paths = paths;
        let ips: Vec<String> = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ips.as_ref())
            .map(|v| v.iter().map(|i| i.ip.clone()).collect())
            .unwrap_or_default();
        if !ips.is_empty() {
            pv.write_etc_hosts(pod, &ips)?;
        }
        Ok(pv)
    }

    /// Remove everything the pod's volumes left on this node: unmount the
    /// tmpfs mounts under the pod's directory, then remove the directory.
    pub async fn teardown(&self, pod_uid: &str) -> Result<(), VolumeError> {
        let dir = self.pod_dir(checked_uid(pod_uid)?);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for m in empty_dir::mounts_under(&dir)? {
                empty_dir::unmount(&m)?;
            }
            if !empty_dir::mounts_under(&dir)?.is_empty() {
                return Err(std::io::Error::other(
                    "mounts remain under the pod directory",
                ));
            }
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await
        .map_err(|e| VolumeError::Failed(format!("volume teardown task: {e}")))?
        .map_err(|e| VolumeError::Failed(format!("teardown of pod {pod_uid}: {e}")))
    }
}

/// Upstream's fsGroupChangePolicy OnRootMismatch: walk only when the root
/// is not already the group's, setgid.
fn own(dir: &Path, gid: Option<i64>, read_only: bool) -> std::io::Result<()> {
    let Some(gid) = gid else { return Ok(()) };
    let md = std::fs::metadata(dir)?;
    if i64::from(md.gid()) == gid && md.mode() & 0o2000 != 0 {
        return Ok(());
    }
    ownership::set_ownership(dir, gid, read_only)
}

fn apply(
    _pod_dir: &Path,
    plans: Vec<(String, Plan)>,
    fs_group: Option<i64>,
) -> Result<BTreeMap<String, PathBuf>, VolumeError> {
    let mut paths = BTreeMap::new();
    for (name, plan) in plans {
        let path = match plan {
            Plan::EmptyDir { dir, memory, size } => {
                empty_dir::setup(&dir, memory, size).map_err(|e| failed(&name, e))?;
                own(&dir, fs_group, false).map_err(|e| failed(&name, e))?;
                dir
            }
            Plan::HostPath { path, type_ } => {
                host_path::check(&path, type_.as_deref()).map_err(|e| failed(&name, e))?;
                path
            }
            Plan::Files {
                dir,
                tmpfs,
                payload,
            } => {
                std::fs::create_dir_all(&dir).map_err(|e| failed(&name, e))?;
                if tmpfs {
                    empty_dir::mount_tmpfs(&dir, None).map_err(|e| failed(&name, e))?;
                }
                atomic_writer::write(&dir, &payload, fs_group).map_err(|e| failed(&name, e))?;
                own(&dir, fs_group, true).map_err(|e| failed(&name, e))?;
                dir
            }
        };
        paths.insert(name, path);
    }
    Ok(paths)
}

impl PodVolumes {
    /// The CRI mounts for `container`'s volumeMounts (subPath, readOnly),
    /// plus its termination-log file and the managed `/etc/hosts`.
    /// `subPathExpr` references stay unexpanded here; see `mounts_for_env`.
    pub fn mounts_for(&self, container: &Container) -> Result<Vec<api::Mount>, VolumeError> {
        self.mounts_for_env(container, &[])
    }

    /// Write (or rewrite) the pod's managed hosts file for `pod_ips` and
    /// mount it into every container from now on.
    pub fn write_etc_hosts(
        &mut self,
        pod: &Pod,
        pod_ips: &[String],
    ) -> Result<PathBuf, VolumeError> {
        if self.pod_dir.as_os_str().is_empty() {
            return Err(VolumeError::Failed("pod volumes were not set up".into()));
        }
        let domain = if self.cluster_domain.is_empty() {
            "cluster.local"
        } else {
            &self.cluster_domain
        };
        let path = pod_files::write_etc_hosts(&self.pod_dir, pod, pod_ips, domain)
            .map_err(|e| VolumeError::Failed(format!("write etc-hosts: {e}")))?;
        self.etc_hosts = Some(path.clone());
        Ok(path)
    }
}
