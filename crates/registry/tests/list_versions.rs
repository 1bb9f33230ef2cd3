//! LIST at particular versions: continue tokens across compaction, exact
//! revisions (old state, compacted revisions) and the list's own version.

mod common;

use common::*;
use registry::options::ListOptions;

#[tokio::test]
async fn continue_token_from_before_compaction_is_expired() {
    let (reg, store) = setup_with_store().await;
    let cms = configmaps(&reg);
    for n in ["a", "b", "c"] {
        reg.create(&cms, "default", configmap(n), &wopts("t"))
            .await
            .unwrap();
    }
    let first = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let token = first.continue_token.expect("more to come");
    // Move on and compact everything up to now.
    reg.create(&cms, "default", configmap("d"), &wopts("t"))
        .await
        .unwrap();
    let now = store.current_revision().await.unwrap();
    store.compact(now).await.unwrap();
    let e = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                limit: 1,
                continue_token: Some(token),
                ..Default::default()
            },
        )
        .await
        .err()
        .expect("expired");
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
    assert!(
        e.message
            .starts_with("The provided continue parameter is too old"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn garbage_continue_token_is_bad_request() {
    let reg = setup().await;
    let e = reg
        .list(
            &configmaps(&reg),
            "default",
            &ListOptions {
                continue_token: Some("not-a-token".into()),
                ..Default::default()
            },
        )
        .await
        .err()
        .expect("bad token");
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn exact_resource_version_returns_the_old_state() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    reg.create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    let then = reg.list(&cms, "default", &lopts()).await.unwrap();
    let mut a = reg.get(&cms, "default", "a", "").await.unwrap();
    a["data"]["k"] = "new".into();
    reg.update(&cms, "default", "a", a, None, &wopts("t"))
        .await
        .unwrap();
    reg.create(&cms, "default", configmap("b"), &wopts("t"))
        .await
        .unwrap();
    let old = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                resource_version: then.resource_version.to_string(),
                resource_version_match: "Exact".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(old.resource_version, then.resource_version);
    assert_eq!(names(&old.items), vec!["a"]);
    assert_eq!(old.items[0].value()["data"]["k"], "v");
    let now = reg.list(&cms, "default", &lopts()).await.unwrap();
    assert_eq!(names(&now.items), vec!["a", "b"]);
    assert!(now.resource_version > then.resource_version);
}

#[tokio::test]
async fn exact_at_a_compacted_revision_is_gone() {
    let (reg, store) = setup_with_store().await;
    let cms = configmaps(&reg);
    let a = reg
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    reg.create(&cms, "default", configmap("b"), &wopts("t"))
        .await
        .unwrap();
    store
        .compact(store.current_revision().await.unwrap())
        .await
        .unwrap();
    let e = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                resource_version: rv(&a),
                resource_version_match: "Exact".into(),
                ..Default::default()
            },
        )
        .await
        .err()
        .expect("gone");
    assert_eq!(e.code, 410);
}

#[tokio::test]
async fn exact_at_a_compacted_revision_is_expired_as_upstream_words_it() {
    // Upstream's etcd3 store: NewResourceExpired("The resourceVersion for the
    // provided list is too old.") — reason Expired, not Gone.
    let (reg, store) = setup_with_store().await;
    let cms = configmaps(&reg);
    let a = reg
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    reg.create(&cms, "default", configmap("b"), &wopts("t"))
        .await
        .unwrap();
    store
        .compact(store.current_revision().await.unwrap())
        .await
        .unwrap();
    let e = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                resource_version: rv(&a),
                resource_version_match: "Exact".into(),
                ..Default::default()
            },
        )
        .await
        .err()
        .expect("expired");
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
    assert_eq!(
        e.message,
        "The resourceVersion for the provided list is too old."
    );
}

#[tokio::test]
async fn list_reports_a_current_resource_version() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    let c = reg
        .create(&cms, "default", configmap("a"), &wopts("t"))
        .await
        .unwrap();
    let out = reg.list(&cms, "default", &lopts()).await.unwrap();
    assert!(out.resource_version >= rv(&c).parse::<i64>().unwrap());
    assert_eq!(out.items[0].rv.to_string(), rv(&c));
}
