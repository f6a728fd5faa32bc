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

/// Writes `text` to `name` in the tests' temporary directory; its path.
fn temp_file(name: &str, text: &str) -> String {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&file, text).expect("write temp file");
    file.to_str().expect("utf-8 path").to_owned()
}

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
        "failover.yaml",
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
    // network1's gateway exposes istiod to cluster2: without it cluster2's proxies keep their
    // last config; they lose cluster1's endpoints (reached through that gateway), not their own.
    let out = meshspan(&[
        "what-if",
        &example("split-horizon.yaml"),
        "--fail",
        "gateway:network1/192.0.2.10",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(
        v["failure"],
        serde_json::json!({"kind": "gatewayDown", "network": "network1", "address": "192.0.2.10"})
    );
    assert_eq!(v["lastConfig"][0]["clientNetwork"], "network2", "{v}");
    let impacts = v["impacts"].as_array().expect("impacts");
    assert_eq!(impacts.len(), 1, "{impacts:?}");
    assert_eq!(impacts[0]["service"], "reviews.bookinfo");
    assert_eq!(impacts[0]["clientNetwork"], "network2");
    assert_eq!(impacts[0]["lastConfig"], true);
    assert_eq!(impacts[0]["remaining"], 2);
    assert_eq!(
        impacts[0]["lost"],
        serde_json::json!([{
            "cluster": "cluster1",
            "reason": {"kind": "noGateway", "network": "network1"},
            "addresses": ["10.10.1.5", "10.10.1.6"],
        }])
    );
    assert!(
        v["newDiagnostics"]
            .as_array()
            .expect("newDiagnostics")
            .iter()
            .any(|d| d["code"] == "control-plane-unreachable")
    );
    // Without cluster2, ratings (only there) becomes unreachable from network1: exit 1, and
    // the text says why per line.
    let what_if =
        |fail: &str| meshspan(&["what-if", &example("split-horizon.yaml"), "--fail", fail]);
    let out = what_if("cluster:cluster2");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("clients on network network1 -> ratings.bookinfo: lose 1 endpoint, 0 left — UNREACHABLE\n    10.20.4.1 (cluster2): cluster cluster2 is gone\n"),
        "{text}"
    );
    // Removing one of network2's three gateway addresses loses nothing.
    let out = what_if("gateway:network2/198.51.100.7");
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
fn counts_in_output_are_singular_or_plural_words() {
    let file = temp_file(
        "one-error.yaml",
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: one}\nspec:\n  clusters: [{name: a, network: n1}, {name: a, network: n1}]\n",
    );
    let out = meshspan(&["check", &file]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n1 error, 0 warnings, 0 info\n"), "{text}");
    let out = meshspan(&["check", "--example", "broken", "--now", "1767225600"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" errors, ") && text.contains(" warnings, "),
        "{text}"
    );
    assert!(!text.contains("(s)"), "{text}");
    let data = |f: &str| {
        format!(
            "{}/../mesh-proxy/tests/data/{f}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    let out = meshspan(&[
        "diff",
        &data("split-horizon.loopback.yaml"),
        &data("split-horizon-cluster1.config_dump.json"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\n3 clusters compared, "), "{text}");
}

#[test]
fn global_never_writes_an_entry_istio_refuses() {
    let text = std::fs::read_to_string(example("replicated-control-planes.yaml"))
        .unwrap()
        .replace(
            "ports: [{name: http, port: 8000, targetPort: 80, protocol: HTTP}]",
            "ports: [{name: http_alt, port: 8000, targetPort: 80, protocol: HTTP}]",
        );
    assert!(text.contains("http_alt"));
    let file = temp_file("refused-ports.yaml", &text);
    let out = meshspan(&["global", &file, "--cluster", "east"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("http_alt") && !stdout.contains("kind: ServiceEntry"),
        "{stdout}"
    );
    assert!(stdout.contains("kind: DestinationRule"), "{stdout}");
    assert!(
        stderr.contains("error: httpbin.bar is left out (no ServiceEntry for httpbin.bar.global): port 8000: port name \"http_alt\""),
        "{stderr}"
    );
    // check flags it too.
    let out = meshspan(&["check", &file, "-o", "json"]);
    let v = json(&out);
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "port-name-invalid"),
        "{v}"
    );
}

/// The YAML documents of `text` as JSON values.
fn yaml_documents(text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).unwrap_or_else(|e| panic!("{e}:\n{d}")))
        .collect()
}

#[test]
fn global_dns_output_is_safe_to_apply_and_says_what_it_replaces() {
    let replicated = example("replicated-control-planes.yaml");
    let run = |extra: &[&str]| {
        let mut args = vec!["global", replicated.as_str(), "--cluster", "east", "--dns"];
        args.extend_from_slice(extra);
        meshspan(&args)
    };
    // Default: objects meshspan owns, and the Corefile block as comments; no ConfigMap of the
    // cluster's is touched, every object is in istio-system (which exists wherever istiod runs).
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let docs = yaml_documents(&text);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ServiceEntry", "DestinationRule"], "{text}");
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"] == "istio-system"),
        "{text}"
    );
    assert_eq!(docs[0]["metadata"]["name"], "httpbin.bar.global");
    assert_eq!(docs[0]["spec"]["exportTo"], serde_json::json!(["*"]));
    assert!(
        text.contains("# Add this server block to the Corefile of ConfigMap kube-system/coredns\n"),
        "{text}"
    );
    assert!(text.contains("\n#   global:53 {\n"), "{text}");
    // The zone holds the names of east's entries, never east's own service (sleep.foo).
    assert!(
        text.contains(" httpbin.bar.global\n") && !text.contains("sleep.foo.global"),
        "{text}"
    );
    assert!(!text.contains("REPLACES"), "{text}");

    // A complete coredns ConfigMap only when asked, saying it replaces the cluster's.
    let out = run(&["--dns-format", "coredns-configmap"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("---\n# REPLACES ConfigMap kube-system/coredns: "),
        "{text}"
    );
    let docs = yaml_documents(&text);
    let coredns = docs.last().unwrap();
    assert_eq!(coredns["metadata"]["name"], "coredns");
    let corefile = coredns["data"]["Corefile"].as_str().unwrap();
    assert!(
        corefile.starts_with(".:53 {") && corefile.contains("global:53 {"),
        "{corefile}"
    );
    let out = run(&["--dns-format", "coredns-configmap", "-o", "json"]);
    assert_eq!(
        json(&out)["dns"]["replaces"],
        serde_json::json!(["kube-system/coredns"])
    );

    // kube-dns can only stub to a server: without one it is a usage error.
    let out = run(&["--dns-format", "kube-dns"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --dns-server"));
    let out = run(&["--dns-format", "kube-dns", "--dns-server", "10.96.0.53"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let docs = yaml_documents(&text);
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "httpbin.bar.global",
            "istio-multicluster-destinationrule",
            "global-dns",
            "kube-dns"
        ]
    );
    assert!(
        text.contains("---\n# REPLACES ConfigMap kube-system/kube-dns: "),
        "{text}"
    );
    assert!(text.contains("---\n# New: "), "{text}");
}

/// Locality failover (examples/failover.yaml): per client locality and service, the priority
/// that serves once a zone, a cluster or a gateway is down.
#[test]
fn what_if_failover_reports_the_serving_priority_per_client_locality() {
    let mesh = example("failover.yaml");
    let out = meshspan(&["what-if", &mesh, "--fail", "locality:us-east/us-east-1a"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("down with it: clients in us-east/us-east-1a (east-1)"),
        "{text}"
    );
    assert!(
        text.contains("clients in us-east/us-east-1b (east-2) -> ratings.bookinfo (outbound|9080||ratings.bookinfo.svc.cluster.local): priority 0 lost (1 of 1); fails over to priority 1: gateway 198.51.100.20:15443 for 2 endpoints in us-west/us-west-2a"),
        "{text}"
    );
    // cluster:<name> is the network analysis unless --failover asks for this one
    let plain = meshspan(&["what-if", &mesh, "--fail", "cluster:west"]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("clients on network net-east"));
    let out = meshspan(&[
        "what-if",
        &mesh,
        "--fail",
        "cluster:west",
        "--failover",
        "-o",
        "json",
    ]);
    let v = json(&out);
    assert_eq!(v["outage"], "cluster:west");
    let impacts = v["impacts"].as_array().expect("impacts");
    assert!(impacts.iter().all(|i| i["client"]["cluster"] != "west"));
    assert!(
        impacts
            .iter()
            .any(|i| i["servedBefore"] == 0 && i["serving"] == 0)
    );
    // a service left with no live endpoint: exit 1
    let text = std::fs::read_to_string(&mesh).expect("example");
    let alone = text.replace(
        "        - {cluster: east-1, address: 10.11.2.5, labels: {app: ratings, version: v1}}\n",
        "",
    );
    let path = std::env::temp_dir().join(format!("meshspan-failover-{}.yaml", std::process::id()));
    std::fs::write(&path, alone).expect("write");
    let out = meshspan(&[
        "what-if",
        path.to_str().expect("path"),
        "--fail",
        "gateway:198.51.100.20:15443",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNREACHABLE"));
    // naming nothing: exit 2
    for bad in ["locality:eu-west", "gateway:192.0.2.99", "cluster:nope"] {
        let out = meshspan(&["what-if", &mesh, "--fail", bad, "--failover"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    let out = meshspan(&[
        "what-if",
        &mesh,
        "--fail",
        "link:net-east,net-west",
        "--failover",
    ]);
    assert_eq!(out.status.code(), Some(2));
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
