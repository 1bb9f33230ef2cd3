//! The root CA publisher (upstream's root-ca-cert-publisher): every
//! namespace has a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the
//! cluster CA bundle, so pods can verify the API server through the
//! service-account volume. It is created with each namespace, recreated
//! when deleted and put back when its data or description is changed.

use informer::{Change, Factory, ObjectKey, WorkQueue};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const CONFIGMAP_NAME: &str = "kube-root-ca.crt";
pub const DATA_KEY: &str = "ca.crt";
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
}

/// The ConfigMap as it should be, keeping what else `current` carries.
fn desired(current: Option<&ConfigMap>, ca_pem: &str) -> Option<ConfigMap> {
    let data = BTreeMap::from([(DATA_KEY.to_string(), ca_pem.to_string())]);
    if let Some(cm) = current {
        let described = cm
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DESCRIPTION_ANNOTATION))
            .is_some_and(|d| !d.is_empty());
        if cm.data.as_ref() == Some(&data) && described {
            return None;
        }
    }
    let mut cm = current.cloned().unwrap_or_else(|| ConfigMap {
        metadata: ObjectMeta {
            name: Some(CONFIGMAP_NAME.to_string()),
            ..Default::default()
        },
        ..Default::default()
    });
    cm.data = Some(data);
    cm.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(DESCRIPTION_ANNOTATION.into(), DESCRIPTION.into());
    Some(cm)
}

/// Publish `ca_pem` into every namespace until the process ends.
pub async fn run(factory: Factory, ca_pem: String) {
    let ca_pem = Arc::new(ca_pem);
    let namespaces = factory.informer::<Namespace>();
    let configmaps = factory.informer::<ConfigMap>();
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
    configmaps.on_change(move |c| {
        let cm = c.object();
        if cm.metadata.name.as_deref() == Some(CONFIGMAP_NAME)
            && let Some(ns) = &cm.metadata.namespace
        {
            q.add(ns.clone());
        }
    });
    namespaces.wait_synced().await;
    configmaps.wait_synced().await;
    let client = factory.client();
    queue
        .run(2, move |ns_name: String| {
            let namespaces = namespaces.clone();
            let configmaps = configmaps.clone();
            let client = client.clone();
            let ca_pem = ca_pem.clone();
            async move {
                let Some(ns) = namespaces.get(&ObjectKey::cluster(ns_name.clone())) else {
                    return Ok(None);
                };
                if ns.metadata.deletion_timestamp.is_some() {
                    return Ok(None);
                }
                let current = configmaps.get_named(Some(&ns_name), CONFIGMAP_NAME);
                let Some(cm) = desired(current.as_deref(), &ca_pem) else {
                    return Ok(None);
                };
                let api: Api<ConfigMap> = Api::namespaced(client, &ns_name);
                let result = if current.is_some() {
                    api.replace(CONFIGMAP_NAME, &PostParams::default(), &cm)
                        .await
                } else {
                    api.create(&PostParams::default(), &cm).await
                };
                match result {
                    Ok(_) => Ok(None),
                    // The namespace is gone or terminating: nothing to do.
                    // A conflict means our cache lags; its event requeues.
                    Err(kube::Error::Api(s)) if matches!(s.code, 403 | 404 | 409) => Ok(None),
                    Err(e) => Err(Error::from(e)),
                }
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_state_keeps_other_fields_and_skips_no_ops() {
        let fresh = desired(None, "PEM").unwrap();
        assert_eq!(fresh.metadata.name.as_deref(), Some(CONFIGMAP_NAME));
        assert_eq!(fresh.data.as_ref().unwrap()[DATA_KEY], "PEM");
        assert!(desired(Some(&fresh), "PEM").is_none());
        let mut changed = fresh.clone();
        changed.metadata.labels = Some(BTreeMap::from([("a".into(), "b".into())]));
        changed.data = Some(BTreeMap::from([(DATA_KEY.into(), "other".into())]));
        let fixed = desired(Some(&changed), "PEM").unwrap();
        assert_eq!(fixed.data.as_ref().unwrap()[DATA_KEY], "PEM");
        assert!(fixed.metadata.labels.is_some());
        let mut undescribed = fresh.clone();
        undescribed.metadata.annotations = None;
        assert!(desired(Some(&undescribed), "PEM").is_some());
    }
}
