//! LIST: label and field selectors, paging with limit/continue, expired
//! continue tokens and exact-revision reads, as upstream serves them.

mod common;

use common::*;
use registry::options::ListOptions;
use serde_json::json;

async fn labelled_set(reg: &registry::engine::Registry) {
    let cms = configmaps(reg);
    for (name, labels) in [
        ("a", json!({"env": "prod", "tier": "web"})),
        ("b", json!({"env": "dev", "tier": "web"})),
        ("c", json!({"env": "test"})),
        ("d", json!({})),
    ] {
        reg.create(
            &cms,
            "default",
            configmap_labelled(name, labels),
            &wopts("t"),
        )
        .await
        .unwrap();
    }
}

async fn list_names(reg: &registry::engine::Registry, opts: ListOptions) -> Vec<String> {
    let out = reg.list(&configmaps(reg), "default", &opts).await.unwrap();
    names(&out.items)
}

#[tokio::test]
async fn label_selector_operators() {
    let reg = setup().await;
    labelled_set(&reg).await;
    for (sel, want) in [
        ("env=prod", vec!["a"]),
        ("env==prod", vec!["a"]),
        ("env!=prod", vec!["b", "c", "d"]),
        ("env in (dev,test)", vec!["b", "c"]),
        ("env notin (dev,test)", vec!["a", "d"]),
        ("tier", vec!["a", "b"]),
        ("!tier", vec!["c", "d"]),
        ("tier=web,env!=dev", vec!["a"]),
        ("env", vec!["a", "b", "c"]),
    ] {
        assert_eq!(list_names(&reg, labels(sel)).await, want, "selector {sel}");
    }
}

#[tokio::test]
async fn invalid_label_selector_is_bad_request() {
    let reg = setup().await;
    let e = reg
        .list(&configmaps(&reg), "default", &labels("env in (a"))
        .await
        .err()
        .expect("bad selector");
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn field_selector_on_name() {
    let reg = setup().await;
    labelled_set(&reg).await;
    assert_eq!(list_names(&reg, fields("metadata.name=b")).await, vec!["b"]);
    assert_eq!(
        list_names(&reg, fields("metadata.name!=b")).await,
        vec!["a", "c", "d"]
    );
    assert_eq!(
        list_names(&reg, fields("metadata.namespace=default,metadata.name==c")).await,
        vec!["c"]
    );
}

#[tokio::test]
async fn field_selector_on_pod_node_and_phase() {
    let reg = setup().await;
    let pods = pods(&reg);
    reg.create(&pods, "default", pod_on("on-1", "node-1"), &wopts("t"))
        .await
        .unwrap();
    reg.create(&pods, "default", pod_on("on-2", "node-2"), &wopts("t"))
        .await
        .unwrap();
    let free = reg
        .create(&pods, "default", pod("free"), &wopts("t"))
        .await
        .unwrap();
    let sel = |s: &str| fields(s);
    let by = |o: registry::engine::ListResult| names(&o.items);
    assert_eq!(
        by(reg
            .list(&pods, "", &sel("spec.nodeName=node-1"))
            .await
            .unwrap()),
        vec!["on-1"]
    );
    // Unscheduled pods have an empty nodeName, as the scheduler selects them.
    assert_eq!(
        by(reg.list(&pods, "", &sel("spec.nodeName=")).await.unwrap()),
        vec!["free"]
    );
    assert_eq!(
        by(reg
            .list(&pods, "default", &sel("status.phase=Pending"))
            .await
            .unwrap()),
        vec!["free", "on-1", "on-2"]
    );
    let mut running = free;
    running["status"] = json!({"phase": "Running"});
    reg.update(
        &pods,
        "default",
        "free",
        running,
        Some("status"),
        &wopts("kubelet"),
    )
    .await
    .unwrap();
    assert_eq!(
        by(reg
            .list(&pods, "default", &sel("status.phase=Running"))
            .await
            .unwrap()),
        vec!["free"]
    );
    assert_eq!(
        by(reg
            .list(
                &pods,
                "default",
                &sel("status.phase!=Running,spec.nodeName!=node-2")
            )
            .await
            .unwrap()),
        vec!["on-1"]
    );
}

#[tokio::test]
async fn field_selector_on_secret_type() {
    let reg = setup().await;
    let secrets = res(&reg, "", "v1", "secrets");
    reg.create(
        &secrets,
        "default",
        json!({"metadata": {"name": "plain"}, "data": {"k": "dg=="}}),
        &wopts("t"),
    )
    .await
    .unwrap();
    reg.create(
        &secrets,
        "default",
        json!({"metadata": {"name": "tls"}, "type": "kubernetes.io/tls",
               "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}}),
        &wopts("t"),
    )
    .await
    .unwrap();
    let pick = |s: &'static str| {
        let reg = reg.clone();
        let secrets = secrets.clone();
        async move {
            names(
                &reg.list(&secrets, "default", &fields(s))
                    .await
                    .unwrap()
                    .items,
            )
        }
    };
    assert_eq!(pick("type=Opaque").await, vec!["plain"]);
    assert_eq!(pick("type=kubernetes.io/tls").await, vec!["tls"]);
    assert_eq!(pick("type!=Opaque").await, vec!["tls"]);
}

#[tokio::test]
async fn unsupported_field_selector_is_bad_request() {
    let reg = setup().await;
    let e = reg
        .list(&configmaps(&reg), "default", &fields("data.k=v"))
        .await
        .err()
        .expect("unsupported field");
    assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
    assert_eq!(e.message, "field label not supported: data.k");
    // A pod-only field is not valid on configmaps.
    let e = reg
        .list(&configmaps(&reg), "default", &fields("spec.nodeName=x"))
        .await
        .err()
        .expect("unsupported field");
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn paging_is_complete_and_ordered() {
    let reg = setup().await;
    create_namespace(&reg, "other").await;
    let cms = configmaps(&reg);
    let mut want = vec![];
    for i in (0..7).rev() {
        let n = format!("cm-{i}");
        reg.create(&cms, "default", configmap(&n), &wopts("t"))
            .await
            .unwrap();
        want.push(format!("default/{n}"));
    }
    reg.create(&cms, "other", configmap("zz"), &wopts("t"))
        .await
        .unwrap();
    want.push("other/zz".into());
    want.sort();

    let mut got = vec![];
    let mut token = None;
    let mut first_rv = None;
    let mut pages = 0;
    loop {
        let page = reg
            .list(
                &cms,
                "",
                &ListOptions {
                    limit: 3,
                    continue_token: token.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        // Every chunk reports the revision of the first one.
        let frv = *first_rv.get_or_insert(page.resource_version);
        assert_eq!(page.resource_version, frv);
        if pages == 1 {
            assert_eq!(page.remaining, Some(5));
        }
        got.extend(
            page.items
                .iter()
                .map(|o| format!("{}/{}", o.namespace, o.name)),
        );
        match page.continue_token {
            Some(t) => token = Some(t),
            None => break,
        }
        assert!(pages < 10, "paging never ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(got, want);
}

#[tokio::test]
async fn continued_list_sees_the_first_chunks_snapshot() {
    let reg = setup().await;
    let cms = configmaps(&reg);
    for n in ["a", "b", "c", "d"] {
        reg.create(&cms, "default", configmap(n), &wopts("t"))
            .await
            .unwrap();
    }
    let first = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names(&first.items), vec!["a", "b"]);
    // Changes after the first chunk are not seen by the rest.
    reg.delete(&cms, "default", "d", &dopts()).await.unwrap();
    reg.create(&cms, "default", configmap("e"), &wopts("t"))
        .await
        .unwrap();
    let rest = reg
        .list(
            &cms,
            "default",
            &ListOptions {
                limit: 2,
                continue_token: first.continue_token,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names(&rest.items), vec!["c", "d"]);
}
