//! Pure Job rules: the pod failure policy (which rule a failed pod matches
//! and the message upstream writes), the pod-recreation backoff, and the
//! compressed index lists of `completedIndexes` / `failedIndexes`.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeSet;
use std::time::Duration;

/// What a matching rule asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    FailJob(String),
    FailIndex,
    Ignore,
    Count,
}

fn exit_code_match(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<(String, i32)> {
    let req = rule.on_exit_codes.as_ref()?;
    let st = pod.status.as_ref()?;
    st.container_statuses
        .iter()
        .chain(st.init_container_statuses.iter())
        .flatten()
        .filter(|c| {
            req.container_name
                .as_ref()
                .is_none_or(|n| n.is_empty() || *n == c.name)
        })
        .filter_map(|c| {
            let code = c.state.as_ref()?.terminated.as_ref()?.exit_code;
            (code != 0).then(|| (c.name.clone(), code))
        })
        .find(|(_, code)| {
            let listed = req.values.contains(code);
            match req.operator.as_str() {
                "In" => listed,
                "NotIn" => !listed,
                _ => false,
            }
        })
}

fn condition_match(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<String> {
    let pats = rule.on_pod_conditions.as_ref()?;
    let conds = pod.status.as_ref()?.conditions.as_ref()?;
    pats.iter().find_map(|p| {
        let want = p.status.as_deref().unwrap_or("True");
        conds
            .iter()
            .any(|c| c.type_ == p.type_ && c.status == want)
            .then(|| p.type_.clone())
    })
}

/// The action the first matching rule of `policy` takes for failed `pod`;
/// `None` when no rule matches (the failure counts as usual).
pub fn evaluate(policy: &PodFailurePolicy, pod: &Pod) -> Option<Action> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    for (i, rule) in policy.rules.iter().enumerate() {
        let action = rule.action.as_str();
        let detail = if let Some((container, code)) = exit_code_match(rule, pod) {
            format!(
                "Container {container} for pod {ns}/{name} failed with exit code {code} matching {action} rule at index {i}"
            )
        } else if let Some(cond) = condition_match(rule, pod) {
            format!("Pod {ns}/{name} has condition {cond} matching {action} rule at index {i}")
        } else {
            continue;
        };
        return Some(match action {
            "FailJob" => Action::FailJob(detail),
            "FailIndex" => Action::FailIndex,
            "Ignore" => Action::Ignore,
            _ => Action::Count,
        });
    }
    None
}

/// The delay before a replacement pod after `failures` consecutive failures.
pub fn pod_backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    base.checked_mul(1u32 << failures.saturating_sub(1).min(20))
        .map_or(max, |d| d.min(max))
}

/// Parse `1,3-5` into a set of indexes (ignoring malformed parts).
pub fn parse_indexes(s: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    out.insert(a);
                }
            }
        }
    }
    out
}

/// Format indexes as upstream does: ascending, consecutive runs as `a-b`.
pub fn format_indexes(set: &BTreeSet<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
    };
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PodCondition, PodStatus,
    };

    fn failed_pod(code: i32) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some("p".into());
        p.metadata.namespace = Some("ns".into());
        p.status = Some(PodStatus {
            phase: Some("Failed".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "main".into(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: code,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            conditions: Some(vec![PodCondition {
                type_: "DisruptionTarget".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        p
    }

    fn policy() -> PodFailurePolicy {
        PodFailurePolicy {
            rules: vec![
                PodFailurePolicyRule {
                    action: "FailJob".into(),
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                        container_name: None,
                        operator: "In".into(),
                        values: vec![42],
                    }),
                    on_pod_conditions: None,
                },
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: None,
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: Some("True".into()),
                    }]),
                },
            ],
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        assert_eq!(
            evaluate(&policy(), &failed_pod(42)),
            Some(Action::FailJob(
                "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0"
                    .into()
            ))
        );
        assert_eq!(evaluate(&policy(), &failed_pod(1)), Some(Action::Ignore));
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let b = Duration::from_secs(10);
        let m = Duration::from_secs(360);
        assert_eq!(pod_backoff(1, b, m), Duration::from_secs(10));
        assert_eq!(pod_backoff(3, b, m), Duration::from_secs(40));
        assert_eq!(pod_backoff(10, b, m), m);
    }

    #[test]
    fn index_lists_round_trip() {
        let s = parse_indexes("0,2-4,7");
        assert_eq!(s.len(), 5);
        assert_eq!(format_indexes(&s), "0,2-4,7");
    }
}
