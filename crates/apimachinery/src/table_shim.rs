//! SHIM
use serde_json::Value;
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}
pub fn build_table(
    _g: &str,
    _p: &str,
    _o: &[Value],
    _i: IncludeObject,
    _n: jiff::Timestamp,
    _m: Value,
) -> Value {
    Value::Null
}
pub fn build_custom_table(
    _c: &Value,
    _o: &[Value],
    _i: IncludeObject,
    _n: jiff::Timestamp,
    _m: Value,
) -> Value {
    Value::Null
}
