//! Service-account tokens end to end against the in-process server:
//! TokenRequest answers, the JWT's header and claims, authentication with
//! the token (SelfSubjectReview), invalidation when the service account or
//! the bound pod goes away, and OIDC discovery.

mod common;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::TestServer;
use http::Request;
use serde_json::{Value, json};

async fn send(client: &kube::Client, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        vec![]
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(body))
        .expect("request");
    let resp = client.send(req).await.expect("send");
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("jwt segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

async fn create_sa(c: &kube::Client, name: &str) -> String {
    let (code, sa) = send(
        c,
        "POST",
        "/api/v1/namespaces/test/serviceaccounts",
        json!({"metadata": {"name": name}}),
    )
    .await;
    assert_eq!(code, 201, "{sa}");
    sa["metadata"]["uid"].as_str().unwrap().to_string()
}

async fn request_token(c: &kube::Client, sa: &str, spec: Value) -> (u16, Value) {
    send(
        c,
        "POST",
        &format!("/api/v1/namespaces/test/serviceaccounts/{sa}/token"),
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}),
    )
    .await
}

async fn whoami(ts: &TestServer, token: &str) -> (u16, Value) {
    let c = ts.client_with_token(token).await;
    send(
        &c,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
    )
    .await
}

#[tokio::test]
async fn token_request_issues_a_signed_jwt_with_upstream_claims() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    let uid = create_sa(&c, "robot").await;

    let (code, tr) = request_token(&c, "robot", json!({"expirationSeconds": 600})).await;
    assert_eq!(code, 201, "{tr}");
    assert_eq!(tr["kind"], "TokenRequest");
    assert_eq!(tr["metadata"]["name"], "robot");
    assert_eq!(tr["metadata"]["namespace"], "test");
    assert_eq!(
        tr["spec"]["audiences"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );
    let token = tr["status"]["token"].as_str().unwrap();
    let header = segment(token, 0);
    let claims = segment(token, 1);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(
        claims["iss"],
        "https://kubernetes.default.svc.cluster.local"
    );
    assert_eq!(claims["sub"], "system:serviceaccount:test:robot");
    assert_eq!(
        claims["aud"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!((nbf, exp - iat), (iat, 600));
    assert!(!claims["jti"].as_str().unwrap().is_empty());
    assert_eq!(
        claims["kubernetes.io"],
        json!({"namespace": "test", "serviceaccount": {"name": "robot", "uid": uid}})
    );
    let expires: jiff::Timestamp = tr["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires.as_second(), exp);

    // The kid names the key the JWKS publishes, and the signature checks
    // out against the server's key.
    let (code, jwks) = send(&c, "GET", "/openid/v1/jwks", Value::Null).await;
    assert_eq!(code, 200);
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    let verifier = apiserver::ServiceAccountTokens::from_pem(ts.sa_key_pem.as_bytes()).unwrap();
    assert_eq!(
        verifier
            .verify_claims(token)
            .unwrap()
            .kubernetes
            .serviceaccount
            .uid,
        uid
    );
    let mut forged = claims.clone();
    forged["sub"] = json!("system:serviceaccount:test:admin");
    let forged_token = format!(
        "{}.{}.{}",
        token.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap()),
        token.split('.').nth(2).unwrap()
    );
    assert!(verifier.verify_claims(&forged_token).is_err());
    assert_eq!(whoami(&ts, &forged_token).await.0, 401);

    // Defaults and custom audiences.
    let (code, tr) = request_token(&c, "robot", json!({"audiences": ["vault"]})).await;
    assert_eq!(code, 201);
    assert_eq!(tr["spec"]["expirationSeconds"], 3600);
    let claims = segment(tr["status"]["token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["aud"], json!(["vault"]));
    // A token for another audience does not authenticate to the API server.
    assert_eq!(
        whoami(&ts, tr["status"]["token"].as_str().unwrap()).await.0,
        401
    );
}

#[tokio::test]
async fn token_request_rejections() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    create_sa(&c, "robot").await;
    let (code, st) = request_token(&c, "robot", json!({"expirationSeconds": 599})).await;
    assert_eq!(code, 422, "{st}");
    assert_eq!(st["reason"], "Invalid");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("may not specify a duration less than 10 minutes"),
        "{st}"
    );
    let (code, _) =
        request_token(&c, "robot", json!({"expirationSeconds": (1i64 << 32) + 1})).await;
    assert_eq!(code, 422);
    let (code, st) = request_token(&c, "ghost", json!({})).await;
    assert_eq!(code, 404, "{st}");
    assert_eq!(st["message"], "serviceaccounts \"ghost\" not found");
    let (code, st) = request_token(
        &c,
        "robot",
        json!({"boundObjectRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"}}),
    )
    .await;
    assert_eq!(code, 400, "{st}");
    assert_eq!(
        st["message"],
        "cannot bind token to object of type apps/v1, Kind=Deployment"
    );
    let (code, _) = request_token(
        &c,
        "robot",
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "missing"}}),
    )
    .await;
    assert_eq!(code, 404);
    // A pod running as another service account, and a stale uid.
    let (code, pod) = send(
        &c,
        "POST",
        "/api/v1/namespaces/test/pods",
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(code, 201, "{pod}");
    let (code, st) = request_token(
        &c,
        "robot",
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p"}}),
    )
    .await;
    assert_eq!(code, 400, "{st}");
    let (code, st) = request_token(
        &c,
        "default",
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "not-it"}}),
    )
    .await;
    // `default` does not exist in the test server (no controllers run).
    assert_eq!(code, 404, "{st}");
}

#[tokio::test]
async fn the_token_authenticates_until_the_service_account_is_recreated() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    let uid = create_sa(&c, "robot").await;
    let (_, tr) = request_token(&c, "robot", json!({})).await;
    let token = tr["status"]["token"].as_str().unwrap().to_string();

    let (code, review) = whoami(&ts, &token).await;
    assert_eq!(code, 201, "{review}");
    let user = &review["status"]["userInfo"];
    assert_eq!(user["username"], "system:serviceaccount:test:robot");
    assert_eq!(user["uid"], uid.as_str());
    assert_eq!(
        user["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:test",
            "system:authenticated"
        ])
    );
    let jti = segment(&token, 1)["jti"].as_str().unwrap().to_string();
    assert_eq!(
        user["extra"]["authentication.kubernetes.io/credential-id"],
        json!([format!("JTI={jti}")])
    );
    // Ordinary requests work with it too.
    let tc = ts.client_with_token(&token).await;
    let (code, _) = send(&tc, "GET", "/api/v1/namespaces/test/pods", Value::Null).await;
    assert_eq!(code, 200);

    let (code, _) = send(
        &c,
        "DELETE",
        "/api/v1/namespaces/test/serviceaccounts/robot",
        Value::Null,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(whoami(&ts, &token).await.0, 401);
    let new_uid = create_sa(&c, "robot").await;
    assert_ne!(new_uid, uid);
    assert_eq!(
        whoami(&ts, &token).await.0,
        401,
        "a recreated account is not the same one"
    );
    // Static tokens and certificates still work.
    let (code, _) = send(
        &ts.token_client().await,
        "GET",
        "/api/v1/namespaces",
        Value::Null,
    )
    .await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn a_pod_bound_token_dies_with_its_pod() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    create_sa(&c, "robot").await;
    let (code, pod) = send(
        &c,
        "POST",
        "/api/v1/namespaces/test/pods",
        json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(code, 201, "{pod}");
    let pod_uid = pod["metadata"]["uid"].as_str().unwrap();
    let (code, st) = request_token(
        &c,
        "robot",
        json!({"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "stale"}}),
    )
    .await;
    assert_eq!(code, 409, "{st}");
    let (code, tr) = request_token(
        &c,
        "robot",
        json!({"expirationSeconds": 3607, "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": pod_uid}}),
    )
    .await;
    assert_eq!(code, 201, "{tr}");
    let token = tr["status"]["token"].as_str().unwrap().to_string();
    let claims = segment(&token, 1);
    let k = &claims["kubernetes.io"];
    assert_eq!(k["pod"], json!({"name": "p", "uid": pod_uid}));
    // The projected-volume expiration: a year's token that warns after 3607s,
    // while the status reports the asked-for expiry.
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 365 * 24 * 3600);
    assert_eq!(k["warnafter"].as_i64().unwrap() - iat, 3607);
    let expires: jiff::Timestamp = tr["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires.as_second() - iat, 3607);

    let (code, review) = whoami(&ts, &token).await;
    assert_eq!(code, 201, "{review}");
    let extra = &review["status"]["userInfo"]["extra"];
    assert_eq!(extra["authentication.kubernetes.io/pod-name"], json!(["p"]));
    assert_eq!(
        extra["authentication.kubernetes.io/pod-uid"],
        json!([pod_uid])
    );

    let (code, _) = send(
        &c,
        "DELETE",
        "/api/v1/namespaces/test/pods/p",
        json!({"gracePeriodSeconds": 0}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(whoami(&ts, &token).await.0, 401);
}

#[tokio::test]
async fn oidc_discovery_for_authenticated_clients() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    let (code, cfg) = send(&c, "GET", "/.well-known/openid-configuration", Value::Null).await;
    assert_eq!(code, 200);
    assert_eq!(
        cfg["issuer"],
        "https://kubernetes.default.svc.cluster.local"
    );
    assert_eq!(
        cfg["jwks_uri"],
        "https://kubernetes.default.svc.cluster.local/openid/v1/jwks"
    );
    let (code, jwks) = send(&c, "GET", "/openid/v1/jwks", Value::Null).await;
    assert_eq!(code, 200);
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["use"].as_str()),
        (Some("EC"), Some("sig"))
    );
    let anon = ts.anonymous_client().await;
    assert_eq!(
        send(&anon, "GET", "/openid/v1/jwks", Value::Null).await.0,
        401
    );
}

fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn kubectl_create_token_and_whoami() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    create_sa(&c, "robot").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.crt"), &ts.ca_pem).unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: {{server: {}, certificate-authority: {}}}\ncontexts:\n- name: t\n  context: {{cluster: t, user: u, namespace: test}}\ncurrent-context: t\nusers:\n- name: u\n  user: {{token: {}}}\n",
            ts.url,
            dir.path().join("ca.crt").display(),
            testkit::TOKEN
        ),
    )
    .unwrap();
    let kubeconfig = kc.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        kubectl(&kubeconfig, &["create", "token", "robot", "--duration=20m"])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    let token = out.trim().to_string();
    let claims = segment(&token, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        1200
    );
    let (ok, out) = tokio::task::spawn_blocking(move || {
        kubectl(
            &kc,
            &[
                "auth",
                "whoami",
                "--token",
                &token,
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
        )
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "system:serviceaccount:test:robot");
}

#[tokio::test]
async fn token_review_accepts_service_account_tokens_for_their_audiences() {
    let ts = TestServer::start().await;
    let c = ts.client().await;
    let uid = create_sa(&c, "robot").await;
    let review = |token: String, audiences: Value| {
        let c = c.clone();
        async move {
            let (code, r) = send(
                &c,
                "POST",
                "/apis/authentication.k8s.io/v1/tokenreviews",
                json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                       "spec": {"token": token, "audiences": audiences}}),
            )
            .await;
            assert_eq!(code, 201, "{r}");
            r["status"].clone()
        }
    };
    let (_, tr) = request_token(&c, "robot", json!({"audiences": ["vault", "other"]})).await;
    let token = tr["status"]["token"].as_str().unwrap().to_string();
    let st = review(token.clone(), json!(["vault"])).await;
    assert_eq!(st["authenticated"], true, "{st}");
    assert_eq!(st["user"]["username"], "system:serviceaccount:test:robot");
    assert_eq!(st["user"]["uid"], uid.as_str());
    assert_eq!(st["audiences"], json!(["vault"]));
    // Not for the API server's own audience, nor for an unrelated one.
    assert_eq!(
        review(token.clone(), json!([])).await["authenticated"],
        false
    );
    assert_eq!(review(token, json!(["nope"])).await["authenticated"], false);
    // A static token is still reviewed as before.
    assert_eq!(
        review(testkit::TOKEN.into(), json!([])).await["authenticated"],
        true
    );
}
