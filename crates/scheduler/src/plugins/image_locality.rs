//! ImageLocality: prefer nodes that already hold the pod's images, scaled
//! by image size and by how widely the image is spread over the cluster
//! (so one node holding a common image does not attract everything).

use crate::framework::{
    CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreScore, Score, Snapshot, Status,
};
use std::collections::HashMap;
use std::sync::Arc;

pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;
const STATE_KEY: &str = "PreScoreImageLocality";

pub struct ImageLocality;

/// An image reference with `:latest` added when it names no tag or digest.
pub fn normalized_image_name(image: &str) -> String {
    let last_slash = image.rfind('/').map(|i| i as isize).unwrap_or(-1);
    let last_colon = image.rfind(':').map(|i| i as isize).unwrap_or(-1);
    if last_colon <= last_slash && !image.contains('@') {
        format!("{image}:latest")
    } else {
        image.to_string()
    }
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Per normalized image name of the pod: nodes holding it / all nodes.
type Spread = HashMap<String, f64>;

fn pod_images(pod: &PodInfo) -> impl Iterator<Item = Option<&str>> {
    pod.pod.spec.iter().flat_map(|spec| {
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .map(|c| c.image.as_deref())
    })
}

impl PreScore for ImageLocality {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &[Arc<NodeInfo>],
        snapshot: &Snapshot,
    ) -> Status {
        let total = snapshot.nodes.len().max(1) as f64;
        let mut spread = Spread::new();
        for img in pod_images(pod).flatten() {
            let name = normalized_image_name(img);
            let n = snapshot.image_nodes.get(&name).copied().unwrap_or(0);
            spread.insert(name, n as f64 / total);
        }
        if spread.values().all(|s| *s == 0.0) {
            return Status::skip();
        }
        state.write(STATE_KEY, spread);
        Status::success()
    }
}

impl Score for ImageLocality {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let spread = state.read::<Spread>(STATE_KEY);
        let mut n = 0i64;
        let mut sum = 0i64;
        for img in pod_images(pod) {
            n += 1;
            let Some(img) = img else { continue };
            let name = normalized_image_name(img);
            if let Some(size) = node.images.get(&name) {
                let factor = spread.and_then(|s| s.get(&name)).copied().unwrap_or(1.0);
                sum += (*size as f64 * factor) as i64;
            }
        }
        Ok(calculate_priority(sum, n))
    }
}

/// Upstream's size→score curve between 23 MB and 1000 MB per container.
pub fn calculate_priority(sum: i64, containers: i64) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * containers.max(1);
    let s = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (s - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testutil::{node, pod};
    use serde_json::json;

    #[test]
    fn names_get_latest() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(
            normalized_image_name("reg:5000/nginx"),
            "reg:5000/nginx:latest"
        );
        assert_eq!(normalized_image_name("nginx:1.2"), "nginx:1.2");
    }

    #[test]
    fn nodes_with_big_images_score_higher() {
        let p = pod(json!({"containers": [{"name": "c", "image": "big"}]}));
        let with = node(
            "a",
            json!({"status": {"images": [{"names": ["big:latest"], "sizeBytes": 500 * MB}]}}),
        );
        let without = node("b", json!({}));
        let snap = Snapshot::new(vec![Arc::new(with.clone()), Arc::new(without.clone())]);
        let mut st = CycleState::default();
        assert!(
            ImageLocality
                .pre_score(&mut st, &p, &[], &snap)
                .is_success()
        );
        // Half the nodes hold it: 250 MB counts.
        let s = ImageLocality.score(&st, &p, &with).unwrap();
        assert_eq!(s, 100 * (250 - 23) / (1000 - 23));
        assert_eq!(ImageLocality.score(&st, &p, &without).unwrap(), 0);
    }
}
