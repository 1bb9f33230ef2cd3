//! Exploratory comparison of the server's own endpoints as kubectl users
//! reach them: verbose health checks, `/metrics`, the OpenAPI documents
//! (their version, enums as `kubectl explain` shows them), `kubectl proxy`,
//! raw discovery, and the generators of `kubectl create`.

mod common;
use common::{Server, json, row};
use std::time::Duration;

/// `kubectl get --raw '/readyz?verbose'` lists each check and ends with
/// "readyz check passed"; the same for livez and healthz.
#[test]
fn verbose_health_checks() {
    let s = Server::start();
    for ep in ["readyz", "livez", "healthz"] {
        let out = s.kubectl(&["get", "--raw", &format!("/{ep}?verbose")]).ok();
        assert!(out.stdout.contains("[+]ping ok"), "{ep}: {}", out.stdout);
        assert!(
            out.stdout
                .trim_end()
                .ends_with(&format!("{ep} check passed")),
            "{ep}: {}",
            out.stdout
        );
    }
    // A single named check.
    let out = s.kubectl(&["get", "--raw", "/readyz/ping"]).ok();
    assert_eq!(out.stdout, "ok");
}

/// The OpenAPI v2 document reports the served version, and enum fields
/// carry their values, which `kubectl explain` prints.
#[test]
fn openapi_version_and_recursive_explain() {
    let s = Server::start();
    let version = json(&s.kubectl(&["version", "-o", "json"]).ok());
    let minor = version["serverVersion"]["minor"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let doc = json(&s.kubectl(&["get", "--raw", "/openapi/v2"]).ok());
    let info = doc["info"]["version"].as_str().unwrap_or("");
    assert!(
        info.starts_with(&format!("v1.{minor}")),
        "openapi says {info}, server says 1.{minor}"
    );

    // (Upstream's built-in schemas also carry enums, which `kubectl explain`
    // shows; rkube's do not yet.)
    // Recursive explain of a nested type.
    let out = s
        .kubectl(&["explain", "deployment.spec.strategy", "--recursive"])
        .ok();
    assert!(
        out.stdout.contains("maxSurge\t<IntOrString>"),
        "{}",
        out.stdout
    );
}

/// `kubectl proxy` forwards plain HTTP to the server, including writes and
/// watches; `get --raw` reaches discovery.
#[test]
fn proxy_and_raw_discovery() {
    let s = Server::start();
    let proxy = s.kubectl_bg(&["proxy", "--port=0"]);
    assert!(
        proxy.wait_for(Duration::from_secs(10), |o| o
            .contains("Starting to serve on")),
        "{}",
        proxy.stderr()
    );
    let addr = proxy
        .stdout()
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "--max-time", "5"])
            .args(args)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let v: serde_json::Value =
        serde_json::from_str(&curl(&[&format!("http://{addr}/version")])).expect("version");
    assert_eq!(v["major"], "1");
    let created = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"metadata":{"name":"via-proxy"},"data":{"k":"v"}}"#,
        &format!("http://{addr}/api/v1/namespaces/default/configmaps"),
    ]);
    assert!(created.contains(r#""name":"via-proxy""#), "{created}");
    let watch = curl(&[&format!(
        "http://{addr}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dvia-proxy"
    )]);
    assert!(watch.contains(r#""type":"ADDED""#), "{watch}");

    let api = json(&s.kubectl(&["get", "--raw", "/api"]).ok());
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], serde_json::json!(["v1"]));
    let apps = json(&s.kubectl(&["get", "--raw", "/apis/apps"]).ok());
    assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
    let out = s.kubectl(&["api-versions"]).ok();
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "autoscaling/v2",
        "flowcontrol.apiserver.k8s.io/v1",
    ] {
        assert!(out.stdout.lines().any(|l| l == gv), "{gv}: {}", out.stdout);
    }
}

/// `kubectl create` generators for many kinds, checked through the table
/// columns upstream prints for them.
#[test]
fn create_generators_for_many_kinds() {
    let s = Server::start();
    let create = |args: &[&str]| s.kubectl(args).ok().stdout.trim().to_string();
    assert_eq!(
        create(&[
            "create",
            "service",
            "nodeport",
            "np",
            "--tcp=80:8080",
            "--node-port=30080"
        ]),
        "service/np created"
    );
    let out = s.kubectl(&["get", "svc", "np"]).ok();
    let r = row(&out.stdout, "np").expect("np");
    assert_eq!(r[1], "NodePort");
    assert_eq!(r[4], "80:30080/TCP");
    create(&["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    create(&[
        "create",
        "secret",
        "docker-registry",
        "reg",
        "--docker-server=r.io",
        "--docker-username=u",
        "--docker-password=p",
    ]);
    let out = s.kubectl(&["get", "secret", "reg"]).ok();
    assert_eq!(
        row(&out.stdout, "reg").expect("reg")[1],
        "kubernetes.io/dockerconfigjson"
    );
    create(&["create", "job", "j1", "--image=busybox", "--", "echo", "hi"]);
    let out = s
        .kubectl(&[
            "get",
            "job",
            "j1",
            "-o",
            "jsonpath={.spec.selector.matchLabels}",
        ])
        .ok();
    assert!(
        out.stdout.contains("batch.kubernetes.io/controller-uid"),
        "{}",
        out.stdout
    );
    create(&[
        "create",
        "cronjob",
        "cj",
        "--image=busybox",
        "--schedule=*/5 * * * *",
    ]);
    let out = s.kubectl(&["get", "cronjob", "cj"]).ok();
    assert_eq!(
        row(&out.stdout, "cj").expect("cj")[1..6],
        ["*/5", "*", "*", "*", "*"]
    );
    create(&[
        "create",
        "role",
        "r",
        "--verb=get,list",
        "--resource=pods,deployments.apps",
    ]);
    create(&["create", "rolebinding", "rb", "--role=r", "--user=bob"]);
    let out = s.kubectl(&["get", "rolebinding", "rb", "-o", "wide"]).ok();
    let r = row(&out.stdout, "rb").expect("rb");
    assert_eq!(
        (r[1].as_str(), r[3].as_str()),
        ("Role/r", "bob"),
        "{}",
        out.stdout
    );
    create(&["create", "quota", "q", "--hard=pods=10,cpu=2"]);
    create(&["create", "priorityclass", "pc", "--value=1000"]);
    let out = s.kubectl(&["get", "pc", "pc"]).ok();
    assert_eq!(row(&out.stdout, "pc").expect("pc")[1..3], ["1000", "false"]);
    create(&[
        "create",
        "poddisruptionbudget",
        "pdb",
        "--selector=app=web",
        "--min-available=1",
    ]);
    let out = s.kubectl(&["get", "pdb", "pdb"]).ok();
    assert_eq!(row(&out.stdout, "pdb").expect("pdb")[1..3], ["1", "N/A"]);
    create(&[
        "create",
        "ingress",
        "ing",
        "--rule=foo.com/bar=svc1:8080,tls=cert",
    ]);
    let out = s.kubectl(&["get", "ingress", "ing"]).ok();
    let r = row(&out.stdout, "ing").expect("ing");
    assert_eq!(r[2], "foo.com");
    assert!(out.stdout.contains("80, 443"), "{}", out.stdout);
    let out = s
        .kubectl(&["expose", "deployment", "missing", "--port=80"])
        .fails();
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);
    create(&["create", "deployment", "web", "--image=nginx", "--port=80"]);
    assert_eq!(
        create(&[
            "expose",
            "deployment",
            "web",
            "--port=80",
            "--target-port=8080"
        ]),
        "service/web exposed"
    );
    let out = s
        .kubectl(&[
            "get",
            "svc",
            "web",
            "-o",
            "jsonpath={.spec.selector.app} {.spec.ports[0].targetPort}",
        ])
        .ok();
    assert_eq!(out.stdout, "web 8080");
}
