//! Job controller (and TTL-after-finished) against a real in-process API
//! server; the test plays the kubelet by writing pod status.

use controllers::job::{self, pods::COMPLETION_INDEX};
use informer::Factory;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use std::time::Duration;

async fn start() -> (testkit::TestServer, Client) {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let factory = Factory::new(client.clone());
    let config = job::Config {
        pod_failure_backoff: Duration::from_millis(50),
        ..Default::default()
    };
    tokio::spawn(job::run_with(factory.clone(), config));
    tokio::spawn(controllers::ttl_after_finished::run(factory));
    (ts, client)
}

fn job_json(name: &str, extra: serde_json::Value) -> Job {
    let mut v = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": { "name": name },
        "spec": {
            "template": { "spec": {
                "restartPolicy": "Never",
                "containers": [{ "name": "main", "image": "busybox" }]
            }}
        }
    });
    for (k, val) in extra.as_object().unwrap() {
        v["spec"][k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

async fn wait<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn job_pods(client: &Client, name: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let lp = ListParams::default().labels(&format!("batch.kubernetes.io/job-name={name}"));
    api.list(&lp).await.unwrap().items
}

/// Play the kubelet: the pod's container exits with `code`.
async fn finish(client: &Client, pod: &Pod, code: i32) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let phase = if code == 0 { "Succeeded" } else { "Failed" };
    let patch = serde_json::json!({ "status": {
        "phase": phase,
        "containerStatuses": [{
            "name": "main", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "terminated": { "exitCode": code } }
        }]
    }});
    api.patch_status(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await
    .unwrap();
}

fn running(pods: &[Pod]) -> Vec<Pod> {
    pods.iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
        })
        .cloned()
        .collect()
}

fn condition(job: &Job, t: &str) -> Option<(String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t && c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

async fn create(client: &Client, job: &Job) -> Api<Job> {
    let api: Api<Job> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), job).await.unwrap();
    api
}

#[tokio::test]
async fn completions_with_parallelism_complete() {
    let (_ts, client) = start().await;
    let jobs = create(
        &client,
        &job_json(
            "par",
            serde_json::json!({"completions": 3, "parallelism": 2}),
        ),
    )
    .await;
    for _ in 0..3 {
        let pod = wait("a running pod", async || {
            running(&job_pods(&client, "par").await).into_iter().next()
        })
        .await;
        let active = running(&job_pods(&client, "par").await).len();
        assert!(active <= 2, "parallelism exceeded: {active}");
        let p = &pod;
        assert!(p.finalizers().iter().any(|f| f == job::pods::FINALIZER));
        assert_eq!(p.labels()["job-name"], "par");
        finish(&client, &pod, 0).await;
        wait("pod counted", async || {
            let pods = job_pods(&client, "par").await;
            let p = pods.iter().find(|x| x.name_any() == pod.name_any())?;
            (!p.finalizers().iter().any(|f| f == job::pods::FINALIZER)).then_some(())
        })
        .await;
    }
    let j = wait("Complete", async || {
        let j = jobs.get("par").await.ok()?;
        condition(&j, "Complete").map(|_| j)
    })
    .await;
    let st = j.status.unwrap();
    assert_eq!(st.succeeded, Some(3));
    assert_eq!(st.failed, Some(0));
    assert_eq!(st.active, Some(0));
    assert!(st.completion_time.is_some());
    assert!(condition(&jobs.get("par").await.unwrap(), "SuccessCriteriaMet").is_some());
    assert_eq!(job_pods(&client, "par").await.len(), 3);
}

#[tokio::test]
async fn backoff_limit_fails_the_job() {
    let (_ts, client) = start().await;
    let jobs = create(
        &client,
        &job_json("bo", serde_json::json!({"backoffLimit": 1})),
    )
    .await;
    for round in 0..2 {
        let pod = wait("a running pod", async || {
            running(&job_pods(&client, "bo").await).into_iter().next()
        })
        .await;
        finish(&client, &pod, 1).await;
        if round == 0 {
            wait("failure counted", async || {
                let j = jobs.get("bo").await.ok()?;
                (j.status?.failed == Some(1)).then_some(())
            })
            .await;
        }
    }
    let j = wait("Failed", async || {
        let j = jobs.get("bo").await.ok()?;
        condition(&j, "Failed").map(|c| (j, c))
    })
    .await;
    assert_eq!(
        j.1,
        (
            "BackoffLimitExceeded".into(),
            "Job has reached the specified backoff limit".into()
        )
    );
    assert_eq!(j.0.status.unwrap().failed, Some(2));
}

#[tokio::test]
async fn indexed_job_runs_each_index_once() {
    let (_ts, client) = start().await;
    let spec = serde_json::json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"});
    let jobs = create(&client, &job_json("idx", spec)).await;
    let pods = wait("three pods", async || {
        let p = running(&job_pods(&client, "idx").await);
        (p.len() == 3).then_some(p)
    })
    .await;
    let mut idx: Vec<String> = pods
        .iter()
        .map(|p| p.annotations()[COMPLETION_INDEX].clone())
        .collect();
    idx.sort();
    assert_eq!(idx, ["0", "1", "2"]);
    let p1 = pods
        .iter()
        .find(|p| p.annotations()[COMPLETION_INDEX] == "1")
        .unwrap();
    assert_eq!(p1.spec.as_ref().unwrap().hostname.as_deref(), Some("idx-1"));
    let env = p1.spec.as_ref().unwrap().containers[0].env.clone().unwrap();
    assert!(env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX"));
    finish(&client, p1, 0).await;
    wait("index 1 completed", async || {
        let j = jobs.get("idx").await.ok()?;
        (j.status?.completed_indexes.as_deref() == Some("1")).then_some(())
    })
    .await;
    for p in pods.iter().filter(|p| p.name_any() != p1.name_any()) {
        finish(&client, p, 0).await;
    }
    let j = wait("Complete", async || {
        let j = jobs.get("idx").await.ok()?;
        condition(&j, "Complete").map(|_| j)
    })
    .await;
    assert_eq!(
        j.status.as_ref().unwrap().completed_indexes.as_deref(),
        Some("0-2")
    );
    assert_eq!(j.status.unwrap().succeeded, Some(3));
}

#[tokio::test]
async fn active_deadline_fails_the_job() {
    let (_ts, client) = start().await;
    let jobs = create(
        &client,
        &job_json("dl", serde_json::json!({"activeDeadlineSeconds": 1})),
    )
    .await;
    let j = wait("Failed", async || {
        let j = jobs.get("dl").await.ok()?;
        condition(&j, "Failed")
    })
    .await;
    assert_eq!(
        j,
        (
            "DeadlineExceeded".into(),
            "Job was active longer than specified deadline".into()
        )
    );
    assert!(running(&job_pods(&client, "dl").await).is_empty());
}

#[tokio::test]
async fn pod_failure_policy_fail_job_on_exit_code() {
    let (_ts, client) = start().await;
    let spec = serde_json::json!({"backoffLimit": 6, "podFailurePolicy": {"rules": [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}
    ]}});
    let jobs = create(&client, &job_json("pfp", spec)).await;
    let pod = wait("a pod", async || {
        running(&job_pods(&client, "pfp").await).into_iter().next()
    })
    .await;
    finish(&client, &pod, 42).await;
    let (reason, message) = wait("Failed", async || {
        let j = jobs.get("pfp").await.ok()?;
        condition(&j, "Failed")
    })
    .await;
    assert_eq!(reason, "PodFailurePolicy");
    assert_eq!(
        message,
        format!(
            "Container main for pod default/{} failed with exit code 42 matching FailJob rule at index 0",
            pod.name_any()
        )
    );
}

#[tokio::test]
async fn ttl_deletes_a_finished_job() {
    let (_ts, client) = start().await;
    let jobs = create(
        &client,
        &job_json("ttl", serde_json::json!({"ttlSecondsAfterFinished": 1})),
    )
    .await;
    let pod = wait("a pod", async || {
        running(&job_pods(&client, "ttl").await).into_iter().next()
    })
    .await;
    finish(&client, &pod, 0).await;
    // Foreground deletion: without a garbage collector in this test the Job
    // stays, marked for deletion with the foregroundDeletion finalizer.
    wait("job deleted", async || {
        match jobs.get_opt("ttl").await.ok()? {
            None => Some(()),
            Some(j) => j.metadata.deletion_timestamp.map(|_| ()),
        }
    })
    .await;
}
