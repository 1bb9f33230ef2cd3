//! Identity-related flows compared with upstream: the CSR approval flow and
//! the requester a CSR records. (RBAC, impersonation and service-account
//! tokens come with the RBAC issue.)

mod common;
use common::{Server, row};

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
