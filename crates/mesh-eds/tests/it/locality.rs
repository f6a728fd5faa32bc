//! Properties of the locality stage (rules L1–L33) over random groups, settings, proxy
//! localities and labels, gateway endpoints included (paired with their cluster and network
//! only, L24): the stage equals the oracle's restatement; priorities are dense from 0; no
//! endpoint is lost or duplicated except by `distribute`; with no setting in effect the output is
//! the input; the explanation is the output.

use std::collections::BTreeMap;

use mesh_eds::oracle;
use mesh_eds::{
    CLUSTER_LABEL, Distribute, EndpointAddress, EndpointKind, Failover, LbEndpoint, LoadAssignment,
    LocalityGroup, LocalityLbSetting, LocalityPolicy, MeshLocality, NETWORK_LABEL, ProxyClass,
    ProxyType, REGION_LABEL, Setting, TrafficDistribution, TrafficPolicy, ZONE_LABEL,
    ZoneAwareLbSetting, apply_locality_stage, gateway_label,
};
use proptest::prelude::*;

type Labels = BTreeMap<String, String>;

fn locality() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "r1",
        "r1/z1",
        "r1/z1/s1",
        "r1/z1/s2",
        "r1/z2",
        "r1/z2/s1",
        "r2",
        "r2/z1",
        "r2/z1/s1",
        "r3/z3",
        "r1/z1/s1/rack",
    ])
    .prop_map(str::to_owned)
}

fn weight() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 1u32..6,
        1 => Just(0u32),
        1 => Just(u32::MAX),
        1 => Just(u32::MAX / 2 + 1),
    ]
}

const KEYS: [&str; 6] = [
    NETWORK_LABEL,
    REGION_LABEL,
    ZONE_LABEL,
    CLUSTER_LABEL,
    "app",
    "version",
];

fn labels() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(
        prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
        prop::sample::select(vec!["a", "b", "n1", "c1"]).prop_map(str::to_owned),
        0..5,
    )
}

/// An endpoint and the labels Istio pairs with it: its own for a direct endpoint, exactly the
/// gateway's cluster and network for a gateway (L24).
fn endpoint() -> impl Strategy<Value = (LbEndpoint, Labels)> {
    let id = |v: Vec<&'static str>| {
        prop::option::of(prop::sample::select(v)).prop_map(|s| s.map(str::to_owned))
    };
    (
        prop::sample::select(vec!["10.0.0.1", "10.0.0.2", "10.0.0.3", "192.0.2.1"]),
        weight(),
        any::<bool>(),
        id(vec!["a", "n1", "n2"]),
        id(vec!["c1", "c2"]),
        labels(),
    )
        .prop_map(|(address, weight, gateway, network, cluster, own)| {
            let e = LbEndpoint {
                address: EndpointAddress::Socket {
                    address: address.to_owned(),
                    port: if gateway { 15443 } else { 8080 },
                },
                weight,
                kind: if gateway {
                    EndpointKind::Gateway
                } else {
                    EndpointKind::Direct
                },
                mtls: true,
                network: network.and_then(|n| n.parse().ok()),
                cluster: cluster.and_then(|c| c.parse().ok()),
                workload: String::new(),
            };
            let paired = if gateway {
                [CLUSTER_LABEL, NETWORK_LABEL]
                    .iter()
                    .filter_map(|k| Some(((*k).to_owned(), gateway_label(&e, k)?.to_owned())))
                    .collect()
            } else {
                own
            };
            (e, paired)
        })
}

fn groups() -> impl Strategy<Value = (LoadAssignment, Vec<Vec<Labels>>)> {
    prop::collection::vec(
        (
            locality(),
            prop::option::of(weight()),
            prop::collection::vec(endpoint(), 0..4),
        ),
        0..6,
    )
    .prop_map(|groups| {
        let mut labels = Vec::new();
        let localities = groups
            .into_iter()
            .map(|(label, weight, endpoints)| {
                let (endpoints, paired): (Vec<_>, Vec<_>) = endpoints.into_iter().unzip();
                labels.push(paired);
                LocalityGroup {
                    locality: label,
                    weight,
                    priority: 0,
                    endpoints,
                }
            })
            .collect();
        (
            LoadAssignment {
                cluster_name: "c".into(),
                localities,
            },
            labels,
        )
    })
}

fn region() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "r1", "r2", "r3"]).prop_map(str::to_owned)
}

fn failover() -> impl Strategy<Value = Vec<Failover>> {
    prop::collection::vec(
        (region(), region()).prop_map(|(from, to)| Failover { from, to }),
        0..3,
    )
}

fn failover_priority() -> impl Strategy<Value = Vec<String>> {
    let entry = prop_oneof![
        4 => prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
        1 => Just(format!("{NETWORK_LABEL}=n1")),
        1 => Just("app=b".to_owned()),
        1 => Just("app=a=b".to_owned()),
    ];
    prop::collection::vec(entry, 0..4)
}

fn enabled() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![3 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))]
}

fn locality_setting() -> impl Strategy<Value = LocalityLbSetting> {
    let pattern = prop::sample::select(vec!["*", "r1", "r1/z1", "r2", "r1/*/s1", "r3/z3", ""])
        .prop_map(str::to_owned);
    let distribute = prop::collection::vec(
        (
            pattern.clone(),
            prop::collection::vec((pattern, prop_oneof![1u32..101, Just(u32::MAX)]), 0..3),
        )
            .prop_map(|(from, to)| Distribute { from, to }),
        0..2,
    );
    (
        enabled(),
        prop_oneof![3 => Just(Vec::new()), 1 => distribute],
        failover(),
        failover_priority(),
    )
        .prop_map(
            |(enabled, distribute, failover, failover_priority)| LocalityLbSetting {
                enabled,
                distribute,
                failover,
                failover_priority,
            },
        )
}

fn zone_aware() -> impl Strategy<Value = ZoneAwareLbSetting> {
    (enabled(), failover(), failover_priority()).prop_map(
        |(enabled, failover, failover_priority)| ZoneAwareLbSetting {
            enabled,
            failover,
            failover_priority,
        },
    )
}

fn policy() -> impl Strategy<Value = LocalityPolicy> {
    let dr = (
        prop::option::of(locality_setting()),
        prop_oneof![4 => Just(None), 1 => zone_aware().prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(
            |(locality_lb_setting, zone_aware_lb_setting, outlier_detection)| TrafficPolicy {
                locality_lb_setting,
                zone_aware_lb_setting,
                outlier_detection,
            },
        );
    (
        prop::option::of(dr),
        prop::sample::select(vec![
            TrafficDistribution::Any,
            TrafficDistribution::Any,
            TrafficDistribution::PreferSameZone,
            TrafficDistribution::PreferSameNode,
        ]),
        prop::option::of(locality_setting()),
        prop_oneof![4 => Just(None), 1 => zone_aware().prop_map(Some)],
    )
        .prop_map(
            |(destination_rule, traffic_distribution, l, z)| LocalityPolicy {
                destination_rule,
                traffic_distribution,
                mesh: MeshLocality {
                    locality_lb_setting: l,
                    zone_aware_lb_setting: z,
                },
            },
        )
}

fn proxy() -> impl Strategy<Value = ProxyClass> {
    (
        locality(),
        prop_oneof![1 => Just(None), 4 => labels().prop_map(Some)],
        prop::sample::select(vec![
            ProxyType::Sidecar,
            ProxyType::Router,
            ProxyType::Waypoint,
        ]),
    )
        .prop_map(|(locality, labels, proxy_type)| ProxyClass {
            locality,
            labels,
            proxy_type,
            ..ProxyClass::default()
        })
}

fn endpoints_of(cla: &LoadAssignment) -> Vec<String> {
    let mut all: Vec<String> = cla
        .localities
        .iter()
        .flat_map(|g| {
            g.endpoints
                .iter()
                .map(move |e| format!("{}{e:?}", g.locality))
        })
        .collect();
    all.sort();
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn stage_equals_oracle_and_keeps_its_properties(
        (input, labels) in groups(),
        policy in policy(),
        proxy in proxy(),
    ) {
        let effective = policy.effective();
        let mut got = input.clone();
        let why = apply_locality_stage(&mut got, &labels, &proxy, &effective);
        let want = oracle::locality_stage(&input, &labels, &proxy, &policy);
        prop_assert_eq!(&got, &want);

        // Priorities are dense from 0.
        let mut priorities: Vec<u32> = got.localities.iter().map(|g| g.priority).collect();
        priorities.sort_unstable();
        priorities.dedup();
        prop_assert_eq!(priorities, (0..).take_while(|p| got.localities.iter().any(|g| g.priority == *p)).collect::<Vec<u32>>());

        // Explanation == output.
        prop_assert_eq!(why.len(), got.localities.len());
        for (reason, group) in why.iter().zip(&got.localities) {
            prop_assert_eq!(reason.priority, group.priority);
            prop_assert_eq!(reason.weight, group.weight);
            prop_assert_eq!(&input.localities[reason.source].locality, &group.locality);
        }

        // No endpoint lost or duplicated except where distribute empties a group (L10).
        let distributes = matches!(
            &effective.setting,
            Setting::Locality { setting, .. } if !setting.distribute.is_empty()
        );
        if !distributes {
            prop_assert_eq!(endpoints_of(&got), endpoints_of(&input));
        }

        // With no setting in effect, or a policy that cannot change anything, the output is the input.
        if effective.setting == Setting::None || policy.is_inert() {
            prop_assert_eq!(&got, &input);
        }
        let mut default_run = input.clone();
        apply_locality_stage(&mut default_run, &labels, &proxy, &LocalityPolicy::default().effective());
        prop_assert_eq!(&default_run, &input);
    }
}

mod engine {
    use std::sync::Arc;

    use mesh_eds::wire::EncodeOptions;
    use mesh_eds::{
        ClusterRequest, EdsEndpoint, EncodedService, GatewayIndex, LocalityPolicy, PreparedService,
        ProxyClass, ServiceRequest, TrafficDistribution, TrafficPolicy, View, apply_locality_stage,
    };
    use mesh_model::Gateway;

    fn endpoint(ip: &str, network: &str, cluster: &str, locality: &str) -> EdsEndpoint {
        EdsEndpoint {
            addresses: vec![ip.into()],
            port: 8080,
            network: network.parse().ok(),
            cluster: cluster.parse().ok(),
            locality: locality.into(),
            tls_mode: mesh_model::TlsMode::Istio,
            ..Default::default()
        }
    }

    fn fixture() -> (Arc<GatewayIndex>, ClusterRequest, Vec<EdsEndpoint>) {
        let index = Arc::new(GatewayIndex::new([Gateway {
            network: "n2".parse().expect("fixture"),
            cluster: "c2".parse().ok(),
            address: "192.0.2.2".into(),
            port: 15443,
            hbone_port: 0,
            service_account: String::new(),
        }]));
        let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local"
            .parse()
            .expect("fixture");
        let endpoints = vec![
            endpoint("10.1.0.1", "n1", "c1", "r1/z1"),
            endpoint("10.1.0.2", "n1", "c1", "r1/z2"),
            endpoint("10.2.0.1", "n2", "c2", "r1/z1"),
            endpoint("10.3.0.1", "n1", "c1", "r2/z1"),
        ];
        (index, cluster, endpoints)
    }

    #[test]
    fn both_paths_apply_the_stage() {
        let (index, cluster, endpoints) = fixture();
        let class = ProxyClass {
            network: "n1".parse().ok(),
            locality: "r1/z1".into(),
            ..Default::default()
        };
        let view = View::new(&index, class.clone());
        let policy = LocalityPolicy {
            destination_rule: Some(TrafficPolicy {
                outlier_detection: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = |locality| ServiceRequest {
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed: true,
            features: Default::default(),
            locality,
        };
        let plain = view
            .assignment(&request(LocalityPolicy::istio_default()))
            .expect("fixture");
        assert!(plain.localities.iter().all(|g| g.priority == 0));
        let staged = view.assignment(&request(&policy)).expect("fixture");
        let mut want = plain.clone();
        apply_locality_stage(&mut want, &Vec::new(), &class, &policy.effective());
        assert_eq!(staged, want);
        // r1/z1 (direct + gateway) 0, r1/z2 1, r2/z1 2: default failover with outlier detection.
        let priorities: Vec<(String, u32)> = staged
            .localities
            .iter()
            .map(|g| (g.locality.clone(), g.priority))
            .collect();
        assert_eq!(
            priorities,
            [
                ("r1/z1".into(), 0),
                ("r1/z2".into(), 1),
                ("r2/z1".into(), 2)
            ]
        );
        let (_, why) = view.explain(&request(&policy)).expect("fixture");
        assert_eq!(why.locality.len(), 3);
        assert!(why.to_string().contains("failover level 2"));

        // The push path applies the stage: the same bytes, priorities on the wire.
        let prepared = PreparedService::new(&index, request(&policy));
        let encoded = EncodedService::new(&prepared, EncodeOptions::default());
        let mut buf = Vec::new();
        encoded.encode_into(&view, &mut buf).expect("fixture");
        assert_eq!(buf, mesh_eds::wire::encode(&staged));
        assert_ne!(buf, mesh_eds::wire::encode(&plain));
        buf.clear();
        let prepared = PreparedService::new(&index, request(LocalityPolicy::istio_default()));
        let encoded = EncodedService::new(&prepared, EncodeOptions::default());
        encoded.encode_into(&view, &mut buf).expect("fixture");
        assert_eq!(buf, mesh_eds::wire::encode(&plain));
    }

    /// A view keeping more groups than the rank-only push path holds (32) takes the general
    /// staged path: both give the value path's bytes, on either side of the bound, with the
    /// gateway in every group or in the first one only.
    #[test]
    fn many_localities_push_the_value_paths_bytes() {
        let (index, cluster, _) = fixture();
        let policy = LocalityPolicy {
            destination_rule: Some(TrafficPolicy {
                outlier_detection: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        for groups in [31, 32, 33, 100] {
            let endpoints: Vec<EdsEndpoint> = (0..groups)
                .map(|i| {
                    let network = if i % 4 == 0 { "n2" } else { "n1" };
                    let ip = format!("10.{}.{}.{}", i % 4, i / 250, i % 250);
                    endpoint(&ip, network, "c1", &format!("r{}/z{i}/s{}", i % 3, i % 2))
                })
                .collect();
            for gateway_in_first_group in [false, true] {
                let request = ServiceRequest {
                    cluster: &cluster,
                    endpoints: &endpoints,
                    mtls_allowed: true,
                    features: mesh_eds::Features {
                        gateway_in_first_group,
                        ..Default::default()
                    },
                    locality: &policy,
                };
                let prepared = PreparedService::new(&index, request);
                let encoded = EncodedService::new(&prepared, EncodeOptions::default());
                for (network, locality) in
                    [("n1", "r1/z1/s1"), ("n1", "r2/z5/s1"), ("n3", "r0/z0/s0")]
                {
                    let view = View::new(
                        &index,
                        ProxyClass {
                            network: network.parse().ok(),
                            locality: locality.into(),
                            ..Default::default()
                        },
                    );
                    let cla = view.assignment_prepared(&prepared).expect("fixture");
                    assert!(cla.localities.iter().any(|g| g.priority > 0), "{groups}");
                    let mut buf = Vec::new();
                    encoded.encode_into(&view, &mut buf).expect("fixture");
                    assert_eq!(
                        buf,
                        mesh_eds::wire::encode(&cla),
                        "{groups} groups, {network} {locality:?}, first group {gateway_in_first_group}"
                    );
                }
            }
        }
    }

    #[test]
    fn prefer_same_zone_puts_the_gateway_last_l24() {
        let (index, cluster, endpoints) = fixture();
        let labels = [
            (mesh_eds::NETWORK_LABEL, "n1"),
            (mesh_eds::REGION_LABEL, "r1"),
            (mesh_eds::ZONE_LABEL, "z1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into_iter()
        .collect();
        let policy = LocalityPolicy {
            traffic_distribution: TrafficDistribution::PreferSameZone,
            ..Default::default()
        };
        let keys: Vec<String> = policy.effective().failover_priority().to_vec();
        let class = ProxyClass {
            network: "n1".parse().ok(),
            locality: "r1/z1".into(),
            ..Default::default()
        }
        .with_labels(&labels, keys.iter().map(String::as_str));
        let view = View::new(&index, class);
        let cla = view
            .assignment(&ServiceRequest {
                cluster: &cluster,
                endpoints: &endpoints,
                mtls_allowed: true,
                features: Default::default(),
                locality: &policy,
            })
            .expect("fixture");
        let got: Vec<(String, u32, usize)> = cla
            .localities
            .iter()
            .map(|g| (g.locality.clone(), g.priority, g.endpoints.len()))
            .collect();
        // Tiers: r1/z1 direct 0; r1/z2 1 (zone); r2/z1 2 (region); the gateway in r1/z1
        // mismatches network and region: 3 + 2 = 5, the last tier (L24).
        assert_eq!(
            got,
            [
                ("r1/z1".into(), 0, 1),
                ("r1/z1".into(), 3, 1),
                ("r1/z2".into(), 1, 1),
                ("r2/z1".into(), 2, 1),
            ]
        );
    }
}

/// The stage on whole meshes, through both engine paths: split-horizon then the stage, for
/// endpoints in several localities, networks and clusters, with labels, behind gateways, with
/// `gateway_in_first_group` on and off. The push path (`EncodedService`) writes exactly the value
/// path's bytes; the value path equals the oracle (its split-horizon, then its stage with labels
/// paired as L2 and L24 say); with an inert policy both equal today's output.
mod mesh {
    use std::sync::Arc;

    use mesh_eds::wire::{self, EncodeOptions};
    use mesh_eds::{
        ClusterRequest, EdsEndpoint, EncodedService, Features, GatewayIndex, LocalityPolicy,
        PreparedService, ProxyClass, ProxyType, ServiceRequest, View, oracle,
    };
    use mesh_model::{Gateway, TlsMode};
    use proptest::prelude::*;

    use super::{labels, locality, policy};

    fn id<T: std::str::FromStr + std::fmt::Debug>(
        names: Vec<&'static str>,
    ) -> impl Strategy<Value = Option<T>> {
        prop::option::weighted(0.85, prop::sample::select(names))
            .prop_map(|n| n.and_then(|n| n.parse().ok()))
    }

    /// Endpoints with distinct addresses (so the oracle's output pairs with them by address).
    fn endpoints() -> impl Strategy<Value = Vec<EdsEndpoint>> {
        prop::collection::vec(
            (
                id(vec!["n1", "n2", "n3"]),
                id(vec!["c1", "c2", "c3"]),
                locality(),
                labels(),
                prop_oneof![4 => 1u32..4, 1 => Just(0u32)],
                prop::bool::weighted(0.9),
            ),
            0..14,
        )
        .prop_map(|list| {
            list.into_iter()
                .enumerate()
                .map(
                    |(i, (network, cluster, locality, labels, lb_weight, mtls))| EdsEndpoint {
                        addresses: vec![format!("10.0.{}.{}", i / 200, i % 200 + 1)],
                        port: 8080,
                        network,
                        cluster,
                        locality,
                        labels: Arc::new(labels),
                        lb_weight,
                        tls_mode: if mtls {
                            TlsMode::Istio
                        } else {
                            TlsMode::Disabled
                        },
                        ..EdsEndpoint::default()
                    },
                )
                .collect()
        })
    }

    fn gateways() -> impl Strategy<Value = Vec<Gateway>> {
        prop::collection::vec(
            (
                prop::sample::select(vec!["n1", "n2", "n3"]),
                id(vec!["c1", "c2", "c3"]),
            ),
            0..5,
        )
        .prop_map(|list| {
            list.into_iter()
                .enumerate()
                .map(|(i, (network, cluster))| Gateway {
                    network: network.parse().unwrap_or_else(|e| panic!("{e}")),
                    cluster,
                    address: format!("192.0.2.{}", i + 1),
                    port: 15443,
                    hbone_port: 0,
                    service_account: String::new(),
                })
                .collect()
        })
    }

    fn classes() -> impl Strategy<Value = Vec<ProxyClass>> {
        prop::collection::vec(
            (
                id(vec!["n1", "n2", "n3"]),
                id(vec!["c1", "c2", "c3"]),
                locality(),
                prop::option::weighted(0.8, labels()),
                prop::sample::select(vec![
                    ProxyType::Sidecar,
                    ProxyType::Router,
                    ProxyType::Waypoint,
                ]),
            )
                .prop_map(|(network, cluster, locality, labels, proxy_type)| {
                    ProxyClass {
                        network,
                        cluster,
                        locality,
                        labels,
                        proxy_type,
                        ..ProxyClass::default()
                    }
                }),
            1..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn push_path_equals_value_path_equals_oracle_with_the_stage(
            endpoints in endpoints(),
            gateways in gateways(),
            classes in classes(),
            policy in policy(),
            gateway_in_first_group in prop::bool::ANY,
            subset in prop::bool::weighted(0.2),
        ) {
            let cluster: ClusterRequest = if subset {
                "outbound|80|v1|foo.ns1.svc.cluster.local"
            } else {
                "outbound|80||foo.ns1.svc.cluster.local"
            }
            .parse()
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let request = ServiceRequest {
                locality: &policy,
                cluster: &cluster,
                endpoints: &endpoints,
                mtls_allowed: true,
                features: Features { gateway_in_first_group, ..Features::default() },
            };
            let plain_request = ServiceRequest { locality: LocalityPolicy::istio_default(), ..request };
            let index = Arc::new(GatewayIndex::new(gateways.clone()));
            let prepared = PreparedService::new(&index, request);
            let encoded = EncodedService::new(&prepared, EncodeOptions::default());
            let plain = EncodedService::new(
                &PreparedService::new(&index, plain_request),
                EncodeOptions::default(),
            );
            let mut fast = Vec::new();
            for class in classes {
                let view = View::new(&index, class.clone());
                let cla = view
                    .assignment_prepared(&prepared)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                fast.clear();
                prop_assert_eq!(encoded.encode_into(&view, &mut fast), Ok(()));
                prop_assert_eq!(&fast, &wire::encode(&cla), "{:#?}", cla);

                let want = oracle::assignment(&gateways, &class, &request)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(&cla, &want);
                let split = oracle::assignment(&gateways, &class, &plain_request)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;

                // Without the stage: today's output, on both paths.
                fast.clear();
                prop_assert_eq!(plain.encode_into(&view, &mut fast), Ok(()));
                prop_assert_eq!(&fast, &wire::encode(&split));
                if policy.is_inert() {
                    prop_assert_eq!(&cla, &split);
                }
            }
        }
    }
}
