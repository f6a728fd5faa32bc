//! Integration tests of mesh-topology: every diagnostic code on a small mesh made to trigger it
//! (and not on the same mesh fixed), the broken example, the valid examples, what-if, the picture,
//! and properties over generated meshes.

use std::collections::BTreeSet;

use mesh_model::MeshDocument;
use mesh_topology::{
    CheckOptions, Code, ControlPlaneKind, Diagnostic, Failure, MeshKind, Report, Severity, Subject,
    WhatIfError, check, check_with, simulate, to_dot,
};

const BROKEN: &str = include_str!("../../../examples/broken.yaml");

fn mesh(spec: &str) -> MeshDocument {
    let text =
        format!("apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {{name: t}}\nspec:\n{spec}");
    MeshDocument::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn of(report: &Report, code: Code) -> Vec<&Diagnostic> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .collect()
}

fn codes(report: &Report) -> BTreeSet<Code> {
    report.diagnostics.iter().map(|d| d.code).collect()
}

fn cluster(s: &str) -> Subject {
    Subject::Cluster(s.into())
}
fn network(s: &str) -> Subject {
    Subject::Network(s.into())
}
fn cidr(s: &str) -> Subject {
    Subject::Cidr(s.into())
}

// ---------------------------------------------------------------- cidr-overlap

const TWO_LINKED: &str = "
  clusters:
  - {name: a, network: n1, podCidrs: [10.0.0.0/16], serviceCidrs: [10.96.0.0/16]}
  - {name: b, network: n2, controlPlane: a, podCidrs: [10.0.128.0/17], serviceCidrs: [10.97.0.0/16]}
  meshNetworks:
    networks:
      n1: {gateways: [{address: 192.0.2.1, port: 15443}]}
      n2: {gateways: [{address: 192.0.2.2, port: 15443}]}
";

#[test]
fn cidr_overlap_across_linked_networks_names_the_shared_range() {
    let r = check(&mesh(&format!(
        "{TWO_LINKED}  links: [{{networks: [n1, n2]}}]\n"
    )));
    let d = of(&r, Code::CidrOverlap);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            cluster("a"),
            cluster("b"),
            cidr("10.0.0.0/16"),
            cidr("10.0.128.0/17")
        ]
    );
    assert!(
        d[0].explanation
            .contains("They share 10.0.128.0/17 (32768 addresses)"),
        "{}",
        d[0]
    );
    assert!(
        d[0].explanation
            .contains("network n1 and network n2 are linked"),
        "{}",
        d[0]
    );
    assert_eq!(d[0].severity, Severity::Error);
    assert!(r.has_errors());
}

#[test]
fn cidr_overlap_needs_one_flat_address_space() {
    // Same ranges, networks joined only by gateways: no overlap to report.
    let r = check(&mesh(TWO_LINKED));
    assert!(of(&r, Code::CidrOverlap).is_empty(), "{r}");
    // Linked through a third network counts.
    let r = check(&mesh(&format!(
        "{TWO_LINKED}      n3: {{}}\n  links: [{{networks: [n1, n3]}}, {{networks: [n3, n2]}}]\n"
    )));
    assert_eq!(of(&r, Code::CidrOverlap).len(), 1, "{r}");
}

#[test]
fn cidr_overlap_within_one_cluster_is_pod_against_service_only() {
    let r = check(&mesh(
        "  clusters:\n  - {name: a, podCidrs: [10.0.0.0/16, 10.0.0.0/24], serviceCidrs: [10.0.5.0/24]}\n",
    ));
    let d = of(&r, Code::CidrOverlap);
    assert_eq!(d.len(), 1, "{r}");
    // One group: the service range inside the pod /16, and the pod /24 nested in it too.
    assert_eq!(
        d[0].subjects,
        [
            cluster("a"),
            cidr("10.0.0.0/16"),
            cidr("10.0.0.0/24"),
            cidr("10.0.5.0/24")
        ]
    );
    assert!(
        d[0].explanation
            .contains("both a pod and a service address")
    );
    // A cluster's own nested pod ranges alone are no overlap.
    let r = check(&mesh(
        "  clusters:\n  - {name: a, podCidrs: [10.0.0.0/16, 10.0.0.0/24], serviceCidrs: [10.1.0.0/24]}\n",
    ));
    assert!(of(&r, Code::CidrOverlap).is_empty(), "{r}");
}

#[test]
fn a_cluster_without_network_is_on_every_network() {
    // As in Istio (IsSameOrEmpty): z names no network, so its range meets both n1's and n2's,
    // while n1 and n2 (unlinked) do not meet each other.
    let r = check(&mesh(
        "  clusters:
  - {name: a, network: n1, podCidrs: [10.0.0.0/16]}
  - {name: b, network: n2, podCidrs: [10.0.0.0/16]}
  - {name: z, podCidrs: [10.0.5.0/24]}
  - {name: w, podCidrs: [10.0.5.0/25]}
",
    ));
    let pairs: Vec<Vec<Subject>> = of(&r, Code::CidrOverlap)
        .iter()
        .map(|d| {
            d.subjects
                .iter()
                .filter(|s| matches!(s, Subject::Cluster(_)))
                .cloned()
                .collect()
        })
        .collect();
    // One group per flat address space: n1's, n2's, and that of the clusters with no network.
    assert_eq!(
        pairs,
        [
            vec![cluster("a"), cluster("w"), cluster("z")],
            vec![cluster("b"), cluster("w"), cluster("z")],
            vec![cluster("w"), cluster("z")],
        ],
        "{r}"
    );
    let d = of(&r, Code::CidrOverlap)[1];
    assert!(
        d.explanation
            .contains("clusters w, z name no network, so Istio treats them as on every network"),
        "{d}"
    );
    // With z alone, as for a pair.
    let r = check(&mesh(
        "  clusters:\n  - {name: a, network: n1, podCidrs: [10.0.0.0/16]}\n  - {name: z, podCidrs: [10.0.5.0/24]}\n",
    ));
    let d = of(&r, Code::CidrOverlap);
    assert_eq!(d.len(), 1, "{r}");
    assert!(
        d[0].explanation
            .contains("cluster z names no network, so Istio treats it as on every network"),
        "{}",
        d[0]
    );
    // A remote with no network reaches its primary's API server directly.
    let r = check(&mesh(
        "  clusters: [{name: p, network: n1}, {name: r, controlPlane: p, apiServer: {address: 1.2.3.4:6443}}]\n",
    ));
    assert!(r.diagnostics.is_empty(), "{r}");
    assert_eq!(r.topology.kind, MeshKind::SingleControlPlaneVpn);
}

/// `n` clusters on network n1 (remotes of c0), cluster `i` with pod range `pod(i)`.
fn one_network(n: usize, pod: impl Fn(usize) -> String) -> MeshDocument {
    let mut spec = String::from("  clusters:\n");
    for i in 0..n {
        let cp = if i == 0 { "" } else { ", controlPlane: c0" };
        spec.push_str(&format!(
            "  - {{name: c{i}, network: n1{cp}, podCidrs: [{}]}}\n",
            pod(i)
        ));
    }
    mesh(&spec)
}

#[test]
fn identical_cidrs_are_one_group_naming_every_cluster() {
    // 3,000 equal ranges are 4,498,500 overlapping pairs: one diagnostic, not one per pair.
    let n = 3000;
    let r = check(&one_network(n, |_| "10.244.0.0/16".into()));
    let d = of(&r, Code::CidrOverlap);
    assert_eq!(d.len(), 1);
    let clusters = d[0]
        .subjects
        .iter()
        .filter(|s| matches!(s, Subject::Cluster(_)))
        .count();
    assert_eq!(clusters, n);
    assert!(d[0].subjects.contains(&cidr("10.244.0.0/16")));
    assert!(
        d[0].message.starts_with(
            "3000 CIDRs overlap within 10.244.0.0/16: pod CIDR 10.244.0.0/16 of cluster c0, "
        ),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.ends_with("… and 2990 more"),
        "{}",
        d[0].message
    );
    assert!(
        d[0].explanation
            .contains("They share 10.244.0.0/16 (65536 addresses), and all are on network n1")
    );
    // The whole report stays linear in the input.
    assert!(r.to_string().len() < 200 * n, "{}", r.to_string().len());
}

#[test]
fn disjoint_groups_are_separate_and_nested_ranges_one() {
    // c0..c2 share 10.1.0.0/16, c3..c5 share 10.2.0.0/16: two groups.
    let two = one_network(6, |i| format!("10.{}.0.0/16", 1 + i / 3));
    let d = of(&check(&two), Code::CidrOverlap)
        .iter()
        .map(|d| d.subjects.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        d,
        [
            vec![
                cluster("c0"),
                cluster("c1"),
                cluster("c2"),
                cidr("10.1.0.0/16")
            ],
            vec![
                cluster("c3"),
                cluster("c4"),
                cluster("c5"),
                cidr("10.2.0.0/16")
            ],
        ]
    );
    // A /8 holding two disjoint /16s: one group of three, though the /16s do not meet.
    let nets = ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"];
    let r = check(&one_network(3, |i| nets[i].into()));
    let d = of(&r, Code::CidrOverlap);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            cluster("c0"),
            cluster("c1"),
            cluster("c2"),
            cidr("10.0.0.0/8"),
            cidr("10.1.0.0/16"),
            cidr("10.2.0.0/16")
        ]
    );
    assert_eq!(
        d[0].message,
        "3 CIDRs overlap within 10.0.0.0/8: pod CIDR 10.0.0.0/8 of cluster c0, pod CIDR 10.1.0.0/16 of cluster c1, pod CIDR 10.2.0.0/16 of cluster c2"
    );
    assert!(
        d[0].explanation
            .contains("They overlap within 10.0.0.0/8 (16777216 addresses)"),
        "{}",
        d[0]
    );
}

// ---------------------------------------------------------------- api-server-unreachable

fn remote_with_api(api: &str, links: &str) -> MeshDocument {
    mesh(&format!(
        "  clusters:
  - {{name: p, network: n1}}
  - {{name: r, network: n2, controlPlane: p, apiServer: {api}}}
  meshNetworks:
    networks:
      n1: {{gateways: [{{address: 192.0.2.1, port: 15443}}]}}
      n2: {{gateways: [{{address: 192.0.2.2, port: 15443}}]}}
      n3: {{}}
{links}"
    ))
}

#[test]
fn api_server_unreachable_shows_the_path_tried() {
    let r = check(&remote_with_api("{address: 10.2.0.1:6443}", ""));
    let d = of(&r, Code::ApiServerUnreachable);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [cluster("p"), cluster("r"), network("n1"), network("n2")]
    );
    assert!(
        d[0].explanation.starts_with(
            "istiod in cluster p (network n1) -> API server of cluster r at 10.2.0.1:6443 (network n2, exposure private): broke at the network boundary"
        ),
        "{}",
        d[0]
    );
}

#[test]
fn api_server_reachable_by_link_exposure_or_reachable_from() {
    for (api, links) in [
        ("{address: 10.2.0.1:6443, exposure: public}", ""),
        ("{address: 10.2.0.1:6443, reachableFrom: [n1]}", ""),
        (
            "{address: 10.2.0.1:6443}",
            "  links: [{networks: [n1, n2]}]\n",
        ),
    ] {
        let r = check(&remote_with_api(api, links));
        assert!(
            of(&r, Code::ApiServerUnreachable).is_empty(),
            "{api} {links}\n{r}"
        );
    }
    // reachableFrom must name the control plane's network, not another.
    let r = check(&remote_with_api(
        "{address: 10.2.0.1:6443, reachableFrom: [n3]}",
        "",
    ));
    assert_eq!(of(&r, Code::ApiServerUnreachable).len(), 1, "{r}");
}

// ---------------------------------------------------------------- control-plane-unreachable

#[test]
fn control_plane_unreachable_without_link_or_gateway() {
    let doc = mesh(
        "  clusters:
  - {name: p, network: n1}
  - {name: r, network: n2, controlPlane: p, apiServer: {address: 1.2.3.4:6443, exposure: public}}
  meshNetworks:
    networks:
      n1: {}
      n2: {gateways: [{address: 192.0.2.2, port: 15443}]}
",
    );
    let r = check(&doc);
    let d = of(&r, Code::ControlPlaneUnreachable);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [cluster("p"), cluster("r"), network("n1"), network("n2")]
    );
    assert!(
        d[0].explanation
            .contains("network n1 has no usable east-west gateway"),
        "{}",
        d[0]
    );
    // A gateway on the primary's network exposes istiod.
    let mut fixed = doc.clone();
    fixed
        .spec
        .mesh_networks
        .networks
        .get_mut("n1")
        .unwrap()
        .gateways = fixed.spec.mesh_networks.networks["n2"].gateways.clone();
    fixed
        .spec
        .mesh_networks
        .networks
        .get_mut("n1")
        .unwrap()
        .gateways[0]
        .gw = Some(mesh_model::GatewayAddress::Address("192.0.2.1".into()));
    assert!(of(&check(&fixed), Code::ControlPlaneUnreachable).is_empty());
}

#[test]
fn control_plane_not_primary() {
    let r = check(&mesh(
        "  clusters: [{name: p}, {name: r, controlPlane: p}, {name: x, controlPlane: r}]\n",
    ));
    let d = of(&r, Code::ControlPlaneNotPrimary);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, [cluster("r"), cluster("x")]);
    assert!(d[0].fix.contains("Set controlPlane of cluster x to p"));
}

// ---------------------------------------------------------------- gateways and sidecars

const SPLIT: &str = "
  clusters:
  - {name: p, network: n1}
  - {name: r, network: n2, controlPlane: p, apiServer: {address: 1.2.3.4:6443, exposure: public}}
  meshNetworks:
    networks:
      n1: {endpoints: [{fromRegistry: p}], gateways: [{address: 192.0.2.1, port: 15443}]}
      n2: {endpoints: [{fromRegistry: r}], gateways: [{address: 192.0.2.2, port: 15443}]}
  services:
  - name: foo
    namespace: ns
    endpoints:
    - {cluster: r, address: 10.2.0.5}
    - {cluster: r, address: 10.2.0.6, tlsMode: disabled}
";

#[test]
fn network_without_gateway_when_consumed_from_unlinked_networks() {
    let with = mesh(SPLIT);
    assert!(of(&check(&with), Code::NetworkWithoutGateway).is_empty());
    let without = mesh(&SPLIT.replace(
        "gateways: [{address: 192.0.2.2, port: 15443}]",
        "gateways: []",
    ));
    let r = check(&without);
    let d = of(&r, Code::NetworkWithoutGateway);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, [network("n1"), network("n2")]);
    assert!(d[0].message.starts_with("network n2 has no usable gateway"));
    // Linked networks consume by IP: no gateway needed.
    let linked = mesh(&format!(
        "{}  links: [{{networks: [n1, n2]}}]\n",
        SPLIT.replace(
            "gateways: [{address: 192.0.2.2, port: 15443}]",
            "gateways: []"
        )
    ));
    assert!(of(&check(&linked), Code::NetworkWithoutGateway).is_empty());
}

#[test]
fn remote_endpoint_without_sidecar() {
    let r = check(&mesh(SPLIT));
    let d = of(&r, Code::RemoteEndpointWithoutSidecar);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            network("n1"),
            network("n2"),
            Subject::Service("foo.ns".into())
        ]
    );
    assert!(
        d[0].explanation
            .starts_with("10.2.0.6 (cluster r) has tlsMode disabled"),
        "{}",
        d[0]
    );
    let linked = check(&mesh(&format!(
        "{SPLIT}  links: [{{networks: [n1, n2]}}]\n"
    )));
    assert!(of(&linked, Code::RemoteEndpointWithoutSidecar).is_empty());
}

#[test]
fn gateway_unresolved_and_shared() {
    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: b, network: n2}]
  meshNetworks:
    networks:
      n1:
        endpoints: [{fromRegistry: a}]
        gateways:
        - {address: gw.example.com, port: 15443}
        - {registryServiceName: eastwest.istio-system.svc.cluster.local, port: 15443}
      n2: {gateways: [{address: gw2.example.com, port: 15443}]}
  dns: {gw2.example.com: [192.0.2.9], other.example.com: [192.0.2.9]}
  services:
  - {name: eastwest, namespace: istio-system, externalAddresses: {b: [192.0.2.9]}}
",
    ));
    let d = of(&r, Code::GatewayUnresolved);
    assert_eq!(d.len(), 2, "{r}");
    let names: BTreeSet<&Subject> = d.iter().flat_map(|d| &d.subjects).collect();
    assert!(names.contains(&Subject::Gateway("gw.example.com".into())));
    assert!(names.contains(&Subject::Gateway(
        "eastwest.istio-system.svc.cluster.local".into()
    )));
    assert!(d.iter().any(|d| d.explanation.contains("no DNS answer")));
    assert!(
        d.iter()
            .any(|d| d.explanation.contains("no external address"))
    );
    assert!(of(&r, Code::GatewaySharedByNetworks).is_empty());

    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: b, network: n2}]
  meshNetworks:
    networks:
      n1: {gateways: [{address: 192.0.2.9, port: 15443}]}
      n2: {gateways: [{address: 192.0.2.9, port: 15443}]}
",
    ));
    let d = of(&r, Code::GatewaySharedByNetworks);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            network("n1"),
            network("n2"),
            Subject::Gateway("192.0.2.9".into())
        ]
    );
}

// ---------------------------------------------------------------- MeshNetworks (V1-V7)

#[test]
fn meshnetworks_checks_istio_leaves_out() {
    let r = check(&mesh(
        "  clusters: [{name: a}]
  meshNetworks:
    networks:
      n1: {endpoints: [{fromCidr: 10.0.0.0/8}, {fromRegistry: a}, {fromCidr: 10.9.9.9}]}
      n2: {endpoints: [{fromCidr: 10.1.0.0/16}, {fromRegistry: a}]}
      n3: {endpoints: [{fromCidr: 11.0.0.0/8}, {fromCidr: 11.1.0.0/16}]}
",
    ));
    let d = of(&r, Code::AmbiguousNetworkCidr);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            network("n1"),
            network("n2"),
            cidr("10.0.0.0/8"),
            cidr("10.1.0.0/16")
        ]
    );
    assert!(
        d[0].explanation
            .contains("endpoints there are on network n1, never on n2")
    );
    let d = of(&r, Code::RegistryInSeveralNetworks);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, [cluster("a"), network("n1"), network("n2")]);
}

#[test]
fn ambiguous_network_cidrs_are_one_diagnostic_per_group() {
    // 1,000 networks with the same fromCidr, and n1000 / n1001 overlapping apart: two groups.
    let mut spec = String::from("  clusters: [{name: a}]\n  meshNetworks:\n    networks:\n");
    for i in 0..1000 {
        spec.push_str(&format!(
            "      n{i}: {{endpoints: [{{fromCidr: 10.0.0.0/8}}]}}\n"
        ));
    }
    spec.push_str("      n1000: {endpoints: [{fromCidr: 11.0.0.0/8}]}\n");
    spec.push_str("      n1001: {endpoints: [{fromCidr: 11.1.0.0/16}, {fromCidr: 11.2.0.0/16}]}\n");
    let r = check(&mesh(&spec));
    let d = of(&r, Code::AmbiguousNetworkCidr);
    assert_eq!(d.len(), 2, "{r}");
    let networks = |d: &Diagnostic| {
        d.subjects
            .iter()
            .filter(|s| matches!(s, Subject::Network(_)))
            .count()
    };
    let (big, small) = if networks(d[0]) > networks(d[1]) {
        (d[0], d[1])
    } else {
        (d[1], d[0])
    };
    assert_eq!(networks(big), 1000);
    assert!(
        big.message.starts_with(
            "1000 fromCidr ranges overlap within 10.0.0.0/8: fromCidr 10.0.0.0/8 of network n0, "
        ),
        "{}",
        big.message
    );
    assert!(big.message.ends_with("… and 990 more"), "{}", big.message);
    assert_eq!(
        small.subjects,
        [
            network("n1000"),
            network("n1001"),
            cidr("11.0.0.0/8"),
            cidr("11.1.0.0/16"),
            cidr("11.2.0.0/16")
        ]
    );
    assert!(
        small.explanation.contains("They overlap within 11.0.0.0/8 (16777216 addresses). istiod gives an address in that range the network of the broadest containing range (rule N3), so endpoints there are on network n1000, never on n1001"),
        "{small}"
    );
}

#[test]
fn invalid_meshnetworks_one_diagnostic_per_istio_error() {
    let r = check(&mesh(
        "  meshNetworks:
    networks:
      n1: {endpoints: [{fromCidr: bad-cidr}], gateways: [{address: 1nv@lid, port: 0}]}
",
    ));
    let msgs: Vec<&str> = of(&r, Code::InvalidMeshnetworks)
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "invalid network n1: 1nv@lid is not a valid IP address or DNS name",
            "invalid network n1: port number 0 must be in the range 1..65535",
        ]
    );
}

// ---------------------------------------------------------------- model errors

#[test]
fn model_errors_become_diagnostics() {
    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: a}, {name: b, controlPlane: zz}]
  links: [{networks: [n1, n1]}, {networks: [n1, nope]}]
  services:
  - {name: foo, namespace: ns}
  - {name: foo, namespace: ns}
",
    ));
    let want = [
        (Code::DegenerateLink, vec![network("n1")]),
        (Code::DuplicateCluster, vec![cluster("a")]),
        (
            Code::DuplicateService,
            vec![Subject::Service("foo.ns".into())],
        ),
        (Code::UnknownCluster, vec![cluster("zz")]),
        (Code::UnknownNetwork, vec![network("nope")]),
    ];
    let got: Vec<(Code, Vec<Subject>)> = r
        .diagnostics
        .iter()
        .map(|d| (d.code, d.subjects.clone()))
        .collect();
    assert_eq!(got, want, "{r}");
}

// ---------------------------------------------------------------- service-not-replicated

#[test]
fn service_not_replicated_in_a_vpn_mesh_only() {
    let vpn = "
  clusters:
  - {name: p, network: n1}
  - {name: r, network: n2, controlPlane: p}
  links: [{networks: [n1, n2]}]
  services:
  - {name: foo, namespace: ns, endpoints: [{cluster: p, address: 10.0.0.1}]}
  - {name: bar, namespace: ns, definedIn: [p, r]}
";
    let r = check(&mesh(vpn));
    assert_eq!(r.topology.kind, MeshKind::SingleControlPlaneVpn);
    let d = of(&r, Code::ServiceNotReplicated);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [cluster("r"), Subject::Service("foo.ns".into())]
    );
    assert!(
        d[0].explanation
            .contains("cannot resolve foo.ns.svc.cluster.local")
    );
    assert_eq!(d[0].severity, Severity::Info);
    // Without the link it is a split-horizon mesh: not this check's business.
    let split = check(&mesh(&vpn.replace("  links: [{networks: [n1, n2]}]\n", "")));
    assert_eq!(
        split.topology.kind,
        MeshKind::SingleControlPlaneSplitHorizon
    );
    assert!(of(&split, Code::ServiceNotReplicated).is_empty());
}

// ---------------------------------------------------------------- trust (with mesh-ca)

/// The CA material of the broken example: east's and west's bundles come from two roots.
fn ca_material() -> (mesh_model::CaCerts, mesh_model::CaCerts) {
    let broken = MeshDocument::parse(BROKEN).expect("the broken example parses");
    let of = |name: &str| {
        broken
            .spec
            .clusters
            .iter()
            .find(|c| c.name.as_str() == name)
            .and_then(|c| c.ca_certs.clone())
            .expect("the example's primaries carry caCerts")
    };
    (of("east"), of("west"))
}

fn two_primaries(a: Option<mesh_model::CaCerts>, b: Option<mesh_model::CaCerts>) -> MeshDocument {
    let mut doc = mesh("  clusters: [{name: a}, {name: b}]\n");
    doc.spec.clusters[0].ca_certs = a;
    doc.spec.clusters[1].ca_certs = b;
    doc
}

#[test]
fn trust_root_mismatch_between_replicated_control_planes() {
    let (east, west) = ca_material();
    let r = check_with(
        &two_primaries(Some(east.clone()), Some(west)),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert_eq!(d.len(), 2, "{r}");
    assert_eq!(
        d[0].message,
        "workloads of cluster a cannot verify workloads of cluster b"
    );
    assert_eq!(
        d[1].message,
        "workloads of cluster b cannot verify workloads of cluster a"
    );
    assert!(d[0].explanation.contains("(different-roots)"), "{}", d[0]);
    assert_eq!(r.diagnostics.len(), 2, "{r}");
    // One root for both: nothing to report.
    let r = check_with(
        &two_primaries(Some(east.clone()), Some(east.clone())),
        &CheckOptions::at(NOW),
    );
    assert!(r.diagnostics.is_empty(), "{r}");
    // Expired by 2030: the chains break.
    let r = check_with(
        &two_primaries(Some(east.clone()), Some(east)),
        &CheckOptions::at(1_900_000_000),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert!(
        !d.is_empty() && d.iter().all(|d| d.explanation.contains("(expired)")),
        "{r}"
    );
}

#[test]
fn trust_unreadable_material_is_a_mismatch_naming_the_cluster() {
    let (east, _) = ca_material();
    let garbage = mesh_model::CaCerts {
        root_cert: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".into(),
        ca_cert: east.ca_cert.clone(),
        cert_chain: east.cert_chain.clone(),
    };
    let r = check_with(
        &two_primaries(Some(east), Some(garbage)),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].message, "the CA material of cluster b cannot be read");
    assert_eq!(d[0].subjects, [cluster("b")]);
}

#[test]
fn trust_unverified_without_material_or_time() {
    let (east, west) = ca_material();
    let r = check_with(
        &two_primaries(Some(east.clone()), None),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustUnverified);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, [cluster("b")]);
    assert_eq!(d[0].severity, Severity::Info);
    assert!(
        d[0].explanation
            .ends_with("Only a carry caCerts in the document"),
        "{}",
        d[0]
    );
    assert!(of(&r, Code::TrustRootMismatch).is_empty());
    // No time given: material present but not verified.
    let r = check(&two_primaries(Some(east), Some(west)));
    let d = of(&r, Code::TrustUnverified);
    assert_eq!(d.len(), 1, "{r}");
    assert!(d[0].message.contains("no time given"));
    // One control plane: its istiod issues every certificate, nothing to compare.
    let mut single = two_primaries(None, None);
    single.spec.clusters[1].control_plane = Some("a".parse().unwrap());
    assert!(
        check_with(&single, &CheckOptions::at(NOW))
            .diagnostics
            .is_empty()
    );
}

// ---------------------------------------------------------------- examples

/// 2026-01-01: inside the validity of the broken example's CA material (issued 2025-11-01).
const NOW: i64 = 1_767_225_600;

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
        (Code::UnknownNetwork, network("net-zzz")),
        (Code::ClusterNotWatched, cluster("west")),
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
    ];
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

// ---------------------------------------------------------------- what-if

fn lost(w: &mesh_topology::WhatIf, net: &str, svc: &str) -> Vec<String> {
    w.impacts
        .iter()
        .find(|i| i.client_network == net && i.service == svc)
        .map(|i| {
            i.lost
                .iter()
                .flat_map(|l| {
                    l.addresses
                        .iter()
                        .map(move |a| format!("{a}@{}", l.cluster))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn what_if_gateway_down() {
    let doc = mesh(SPLIT);
    let w = simulate(&doc, &"gateway:n2/192.0.2.2".parse().unwrap()).unwrap();
    // n1 reached foo's sidecar endpoint through n2's only gateway; the no-sidecar one never.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r"]);
    let i = &w.impacts[0];
    assert!(i.unreachable && i.remaining == 0);
    assert_eq!(w.impacts.len(), 1, "{w}");
    let new: Vec<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(new, [Code::NetworkWithoutGateway]);
    // The gateway of the other network does not matter to foo... but exposes istiod to r.
    let w = simulate(&doc, &"gateway:n1/192.0.2.1".parse().unwrap()).unwrap();
    let new: Vec<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(new, [Code::ControlPlaneUnreachable]);
    // r's workloads lose their control plane: all they had is lost.
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    // A gateway that does not exist is an error that lists the network's gateways.
    assert_eq!(
        simulate(&doc, &"gateway:n2/192.0.2.99".parse().unwrap()).unwrap_err(),
        WhatIfError::NoSuchGateway {
            failure: "gateway:n2/192.0.2.99".into(),
            network: "n2".into(),
            address: "192.0.2.99".into(),
            known: vec!["192.0.2.2".into()],
        }
    );
}

#[test]
fn what_if_names_must_exist_and_hostnames_take_all_their_addresses() {
    let doc = mesh(SPLIT);
    let err = |f: &str| simulate(&doc, &f.parse().unwrap()).unwrap_err().to_string();
    assert_eq!(
        err("cluster:zz"),
        "cluster:zz: there is no cluster zz in this mesh"
    );
    assert_eq!(
        err("api-server:zz"),
        "api-server:zz: there is no cluster zz in this mesh"
    );
    assert_eq!(
        err("partition:n1,n9"),
        "partition:n1,n9: there is no network n9 in this mesh"
    );
    assert_eq!(
        err("link:n1,n2"),
        "link:n1,n2: no link joins n1 and n2 directly"
    );
    assert_eq!(
        err("gateway:n2/gw.example.com"),
        "gateway:n2/gw.example.com: network n2 has no gateway gw.example.com (its gateways: 192.0.2.2)"
    );
    // A hostname gateway resolving to two addresses: one address down loses nothing, the
    // hostname takes both.
    let doc = mesh(&format!(
        "{}  dns: {{gw.example.com: [192.0.2.7, 192.0.2.8]}}\n",
        SPLIT.replace(
            "{address: 192.0.2.2, port: 15443}",
            "{address: gw.example.com, port: 15443}"
        )
    ));
    let one = simulate(&doc, &"gateway:n2/192.0.2.7".parse().unwrap()).unwrap();
    assert!(one.impacts.is_empty(), "{one}");
    let both = simulate(&doc, &"gateway:n2/gw.example.com".parse().unwrap()).unwrap();
    assert_eq!(lost(&both, "n1", "foo.ns"), ["10.2.0.5@r"]);
}

#[test]
fn what_if_link_cut_and_partition() {
    let doc = mesh(&format!(
        "{}  links: [{{networks: [n1, n2]}}]\n",
        SPLIT.replace(
            "gateways: [{address: 192.0.2.2, port: 15443}]",
            "gateways: []"
        )
    ));
    assert!(!check(&doc).has_errors());
    let w = simulate(&doc, &"link:n2,n1".parse().unwrap()).unwrap();
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(w.any_unreachable());
    let new: BTreeSet<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        new,
        BTreeSet::from([
            Code::NetworkWithoutGateway,
            Code::RemoteEndpointWithoutSidecar
        ])
    );
    // A partition breaks gateway paths too: with n2's gateway back, a cut link still leaves
    // the sidecar endpoint reachable, a partition does not.
    let doc = mesh(&format!("{SPLIT}  links: [{{networks: [n1, n2]}}]\n"));
    let cut = simulate(&doc, &"link:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(lost(&cut, "n1", "foo.ns"), ["10.2.0.6@r"]);
    let part = simulate(&doc, &"partition:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(lost(&part, "n1", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(
        part.new_diagnostics
            .iter()
            .any(|d| d.code == Code::ControlPlaneUnreachable)
    );
}

#[test]
fn what_if_api_server_unreachable_and_cluster_removed() {
    let doc = mesh(SPLIT);
    let w = simulate(&doc, &"api-server:r".parse().unwrap()).unwrap();
    let d: Vec<&Diagnostic> = w.new_diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{w}");
    assert_eq!(d[0].code, Code::ApiServerUnreachable);
    assert_eq!(d[0].subjects, [cluster("p"), cluster("r")]);
    // istiod no longer sees r's endpoints: every client loses them.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r"]);
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);

    let w = simulate(&doc, &"cluster:p".parse().unwrap()).unwrap();
    let d: Vec<&Diagnostic> = w.new_diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{w}");
    assert_eq!(d[0].code, Code::ControlPlaneUnreachable);
    assert!(
        d[0].explanation
            .contains("cluster p, which runs the control plane of r, is gone")
    );
    // n1's only cluster is gone: no clients there to report on; n2 lost its control plane.
    assert!(w.impacts.iter().all(|i| i.client_network == "n2"));
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
}

#[test]
fn what_if_on_the_broken_example_is_deterministic() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let f: Failure = "cluster:east".parse().unwrap();
    assert_eq!(simulate(&doc, &f), simulate(&doc, &f));
    let w = simulate(&doc, &f).unwrap();
    // east-vpn's control plane is gone.
    assert!(
        w.new_diagnostics
            .iter()
            .any(|d| d.code == Code::ControlPlaneUnreachable
                && d.subjects.contains(&cluster("east-vpn")))
    );
}

// ---------------------------------------------------------------- picture

#[test]
fn dot_groups_by_network_and_marks_problems_red() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let dot = to_dot(&doc, &check(&doc));
    assert!(dot.starts_with("digraph mesh {\n"));
    assert!(dot.ends_with("}\n"));
    assert!(dot.contains("label=\"network net-a\"; color=red;"), "{dot}");
    assert!(dot.contains("\"cluster:west-remote\" -> \"cluster:west\" [style=dashed, label=\"control plane\", color=red];"), "{dot}");
    assert!(dot.contains("\"cluster:east-vpn\" -> \"cluster:east\" [style=dashed, label=\"control plane\", color=black];"), "{dot}");
    assert!(dot.contains(
        "\"network:net-a\" -> \"network:net-b\" [dir=none, style=bold, label=\"link\"];"
    ));
    assert!(dot.contains("\"unresolved:net-a/eastwest.east.example.com\""));
    assert!(dot.contains("label=\"API server unreachable\", color=red"));
    // A valid mesh has no red at all.
    let ok = MeshDocument::parse(test_support::EXAMPLE_SPLIT_HORIZON).unwrap();
    let dot = to_dot(&ok, &check(&ok));
    assert!(!dot.contains("red"), "{dot}");
    assert!(dot.contains("\"cluster:cluster2\" -> \"cluster:cluster1\""));
}

// ---------------------------------------------------------------- properties

mod properties {
    use mesh_model::strategies::{MeshSize, mesh_document};
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// A valid generated mesh (disjoint ranges, gateways everywhere, public API servers)
        /// produces no error.
        #[test]
        fn generated_valid_meshes_have_no_errors(doc in mesh_document(MeshSize::default())) {
            let r = check(&doc);
            prop_assert!(!r.has_errors(), "{}", r);
        }

        /// The same for larger meshes: more clusters than networks, several gateways.
        #[test]
        fn larger_generated_valid_meshes_have_no_errors(doc in mesh_document(MeshSize {
            clusters: 5..=16,
            networks: 2..=6,
            services: 0..=12,
            ..MeshSize::default()
        })) {
            let r = check(&doc);
            prop_assert!(!r.has_errors(), "{}", r);
        }

        /// Any mix of mistakes (duplicates, dangling references, chains of control planes,
        /// overlapping ranges, unresolvable gateways) is reported, never a panic; what-if and the
        /// picture work on it too, and the report is deterministic.
        #[test]
        fn messy_meshes_never_panic(
            clusters in proptest::collection::vec((0usize..6, proptest::option::of(0usize..7), proptest::option::of(0usize..5), 0u8..4, any::<bool>()), 0..8),
            links in proptest::collection::vec(proptest::collection::vec(0usize..5, 1..4), 0..4),
            gateways in proptest::collection::vec((0usize..5, 0u8..3), 0..5),
            endpoints in proptest::collection::vec((0usize..6, 0u8..4, any::<bool>()), 0..8),
        ) {
            let mut yaml = String::from(if clusters.is_empty() { "  clusters: []\n" } else { "  clusters:\n" });
            for (name, cp, net, cidr, public) in &clusters {
                yaml.push_str(&format!("  - {{name: c{name}, podCidrs: [10.{cidr}.0.0/16], serviceCidrs: [10.{}.0.0/17]", cidr + 1));
                if let Some(cp) = cp { yaml.push_str(&format!(", controlPlane: c{cp}")); }
                if let Some(net) = net { yaml.push_str(&format!(", network: n{net}")); }
                let exposure = if *public { "public" } else { "private" };
                yaml.push_str(&format!(", apiServer: {{address: 1.2.3.4:6443, exposure: {exposure}}}}}\n"));
            }
            yaml.push_str("  meshNetworks:\n    networks:\n");
            for n in 0..4 {
                yaml.push_str(&format!("      n{n}:\n        endpoints: [{{fromRegistry: c{n}}}, {{fromCidr: 10.{n}.0.0/{}}}]\n        gateways:\n", 8 + n));
                for (gn, kind) in gateways.iter().filter(|(g, _)| *g == n) {
                    let gw = match kind {
                        0 => format!("{{address: 192.0.2.{gn}, port: 15443}}"),
                        1 => format!("{{address: gw{gn}.example.com, port: 15443}}"),
                        _ => "{registryServiceName: eastwest.istio-system.svc.cluster.local, port: 0}".to_owned(),
                    };
                    yaml.push_str(&format!("        - {gw}\n"));
                }
                yaml.push_str("        - {address: 192.0.2.99, port: 15443}\n");
            }
            if !links.is_empty() {
                yaml.push_str("  links:\n");
                for l in &links {
                    let ns: Vec<String> = l.iter().map(|n| format!("n{n}")).collect();
                    yaml.push_str(&format!("  - {{networks: [{}]}}\n", ns.join(", ")));
                }
            }
            yaml.push_str("  dns: {gw1.example.com: [192.0.2.50]}\n  services:\n  - name: foo\n    namespace: ns\n    endpoints:\n");
            for (c, host, sidecar) in &endpoints {
                let tls = if *sidecar { "istio" } else { "disabled" };
                yaml.push_str(&format!("    - {{cluster: c{c}, address: 10.{c}.0.{host}, tlsMode: {tls}}}\n"));
            }
            if endpoints.is_empty() {
                yaml = yaml.replace("    endpoints:\n", "");
            }
            let doc = mesh(&yaml);
            let r = check(&doc);
            prop_assert_eq!(&r, &check(&doc));
            let mut sorted = r.diagnostics.clone();
            sorted.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            prop_assert_eq!(
                r.diagnostics.iter().map(Diagnostic::sort_key).collect::<Vec<_>>(),
                sorted.iter().map(Diagnostic::sort_key).collect::<Vec<_>>()
            );
            let _ = to_dot(&doc, &r);
            for f in ["gateway:n0/192.0.2.99", "link:n0,n1", "partition:n0,n1", "cluster:c0", "api-server:c1"] {
                if let Ok(w) = simulate(&doc, &f.parse().unwrap()) {
                    let _ = w.to_string();
                }
            }
        }

        /// Which API servers and control planes are unreachable agrees with a naive BFS over the
        /// links from every remote (the check itself computes flat spaces once).
        #[test]
        fn reachability_agrees_with_bfs_oracle(
            nets in 2usize..7,
            remotes in proptest::collection::vec((0usize..7, any::<bool>(), proptest::option::of(0usize..7)), 1..8),
            links in proptest::collection::vec((0usize..7, 0usize..7), 0..8),
            gateway_on_primary in any::<bool>(),
        ) {
            let net = |i: usize| format!("n{}", i % nets);
            let mut yaml = String::from("  clusters:\n  - {name: p, network: n0}\n");
            for (i, (n, public, from)) in remotes.iter().enumerate() {
                let exposure = if *public { "public" } else { "private" };
                let from = from.map(|f| format!("[{}]", net(f))).unwrap_or_else(|| "[]".into());
                yaml.push_str(&format!(
                    "  - {{name: r{i}, network: {}, controlPlane: p, apiServer: {{address: '10.0.0.{i}:6443', exposure: {exposure}, reachableFrom: {from}}}}}\n",
                    net(*n)
                ));
            }
            yaml.push_str("  meshNetworks:\n    networks:\n");
            for n in 0..nets {
                let gw = if n == 0 && gateway_on_primary { "gateways: [{address: 192.0.2.1, port: 15443}]" } else { "" };
                yaml.push_str(&format!("      n{n}: {{{gw}}}\n"));
            }
            let links: Vec<(usize, usize)> = links.into_iter().map(|(a, b)| (a % nets, b % nets)).filter(|(a, b)| a != b).collect();
            if !links.is_empty() {
                yaml.push_str("  links:\n");
                for (a, b) in &links {
                    yaml.push_str(&format!("  - {{networks: [n{a}, n{b}]}}\n"));
                }
            }
            let r = check(&mesh(&yaml));
            // The oracle: BFS over the links from the primary's network n0.
            let mut seen = vec![false; nets];
            let mut queue = std::collections::VecDeque::from([0usize]);
            seen[0] = true;
            while let Some(x) = queue.pop_front() {
                for &(a, b) in &links {
                    for (u, v) in [(a, b), (b, a)] {
                        if u == x && !seen[v] {
                            seen[v] = true;
                            queue.push_back(v);
                        }
                    }
                }
            }
            for (i, (n, public, from)) in remotes.iter().enumerate() {
                let name = format!("r{i}");
                let linked = seen[n % nets];
                let api_ok = linked || *public || from.is_some_and(|f| f % nets == 0);
                let cp_ok = linked || gateway_on_primary;
                let flagged = |code| of(&r, code).iter().any(|d| d.subjects.contains(&cluster(&name)));
                prop_assert_eq!(flagged(Code::ApiServerUnreachable), !api_ok, "{} api\n{}", name, r);
                prop_assert_eq!(flagged(Code::ControlPlaneUnreachable), !cp_ok, "{} cp\n{}", name, r);
            }
        }

        /// Injected pod-CIDR overlaps between linked clusters are each found, and nothing else
        /// overlaps.
        #[test]
        fn injected_overlaps_are_found(
            doc in mesh_document(MeshSize { clusters: 2..=6, networks: 1..=1, ..MeshSize::default() }),
            picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..=8), 1..4),
        ) {
            let mut doc = doc;
            let n = doc.spec.clusters.len();
            let mut want = BTreeSet::new();
            for (a, b, extra) in picks {
                let (a, b) = (a.index(n), b.index(n));
                if a == b {
                    continue;
                }
                let base = doc.spec.clusters[a].pod_cidrs[0];
                let inner = ipnet::IpNet::new(base.network(), base.prefix_len() + extra).unwrap();
                doc.spec.clusters[b].pod_cidrs.push(inner);
                want.insert((doc.spec.clusters[a].name.to_string(), doc.spec.clusters[b].name.to_string(), inner.to_string()));
            }
            let r = check(&doc);
            let got: Vec<&Diagnostic> = of(&r, Code::CidrOverlap);
            for (a, b, inner) in &want {
                prop_assert!(got.iter().any(|d| d.subjects.contains(&cluster(a)) && d.subjects.contains(&cluster(b)) && d.subjects.contains(&cidr(inner))), "{} {} {}\n{}", a, b, inner, r);
            }
            // Every report involves an injected range (two injected ranges may overlap each other).
            let injected: BTreeSet<&str> = want.iter().map(|w| w.2.as_str()).collect();
            for d in &got {
                prop_assert!(d.subjects.iter().any(|s| matches!(s, Subject::Cidr(c) if injected.contains(c.as_str()))), "{}", d);
            }
        }
    }
}

#[test]
fn global_vip_range_must_not_overlap_and_must_fit() {
    let base = "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n";
    let two_primaries = "  clusters:\n  - {name: a, network: n1, podCidrs: [10.0.0.0/16], serviceCidrs: [10.100.0.0/16]}\n  - {name: b, network: n2, podCidrs: [10.1.0.0/16]}\n";
    // Replicated control planes with the default 240.0.0.0/4: nothing to report.
    let ok = MeshDocument::parse(&format!("{base}{two_primaries}")).unwrap();
    assert!(of(&check(&ok), Code::GlobalVipOverlap).is_empty());
    // A range that overlaps a pod CIDR and a service CIDR: one diagnostic each.
    let bad = MeshDocument::parse(&format!(
        "{base}  globalVipRange: 10.0.0.0/8\n{two_primaries}"
    ))
    .unwrap();
    let r = check(&bad);
    let found = of(&r, Code::GlobalVipOverlap);
    assert_eq!(found.len(), 3, "{r}");
    assert!(
        found
            .iter()
            .any(|d| d.subjects.contains(&Subject::Cidr("10.100.0.0/16".into())))
    );
    assert!(
        found[0].explanation.contains("They share"),
        "{}",
        found[0].explanation
    );
    // A range too small for the services.
    let services = "  services:\n  - {name: s1, namespace: ns}\n  - {name: s2, namespace: ns}\n  - {name: s3, namespace: ns}\n";
    let small = MeshDocument::parse(&format!(
        "{base}  globalVipRange: 240.0.0.0/30\n{two_primaries}{services}"
    ))
    .unwrap();
    let r = check(&small);
    let found = of(&r, Code::GlobalVipOverlap);
    assert_eq!(found.len(), 1, "{r}");
    assert!(
        found[0]
            .explanation
            .contains("has 2 usable addresses but 3 services need one"),
        "{}",
        found[0].explanation
    );
    // One control plane and no explicit range: not a replicated mesh, not checked.
    let single = "  clusters:\n  - {name: a, network: n1, podCidrs: [240.0.0.0/16]}\n";
    let r = check(&MeshDocument::parse(&format!("{base}{single}")).unwrap());
    assert!(of(&r, Code::GlobalVipOverlap).is_empty());
}
