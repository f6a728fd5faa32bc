//! istiod's debug endpoints (`tests/data/istiod/generate.py`: cluster1's istiod in a 2-network
//! multi-primary mesh) read into a document: what each endpoint gives, the errors naming the
//! endpoint and the JSON path, and that no value of a field not read reaches an output.

use mesh_kube::{DebugEndpoint, ImportOptions, IstiodError, import_istiod};
use proptest::prelude::*;
use serde_json::json;

const SHARDZ: &str = include_str!("../data/istiod/endpointShardz.json");
const NETWORKZ: &str = include_str!("../data/istiod/networkz.json");
const CLUSTERZ: &str = include_str!("../data/istiod/clusterz.json");
const MESH: &str = include_str!("../data/istiod/mesh.json");

fn all() -> [(DebugEndpoint, &'static str); 4] {
    [
        (DebugEndpoint::EndpointShardz, SHARDZ),
        (DebugEndpoint::Networkz, NETWORKZ),
        (DebugEndpoint::Clusterz, CLUSTERZ),
        (DebugEndpoint::Mesh, MESH),
    ]
}

fn import(inputs: &[(DebugEndpoint, &str)]) -> mesh_kube::Import {
    import_istiod(&ImportOptions::default(), inputs).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_four_endpoints_give_the_two_network_mesh() {
    let i = import(&all());
    let doc = &i.document;
    assert_eq!(doc.metadata.name, "mesh1", "defaultConfig.meshId");
    assert_eq!(doc.spec.trust_domain.as_str(), "cluster.local");
    let clusters: Vec<(&str, Option<&str>, Option<&str>)> = doc
        .spec
        .clusters
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.network.as_ref().map(|n| n.as_str()),
                c.control_plane.as_ref().map(|c| c.as_str()),
            )
        })
        .collect();
    assert_eq!(
        clusters,
        [
            ("cluster1", Some("network1"), None),
            ("cluster2", Some("network2"), Some("cluster1"))
        ]
    );
    // networkz: one address gateway a network (HBONE-only ports would be the HBONE port).
    let mut gws: Vec<(String, String, u32)> = doc
        .spec
        .gateways(true)
        .gateways
        .iter()
        .map(|g| (g.network.as_str().to_owned(), g.address.clone(), g.port))
        .collect();
    gws.sort();
    assert_eq!(
        gws,
        [
            ("network1".into(), "198.51.100.10".into(), 15443),
            ("network2".into(), "198.51.100.20".into(), 15443)
        ]
    );
    // endpointShardz: the ServiceEntry host is skipped, the two services kept.
    let names: Vec<String> = doc
        .spec
        .services
        .iter()
        .map(|s| format!("{}.{}", s.name.as_str(), s.namespace.as_str()))
        .collect();
    assert_eq!(names, ["ratings.bookinfo", "reviews.bookinfo"]);
    assert!(
        i.report
            .skipped
            .iter()
            .any(|s| s.object.name == "www.example.com" && s.reason.contains("ServiceEntry")),
        "{:?}",
        i.report.skipped
    );
    let reviews = &doc.spec.services[1];
    // address, cluster, locality, healthy, service account, workload
    type Facts<'a> = (
        String,
        &'a str,
        &'a str,
        bool,
        Option<&'a str>,
        Option<&'a str>,
    );
    let facts: Vec<Facts<'_>> = reviews
        .endpoints
        .iter()
        .map(|e| {
            (
                e.addresses[0].to_string(),
                e.cluster.as_str(),
                e.locality.as_ref().map_or("", |l| l.as_str()),
                e.healthy,
                e.service_account.as_deref(),
                e.workload.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        facts,
        [
            (
                "10.10.0.5".into(),
                "cluster1",
                "us-east1/us-east1-b/",
                true,
                Some("bookinfo-reviews"),
                Some("reviews-v1")
            ),
            (
                "10.10.0.6".into(),
                "cluster1",
                "us-east1/us-east1-b/",
                false,
                Some("bookinfo-reviews"),
                Some("reviews-v2")
            ),
            (
                "10.20.0.5".into(),
                "cluster2",
                "us-west1/us-west1-a/",
                true,
                Some("bookinfo-reviews"),
                Some("reviews-v3")
            ),
        ]
    );
    assert_eq!(reviews.endpoints[2].labels["version"], "v3");
    assert_eq!(reviews.endpoints[2].tls_mode, mesh_model::TlsMode::Istio);
    // Two IstioEndpoints (one a service port) are one document endpoint; the grpc port's target.
    let ratings = &doc.spec.services[0];
    assert_eq!(ratings.endpoints.len(), 1);
    let ports: Vec<(&str, u16, u16)> = ratings
        .ports
        .iter()
        .map(|p| (p.name.as_str(), p.port, p.endpoint_port()))
        .collect();
    assert_eq!(ports, [("http", 9080, 9080), ("grpc", 9090, 19090)]);
    // mesh: the locality and scope settings.
    let lb = doc.spec.mesh_config.locality_lb_setting.as_ref().unwrap();
    assert_eq!(
        (lb.failover[0].from.as_str(), lb.failover[0].to.as_str()),
        ("us-east1", "us-west1")
    );
    assert_eq!(
        doc.spec.mesh_config.service_settings[0].hosts,
        ["*.infra.svc.cluster.local"]
    );
    // Nothing dropped silently: what was read, and the fields that were not.
    assert_eq!(i.report.read["/debug/endpointShardz"]["IstioEndpoint"], 5);
    assert_eq!(i.report.read["/debug/endpointShardz"]["EndpointShards"], 3);
    assert_eq!(i.report.read["/debug/networkz"]["NetworkGateway"], 2);
    assert_eq!(i.report.read["/debug/clusterz"]["cluster.DebugInfo"], 2);
    assert_eq!(i.report.read["/debug/mesh"]["MeshConfig"], 1);
    assert_eq!(
        i.report.not_modelled["IstioEndpoint fields"],
        ["NodeName (5)"]
    );
    // `rootNamespace` is modelled (where PeerAuthentications are mesh-wide), so not listed.
    assert!(
        !i.report.not_modelled["MeshConfig fields"]
            .iter()
            .any(|f| f.starts_with("rootNamespace"))
    );
    assert_eq!(
        doc.spec.mesh_config.root_namespace.as_deref(),
        Some("istio-system")
    );
    // The document is valid and `check` finds no error in it.
    let report = mesh_topology::check(doc);
    assert!(!report.has_errors(), "{report}");
    // It survives its own text.
    assert_eq!(
        &mesh_model::MeshDocument::parse(&doc.to_yaml()).unwrap(),
        doc
    );
}

#[test]
fn each_endpoint_alone_gives_its_part() {
    let c = import(&[(DebugEndpoint::Clusterz, CLUSTERZ)]);
    assert_eq!(c.document.spec.clusters.len(), 2);
    assert!(c.document.spec.services.is_empty());
    // Without clusterz, the clusters come from the shard keys, and their networks from the
    // endpoints.
    let s = import(&[(DebugEndpoint::EndpointShardz, SHARDZ)]);
    let clusters: Vec<(&str, Option<&str>)> = s
        .document
        .spec
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.network.as_ref().map(|n| n.as_str())))
        .collect();
    assert_eq!(
        clusters,
        [
            ("cluster1", Some("network1")),
            ("cluster2", Some("network2"))
        ]
    );
    assert!(
        s.report
            .inferred
            .iter()
            .any(|i| i.field == "clusters[].name" && i.value == "cluster2")
    );
    assert_eq!(
        s.document.metadata.name, "cluster.local",
        "no mesh: the default trust domain"
    );
    // A cluster not synced is said.
    let syncing = CLUSTERZ.replacen("\"synced\"", "\"timeout\"", 2);
    let t = import(&[(DebugEndpoint::Clusterz, &syncing)]);
    assert_eq!(
        t.report.not_modelled["cluster.DebugInfo syncStatus"].len(),
        2
    );
    // --mesh-id wins over defaultConfig.meshId.
    let mut options = ImportOptions::default();
    options.mesh_id = Some("other".into());
    let m = import_istiod(&options, &[(DebugEndpoint::Mesh, MESH)]).unwrap();
    assert_eq!(m.document.metadata.name, "other");
}

#[test]
fn shards_not_modelled_are_listed() {
    // A ServiceEntry shard (provider External) of a Kubernetes host, and an endpoint whose
    // Locality.ClusterID is not its shard's.
    let shardz = SHARDZ
        .replacen("\"Kubernetes/cluster2\"", "\"External/cluster2\"", 1)
        .replacen(
            "\"ClusterID\": \"cluster1\"",
            "\"ClusterID\": \"elsewhere\"",
            1,
        );
    let i = import(&[(DebugEndpoint::EndpointShardz, &shardz)]);
    let ratings = &i.document.spec.services[0];
    assert!(ratings.endpoints.is_empty(), "{ratings:?}");
    assert!(
        i.report.skipped.iter().any(|s| s.cluster == "cluster2"
            && s.object.name == "ratings.bookinfo.svc.cluster.local"
            && s.reason.contains("provider \"External\"")),
        "{:?}",
        i.report.skipped
    );
    assert_eq!(
        i.report.not_modelled["IstioEndpoint Locality.ClusterID"],
        [
            "/debug/endpointShardz $[\"reviews.bookinfo.svc.cluster.local\"].bookinfo.Shards[\"Kubernetes/cluster1\"][0].Locality: elsewhere (the shard key's cluster1 is used)"
        ]
    );
    assert_eq!(
        i.document.spec.services[1].endpoints[0].cluster.as_str(),
        "cluster1"
    );
}

#[test]
fn bad_json_names_the_endpoint_and_the_json_path() {
    let shard =
        "$[\"reviews.bookinfo.svc.cluster.local\"].bookinfo.Shards[\"Kubernetes/cluster1\"][0]";
    let cases: Vec<(DebugEndpoint, String, IstiodError)> = vec![
        (
            DebugEndpoint::Networkz,
            "[{\"Network\": ".into(),
            IstiodError::Syntax {
                endpoint: DebugEndpoint::Networkz,
                message: "EOF while parsing a value at line 1 column 13".into(),
            },
        ),
        (
            DebugEndpoint::EndpointShardz,
            SHARDZ.replacen("\"10.10.0.5\"", "\"10.10.0.500\"", 1),
            IstiodError::Value {
                endpoint: DebugEndpoint::EndpointShardz,
                path: format!("{shard}.Addresses[0]"),
                value: "10.10.0.500".into(),
                message: "not an IP address".into(),
            },
        ),
        (
            DebugEndpoint::EndpointShardz,
            SHARDZ.replacen("\"EndpointPort\": 9080", "\"EndpointPort\": \"9080\"", 2),
            IstiodError::Shape {
                endpoint: DebugEndpoint::EndpointShardz,
                path: "$[\"ratings.bookinfo.svc.cluster.local\"].bookinfo.Shards[\"Kubernetes/cluster2\"][0].EndpointPort".into(),
                expected: "a number",
                found: "a string",
            },
        ),
        (
            DebugEndpoint::EndpointShardz,
            SHARDZ.replacen("\"HealthStatus\": 1", "\"HealthStatus\": 7", 1),
            IstiodError::Value {
                endpoint: DebugEndpoint::EndpointShardz,
                path: "$[\"ratings.bookinfo.svc.cluster.local\"].bookinfo.Shards[\"Kubernetes/cluster2\"][0].HealthStatus".into(),
                value: "7".into(),
                message: "not a HealthStatus (1 Healthy, 2 UnHealthy, 3 Draining, 4 Terminating)".into(),
            },
        ),
        (
            DebugEndpoint::Networkz,
            NETWORKZ.replacen("\"Port\": 15443", "\"Port\": -1", 1),
            IstiodError::Value {
                endpoint: DebugEndpoint::Networkz,
                path: "$[0].Port".into(),
                value: "-1".into(),
                message: "out of range".into(),
            },
        ),
        (
            DebugEndpoint::Clusterz,
            "{\"id\": \"cluster1\"}".into(),
            IstiodError::Shape {
                endpoint: DebugEndpoint::Clusterz,
                path: "$".into(),
                expected: "a list",
                found: "an object",
            },
        ),
        (
            DebugEndpoint::Mesh,
            MESH.replacen("\"to\": \"us-west1\"", "\"to\": 5", 1),
            IstiodError::Invalid {
                endpoint: DebugEndpoint::Mesh,
                path: "$.localityLbSetting.failover[0].to".into(),
                message: "invalid type: integer `5`, expected a string".into(),
            },
        ),
    ];
    for (endpoint, text, expected) in cases {
        let e = import_istiod(&ImportOptions::default(), &[(endpoint, &text)]).unwrap_err();
        assert_eq!(e, expected, "{e}");
        assert!(e.to_string().starts_with(&endpoint.to_string()), "{e}");
    }
    assert_eq!(
        import_istiod(&ImportOptions::default(), &[]).unwrap_err(),
        IstiodError::Empty
    );
    assert_eq!(
        import_istiod(
            &ImportOptions::default(),
            &[(DebugEndpoint::Mesh, MESH), (DebugEndpoint::Mesh, MESH)]
        )
        .unwrap_err(),
        IstiodError::Duplicate {
            endpoint: DebugEndpoint::Mesh
        }
    );
    assert_eq!("endpointz".parse(), Ok(DebugEndpoint::EndpointShardz));
    assert_eq!("/debug/networkz".parse(), Ok(DebugEndpoint::Networkz));
    assert!("configz".parse::<DebugEndpoint>().is_err());
}

/// These endpoints carry no credential; a field a newer istiod might add (here a token) is listed
/// by name as not read, and its value reaches no output.
#[test]
fn no_value_of_an_unread_field_reaches_any_output() {
    let canary = "LEAKCANARY-eyJhbGciOiJSUzI1NiIsImtpZCI6InRva2VuIn0";
    let clusterz = CLUSTERZ.replacen(
        "\"syncStatus\": \"synced\"",
        &format!("\"syncStatus\": \"synced\", \"token\": \"{canary}\""),
        1,
    );
    let shardz = SHARDZ.replacen(
        "\"NodeName\": \"node-1\"",
        &format!("\"NodeName\": \"{canary}\""),
        1,
    );
    let i = import(&[
        (DebugEndpoint::Clusterz, &clusterz),
        (DebugEndpoint::EndpointShardz, &shardz),
    ]);
    assert_eq!(
        i.report.not_modelled["cluster.DebugInfo fields"],
        ["token (1)"]
    );
    let outputs = [
        i.document.to_yaml(),
        i.document.to_json(),
        i.report.to_string(),
        serde_json::to_string(&i.report).unwrap(),
    ];
    for out in &outputs {
        assert!(!out.contains("LEAKCANARY"), "{out}");
    }
}

/// One IstioEndpoint as Go marshals it.
fn istio_endpoint(
    ip: &str,
    network: &str,
    locality: &str,
    health: u32,
    weight: u32,
    tls: &str,
) -> serde_json::Value {
    json!({
        "Labels": {"app": "a"}, "Addresses": [ip], "ServicePortName": "http",
        "LegacyClusterPortKey": 80, "ServiceAccount": "spiffe://cluster.local/ns/ns1/sa/sa1",
        "Network": network, "Locality": {"Label": locality, "ClusterID": "c1"},
        "EndpointPort": 8080, "LbWeight": weight, "TLSMode": tls, "Namespace": "ns1",
        "WorkloadName": "a-v1", "HostName": "", "SubDomain": "", "HealthStatus": health,
        "SendUnhealthyEndpoints": false, "NodeName": ""
    })
}

proptest! {
    /// Every IstioEndpoint's facts reach the document endpoint: address, network, locality,
    /// health (1 and Go's 0 healthy, 2–4 not), weight (0 unset), tlsMode, in shard order.
    #[test]
    fn endpoint_facts_reach_the_document(
        eps in proptest::collection::vec(
            (0u8..=255, 0u8..3, 0usize..3, 0u32..=4, 0u32..4, any::<bool>()),
            1..12,
        )
    ) {
        let networks = ["", "n1", "n2"];
        let localities = ["", "r1/z1/", "r2/z2/s2"];
        let mut seen = std::collections::BTreeSet::new();
        let eps: Vec<_> = eps.into_iter().filter(|e| seen.insert(e.0)).collect();
        let list: Vec<serde_json::Value> = eps
            .iter()
            .map(|&(ip, n, l, h, w, tls)| {
                istio_endpoint(&format!("10.0.0.{ip}"), networks[usize::from(n)], localities[l], h, w, if tls { "istio" } else { "disabled" })
            })
            .collect();
        let text = json!({"a.ns1.svc.cluster.local": {"ns1": {"Shards": {"Kubernetes/c1": list}, "ServiceAccounts": {}}}}).to_string();
        let i = import_istiod(&ImportOptions::default(), &[(DebugEndpoint::EndpointShardz, &text)]).unwrap();
        let svc = &i.document.spec.services[0];
        prop_assert_eq!(svc.ports[0].port, 80);
        prop_assert_eq!(svc.ports[0].endpoint_port(), 8080);
        prop_assert_eq!(svc.endpoints.len(), eps.len());
        for (e, &(ip, n, l, h, w, tls)) in svc.endpoints.iter().zip(&eps) {
            prop_assert_eq!(e.addresses[0].to_string(), format!("10.0.0.{ip}"));
            prop_assert_eq!(e.network.as_ref().map_or("", |n| n.as_str()), networks[usize::from(n)]);
            prop_assert_eq!(e.locality.as_ref().map_or("", |l| l.as_str()), localities[l]);
            prop_assert_eq!(e.healthy, h <= 1);
            prop_assert_eq!(e.weight, (w != 0).then_some(w));
            prop_assert_eq!(e.tls_mode == mesh_model::TlsMode::Istio, tls);
            prop_assert_eq!(e.service_account.as_deref(), Some("sa1"));
            prop_assert_eq!(e.port, None);
        }
    }
}
