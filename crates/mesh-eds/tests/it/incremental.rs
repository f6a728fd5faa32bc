//! Property: any sequence of deltas gives exactly the snapshot a full rebuild gives, and a
//! rebuild from an independent model of the inputs (`oracle::StoreModel`: plain maps, the oracle),
//! and the value path — locality policies set and cleared included (`Delta::Locality`: failover
//! with and without outlier detection, failoverPriority with labels, distribute, zone-aware), for
//! classes with localities and labels.

use std::collections::BTreeMap;
use std::sync::Arc;

use mesh_eds::oracle::StoreModel;
use mesh_eds::wire;
use mesh_eds::{
    ClusterRequest, Delta, Distribute, EdsEndpoint, EdsStore, Failover, Features, IpFamily,
    LocalityLbSetting, LocalityPolicy, NETWORK_LABEL, Profile, ProxyClass, TrafficDistribution,
    TrafficPolicy, ZoneAwareLbSetting,
};
use mesh_model::{ClusterId, Gateway, TlsMode};
use proptest::prelude::*;

const NETS: [&str; 3] = ["n1", "n2", "n3"];

fn service(i: usize) -> ClusterRequest {
    format!("outbound|80||svc-{i}.ns")
        .parse()
        .unwrap_or_default()
}

fn shard(i: usize) -> Option<ClusterId> {
    ["c1", "c2"].get(i).and_then(|c| c.parse().ok())
}

const LOCALITIES: [&str; 4] = ["r/a", "r/b", "r2/a", ""];

fn version() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::option::of(prop::sample::select(vec!["v1", "v2"])).prop_map(|v| {
        v.map(|v| ("version".to_owned(), v.to_owned()))
            .into_iter()
            .collect()
    })
}

fn endpoint() -> impl Strategy<Value = EdsEndpoint> {
    (
        0usize..4,
        0u8..4,
        0usize..4,
        prop::bool::weighted(0.8),
        0u32..3,
        version(),
    )
        .prop_map(|(net, host, zone, istio, lb_weight, labels)| EdsEndpoint {
            addresses: vec![format!("10.{net}.0.{host}")],
            port: 8080,
            network: NETS.get(net).and_then(|n| n.parse().ok()),
            locality: LOCALITIES[zone].into(),
            labels: Arc::new(labels),
            tls_mode: if istio {
                TlsMode::Istio
            } else {
                TlsMode::Disabled
            },
            lb_weight,
            ..EdsEndpoint::default()
        })
}

/// The endpoint key `s{k}` of a shard always stands for, but for its weight: upserting it again
/// changes only a weight, which the store patches into the encoded service rather than encoding
/// the service again. Weights cross varint sizes and wrap.
fn reweighted() -> impl Strategy<Value = Delta> {
    (
        0usize..3,
        0usize..3,
        0u8..4,
        prop_oneof![
            2 => Just(0u32),
            2 => 1u32..4,
            1 => prop::sample::select(vec![42u32, 43, 127, 128, 16_383, 16_384]),
            1 => Just(u32::MAX),
            1 => any::<u32>(),
        ],
    )
        .prop_map(|(s, c, k, lb_weight)| {
            let net = (s + usize::from(k)) % 4;
            let endpoint = EdsEndpoint {
                addresses: if k == 3 {
                    Vec::new()
                } else {
                    vec![format!("10.{net}.1.{k}")]
                },
                port: 8080,
                network: NETS.get(net).and_then(|n| n.parse().ok()),
                locality: ["r/a", "r/b"][usize::from(k) % 2].into(),
                tls_mode: if k == 2 {
                    TlsMode::Disabled
                } else {
                    TlsMode::Istio
                },
                lb_weight,
                workload_name: format!("w-{s}-{c}-{k}"),
                ..EdsEndpoint::default()
            };
            Delta::UpsertEndpoint {
                service: service(s),
                cluster: shard(c),
                key: format!("s{k}"),
                endpoint,
            }
        })
}

fn gateways() -> impl Strategy<Value = Vec<Gateway>> {
    prop::collection::vec((0usize..3, 0u8..4, 0usize..3), 0..5).prop_map(|v| {
        v.into_iter()
            .map(|(net, host, cl)| Gateway {
                network: NETS[net].parse().unwrap_or_else(|e| panic!("{e}")),
                cluster: shard(cl),
                address: format!("192.0.2.{host}"),
                port: 15443,
                hbone_port: 0,
                service_account: String::new(),
            })
            .collect()
    })
}

fn class() -> impl Strategy<Value = ProxyClass> {
    (
        0usize..4,
        prop::bool::weighted(0.8),
        prop::bool::ANY,
        0usize..4,
        prop::option::weighted(0.7, version()),
    )
        .prop_map(|(net, modern, v4, zone, labels)| ProxyClass {
            network: NETS.get(net).and_then(|n| n.parse().ok()),
            locality: LOCALITIES[zone].into(),
            labels: labels.map(|mut l| {
                if let Some(n) = NETS.get(net) {
                    l.insert(NETWORK_LABEL.to_owned(), (*n).to_owned());
                }
                l
            }),
            ip_family: if v4 {
                IpFamily::Ipv4
            } else {
                IpFamily::Unknown
            },
            profile: if modern {
                Profile::IstioModern
            } else {
                Profile::Istio1_1_3
            },
            ..ProxyClass::default()
        })
}

/// A service's locality policy: a few shapes covering each branch of the stage (L8, L21).
fn policy() -> impl Strategy<Value = Option<LocalityPolicy>> {
    let dr = |outlier_detection, setting: LocalityLbSetting| LocalityPolicy {
        destination_rule: Some(TrafficPolicy {
            locality_lb_setting: Some(setting),
            zone_aware_lb_setting: None,
            outlier_detection,
        }),
        ..LocalityPolicy::default()
    };
    let failover = vec![Failover {
        from: "r".into(),
        to: "r2".into(),
    }];
    let priority = vec![NETWORK_LABEL.to_owned(), "version".to_owned()];
    let policies = vec![
        dr(
            true,
            LocalityLbSetting {
                failover: failover.clone(),
                ..Default::default()
            },
        ),
        dr(
            false,
            LocalityLbSetting {
                failover: failover.clone(),
                ..Default::default()
            },
        ),
        dr(
            true,
            LocalityLbSetting {
                failover_priority: priority.clone(),
                ..Default::default()
            },
        ),
        dr(
            true,
            LocalityLbSetting {
                failover_priority: vec!["version=v2".into()],
                failover: failover.clone(),
                ..Default::default()
            },
        ),
        dr(
            false,
            LocalityLbSetting {
                distribute: vec![Distribute {
                    from: "*".into(),
                    to: vec![("r/a".into(), 70), ("r2".into(), 30)],
                }],
                ..Default::default()
            },
        ),
        LocalityPolicy {
            traffic_distribution: TrafficDistribution::PreferSameZone,
            ..LocalityPolicy::default()
        },
        LocalityPolicy {
            destination_rule: Some(TrafficPolicy {
                zone_aware_lb_setting: Some(ZoneAwareLbSetting {
                    failover,
                    failover_priority: vec!["version".into()],
                    ..Default::default()
                }),
                ..TrafficPolicy::default()
            }),
            ..LocalityPolicy::default()
        },
    ];
    prop::option::weighted(0.8, prop::sample::select(policies))
}

fn delta() -> impl Strategy<Value = Delta> {
    prop_oneof![
        6 => reweighted(),
        6 => (0usize..3, 0usize..3, 0u8..4, endpoint()).prop_map(|(s, c, k, endpoint)| {
            Delta::UpsertEndpoint { service: service(s), cluster: shard(c), key: format!("k{k}"), endpoint }
        }),
        3 => (0usize..3, 0usize..3, 0u8..4).prop_map(|(s, c, k)| Delta::RemoveEndpoint {
            service: service(s), cluster: shard(c), key: format!("k{k}"),
        }),
        1 => (0usize..3, 0usize..3, prop::collection::vec(endpoint(), 0..4)).prop_map(|(s, c, eps)| {
            Delta::ReplaceShard {
                service: service(s),
                cluster: shard(c),
                // Keys repeat now and then (k0, k1, k0, ...).
                endpoints: eps.into_iter().enumerate().map(|(i, e)| (format!("k{}", i % 2), e)).collect(),
            }
        }),
        1 => (0usize..3, 0usize..3).prop_map(|(s, c)| Delta::RemoveShard { service: service(s), cluster: shard(c) }),
        1 => (0usize..3, prop::bool::ANY).prop_map(|(s, allowed)| Delta::MtlsAllowed { service: service(s), allowed }),
        2 => (0usize..3, policy()).prop_map(|(s, policy)| Delta::Locality { service: service(s), policy: policy.map(Box::new) }),
        2 => gateways().prop_map(Delta::Gateways),
        2 => class().prop_map(Delta::AddClass),
        1 => class().prop_map(Delta::RemoveClass),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_sequence_of_deltas_equals_a_full_rebuild(
        batches in prop::collection::vec(prop::collection::vec(delta(), 1..4), 1..12),
    ) {
        let mut store = EdsStore::new(Features::default());
        let reader = store.reader();
        let mut model = StoreModel::new(Features::default());
        for batch in &batches {
            model.apply(batch);
            store.apply(batch.clone());
            let snap = reader.load();
            prop_assert_eq!(&*snap, &store.full_rebuild());
            // Independently: every (class, service) from the model, by the oracle.
            prop_assert!(snap.classes().eq(model.classes()));
            prop_assert!(snap.services().eq(model.services()));
            for class in model.classes() {
                for name in model.services() {
                    let expected = model.expected(class, name);
                    let got = snap.encoded(class, name);
                    prop_assert_eq!(
                        got.as_ref().map(|r| r.as_ref().ok()),
                        expected.as_ref().map(|r| r.as_ref().ok()),
                        "{} for {:?}", name, class
                    );
                    let value = store.assignment(class, name).map(|r| r.map(|c| wire::encode(&c)).ok());
                    prop_assert_eq!(value.as_ref().map(|v| v.as_ref()), got.as_ref().map(|r| r.as_ref().ok()));
                }
            }
            for name in model.services() {
                prop_assert_eq!(store.endpoints(name).map(<[_]>::to_vec), model.endpoints(name));
            }
        }
    }
}
