//! Bad input gets a clear `Status` and changes nothing: malformed JSON and
//! YAML (400), unknown groups, versions and resources (404), bodies over
//! 3 MiB (413), unsupported media types (415), bad query parameters (400).

mod common;
use common::TestServer;
use http::Request;

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    ct: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", ct)
        .body(kube::client::Body::from(body))
        .expect("request");
    let resp = client.send(req).await.expect("send");
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes();
    (
        code,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn malformed_bodies_are_400_and_store_nothing() {
    let s = TestServer::start().await;
    let c = s.client().await;
    let (code, st) = send(
        &c,
        "POST",
        CMS,
        "application/json",
        b"{\"metadata\": {\"name\": ".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{st}");
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["reason"], "BadRequest");
    let (code, st) = send(
        &c,
        "POST",
        CMS,
        "application/yaml",
        b"metadata: [unclosed\n".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{st}");
    let (code, list) = send(&c, "GET", CMS, "application/json", vec![]).await;
    assert_eq!(code, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let s = TestServer::start().await;
    let c = s.client().await;
    for path in [
        "/apis/nope.example.com/v1/widgets",
        "/api/v2/pods",
        "/api/v1/nothings",
        "/apis/apps/v1/namespaces/default/pods",
    ] {
        let (code, st) = send(&c, "GET", path, "application/json", vec![]).await;
        assert_eq!(code, 404, "{path}: {st}");
        assert_eq!(st["reason"], "NotFound", "{path}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let s = TestServer::start().await;
    let c = s.client().await;
    let big = "x".repeat(3 * 1024 * 1024 + 10);
    let body = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"k": big}});
    let (code, st) = send(
        &c,
        "POST",
        CMS,
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(code, 413, "{st}");
    assert_eq!(st["reason"], "RequestEntityTooLarge");
    let (code, _) = send(&c, "GET", &format!("{CMS}/big"), "application/json", vec![]).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn unsupported_patch_type_is_415_and_bad_params_are_400() {
    let s = TestServer::start().await;
    let c = s.client().await;
    let body =
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}});
    let (code, _) = send(
        &c,
        "POST",
        CMS,
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(code, 201);
    let (code, st) = send(
        &c,
        "PATCH",
        &format!("{CMS}/p"),
        "text/plain",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(code, 415, "{st}");
    let (code, st) = send(
        &c,
        "GET",
        &format!("{CMS}?limit=abc"),
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400, "{st}");
    let (code, st) = send(
        &c,
        "GET",
        &format!("{CMS}?labelSelector=a%20in%20(b"),
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400, "{st}");
    let (code, st) = send(
        &c,
        "POST",
        &format!("{CMS}?dryRun=Sometimes"),
        "application/json",
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(code, 400, "{st}");
    let (code, st) = send(
        &c,
        "GET",
        &format!("{CMS}?continue=garbage"),
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400, "{st}");
}
