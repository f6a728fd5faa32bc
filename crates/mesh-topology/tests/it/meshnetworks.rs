//! MeshNetworks (V1-V7).

use super::*;

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
