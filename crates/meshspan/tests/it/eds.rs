//! `meshspan eds` and `meshspan explain` on the built-in example (examples/split-horizon.yaml).

use std::process::{Command, Output};

use serde_json::Value;

fn meshspan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshspan"))
        .args(args)
        .output()
        .expect("run meshspan")
}

/// The JSON a command that must succeed prints.
fn succeeding_json(args: &[&str]) -> Value {
    let out = meshspan(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn eds_json_is_envoy_proto3_json_with_split_horizon_weights() {
    let out = meshspan(&[
        "eds",
        "--example",
        "--cluster",
        "cluster1",
        "--service",
        "reviews.bookinfo",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cla = &v[0];
    assert_eq!(
        cla["clusterName"],
        "outbound|9080||reviews.bookinfo.svc.cluster.local"
    );
    // eu-west1 (remote, via network2's two IPv4 gateways) sorts before us-east1 (local)
    let remote = &cla["endpoints"][0];
    assert_eq!(remote["locality"]["region"], "eu-west1");
    let gws: Vec<(&str, u64)> = remote["lbEndpoints"]
        .as_array()
        .expect("lbEndpoints")
        .iter()
        .map(|e| {
            (
                e["endpoint"]["address"]["socketAddress"]["address"]
                    .as_str()
                    .unwrap_or(""),
                e["loadBalancingWeight"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(gws, [("198.51.100.7", 5), ("198.51.100.8", 5)]);
    assert_eq!(remote["loadBalancingWeight"], 10);
}

#[test]
fn eds_pb_writes_one_cluster_and_refuses_several() {
    let out = meshspan(&[
        "eds",
        "--example",
        "--network",
        "network1",
        "--service",
        "ratings.bookinfo",
        "-o",
        "pb",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // field 1 (cluster_name), length-delimited
    assert_eq!(out.stdout.first(), Some(&0x0a));
    let name = b"outbound|9080||ratings.bookinfo.svc.cluster.local";
    assert!(out.stdout.windows(name.len()).any(|w| w == name));
    let out = meshspan(&["eds", "--example", "--network", "network1", "-o", "pb"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eds_yaml_and_bad_selections() {
    let out = meshspan(&["eds", "--example", "--cluster", "cluster2", "-o", "yaml"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("clusterName"));
    assert_eq!(
        meshspan(&["eds", "--example", "--cluster", "nope"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        meshspan(&[
            "eds",
            "--example",
            "--network",
            "network1",
            "--service",
            "missing.ns"
        ])
        .status
        .code(),
        Some(2)
    );
    // neither --network nor --cluster: a usage error
    assert!(!meshspan(&["eds"]).status.success());
}

/// `meshspan explain` of reviews.bookinfo for cluster1's proxies in the built-in example.
fn explain_reviews(extra: &[&str]) -> Output {
    let mut args = vec![
        "explain",
        "--example",
        "--cluster",
        "cluster1",
        "--service",
        "reviews.bookinfo",
    ];
    args.extend_from_slice(extra);
    meshspan(&args)
}

#[test]
fn explain_names_rules_in_text_and_json() {
    let out = explain_reviews(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("on the proxy's network (M8)"), "{text}");
    assert!(text.contains("replaced by 2 gateways (weight 9)"), "{text}");
    let out = explain_reviews(&["-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let eps = v[0]["endpoints"].as_array().expect("endpoints");
    assert_eq!(eps.len(), 4);
    assert_eq!(eps[3]["outcome"], "gateways");
    assert_eq!(eps[3]["rule"], "M11");
    assert_eq!(eps[3]["gateways"][0]["weight"], 4);
    assert_eq!(v[0]["scaleFactor"], 3);
    // One convention with check -o json: camelCase keys, text forms of enums.
    let mut all = Vec::new();
    keys(&v, &mut all);
    assert!(all.iter().all(|k| !k.contains('_')), "{all:?}");
    assert_eq!(v[0]["proxy"]["ipFamily"], "ipv4");
}

#[test]
fn eds_yaml_is_the_json_as_yaml() {
    // The YAML is streamed from the same serializer as the JSON: it must be what the JSON value,
    // serialized as YAML, would be.
    for cluster in ["cluster1", "cluster2"] {
        let json = meshspan(&["eds", "--example", "--cluster", cluster]);
        let yaml = meshspan(&["eds", "--example", "--cluster", cluster, "-o", "yaml"]);
        assert!(yaml.status.success());
        let value: Value = serde_json::from_slice(&json.stdout).expect("JSON");
        let expected = serde_saphyr::to_string(&value).expect("YAML");
        assert_eq!(String::from_utf8_lossy(&yaml.stdout), expected);
    }
}

#[test]
fn eds_names_what_is_missing_and_lists_what_exists() {
    let stderr = |args: &[&str]| {
        let out = meshspan(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = stderr(&["eds", "--example", "--network", "nowhere"]);
    assert!(
        e.contains("no network named nowhere; its networks: network1, network2"),
        "{e}"
    );
    let e = stderr(&[
        "eds",
        "--example",
        "--network",
        "network1",
        "--service",
        "nope.ns",
    ]);
    assert!(e.contains("no service nope.ns; its services: "), "{e}");
    assert!(e.contains("reviews.bookinfo"), "{e}");
    let e = stderr(&[
        "explain",
        "--example",
        "--cluster",
        "cluster1",
        "--service",
        "reviews.bookinfo",
        "--port",
        "1",
    ]);
    assert!(
        e.contains("no service port 1; the ports: reviews.bookinfo 9080"),
        "{e}"
    );
}

/// Every key of a JSON value, recursively.
fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn explain_legacy_says_dropped_and_names_the_gateways_left_out() {
    // Istio 1.1.0 cannot read network2's registryServiceName gateway: its endpoints are
    // dropped, not "replaced by 0 gateways".
    let args = |profile: &'static str, output: &'static str| {
        explain_reviews(&["--profile", profile, "-o", output])
    };
    let out = args("istio-1.1.0", "text");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("replaced by 0"), "{text}");
    assert!(
        text.contains("10.20.3.7:9080 network network2 cluster cluster2 locality \"eu-west1/eu-west1-a\": dropped: network network2 has gateways but none with an IP address, so nothing replaces it; left out: a registryServiceName gateway :15443 (unsupported before Istio 1.2: H1.5) (H1.5)\n"),
        "{text}"
    );
    let v: Value = serde_json::from_slice(&args("istio-1.1.0", "json").stdout).expect("JSON");
    let ep = &v[0]["endpoints"][2];
    assert_eq!(
        (ep["outcome"].as_str(), ep["rule"].as_str()),
        (Some("dropped"), Some("H1.5"))
    );
    assert_eq!(ep["leftOut"][0]["why"], "registryServiceName");

    // A hostname gateway answering IPv4 and IPv6: 1.1.3 uses the first answer only and says the
    // IPv6 one is left out of the split.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join("legacy-v6.yaml");
    std::fs::write(
        &file,
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: v6}\nspec:\n  clusters:\n  - {name: c1, network: n1}\n  - {name: c2, network: n2, controlPlane: c1}\n  meshNetworks:\n    networks:\n      n1: {endpoints: [{fromRegistry: c1}], gateways: [{address: 192.0.2.1, port: 15443}]}\n      n2: {endpoints: [{fromRegistry: c2}], gateways: [{address: gw.example.com, port: 15443}]}\n  services:\n  - {name: foo, namespace: ns, ports: [{name: http, port: 80}], endpoints: [{cluster: c2, address: 10.2.0.5}]}\n  dns:\n    gw.example.com: [192.0.2.7, \"2001:db8::7\"]\n",
    )
    .expect("write");
    let file = file.to_str().expect("utf-8");
    let explain = |output: &str| {
        meshspan(&[
            "explain",
            file,
            "--cluster",
            "c1",
            "--service",
            "foo.ns",
            "--profile",
            "istio-1.1.3",
            "-o",
            output,
        ])
    };
    let out = explain("text");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("replaced by 1 gateway (weight 1): 192.0.2.7:15443 (network n2) +1; left out: IPv6 gateway [2001:db8::7]:15443 (DNS answer of gw.example.com after the first, the only one used: H1.5) (H1.2)"),
        "{text}"
    );
    let out = explain("json");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        v[0]["endpoints"][0]["leftOut"],
        serde_json::json!([{"address": "2001:db8::7", "port": 15443, "why": "notFirstAnswer", "hostname": "gw.example.com"}])
    );
}

/// `examples/failover.yaml`: a DestinationRule with outlier detection and failover for reviews,
/// PreferClose for ratings. The client's locality and labels come from --locality / --label, or
/// from its cluster.
#[test]
fn eds_and_explain_show_locality_priorities_and_reasons() {
    let priorities = |extra: &[&str]| -> Vec<(String, u64)> {
        let mut args = vec![
            "eds",
            "--example",
            "failover",
            "--service",
            "reviews.bookinfo",
            "--port",
            "9080",
        ];
        args.extend_from_slice(extra);
        let v = succeeding_json(&args);
        v[0]["endpoints"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    format!(
                        "{}/{}",
                        g["locality"]["region"].as_str().unwrap_or(""),
                        g["locality"]["zone"].as_str().unwrap_or("")
                    ),
                    g["priority"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    // a sidecar of east-2 is in its cluster's locality, us-east/us-east-1b
    assert_eq!(
        priorities(&["--cluster", "east-2"]),
        [
            ("us-east/us-east-1a".into(), 1),
            ("us-east/us-east-1b".into(), 0),
            ("us-west/us-west-2a".into(), 2)
        ]
    );
    // --locality moves it; a sidecar in us-west fails over to us-east (L13: the target)
    assert_eq!(
        priorities(&["--cluster", "east-2", "--locality", "us-west/us-west-2a"]),
        [
            ("us-east/us-east-1a".into(), 1),
            ("us-east/us-east-1b".into(), 1),
            ("us-west/us-west-2a".into(), 0)
        ]
    );
    let bad = meshspan(&[
        "eds",
        "--example",
        "failover",
        "--cluster",
        "east-2",
        "--label",
        "novalue",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not key=value"));

    let out = meshspan(&[
        "explain",
        "--example",
        "failover",
        "--cluster",
        "east-2",
        "--service",
        "reviews.bookinfo",
        "--port",
        "9080",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("priority 1: same region, other zone (L12)"),
        "{text}"
    );
    assert!(
        text.contains("priority 0: same region, zone and subzone (L12)"),
        "{text}"
    );
    assert!(
        text.contains("priority 2: other region, the failover target (L12, L13)"),
        "{text}"
    );
    let out = meshspan(&[
        "explain",
        "--example",
        "failover",
        "--network",
        "net-east",
        "--locality",
        "us-east/us-east-1b",
        "--service",
        "ratings.bookinfo",
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let stage = v[0]["localityStage"].as_array().expect("localityStage");
    assert_eq!(stage.len(), 2);
    assert_eq!(stage[1]["priority"], 1);
    assert_eq!(stage[1]["locality"], "us-west/us-west-2a");
    assert!(
        stage[1]["meaning"]
            .as_str()
            .unwrap_or("")
            .starts_with("network mismatch under failoverPriority (L17)"),
        "{stage:?}"
    );
    assert_eq!(v[0]["proxy"]["locality"], "us-east/us-east-1b");
    let mut all = Vec::new();
    keys(&v, &mut all);
    assert!(all.iter().all(|k| !k.contains('_')), "{all:?}");
}

/// A DestinationRule subset is an Envoy cluster of its own: --subset picks it ('' the cluster
/// without one), so that -o pb can write exactly one.
#[test]
fn eds_subset_selects_one_cluster() {
    let base = [
        "eds",
        "--example",
        "failover",
        "--cluster",
        "east-1",
        "--service",
        "reviews.bookinfo",
        "--port",
        "9080",
    ];
    let names = |extra: &[&str]| -> Vec<String> {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let v = succeeding_json(&args);
        v.as_array()
            .expect("list")
            .iter()
            .map(|c| c["clusterName"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        names(&[]),
        [
            "outbound|9080||reviews.bookinfo.svc.cluster.local",
            "outbound|9080|v1|reviews.bookinfo.svc.cluster.local"
        ]
    );
    assert_eq!(
        names(&["--subset", "v1"]),
        ["outbound|9080|v1|reviews.bookinfo.svc.cluster.local"]
    );
    assert_eq!(
        names(&["--subset", ""]),
        ["outbound|9080||reviews.bookinfo.svc.cluster.local"]
    );
    let mut pb = base.to_vec();
    pb.extend_from_slice(&["-o", "pb"]);
    assert_eq!(meshspan(&pb).status.code(), Some(2));
    pb.extend_from_slice(&["--subset", "v1"]);
    assert_eq!(meshspan(&pb).status.code(), Some(0));
    let mut bad = base.to_vec();
    bad.extend_from_slice(&["--subset", "v9"]);
    let out = meshspan(&bad);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no service port 9080 subset \"v9\"; the ports: reviews.bookinfo 9080, reviews.bookinfo 9080 subset v1"), "{e}");
}

/// Two clusters on two networks: kube-dns (cluster-local by default), reviews exported from
/// east only under MCS service discovery, and west's proxies sending another CLUSTER_ID.
const SCOPED: &str = "apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: scope}
spec:
  mcs: {serviceDiscovery: true}
  clusters:
  - {name: east, network: n1}
  - {name: west, network: n2, proxyClusterId: cluster-2}
  meshNetworks:
    networks:
      n1: {endpoints: [{fromRegistry: east}], gateways: [{address: 192.0.2.1, port: 15443}]}
      n2: {endpoints: [{fromRegistry: west}], gateways: [{address: 192.0.2.2, port: 15443}]}
  services:
  - name: kube-dns
    namespace: kube-system
    ports: [{name: dns, port: 53}]
    endpoints: [{cluster: east, address: 10.1.0.10}, {cluster: west, address: 10.2.0.10}]
  - name: reviews
    namespace: bookinfo
    ports: [{name: http, port: 9080}]
    serviceExports: [east]
    endpoints: [{cluster: east, address: 10.1.0.20}, {cluster: west, address: 10.2.0.20}]
";

/// `address why` of each endpoint an explanation (JSON) lists as withheld.
fn withheld_why(explanation: &Value) -> Vec<String> {
    explanation["withheld"]
        .as_array()
        .expect("withheld")
        .iter()
        .map(|w| {
            format!(
                "{} {}",
                w["address"].as_str().unwrap_or(""),
                w["why"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn explain_names_the_scope_rule_that_withheld_each_endpoint() {
    let path = std::env::temp_dir().join(format!("meshspan-scope-{}.yaml", std::process::id()));
    std::fs::write(&path, SCOPED).expect("write");
    let file = path.to_str().expect("utf-8");
    let out = meshspan(&["explain", file, "--cluster", "east", "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let why = |i: usize| withheld_why(&v[i]);
    // kube-dns: west's endpoint never reaches east, not even as west's gateway.
    assert_eq!(
        why(0),
        [
            "10.2.0.10 cluster-local by default: kube-system (S1): only the proxy's cluster east (S8)"
        ]
    );
    assert_eq!(v[0]["endpoints"].as_array().map(Vec::len), Some(1));
    assert_eq!(why(1), ["10.2.0.20 not exported from west (S15, S16)"]);
    // west's proxies say cluster-2: cluster-local kube-dns gives them nothing (S36), while
    // reviews, exported from east, still reaches them (S16 compares only named clusters).
    let out = meshspan(&["eds", file, "--cluster", "west"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        v[0].get("endpoints")
            .is_none_or(|e| e.as_array().is_some_and(Vec::is_empty)),
        "{}",
        v[0]
    );
    let text = v[1].to_string();
    assert!(text.contains("192.0.2.1"), "{text}");
    assert!(!text.contains("10.2.0.20"), "{text}");
    let _ = std::fs::remove_file(path);
}

/// east reads west, its remote, through a remote secret.
const REMOTE: &str = "apiVersion: meshspan/v1alpha1
kind: Mesh
metadata: {name: lifecycle}
spec:
  clusters:
  - {name: east, network: n1}
  - {name: west, network: n1, controlPlane: east}
  services:
  - name: reviews
    namespace: bookinfo
    ports: [{name: http, port: 9080}]
    endpoints: [{cluster: east, address: 10.1.0.20}, {cluster: west, address: 10.2.0.20}]
";

/// Writes [`REMOTE`] to a temporary file of this test process.
fn remote_file(tag: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "meshspan-explain-{tag}-{}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, REMOTE).expect("write");
    path
}

#[test]
fn explain_event_withholds_the_endpoints_of_absent_clusters_per_phase() {
    let path = remote_file("event");
    let file = path.to_str().expect("utf-8");
    fn with<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["explain", file, "--cluster", "east"];
        args.extend_from_slice(extra);
        args
    }
    let explain = |extra: &[&str]| succeeding_json(&with(file, extra));
    let wiped = "10.2.0.20 west's shards were removed (S29, S30, S35)";
    let unregistered = "10.2.0.20 no remote secret registers west (S27, S36)";
    let not_synced = "10.2.0.20 west not synced yet (S28)";
    let timed_out = "10.2.0.20 west did not sync within PILOT_REMOTE_CLUSTER_TIMEOUT (S33)";
    let cases: [(&str, &str, Vec<Vec<&str>>); 6] = [
        ("secret-rotated:west", "istio-modern", vec![vec![], vec![]]),
        (
            "secret-rotated:west",
            "istio-pre-61044",
            vec![vec![], vec![wiped]],
        ),
        (
            "secret-deleted:west",
            "istio-modern",
            vec![vec![unregistered]],
        ),
        (
            "secret-deleted:west",
            "istio-pre-61044",
            vec![vec![unregistered]],
        ),
        (
            "sync-timeout:west",
            "istio-modern",
            vec![vec![not_synced], vec![timed_out]],
        ),
        (
            "sync-timeout:west",
            "istio-pre-61044",
            vec![vec![not_synced], vec![timed_out]],
        ),
    ];
    for (event, semantics, expected) in cases {
        let v = explain(&["--event", event, "--semantics", semantics, "-o", "json"]);
        assert_eq!(v["profile"], semantics, "{v}");
        let phases = v["phases"].as_array().expect("phases");
        assert_eq!(phases.len(), expected.len(), "{event} {semantics}: {v}");
        for (p, want) in phases.iter().zip(&expected) {
            let ex = &p["explanations"][0];
            assert_eq!(withheld_why(ex), *want, "{event} {semantics} {}", p["when"]);
            // What is withheld is not pushed; the rest is.
            let pushed: Vec<&str> = ex["endpoints"]
                .as_array()
                .expect("endpoints")
                .iter()
                .filter_map(|e| e["address"].as_str())
                .collect();
            let all = ["10.1.0.20", "10.2.0.20"];
            assert_eq!(pushed, all[..2 - want.len()], "{event} {semantics}");
        }
    }
    // Text: per phase, the withheld endpoint and its rule.
    let out = meshspan(&with(
        file,
        &[
            "--event",
            "secret-rotated:west",
            "--semantics",
            "istio-pre-61044",
        ],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "phase 2 of 2: the new credentials synced",
        "  10.2.0.20 withheld: west's shards were removed (S29, S30, S35)",
    ] {
        assert!(text.contains(line), "{text}");
    }
    assert_eq!(text.matches("withheld").count(), 1, "{text}");
    // Make-before-break keeps the endpoints: each phase explains what explain without --event
    // explains.
    let plain = explain(&["-o", "json"]);
    assert!(plain.is_array(), "{plain}");
    let modern = explain(&["--event", "secret-rotated:west", "-o", "json"]);
    for p in modern["phases"].as_array().expect("phases") {
        assert_eq!(p["explanations"], plain);
    }
    // Bad events, or no single cluster to explain: exit 2.
    for bad in [
        ["--cluster", "east", "--event", "secret-deleted:nowhere"],
        ["--cluster", "east", "--event", "secret-deleted:east"],
        ["--network", "n1", "--event", "secret-deleted:west"],
        ["--cluster", "east", "--event", "deleted:west"],
    ] {
        let mut args = vec!["explain", file];
        args.extend_from_slice(&bad);
        let out = meshspan(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty(), "{bad:?}");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn explain_without_event_prints_no_phases() {
    let path = remote_file("plain");
    let file = path.to_str().expect("utf-8");
    let out = meshspan(&["explain", file, "--cluster", "east"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.starts_with("outbound|9080||reviews.bookinfo"),
        "{text}"
    );
    assert!(
        !text.contains("phase") && !text.contains("withheld"),
        "{text}"
    );
    assert_eq!(text.matches("kept direct").count(), 2, "{text}");
    let _ = std::fs::remove_file(path);
}
