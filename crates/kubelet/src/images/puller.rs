//! Making a container's image present before it runs, as upstream's image
//! manager does: imagePullPolicy, imagePullSecrets, one pull at a time on
//! the node (upstream's default serialised pulls), back-off per pod and
//! image after a failure, and the Pulling/Pulled/Failed/BackOff events with
//! upstream's messages.

use super::backoff::Backoff;
use super::{PullError, auth, reference};
use crate::cri::{CriError, DynCri, api};
use informer::{EventType, Recorder};
use k8s_openapi::api::core::v1::{Container, ObjectReference, Pod, Secret};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REASON_ERR_IMAGE_PULL: &str = "ErrImagePull";
pub const REASON_IMAGE_PULL_BACKOFF: &str = "ImagePullBackOff";
pub const REASON_ERR_IMAGE_NEVER_PULL: &str = "ErrImageNeverPull";
pub const REASON_INVALID_IMAGE_NAME: &str = "InvalidImageName";
pub const REASON_IMAGE_INSPECT_ERROR: &str = "ImageInspectError";

/// Pulls the images pods need, honouring imagePullPolicy, with upstream's
/// back-off between failed pulls of one image, and Pulling/Pulled/Failed/BackOff events.
#[derive(Clone)]
pub struct ImagePuller {
    cri: DynCri,
    recorder: informer::Recorder,
    backoff: Arc<Mutex<Backoff>>,
    /// Upstream serialises pulls by default (`serializeImagePulls: true`).
    serial: Arc<tokio::sync::Mutex<()>>,
}

/// `rpc error: code = X desc = Y`, the text upstream's messages carry.
pub fn cri_error_text(e: &CriError) -> String {
    match e {
        CriError::NotFound(m) => format!("rpc error: code = NotFound desc = {m}"),
        CriError::Status { code, message } => {
            format!(
                "rpc error: code = {:?} desc = {message}",
                tonic::Code::from(*code)
            )
        }
        CriError::Transport(m) => format!("rpc error: code = Unavailable desc = {m}"),
    }
}

/// A duration the way Go prints it, truncated to milliseconds (`1.234s`, `512ms`, `2m3.5s`).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, (ms / 60_000) % 60);
    let s = (ms % 60_000) as f64 / 1000.0;
    let mut secs = format!("{s:.3}");
    secs = secs.trim_end_matches('0').trim_end_matches('.').to_string();
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

fn failed(reason: &'static str, message: String) -> PullError {
    PullError::Failed { reason, message }
}

/// The event's reference: the pod, with the container's field path.
fn container_ref(pod: &Pod, container: &Container) -> ObjectReference {
    let mut r = informer::recorder::object_ref(pod);
    let spec = pod.spec.as_ref();
    let in_list =
        |l: Option<&Vec<Container>>| l.is_some_and(|l| l.iter().any(|c| c.name == container.name));
    let field = if in_list(spec.and_then(|s| s.init_containers.as_ref())) {
        "spec.initContainers"
    } else if spec
        .and_then(|s| s.ephemeral_containers.as_ref())
        .is_some_and(|l| l.iter().any(|c| c.name == container.name))
    {
        "spec.ephemeralContainers"
    } else {
        "spec.containers"
    };
    r.field_path = Some(format!("{field}{{{}}}", container.name));
    r
}

impl ImagePuller {
    pub fn new(cri: DynCri, recorder: informer::Recorder) -> Self {
        ImagePuller {
            cri,
            recorder,
            backoff: Arc::new(Mutex::new(Backoff::default())),
            serial: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn event(&self, r: &ObjectReference, t: EventType, reason: &str, msg: &str) {
        Recorder::event_ref(&self.recorder, r.clone(), t, reason, msg);
    }

    fn in_backoff(&self, key: &str) -> bool {
        self.backoff
            .lock()
            .is_ok_and(|b| b.in_backoff(key, Instant::now()))
    }

    fn record_failure(&self, key: &str) {
        if let Ok(mut b) = self.backoff.lock() {
            b.next(key, Instant::now());
        }
    }

    /// Make `container`'s image present; returns the image reference to run.
    pub async fn ensure_image(
        &self,
        pod: &Pod,
        container: &Container,
        pull_secrets: &[Secret],
    ) -> Result<String, PullError> {
        let requested = container.image.clone().unwrap_or_default();
        let objref = container_ref(pod, container);
        let image = match reference::with_default_tag(&requested) {
            Ok(i) => i,
            Err(e) => {
                let msg = format!("Failed to apply default image tag {requested:?}: {e}");
                self.event(&objref, EventType::Warning, "InspectFailed", &msg);
                return Err(failed(REASON_INVALID_IMAGE_NAME, msg));
            }
        };
        let policy = match container.image_pull_policy.as_deref() {
            Some(p @ ("Always" | "IfNotPresent" | "Never")) => p,
            _ => reference::default_pull_policy(&requested),
        };

        if policy != "Always" {
            let present = match self.cri.image_status(&image).await {
                Ok(i) => i,
                Err(e) => {
                    let msg = format!(
                        "Failed to inspect image {requested:?}: {}",
                        cri_error_text(&e)
                    );
                    self.event(&objref, EventType::Warning, "InspectFailed", &msg);
                    return Err(failed(REASON_IMAGE_INSPECT_ERROR, msg));
                }
            };
            if let Some(img) = present {
                let msg = format!("Container image {requested:?} already present on machine");
                self.event(&objref, EventType::Normal, "Pulled", &msg);
                return Ok(img.id);
            }
            if policy == "Never" {
                let msg = format!(
                    "Container image {requested:?} is not present with pull policy of Never"
                );
                self.event(&objref, EventType::Warning, "ErrImageNeverPull", &msg);
                return Err(failed(REASON_ERR_IMAGE_NEVER_PULL, msg));
            }
        }

        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let key = format!("{uid}_{image}");
        if self.in_backoff(&key) {
            let msg = format!("Back-off pulling image {requested:?}");
            self.event(&objref, EventType::Normal, "BackOff", &msg);
            return Err(failed(REASON_IMAGE_PULL_BACKOFF, msg));
        }

        self.event(
            &objref,
            EventType::Normal,
            "Pulling",
            &format!("Pulling image {requested:?}"),
        );
        let waited_from = Instant::now();
        let result = {
            let _turn = self.serial.lock().await;
            let started = Instant::now();
            self.pull(&image, pull_secrets)
                .await
                .map(|r| (r, started.elapsed()))
        };
        match result {
            Ok((image_ref, pulled_in)) => {
                let size = match self.cri.image_status(&image_ref).await {
                    Ok(Some(i)) => i.size,
                    _ => 0,
                };
                let msg = format!(
                    "Successfully pulled image {requested:?} in {} ({} including waiting). Image size: {size} bytes.",
                    go_duration(pulled_in),
                    go_duration(waited_from.elapsed()),
                );
                self.event(&objref, EventType::Normal, "Pulled", &msg);
                if let Ok(mut b) = self.backoff.lock() {
                    b.gc(Instant::now());
                }
                Ok(image_ref)
            }
            Err(e) => {
                let text = cri_error_text(&e);
                let msg = format!("Failed to pull image {requested:?}: {text}");
                self.event(&objref, EventType::Warning, "Failed", &msg);
                self.record_failure(&key);
                Err(failed(REASON_ERR_IMAGE_PULL, text))
            }
        }
    }

    /// One pull, trying each matching credential in turn (none: anonymous).
    async fn pull(&self, image: &str, secrets: &[Secret]) -> Result<String, CriError> {
        let auths = match reference::parse(image) {
            Ok(r) => auth::auths_for(&r, secrets),
            Err(_) => vec![],
        };
        let attempts: Vec<Option<api::AuthConfig>> = if auths.is_empty() {
            vec![None]
        } else {
            auths.into_iter().map(Some).collect()
        };
        let mut last = None;
        for auth in attempts {
            let req = api::PullImageRequest {
                image: Some(api::ImageSpec {
                    image: image.to_string(),
                    ..Default::default()
                }),
                auth,
                sandbox_config: None,
            };
            match self.cri.pull_image(req).await {
                Ok(r) => return Ok(r),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| CriError::Transport("no pull attempted".into())))
    }
}

#[cfg(test)]
#[path = "puller_tests.rs"]
mod tests;
