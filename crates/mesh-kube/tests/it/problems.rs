//! Importing, then checking: the planted problems are found.

use super::*;

#[test]
fn private_api_server_in_multi_primary() {
    let i = run(&[("cluster1", MP1), ("cluster2", MP2)]);
    let report = mesh_topology::check(&i.document);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "api-server-unreachable")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        d.message,
        "the control plane in cluster cluster1 cannot reach the API server of cluster cluster2"
    );
    assert_eq!(report.topology.kind.as_str(), "multi-primary");
}

#[test]
fn network_without_gateway_in_primary_remote() {
    let i = run(&[("cluster1", PR1), ("cluster2", PR2)]);
    let report = mesh_topology::check(&i.document);
    assert!(
        codes(&i).contains(&"network-without-gateway".to_owned()),
        "{report}"
    );
    assert_eq!(
        report.topology.istio_model,
        "primary-remote on different networks"
    );
}

#[test]
fn overlapping_pod_cidrs_over_a_vpn() {
    let i = run(&[("cluster1", VPN1), ("cluster3", VPN3)]);
    let report = mesh_topology::check(&i.document);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "cidr-overlap")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(d.message.contains("10.50.1.0/24"), "{}", d.message);
}

#[test]
fn cluster_id_no_remote_secret_names() {
    // cluster2's istiod is configured as `cluster-2`, but cluster1's remote secret says `cluster2`.
    let mut values = ClusterValues::default();
    values.cluster_name = Some("cluster-2".into());
    let mut c2 = ClusterInput::new("cluster2", MP2);
    c2.values = values;
    let i = import(
        ImportOptions::default(),
        vec![ClusterInput::new("cluster1", MP1), c2],
    )
    .unwrap();
    let report = mesh_topology::check(&i.document);
    let found = codes(&i);
    assert!(found.contains(&"unknown-cluster".to_owned()), "{report}");
    assert!(
        found.contains(&"cluster-not-watched".to_owned()),
        "{report}"
    );
}

/// L7: a Service's `spec.trafficDistribution`, else Istio's annotation on it, else on its
/// namespace; values Istio does not know mean no preference.
#[test]
fn traffic_distribution_from_spec_or_annotations() {
    let dump = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns2",
        "annotations": {"networking.istio.io/traffic-distribution": "PreferSameNode"}}},
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "ns1"},
        "spec": {"trafficDistribution": "PreferClose", "ports": [{"name": "http", "port": 80}]}},
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b", "namespace": "ns1",
        "annotations": {"networking.istio.io/traffic-distribution": "PreferSameZone"}},
        "spec": {"ports": [{"name": "http", "port": 80}]}},
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c", "namespace": "ns2"},
        "spec": {"ports": [{"name": "http", "port": 80}]}},
      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "d", "namespace": "ns1",
        "annotations": {"networking.istio.io/traffic-distribution": "Nearby"}},
        "spec": {"ports": [{"name": "http", "port": 80}]}}
    ]}"#;
    let i = run(&[("c1", dump)]);
    let got: Vec<(String, Option<&str>)> = i
        .document
        .spec
        .services
        .iter()
        .map(|s| {
            (
                s.key().to_string(),
                s.traffic_distribution.map(|t| t.as_str()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a.ns1".to_owned(), Some("PreferClose")),
            ("b.ns1".to_owned(), Some("PreferSameZone")),
            ("d.ns1".to_owned(), None),
            ("c.ns2".to_owned(), Some("PreferSameNode")),
        ]
    );
}
