//! projected volumes: configMap, secret, downwardAPI and serviceAccountToken
//! sources merged into one payload (the usual `kube-api-access-*` volume is
//! a token, the `kube-root-ca.crt` ConfigMap and the namespace).

use super::atomic_writer::{FileProjection, Payload};
use super::{VolumeManager, config_map, downward_api, secret};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ProjectedVolumeSource, ServiceAccount};
use kube::Api;
use kube::api::PostParams;
use std::time::{Duration, Instant};

/// Upstream's default token lifetime for projected tokens (1 h).
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;

pub async fn payload(
    vm: &VolumeManager,
    pod: &Pod,
    volume: &str,
    src: &ProjectedVolumeSource,
) -> Result<Payload, String> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let default_mode = src.default_mode;
    let mut payload = Payload::new();
    for s in src.sources.iter().flatten() {
        let part = if let Some(c) = &s.config_map {
            let cm = vm.config_map(ns, &c.name).await?;
            config_map::payload(
                &c.name,
                cm.as_ref(),
                c.items.as_deref(),
                default_mode,
                c.optional == Some(true),
            )?
        } else if let Some(c) = &s.secret {
            let sec = vm.secret(ns, &c.name).await?;
            secret::payload(
                &c.name,
                sec.as_ref(),
                c.items.as_deref(),
                default_mode,
                c.optional == Some(true),
            )?
        } else if let Some(d) = &s.downward_api {
            downward_api::payload(pod, d.items.as_deref().unwrap_or_default(), default_mode)?
        } else if let Some(t) = &s.service_account_token {
            let token = vm
                .token(
                    pod,
                    volume,
                    &t.path,
                    t.audience.as_deref(),
                    t.expiration_seconds,
                )
                .await?;
            Payload::from([(
                t.path.clone(),
                FileProjection {
                    data: token.into_bytes(),
                    mode: config_map::mode(default_mode),
                },
            )])
        } else if s.cluster_trust_bundle.is_some() {
            return Err("clusterTrustBundle projections are not supported by this kubelet".into());
        } else {
            continue;
        };
        payload.extend(part);
    }
    Ok(payload)
}

/// A cached token and when to fetch a new one (upstream refreshes at 80% of its life).
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub token: String,
    pub refresh_at: Instant,
}

impl VolumeManager {
    /// A bound service-account token for `pod` through the TokenRequest API,
    /// reused until 80% of its lifetime has passed.
    pub(crate) async fn token(
        &self,
        pod: &Pod,
        volume: &str,
        path: &str,
        audience: Option<&str>,
        expiration: Option<i64>,
    ) -> Result<String, String> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let sa = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        let key = format!("{uid}/{volume}/{path}");
        if let Some(t) = self.tokens.lock().expect("token cache").get(&key)
            && t.refresh_at > Instant::now()
        {
            return Ok(t.token.clone());
        }
        let exp = expiration.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
        let req = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: audience
                    .filter(|a| !a.is_empty())
                    .map(|a| vec![a.to_string()]),
                expiration_seconds: Some(exp),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Pod".into()),
                    name: pod.metadata.name.clone(),
                    uid: pod.metadata.uid.clone(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), ns);
        let resp = api
            .create_token_request(sa, &PostParams::default(), &req)
            .await
            .map_err(|e| format!("failed to fetch token: TokenRequest for serviceaccount {ns}/{sa} refused by the API server: {e}"))?;
        let token = resp
            .status
            .and_then(|s| s.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("failed to fetch token: TokenRequest for serviceaccount {ns}/{sa} returned no token"))?;
        let life = Duration::from_secs(u64::try_from(exp).unwrap_or(3600) * 8 / 10);
        self.tokens.lock().expect("token cache").insert(
            key,
            CachedToken {
                token: token.clone(),
                refresh_at: Instant::now() + life,
            },
        );
        Ok(token)
    }
}
