//! Garbage collection of the node's runtime objects: dead containers and
//! sandboxes (`containers`, every minute) and unused images when the image
//! filesystem fills up (`images`, every 5 minutes), as upstream's
//! StartGarbageCollection. Failures become Warning events on the Node.

pub mod containers;
pub mod images;

use crate::cri::DynCri;
use crate::pod::PodWorkers;
use images::{ImageFs, ImageGc, ImageGcError, ImageGcPolicy};
use informer::EventType;
use k8s_openapi::api::core::v1::Node;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Upstream's ContainerGCPeriod.
pub const CONTAINER_GC_PERIOD: Duration = Duration::from_secs(60);
/// Upstream's ImageGCPeriod.
pub const IMAGE_GC_PERIOD: Duration = Duration::from_secs(300);

/// The image filesystem's size: statvfs of the mountpoint ImageFsInfo names
/// (falling back to `fallback`, the kubelet's root).
async fn image_fs(cri: &DynCri, fallback: PathBuf) -> Option<ImageFs> {
    let mount = cri
        .image_fs_info()
        .await
        .ok()
        .and_then(|i| i.image_filesystems.into_iter().next())
        .and_then(|fs| fs.fs_id)
        .map(|id| PathBuf::from(id.mountpoint))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(fallback);
    tokio::task::spawn_blocking(move || crate::node::readings::fs_stats(&mount))
        .await
        .ok()
        .flatten()
        .map(|s| ImageFs {
            capacity: s.capacity,
            available: s.available,
        })
}

fn node_ref(name: &str) -> Node {
    Node {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            uid: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Run both collectors until the task is aborted.
pub async fn run(
    cfg: crate::KubeletConfig,
    cri: DynCri,
    workers: PodWorkers,
    recorder: informer::Recorder,
) {
    let gc = ImageGc::new(
        cri.clone(),
        cfg.pause_image.clone(),
        ImageGcPolicy::default(),
    );
    let node = node_ref(&cfg.node_name);
    let mut ctick = tokio::time::interval(CONTAINER_GC_PERIOD);
    let mut itick = tokio::time::interval(IMAGE_GC_PERIOD);
    ctick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    itick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first ticks fire at once; give pods time to be adopted first.
    ctick.tick().await;
    itick.tick().await;
    let mut prev_failed = false;
    loop {
        tokio::select! {
            _ = ctick.tick() => {
                let live: HashSet<String> = workers.known_uids().into_iter().collect();
                if let Err(e) = containers::collect(&cri, &live).await {
                    tracing::warn!("container garbage collection failed: {e}");
                }
            }
            _ = itick.tick() => {
                let Some(fs) = image_fs(&cri, cfg.root_dir.clone()).await else {
                    continue;
                };
                match gc.collect(fs, Instant::now()).await {
                    Ok(_) => prev_failed = false,
                    Err(e) => {
                        match &e {
                            ImageGcError::NotEnough { .. } => recorder.event(
                                &node, EventType::Warning, "FreeDiskSpaceFailed", e.to_string()),
                            ImageGcError::InvalidCapacity => recorder.event(
                                &node, EventType::Warning, "InvalidDiskCapacity", e.to_string()),
                            ImageGcError::Cri(_) => {}
                        }
                        // Upstream reports only repeated failures as ImageGCFailed.
                        if prev_failed {
                            recorder.event(&node, EventType::Warning, "ImageGCFailed", e.to_string());
                        }
                        tracing::warn!("image garbage collection failed: {e}");
                        prev_failed = true;
                    }
                }
            }
        }
    }
}
