//! control-plane-unreachable and control-plane-not-primary.

use super::*;

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

#[test]
fn control_plane_cycles_are_one_diagnostic_naming_the_cycle() {
    for (clusters, ring, fix) in [
        (
            "[{name: a, controlPlane: b}, {name: b, controlPlane: a}]",
            "a → b → a",
            "remove controlPlane from cluster a) and set controlPlane of b to it",
        ),
        (
            "[{name: b, controlPlane: c}, {name: a, controlPlane: b}, {name: c, controlPlane: a}]",
            "a → b → c → a",
            "remove controlPlane from cluster a) and set controlPlane of b, c to it",
        ),
    ] {
        let r = check(&mesh(&format!("  clusters: {clusters}\n")));
        let d = of(&r, Code::ControlPlaneCycle);
        assert_eq!(d.len(), 1, "{r}");
        assert_eq!(d[0].message, format!("controlPlane cycle: {ring}"));
        assert!(d[0].fix.contains(fix), "{}", d[0].fix);
        assert!(of(&r, Code::ControlPlaneNotPrimary).is_empty(), "{r}");
        assert_eq!(r.topology.kind, MeshKind::NoPrimary, "{r}");
    }
    // A cluster leading into a cycle is not told to use a member of it as "the primary".
    let r = check(&mesh(
        "  clusters: [{name: a, controlPlane: b}, {name: b, controlPlane: a}, {name: x, controlPlane: a}]\n",
    ));
    let d = of(&r, Code::ControlPlaneNotPrimary);
    assert_eq!(d.len(), 1, "{r}");
    assert!(!d[0].fix.contains("(the primary"), "{}", d[0].fix);
    assert!(
        d[0].explanation.contains("cycle of a, b"),
        "{}",
        d[0].explanation
    );
    // A longer chain names the primary it ends in.
    let r = check(&mesh(
        "  clusters: [{name: p}, {name: r, controlPlane: p}, {name: s, controlPlane: r}, {name: x, controlPlane: s}]\n",
    ));
    let d = of(&r, Code::ControlPlaneNotPrimary);
    assert!(
        d.iter().all(|d| d.fix.contains(" to p (the primary")),
        "{r}"
    );
}
