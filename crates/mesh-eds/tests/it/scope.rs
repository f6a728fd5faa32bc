//! The scope stage in the push path: a cluster-local service's endpoints reach a class from its
//! own cluster only, never as a gateway for another cluster, while its own cluster's endpoints on
//! another network still go through that network's gateway (rule S12).

use mesh_eds::{
    ClusterRequest, Delta, EdsEndpoint, EdsStore, EndpointKind, Features, ProxyClass, ScopeInput,
    ServiceScope,
};
use mesh_model::{ClusterLocalHosts, Gateway};

fn ep(address: &str, network: &str) -> EdsEndpoint {
    EdsEndpoint {
        addresses: vec![address.into()],
        port: 80,
        network: network.parse().ok(),
        ..EdsEndpoint::default()
    }
}

#[test]
fn a_cluster_local_service_stays_in_the_proxy_cluster_but_not_on_its_network() {
    let svc: ClusterRequest = "outbound|80||dns.kube-system.svc.cluster.local"
        .parse()
        .expect("valid name");
    let class = |network: &str, cluster: &str| ProxyClass {
        network: network.parse().ok(),
        cluster: cluster.parse().ok(),
        ..ProxyClass::default()
    };
    let (east, west) = (class("n1", "east"), class("n2", "west"));
    let hosts = ClusterLocalHosts::new(&[], "cluster.local", None);
    let scope = ServiceScope::resolve(&ScopeInput {
        hostname: &svc.host,
        ..ScopeInput::new(&hosts)
    });
    let upsert = |cluster: &str, key: &str, endpoint: EdsEndpoint| Delta::UpsertEndpoint {
        service: svc.clone(),
        cluster: cluster.parse().ok(),
        key: key.into(),
        endpoint,
    };
    let mut store = EdsStore::new(Features::default());
    store.apply([
        Delta::AddClass(east.clone()),
        Delta::AddClass(west.clone()),
        Delta::Gateways(vec![
            Gateway::new("n1".parse().unwrap(), "192.0.2.1", 15443),
            Gateway::new("n2".parse().unwrap(), "192.0.2.2", 15443),
        ]),
        // east spans two networks; west has one endpoint on n2.
        upsert("east", "a", ep("10.1.0.1", "n1")),
        upsert("east", "b", ep("10.1.1.1", "n2")),
        upsert("west", "c", ep("10.2.0.1", "n2")),
    ]);
    let kinds = |store: &EdsStore, class: &ProxyClass| -> Vec<(String, EndpointKind)> {
        let cla = store
            .assignment(class, &svc.name())
            .expect("served, no error");
        let bytes = store.load().encoded(class, &svc.name()).ok();
        assert_eq!(
            bytes,
            Some(mesh_eds::wire::encode(&cla)),
            "push path == value path"
        );
        cla.localities
            .iter()
            .flat_map(|l| &l.endpoints)
            .map(|e| (format!("{:?}", e.address), e.kind))
            .collect()
    };
    // Global: east sees its own n1 endpoint and n2's gateway (for east's b and west's c).
    let before = kinds(&store, &east);
    assert_eq!(before.len(), 2, "{before:?}");
    store.apply([Delta::Scope {
        service: svc.clone(),
        scope,
    }]);
    let after = kinds(&store, &east);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after[0].0.contains("10.1.0.1") && after[0].1 == EndpointKind::Direct);
    // The n2 gateway still stands for east's own n2 endpoint, now with its weight alone.
    assert!(after[1].0.contains("192.0.2.2") && after[1].1 == EndpointKind::Gateway);
    let weight = |store: &EdsStore, class: &ProxyClass| {
        store.assignment(class, &svc.name()).ok().map(|c| {
            c.localities
                .iter()
                .flat_map(|l| &l.endpoints)
                .map(|e| e.weight)
                .sum::<u32>()
        })
    };
    assert!(
        weight(&store, &east) < Some(3),
        "west's endpoint no longer counts"
    );
    // west sees only its own endpoint, directly: never east's through a gateway.
    let w = kinds(&store, &west);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].0.contains("10.2.0.1") && w[0].1 == EndpointKind::Direct);
    // Back to global: today's output again.
    store.apply([Delta::Scope {
        service: svc.clone(),
        scope: ServiceScope::global(),
    }]);
    assert_eq!(kinds(&store, &east), before);
}
