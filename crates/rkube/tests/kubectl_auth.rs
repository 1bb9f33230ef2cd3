//! Identity and access questions kubectl asks the server: `auth whoami`
//! (SelfSubjectReview), `auth can-i` (SelfSubjectAccessReview) and
//! `auth can-i --list` (SelfSubjectRulesReview), and a bearer token from the
//! static token file.

mod common;
use common::Server;

#[test]
fn whoami_and_can_i() {
    let s = Server::start();
    let out = s.kubectl(&["auth", "whoami"]).ok();
    assert!(out.stdout.contains("system:admin"), "{}", out.stdout);
    assert!(out.stdout.contains("system:masters"), "{}", out.stdout);

    let out = s.kubectl(&["auth", "can-i", "create", "deployments"]).ok();
    assert_eq!(out.stdout.trim(), "yes");

    let out = s.kubectl(&["auth", "can-i", "--list"]).ok();
    assert!(out.stdout.contains("*.*"), "{}", out.stdout);

    // Review objects are answered, never stored.
    let out = s.kubectl(&["get", "selfsubjectaccessreviews"]).fails();
    assert!(
        out.stderr.contains("not supported")
            || out.stderr.contains("MethodNotAllowed")
            || out.stderr.contains("not allowed"),
        "{}",
        out.stderr
    );
}

#[test]
fn anonymous_requests_are_unauthorized() {
    let s = Server::start();
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/api/v1/namespaces", s.url),
        ])
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    // Health endpoints stay open, as upstream's public-info-viewer allows.
    let out = std::process::Command::new("curl")
        .args(["-sk", &format!("{}/readyz", s.url)])
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok");
}

#[test]
fn metrics_need_credentials_and_count_requests() {
    let s = Server::start();
    s.kubectl(&["get", "configmaps"]).ok();
    let out = s.kubectl(&["get", "--raw", "/metrics"]).ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("apiserver_request_total{verb=\"LIST\"")
                && l.contains("resource=\"configmaps\"")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("apiserver_request_duration_seconds_bucket"),
        "{}",
        out.stdout
    );
    let anon = std::process::Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/metrics", s.url),
        ])
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&anon.stdout), "401");
}

#[test]
fn impersonation_with_as() {
    let s = Server::start();
    let out = s
        .kubectl(&["auth", "whoami", "--as=bob", "--as-group=devs"])
        .ok();
    assert!(out.stdout.contains("bob"), "{}", out.stdout);
    assert!(out.stdout.contains("devs"), "{}", out.stdout);
    assert!(!out.stdout.contains("system:masters"), "{}", out.stdout);
}
