//! OpenAPI documents (SHIM until the schema branch lands).
use crate::codec::Resp;
use crate::request::Query;
use crate::serve::ApiServer;
use apimachinery::ApiError;
use std::sync::Arc;

#[derive(Default)]
pub struct OpenApiCache;

pub fn handle(_srv: &Arc<ApiServer>, _path: &str, _q: &Query) -> Result<Resp, ApiError> {
    Err(ApiError::not_found_path())
}
