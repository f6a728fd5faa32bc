//! Property: the fast path ([`View`]) and the reference oracle ([`oracle::assignment`]) give the
//! same assignment for random endpoints, gateways, proxies and clusters: istio-modern (M1–M18) and
//! the Istio 1.1 profiles (H1.1–H1.6).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mesh_eds::oracle::{self, OracleError};
use mesh_eds::wire::{self, EncodeOptions};
use mesh_eds::{
    ClusterKind, ClusterRequest, EdsEndpoint, EdsError, EncodedService, Features, GatewayIndex,
    Health, IpFamily, LegacyGateway, LegacyNetworks, NotEncodable, PreparedService, Profile,
    ProxyClass, ProxyType, ServiceRequest, View,
};
use mesh_model::{ClusterId, Gateway, NetworkId, TlsMode};
use proptest::prelude::*;

fn network() -> impl Strategy<Value = Option<NetworkId>> {
    prop_oneof![
        1 => Just(None),
        3 => prop::sample::select(vec!["n1", "n2", "n3"]).prop_map(|n| n.parse().ok()),
    ]
}

fn cluster() -> impl Strategy<Value = Option<ClusterId>> {
    prop_oneof![
        1 => Just(None),
        3 => prop::sample::select(vec!["c1", "c2", "c3"]).prop_map(|c| c.parse().ok()),
    ]
}

fn weight() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => Just(0u32),
        3 => 1u32..5,
        1 => prop::sample::select(vec![64u32, 128, 129]),
        1 => Just(u32::MAX),
        1 => Just(u32::MAX / 2),
        1 => Just(u32::MAX / 6),
        1 => any::<u32>(),
    ]
}

fn address() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "10.0.0.1",
        "10.0.0.2",
        "9.0.0.1",
        "100.0.0.1",
        "2001:db8::1",
        "::ffff:10.0.0.9",
        "ep.example.com",
        "",
    ])
    .prop_map(str::to_owned)
}

fn endpoint() -> impl Strategy<Value = EdsEndpoint> {
    let addresses = prop_oneof![
        1 => Just(Vec::new()),
        8 => address().prop_map(|a| vec![a]),
        1 => (address(), address()).prop_map(|(a, b)| vec![a, b]),
    ];
    let labels = prop::collection::btree_map(
        prop::sample::select(vec![
            "version",
            "app",
            "service.istio.io/canonical-revision",
        ]),
        prop::sample::select(vec!["v1", "v2", "latest"]),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<BTreeMap<_, _>>()
    });
    let health = prop_oneof![
        6 => Just(Health::Healthy),
        1 => Just(Health::Unhealthy),
        1 => Just(Health::Draining),
        1 => Just(Health::Terminating),
    ];
    (
        (
            addresses,
            prop_oneof![Just(0u32), Just(8080), Just(9090)],
            prop_oneof![5 => Just("http"), 1 => Just("grpc")],
            network(),
            cluster(),
            prop::sample::select(vec!["", "r1/z1", "r1/z2", "r2"]),
        ),
        (
            labels,
            prop_oneof![3 => Just(TlsMode::Istio), 1 => Just(TlsMode::Disabled)],
            prop::bool::weighted(0.2),
            weight(),
            health,
            prop::sample::select(vec!["foo-1", "foo-2", ""]),
        ),
    )
        .prop_map(
            |(
                (addresses, port, port_name, network, cluster, locality),
                (labels, tls_mode, hbone_tunnel, lb_weight, health, workload),
            )| EdsEndpoint {
                addresses,
                port,
                service_port_name: port_name.to_owned(),
                network,
                cluster,
                locality: locality.to_owned(),
                labels: labels.into(),
                tls_mode,
                hbone_tunnel,
                lb_weight,
                namespace: "ns1".to_owned(),
                workload_name: workload.to_owned(),
                service_account: "sa".to_owned(),
                health,
                node_name: String::new(),
            },
        )
}

fn gateway() -> impl Strategy<Value = Gateway> {
    (
        prop::sample::select(vec!["n1", "n2", "n3"]),
        cluster(),
        prop::sample::select(vec![
            "192.0.2.1",
            "192.0.2.10",
            "2001:db8::10",
            "::ffff:192.0.2.7",
            "gw.example.com",
        ]),
        prop_oneof![4 => Just(15443u32), 1 => Just(0), 1 => Just(15444)],
        prop_oneof![Just(0u32), Just(15008)],
        prop::sample::select(vec!["", "sa-a", "sa-b"]),
    )
        .prop_map(
            |(network, cluster, address, port, hbone_port, sa)| Gateway {
                network: network.parse().unwrap_or_else(|e| panic!("{e}")),
                cluster,
                address: address.to_owned(),
                port,
                hbone_port,
                service_account: sa.to_owned(),
            },
        )
}

fn proxy() -> impl Strategy<Value = ProxyClass> {
    let view = prop_oneof![
        3 => Just(None),
        1 => prop::collection::btree_set(prop::sample::select(vec!["n1", "n2", "n3"]), 0..3)
            .prop_map(|s| {
                Some(s.into_iter().filter_map(|n| n.parse::<NetworkId>().ok()).collect::<BTreeSet<_>>())
            }),
    ];
    (
        prop_oneof![3 => Just(ProxyType::Sidecar), 1 => Just(ProxyType::Router)],
        network(),
        cluster(),
        prop::sample::select(vec![
            IpFamily::Ipv4,
            IpFamily::Ipv6,
            IpFamily::Dual,
            IpFamily::Unknown,
        ]),
        view,
    )
        .prop_map(
            |(proxy_type, network, cluster, ip_family, network_view)| ProxyClass {
                proxy_type,
                network,
                cluster,
                ip_family,
                network_view,
                ..ProxyClass::default()
            },
        )
}

fn cluster_request() -> impl Strategy<Value = ClusterRequest> {
    (
        prop_oneof![3 => Just(ClusterKind::Outbound), 1 => Just(ClusterKind::SniDnat)],
        prop_oneof![3 => Just(None), 1 => Just(Some(("version", "v1")))],
    )
        .prop_map(|(kind, subset)| ClusterRequest {
            kind,
            port: 80,
            subset: subset.map_or(String::new(), |_| "v1".to_owned()),
            host: "foo.ns1.svc.cluster.local".to_owned(),
            subset_labels: subset
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into_iter()
                .collect(),
            port_name: "http".to_owned(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn oracle_equals_fast_path(
        endpoints in prop::collection::vec(endpoint(), 0..12),
        gateways in prop::collection::vec(gateway(), 0..6),
        class in proxy(),
        cluster in cluster_request(),
        mtls_allowed in prop::bool::weighted(0.8),
        prefer_hbone_send in prop::bool::weighted(0.2),
        gateway_in_first_group in prop::bool::weighted(0.3),
    ) {
        let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed,
            features: Features { prefer_hbone_send, gateway_in_first_group, ..Features::default() },
        };
        let index = Arc::new(GatewayIndex::new(gateways.clone()));
        let fast = View::new(&index, class.clone()).assignment(&request);
        let slow = oracle::assignment(&gateways, &class, &request);
        prop_assert!(fast.is_ok() && slow.is_ok(), "fast {fast:?} oracle {slow:?}");
        prop_assert_eq!(fast.ok(), slow.ok());
    }

    /// The push fast path ([`EncodedService`]) writes, for every view, the bytes of the
    /// assignment the view computes, with and without the `istio` metadata.
    #[test]
    fn encoded_fast_path_equals_encoding_the_assignment(
        endpoints in prop::collection::vec(endpoint(), 0..16),
        gateways in prop::collection::vec(gateway(), 0..12),
        classes in prop::collection::vec(proxy(), 1..4),
        cluster in cluster_request(),
        mtls_allowed in prop::bool::weighted(0.8),
        prefer_hbone_send in prop::bool::weighted(0.2),
        gateway_in_first_group in prop::bool::weighted(0.3),
        istio_workload in prop::bool::weighted(0.7),
    ) {
        let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed,
            features: Features { prefer_hbone_send, gateway_in_first_group, ..Features::default() },
        };
        let index = Arc::new(GatewayIndex::new(gateways.clone()));
        let prepared = PreparedService::new(&index, request);
        let options = EncodeOptions { istio_workload };
        let encoded = EncodedService::new(&prepared, options);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for class in classes {
            let view = View::new(&index, class);
            let cla = view.assignment_prepared(&prepared).map_err(|e| TestCaseError::fail(e.to_string()))?;
            slow.clear();
            wire::encode_into_with(&cla, options, &mut slow);
            fast.clear();
            prop_assert_eq!(encoded.encode_into(&view, &mut fast), Ok(()));
            prop_assert_eq!(&fast, &slow, "{:#?}", cla);
        }
    }
}

/// Endpoints, gateways and proxies over many networks, clusters and localities (more than the
/// engine finds by a linear scan, so its maps are exercised too).
fn wide<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = T>,
    place: fn(&mut T, Option<NetworkId>, Option<ClusterId>, String),
) -> impl Strategy<Value = T> {
    (item, 0u8..20, 0u8..20, 0u8..16).prop_map(move |(mut item, n, c, l)| {
        let network = (n > 0).then(|| format!("n{n}").parse().ok()).flatten();
        let cluster = (c > 0).then(|| format!("c{c}").parse().ok()).flatten();
        place(&mut item, network, cluster, format!("r{}/z{}", l % 4, l));
        item
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn wide_meshes_agree_with_the_oracle_on_both_paths(
        endpoints in prop::collection::vec(wide(endpoint(), |e, n, c, l| {
            e.network = n;
            e.cluster = c;
            e.locality = l;
        }), 0..60),
        gateways in prop::collection::vec(wide(gateway(), |g, n, c, _| {
            if let Some(n) = n {
                g.network = n;
            }
            g.cluster = c;
        }), 0..30),
        classes in prop::collection::vec(wide(proxy(), |p, n, c, _| {
            p.network = n;
            p.cluster = c;
        }), 1..4),
        cluster in cluster_request(),
        gateway_in_first_group in prop::bool::ANY,
    ) {
        let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed: true,
            features: Features { gateway_in_first_group, ..Features::default() },
        };
        let index = Arc::new(GatewayIndex::new(gateways.clone()));
        let prepared = PreparedService::new(&index, request);
        let encoded = EncodedService::new(&prepared, EncodeOptions::default());
        let mut fast = Vec::new();
        for class in classes {
            let view = View::new(&index, class.clone());
            let cla = view.assignment_prepared(&prepared).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let slow = oracle::assignment(&gateways, &class, &request);
            prop_assert_eq!(Some(&cla), slow.as_ref().ok());
            fast.clear();
            prop_assert_eq!(encoded.encode_into(&view, &mut fast), Ok(()));
            prop_assert_eq!(&fast, &wire::encode(&cla));
        }
    }
}

#[test]
fn encoded_fast_path_refuses_what_it_cannot_serve() {
    let cluster: ClusterRequest = "outbound|80||foo.ns1".parse().unwrap();
    let request = ServiceRequest {
        locality: mesh_eds::LocalityPolicy::istio_default(),
        cluster: &cluster,
        endpoints: &[],
        mtls_allowed: true,
        features: Features::default(),
    };
    let index = Arc::new(GatewayIndex::new([]));
    let encoded = EncodedService::new(
        &PreparedService::new(&index, request),
        EncodeOptions::default(),
    );
    let legacy = View::new(
        &index,
        ProxyClass {
            profile: Profile::Istio1_1_3,
            ..ProxyClass::default()
        },
    );
    assert_eq!(
        encoded.encode_into(&legacy, &mut Vec::new()),
        Err(NotEncodable::LegacyProfile)
    );
    let other = View::new(&Arc::new(GatewayIndex::new([])), ProxyClass::default());
    assert_eq!(
        encoded.encode_into(&other, &mut Vec::new()),
        Err(NotEncodable::OtherIndex)
    );
}

fn legacy_networks() -> impl Strategy<Value = LegacyNetworks> {
    let entry = (
        prop_oneof![
            4 => prop::sample::select(vec!["192.0.2.1", "192.0.2.2", "2001:db8::10", "gw.example.com"])
                .prop_map(|a| Some(a.to_owned())),
            1 => Just(None),
        ],
        prop_oneof![3 => Just(None), 1 => Just(Some("192.0.2.99".to_owned()))],
        prop_oneof![Just(15443u32), Just(443)],
    )
        .prop_map(|(address, first_resolved, port)| LegacyGateway {
            // Only a hostname has a DNS answer.
            first_resolved: first_resolved.filter(|_| address.as_deref() == Some("gw.example.com")),
            address,
            other_answers: Vec::new(),
            registry_addresses: Vec::new(),
            port,
        });
    prop::collection::btree_map(
        prop::sample::select(vec!["n1", "n2", "n3"]).prop_map(str::to_owned),
        prop::collection::vec(entry, 0..4),
        0..4,
    )
    .prop_map(|networks| LegacyNetworks { networks })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn legacy_oracle_equals_fast_path(
        endpoints in prop::collection::vec(endpoint(), 0..12),
        networks in proptest::option::of(legacy_networks()),
        class in proxy(),
        profile in prop::sample::select(vec![Profile::Istio1_1_0, Profile::Istio1_1_3]),
        cluster in cluster_request(),
        mtls_allowed in prop::bool::weighted(0.8),
    ) {
        let class = ProxyClass { profile, ..class };
        let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed,
            features: Features::default(),
        };
        let mut index = GatewayIndex::new([]);
        if let Some(n) = &networks {
            index = index.with_legacy_networks(n.clone());
        }
        let fast = View::new(&Arc::new(index), class.clone()).assignment(&request);
        let slow = oracle::legacy_assignment(networks.as_ref(), &class, &request);
        match (fast, slow) {
            (Ok(fast), Ok(slow)) => prop_assert_eq!(fast, slow),
            (
                Err(EdsError::DivideByZero { network: a, .. }),
                Err(OracleError::DivideByZero { network: b }),
            ) => prop_assert_eq!(a, b),
            (fast, slow) => prop_assert!(false, "fast {fast:?} oracle {slow:?}"),
        }
    }
}

/// `Features::gateway_in_first_group` (istio#60835): one network's endpoints in two localities
/// behind one gateway. Istio's output has the gateway in both groups; with the flag, once, in the
/// first group, weighted with both groups' shares — on the value path, the push path and the
/// oracle alike.
#[test]
fn a_gateway_in_two_locality_groups_is_written_once_with_the_flag() {
    let cluster: ClusterRequest = "outbound|80||foo.ns1".parse().unwrap_or_default();
    let remote = |address: &str, locality: &str| EdsEndpoint {
        addresses: vec![address.into()],
        port: 8080,
        network: "n2".parse().ok(),
        locality: locality.into(),
        tls_mode: TlsMode::Istio,
        ..EdsEndpoint::default()
    };
    let endpoints = [
        remote("10.2.0.1", "r/a"),
        remote("10.2.0.2", "r/b"),
        remote("10.2.0.3", "r/b"),
    ];
    let gateways = vec![Gateway {
        network: "n2".parse().unwrap_or_else(|e| panic!("{e}")),
        cluster: None,
        address: "192.0.2.2".into(),
        port: 15443,
        hbone_port: 0,
        service_account: String::new(),
    }];
    let index = Arc::new(GatewayIndex::new(gateways.clone()));
    let class = ProxyClass {
        network: "n1".parse().ok(),
        ..ProxyClass::default()
    };
    let view = View::new(&index, class.clone());
    let shape = |flag: bool| {
        let request = ServiceRequest {
            locality: mesh_eds::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed: true,
            features: Features {
                gateway_in_first_group: flag,
                ..Features::default()
            },
        };
        let cla = view.assignment(&request).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Ok(&cla),
            oracle::assignment(&gateways, &class, &request).as_ref()
        );
        let prepared = PreparedService::new(&index, request);
        let mut pushed = Vec::new();
        let encoded = EncodedService::new(&prepared, EncodeOptions::default());
        assert_eq!(encoded.encode_into(&view, &mut pushed), Ok(()));
        assert_eq!(pushed, wire::encode(&cla));
        cla.localities
            .iter()
            .map(|g| {
                (
                    g.locality.clone(),
                    g.weight,
                    g.endpoints.iter().map(|e| e.weight).collect(),
                )
            })
            .collect::<Vec<(String, Option<u32>, Vec<u32>)>>()
    };
    assert_eq!(
        shape(false),
        [
            ("r/a".to_owned(), Some(1), vec![1]),
            ("r/b".to_owned(), Some(2), vec![2])
        ]
    );
    assert_eq!(
        shape(true),
        [
            ("r/a".to_owned(), Some(3), vec![3]),
            ("r/b".to_owned(), None, vec![])
        ]
    );
}
