//! `twin watch` against a real `twin serve` (both the built binary): the snapshot
//! printed with --once, the token from $TWIN_TOKEN, exit code 2 for a refused token.

use std::time::Duration;

mod harness;

use harness::{temp_dir, twin};

const VIEWER: &str = "viewer-token-0123456789abcdef";

/// `twin serve` on a free port (1% of the island, the tokens file, `extra`), and the
/// address it printed.
fn serve(tokens: &std::path::Path, extra: &[&str], scheme: &str) -> (harness::Proc, String) {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--scale",
        "0.01",
        "--tokens",
        tokens.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut server = twin("serve", &args);
    server.wait_for(
        &format!("listening on {scheme}://"),
        Duration::from_secs(60),
    );
    let url = server
        .stdout()
        .split("listening on ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    (server, url)
}

#[test]
fn watch_prints_the_served_district_and_refuses_bad_tokens_with_2() {
    let dir = temp_dir("watch");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("{VIEWER} viewer wall\n")).unwrap();
    let (server, url) = serve(&tokens, &[], "http");

    let watch = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["watch", &url, "--once"])
        .env("TWIN_TOKEN", VIEWER)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&watch.stdout);
    assert!(
        watch.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&watch.stderr)
    );
    assert!(text.contains("as wall (viewer): 18 towns"), "{text}");
    assert!(text.contains("open alerts"), "{text}");
    assert!(text.contains("vital signs at"), "{text}");
    // 18 towns and 3 islands in the table.
    let rows = text
        .lines()
        .filter(|l| l.contains('/') && l.starts_with("  ") && !l.contains("alerts("))
        .count();
    assert_eq!(rows, 21, "{text}");

    // A wrong token: 2, with the server's reason, and no retrying.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["watch", &url, "--token", "not-a-token-at-all-000000"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // A town the server does not have: also 2.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["watch", &url, "--town", "Atlantis", "--once"])
        .env("TWIN_TOKEN", VIEWER)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no such town"));
    drop(server);
}

#[test]
fn watch_over_https_trusts_only_the_given_authority() {
    let dir = temp_dir("watch-tls");
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("{VIEWER} viewer wall\n")).unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    let (server, url) = serve(
        &tokens,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
        "https",
    );
    let watch = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
            .args(["watch", &url, "--once"])
            .args(extra)
            .env("TWIN_TOKEN", VIEWER)
            .output()
            .unwrap()
    };
    let ok = watch(&["--ca", cert_path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(text.contains("vital signs at"), "{text}");
    // Without the authority: refused at once (2), not retried.
    let no_ca = watch(&[]);
    assert_eq!(no_ca.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_ca.stderr).contains("--ca"));
    // Another authority: the handshake fails, and trying again would not help (2).
    let other = dir.join("other.pem");
    let rcgen::CertifiedKey { cert: o, .. } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(&other, o.pem()).unwrap();
    let bad = watch(&["--ca", other.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    drop(server);
}
