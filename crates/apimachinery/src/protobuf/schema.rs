//! The shape of the generated descriptor table (`table.rs`) and lookups in
//! it: message by full proto name, and message by a request's `apiVersion`
//! and `kind`.

use super::table::{API_VERSIONS, MESSAGES};

/// Proto package of `meta/v1`: options types (`DeleteOptions`, …) arrive
/// under whatever group the request addresses, so kinds missing from the
/// group's package are looked up here.
const META_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// The field repeats (a JSON array).
pub(crate) const REPEATED: u8 = 1;
/// A present zero value is kept: the Go field is a pointer (`*int32`) or its
/// JSON tag has no `omitempty`. Otherwise zero means "unset", because gogo
/// writes every non-pointer scalar even when it is zero.
pub(crate) const KEEP_ZERO: u8 = 2;
/// The Go field is embedded with `json:",inline"`: its fields merge into the
/// parent object (e.g. `Volume.volumeSource`).
pub(crate) const INLINE: u8 = 4;

/// How a field is encoded and rendered; `M`/`MapM` hold a `MESSAGES` index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    S,
    B,
    Bool,
    I32,
    I64,
    F64,
    M(u16),
    MapS,
    MapB,
    MapM(u16),
}

/// Messages whose JSON form is not an object of their fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// meta/v1 Time: RFC 3339 in seconds, `null` when zero.
    Time,
    /// meta/v1 MicroTime: RFC 3339 with six fractional digits.
    MicroTime,
    /// meta/v1 Duration: Go's `time.Duration` string.
    Duration,
    /// resource.Quantity: its canonical string.
    Quantity,
    /// intstr.IntOrString: a number or a string.
    IntOrString,
    /// runtime.RawExtension: the embedded object.
    RawExtension,
    /// FieldsV1 and apiextensions JSON: raw JSON bytes.
    RawJson,
    /// ExtraValue, Verbs: a wrapped string list rendered as the list.
    Items,
    /// apiextensions JSONSchemaPropsOrArray.
    SchemaOrArray,
    /// apiextensions JSONSchemaPropsOrBool.
    SchemaOrBool,
    /// apiextensions JSONSchemaPropsOrStringArray.
    SchemaOrStringArray,
}

/// One field: tag, JSON name, kind, flags (`REPEATED | KEEP_ZERO | INLINE`).
#[derive(Debug)]
pub(crate) struct Field(pub u32, pub &'static str, pub Kind, pub u8);

impl Field {
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.3 & flag != 0
    }
}

/// One message: full proto name, JSON form, fields sorted by tag.
#[derive(Debug)]
pub(crate) struct Message(pub &'static str, pub Special, pub &'static [Field]);

impl Message {
    pub(crate) fn name(&self) -> &'static str {
        self.0
    }

    pub(crate) fn special(&self) -> Special {
        self.1
    }

    pub(crate) fn field(&self, tag: u32) -> Option<&'static Field> {
        self.2
            .binary_search_by_key(&tag, |f| f.0)
            .ok()
            .map(|i| &self.2[i])
    }

    pub(crate) fn fields(&self) -> &'static [Field] {
        self.2
    }
}

/// The message at a table index (indices come from the table itself).
pub(crate) fn message_at(index: u16) -> &'static Message {
    &MESSAGES[usize::from(index)]
}

/// A message by full proto name, e.g. `k8s.io.api.core.v1.ConfigMap`.
pub(crate) fn message_by_name(name: &str) -> Option<&'static Message> {
    MESSAGES
        .binary_search_by(|m| m.0.cmp(name))
        .ok()
        .map(|i| &MESSAGES[i])
}

/// The message a request body of `apiVersion`/`kind` carries. Exact names
/// first; a case-insensitive match second (kinds are case-sensitive upstream,
/// but a miss here would only turn into a less helpful error).
pub(crate) fn message_for(api_version: &str, kind: &str) -> Option<&'static Message> {
    let package = API_VERSIONS
        .iter()
        .find(|(av, _)| *av == api_version)
        .map(|(_, p)| *p);
    let candidates = package.into_iter().chain(std::iter::once(META_V1));
    for pkg in candidates.clone() {
        if let Some(m) = message_by_name(&format!("{pkg}.{kind}")) {
            return Some(m);
        }
    }
    for pkg in candidates {
        let found = MESSAGES.iter().find(|m| {
            m.0.strip_prefix(pkg)
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Number of messages and fields in the table (for diagnostics and tests).
pub fn table_size() -> (usize, usize) {
    (MESSAGES.len(), MESSAGES.iter().map(|m| m.2.len()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_indices_resolve() {
        assert!(MESSAGES.windows(2).all(|w| w[0].0 < w[1].0));
        for m in MESSAGES {
            assert!(m.2.windows(2).all(|w| w[0].0 < w[1].0), "{}", m.0);
            for f in m.2 {
                if let Kind::M(i) | Kind::MapM(i) = f.2 {
                    assert!(usize::from(i) < MESSAGES.len());
                }
            }
        }
    }

    #[test]
    fn finds_messages_by_api_version_and_kind() {
        let cm = message_for("v1", "ConfigMap").map(Message::name);
        assert_eq!(cm, Some("k8s.io.api.core.v1.ConfigMap"));
        let d = message_for("apps/v1", "Deployment").map(Message::name);
        assert_eq!(d, Some("k8s.io.api.apps.v1.Deployment"));
        let del = message_for("apps/v1", "DeleteOptions").map(Message::name);
        assert_eq!(
            del,
            Some("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions")
        );
        let crd = message_for("apiextensions.k8s.io/v1", "CustomResourceDefinition");
        assert!(crd.is_some());
        assert!(message_for("v1", "NoSuchKind").is_none());
    }

    #[test]
    fn json_names_keep_their_original_spelling() {
        let spec = message_by_name("k8s.io.api.core.v1.ServiceSpec").map(|m| m.field(3));
        assert_eq!(spec.flatten().map(|f| f.1), Some("clusterIP"));
        let status = message_by_name("k8s.io.api.core.v1.PodStatus");
        let names: Vec<_> = status
            .map(|m| m.2.iter().map(|f| f.1).collect())
            .unwrap_or_default();
        assert!(names.contains(&"podIPs") && names.contains(&"hostIP"));
        let props = message_by_name(
            "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        );
        let names: Vec<_> = props
            .map(|m| m.2.iter().map(|f| f.1).collect())
            .unwrap_or_default();
        assert!(names.contains(&"$ref") && names.contains(&"$schema"));
        assert!(names.contains(&"x-kubernetes-preserve-unknown-fields"));
    }
}
