//! The ServiceAccount controller (upstream's serviceaccounts-controller):
//! every active namespace has a `default` ServiceAccount, created when the
//! namespace appears and again if it is deleted.

use informer::{Change, Factory, ObjectKey, WorkQueue};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};

pub const DEFAULT_NAME: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
}

/// A namespace that is active (not being deleted).
fn active(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_none()
        && ns
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_none_or(|p| p == "Active")
}

pub async fn run(factory: Factory) {
    let namespaces = factory.informer::<Namespace>();
    let accounts = factory.informer::<ServiceAccount>();
    let queue: WorkQueue<String> = WorkQueue::new();
    let q = queue.clone();
    namespaces.on_change(move |c| {
        if !matches!(c, Change::Deleted(_))
            && let Some(name) = &c.object().metadata.name
        {
            q.add(name.clone());
        }
    });
    let q = queue.clone();
    accounts.on_change(move |c| {
        let sa = c.object();
        if matches!(c, Change::Deleted(_))
            && sa.metadata.name.as_deref() == Some(DEFAULT_NAME)
            && let Some(ns) = &sa.metadata.namespace
        {
            q.add(ns.clone());
        }
    });
    namespaces.wait_synced().await;
    accounts.wait_synced().await;
    let client = factory.client();
    queue
        .run(3, move |ns_name: String| {
            let namespaces = namespaces.clone();
            let accounts = accounts.clone();
            let client = client.clone();
            async move {
                let Some(ns) = namespaces.get(&ObjectKey::cluster(ns_name.clone())) else {
                    return Ok(None);
                };
                if !active(&ns) || accounts.get_named(Some(&ns_name), DEFAULT_NAME).is_some() {
                    return Ok(None);
                }
                let api: Api<ServiceAccount> = Api::namespaced(client, &ns_name);
                let sa = ServiceAccount {
                    metadata: ObjectMeta {
                        name: Some(DEFAULT_NAME.to_string()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                match api.create(&PostParams::default(), &sa).await {
                    Ok(_) => Ok(None),
                    // Exists already (our cache lags), or the namespace
                    // started terminating: nothing to do.
                    Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => Ok(None),
                    Err(e) => Err(Error::from(e)),
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NamespaceStatus;

    #[test]
    fn terminating_namespaces_are_not_active() {
        let mut ns = Namespace::default();
        assert!(active(&ns));
        ns.status = Some(NamespaceStatus {
            phase: Some("Terminating".into()),
            ..Default::default()
        });
        assert!(!active(&ns));
    }
}
