//! The examples: the broken one shows every code, the valid ones none.

use super::*;

#[test]
fn broken_example_shows_every_code_on_purpose() {
    let r = check_with(
        &MeshDocument::parse(BROKEN).unwrap(),
        &CheckOptions::at(NOW),
    );
    // Each mistake of examples/broken.yaml, with a subject its comment names.
    let want: &[(Code, Subject)] = &[
        (Code::AmbiguousNetworkCidr, cidr("172.16.5.0/24")),
        (Code::ApiServerUnreachable, cluster("west-remote")),
        (Code::CidrOverlap, cidr("10.10.128.0/17")),
        (Code::CidrOverlap, cidr("10.30.0.0/20")),
        (Code::ControlPlaneCycle, cluster("loop-a")),
        (Code::ControlPlaneNotPrimary, cluster("chained")),
        (Code::ControlPlaneUnreachable, cluster("west-remote")),
        (Code::DegenerateLink, network("net-c")),
        (Code::DuplicateCluster, cluster("east")),
        (
            Code::DuplicateService,
            Subject::Service("orders.shop".into()),
        ),
        (
            Code::GatewaySharedByNetworks,
            Subject::Gateway("192.0.2.10".into()),
        ),
        (
            Code::GatewayUnresolved,
            Subject::Gateway("eastwest.east.example.com".into()),
        ),
        (Code::GlobalVipOverlap, Subject::Cidr("10.96.0.0/16".into())),
        (Code::InvalidMeshnetworks, network("legacy")),
        (Code::MeshnetworksUnknownField, network("legacy")),
        (Code::MeshnetworksReadAsIstio, network("legacy")),
        (Code::MeshnetworksReadAsIstio, network("legacy")),
        (Code::NetworkWithoutGateway, network("net-c")),
        (Code::RegistryInSeveralNetworks, cluster("east")),
        (
            Code::RemoteEndpointWithoutSidecar,
            Subject::Service("cart.shop".into()),
        ),
        (Code::ServiceNotReplicated, cluster("east-vpn")),
        (Code::TrustRootMismatch, cluster("west")),
        (Code::TrustRootMismatch, cluster("east")),
        (Code::TrustUnverified, cluster("solo")),
        (Code::UnknownCluster, cluster("nowhere")),
        (Code::NetworkNotInMeshnetworks, network("net-zzz")),
        (Code::UnknownNetwork, network("net-yyy")),
        (Code::ClusterNotWatched, cluster("west")),
        (
            Code::DuplicateEndpoint,
            Subject::Service("orders.shop".into()),
        ),
        (
            Code::DuplicatePortName,
            Subject::Service("orders.shop".into()),
        ),
        (Code::EndpointOutsidePodCidrs, cluster("west-remote")),
        (Code::PodCidrsOverlap, cluster("solo")),
        (Code::PortNameInvalid, Subject::Service("cart.shop".into())),
        (
            Code::PortProtocolUnsupported,
            Subject::Service("cart.shop".into()),
        ),
        (
            Code::DestinationRuleUnknownHost,
            Subject::Service("carts.shop".into()),
        ),
        (
            Code::FailoverWithoutOutlierDetection,
            Subject::Service("cart.shop".into()),
        ),
        (Code::ProxyClusterIdUnregistered, cluster("solo")),
        (Code::GatewayNoAutoPassthrough, cluster("west-remote")),
        (
            Code::ClusterLocalMismatch,
            Subject::Service("cart.shop".into()),
        ),
        (Code::McsExportUnreachable, network("net-c")),
    ];
    for (code, subject) in want {
        assert!(
            of(&r, *code).iter().any(|d| d.subjects.contains(subject)),
            "{code} about {subject} missing:\n{r}"
        );
    }
    let want_codes: BTreeSet<Code> = want.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes(&r), want_codes, "{r}");
    // Every code this crate can emit from a document, except the fallback for future mesh-model
    // errors, is shown.
    let not_shown = [Code::ModelError];
    for c in Code::ALL {
        assert_eq!(want_codes.contains(c), !not_shown.contains(c), "{c}");
    }
    // No more of each than the example's comments announce: two overlaps, and east and west
    // each failing to verify the other.
    assert_eq!(of(&r, Code::CidrOverlap).len(), 2, "{r}");
    assert_eq!(of(&r, Code::TrustRootMismatch).len(), 2, "{r}");
    let read_as_istio: Vec<String> = of(&r, Code::MeshnetworksReadAsIstio)
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(read_as_istio.len(), 2, "{r}");
    assert!(
        read_as_istio
            .iter()
            .any(|m| m.contains("gateways[1].port: port 0443") && m.contains("as 291")),
        "{read_as_istio:?}"
    );
    assert!(
        read_as_istio
            .iter()
            .any(|m| m.contains("gateways[2]") && m.contains("Istio keeps \"address\"")),
        "{read_as_istio:?}"
    );
    assert_eq!(r.diagnostics.len(), want.len(), "{r}");
    assert_eq!(r.topology.kind, MeshKind::Mixed);
}

#[test]
fn valid_examples_have_no_errors_or_warnings_and_are_classified() {
    let kinds = [
        (
            "split-horizon.yaml",
            MeshKind::SingleControlPlaneSplitHorizon,
        ),
        (
            "replicated-control-planes.yaml",
            MeshKind::ReplicatedControlPlanes,
        ),
        ("vpn.yaml", MeshKind::SingleControlPlaneVpn),
        ("mixed.yaml", MeshKind::Mixed),
        ("failover.yaml", MeshKind::Mixed),
    ];
    assert_eq!(kinds.len(), test_support::VALID_EXAMPLES.len());
    for ((name, text), (kname, kind)) in test_support::VALID_EXAMPLES.iter().zip(kinds) {
        assert_eq!(*name, kname);
        let r = check(&MeshDocument::parse(text).unwrap());
        assert_eq!(
            r.count(Severity::Error) + r.count(Severity::Warning),
            0,
            "{name}\n{r}"
        );
        assert_eq!(r.topology.kind, kind, "{name}");
    }
    let mixed = check(&MeshDocument::parse(test_support::EXAMPLE_MIXED).unwrap());
    assert_eq!(
        mixed.topology.control_planes[0].kind,
        ControlPlaneKind::Mixed
    );
}

#[test]
fn report_json_shape() {
    let r = check(&MeshDocument::parse(BROKEN).unwrap());
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
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
    assert_eq!(
        v["topology"]["addressSpaces"][0],
        serde_json::json!(["legacy"])
    );
    let net_a = v["topology"]["networks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "net-a")
        .unwrap();
    assert_eq!(net_a["gateways"], serde_json::json!(["192.0.2.10:15443"]));
    assert_eq!(net_a["clusters"], serde_json::json!(["east", "solo"]));
}

#[test]
fn output_does_not_depend_on_document_order() {
    let doc = MeshDocument::parse(test_support::EXAMPLE_MIXED).unwrap();
    let mut rev = doc.clone();
    rev.spec.clusters.reverse();
    rev.spec.services.reverse();
    rev.spec.links.reverse();
    assert_eq!(check(&doc), check(&rev));
    let broken = MeshDocument::parse(BROKEN).unwrap();
    assert_eq!(
        to_dot(&broken, &check(&broken)),
        to_dot(&broken, &check(&broken))
    );
}
