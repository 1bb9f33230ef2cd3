//! The HPA's arithmetic (upstream's replica calculator and normalization):
//! a proposal per metric from the usage ratio with a 10 % tolerance, then
//! stabilization windows, behavior rate policies and min/max limits, each
//! with the ScalingLimited reason upstream reports. Pure, over recorded
//! recommendations and scale events.

use k8s_openapi::api::autoscaling::v2::HPAScalingRules;
use std::time::{Duration, Instant};

pub const TOLERANCE: f64 = 0.1;
pub const DOWNSCALE_STABILIZATION: Duration = Duration::from_secs(300);

/// Replicas for a usage ratio (current / target): unchanged within tolerance.
pub fn replicas_for_ratio(current: i32, ratio: f64) -> i32 {
    if (1.0 - ratio).abs() <= TOLERANCE {
        return current;
    }
    (ratio * current as f64).ceil() as i32
}

/// What the controller remembers per HPA between syncs.
#[derive(Default, Debug)]
pub struct History {
    pub recommendations: Vec<(i32, Instant)>,
    pub scale_up: Vec<(i32, Instant)>,
    pub scale_down: Vec<(i32, Instant)>,
}

/// A decision with the condition reasons explaining it.
#[derive(Debug, PartialEq)]
pub struct Normalized {
    pub replicas: i32,
    /// AbleToScale reason and message.
    pub able: (&'static str, &'static str),
    /// ScalingLimited: limited?, reason, message.
    pub limited: (bool, &'static str, &'static str),
}

const WITHIN: (&str, &str) = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);
const TOO_MANY: (&str, &str) = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const TOO_FEW: (&str, &str) = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);
const UP_LIMIT: (&str, &str) = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const DOWN_LIMIT: (&str, &str) = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);
const READY: (&str, &str) = ("ReadyForNewScale", "recommended size matches current size");

fn limited(
    desired: i32,
    result: (i32, (&'static str, &'static str)),
) -> (bool, &'static str, &'static str) {
    (result.0 != desired, result.1.0, result.1.1)
}

/// Without `behavior`: 5 minute downscale stabilization, then min/max and
/// the fixed scale-up limit (max(2×current, 4)).
pub fn normalize(
    h: &mut History,
    now: Instant,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
) -> Normalized {
    let cutoff = now.checked_sub(DOWNSCALE_STABILIZATION);
    let mut stabilized = desired;
    let mut old = None;
    for (i, (r, t)) in h.recommendations.iter().enumerate() {
        if cutoff.is_some_and(|c| *t < c) {
            old = Some(i);
        } else if *r > stabilized {
            stabilized = *r;
        }
    }
    match old {
        Some(i) => h.recommendations[i] = (desired, now),
        None => h.recommendations.push((desired, now)),
    }
    let able = if stabilized != desired {
        (
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    } else {
        READY
    };
    let up_limit = (2 * current).max(4);
    let (max_allowed, max_reason) = if max > up_limit {
        (up_limit, UP_LIMIT)
    } else {
        (max, TOO_MANY)
    };
    let result = if stabilized < min {
        (min, TOO_FEW)
    } else if stabilized > max_allowed {
        (max_allowed, max_reason)
    } else {
        (stabilized, WITHIN)
    };
    Normalized {
        replicas: result.0,
        able,
        limited: limited(stabilized, result),
    }
}

fn changed_within(events: &[(i32, Instant)], now: Instant, period: i32) -> i32 {
    let cutoff = now.checked_sub(Duration::from_secs(period.max(0) as u64));
    events
        .iter()
        .filter(|(_, t)| cutoff.is_none_or(|c| *t > c))
        .map(|(n, _)| n)
        .sum()
}

fn select(rules: &HPAScalingRules) -> &str {
    rules.select_policy.as_deref().unwrap_or("Max")
}

/// Most replicas the scale-up policies allow now.
pub fn scale_up_limit(
    current: i32,
    events: &[(i32, Instant)],
    now: Instant,
    rules: &HPAScalingRules,
) -> i32 {
    if select(rules) == "Disabled" {
        return current;
    }
    let mut result: Option<i32> = None;
    for p in rules.policies.iter().flatten() {
        let start = current - changed_within(events, now, p.period_seconds);
        let proposed = match p.type_.as_str() {
            "Pods" => start + p.value,
            _ => (start as f64 * (1.0 + p.value as f64 / 100.0)).ceil() as i32,
        };
        result = Some(match (result, select(rules)) {
            (None, _) => proposed,
            (Some(r), "Min") => r.min(proposed),
            (Some(r), _) => r.max(proposed),
        });
    }
    result.unwrap_or(current)
}

/// Fewest replicas the scale-down policies allow now.
pub fn scale_down_limit(
    current: i32,
    events: &[(i32, Instant)],
    now: Instant,
    rules: &HPAScalingRules,
) -> i32 {
    if select(rules) == "Disabled" {
        return current;
    }
    let mut result: Option<i32> = None;
    for p in rules.policies.iter().flatten() {
        let start = current + changed_within(events, now, p.period_seconds);
        let proposed = match p.type_.as_str() {
            "Pods" => start - p.value,
            _ => (start as f64 * (1.0 - p.value as f64 / 100.0)) as i32,
        };
        result = Some(match (result, select(rules)) {
            (None, _) => proposed,
            (Some(r), "Min") => r.max(proposed),
            (Some(r), _) => r.min(proposed),
        });
    }
    result.unwrap_or(current)
}

/// With `behavior`: per-direction stabilization windows, then rate policies
/// and min/max.
#[allow(clippy::too_many_arguments)]
pub fn normalize_with_behavior(
    h: &mut History,
    now: Instant,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    up: &HPAScalingRules,
    down: &HPAScalingRules,
) -> Normalized {
    let up_window = up.stabilization_window_seconds.unwrap_or(0);
    let down_window = down.stabilization_window_seconds.unwrap_or(300);
    let secs = |s: i32| Duration::from_secs(s.max(0) as u64);
    let (window, is_up) = if desired >= current {
        (up_window, true)
    } else {
        (down_window, false)
    };
    let cutoff = now.checked_sub(secs(window));
    let obsolete = now.checked_sub(secs(up_window.max(down_window)));
    let mut stabilized = desired;
    let mut old = None;
    for (i, (r, t)) in h.recommendations.iter().enumerate() {
        if cutoff.is_none_or(|c| *t > c) {
            stabilized = if is_up {
                stabilized.min(*r)
            } else {
                stabilized.max(*r)
            };
        }
        if obsolete.is_some_and(|c| *t < c) {
            old = Some(i);
        }
    }
    match old {
        Some(i) => h.recommendations[i] = (desired, now),
        None => h.recommendations.push((desired, now)),
    }
    let able = match (stabilized != desired, is_up) {
        (false, _) => READY,
        (true, true) => (
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        ),
        (true, false) => (
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        ),
    };
    let result = if stabilized > current {
        let limit = scale_up_limit(current, &h.scale_up, now, up).max(current);
        let (allowed, why) = if max > limit {
            (limit, UP_LIMIT)
        } else {
            (max, TOO_MANY)
        };
        if stabilized > allowed {
            (allowed, why)
        } else {
            (stabilized, WITHIN)
        }
    } else if stabilized < current {
        let limit = scale_down_limit(current, &h.scale_down, now, down).min(current);
        let (allowed, why) = if min < limit {
            (limit, DOWN_LIMIT)
        } else {
            (min, TOO_FEW)
        };
        if stabilized < allowed {
            (allowed, why)
        } else {
            (stabilized, WITHIN)
        }
    } else {
        (stabilized, WITHIN)
    };
    Normalized {
        replicas: result.0,
        able,
        limited: limited(stabilized, result),
    }
}

/// Remember a rescale for the rate policies.
pub fn record_scale(h: &mut History, now: Instant, from: i32, to: i32) {
    let keep = Duration::from_secs(1800);
    let fresh = |e: &(i32, Instant)| now.duration_since(e.1) < keep;
    h.scale_up.retain(fresh);
    h.scale_down.retain(fresh);
    if to > from {
        h.scale_up.push((to - from, now));
    } else if to < from {
        h.scale_down.push((from - to, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::HPAScalingPolicy;

    #[test]
    fn tolerance_keeps_replicas() {
        assert_eq!(replicas_for_ratio(4, 1.05), 4);
        assert_eq!(replicas_for_ratio(4, 0.95), 4);
        assert_eq!(replicas_for_ratio(4, 1.5), 6);
        assert_eq!(replicas_for_ratio(4, 0.5), 2);
        assert_eq!(replicas_for_ratio(3, 0.2), 1);
    }

    #[test]
    fn clamps_to_min_and_max() {
        let mut h = History::default();
        let now = Instant::now();
        let n = normalize(&mut h, now, 5, 20, 1, 8);
        assert_eq!(n.replicas, 8);
        assert_eq!(n.limited, (true, "TooManyReplicas", TOO_MANY.1));
        let mut h = History::default();
        let n = normalize(&mut h, now, 3, 1, 2, 10);
        assert_eq!(n.replicas, 2);
        assert_eq!(n.limited.1, "TooFewReplicas");
    }

    #[test]
    fn scale_up_is_capped_at_double() {
        let mut h = History::default();
        let n = normalize(&mut h, Instant::now(), 3, 20, 1, 100);
        assert_eq!(n.replicas, 6);
        assert_eq!(n.limited.1, "ScaleUpLimit");
    }

    #[test]
    fn downscale_is_stabilized_over_the_window() {
        let mut h = History::default();
        let now = Instant::now();
        assert_eq!(normalize(&mut h, now, 10, 10, 1, 20).replicas, 10);
        let n = normalize(&mut h, now + Duration::from_secs(60), 10, 4, 1, 20);
        assert_eq!(n.replicas, 10);
        assert_eq!(n.able.0, "ScaleDownStabilized");
        // Once the high recommendation is older than 5 minutes it no longer counts.
        let later = now + Duration::from_secs(400);
        let n = normalize(&mut h, later, 10, 4, 1, 20);
        assert_eq!(n.replicas, 4);
    }

    fn rules(window: Option<i32>, policies: Vec<(&str, i32, i32)>) -> HPAScalingRules {
        HPAScalingRules {
            stabilization_window_seconds: window,
            select_policy: Some("Max".into()),
            policies: Some(
                policies
                    .into_iter()
                    .map(|(t, v, p)| HPAScalingPolicy {
                        type_: t.into(),
                        value: v,
                        period_seconds: p,
                    })
                    .collect(),
            ),
            tolerance: None,
        }
    }

    #[test]
    fn behavior_policies_limit_the_rate() {
        let up = rules(Some(0), vec![("Pods", 2, 60)]);
        let down = rules(Some(0), vec![("Percent", 50, 60)]);
        let mut h = History::default();
        let now = Instant::now();
        let n = normalize_with_behavior(&mut h, now, 4, 10, 1, 20, &up, &down);
        assert_eq!(n.replicas, 6);
        assert_eq!(n.limited.1, "ScaleUpLimit");
        record_scale(&mut h, now, 4, 6);
        // Within the period the 2 pods already added count against the policy.
        let n = normalize_with_behavior(
            &mut h,
            now + Duration::from_secs(10),
            6,
            10,
            1,
            20,
            &up,
            &down,
        );
        assert_eq!(n.replicas, 6);
        let n = normalize_with_behavior(
            &mut h,
            now + Duration::from_secs(20),
            6,
            1,
            1,
            20,
            &up,
            &down,
        );
        assert_eq!(n.replicas, 3);
        assert_eq!(n.limited.1, "ScaleDownLimit");
    }
}
