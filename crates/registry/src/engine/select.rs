//! Label and field selectors of list and watch requests, parsed once and
//! matched against cached objects.

use crate::cache::CachedObject;
use crate::strategy::Strategy;
use apimachinery::ApiError;
use apimachinery::selectors::{FieldSelector, LabelSelector};

pub struct Selection {
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
}

impl Selection {
    pub fn parse(
        label: Option<&str>,
        field: Option<&str>,
        strategy: &dyn Strategy,
    ) -> Result<Self, ApiError> {
        let labels =
            match label.map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => Some(LabelSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?),
                None => None,
            };
        let fields = match field.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                let sel = FieldSelector::parse(s)
                    .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?;
                for r in sel.requirements() {
                    let f = r.field.as_str();
                    if f != "metadata.name"
                        && f != "metadata.namespace"
                        && !strategy.selectable_fields().contains(&f)
                    {
                        return Err(ApiError::bad_request(format!(
                            "field label not supported: {f}"
                        )));
                    }
                }
                Some(sel)
            }
            None => None,
        };
        Ok(Selection { labels, fields })
    }

    pub fn matches(&self, obj: &CachedObject) -> bool {
        if let Some(l) = &self.labels
            && !l.matches(&obj.labels)
        {
            return false;
        }
        if let Some(f) = &self.fields
            && !f.matches(|field| obj.field(field))
        {
            return false;
        }
        true
    }
}
