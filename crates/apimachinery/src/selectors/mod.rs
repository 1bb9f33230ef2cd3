//! Label and field selectors: parsing the `labelSelector` / `fieldSelector`
//! query strings and the structured `LabelSelector` of API objects, and
//! matching objects against them, with upstream's syntax and messages.

pub mod field;
pub mod label;
mod label_parse;
#[cfg(test)]
mod label_tests;
pub mod validation;

pub use field::{FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement, validate_label_selector};

/// A selector that cannot be parsed or built. The message is upstream's
/// text, which the API server returns in a `BadRequest` status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("{0}")]
    Label(String),
    #[error("{0}")]
    Field(String),
}

impl SelectorError {
    pub fn message(&self) -> &str {
        match self {
            SelectorError::Label(m) | SelectorError::Field(m) => m,
        }
    }
}
