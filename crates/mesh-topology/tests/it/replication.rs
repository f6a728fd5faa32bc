//! service-not-replicated.

use super::*;

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
