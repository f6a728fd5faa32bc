//! Service scope diagnostics, each on a small mesh made to trigger it and not on the same mesh
//! fixed.

use super::*;

#[test]
fn proxy_cluster_id_unregistered_unless_a_registry_has_that_name() {
    let with = |id: &str| {
        check(&mesh(&format!(
            "  clusters:\n  - {{name: p, network: n1, proxyClusterId: {id}}}\n  - {{name: q, network: n1, controlPlane: p}}\n"
        )))
    };
    let r = with("cluster-2");
    let d = of(&r, Code::ProxyClusterIdUnregistered);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, vec![cluster("p")]);
    assert!(
        d[0].message.contains("CLUSTER_ID cluster-2"),
        "{}",
        d[0].message
    );
    assert!(d[0].fix.contains("--clusterAliases"));
    assert!(of(&with("p"), Code::ProxyClusterIdUnregistered).is_empty());
    assert!(of(&with("q"), Code::ProxyClusterIdUnregistered).is_empty());
}

#[test]
fn cluster_local_mismatch_between_control_planes() {
    let doc = |a: &str, b: &str| {
        check(&mesh(&format!(
            "  clusters:
  - name: a
    meshConfig: {{serviceSettings: [{{settings: {{clusterLocal: {a}}}, hosts: ['*.ns.svc.cluster.local']}}]}}
  - name: b
    meshConfig: {{serviceSettings: [{{settings: {{clusterLocal: {b}}}, hosts: [foo.ns.svc.cluster.local]}}]}}
  services:
  - {{name: foo, namespace: ns, endpoints: [{{cluster: a, address: 10.0.0.1}}]}}
  - {{name: kube-dns, namespace: kube-system, endpoints: [{{cluster: a, address: 10.0.0.2}}]}}
"
        )))
    };
    let r = doc("true", "false");
    let d = of(&r, Code::ClusterLocalMismatch);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        vec![
            cluster("a"),
            cluster("b"),
            Subject::Service("foo.ns".into())
        ]
    );
    assert!(
        d[0].message
            .contains("cluster-local for the control plane of a and global for that of b")
    );
    // The same setting everywhere, and kube-system (cluster-local by default for both): none.
    assert!(of(&doc("true", "true"), Code::ClusterLocalMismatch).is_empty());
    // spec.meshConfig applies to a control plane without its own.
    let shared = check(&mesh(
        "  meshConfig: {serviceSettings: [{settings: {clusterLocal: true}, hosts: [foo.ns.svc.cluster.local]}]}
  clusters: [{name: a}, {name: b}]
  services: [{name: foo, namespace: ns, endpoints: [{cluster: a, address: 10.0.0.1}]}]
",
    ));
    assert!(
        of(&shared, Code::ClusterLocalMismatch).is_empty(),
        "{shared}"
    );
}

#[test]
fn mcs_export_unreachable_without_a_gateway_or_mcs() {
    let doc = |mcs: bool, gateway: bool| {
        let gw = if gateway {
            ", gateways: [{address: 192.0.2.2, port: 15443}]"
        } else {
            ""
        };
        check(&mesh(&format!(
            "  mcs: {{serviceDiscovery: {mcs}}}
  clusters:
  - {{name: p, network: n1}}
  - {{name: r, network: n2, controlPlane: p, apiServer: {{address: 1.2.3.4:6443, exposure: public}}}}
  meshNetworks:
    networks:
      n1: {{endpoints: [{{fromRegistry: p}}], gateways: [{{address: 192.0.2.1, port: 15443}}]}}
      n2: {{endpoints: [{{fromRegistry: r}}]{gw}}}
  services:
  - {{name: foo, namespace: ns, serviceExports: [r, p], endpoints: [{{cluster: r, address: 10.2.0.5}}]}}
"
        )))
    };
    let r = doc(true, false);
    let d = of(&r, Code::McsExportUnreachable);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        vec![
            cluster("r"),
            network("n2"),
            Subject::Service("foo.ns".into())
        ]
    );
    assert!(
        d[0].message
            .contains("clients on n1 cannot reach network n2")
    );
    assert!(of(&doc(false, false), Code::McsExportUnreachable).is_empty());
    assert!(of(&doc(true, true), Code::McsExportUnreachable).is_empty());
}
