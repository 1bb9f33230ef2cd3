//! The CronJob's scheduling decision, pure over the CronJob and the time:
//! which scheduled time (if any) is due now, whether it is too late
//! (startingDeadlineSeconds), too many were missed, or the concurrency
//! policy forbids or replaces, and when to look again.

use apimachinery::cron::Schedule;
use informer::EventType;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::CronJob;
use std::time::Duration;

/// Upstream's limit before it warns that start times were missed.
pub const MAX_MISSED: u64 = 100;
/// Requeue a little after the scheduled time so it is surely past.
const NEXT_DELTA: Duration = Duration::from_millis(100);

/// What one reconcile should do about scheduling.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Events to record: (type, reason, message).
    pub events: Vec<(EventType, &'static str, String)>,
    /// Start a Job for this scheduled time.
    pub start: Option<Timestamp>,
    /// Delete the active Jobs first (concurrencyPolicy Replace).
    pub replace_active: bool,
    /// Look again after this long.
    pub requeue: Option<Duration>,
}

#[derive(Debug, PartialEq)]
pub enum PlanError {
    /// (reason, message) of the warning event.
    Invalid(&'static str, String),
}

/// The time zone of `cj` (`spec.timeZone`, else the server's, UTC here).
pub fn time_zone(cj: &CronJob) -> Result<TimeZone, PlanError> {
    match cj.spec.time_zone.as_deref() {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|e| {
            PlanError::Invalid(
                "UnknownTimeZone",
                format!("invalid timeZone: {name:?}: {e}"),
            )
        }),
    }
}

/// The Job name for a scheduled time: minutes since the epoch.
pub fn job_name(cj_name: &str, scheduled: Timestamp) -> String {
    format!("{cj_name}-{}", scheduled.as_second().div_euclid(60))
}

/// The most recent unmet scheduled time at or before `now`, and how many
/// were missed (capped just past `MAX_MISSED`, which is all that matters).
fn most_recent(
    schedule: &Schedule,
    tz: &TimeZone,
    earliest: Timestamp,
    now: Timestamp,
) -> (Option<Timestamp>, u64) {
    let mut latest = None;
    let mut missed = 0;
    let mut first: Option<Timestamp> = None;
    let mut t = earliest;
    while let Some(n) = schedule.next_after(t, tz) {
        if n > now {
            break;
        }
        missed += 1;
        let t1 = *first.get_or_insert(n);
        latest = Some(n);
        t = n;
        if missed > MAX_MISSED {
            // Too many to walk one by one: estimate the count from the
            // interval, as upstream does, and find the last time before now
            // in a window wide enough to hold one.
            let step = t1
                .duration_until(first_two(schedule, tz, t1))
                .as_secs()
                .max(1);
            missed = (t1.duration_until(now).as_secs() / step) as u64 + 1;
            for hours in [1i64, 24, 24 * 32, 24 * 366, 24 * 366 * 5] {
                let Ok(from) = now.checked_sub(jiff::SignedDuration::from_hours(hours)) else {
                    continue;
                };
                let mut u = from.max(t);
                let mut found = None;
                while let Some(n) = schedule.next_after(u, tz).filter(|n| *n <= now) {
                    found = Some(n);
                    u = n;
                }
                if found.is_some() {
                    latest = found;
                    break;
                }
            }
            break;
        }
    }
    (latest, missed)
}

fn first_two(schedule: &Schedule, tz: &TimeZone, t1: Timestamp) -> Timestamp {
    schedule.next_after(t1, tz).unwrap_or(t1)
}

fn until(now: Timestamp, next: Option<Timestamp>) -> Option<Duration> {
    let next = next?;
    let d = now.duration_until(next).unsigned_abs();
    Some(d + NEXT_DELTA)
}

/// Decide what to do about `cj` at `now`. `cj.status.active` must already
/// list only the Jobs that still run.
pub fn plan(cj: &CronJob, now: Timestamp) -> Result<Plan, PlanError> {
    let tz = time_zone(cj)?;
    let spec = cj.spec.clone();
    let schedule = Schedule::parse(&spec.schedule).map_err(|e| {
        PlanError::Invalid(
            "UnparseableSchedule",
            format!("unparseable schedule: {:?} : {e}", spec.schedule),
        )
    })?;
    let mut plan = Plan::default();
    if spec.suspend == Some(true) {
        return Ok(plan);
    }
    let status = cj.status.clone().unwrap_or_default();
    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let mut earliest = status.last_schedule_time.as_ref().map_or(created, |t| t.0);
    if let Some(sds) = spec.starting_deadline_seconds
        && let Ok(deadline) = now.checked_sub(jiff::SignedDuration::from_secs(sds))
        && deadline > earliest
    {
        earliest = deadline;
    }
    let (scheduled, missed) = most_recent(&schedule, &tz, earliest, now);
    plan.requeue = until(now, schedule.next_after(now, &tz));
    if missed > MAX_MISSED {
        plan.events.push((
            EventType::Warning,
            "TooManyMissedTimes",
            format!(
                "too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
            ),
        ));
    }
    let Some(scheduled) = scheduled else {
        return Ok(plan);
    };
    if let Some(sds) = spec.starting_deadline_seconds
        && scheduled
            .checked_add(jiff::SignedDuration::from_secs(sds))
            .is_ok_and(|t| t < now)
    {
        plan.events.push((
            EventType::Warning,
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                scheduled.strftime("%a, %d %b %Y %H:%M:%S %z")
            ),
        ));
        return Ok(plan);
    }
    let name = job_name(cj.metadata.name.as_deref().unwrap_or(""), scheduled);
    let active = status.active.unwrap_or_default();
    let already = active
        .iter()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || status.last_schedule_time.as_ref().map(|t| t.0) == Some(scheduled);
    if already {
        return Ok(plan);
    }
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if !active.is_empty() => {
            plan.events.push((
                EventType::Normal,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            ));
            return Ok(plan);
        }
        Some("Replace") if !active.is_empty() => plan.replace_active = true,
        _ => {}
    }
    plan.start = Some(scheduled);
    Ok(plan)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
