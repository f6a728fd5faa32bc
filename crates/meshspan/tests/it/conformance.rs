//! `meshspan conformance eval|check` against the shared case file and small hand-made files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn meshspan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .output()
        .expect("run meshspan")
}

/// `../shared/conformance/istio-eds-cases.json` relative to the workspace root.
fn shared_cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/istio-eds-cases.json")
}

fn temp_file(name: &str, content: &Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("meshspan-it-{}-{name}.json", std::process::id()));
    std::fs::write(&path, content.to_string()).expect("write temp file");
    path
}

#[test]
fn every_required_case_of_the_shared_file_passes() {
    let path = shared_cases();
    if !path.exists() {
        eprintln!("skipped: {} does not exist", path.display());
        return;
    }
    let out = meshspan(&["conformance", "check", path.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "conformance check failed:\n{}",
        stdout
            .lines()
            .filter(|l| l.contains("FAIL") || l.contains("unsupported"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("every case of the required profiles passes"));
}

/// A two-network case: a local endpoint and a remote one behind one gateway (scale 1).
fn small_case(expected_weight: u64) -> Value {
    json!({
        "id": "it/two-networks",
        "kind": "eds",
        "semantics": "istio-modern",
        "expected_order": "exact",
        "input": {
            "mesh_networks": {"networks": {"n2": {"gateways": [{"address": "192.0.2.2", "port": 15443}]}}},
            "service": {"hostname": "foo.ns.svc.cluster.local", "namespace": "ns", "port": 80, "port_name": "http"},
            "endpoints": [
                {"addresses": ["10.0.0.1"], "port": 8080, "service_port_name": "http", "network": "n1",
                 "cluster": "c1", "locality": "r/z", "labels": {}, "tls_mode": "istio", "hbone_tunnel": false, "lb_weight": 0},
                {"addresses": ["10.1.0.1"], "port": 8080, "service_port_name": "http", "network": "n2",
                 "cluster": "c2", "locality": "r/z", "labels": {}, "tls_mode": "istio", "hbone_tunnel": false, "lb_weight": 3}
            ],
            "proxy": {"type": "sidecar", "network": "n1", "cluster": "c1", "ip_family": "ipv4"}
        },
        "expected": {"localities": [{"locality": "r/z", "weight": 1 + expected_weight, "endpoints": [
            {"address": "10.0.0.1", "port": 8080, "weight": 1},
            {"address": "192.0.2.2", "port": 15443, "weight": expected_weight}
        ]}]},
        "expected_other_variants": {"istio-1.1.0": {"expected_order": "unordered", "expected": {"localities": [
            {"locality": "r/z", "weight": 2, "endpoints": [
                {"address": "192.0.2.2", "port": 15443, "weight": 1},
                {"address": "10.0.0.1", "port": 8080, "weight": 1}
            ]}
        ]}}}
    })
}

#[test]
fn eval_prints_actual_results_without_reading_expected_and_flags_unknown_kinds() {
    let mut case = small_case(3);
    case.as_object_mut().expect("object").remove("expected");
    let file = temp_file(
        "eval",
        &json!({"format": {}, "cases": [case, {"id": "x", "kind": "nonsense", "input": {}}]}),
    );
    let out = meshspan(&["conformance", "eval", file.to_str().expect("utf-8")]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("eval prints JSON");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results[0]["id"], "it/two-networks");
    let eps = &results[0]["actual"]["localities"][0]["endpoints"];
    assert_eq!(eps[1]["address"], "192.0.2.2");
    assert_eq!(eps[1]["kind"], "gateway");
    assert_eq!(eps[1]["weight"], 3);
    assert_eq!(results[0]["actual"]["localities"][0]["weight"], 4);
    // the 1.1.0 variant: the local endpoint weight 1, the gateway the endpoint count (1), the
    // locality weight the number of LbEndpoints (H1.1)
    let v110 = &results[0]["actual_other_variants"]["istio-1.1.0"]["localities"][0];
    assert_eq!(v110["weight"], 2);
    assert_eq!(results[1]["id"], "x");
    assert!(
        results[1]["unsupported"]
            .as_str()
            .expect("why")
            .contains("nonsense")
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn check_exits_1_on_a_mismatch_and_0_when_all_pass() {
    let good = temp_file("good", &json!({"cases": [small_case(3)]}));
    let out = meshspan(&["conformance", "check", good.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let bad = temp_file("bad", &json!({"cases": [small_case(4)]}));
    let out = meshspan(&["conformance", "check", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL"));
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(bad);
}

#[test]
fn unreadable_files_exit_2() {
    let out = meshspan(&["conformance", "eval", "/nonexistent/cases.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!out.stderr.is_empty());
    let not_cases = temp_file("notcases", &json!({"format": {}}));
    let out = meshspan(&["conformance", "check", not_cases.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_file(not_cases);
}

#[test]
fn odd_names_unknown_variants_and_invalid_meshnetworks() {
    let mut case = small_case(3);
    // ids the id types reject still work (they only matter by equality)
    case["input"]["endpoints"][1]["cluster"] = json!("cluster_2");
    case["input"]["endpoints"][1]["network"] = json!("n2/west");
    case["input"]["mesh_networks"] =
        json!({"networks": {"n2/west": {"gateways": [{"address": "192.0.2.2", "port": 15443}]}}});
    case["expected_other_variants"]["istio-1.11..1.29"] =
        json!({"expected_order": "exact", "expected": {"localities": []}});
    case["expected_other_variants"]
        .as_object_mut()
        .expect("object")
        .remove("istio-1.1.0");
    // rule P2: an invalid MeshNetworks (port 0) is rejected as a whole: no gateway, so the remote
    // endpoint is sent directly with its own weight
    let mut invalid = small_case(3);
    invalid["id"] = json!("it/invalid-meshnetworks");
    invalid["input"]["mesh_networks"]["networks"]["n2"]["gateways"][0]["port"] = json!(0);
    invalid["expected"] = json!({"localities": [{"locality": "r/z", "weight": 4, "endpoints": [
        {"address": "10.0.0.1", "port": 8080, "weight": 1},
        {"address": "10.1.0.1", "port": 8080, "weight": 3}
    ]}]});
    invalid
        .as_object_mut()
        .expect("object")
        .remove("expected_other_variants");
    let file = temp_file("odd", &json!({"cases": [case, invalid]}));
    let out = meshspan(&["conformance", "check", file.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("istio-1.11..1.29  unsupported"), "{text}");
    assert_eq!(text.matches("  pass").count(), 2, "{text}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn requested_network_view_empty_means_unset() {
    let mut empty = small_case(3);
    empty["input"]["proxy"]["requested_network_view"] = json!([]);
    let mut own = small_case(3);
    own["id"] = json!("it/own-view");
    own["input"]["proxy"]["requested_network_view"] = json!(["n1"]);
    own["expected"] = json!({"localities": [{"locality": "r/z", "weight": 1, "endpoints": [
        {"address": "10.0.0.1", "port": 8080, "weight": 1}
    ]}]});
    for c in [&mut empty, &mut own] {
        c.as_object_mut()
            .expect("object")
            .remove("expected_other_variants");
    }
    let file = temp_file("views", &json!({"cases": [empty, own]}));
    let out = meshspan(&["conformance", "check", file.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn every_case_of_the_shared_scope_file_passes_and_the_pre_61044_variant_too() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/istio-scope-cases.json");
    if !path.exists() {
        eprintln!("skipped: {} does not exist", path.display());
        return;
    }
    let out = meshspan(&["conformance", "check", path.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("every case of the required profiles passes"));
    assert!(
        stdout.contains("istio-pre-61044 (optional): 1 passed, 0 failed"),
        "{stdout}"
    );
}

#[test]
fn scope_cases_compare_sets_and_every_lifecycle_step() {
    let scope_case = |expected: Value| {
        json!({"id": "it/scope", "kind": "scope_eds", "semantics": "istio-modern",
            "input": {"proxy": {"cluster": "c1"}, "domain_suffix": "cluster.local",
                "mesh_config": {"serviceSettings": [{"settings": {"clusterLocal": true}, "hosts": ["b.echo.svc.cluster.local"]}]},
                "service": {"hostname": "b.echo.svc.cluster.local", "namespace": "echo"},
                "shards": [
                    {"cluster": "c1", "endpoints": [{"address": "10.1.0.2", "port": 80}, {"address": "10.1.0.1", "port": 80}]},
                    {"cluster": "c2", "endpoints": [{"address": "10.2.0.1", "port": 80}]}]},
            "expected": expected})
    };
    let good = scope_case(
        json!({"clusters": ["c1"], "addresses": ["10.1.0.1", "10.1.0.2"],
        "cluster_local": true, "service_exists": true}),
    );
    let bad = scope_case(
        json!({"clusters": ["c1", "c2"], "addresses": ["10.1.0.1", "10.1.0.2", "10.2.0.1"],
        "cluster_local": true, "service_exists": true}),
    );
    let lifecycle = |ready: bool| {
        json!({"id": "it/lifecycle", "kind": "lifecycle", "semantics": "istio-modern",
            "input": {"config_cluster": "config", "system_namespace": "istio-system",
                "remote_content": {"west": ["a.ns.svc.cluster.local"]},
                "events": [{"type": "secret_added", "secret": "s", "data": {"west": "k"}},
                           {"type": "cluster_synced", "cluster": "west"}]},
            "expected": {"initial": {"shards_present": [], "ready": true}, "steps": [
                {"shards_present": [], "ready": ready},
                {"shards_present": ["west/a.ns.svc.cluster.local"], "ready": true}]}})
    };
    let file = temp_file(
        "scope",
        &json!({"cases": [good, bad, lifecycle(false), lifecycle(true)]}),
    );
    let out = meshspan(&["conformance", "check", file.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("2 passed, 2 failed"), "{stdout}");
    assert!(
        stdout.contains("clusters: [\"c1\",\"c2\"] expected, [\"c1\"] got"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/steps/0.ready: true expected, false got"),
        "{stdout}"
    );
    let _ = std::fs::remove_file(file);
}
