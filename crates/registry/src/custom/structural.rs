//! Structural-schema checks for a CRD version's `openAPIV3Schema`.

use apimachinery::Cause;
use serde_json::Value;

/// Placeholder.
pub fn validate_crd_schema(_schema: &Value, _path: &str) -> Vec<Cause> {
    vec![]
}
