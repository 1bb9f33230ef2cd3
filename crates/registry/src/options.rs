//! Options of the registry's verbs, decoded from query parameters by the
//! apiserver.

/// Options shared by create, update and patch.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    /// `fieldManager`; when absent the engine uses `default_manager`.
    pub field_manager: Option<String>,
    /// Manager name derived from the user agent, as upstream does.
    pub default_manager: String,
    /// `force` for server-side apply.
    pub force: bool,
    /// Set by the engine while it runs a server-side apply, whose field
    /// ownership is computed by the apply itself.
    pub applying: bool,
    /// Who is asking, for the resources that record it (a
    /// CertificateSigningRequest's `spec.username`, `groups`, `uid`).
    pub requester: Option<Requester>,
}

#[derive(Clone, Debug, Default)]
pub struct Requester {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl WriteOptions {
    pub fn manager(&self) -> &str {
        self.field_manager
            .as_deref()
            .unwrap_or(&self.default_manager)
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// `resourceVersion` as sent ("" when absent).
    pub resource_version: String,
    /// `resourceVersionMatch`: "", `NotOlderThan` or `Exact`.
    pub resource_version_match: String,
    pub limit: i64,
    pub continue_token: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct WatchOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub resource_version: String,
    pub resource_version_match: String,
    pub allow_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub dry_run: bool,
    pub grace_period_seconds: Option<i64>,
    /// `Orphan`, `Background` or `Foreground`.
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}
