//! `meshspan check`, `what-if` and `graph` over the examples: exit codes, JSON shape, every
//! diagnostic code on the broken example.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn meshspan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .output()
        .expect("run meshspan")
}

fn example(name: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    p.to_str().expect("utf-8 path").to_owned()
}

/// 2026-01-01: inside the validity of the broken example's CA material.
const NOW: &str = "1767225600";

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn check_broken_example_exits_1_with_every_code() {
    let out = meshspan(&[
        "check",
        &example("broken.yaml"),
        "--output",
        "json",
        "--now",
        NOW,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let obj = v.as_object().expect("an object");
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["diagnostics", "topology"]);
    let codes: BTreeSet<&str> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().expect("code"))
        .collect();
    for code in [
        "ambiguous-network-cidr",
        "api-server-unreachable",
        "cidr-overlap",
        "control-plane-not-primary",
        "control-plane-unreachable",
        "degenerate-link",
        "duplicate-cluster",
        "duplicate-service",
        "gateway-shared-by-networks",
        "gateway-unresolved",
        "invalid-meshnetworks",
        "network-without-gateway",
        "registry-in-several-networks",
        "remote-endpoint-without-sidecar",
        "service-not-replicated",
        "trust-root-mismatch",
        "trust-unverified",
        "unknown-cluster",
        "unknown-network",
    ] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    let d = &v["diagnostics"][0];
    for key in [
        "code",
        "severity",
        "message",
        "subjects",
        "explanation",
        "fix",
    ] {
        assert!(d.get(key).is_some(), "{key}");
    }
    assert_eq!(v["topology"]["kind"], "mixed");
}

#[test]
fn check_text_shows_why_and_fix() {
    let out = meshspan(&["check", &example("broken.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with("mesh broken ("), "{text}");
    assert!(text.contains("error[cidr-overlap]: pod CIDR 10.10.0.0/16 of cluster east overlaps pod CIDR 10.10.128.0/17 of cluster east-vpn\n"));
    assert!(text.contains("  why: They share 10.10.128.0/17 (32768 addresses)"));
    assert!(text.contains("  fix: "));
}

#[test]
fn check_valid_examples_exit_0() {
    for name in [
        "split-horizon.yaml",
        "replicated-control-planes.yaml",
        "vpn.yaml",
        "mixed.yaml",
    ] {
        let out = meshspan(&["check", &example(name), "-o", "json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = json(&out);
        assert!(
            v["diagnostics"]
                .as_array()
                .expect("diagnostics")
                .iter()
                .all(|d| d["severity"] == "info"),
            "{name}"
        );
    }
    assert_eq!(
        meshspan(&["check", "--example"]).status.code(),
        Some(0),
        "built-in example"
    );
}

#[test]
fn check_without_a_document_is_a_usage_error() {
    // `meshspan check $UNSET` must not silently check the built-in example.
    let out = meshspan(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--example"));
}

#[test]
fn check_json_on_an_unreadable_document_prints_a_json_error() {
    let out = meshspan(&["check", "/nonexistent/mesh.yaml", "-o", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let message = v["error"]["message"].as_str().expect("error.message");
    assert!(
        message.contains("/nonexistent/mesh.yaml: cannot read"),
        "{message}"
    );
}

#[test]
fn check_unreadable_or_unparsable_exits_2() {
    let out = meshspan(&["check", "/nonexistent/mesh.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let bad =
        std::env::temp_dir().join(format!("meshspan-it-topology-{}.yaml", std::process::id()));
    std::fs::write(
        &bad,
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec: {clusterz: []}\n",
    )
    .expect("write temp file");
    let out = meshspan(&["check", bad.to_str().expect("utf-8")]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clusterz"));
}

#[test]
fn what_if_reports_lost_endpoints_and_exit_codes() {
    // network1's gateway exposes istiod to cluster2: without it cluster2's clients lose everything.
    let out = meshspan(&[
        "what-if",
        &example("split-horizon.yaml"),
        "--fail",
        "gateway:network1/192.0.2.10",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(
        v["failure"],
        serde_json::json!({"kind": "gatewayDown", "network": "network1", "address": "192.0.2.10"})
    );
    let impacts = v["impacts"].as_array().expect("impacts");
    assert!(
        impacts
            .iter()
            .all(|i| i["clientNetwork"] == "network2" && i["unreachable"] == true),
        "{impacts:?}"
    );
    assert!(!impacts.is_empty());
    assert!(
        v["newDiagnostics"]
            .as_array()
            .expect("newDiagnostics")
            .iter()
            .any(|d| d["code"] == "control-plane-unreachable")
    );
    // Removing one of network2's three gateway addresses loses nothing.
    let out = meshspan(&[
        "what-if",
        &example("split-horizon.yaml"),
        "--fail",
        "gateway:network2/198.51.100.7",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no client loses an endpoint"));
}

#[test]
fn what_if_failure_naming_nothing_exits_2() {
    let out = meshspan(&[
        "what-if",
        &example("split-horizon.yaml"),
        "--fail",
        "cluster:nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no cluster nope in this mesh"));
}

#[test]
fn what_if_malformed_failure_exits_2() {
    for bad in ["gateway:network1", "link:a", "router:x", "cluster:"] {
        let out = meshspan(&["what-if", &example("split-horizon.yaml"), "--fail", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--fail"),
            "{bad}"
        );
    }
}

#[test]
fn graph_prints_deterministic_dot_with_problems_in_red() {
    let a = meshspan(&["graph", &example("broken.yaml")]);
    let b = meshspan(&["graph", &example("broken.yaml")]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    let dot = String::from_utf8(a.stdout).expect("utf-8");
    assert!(dot.starts_with("digraph mesh {"));
    assert!(dot.contains("color=red"));
    let ok = String::from_utf8(meshspan(&["graph", "--example"]).stdout).expect("utf-8");
    assert!(
        ok.contains("subgraph cluster_") && !ok.contains("red"),
        "{ok}"
    );
}

#[test]
fn global_unknown_cluster_is_a_usage_error_naming_the_clusters() {
    // One convention: 0 ok, 1 findings, 2 usage or unreadable input.
    let out = meshspan(&["global", "--example", "--cluster", "east"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("its clusters: cluster1, cluster2"),
        "{stderr}"
    );
    let out = meshspan(&[
        "global",
        "--example",
        "replicated-control-planes",
        "--cluster",
        "east",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn check_text_counts_in_words_and_explains_address_spaces() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join("one-of-each.yaml");
    std::fs::write(
        &file,
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: one}\nspec:\n  clusters: [{name: a, network: n1}]\n  services: [{name: s, namespace: ns}]\n",
    )
    .unwrap();
    let out = meshspan(&["check", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 cluster, 1 network, 1 service\n"), "{text}");
    assert!(
        text.contains(
            "flat address space 0 (its own: other networks reach it only through gateways)"
        ),
        "{text}"
    );
    let out = meshspan(&["check", "--example", "vpn"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": pods reach each other by IP)"), "{text}");
    assert!(
        !text.contains(" services,") || text.contains("s services"),
        "{text}"
    );
}

#[test]
fn what_if_event_exit_codes_and_profiles() {
    let path = std::env::temp_dir().join(format!("meshspan-event-{}.yaml", std::process::id()));
    std::fs::write(
        &path,
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: e}\nspec:\n  clusters:\n  - {name: east}\n  - {name: west, controlPlane: east}\n  services:\n  - {name: foo, namespace: ns, ports: [{port: 80}], endpoints: [{cluster: west, address: 10.2.0.1}]}\n",
    )
    .expect("write");
    let file = path.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meshspan"))
            .args(args)
            .output()
            .expect("run meshspan")
    };
    let modern = run(&["what-if", file, "--event", "secret-rotated:west"]);
    assert_eq!(
        modern.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&modern.stdout)
    );
    let old = run(&[
        "what-if",
        file,
        "--event",
        "secret-rotated:west",
        "--semantics",
        "istio-pre-61044",
    ]);
    assert_eq!(old.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&old.stdout).contains("until istiod restarts"));
    let json = run(&[
        "what-if",
        file,
        "--event",
        "secret-deleted:west",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["phases"][0]["impacts"][0]["unreachable"], true, "{v}");
    assert_eq!(
        run(&["what-if", file, "--event", "secret-deleted:east"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["what-if", file, "--event", "rotated:west"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["what-if", file]).status.code(), Some(2));
    let _ = std::fs::remove_file(path);
}
