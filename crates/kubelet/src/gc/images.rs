//! Image garbage collection (upstream's image_gc_manager): remembers when
//! each image was first seen and last used by a container, and when the
//! image filesystem is fuller than the high threshold removes unused images,
//! least recently used first, until usage is under the low threshold. The
//! pause image and pinned images are never removed.

use crate::cri::{DynCri, api};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ImageGcError {
    #[error("runtime: {0}")]
    Cri(#[from] crate::cri::CriError),
    #[error("invalid capacity 0 on image filesystem")]
    InvalidCapacity,
    /// Upstream's message, also the `FreeDiskSpaceFailed` event's.
    #[error(
        "Failed to garbage collect required amount of images. Attempted to free {wanted} bytes, but only found {freed} bytes eligible to free."
    )]
    NotEnough { wanted: u64, freed: u64 },
}

/// Upstream's ImageGCPolicy.
#[derive(Clone, Debug)]
pub struct ImageGcPolicy {
    /// Usage percent at or above which GC runs (upstream 85).
    pub high_threshold_percent: u8,
    /// Usage percent GC frees down to (upstream 80).
    pub low_threshold_percent: u8,
    /// Images first seen less than this long ago are kept (upstream 2 min).
    pub min_age: Duration,
}

impl Default for ImageGcPolicy {
    fn default() -> Self {
        ImageGcPolicy {
            high_threshold_percent: 85,
            low_threshold_percent: 80,
            min_age: Duration::from_secs(120),
        }
    }
}

/// Capacity and free space of the image filesystem, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct ImageFs {
    pub capacity: u64,
    pub available: u64,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    first_detected: Instant,
    last_used: Instant,
    size: u64,
}

/// One image the collector may remove.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub size: u64,
}

pub struct ImageGc {
    cri: DynCri,
    pause_image: String,
    policy: ImageGcPolicy,
    records: Mutex<HashMap<String, Record>>,
}

fn in_use(img: &api::Image, used: &HashSet<String>) -> bool {
    used.contains(&img.id)
        || img.repo_tags.iter().any(|t| used.contains(t))
        || img.repo_digests.iter().any(|d| used.contains(d))
}

impl ImageGc {
    pub fn new(cri: DynCri, pause_image: impl Into<String>, policy: ImageGcPolicy) -> Self {
        ImageGc {
            cri,
            pause_image: pause_image.into(),
            policy,
            records: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refresh the records: new images are detected now, images used by
    /// any container (running or not) are used now, gone ones forgotten.
    /// Returns the images that are not in use and may be removed.
    pub async fn detect(&self, now: Instant) -> Result<Vec<api::Image>, ImageGcError> {
        let images = self.cri.list_images(None).await?;
        let containers = self.cri.list_containers(None).await?;
        let mut used: HashSet<String> = HashSet::new();
        for c in &containers {
            if let Some(spec) = &c.image {
                used.insert(spec.image.clone());
            }
            used.insert(c.image_ref.clone());
            used.insert(c.image_id.clone());
        }
        used.insert(self.pause_image.clone());
        let mut recs = self.lock();
        let present: HashSet<&str> = images.iter().map(|i| i.id.as_str()).collect();
        recs.retain(|id, _| present.contains(id.as_str()));
        let mut unused = Vec::new();
        for img in &images {
            let r = recs.entry(img.id.clone()).or_insert(Record {
                first_detected: now,
                last_used: now,
                size: img.size,
            });
            r.size = img.size;
            if in_use(img, &used) || img.pinned {
                r.last_used = now;
            } else {
                unused.push(img.clone());
            }
        }
        Ok(unused)
    }

    /// The unused images to remove to free `wanted` bytes, least recently
    /// used first (ties: first detected first), skipping ones younger than
    /// the minimum age. May free less than `wanted` when not enough is eligible.
    pub fn select(&self, unused: &[api::Image], wanted: u64, now: Instant) -> Vec<Candidate> {
        let recs = self.lock();
        let mut c: Vec<(Record, &api::Image)> = unused
            .iter()
            .filter_map(|i| recs.get(&i.id).map(|r| (*r, i)))
            .filter(|(r, _)| now.saturating_duration_since(r.first_detected) >= self.policy.min_age)
            .collect();
        c.sort_by(|a, b| {
            (a.0.last_used, a.0.first_detected).cmp(&(b.0.last_used, b.0.first_detected))
        });
        let mut freed = 0u64;
        let mut out = Vec::new();
        for (r, img) in c {
            if freed >= wanted {
                break;
            }
            freed += r.size;
            out.push(Candidate {
                id: img.id.clone(),
                size: r.size,
            });
        }
        out
    }

    /// Bytes to free so usage drops to the low threshold, or 0 when usage
    /// is below the high threshold.
    pub fn bytes_to_free(&self, fs: ImageFs) -> Result<u64, ImageGcError> {
        if fs.capacity == 0 {
            return Err(ImageGcError::InvalidCapacity);
        }
        let used = fs.capacity.saturating_sub(fs.available);
        let percent = used.saturating_mul(100) / fs.capacity;
        if percent < u64::from(self.policy.high_threshold_percent) {
            return Ok(0);
        }
        let target_avail =
            fs.capacity * (100 - u64::from(self.policy.low_threshold_percent.min(100))) / 100;
        Ok(target_avail.saturating_sub(fs.available))
    }

    /// One pass: detect, and when the filesystem is too full remove images.
    /// Returns the bytes freed.
    pub async fn collect(&self, fs: ImageFs, now: Instant) -> Result<u64, ImageGcError> {
        let unused = self.detect(now).await?;
        let wanted = self.bytes_to_free(fs)?;
        if wanted == 0 {
            return Ok(0);
        }
        let mut freed = 0u64;
        for c in self.select(&unused, wanted, now) {
            match self.cri.remove_image(&c.id).await {
                Ok(()) => {
                    tracing::info!(image = %c.id, size = c.size, "removed unused image");
                    self.lock().remove(&c.id);
                    freed += c.size;
                }
                Err(e) => tracing::warn!(image = %c.id, "removing image: {e}"),
            }
        }
        if freed < wanted {
            return Err(ImageGcError::NotEnough { wanted, freed });
        }
        Ok(freed)
    }
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
