//! Image GC selection against the fake runtime: thresholds, LRU order,
//! the pause image and images used by containers kept, not-enough errors.

use super::*;
use crate::cri::fake::FakeCri;
use crate::cri::{Cri, api};
use std::collections::HashMap;

const GB: u64 = 1 << 30;

fn policy() -> ImageGcPolicy {
    ImageGcPolicy {
        min_age: Duration::ZERO,
        ..Default::default()
    }
}

async fn run_container(cri: &FakeCri, image: &str) {
    let sb = cri
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(api::PodSandboxConfig {
                metadata: Some(api::PodSandboxMetadata {
                    name: "p".into(),
                    namespace: "default".into(),
                    uid: "u1".into(),
                    attempt: 0,
                }),
                ..Default::default()
            }),
            runtime_handler: String::new(),
        })
        .await
        .unwrap()
        .pod_sandbox_id;
    cri.create_container(api::CreateContainerRequest {
        pod_sandbox_id: sb,
        config: Some(api::ContainerConfig {
            metadata: Some(api::ContainerMetadata {
                name: "c".into(),
                attempt: 0,
            }),
            image: Some(api::ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            labels: HashMap::new(),
            ..Default::default()
        }),
        sandbox_config: None,
    })
    .await
    .unwrap();
}

#[test]
fn thresholds() {
    let gc = ImageGc::new(FakeCri::new(), "pause", policy());
    let fs = |avail| ImageFs {
        capacity: 100 * GB,
        available: avail,
    };
    // 84 % used: below the high threshold.
    assert_eq!(gc.bytes_to_free(fs(16 * GB)).unwrap(), 0);
    // 90 % used: free down to 80 % (20 GB available).
    assert_eq!(gc.bytes_to_free(fs(10 * GB)).unwrap(), 10 * GB);
    assert!(matches!(
        gc.bytes_to_free(ImageFs {
            capacity: 0,
            available: 0
        }),
        Err(ImageGcError::InvalidCapacity)
    ));
}

#[tokio::test]
async fn removes_least_recently_used_unused_images_only() {
    let cri = FakeCri::new();
    cri.add_image_sized("pause", GB);
    cri.add_image_sized("used", 5 * GB);
    cri.add_image_sized("old", 3 * GB);
    cri.add_image_sized("new", 4 * GB);
    cri.add_image_sized("newest", 4 * GB);
    run_container(&cri, "used").await;
    let gc = ImageGc::new(cri.clone(), "pause", policy());
    let t0 = Instant::now();
    // "new" and "newest" are used first (by a container that then goes away).
    gc.detect(t0).await.unwrap();
    {
        let mut r = gc.lock();
        r.get_mut(&FakeCri::image_id("new")).unwrap().last_used = t0 + Duration::from_secs(10);
        r.get_mut(&FakeCri::image_id("newest")).unwrap().last_used = t0 + Duration::from_secs(20);
    }
    let now = t0 + Duration::from_secs(30);
    let unused = gc.detect(now).await.unwrap();
    let names: Vec<&str> = unused.iter().map(|i| i.repo_tags[0].as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let sel = gc.select(&unused, 6 * GB, now);
    let ids: Vec<String> = sel.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        ids,
        vec![FakeCri::image_id("old"), FakeCri::image_id("new")]
    );

    // 90 GB used of 100: must free 10 GB, 11 GB eligible: everything unused goes.
    let freed = gc
        .collect(
            ImageFs {
                capacity: 100 * GB,
                available: 10 * GB,
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(freed, 11 * GB);
    let left = cri.images();
    assert_eq!(left, vec!["pause".to_string(), "used".to_string()]);
}

#[tokio::test]
async fn not_enough_and_min_age() {
    let cri = FakeCri::new();
    cri.add_image_sized("pause", GB);
    cri.add_image_sized("a", GB);
    let gc = ImageGc::new(
        cri.clone(),
        "pause",
        ImageGcPolicy {
            min_age: Duration::from_secs(60),
            ..Default::default()
        },
    );
    let t0 = Instant::now();
    let full = ImageFs {
        capacity: 100 * GB,
        available: 5 * GB,
    };
    // Too young: nothing is eligible.
    let e = gc.collect(full, t0).await.unwrap_err();
    assert!(matches!(e, ImageGcError::NotEnough { freed: 0, .. }), "{e}");
    assert_eq!(cri.images().len(), 2);
    // Old enough: "a" goes, but 1 GB is short of 15 GB.
    let e = gc
        .collect(full, t0 + Duration::from_secs(61))
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("Failed to garbage collect required amount of images. Attempted to free 16106127360 bytes, but only found 1073741824 bytes"), "{e}");
    assert_eq!(cri.images(), vec!["pause".to_string()]);
}
