//! What the importer reads from the dumps.

use super::*;

#[test]
fn multi_primary_on_different_networks() {
    let i = run(&[("cluster1", MP1), ("cluster2", MP2)]);
    let doc = &i.document;
    assert_eq!(
        doc.metadata.name, "cluster.local",
        "no meshID given: the trust domain"
    );
    let [c1, c2] = doc.spec.clusters.as_slice() else {
        panic!("two clusters: {:?}", doc.spec.clusters)
    };
    assert_eq!(
        (c1.name.as_str(), c2.name.as_str()),
        ("cluster1", "cluster2")
    );
    assert_eq!(c1.network.as_ref().unwrap().as_str(), "network1");
    assert_eq!(c2.network.as_ref().unwrap().as_str(), "network2");
    // Both primaries, each watching the other through its remote secret.
    assert_eq!(
        (c1.control_plane.as_ref(), c2.control_plane.as_ref()),
        (None, None)
    );
    assert_eq!(
        c1.watches.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["cluster2"]
    );
    assert_eq!(
        c2.watches.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["cluster1"]
    );
    // API servers as the other primary's remote secret addresses them.
    let api1 = c1.api_server.as_ref().unwrap();
    assert_eq!(
        (api1.address.as_str(), api1.exposure),
        ("203.0.113.1:6443", Exposure::Public)
    );
    let api2 = c2.api_server.as_ref().unwrap();
    assert_eq!(
        (api2.address.as_str(), api2.exposure),
        ("10.20.255.1:6443", Exposure::Private)
    );
    // Node podCIDRs, aggregated.
    assert_eq!(
        c1.pod_cidrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["10.10.0.0/23"]
    );
    assert!(
        c1.ca_certs
            .as_ref()
            .unwrap()
            .root_cert
            .contains("BEGIN CERTIFICATE")
    );
    // The east-west gateways, found from the labelled Services, joined to meshNetworks.
    let gws = doc.spec.gateways(true).gateways;
    let mut addrs: Vec<String> = gws
        .iter()
        .map(|g| format!("{}:{}", g.address, g.port))
        .collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs, ["198.51.100.10:15443", "198.51.100.20:15443"]);
    // Endpoints: pod facts, health, locality from the node.
    let reviews = doc
        .spec
        .services
        .iter()
        .find(|s| s.name.as_str() == "reviews")
        .unwrap();
    assert_eq!(reviews.endpoints.len(), 3);
    let e = &reviews.endpoints[0];
    assert_eq!(e.addresses[0].to_string(), "10.10.0.5");
    assert_eq!(e.network.as_ref().unwrap().as_str(), "network1");
    assert_eq!(
        e.locality.as_ref().unwrap().as_str(),
        "us-east1/us-east1-b/"
    );
    assert_eq!(e.tls_mode, TlsMode::Istio);
    assert_eq!(e.service_account.as_deref(), Some("bookinfo-reviews"));
    assert!(e.healthy);
    assert!(!reviews.endpoints[1].healthy, "ready: false");
    assert_eq!(reviews.defined_in.len(), 2);
    // The document is valid mesh-model input and survives a round trip.
    assert_eq!(
        mesh_model::MeshDocument::parse(&doc.to_yaml()).unwrap(),
        *doc
    );
    // Not silently dropped: the Deployment is listed.
    assert_eq!(
        i.report.unrecognised["Deployment"],
        ["cluster1: Deployment/bookinfo/reviews-v1"]
    );
    assert!(i.report.inferred.iter().any(|x| {
        x.field == "clusters[cluster2].apiServer.exposure"
            && x.from
                .contains("Secret/istio-system/istio-remote-secret-cluster2")
    }));
}

#[test]
fn primary_remote_and_vpn_roles() {
    let i = run(&[("cluster1", PR1), ("cluster2", PR2)]);
    let c2 = &i.document.spec.clusters[1];
    assert_eq!(c2.control_plane.as_ref().unwrap().as_str(), "cluster1");
    assert!(c2.watches.is_empty());
    assert!(
        i.report
            .inferred
            .iter()
            .any(|x| x.field == "clusters[cluster2].controlPlane")
    );
    let i = run(&[("cluster1", VPN1), ("cluster3", VPN3)]);
    let c3 = &i.document.spec.clusters[1];
    assert_eq!(c3.name.as_str(), "cluster3");
    assert_eq!(c3.control_plane.as_ref().unwrap().as_str(), "cluster1");
    assert_eq!(c3.network.as_ref().unwrap().as_str(), "vpn");
}

#[test]
fn cluster_id_comes_from_values_then_istiod() {
    let mut values = ClusterValues::default();
    values.cluster_name = Some("east".into());
    let mut input = ClusterInput::new("cluster1", MP1);
    input.values = values;
    let i = import(ImportOptions::default(), vec![input]).unwrap();
    assert_eq!(i.document.spec.clusters[0].name.as_str(), "east");
    // Without CLUSTER_ID istiod uses Istio's default.
    let dump = MP1.replace("\"CLUSTER_ID\"", "\"OTHER\"");
    let i = run(&[("cluster1", &dump)]);
    assert_eq!(
        i.document.spec.clusters[0].name.as_str(),
        mesh_kube::DEFAULT_CLUSTER_ID
    );
}

#[test]
fn bad_input_names_object_and_field() {
    let dump = MP2.replace("- 10.20.0.0/24", "- 10.20.0.0/33");
    let e = import(
        ImportOptions::default(),
        vec![ClusterInput::new("cluster2", &dump)],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cluster2: Node/gke-c2-pool-1: spec.podCIDRs[0]: \"10.20.0.0/33\" is not a CIDR"
    );
    let dump = MP1.replacen("\"addressType\": \"IPv4\"", "\"addressType\": 4", 1);
    let e = import(
        ImportOptions::default(),
        vec![ClusterInput::new("c1", &dump)],
    )
    .unwrap_err();
    assert!(
        matches!(&e, ImportError::Field { object, field, .. }
        if object.to_string() == "EndpointSlice/bookinfo/reviews-abc12" && field == "addressType"),
        "{e}"
    );
    let e = import(
        ImportOptions::default(),
        vec![ClusterInput::new("c1", "{\"kind\": ")],
    )
    .unwrap_err();
    assert!(
        matches!(e, ImportError::Syntax { format: "JSON", .. }),
        "{e}"
    );
}
