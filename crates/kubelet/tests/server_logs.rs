//! The kubelet's HTTPS server against a fake CRI and real CRI-format log
//! files: client certificates, /healthz, and /containerLogs with tail,
//! since, timestamps, limitBytes, previous, the waiting errors, and follow
//! across a rotation until the container exits.

mod server_support;

use http::StatusCode;
use http_body_util::BodyExt;
use kubelet::cri::api::ContainerState;
use server_support::*;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

const LOG: &str = "\
2020-11-22T10:00:01.000000001Z stdout F one
2020-11-22T10:00:02Z stderr F two
2020-11-22T10:00:03Z stdout P thr
2020-11-22T10:00:04Z stdout F ee
2020-11-22T10:00:05Z stdout F four
";

struct Setup {
    pki: Pki,
    cri: Arc<FakeCri>,
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Setup {
    async fn new() -> Setup {
        let pki = Pki::new();
        let cri = Arc::new(FakeCri::default());
        let (addr, stop) = start_kubelet(&pki, cri.clone()).await;
        Setup {
            pki,
            cri,
            addr,
            dir: tempfile::tempdir().unwrap(),
            _stop: stop,
        }
    }

    fn log_file(&self, name: &str, content: &str) -> std::path::PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = get(self.addr, self.pki.client_tls(true), path)
            .await
            .unwrap();
        (r.status(), text(r).await)
    }
}

#[tokio::test]
async fn requires_a_client_certificate_from_the_cluster_ca() {
    let s = Setup::new().await;
    assert_eq!(s.get("/healthz").await, (StatusCode::OK, "ok".into()));
    assert!(
        get(s.addr, s.pki.client_tls(false), "/healthz")
            .await
            .is_err()
    );
    // A certificate from another CA is refused as well.
    let other = Pki::new();
    let tls = s.pki.client_tls_signed_by(Some(&other));
    assert!(get(s.addr, tls, "/healthz").await.is_err());
}

#[tokio::test]
async fn container_logs_with_options() {
    let s = Setup::new().await;
    let p = s.log_file("0.log", LOG);
    s.cri.add("test", "web", "app", 0, p);
    let base = "/containerLogs/test/web/app";
    assert_eq!(
        s.get(base).await,
        (StatusCode::OK, "one\ntwo\nthree\nfour\n".into())
    );
    assert_eq!(
        s.get(&format!("{base}?tailLines=2")).await.1,
        "three\nfour\n"
    );
    assert_eq!(s.get(&format!("{base}?tail=1")).await.1, "four\n");
    assert_eq!(
        s.get(&format!(
            "{base}?sinceTime=2020-11-22T10:00:03Z&stream=Stdout"
        ))
        .await
        .1,
        "three\nfour\n"
    );
    assert_eq!(
        s.get(&format!("{base}?timestamps=true&tailLines=1"))
            .await
            .1,
        "2020-11-22T10:00:05.000000000Z four\n"
    );
    assert_eq!(
        s.get(&format!("{base}?timestamps=true&limitBytes=35"))
            .await
            .1,
        "2020-11-22T10:00:01.000000001Z one\n"
    );
    // All lines are from 2020: nothing is newer than 10 s ago.
    assert_eq!(s.get(&format!("{base}?sinceSeconds=10")).await.1, "");
    let (code, msg) = s.get(&format!("{base}?tailLines=-2")).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(msg.contains("tailLines"), "{msg}");
}

#[tokio::test]
async fn previous_and_waiting_containers() {
    let s = Setup::new().await;
    s.cri.add(
        "test",
        "web",
        "app",
        0,
        s.log_file("0.log", "2020-11-22T10:00:00Z stdout F first run\n"),
    );
    let (code, msg) = s.get("/containerLogs/test/web/app?previous=true").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        msg,
        "previous terminated container \"app\" in pod \"web\" not found"
    );
    s.cri
        .set_state("web-app-0", ContainerState::ContainerExited);
    s.cri.add(
        "test",
        "web",
        "app",
        1,
        s.log_file("1.log", "2020-11-22T10:01:00Z stdout F second run\n"),
    );
    assert_eq!(s.get("/containerLogs/test/web/app").await.1, "second run\n");
    assert_eq!(
        s.get("/containerLogs/test/web/app?previous=1").await.1,
        "first run\n"
    );

    // A sandbox but no container yet.
    s.cri
        .sandboxes
        .lock()
        .unwrap()
        .push(("test".into(), "new".into()));
    assert_eq!(
        s.get("/containerLogs/test/new/c").await,
        (
            StatusCode::BAD_REQUEST,
            "container \"c\" in pod \"new\" is waiting to start: ContainerCreating".into()
        )
    );
    let (code, msg) = s.get("/containerLogs/test/nothing/c").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(msg, "pod \"nothing\" does not exist");
}

/// The next chunk of a streaming body as text, within a deadline.
async fn next_text(body: &mut hyper::body::Incoming) -> Option<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("a chunk within 10s")?
            .unwrap();
        if let Ok(data) = frame.into_data() {
            return Some(String::from_utf8(data.to_vec()).unwrap());
        }
    }
}

#[tokio::test]
async fn follow_across_rotation_until_the_container_exits() {
    let s = Setup::new().await;
    let path = s.log_file("0.log", "2020-11-22T10:00:00Z stdout F hello\n");
    let id = s.cri.add("test", "web", "app", 0, path.clone());
    let resp = get(
        s.addr,
        s.pki.client_tls(true),
        "/containerLogs/test/web/app?follow=true",
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    assert_eq!(next_text(&mut body).await.unwrap(), "hello\n");

    let append = |line: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(line.as_bytes()).unwrap();
    };
    // A line written in two pieces arrives whole.
    append("2020-11-22T10:00:01Z stdout F wor");
    tokio::time::sleep(Duration::from_millis(400)).await;
    append("ld\n");
    assert_eq!(next_text(&mut body).await.unwrap(), "world\n");

    // Rotation: the runtime renames the file and starts a new one.
    std::fs::rename(&path, path.with_extension("log.1")).unwrap();
    std::fs::write(&path, "2020-11-22T10:00:02Z stdout F after rotation\n").unwrap();
    assert_eq!(next_text(&mut body).await.unwrap(), "after rotation\n");

    append("2020-11-22T10:00:03Z stdout F last words\n");
    s.cri.set_state(&id, ContainerState::ContainerExited);
    let mut rest = String::new();
    while let Some(t) = next_text(&mut body).await {
        rest.push_str(&t);
    }
    assert_eq!(rest, "last words\n");
}
