//! CronJob controller against a real API server: a CronJob whose last
//! schedule time lies minutes in the past is due now, so a Job appears.

use controllers::cronjob::{self, SCHEDULED_TIMESTAMP};
use informer::Factory;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use std::time::Duration;

#[tokio::test]
async fn due_cronjob_creates_a_job() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let cjs: Api<CronJob> = Api::namespaced(client.clone(), "default");
    let cj: CronJob = serde_json::from_value(serde_json::json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": { "name": "tick" },
        "spec": {
            "schedule": "* * * * *",
            "suspend": true,
            "jobTemplate": {
                "metadata": { "labels": { "app": "tick" } },
                "spec": { "template": { "spec": {
                    "restartPolicy": "Never",
                    "containers": [{ "name": "main", "image": "busybox" }]
                }}}
            }
        }
    }))
    .unwrap();
    cjs.create(&PostParams::default(), &cj).await.unwrap();
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(150);
    let status = serde_json::json!({ "status": { "lastScheduleTime": past.strftime("%Y-%m-%dT%H:%M:%SZ").to_string() }});
    cjs.patch_status("tick", &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
    cjs.patch(
        "tick",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": { "suspend": false }})),
    )
    .await
    .unwrap();
    tokio::spawn(cronjob::run(Factory::new(client.clone())));
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let mut found = None;
    for _ in 0..200 {
        let list = jobs.list(&Default::default()).await.unwrap().items;
        if let Some(j) = list.into_iter().next() {
            found = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = found.expect("a job was created");
    let minutes = jiff::Timestamp::now().as_second().div_euclid(60);
    let suffix: i64 = job
        .name_any()
        .strip_prefix("tick-")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (minutes - 1..=minutes).contains(&suffix),
        "{suffix} vs {minutes}"
    );
    assert_eq!(job.labels()["app"], "tick");
    assert!(job.annotations().contains_key(SCHEDULED_TIMESTAMP));
    let owner = &job.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("CronJob", Some(true))
    );
    // The status lists the Job as active and records the schedule time.
    for _ in 0..100 {
        let cj = cjs.get("tick").await.unwrap();
        let st = cj.status.unwrap_or_default();
        if st.active.as_ref().is_some_and(|a| a.len() == 1) {
            assert_eq!(st.last_schedule_time.unwrap().0.as_second(), suffix * 60);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("status.active never listed the job");
}
