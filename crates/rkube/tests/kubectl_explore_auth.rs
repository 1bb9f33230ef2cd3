//! Exploratory comparison of identity and access against upstream: RBAC
//! enforcement for a user without bindings, impersonation (`--as`),
//! ServiceAccount tokens (`kubectl create token`), the CSR approval flow, and
//! the RBAC roles upstream bootstraps.

mod common;
use common::{Server, row};
use std::path::PathBuf;

/// A server that also accepts the static token `bobtoken` for user `bob`
/// (groups `devs`), and a kubeconfig for bob.
fn server_with_bob() -> (Server, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tokens = tmp.path().join("tokens.csv");
    std::fs::write(&tokens, "bobtoken,bob,uid-bob,\"devs\"\n").expect("tokens");
    let s = Server::start_in(
        &tmp.path().join("data"),
        0,
        &["--token-auth-file", tokens.to_str().unwrap()],
    );
    let cfg = token_kubeconfig(&s, "bob", "bobtoken");
    (s, cfg, tmp)
}

/// A kubeconfig that authenticates with a bearer token only.
fn token_kubeconfig(s: &Server, user: &str, token: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    \
         certificate-authority-data: {}\nusers:\n- name: {user}\n  user:\n    token: {token}\n\
         contexts:\n- name: {user}\n  context: {{cluster: c, user: {user}}}\n\
         current-context: {user}\n",
        s.url,
        s.ca_data()
    );
    s.file(&format!("{user}.kubeconfig"), &text)
}

/// A user without any binding is forbidden, with upstream's message; a
/// RoleBinding grants exactly what its Role says.
#[test]
fn rbac_denies_a_user_without_bindings() {
    let (s, bob, _tmp) = server_with_bob();
    let bob = bob.to_str().unwrap();
    let out = s.kubectl(&["--kubeconfig", bob, "auth", "whoami"]).ok();
    assert!(out.stdout.contains("bob"), "{}", out.stdout);

    let out = s.kubectl(&["--kubeconfig", bob, "get", "pods"]).fails();
    assert!(
        out.stderr.contains(
            r#"Error from server (Forbidden): pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default""#
        ),
        "{}",
        out.stderr
    );
    let out = s
        .kubectl(&["--kubeconfig", bob, "create", "cm", "x"])
        .fails();
    assert!(out.stderr.contains("Forbidden"), "{}", out.stderr);
    let out = s
        .kubectl(&["--kubeconfig", bob, "auth", "can-i", "list", "pods"])
        .fails();
    assert_eq!(out.stdout.trim(), "no");

    s.kubectl(&[
        "create",
        "role",
        "reader",
        "--verb=get,list",
        "--resource=pods",
    ])
    .ok();
    s.kubectl(&[
        "create",
        "rolebinding",
        "bob-reads",
        "--role=reader",
        "--user=bob",
    ])
    .ok();
    s.kubectl(&["--kubeconfig", bob, "get", "pods"]).ok();
    let out = s
        .kubectl(&["--kubeconfig", bob, "get", "pods", "-n", "kube-system"])
        .fails();
    assert!(out.stderr.contains("Forbidden"), "{}", out.stderr);
    let out = s
        .kubectl(&["--kubeconfig", bob, "auth", "can-i", "delete", "pods"])
        .fails();
    assert_eq!(out.stdout.trim(), "no");
}

/// `--as` impersonates: the request is authorized as the impersonated user
/// (the admin is allowed to impersonate through system:masters).
#[test]
fn impersonation_with_as() {
    let s = Server::start();
    let out = s.kubectl(&["auth", "whoami", "--as=bob"]).ok();
    let r = row(&out.stdout, "Username").expect("Username row");
    assert_eq!(r[1], "bob", "{}", out.stdout);
    assert!(!out.stdout.contains("system:masters"), "{}", out.stdout);

    let out = s.kubectl(&["get", "secrets", "--as=bob"]).fails();
    assert!(
        out.stderr.contains(
            r#"secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "default""#
        ),
        "{}",
        out.stderr
    );
    let out = s
        .kubectl(&["auth", "can-i", "delete", "secrets", "--as=bob"])
        .fails();
    assert_eq!(out.stdout.trim(), "no");
    // Group impersonation grants what the group is bound to.
    s.kubectl(&["get", "secrets", "--as=bob", "--as-group=system:masters"])
        .ok();
}

/// `kubectl create token` (the serviceaccounts/token subresource) returns a
/// JWT the server accepts as the service account.
#[test]
fn create_token_for_a_service_account() {
    let s = Server::start();
    s.kubectl(&["create", "serviceaccount", "robot"]).ok();
    let out = s.kubectl(&["create", "token", "robot"]).ok();
    let token = out.stdout.trim().to_string();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    let cfg = token_kubeconfig(&s, "robot", &token);
    let out = s
        .kubectl(&["--kubeconfig", cfg.to_str().unwrap(), "auth", "whoami"])
        .ok();
    assert!(
        out.stdout.contains("system:serviceaccount:default:robot"),
        "{}",
        out.stdout
    );
    s.kubectl(&["create", "token", "nobody"]).fails();
}

/// CSRs record who asked (REQUESTOR), and `kubectl certificate approve` goes
/// through the approval subresource.
#[test]
fn csr_requestor_and_approval() {
    let s = Server::start();
    let key = s.data_dir.join("alice.key");
    let csr = s.data_dir.join("alice.csr");
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=alice/O=dev",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .output()
        .expect("openssl");
    assert!(st.status.success());
    let pem = std::fs::read(&csr).expect("csr");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
    let doc = format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\n\
         metadata: {{name: alice}}\nspec:\n  request: {b64}\n  \
         signerName: kubernetes.io/kube-apiserver-client\n  usages: [client auth]\n"
    );
    s.kubectl_stdin(&["create", "-f", "-"], Some(&doc)).ok();
    let out = s
        .kubectl(&["get", "csr", "alice", "-o", "jsonpath={.spec.username}"])
        .ok();
    assert_eq!(out.stdout, "system:admin");
    let out = s.kubectl(&["get", "csr", "alice"]).ok();
    let r = row(&out.stdout, "alice").expect("row");
    assert!(r.contains(&"system:admin".to_string()), "{}", out.stdout);

    let out = s.kubectl(&["certificate", "approve", "alice"]).ok();
    assert_eq!(
        out.stdout.trim(),
        "certificatesigningrequest.certificates.k8s.io/alice approved"
    );
    let out = s
        .kubectl(&[
            "get",
            "csr",
            "alice",
            "-o",
            "jsonpath={.status.conditions[0].type}",
        ])
        .ok();
    assert_eq!(out.stdout, "Approved");
}

/// The roles and bindings upstream's RBAC post-start hook creates, which
/// `kubectl create rolebinding --clusterrole=view` and friends rely on.
#[test]
fn bootstrap_cluster_roles() {
    let s = Server::start();
    let out = s.kubectl(&["get", "clusterroles", "-o", "name"]).ok();
    for r in ["cluster-admin", "admin", "edit", "view", "system:discovery"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l == format!("clusterrole.rbac.authorization.k8s.io/{r}")),
            "missing {r}:\n{}",
            out.stdout
        );
    }
    let out = s
        .kubectl(&[
            "get",
            "clusterrolebinding",
            "cluster-admin",
            "-o",
            "jsonpath={.roleRef.name} {.subjects[0].name}",
        ])
        .ok();
    assert_eq!(out.stdout, "cluster-admin system:masters");
}
