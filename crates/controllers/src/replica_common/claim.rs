//! Adoption and release of controlled objects (upstream's
//! `ControllerRefManager` patches), for any owner and child kind.

use super::pods::owner_reference;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::fmt::Debug;

/// Make `owner` the controller of `child`; `None` when the child is gone
/// or changed under us (it is looked at again on the next sync).
pub async fn adopt<C, O>(api: &Api<C>, child: &C, owner: &O) -> Result<Option<C>, kube::Error>
where
    C: Resource + Clone + DeserializeOwned + Debug,
    O: Resource<DynamicType = ()>,
{
    let patch = json!({"metadata": {
        "ownerReferences": [owner_reference(owner)],
        "uid": child.meta().uid,
    }});
    match api
        .patch(
            &child.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
    {
        Ok(c) => Ok(Some(c)),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Drop the owner reference with `owner_uid` from `child`.
pub async fn release<C>(api: &Api<C>, child: &C, owner_uid: &str) -> Result<(), kube::Error>
where
    C: Resource + Clone + DeserializeOwned + Debug,
{
    let patch = json!({"metadata": {
        "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
        "uid": child.meta().uid,
    }});
    match api
        .patch(
            &child.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => Ok(()),
        Err(e) => Err(e),
    }
}
