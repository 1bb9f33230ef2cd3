//! SchedulingGates: a pod with `spec.schedulingGates` stays out of the
//! active queue until every gate is removed.

use crate::framework::{Plugin, PodInfo, PreEnqueue, Status};

pub const NAME: &str = "SchedulingGates";

pub struct SchedulingGates;

impl Plugin for SchedulingGates {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreEnqueue for SchedulingGates {
    fn pre_enqueue(&self, pod: &PodInfo) -> Status {
        let gates: Vec<&str> = pod
            .pod
            .spec
            .iter()
            .flat_map(|s| s.scheduling_gates.iter().flatten())
            .map(|g| g.name.as_str())
            .collect();
        if gates.is_empty() {
            return Status::success();
        }
        Status::unresolvable(format!(
            "waiting for scheduling gates: [{}]",
            gates.join(" ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::plugins::testutil::pod;
    use serde_json::json;

    #[test]
    fn gated_pods_wait() {
        let p = pod(json!({"containers": [], "schedulingGates": [{"name": "a"}, {"name": "b"}]}));
        let s = SchedulingGates.pre_enqueue(&p);
        assert_eq!(s.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(s.reasons, vec!["waiting for scheduling gates: [a b]"]);
        assert!(
            SchedulingGates
                .pre_enqueue(&pod(json!({"containers": []})))
                .is_success()
        );
    }
}
