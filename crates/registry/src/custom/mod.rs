//! SHIM
use serde_json::Value;
pub fn prune(_s: &Value, _o: &mut Value) -> Vec<String> {
    vec![]
}
pub fn apply_defaults(_s: &Value, _o: &mut Value) {}
pub fn validate(_s: &Value, _o: &Value) -> Vec<apimachinery::Cause> {
    vec![]
}
