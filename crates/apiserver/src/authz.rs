//! The authorizer seam. RBAC arrives in its own issue; until then every
//! authenticated user may do everything.

use crate::authn::UserInfo;

/// What a request wants to do, in upstream's terms.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// Set for non-resource requests (`/healthz`, `/version`, …).
    pub path: String,
}

pub trait Authorizer: Send + Sync {
    /// `Err(reason)` denies.
    fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Result<(), String>;
}

pub struct AllowAuthenticated;

impl Authorizer for AllowAuthenticated {
    fn authorize(&self, _user: &UserInfo, _attrs: &Attributes) -> Result<(), String> {
        Ok(())
    }
}
