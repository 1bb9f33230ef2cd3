//! The per-resource rules the generic engine calls, in a fixed order:
//! prepare → default → validate. The engine itself handles what every
//! resource shares (names, generateName, uid, timestamps, resourceVersion,
//! generation, finalizers, the status/spec split for resources with a
//! `status` subresource, and metadata validation).

use apimachinery::Cause;
use serde_json::Value;

/// How `metadata.name` is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most resources): lower-case alphanumerics, `-`,
    /// `.`, at most 253 characters.
    Subdomain,
    /// RFC 1123 label (namespaces, services): lower-case alphanumerics and
    /// `-`, at most 63 characters.
    Label,
    /// RFC 1035 label (services): like `Label` but must start with a letter.
    Dns1035Label,
    /// Path segment: anything but `.`, `..`, `/` and `%` (RBAC objects and
    /// others upstream validates loosely).
    PathSegment,
}

/// Per-resource rules. Every method has a neutral default, so a resource with
/// no special rules uses `DefaultStrategy`.
pub trait Strategy: Send + Sync {
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }

    /// Clear or reset fields a client may not set on create (e.g. a Pod's
    /// status becomes `{phase: Pending}`, a Deployment's status is dropped).
    fn prepare_create(&self, _obj: &mut Value) {}

    /// Called on create after the engine has filled the system fields
    /// (final `metadata.name`, `uid`, `creationTimestamp`) and after
    /// `default`, just before `validate_create`. Upstream's Job strategy
    /// generates its selector from the uid at this point.
    fn finalize_create(&self, _obj: &mut Value) {}

    /// Reset fields a client may not change on update of the main resource,
    /// given the old object. (The engine already keeps the old `status` for
    /// resources with a status subresource; this is for anything beyond.)
    fn prepare_update(&self, _new: &mut Value, _old: &Value) {}

    /// Fill in defaults the way upstream's `SetDefaults_*` functions do
    /// (e.g. `restartPolicy: Always`, `imagePullPolicy`, `protocol: TCP`,
    /// Deployment `strategy`, `revisionHistoryLimit`, `progressDeadlineSeconds`).
    /// Runs on create and on update.
    fn default(&self, _obj: &mut Value) {}

    /// Validate a new object (after defaulting). Field paths as upstream prints
    /// them, e.g. `spec.template.spec.containers[0].image`.
    fn validate_create(&self, _obj: &Value) -> Vec<Cause> {
        vec![]
    }

    /// Validate an update; defaults to the create rules. Implementations add
    /// immutability checks (e.g. a Deployment's `spec.selector`).
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<Cause> {
        self.validate_create(new)
    }

    /// Validate a write to the `status` subresource.
    fn validate_status_update(&self, _new: &Value, _old: &Value) -> Vec<Cause> {
        vec![]
    }

    /// Field-selector fields this resource supports beyond `metadata.name` and
    /// `metadata.namespace` (e.g. Pods: `spec.nodeName`, `status.phase`).
    fn selectable_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// The value of one of [`Strategy::selectable_fields`] on an object
    /// (missing values read as the empty string, as upstream).
    fn field_value(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }
}

/// The strategy of a resource with no rules of its own.
pub struct DefaultStrategy;
impl Strategy for DefaultStrategy {}
