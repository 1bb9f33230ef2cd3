//! Bodies in and out: size-limited reads, JSON and YAML decoding, content
//! negotiation (plain JSON, Table, PartialObjectMetadata) and responses.

use apimachinery::ApiError;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

/// Upstream's request body limit.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

pub type Resp = Response<Body>;

/// A request body: hyper's `Incoming` from a connection, or a client's own
/// body through the in-process loopback, boxed behind one type.
pub type ReqBody = Body;

pub async fn read_body(body: ReqBody) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::too_large(
                "Request entity too large: limit is 3145728",
            ))
        }
        Err(e) => Err(ApiError::bad_request(format!("reading request body: {e}"))),
    }
}

pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Decode a JSON or YAML object body.
pub fn decode(ct: &str, body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    match ct {
        "application/yaml"
        | "application/apply-patch+yaml"
        | "text/yaml"
        | "application/x-yaml" => {
            let text = std::str::from_utf8(body)
                .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
        }
        "application/vnd.kubernetes.protobuf" => apimachinery::protobuf::decode_request(body)
            .map_err(|e| ApiError::bad_request(e.to_string())),
        "application/apply-patch+cbor" | "application/cbor" => {
            Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, {ct} is not supported"
            )))
        }
        _ => serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("json: {e}"))),
    }
}

/// What the client asked the response to be, from the Accept header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Plain,
    /// `as=Table` with this meta.k8s.io version.
    Table(String, apimachinery::table::IncludeObject),
    /// `as=PartialObjectMetadata` or `PartialObjectMetadataList`.
    Metadata(String),
}

pub fn negotiate(headers: &HeaderMap) -> Output {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for item in accept.split(',') {
        let mut params = std::collections::HashMap::new();
        let mut parts = item.split(';');
        let mime = parts.next().unwrap_or("").trim();
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                params.insert(k.trim(), v.trim());
            }
        }
        if mime != "application/json" && mime != "*/*" {
            continue;
        }
        let version = params.get("v").copied().unwrap_or("v1").to_string();
        match params.get("as").copied() {
            Some("Table") if params.get("g").copied() == Some("meta.k8s.io") => {
                return Output::Table(version, Default::default());
            }
            Some("PartialObjectMetadata") | Some("PartialObjectMetadataList")
                if params.get("g").copied() == Some("meta.k8s.io") =>
            {
                return Output::Metadata(version);
            }
            Some(_) => continue,
            None => return Output::Plain,
        }
    }
    Output::Plain
}

pub fn json(code: StatusCode, v: &Value) -> Resp {
    bytes(
        code,
        "application/json",
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

pub fn bytes(code: StatusCode, ct: &str, b: Bytes) -> Resp {
    let mut r = Response::new(Body::from(b));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("application/json")),
    );
    r
}

pub fn error(e: &ApiError) -> Resp {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json(code, &e.to_status());
    if let Some(s) = e.retry_after_seconds {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

/// Add `Warning: 299 - "<text>"` headers, as upstream reports warnings.
/// Upstream's limits on warnings: each at most 256 characters, 4 KiB in all.
const WARNING_MAX_CHARS: usize = 256;
const WARNINGS_MAX_BYTES: usize = 4096;

pub fn add_warnings(r: &mut Resp, warnings: &[String]) {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    for w in warnings {
        if !seen.insert(w) {
            continue;
        }
        let w: String = w.chars().take(WARNING_MAX_CHARS).collect();
        total += w.len();
        if total > WARNINGS_MAX_BYTES {
            break;
        }
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
}

/// `metadata` of an object as a PartialObjectMetadata.
/// [`partial_metadata`] straight from an encoded object: only `metadata` is
/// built as a tree, the rest of the object is skipped while parsing.
pub fn partial_metadata_of(json: &[u8], version: &str) -> Value {
    #[derive(serde::Deserialize)]
    struct MetadataOnly {
        #[serde(default)]
        metadata: Value,
    }
    let metadata = serde_json::from_slice::<MetadataOnly>(json)
        .map(|m| m.metadata)
        .unwrap_or_default();
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": metadata,
    })
}

pub fn partial_metadata(obj: &Value, version: &str) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": obj.get("metadata").cloned().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_metadata_from_bytes_matches_the_tree_version() {
        let obj = serde_json::json!({"kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c"}]}});
        let bytes = serde_json::to_vec(&obj).unwrap();
        assert_eq!(
            partial_metadata_of(&bytes, "v1"),
            partial_metadata(&obj, "v1")
        );
        let bare = serde_json::json!({"kind": "X"});
        assert_eq!(
            partial_metadata_of(&serde_json::to_vec(&bare).unwrap(), "v1"),
            partial_metadata(&bare, "v1")
        );
    }

    #[test]
    fn negotiates_table_like_kubectl() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
        );
        assert_eq!(
            negotiate(&h),
            Output::Table("v1".into(), Default::default())
        );
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert_eq!(negotiate(&h), Output::Plain);
    }

    #[test]
    fn decodes_yaml_and_reports_bad_json() {
        let v = decode("application/yaml", b"a: 1\nb: [x]\n").unwrap();
        assert_eq!(v["b"][0], "x");
        assert_eq!(decode("application/json", b"{nope").unwrap_err().code, 400);
    }
}
