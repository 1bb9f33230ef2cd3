//! Unit tests of the CronJob scheduling decision.

use super::*;
use k8s_openapi::api::batch::v1::{CronJobSpec, CronJobStatus};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cj(schedule: &str, created: &str) -> CronJob {
    let mut cj = CronJob {
        spec: CronJobSpec {
            schedule: schedule.into(),
            ..Default::default()
        },
        ..Default::default()
    };
    cj.metadata.name = Some("hello".into());
    cj.metadata.creation_timestamp = Some(Time(ts(created)));
    cj
}

fn with_active(mut c: CronJob, policy: &str) -> CronJob {
    c.spec.concurrency_policy = Some(policy.into());
    c.status = Some(CronJobStatus {
        active: Some(vec![ObjectReference {
            name: Some("hello-1".into()),
            ..Default::default()
        }]),
        ..Default::default()
    });
    c
}

#[test]
fn nothing_due_requeues_at_next_time() {
    let p = plan(
        &cj("*/5 * * * *", "2024-01-01T00:00:30Z"),
        ts("2024-01-01T00:01:00Z"),
    )
    .unwrap();
    assert_eq!(p.start, None);
    assert_eq!(p.requeue, Some(Duration::from_secs(240) + NEXT_DELTA));
}

#[test]
fn due_time_starts_a_job_named_by_minutes() {
    let now = ts("2024-01-01T00:05:10Z");
    let p = plan(&cj("*/5 * * * *", "2024-01-01T00:00:30Z"), now).unwrap();
    assert_eq!(p.start, Some(ts("2024-01-01T00:05:00Z")));
    assert_eq!(
        job_name("hello", ts("2024-01-01T00:05:00Z")),
        "hello-28401125"
    );
    assert!(p.events.is_empty());
}

#[test]
fn already_scheduled_time_is_not_started_again() {
    let mut c = cj("*/5 * * * *", "2024-01-01T00:00:30Z");
    c.status = Some(CronJobStatus {
        last_schedule_time: Some(Time(ts("2024-01-01T00:05:00Z"))),
        ..Default::default()
    });
    let p = plan(&c, ts("2024-01-01T00:06:00Z")).unwrap();
    assert_eq!(p.start, None);
}

#[test]
fn time_zone_shifts_the_schedule() {
    let mut c = cj("0 9 * * *", "2024-01-01T00:00:00Z");
    c.spec.time_zone = Some("Asia/Tokyo".into());
    // 09:00 in Tokyo is 00:00 UTC.
    let p = plan(&c, ts("2024-01-02T00:00:05Z")).unwrap();
    assert_eq!(p.start, Some(ts("2024-01-02T00:00:00Z")));
    c.spec.time_zone = Some("Mars/Olympus".into());
    assert!(matches!(
        plan(&c, ts("2024-01-02T00:00:05Z")),
        Err(PlanError::Invalid("UnknownTimeZone", _))
    ));
}

#[test]
fn forbid_skips_and_replace_replaces() {
    let now = ts("2024-01-01T00:05:10Z");
    let base = cj("*/5 * * * *", "2024-01-01T00:00:30Z");
    let p = plan(&with_active(base.clone(), "Forbid"), now).unwrap();
    assert_eq!(p.start, None);
    assert_eq!(p.events[0].1, "JobAlreadyActive");
    let p = plan(&with_active(base.clone(), "Replace"), now).unwrap();
    assert!(p.replace_active);
    assert_eq!(p.start, Some(ts("2024-01-01T00:05:00Z")));
    let p = plan(&with_active(base, "Allow"), now).unwrap();
    assert!(!p.replace_active);
    assert!(p.start.is_some());
}

#[test]
fn too_many_missed_warns_but_runs_the_latest() {
    let now = ts("2024-01-01T03:00:30Z");
    let p = plan(&cj("* * * * *", "2024-01-01T00:00:00Z"), now).unwrap();
    assert_eq!(p.events[0].1, "TooManyMissedTimes");
    assert!(
        p.events[0]
            .2
            .starts_with("too many missed start times: 180.")
    );
    assert_eq!(p.start, Some(ts("2024-01-01T03:00:00Z")));
}

#[test]
fn starting_deadline_bounds_missed_and_skips_late_starts() {
    let now = ts("2024-01-01T03:00:30Z");
    let mut c = cj("* * * * *", "2024-01-01T00:00:00Z");
    c.spec.starting_deadline_seconds = Some(200);
    let p = plan(&c, now).unwrap();
    assert!(p.events.is_empty(), "{:?}", p.events);
    assert_eq!(p.start, Some(ts("2024-01-01T03:00:00Z")));
    // Hourly, 10 s deadline, 30 s late: the start window has passed, so
    // nothing starts and the next look is at the next hour.
    let mut c = cj("0 * * * *", "2024-01-01T00:00:00Z");
    c.spec.starting_deadline_seconds = Some(10);
    c.status = Some(CronJobStatus {
        last_schedule_time: Some(Time(ts("2024-01-01T02:00:00Z"))),
        ..Default::default()
    });
    let p = plan(&c, now).unwrap();
    assert_eq!(p.start, None);
    assert_eq!(p.requeue, Some(Duration::from_secs(3570) + NEXT_DELTA));
}

#[test]
fn suspended_and_unparseable() {
    let mut c = cj("* * * * *", "2024-01-01T00:00:00Z");
    c.spec.suspend = Some(true);
    assert_eq!(
        plan(&c, ts("2024-01-01T01:00:00Z")).unwrap(),
        Plan::default()
    );
    let c = cj("nope", "2024-01-01T00:00:00Z");
    assert!(matches!(
        plan(&c, ts("2024-01-01T01:00:00Z")),
        Err(PlanError::Invalid("UnparseableSchedule", _))
    ));
}
