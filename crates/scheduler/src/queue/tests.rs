//! Queue tests: ordering, backoff, unschedulable moves, gating.

use super::*;
use serde_json::json;

fn pod(uid: &str, priority: i32) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(
            json!({"metadata": {"name": uid, "namespace": "d", "uid": uid},
            "spec": {"priority": priority, "containers": []}}),
        )
        .unwrap(),
    )
}

fn q() -> SchedulingQueue {
    SchedulingQueue::new(Duration::from_secs(1), Duration::from_secs(10))
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let q = q();
    let secs: Vec<u64> = (1..=6).map(|a| q.backoff_for(a).as_secs()).collect();
    assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
}

#[tokio::test(start_paused = true)]
async fn priority_then_arrival_order() {
    let q = q();
    q.add_or_update(pod("low", 0), None, false);
    tokio::time::advance(Duration::from_millis(1)).await;
    q.add_or_update(pod("high", 10), None, false);
    tokio::time::advance(Duration::from_millis(1)).await;
    q.add_or_update(pod("low2", 0), None, false);
    let order: Vec<String> = (0..3)
        .map(|_| q.try_pop().unwrap().uid().to_string())
        .collect();
    assert_eq!(order, ["high", "low", "low2"]);
    assert!(q.try_pop().is_none());
}

#[tokio::test(start_paused = true)]
async fn unschedulable_pods_move_on_relevant_events_only() {
    let q = q();
    q.add_or_update(pod("a", 0), None, false);
    let qp = q.try_pop().unwrap();
    q.requeue_failed(qp, HashSet::from(["NodeResourcesFit"]), false);
    assert_eq!(q.lens(), (0, 0, 1));
    // Another pod being bound does not free resources.
    q.on_event(ClusterEvent::AssignedPodAdd);
    assert_eq!(q.lens(), (0, 0, 1));
    // A deleted pod does; still backing off, so to the backoff queue.
    q.on_event(ClusterEvent::AssignedPodDelete);
    assert_eq!(q.lens(), (0, 1, 0));
    tokio::time::advance(Duration::from_millis(1001)).await;
    q.flush();
    assert_eq!(q.lens(), (1, 0, 0));
    let qp = q.try_pop().unwrap();
    assert_eq!(qp.attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn event_during_attempt_sends_pod_to_backoff() {
    let q = q();
    q.add_or_update(pod("a", 0), None, false);
    let qp = q.try_pop().unwrap();
    q.on_event(ClusterEvent::NodeAdd);
    q.requeue_failed(qp, HashSet::from(["NodeResourcesFit"]), false);
    assert_eq!(q.lens(), (0, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn unschedulable_pods_are_flushed_after_five_minutes() {
    let q = q();
    q.add_or_update(pod("a", 0), None, false);
    let qp = q.try_pop().unwrap();
    q.requeue_failed(qp, HashSet::from(["TaintToleration"]), false);
    tokio::time::advance(Duration::from_secs(299)).await;
    q.flush();
    assert_eq!(q.lens(), (0, 0, 1));
    tokio::time::advance(Duration::from_secs(2)).await;
    q.flush();
    assert_eq!(q.lens(), (1, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn gated_pods_wait_until_ungated_and_deleted_pods_vanish() {
    let q = q();
    let a = q.add_or_update(pod("a", 0), Some("waiting".into()), false);
    assert_eq!(a, Admission::Gated("waiting".into()));
    q.on_event(ClusterEvent::NodeAdd);
    assert!(q.try_pop().is_none());
    q.add_or_update(pod("a", 0), None, true);
    assert_eq!(q.try_pop().unwrap().uid(), "a");

    q.add_or_update(pod("b", 0), None, false);
    let qp = q.try_pop().unwrap();
    q.delete("b");
    q.requeue_failed(qp, HashSet::new(), false);
    assert_eq!(q.lens(), (0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn status_only_updates_do_not_requeue() {
    let q = q();
    q.add_or_update(pod("a", 0), None, false);
    let qp = q.try_pop().unwrap();
    q.requeue_failed(qp, HashSet::from(["NodeAffinity"]), false);
    q.add_or_update(pod("a", 0), None, false);
    assert_eq!(q.lens(), (0, 0, 1));
    q.add_or_update(pod("a", 0), None, true);
    assert_eq!(q.lens(), (0, 1, 0));
}
