//! Shared sync steps: finding (or creating) the new ReplicaSet and syncing
//! revisions, scaling ReplicaSets (proportionally when the Deployment is
//! resized mid-rollout), cleaning up old revisions, and the status.

use super::util::{self, *};
use super::{Ctx, Error};
use informer::EventType;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use std::sync::Arc;

fn nz(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// The oldest ReplicaSet whose template equals the Deployment's.
fn find_new(d: &Deployment, rs_list: &[ReplicaSet]) -> Option<ReplicaSet> {
    let mut sorted = rs_list.to_vec();
    sort_oldest_first(&mut sorted);
    sorted.into_iter().find(|rs| {
        rs.spec
            .template
            .as_ref()
            .is_some_and(|t| equal_ignore_hash(t, &d.spec.template))
    })
}

/// Active (scaled above zero) ReplicaSets among `new` and `old`.
pub(super) fn active<'a>(
    new: Option<&'a ReplicaSet>,
    old: &'a [ReplicaSet],
) -> Vec<&'a ReplicaSet> {
    old.iter()
        .chain(new)
        .filter(|rs| rs_replicas(rs) > 0)
        .collect()
}

pub(super) fn all_of(new: Option<&ReplicaSet>, old: &[ReplicaSet]) -> Vec<ReplicaSet> {
    old.iter().chain(new).cloned().collect()
}

impl Ctx {
    pub(super) async fn put_status(
        &self,
        d: &mut Deployment,
        status: DeploymentStatus,
    ) -> Result<(), Error> {
        let mut body = d.clone();
        body.status = Some(status);
        let api: Api<Deployment> =
            Api::namespaced(self.client.clone(), &d.namespace().unwrap_or_default());
        *d = api
            .replace_status(&d.name_any(), &PostParams::default(), &body)
            .await?;
        self.deployments.apply(Arc::new(d.clone()));
        Ok(())
    }

    async fn set_revision(&self, d: &mut Deployment, revision: &str) -> Result<(), Error> {
        if d.annotations().get(REVISION).map(String::as_str) == Some(revision) {
            return Ok(());
        }
        let api: Api<Deployment> =
            Api::namespaced(self.client.clone(), &d.namespace().unwrap_or_default());
        let patch = json!({"metadata": {"annotations": {REVISION: revision}}});
        *d = api
            .patch(
                &d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        self.deployments.apply(Arc::new(d.clone()));
        Ok(())
    }

    pub(super) async fn update_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, Error> {
        let api: Api<ReplicaSet> =
            Api::namespaced(self.client.clone(), &rs.namespace().unwrap_or_default());
        let updated = api
            .replace(&rs.name_any(), &PostParams::default(), rs)
            .await?;
        self.rss.apply(Arc::new(updated.clone()));
        Ok(updated)
    }

    /// Upstream's `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet
    /// (created when `create` and missing) and the old ones.
    pub(super) async fn all_replica_sets(
        &self,
        d: &mut Deployment,
        rs_list: &[ReplicaSet],
        create: bool,
    ) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>), Error> {
        let existing = find_new(d, rs_list);
        let old: Vec<ReplicaSet> = rs_list
            .iter()
            .filter(|rs| existing.as_ref().is_none_or(|n| n.uid() != rs.uid()))
            .cloned()
            .collect();
        let new = self.new_replica_set(d, existing, &old, create).await?;
        Ok((new, old))
    }

    async fn new_replica_set(
        &self,
        d: &mut Deployment,
        existing: Option<ReplicaSet>,
        old: &[ReplicaSet],
        create: bool,
    ) -> Result<Option<ReplicaSet>, Error> {
        let new_revision = old.iter().map(util::revision).max().unwrap_or(0) + 1;
        let deadline = progress_deadline(d).is_some();
        if let Some(rs) = existing {
            let mut copy = rs.clone();
            let annotated = set_new_rs_annotations(d, &mut copy, new_revision, true);
            let mrs = copy.spec.min_ready_seconds != d.spec.min_ready_seconds;
            if annotated || mrs {
                copy.spec.min_ready_seconds = d.spec.min_ready_seconds;
                copy = self.update_rs(&copy).await?;
            }
            let rev = annotation(&copy, REVISION).unwrap_or_default().to_string();
            self.set_revision(d, &rev).await?;
            let status = d.status.clone().unwrap_or_default();
            if deadline && condition(&status, PROGRESSING).is_none() {
                let mut st = status;
                set_condition(
                    &mut st,
                    new_condition(
                        PROGRESSING,
                        "True",
                        "FoundNewReplicaSet",
                        format!("Found new replica set {:?}", copy.name_any()),
                    ),
                );
                self.put_status(d, st).await?;
            }
            return Ok(Some(copy));
        }
        if !create {
            return Ok(None);
        }
        let ns = d.namespace().unwrap_or_default();
        let status = d.status.clone().unwrap_or_default();
        let hash = compute_hash(&d.spec.template, status.collision_count);
        let mut template = d.spec.template.clone();
        let tm = template.metadata.get_or_insert_with(Default::default);
        tm.labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.into(), hash.clone());
        let mut selector = d.spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(Default::default)
            .insert(HASH_LABEL.into(), hash.clone());
        let name = format!("{}-{hash}", d.name_any());
        let mut new_rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                labels: tm.labels.clone(),
                owner_references: Some(vec![crate::replica_common::pods::owner_reference(d)]),
                ..Default::default()
            },
            spec: k8s_openapi::api::apps::v1::ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.min_ready_seconds,
                selector,
                template: Some(template),
            },
            status: None,
        };
        let all = all_of(None, old);
        let count = super::rolling::new_rs_new_replicas(d, &all, &new_rs);
        new_rs.spec.replicas = Some(count);
        set_new_rs_annotations(d, &mut new_rs, new_revision, false);
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        let mut already_exists = false;
        let created = match api.create(&PostParams::default(), &new_rs).await {
            Ok(rs) => rs,
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let found = api.get(&name).await?;
                let ours = crate::replica_common::pods::controller_ref(&found.metadata)
                    .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                let same = found
                    .spec
                    .template
                    .as_ref()
                    .is_some_and(|t| equal_ignore_hash(t, &d.spec.template));
                if ours && same {
                    already_exists = true;
                    found
                } else {
                    // A different template hashed to this name: bump the
                    // collision count so the next sync picks another name.
                    let mut st = status;
                    st.collision_count = Some(st.collision_count.unwrap_or(0) + 1);
                    self.put_status(d, st).await?;
                    return Err(Error::Collision(name));
                }
            }
            Err(e) => {
                let msg = format!(
                    "Failed to create new replica set {name:?}: {}",
                    api_message(&e)
                );
                if deadline {
                    let mut st = status;
                    set_condition(
                        &mut st,
                        new_condition(PROGRESSING, "False", "ReplicaSetCreateError", msg.clone()),
                    );
                    self.put_status(d, st).await?;
                }
                self.recorder
                    .event(d, EventType::Warning, "ReplicaSetCreateError", msg);
                return Err(e.into());
            }
        };
        self.rss.apply(Arc::new(created.clone()));
        if !already_exists && count > 0 {
            self.recorder.event(
                d,
                EventType::Normal,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {count}"),
            );
        }
        self.set_revision(d, &new_revision.to_string()).await?;
        if !already_exists && deadline {
            let mut st = d.status.clone().unwrap_or_default();
            set_condition(
                &mut st,
                new_condition(
                    PROGRESSING,
                    "True",
                    "NewReplicaSetCreated",
                    format!("Created new replica set {name:?}"),
                ),
            );
            self.put_status(d, st).await?;
        }
        Ok(Some(created))
    }

    /// Set `rs` to `new_scale` and the replica annotations; true when the size changed.
    pub(super) async fn scale_rs(
        &self,
        d: &Deployment,
        rs: &mut ReplicaSet,
        new_scale: i32,
        op: &str,
    ) -> Result<bool, Error> {
        let old_scale = rs_replicas(rs);
        let size_change = old_scale != new_scale;
        let desired = replicas(d);
        let mut copy = rs.clone();
        let ann = set_replica_annotations(&mut copy, desired, desired + max_surge(d));
        if !size_change && !ann {
            return Ok(false);
        }
        copy.spec.replicas = Some(new_scale);
        *rs = self.update_rs(&copy).await?;
        if size_change {
            self.recorder.event(
                d,
                EventType::Normal,
                "ScalingReplicaSet",
                format!(
                    "Scaled {op} replica set {} from {old_scale} to {new_scale}",
                    rs.name_any()
                ),
            );
        }
        Ok(size_change)
    }

    pub(super) async fn scale_rs_and_record(
        &self,
        d: &Deployment,
        rs: &mut ReplicaSet,
        new_scale: i32,
    ) -> Result<bool, Error> {
        let cur = rs_replicas(rs);
        if cur == new_scale {
            return Ok(false);
        }
        let op = if cur < new_scale { "up" } else { "down" };
        self.scale_rs(d, rs, new_scale, op).await
    }

    /// True when an active ReplicaSet was sized for a different replica count.
    pub(super) async fn is_scaling_event(
        &self,
        d: &mut Deployment,
        rs_list: &[ReplicaSet],
    ) -> Result<bool, Error> {
        let (new, old) = self.all_replica_sets(d, rs_list, false).await?;
        let want = replicas(d);
        Ok(active(new.as_ref(), &old).iter().any(|rs| {
            annotation(rs, DESIRED_REPLICAS)
                .and_then(|v| v.parse::<i32>().ok())
                .is_some_and(|v| v != want)
        }))
    }

    /// Paused or resized: scale without rolling out, then the status.
    pub(super) async fn sync(
        &self,
        d: &mut Deployment,
        rs_list: &[ReplicaSet],
    ) -> Result<(), Error> {
        let (mut new, mut old) = self.all_replica_sets(d, rs_list, false).await?;
        self.scale(d, &mut new, &mut old).await?;
        if d.spec.paused == Some(true) {
            self.cleanup(d, &old).await?;
        }
        self.sync_deployment_status(d, &old, new.as_ref()).await
    }

    /// Upstream's `scale`: bring the one active ReplicaSet to size, or, in
    /// a rollout, spread the difference proportionally.
    async fn scale(
        &self,
        d: &Deployment,
        new: &mut Option<ReplicaSet>,
        old: &mut [ReplicaSet],
    ) -> Result<(), Error> {
        let want = replicas(d);
        // FindActiveOrLatest.
        let n_active = active(new.as_ref(), old).len();
        if n_active <= 1 && (new.is_some() || !old.is_empty()) {
            let target: &mut ReplicaSet = if n_active == 1 {
                match new.as_mut().filter(|rs| rs_replicas(rs) > 0) {
                    Some(rs) => rs,
                    None => match old.iter_mut().find(|rs| rs_replicas(rs) > 0) {
                        Some(rs) => rs,
                        None => return Ok(()),
                    },
                }
            } else if let Some(rs) = new.as_mut() {
                rs
            } else {
                match old.iter_mut().max_by_key(|rs| created(rs)) {
                    Some(rs) => rs,
                    None => return Ok(()),
                }
            };
            if rs_replicas(target) != want {
                self.scale_rs_and_record(d, target, want).await?;
            }
            return Ok(());
        }
        if let Some(rs) = new.as_ref()
            && is_saturated(d, rs)
        {
            for o in old.iter_mut().filter(|rs| rs_replicas(rs) > 0) {
                self.scale_rs_and_record(d, o, 0).await?;
            }
            return Ok(());
        }
        if !is_rolling(d) {
            return Ok(());
        }
        let mut all: Vec<&mut ReplicaSet> = old
            .iter_mut()
            .chain(new.as_mut())
            .filter(|rs| rs_replicas(rs) > 0)
            .collect();
        let current: i32 = all.iter().map(|rs| rs_replicas(rs)).sum();
        let allowed = if want > 0 { want + max_surge(d) } else { 0 };
        let to_add = allowed - current;
        if to_add == 0 {
            return Ok(());
        }
        // Larger first; on a tie newer first when growing, older when shrinking.
        all.sort_by(|a, b| {
            rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| {
                if to_add > 0 {
                    created(b).cmp(&created(a))
                } else {
                    created(a).cmp(&created(b))
                }
            })
        });
        let op = if to_add > 0 { "up" } else { "down" };
        let status_replicas = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let mut added = 0;
        let mut sizes: Vec<i32> = Vec::with_capacity(all.len());
        for rs in &all {
            let p = proportion(rs, d, to_add, added, status_replicas);
            sizes.push(rs_replicas(rs) + p);
            added += p;
        }
        if let Some(first) = sizes.first_mut() {
            *first = (*first + to_add - added).max(0);
        }
        for (rs, size) in all.into_iter().zip(sizes) {
            self.scale_rs(d, rs, size, op).await?;
        }
        Ok(())
    }

    /// Delete old ReplicaSets beyond `revisionHistoryLimit` that are fully scaled down.
    pub(super) async fn cleanup(&self, d: &Deployment, old: &[ReplicaSet]) -> Result<(), Error> {
        let Some(limit) = d.spec.revision_history_limit else {
            return Ok(());
        };
        let mut alive: Vec<&ReplicaSet> = old
            .iter()
            .filter(|rs| rs.metadata.deletion_timestamp.is_none())
            .collect();
        let diff = alive.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return Ok(());
        }
        alive.sort_by(|a, b| {
            util::revision(a)
                .cmp(&util::revision(b))
                .then_with(|| created(a).cmp(&created(b)))
        });
        for rs in alive.into_iter().take(diff as usize) {
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if rs.status.as_ref().is_some_and(|s| s.replicas != 0)
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            let api: Api<ReplicaSet> =
                Api::namespaced(self.client.clone(), &rs.namespace().unwrap_or_default());
            match api.delete(&rs.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub(super) async fn sync_deployment_status(
        &self,
        d: &mut Deployment,
        old: &[ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<(), Error> {
        let status = calculate_status(d, old, new);
        if d.status.clone().unwrap_or_default() != status {
            self.put_status(d, status).await?;
        }
        Ok(())
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// Fully rolled out: new ReplicaSet at size, sized for this count, all available.
fn is_saturated(d: &Deployment, rs: &ReplicaSet) -> bool {
    let want = replicas(d);
    annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse::<i32>().ok()) == Some(want)
        && rs_replicas(rs) == want
        && rs_available(rs) == want
}

/// Upstream's `GetProportion`: this ReplicaSet's share of `to_add`.
pub(super) fn proportion(
    rs: &ReplicaSet,
    d: &Deployment,
    to_add: i32,
    added: i32,
    status_replicas: i32,
) -> i32 {
    let size = rs_replicas(rs);
    if size == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if replicas(d) == 0 {
        -size
    } else {
        let total = replicas(d) + max_surge(d);
        let annotated = annotation(rs, MAX_REPLICAS)
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(status_replicas);
        if annotated == 0 {
            0
        } else {
            (f64::from(size) * f64::from(total) / f64::from(annotated)).round() as i32 - size
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// Upstream's `calculateStatus`, with the Available condition.
pub(super) fn calculate_status(
    d: &Deployment,
    old: &[ReplicaSet],
    new: Option<&ReplicaSet>,
) -> DeploymentStatus {
    let all = all_of(new, old);
    let (total, ready, available) = status_totals(&all);
    let updated = new.map_or(0, |rs| status_totals(std::slice::from_ref(rs)).0);
    let unavailable = (spec_total(&all) - available).max(0);
    let terminating: Option<i32> = all
        .iter()
        .filter_map(|rs| rs.status.as_ref().and_then(|s| s.terminating_replicas))
        .reduce(|a, b| a + b);
    let prev = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: nz(total),
        updated_replicas: nz(updated),
        ready_replicas: nz(ready),
        available_replicas: nz(available),
        unavailable_replicas: nz(unavailable),
        terminating_replicas: terminating,
        collision_count: prev.collision_count,
        conditions: prev.conditions,
    };
    if available >= replicas(d) - max_unavailable(d) {
        set_condition(
            &mut status,
            new_condition(
                AVAILABLE,
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            ),
        );
    } else {
        set_condition(
            &mut status,
            new_condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            ),
        );
    }
    status
}
