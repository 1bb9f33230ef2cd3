//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch, the patch content types, and the errors they
//! raise with the HTTP status upstream's API server gives each.
//! Server-side apply lives in `apply`.

pub mod json;
#[cfg(test)]
mod json_tests;
pub mod merge;
pub mod strategic;
mod strategic_list;
#[cfg(test)]
mod strategic_tests;

pub use json::{MAX_JSON_PATCH_OPERATIONS, apply_json_patch};
pub use merge::{apply_merge_patch, create_merge_patch};
pub use strategic::apply_strategic_merge_patch;

use crate::error::ApiError;

/// The `Content-Type` of a PATCH request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchType {
    /// All patch types, in the order upstream lists them in `415` errors
    /// and discovery.
    pub const ALL: [PatchType; 4] = [
        PatchType::Json,
        PatchType::Merge,
        PatchType::StrategicMerge,
        PatchType::Apply,
    ];

    /// The type for a request's `Content-Type` (parameters such as
    /// `; charset=utf-8` ignored, case-insensitive). `None` for anything
    /// else, including `application/apply-patch+cbor`, which is not served.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Some(match media.as_str() {
            "application/json-patch+json" => PatchType::Json,
            "application/merge-patch+json" => PatchType::Merge,
            "application/strategic-merge-patch+json" => PatchType::StrategicMerge,
            "application/apply-patch+yaml" => PatchType::Apply,
            _ => return None,
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }

    /// The `415 Unsupported Media Type` upstream returns for a patch type
    /// a resource does not accept (or an unknown one), listing `supported`.
    pub fn unsupported(supported: &[PatchType]) -> ApiError {
        let list = supported
            .iter()
            .map(|p| p.content_type())
            .collect::<Vec<_>>()
            .join(", ");
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {list}"
            ),
        )
    }
}

/// Why a patch could not be applied. Messages are upstream's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed (`400 BadRequest`).
    #[error("{0}")]
    BadRequest(String),
    /// An operation does not apply to the object (`422`, reason `Invalid`).
    #[error("{0}")]
    Unprocessable(String),
    /// More than [`MAX_JSON_PATCH_OPERATIONS`] operations (`413`).
    #[error("The allowed maximum operations in a JSON patch is {max}, got {0}", max = MAX_JSON_PATCH_OPERATIONS)]
    TooManyOperations(usize),
    /// Strategic merge patch on a type without patch metadata, e.g. a
    /// custom resource (`415`).
    #[error("strategic merge patch format is not supported")]
    StrategicUnsupported,
    /// Any other failure, which upstream passes through as a `500`.
    #[error("{0}")]
    Other(String),
}

impl PatchError {
    /// The HTTP status upstream answers with.
    pub fn code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable(_) => 422,
            PatchError::TooManyOperations(_) => 413,
            PatchError::StrategicUnsupported => 415,
            PatchError::Other(_) => 500,
        }
    }

    /// The `Status` error upstream returns for this failure. For `422` it
    /// is upstream's generic text (the operation's message is not sent).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            PatchError::BadRequest(m) => ApiError::new(400, "BadRequest", m.clone()),
            PatchError::Unprocessable(_) => ApiError::new(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request",
            ),
            PatchError::TooManyOperations(_) => ApiError::new(
                413,
                "RequestEntityTooLarge",
                format!("Request entity too large: {self}"),
            ),
            PatchError::StrategicUnsupported => {
                ApiError::new(415, "UnsupportedMediaType", self.to_string())
            }
            PatchError::Other(m) => ApiError::new(500, "", m.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("application/json-patch+json", Some(PatchType::Json))]
    #[case("application/merge-patch+json", Some(PatchType::Merge))]
    #[case(
        "application/strategic-merge-patch+json",
        Some(PatchType::StrategicMerge)
    )]
    #[case("application/apply-patch+yaml", Some(PatchType::Apply))]
    #[case("application/apply-patch+yaml; charset=utf-8", Some(PatchType::Apply))]
    #[case("Application/JSON-Patch+JSON", Some(PatchType::Json))]
    #[case("application/apply-patch+cbor", None)]
    #[case("application/json", None)]
    #[case("", None)]
    fn content_types(#[case] ct: &str, #[case] want: Option<PatchType>) {
        assert_eq!(PatchType::from_content_type(ct), want);
        if let Some(p) = want {
            assert_eq!(PatchType::from_content_type(p.content_type()), Some(p));
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(PatchError::BadRequest("x".into()).code(), 400);
        let e = PatchError::Unprocessable("doc is missing path".into()).to_api_error();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        let e = PatchError::TooManyOperations(10001).to_api_error();
        assert_eq!(e.code, 413);
        assert_eq!(
            e.message,
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
        assert_eq!(PatchError::StrategicUnsupported.code(), 415);
        let e = PatchType::unsupported(&PatchType::ALL);
        assert_eq!(e.code, 415);
        assert!(
            e.message.ends_with("application/apply-patch+yaml"),
            "{}",
            e.message
        );
    }
}
