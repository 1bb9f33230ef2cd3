//! Service address allocation: ClusterIPs from 10.43.0.0/16 (kept across
//! updates, requested ones checked), node ports from 30000–32767, headless
//! and ExternalName services.

mod common;

use common::*;
use serde_json::{Value, json};
use std::net::Ipv4Addr;

fn cluster_ip(svc: &Value) -> Ipv4Addr {
    svc["spec"]["clusterIP"]
        .as_str()
        .expect("clusterIP")
        .parse()
        .expect("an IPv4 address")
}

fn in_service_cidr(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    o[0] == 10 && o[1] == 43
}

#[tokio::test]
async fn cluster_ip_is_allocated_from_the_service_cidr() {
    let reg = setup().await;
    let svcs = services(&reg);
    let a = reg
        .create(&svcs, "default", service("a"), &wopts("t"))
        .await
        .unwrap();
    let b = reg
        .create(&svcs, "default", service("b"), &wopts("t"))
        .await
        .unwrap();
    let (ia, ib) = (cluster_ip(&a), cluster_ip(&b));
    assert!(in_service_cidr(ia) && in_service_cidr(ib), "{ia} {ib}");
    assert_ne!(ia, ib);
    assert_eq!(a["spec"]["clusterIPs"], json!([ia.to_string()]));
    assert_eq!(a["spec"]["type"], "ClusterIP");
}

#[tokio::test]
async fn cluster_ip_is_kept_across_updates() {
    let reg = setup().await;
    let svcs = services(&reg);
    let a = reg
        .create(&svcs, "default", service("a"), &wopts("t"))
        .await
        .unwrap();
    let ip = cluster_ip(&a);
    // An update that repeats the address.
    let mut u = a.clone();
    u["metadata"]["labels"] = json!({"x": "y"});
    let u = reg
        .update(&svcs, "default", "a", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(cluster_ip(&u), ip);
    // An update that leaves it out (as a client with an old manifest does).
    let mut bare = u.clone();
    bare["spec"].as_object_mut().unwrap().remove("clusterIP");
    bare["spec"].as_object_mut().unwrap().remove("clusterIPs");
    bare["spec"]["ports"][0]["port"] = 81.into();
    let bare = reg
        .update(&svcs, "default", "a", bare, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(cluster_ip(&bare), ip);
    assert_eq!(bare["spec"]["clusterIPs"], json!([ip.to_string()]));
}

#[tokio::test]
async fn requested_free_cluster_ip_is_honoured() {
    let reg = setup().await;
    let mut s = service("a");
    s["spec"]["clusterIP"] = "10.43.7.7".into();
    let out = reg
        .create(&services(&reg), "default", s, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(out["spec"]["clusterIP"], "10.43.7.7");
    assert_eq!(out["spec"]["clusterIPs"], json!(["10.43.7.7"]));
}

#[tokio::test]
async fn requested_taken_cluster_ip_is_invalid() {
    let reg = setup().await;
    let svcs = services(&reg);
    let mut a = service("a");
    a["spec"]["clusterIP"] = "10.43.0.10".into();
    reg.create(&svcs, "default", a, &wopts("t")).await.unwrap();
    let mut b = service("b");
    b["spec"]["clusterIP"] = "10.43.0.10".into();
    let e = reg
        .create(&svcs, "default", b, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(
        e.causes.iter().any(|c| c.field == "spec.clusterIPs"),
        "{e:?}"
    );
    assert!(
        e.message
            .contains("failed to allocate IP 10.43.0.10: provided IP is already allocated"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn requested_cluster_ip_outside_the_range_is_invalid() {
    let reg = setup().await;
    let mut s = service("a");
    s["spec"]["clusterIP"] = "192.168.1.1".into();
    let e = reg
        .create(&services(&reg), "default", s, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message.contains("is not in the valid range"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn ip_of_a_deleted_service_can_be_reused() {
    let reg = setup().await;
    let svcs = services(&reg);
    let mut a = service("a");
    a["spec"]["clusterIP"] = "10.43.0.20".into();
    reg.create(&svcs, "default", a, &wopts("t")).await.unwrap();
    reg.delete(&svcs, "default", "a", &dopts()).await.unwrap();
    // Give the watch cache a moment to see the delete.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut b = service("b");
    b["spec"]["clusterIP"] = "10.43.0.20".into();
    let out = reg.create(&svcs, "default", b, &wopts("t")).await.unwrap();
    assert_eq!(out["spec"]["clusterIP"], "10.43.0.20");
}

#[tokio::test]
async fn node_port_is_allocated_in_range_and_kept() {
    let reg = setup().await;
    let svcs = services(&reg);
    let mut s = service("np");
    s["spec"]["type"] = "NodePort".into();
    let out = reg.create(&svcs, "default", s, &wopts("t")).await.unwrap();
    let port = out["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .expect("nodePort");
    assert!((30000..=32767).contains(&port), "{port}");
    assert!(in_service_cidr(cluster_ip(&out)));
    let mut u = out.clone();
    u["spec"]["ports"][0]
        .as_object_mut()
        .unwrap()
        .remove("nodePort");
    u["metadata"]["labels"] = json!({"a": "b"});
    let u = reg
        .update(&svcs, "default", "np", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(u["spec"]["ports"][0]["nodePort"], port);
}

#[tokio::test]
async fn requested_taken_node_port_is_invalid() {
    let reg = setup().await;
    let svcs = services(&reg);
    let np = |name: &str| {
        let mut s = service(name);
        s["spec"]["type"] = "NodePort".into();
        s["spec"]["ports"][0]["nodePort"] = 30080.into();
        s
    };
    let a = reg
        .create(&svcs, "default", np("a"), &wopts("t"))
        .await
        .unwrap();
    assert_eq!(a["spec"]["ports"][0]["nodePort"], 30080);
    let e = reg
        .create(&svcs, "default", np("b"), &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.causes.iter().any(|c| c.field == "spec.ports[0].nodePort"),
        "{e:?}"
    );
}

#[tokio::test]
async fn node_port_outside_the_range_is_invalid() {
    let reg = setup().await;
    let mut s = service("a");
    s["spec"]["type"] = "NodePort".into();
    s["spec"]["ports"][0]["nodePort"] = 8080.into();
    let e = reg
        .create(&services(&reg), "default", s, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
}

#[tokio::test]
async fn headless_service_stays_headless() {
    let reg = setup().await;
    let svcs = services(&reg);
    let mut s = service("h");
    s["spec"]["clusterIP"] = "None".into();
    let out = reg.create(&svcs, "default", s, &wopts("t")).await.unwrap();
    assert_eq!(out["spec"]["clusterIP"], "None");
    assert_eq!(out["spec"]["clusterIPs"], json!(["None"]));
    let mut u = out;
    u["metadata"]["labels"] = json!({"a": "b"});
    let u = reg
        .update(&svcs, "default", "h", u, None, &wopts("t"))
        .await
        .unwrap();
    assert_eq!(u["spec"]["clusterIP"], "None");
}

#[tokio::test]
async fn cluster_ip_cannot_change_on_update() {
    // Upstream: spec.clusterIPs[0] is immutable once set.
    let reg = setup().await;
    let svcs = services(&reg);
    let out = reg
        .create(&svcs, "default", service("a"), &wopts("t"))
        .await
        .unwrap();
    let mut u = out;
    u["spec"]["clusterIP"] = "10.43.9.9".into();
    u["spec"]["clusterIPs"] = json!(["10.43.9.9"]);
    let e = reg
        .update(&svcs, "default", "a", u, None, &wopts("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code, 422);
}

#[tokio::test]
async fn external_name_service_gets_no_cluster_ip() {
    let reg = setup().await;
    let s = json!({"metadata": {"name": "ext"},
                   "spec": {"type": "ExternalName", "externalName": "example.com"}});
    let out = reg
        .create(&services(&reg), "default", s, &wopts("t"))
        .await
        .unwrap();
    let ip = out["spec"]["clusterIP"].as_str().unwrap_or("");
    assert!(ip.is_empty(), "{ip}");
}
