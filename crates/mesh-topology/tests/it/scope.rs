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

const TWO: &str = "  clusters:
  - {name: east, network: n1}
  - {name: west, network: n2, controlPlane: east, apiServer: {address: 1.2.3.4:6443, exposure: public}}
  - {name: solo, network: n1}
  services:
  - {name: reviews, namespace: bookinfo, ports: [{port: 9080}], endpoints: [{cluster: east, address: 10.1.0.20}, {cluster: west, address: 10.2.0.20}]}
  - {name: kube-dns, namespace: kube-system, ports: [{port: 53}], endpoints: [{cluster: east, address: 10.1.0.10}, {cluster: west, address: 10.2.0.10}]}
";

fn lost(w: &mesh_topology::EventWhatIf, phase: usize) -> Vec<(String, String, usize, bool)> {
    w.phases[phase]
        .impacts
        .iter()
        .map(|i| {
            (
                i.client_cluster.clone(),
                i.impact.service.clone(),
                i.impact.lost.iter().map(|l| l.addresses.len()).sum(),
                i.impact.unreachable,
            )
        })
        .collect()
}

#[test]
fn lifecycle_events_per_client_cluster_and_profile() {
    use mesh_eds::LifecycleProfile::{IstioModern, IstioPre61044};
    use mesh_topology::simulate_event;
    let doc = mesh(TWO);
    let ev = |s: &str| s.parse::<mesh_topology::ClusterEvent>().unwrap();
    // Master: make-before-break, nothing lost; istiod is not ready while the rotation is pending.
    let w = simulate_event(&doc, &ev("secret-rotated:west"), IstioModern).unwrap();
    assert_eq!(w.phases.len(), 2);
    assert!(w.phases.iter().all(|p| p.impacts.is_empty()), "{w}");
    assert!(!w.phases[0].ready && w.phases[1].ready);
    assert!(!w.any_unreachable());
    // Before istio#61044: west's endpoints are wiped once the new credentials sync.
    let w = simulate_event(&doc, &ev("secret-rotated:west"), IstioPre61044).unwrap();
    assert!(lost(&w, 0).is_empty());
    let s = |c: &str, svc: &str, n: usize, u: bool| (c.to_owned(), svc.to_owned(), n, u);
    let wiped = vec![
        s("east", "reviews.bookinfo", 1, false),
        // kube-dns is cluster-local: only west's own proxies ever had west's endpoint.
        s("west", "kube-dns.kube-system", 1, true),
        s("west", "reviews.bookinfo", 1, false),
    ];
    assert_eq!(lost(&w, 1), wiped, "{w}");
    assert!(w.to_string().contains("until istiod restarts"), "{w}");
    let w = simulate_event(&doc, &ev("secret-deleted:west"), IstioModern).unwrap();
    assert_eq!(lost(&w, 0), wiped, "{w}");
    // A sync timeout: absent from the start; readiness stops waiting once it elapses.
    let w = simulate_event(&doc, &ev("sync-timeout:west"), IstioModern).unwrap();
    assert_eq!(lost(&w, 1), wiped, "{w}");
    assert!(!w.phases[0].ready && w.phases[1].ready);
    // solo is a primary no one watches: no remote secret to rotate.
    assert!(matches!(
        simulate_event(&doc, &ev("secret-deleted:solo"), IstioModern),
        Err(mesh_topology::ClusterEventError::NoRemoteSecret { .. })
    ));
    assert!(matches!(
        simulate_event(&doc, &ev("sync-timeout:nowhere"), IstioModern),
        Err(mesh_topology::ClusterEventError::UnknownCluster { .. })
    ));
    for bad in [
        "secret-rotated:",
        "rotated:west",
        "secret-deleted:a,b",
        "west",
    ] {
        assert!(bad.parse::<mesh_topology::ClusterEvent>().is_err(), "{bad}");
    }
}

#[test]
fn event_absences_per_phase_kind_and_profile() {
    use mesh_eds::Absence::{NotRegistered, NotSynced, SyncTimedOut, Wiped};
    use mesh_eds::LifecycleProfile::{IstioModern, IstioPre61044};
    use mesh_topology::event_absences;
    let doc = mesh(TWO);
    let [east, west, solo] = ["east", "west", "solo"].map(|c| c.parse().unwrap());
    for (event, profile, expected) in [
        ("secret-rotated:west", IstioModern, vec![None, None]),
        (
            "secret-rotated:west",
            IstioPre61044,
            vec![None, Some(Wiped)],
        ),
        (
            "secret-deleted:west",
            IstioModern,
            vec![Some(NotRegistered)],
        ),
        (
            "secret-deleted:west",
            IstioPre61044,
            vec![Some(NotRegistered)],
        ),
        (
            "sync-timeout:west",
            IstioModern,
            vec![Some(NotSynced), Some(SyncTimedOut)],
        ),
        (
            "sync-timeout:west",
            IstioPre61044,
            vec![Some(NotSynced), Some(SyncTimedOut)],
        ),
    ] {
        let a = event_absences(&doc, &event.parse().unwrap(), profile).unwrap();
        let of = |c| a.phases.iter().map(|p| a.absence(p, c)).collect::<Vec<_>>();
        // east reads west; west's proxies are served by east; solo does not read west.
        assert_eq!(of(&east), expected, "{event} {profile}");
        assert_eq!(of(&west), expected, "{event} {profile}");
        assert!(of(&solo).iter().all(Option::is_none), "{event} {profile}");
        // Only west's endpoints are withheld, each with the phase's reason.
        let eds = mesh_eds::DocumentEds::new(&doc, mesh_eds::Features::default());
        let reviews = eds
            .services
            .iter()
            .find(|s| s.service.to_string() == "reviews.bookinfo")
            .unwrap();
        for (p, why) in a.phases.iter().zip(&expected) {
            let (kept, withheld) = a.withhold(p, &east, reviews.endpoints.clone());
            let addr = |e: &mesh_eds::EdsEndpoint| e.address().to_owned();
            let withheld: Vec<_> = withheld.iter().map(|(e, w)| (addr(e), *w)).collect();
            let expect: Vec<_> = why.iter().map(|w| ("10.2.0.20".to_owned(), *w)).collect();
            assert_eq!(withheld, expect, "{event} {profile} {}", p.when);
            let kept: Vec<_> = kept.iter().map(addr).collect();
            let expect_kept = if why.is_some() {
                vec!["10.1.0.20"]
            } else {
                vec!["10.1.0.20", "10.2.0.20"]
            };
            assert_eq!(kept, expect_kept, "{event} {profile}");
        }
    }
}
