//! ImagePuller against an in-memory image service (the other CRI calls are
//! unimplemented) and, for the events, a real in-process API server.

use super::*;
use crate::cri::{Cri, Result as CriResult};
use async_trait::async_trait;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, PodSpec};
use std::collections::HashMap;

#[derive(Default)]
struct FakeImages {
    present: Mutex<HashMap<String, api::Image>>,
    /// Pull answers by image: Err(message) fails the pull.
    answers: Mutex<HashMap<String, std::result::Result<(), String>>>,
    pulls: Mutex<Vec<api::PullImageRequest>>,
}

fn unimplemented<T>() -> CriResult<T> {
    Err(CriError::Status {
        code: tonic::Code::Unimplemented as i32,
        message: "fake".into(),
    })
}

#[async_trait]
impl Cri for FakeImages {
    async fn version(&self) -> CriResult<api::VersionResponse> {
        unimplemented()
    }
    async fn status(&self) -> CriResult<api::StatusResponse> {
        unimplemented()
    }
    async fn run_pod_sandbox(
        &self,
        _: api::RunPodSandboxRequest,
    ) -> CriResult<api::RunPodSandboxResponse> {
        unimplemented()
    }
    async fn stop_pod_sandbox(&self, _: &str) -> CriResult<()> {
        unimplemented()
    }
    async fn remove_pod_sandbox(&self, _: &str) -> CriResult<()> {
        unimplemented()
    }
    async fn pod_sandbox_status(&self, _: &str) -> CriResult<api::PodSandboxStatusResponse> {
        unimplemented()
    }
    async fn list_pod_sandbox(
        &self,
        _: Option<api::PodSandboxFilter>,
    ) -> CriResult<Vec<api::PodSandbox>> {
        unimplemented()
    }
    async fn create_container(
        &self,
        _: api::CreateContainerRequest,
    ) -> CriResult<api::CreateContainerResponse> {
        unimplemented()
    }
    async fn start_container(&self, _: &str) -> CriResult<()> {
        unimplemented()
    }
    async fn stop_container(&self, _: &str, _: i64) -> CriResult<()> {
        unimplemented()
    }
    async fn remove_container(&self, _: &str) -> CriResult<()> {
        unimplemented()
    }
    async fn list_containers(
        &self,
        _: Option<api::ContainerFilter>,
    ) -> CriResult<Vec<api::Container>> {
        unimplemented()
    }
    async fn container_status(&self, _: &str) -> CriResult<api::ContainerStatusResponse> {
        unimplemented()
    }
    async fn update_container_resources(
        &self,
        _: api::UpdateContainerResourcesRequest,
    ) -> CriResult<()> {
        unimplemented()
    }
    async fn reopen_container_log(&self, _: &str) -> CriResult<()> {
        unimplemented()
    }
    async fn exec_sync(&self, _: api::ExecSyncRequest) -> CriResult<api::ExecSyncResponse> {
        unimplemented()
    }
    async fn exec(&self, _: api::ExecRequest) -> CriResult<api::ExecResponse> {
        unimplemented()
    }
    async fn attach(&self, _: api::AttachRequest) -> CriResult<api::AttachResponse> {
        unimplemented()
    }
    async fn port_forward(
        &self,
        _: api::PortForwardRequest,
    ) -> CriResult<api::PortForwardResponse> {
        unimplemented()
    }
    async fn list_container_stats(
        &self,
        _: Option<api::ContainerStatsFilter>,
    ) -> CriResult<Vec<api::ContainerStats>> {
        unimplemented()
    }
    async fn list_pod_sandbox_stats(
        &self,
        _: Option<api::PodSandboxStatsFilter>,
    ) -> CriResult<Vec<api::PodSandboxStats>> {
        unimplemented()
    }
    async fn list_images(&self, _: Option<api::ImageFilter>) -> CriResult<Vec<api::Image>> {
        unimplemented()
    }
    async fn remove_image(&self, _: &str) -> CriResult<()> {
        unimplemented()
    }
    async fn image_fs_info(&self) -> CriResult<api::ImageFsInfoResponse> {
        unimplemented()
    }

    async fn image_status(&self, image: &str) -> CriResult<Option<api::Image>> {
        let p = self.present.lock().unwrap();
        Ok(p.get(image)
            .or_else(|| p.values().find(|i| i.id == image))
            .cloned())
    }

    async fn pull_image(&self, req: api::PullImageRequest) -> CriResult<String> {
        let image = req.image.clone().unwrap_or_default().image;
        self.pulls.lock().unwrap().push(req);
        let answer = self
            .answers
            .lock()
            .unwrap()
            .get(&image)
            .cloned()
            .unwrap_or(Ok(()));
        match answer {
            Ok(()) => {
                let img = api::Image {
                    id: format!("sha256:id-of-{image}"),
                    repo_tags: vec![image.clone()],
                    size: 4242,
                    ..Default::default()
                };
                let id = img.id.clone();
                self.present.lock().unwrap().insert(image, img);
                Ok(id)
            }
            Err(m) => Err(CriError::Status {
                code: tonic::Code::Unknown as i32,
                message: m,
            }),
        }
    }
}

impl FakeImages {
    fn with_image(self, name: &str) -> Self {
        let img = api::Image {
            id: format!("sha256:present-{name}"),
            repo_tags: vec![name.into()],
            size: 7,
            ..Default::default()
        };
        self.present.lock().unwrap().insert(name.into(), img);
        self
    }

    fn pull_count(&self) -> usize {
        self.pulls.lock().unwrap().len()
    }
}

/// A client to nowhere: events are dropped, which these tests do not look at.
fn offline_recorder() -> Recorder {
    let cfg = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    Recorder::new(kube::Client::try_from(cfg).unwrap(), "kubelet")
}

fn pod(uid: &str) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = Some("p".into());
    p.metadata.namespace = Some("default".into());
    p.metadata.uid = Some(uid.into());
    p.spec = Some(PodSpec {
        containers: vec![Container {
            name: "c".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    p
}

fn container(image: &str, policy: Option<&str>) -> Container {
    Container {
        name: "c".into(),
        image: Some(image.into()),
        image_pull_policy: policy.map(str::to_string),
        ..Default::default()
    }
}

fn reason(r: std::result::Result<String, PullError>) -> (&'static str, String) {
    match r {
        Err(PullError::Failed { reason, message }) => (reason, message),
        Ok(s) => panic!("unexpected success {s}"),
    }
}

#[tokio::test]
async fn policies_decide_whether_to_pull() {
    let cri = Arc::new(
        FakeImages::default()
            .with_image("rkube.local/busybox:1")
            .with_image("busybox:latest"),
    );
    let p = ImagePuller::new(cri.clone(), offline_recorder());
    let pod = pod("u1");

    // IfNotPresent (defaulted for a non-latest tag) and present: no pull.
    let r = p
        .ensure_image(&pod, &container("rkube.local/busybox:1", None), &[])
        .await;
    assert_eq!(r.unwrap(), "sha256:present-rkube.local/busybox:1");
    assert_eq!(cri.pull_count(), 0);

    // No tag means :latest, which defaults to Always: pulled although present.
    let r = p.ensure_image(&pod, &container("busybox", None), &[]).await;
    assert_eq!(r.unwrap(), "sha256:id-of-busybox:latest");
    assert_eq!(cri.pull_count(), 1);

    // Never and absent.
    let (why, msg) = reason(
        p.ensure_image(&pod, &container("app:2", Some("Never")), &[])
            .await,
    );
    assert_eq!(why, REASON_ERR_IMAGE_NEVER_PULL);
    assert_eq!(
        msg,
        r#"Container image "app:2" is not present with pull policy of Never"#
    );

    // IfNotPresent and absent: pulled.
    p.ensure_image(&pod, &container("app:3", Some("IfNotPresent")), &[])
        .await
        .unwrap();
    assert_eq!(cri.pull_count(), 2);

    let (why, _) = reason(
        p.ensure_image(&pod, &container("Bad/Name", None), &[])
            .await,
    );
    assert_eq!(why, REASON_INVALID_IMAGE_NAME);
    assert_eq!(cri.pull_count(), 2);
}

#[tokio::test]
async fn failed_pulls_back_off_per_pod_and_image() {
    let cri = Arc::new(FakeImages::default());
    cri.answers.lock().unwrap().insert(
        "127.0.0.1:5000/missing:1".into(),
        Err("failed to pull and unpack image: not found".into()),
    );
    let p = ImagePuller::new(cri.clone(), offline_recorder());
    let c = container("127.0.0.1:5000/missing:1", None);

    let (why, msg) = reason(p.ensure_image(&pod("u1"), &c, &[]).await);
    assert_eq!(why, REASON_ERR_IMAGE_PULL);
    assert_eq!(
        msg,
        "rpc error: code = Unknown desc = failed to pull and unpack image: not found"
    );
    let (why, msg) = reason(p.ensure_image(&pod("u1"), &c, &[]).await);
    assert_eq!(why, REASON_IMAGE_PULL_BACKOFF);
    assert_eq!(msg, r#"Back-off pulling image "127.0.0.1:5000/missing:1""#);
    assert_eq!(cri.pull_count(), 1);
    // Another pod is not held back by this one's failures.
    let (why, _) = reason(p.ensure_image(&pod("u2"), &c, &[]).await);
    assert_eq!(why, REASON_ERR_IMAGE_PULL);
    assert_eq!(cri.pull_count(), 2);
}

#[tokio::test]
async fn pull_secrets_become_cri_auth() {
    let cri = Arc::new(FakeImages::default());
    let p = ImagePuller::new(cri.clone(), offline_recorder());
    let body =
        serde_json::json!({"auths": {"127.0.0.1:5000": {"username": "alice", "password": "pw"}}});
    let secret = Secret {
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(
            [(
                ".dockerconfigjson".to_string(),
                ByteString(serde_json::to_vec(&body).unwrap()),
            )]
            .into_iter()
            .collect(),
        ),
        ..Default::default()
    };
    p.ensure_image(
        &pod("u"),
        &container("127.0.0.1:5000/app:1", None),
        std::slice::from_ref(&secret),
    )
    .await
    .unwrap();
    p.ensure_image(&pod("u"), &container("other.io/app:1", None), &[secret])
        .await
        .unwrap();
    let pulls = cri.pulls.lock().unwrap();
    let auth = pulls[0]
        .auth
        .as_ref()
        .expect("auth for the matching registry");
    assert_eq!(
        (auth.username.as_str(), auth.password.as_str()),
        ("alice", "pw")
    );
    assert!(pulls[1].auth.is_none(), "no auth for another registry");
}

#[test]
fn durations_print_like_go() {
    assert_eq!(go_duration(Duration::from_millis(1234)), "1.234s");
    assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(go_duration(Duration::from_millis(512)), "512ms");
    assert_eq!(go_duration(Duration::from_millis(123_456)), "2m3.456s");
    assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    assert_eq!(go_duration(Duration::from_micros(10)), "0s");
}

#[tokio::test]
async fn events_carry_upstream_messages() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let cri = Arc::new(FakeImages::default().with_image("rkube.local/pause:1"));
    cri.answers
        .lock()
        .unwrap()
        .insert("nope:1".into(), Err("boom".into()));
    let p = ImagePuller::new(cri.clone(), Recorder::new(client.clone(), "kubelet"));
    let pod = pod("u-events");
    p.ensure_image(&pod, &container("rkube.local/pause:1", None), &[])
        .await
        .unwrap();
    p.ensure_image(&pod, &container("app:1", None), &[])
        .await
        .unwrap();
    let _ = p.ensure_image(&pod, &container("nope:1", None), &[]).await;
    let _ = p.ensure_image(&pod, &container("nope:1", None), &[]).await;

    let events: kube::Api<Event> = kube::Api::namespaced(client, "default");
    let mut got = Vec::new();
    for _ in 0..50 {
        got = events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
            .collect::<Vec<_>>();
        if got.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let has =
        |reason: &str, pred: &dyn Fn(&str) -> bool| got.iter().any(|(r, m)| r == reason && pred(m));
    assert!(
        has("Pulled", &|m| m
            == r#"Container image "rkube.local/pause:1" already present on machine"#),
        "{got:?}"
    );
    assert!(
        has("Pulling", &|m| m == r#"Pulling image "app:1""#),
        "{got:?}"
    );
    assert!(
        has("Pulled", &|m| m
            .starts_with(r#"Successfully pulled image "app:1" in "#)
            && m.contains(
                " including waiting). Image size: 4242 bytes."
            )),
        "{got:?}"
    );
    assert!(
        has("Failed", &|m| m
            == r#"Failed to pull image "nope:1": rpc error: code = Unknown desc = boom"#),
        "{got:?}"
    );
    assert!(
        has("BackOff", &|m| m == r#"Back-off pulling image "nope:1""#),
        "{got:?}"
    );
}
