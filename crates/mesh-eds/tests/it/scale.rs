//! Shapes that once aborted or went quadratic, at sizes where that shows: each must build, with
//! memory linear in its input, and agree with the value path. (Time is measured by the
//! `complexity` bench, never here.)

use std::sync::Arc;

use mesh_eds::wire::{self, EncodeOptions};
use mesh_eds::{
    ClusterRequest, Delta, EdsEndpoint, EdsStore, EncodedService, Features, GatewayIndex,
    PreparedService, ProxyClass, ServiceRequest, View,
};
use mesh_model::{Gateway, TlsMode};

/// `n` endpoints, each in its own locality and its own network.
fn scattered(n: usize) -> Vec<EdsEndpoint> {
    (0..n)
        .map(|i| EdsEndpoint {
            addresses: vec![format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)],
            port: 8080,
            network: format!("net-{i}").parse().ok(),
            locality: format!("region/zone-{i}"),
            tls_mode: TlsMode::Istio,
            ..EdsEndpoint::default()
        })
        .collect()
}

fn request<'a>(cluster: &'a ClusterRequest, endpoints: &'a [EdsEndpoint]) -> ServiceRequest<'a> {
    ServiceRequest {
        locality: mesh_eds::LocalityPolicy::istio_default(),
        cluster,
        endpoints,
        mtls_allowed: true,
        features: Features::default(),
    }
}

fn gateway(network: &str, cluster: Option<String>, address: String) -> Gateway {
    Gateway {
        network: network.parse().unwrap_or_else(|e| panic!("{e}")),
        cluster: cluster.and_then(|c| c.parse().ok()),
        address,
        port: 15443,
        hbone_port: 0,
        service_account: String::new(),
    }
}

/// 20,000 endpoints × 20,000 networks × 20,000 localities: once a reservation of groups ×
/// networks sets (41.6 GB, the process aborted) and a per-network count in every group.
#[test]
fn many_localities_times_many_networks_encode_in_linear_memory() {
    let endpoints = scattered(20_000);
    let cluster: ClusterRequest = "outbound|8080||foo.ns1".parse().unwrap_or_default();
    let request = request(&cluster, &endpoints);
    let index = Arc::new(GatewayIndex::new([gateway(
        "net-7",
        None,
        "192.0.2.7".into(),
    )]));
    let prepared = PreparedService::new(&index, request);
    let encoded = EncodedService::new(&prepared, EncodeOptions::default());
    for network in ["net-0", "net-7", "elsewhere"] {
        let view = View::new(
            &index,
            ProxyClass {
                network: network.parse().ok(),
                ..ProxyClass::default()
            },
        );
        let cla = view
            .assignment_prepared(&prepared)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cla.localities.len(), 20_000);
        let mut bytes = Vec::new();
        assert_eq!(encoded.encode_into(&view, &mut bytes), Ok(()));
        assert_eq!(bytes, wire::encode(&cla), "{network}");
    }

    // The same through the store.
    let mut store = EdsStore::new(Features::default());
    let class = ProxyClass {
        network: "net-0".parse().ok(),
        ..ProxyClass::default()
    };
    store.apply(
        [
            Delta::AddClass(class.clone()),
            Delta::Gateways(vec![gateway("net-7", None, "192.0.2.7".into())]),
        ]
        .into_iter()
        .chain(
            endpoints
                .iter()
                .enumerate()
                .map(|(i, e)| Delta::UpsertEndpoint {
                    service: cluster.clone(),
                    cluster: None,
                    key: format!("pod-{i}"),
                    endpoint: e.clone(),
                }),
        ),
    );
    let bytes = store.load().encoded(&class, &cluster.name()).ok();
    let cla = store
        .assignment(&class, &cluster.name())
        .ok()
        .map(|c| wire::encode(&c));
    assert!(bytes.is_some());
    assert_eq!(bytes, cla);
}

/// 20,000 gateways, each in its own cluster of one network: once a scan of the network's cluster
/// list per gateway and per route lookup.
#[test]
fn many_gateway_clusters_index_and_route() {
    let gateways: Vec<Gateway> = (0..20_000)
        .map(|i| {
            gateway(
                "east",
                Some(format!("c{i}")),
                format!("192.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            )
        })
        .collect();
    let index = Arc::new(GatewayIndex::new(gateways));
    assert_eq!(index.gateways().len(), 20_000);
    // Endpoints of 2,000 of those clusters: each goes through its own cluster's gateway only.
    let endpoints: Vec<EdsEndpoint> = (0..2_000)
        .map(|i| EdsEndpoint {
            addresses: vec![format!("10.1.{}.{}", i >> 8, i & 255)],
            port: 8080,
            network: "east".parse().ok(),
            cluster: format!("c{}", i * 10).parse().ok(),
            tls_mode: TlsMode::Istio,
            ..EdsEndpoint::default()
        })
        .collect();
    let cluster: ClusterRequest = "outbound|8080||foo.ns1".parse().unwrap_or_default();
    let request = request(&cluster, &endpoints);
    let view = View::new(
        &index,
        ProxyClass {
            network: "west".parse().ok(),
            ..ProxyClass::default()
        },
    );
    let cla = view.assignment(&request).unwrap_or_else(|e| panic!("{e}"));
    let gateway_entries: usize = cla.localities.iter().map(|l| l.endpoints.len()).sum();
    assert_eq!(gateway_entries, 2_000);
}

/// Removing half of 40,000 endpoints in one apply, and 50,000 inserts into a shard that sorts
/// before another shard of 50,000: once quadratic (a shard's key map rebuilt after every removal,
/// every insert shifting the later shard). The result is checked against a full rebuild.
#[test]
fn bulk_removals_and_inserts_into_an_early_shard() {
    let cluster: ClusterRequest = "outbound|8080||foo.ns1".parse().unwrap_or_default();
    let class = ProxyClass::default();
    let ep = |i: usize| EdsEndpoint {
        addresses: vec![format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)],
        port: 8080,
        ..EdsEndpoint::default()
    };
    let upsert = |shard: &str, i: usize| Delta::UpsertEndpoint {
        service: cluster.clone(),
        cluster: shard.parse().ok(),
        key: format!("pod-{i}"),
        endpoint: ep(i),
    };
    let mut store = EdsStore::new(Features::default());
    store.apply(
        std::iter::once(Delta::AddClass(class.clone())).chain((0..40_000).map(|i| upsert("c2", i))),
    );
    store.apply((0..40_000).step_by(2).map(|i| Delta::RemoveEndpoint {
        service: cluster.clone(),
        cluster: "c2".parse().ok(),
        key: format!("pod-{i}"),
    }));
    let name = cluster.name();
    assert_eq!(store.endpoints(&name).map(<[_]>::len), Some(20_000));
    // c1 sorts before c2: every insert lands before c2's shard.
    store.apply((100_000..150_000).map(|i| upsert("c1", i)));
    let endpoints = store.endpoints(&name).unwrap_or_default();
    assert_eq!(endpoints.len(), 70_000);
    assert_eq!(endpoints[0].addresses, ep(100_000).addresses);
    assert_eq!(endpoints[50_000].addresses, ep(1).addresses);
    assert_eq!(*store.load(), store.full_rebuild());
}
