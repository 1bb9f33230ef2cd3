//! `/version` and the root path list.

use serde_json::{Value, json};

/// The Kubernetes version rkube serves the API of.
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";

pub fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": format!("v{KUBE_MAJOR}.{KUBE_MINOR}.0+rkube"),
        "gitCommit": env!("CARGO_PKG_VERSION"),
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, match std::env::consts::ARCH { "x86_64" => "amd64", "aarch64" => "arm64", a => a }),
    })
}

pub fn root_paths() -> Value {
    json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version"]})
}

/// The health checks upstream lists, each with whether it passed.
async fn checks(reg: &registry::engine::Registry) -> Vec<(&'static str, bool)> {
    let store_ok = matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(2),
            reg.store.current_revision()
        )
        .await,
        Ok(Ok(_))
    );
    // `etcd` is the datastore, whichever it is; ping and log always pass,
    // as upstream's do while the process serves.
    vec![("ping", true), ("log", true), ("etcd", store_ok)]
}

/// `/healthz`, `/livez`, `/readyz` (with `?verbose` listing each check) and
/// `/<endpoint>/<check>` for one check, as upstream answers them.
pub async fn health(
    reg: &registry::engine::Registry,
    path: &str,
    verbose: bool,
) -> crate::codec::Resp {
    use http::StatusCode;
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let endpoint = parts.next().unwrap_or("");
    let one = parts.next();
    let checks = checks(reg).await;
    let text = |code: StatusCode, body: String| {
        crate::codec::bytes(code, "text/plain; charset=utf-8", body.into())
    };
    if let Some(name) = one {
        return match checks.iter().find(|(n, _)| *n == name) {
            Some((_, true)) => text(StatusCode::OK, "ok".into()),
            Some((_, false)) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("[-]{name} failed: reason withheld\n"),
            ),
            None => text(StatusCode::NOT_FOUND, "404 page not found\n".into()),
        };
    }
    let healthy = checks.iter().all(|(_, ok)| *ok);
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    if !verbose && healthy {
        return text(code, "ok".into());
    }
    let mut body = String::new();
    for (name, ok) in &checks {
        body.push_str(&if *ok {
            format!("[+]{name} ok\n")
        } else {
            format!("[-]{name} failed: reason withheld\n")
        });
    }
    body.push_str(&if healthy {
        format!("{endpoint} check passed\n")
    } else {
        format!("{endpoint} check failed\n")
    });
    text(code, body)
}
