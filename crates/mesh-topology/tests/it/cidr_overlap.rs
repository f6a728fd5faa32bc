//! cidr-overlap.

use super::*;

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
