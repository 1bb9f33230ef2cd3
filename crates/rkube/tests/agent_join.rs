//! Joining a node to a real `rkube server --disable-agent`: the server's
//! join token (file, `rkube token`, log), `/cacerts`, an agent refusing a
//! server whose CA does not match the token, a wrong secret refused, and a
//! good token yielding credentials (CN `system:node:<name>`, O
//! `system:nodes`) that authenticate as the node. No containerd needed: the
//! join happens before the agent touches the runtime, and the test points
//! it at a socket that does not exist.

mod common;
use common::Server;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn token_of(s: &Server) -> String {
    std::fs::read_to_string(s.data_dir.join("server").join("token"))
        .expect("token file")
        .trim()
        .to_string()
}

/// Run `rkube agent` until it exits or `done` holds (then kill it):
/// (exited, stderr).
fn agent(args: &[&str], data_dir: &Path, done: impl Fn() -> bool) -> (bool, String) {
    let err = data_dir.join(format!(
        "agent-{}.err",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(data_dir).expect("data dir");
    let missing = data_dir.join("no-such-containerd.sock");
    let mut child = Command::new(common::rkube_bin())
        .arg("agent")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--node-name", "joiner-1", "--node-ip", "127.0.0.1"])
        .arg("--container-runtime-endpoint")
        .arg(format!("unix://{}", missing.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn rkube agent");
    let deadline = Instant::now() + Duration::from_secs(60);
    let exited = loop {
        if let Ok(Some(_)) = child.try_wait() {
            break true;
        }
        if done() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (exited, std::fs::read_to_string(&err).unwrap_or_default())
}

fn subject(pem: &str) -> (String, Vec<String>) {
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM");
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).expect("x509");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let orgs = cert
        .subject()
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    (cn, orgs)
}

#[test]
fn server_makes_a_join_token() {
    let s = Server::start();
    let token = token_of(&s);
    assert!(
        token.starts_with("K10") && token.contains("::server:"),
        "{token}"
    );
    let out = common::run(
        Command::new(common::rkube_bin())
            .arg("token")
            .arg("--data-dir")
            .arg(&s.data_dir),
        None,
        Duration::from_secs(10),
    )
    .ok();
    assert_eq!(out.stdout.trim(), token);
    assert!(s.log_text().contains(&format!("join token: {token}")));

    // /cacerts needs no credentials and serves the CA the token hashes.
    let ca = common::run(
        Command::new("curl").args(["-sk", &format!("{}/cacerts", s.url)]),
        None,
        Duration::from_secs(10),
    )
    .ok()
    .stdout;
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let sum = common::run(
        Command::new("sh").args(["-c", "sha256sum"]),
        Some(&ca),
        Duration::from_secs(10),
    )
    .ok()
    .stdout;
    let hash = sum.split_whitespace().next().expect("hash");
    assert_eq!(&token[3..67], hash);

    // Without the secret, no credentials.
    let denied = common::run(
        Command::new("curl").args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            "-d",
            r#"{"nodeName":"x"}"#,
            &format!("{}/v1-rkube/node-credentials", s.url),
        ]),
        None,
        Duration::from_secs(10),
    )
    .ok();
    assert_eq!(denied.stdout, "401");
}

#[test]
fn agent_joins_with_a_good_token_only() {
    let s = Server::start();
    let token = token_of(&s);
    let secret = token.split("::server:").nth(1).expect("secret").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("agent-data");
    let kubeconfig = data.join("agent").join("kubelet.kubeconfig");

    // A token for some other CA: refused before anything is asked.
    let wrong_hash = format!("K10{}::server:{secret}", "0".repeat(64));
    let (exited, err) = agent(&["--server", &s.url, "--token", &wrong_hash], &data, || {
        false
    });
    assert!(exited, "agent should stop: {err}");
    assert!(
        err.contains("does not match the join token's hash"),
        "{err}"
    );
    assert!(!kubeconfig.exists());

    // The right CA, the wrong secret.
    let wrong_secret = format!("{}::server:nope", &token[..67]);
    let (exited, err) = agent(
        &["--server", &s.url, "--token", &wrong_secret],
        &data,
        || false,
    );
    assert!(exited, "agent should stop: {err}");
    assert!(err.contains("refused the join token's secret"), "{err}");
    assert!(!kubeconfig.exists());

    // The good token: credentials and a kubeconfig, then the agent goes on
    // to the (missing) runtime.
    let (_, err) = agent(&["--server", &s.url, "--token", &token], &data, || {
        kubeconfig.exists()
    });
    assert!(kubeconfig.exists(), "no kubeconfig written: {err}");
    let certs = data.join("agent").join("certs");
    let read = |n: &str| std::fs::read_to_string(certs.join(n)).expect(n);
    let (cn, orgs) = subject(&read("client-kubelet.crt"));
    assert_eq!(cn, "system:node:joiner-1");
    assert_eq!(orgs, vec!["system:nodes".to_string()]);
    let (serving_cn, _) = subject(&read("serving-kubelet.crt"));
    assert_eq!(serving_cn, "system:node:joiner-1");
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["client-kubelet.key", "serving-kubelet.key"] {
            let mode = std::fs::metadata(certs.join(f))
                .expect(f)
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }

    // The node's kubeconfig authenticates as the node.
    let kc = |args: &[&str]| {
        common::run(
            Command::new("kubectl")
                .args(args)
                .env("KUBECONFIG", &kubeconfig),
            None,
            common::KUBECTL_TIMEOUT,
        )
    };
    let who = kc(&["auth", "whoami", "-o", "json"]).ok();
    let who: serde_json::Value = serde_json::from_str(&who.stdout).expect("whoami JSON");
    assert_eq!(
        who["status"]["userInfo"]["username"],
        "system:node:joiner-1"
    );
    let groups = who["status"]["userInfo"]["groups"].to_string();
    assert!(groups.contains("system:nodes"), "{groups}");
    kc(&["get", "nodes"]).ok();

    // A restart needs no token: the stored credentials are reused.
    let before = read("client-kubelet.crt");
    let started = Instant::now();
    let (_, err) = agent(&["--server", &s.url], &data, || {
        started.elapsed() > Duration::from_secs(10)
    });
    assert!(!err.contains("--token is needed"), "{err}");
    assert!(err.contains("node joiner-1 joined"), "{err}");
    assert!(!err.contains("does not match"), "{err}");
    assert_eq!(read("client-kubelet.crt"), before);
}
