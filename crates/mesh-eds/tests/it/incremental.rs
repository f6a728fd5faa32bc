//! Property: any sequence of deltas gives exactly the snapshot a full rebuild gives, and a
//! rebuild from an independent model of the inputs (`oracle::StoreModel`: plain maps, the oracle),
//! and the value path — locality policies set and cleared included (`Delta::Locality`: failover
//! with and without outlier detection, failoverPriority with labels, distribute, zone-aware), for
//! classes with localities and labels.

use std::collections::BTreeMap;
use std::sync::Arc;

use mesh_eds::oracle::StoreModel;
use mesh_eds::wire;
use std::collections::BTreeSet;

use mesh_eds::{
    ClusterRequest, Delta, Distribute, EdsEndpoint, EdsStore, Failover, Features, IpFamily,
    LocalityLbSetting, LocalityPolicy, NETWORK_LABEL, Profile, ProxyClass, ScopeInput, ServeError,
    ServiceScope, TrafficDistribution, TrafficPolicy, ZoneAwareLbSetting,
};
use mesh_model::{
    AmbientScope, ClusterId, ClusterLocalHosts, Gateway, McsFeatures, ServiceSetting,
    ServiceSettingValues, TlsMode,
};
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
        0usize..3,
        0usize..4,
        prop::option::weighted(0.7, version()),
    )
        .prop_map(|(net, modern, v4, c, zone, labels)| ProxyClass {
            network: NETS.get(net).and_then(|n| n.parse().ok()),
            // The cluster matters only to services whose scope restricts (Delta::Scope).
            cluster: shard(c),
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

/// A service scope: global, cluster-local, MCS exported from c1 only, or ambient LOCAL.
fn scope(which: usize) -> ServiceScope {
    let hosts = ClusterLocalHosts::new(
        &[ServiceSetting {
            settings: Some(ServiceSettingValues {
                cluster_local: which == 1,
            }),
            hosts: vec!["*.ns".into()],
        }],
        "cluster.local",
        None,
    );
    let exports: BTreeSet<ClusterId> = shard(0).into_iter().collect();
    ServiceScope::resolve(&ScopeInput {
        hostname: "svc.ns",
        mcs: McsFeatures {
            service_discovery: which == 2,
            ..McsFeatures::default()
        },
        exports: &exports,
        ambient: (which == 3).then_some(AmbientScope::Local),
        ..ScopeInput::new(&hosts)
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
        1 => (0usize..3, 0usize..4).prop_map(|(s, which)| Delta::Scope { service: service(s), scope: scope(which) }),
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
                    let encoded = snap.encoded(class, name);
                    let got = served(&encoded);
                    prop_assert_eq!(
                        got,
                        expected.as_ref().map(|r| r.as_ref().ok()),
                        "{} for {:?}", name, class
                    );
                    let value = store.assignment(class, name).map(|c| wire::encode(&c));
                    prop_assert_eq!(served(&value), got);
                }
            }
            for name in model.services() {
                prop_assert_eq!(store.endpoints(name).map(<[_]>::to_vec), model.endpoints(name));
            }
        }
    }
}

/// A snapshot's answer as the model states it: `None` when the service or class is not served,
/// `Some(None)` when the class's Istio version fails on it.
fn served(got: &Result<Vec<u8>, ServeError>) -> Option<Option<&Vec<u8>>> {
    match got {
        Ok(bytes) => Some(Some(bytes)),
        Err(ServeError::Eds(_)) => Some(None),
        Err(_) => None,
    }
}

/// A scope that restricts nothing, in its different spellings: no scope, a host no setting
/// makes cluster-local, `ENABLE_MCS_CLUSTER_LOCAL` alone (S14), an ambient GLOBAL service.
fn inert_scope(which: usize) -> ServiceScope {
    let hosts = ClusterLocalHosts::new(&[], "cluster.local", None);
    match which {
        0 => ServiceScope::global(),
        1 => ServiceScope::resolve(&ScopeInput {
            hostname: "svc-0.ns",
            mcs: McsFeatures {
                cluster_local: true,
                host: true,
                ..McsFeatures::default()
            },
            ..ScopeInput::new(&hosts)
        }),
        _ => ServiceScope::resolve(&ScopeInput {
            hostname: "svc-1.ns",
            ambient: Some(AmbientScope::Global),
            ..ScopeInput::new(&hosts)
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A service with no scope settings gives exactly today's output: the same deltas with and
    /// without scopes that restrict nothing publish the same bytes for every (class, service).
    #[test]
    fn scopes_that_restrict_nothing_leave_every_byte_unchanged(
        batches in prop::collection::vec(prop::collection::vec(delta(), 1..4), 1..8),
        inert in prop::collection::vec((0usize..3, 0usize..3), 0..4),
    ) {
        let mut plain = EdsStore::new(Features::default());
        let mut scoped = EdsStore::new(Features::default());
        let without = |batch: &Vec<Delta>| -> Vec<Delta> {
            batch.iter().filter(|d| !matches!(d, Delta::Scope { .. })).cloned().collect()
        };
        scoped.apply(inert.iter().map(|&(s, w)| Delta::Scope { service: service(s), scope: inert_scope(w) }));
        for batch in &batches {
            plain.apply(without(batch));
            scoped.apply(without(batch));
            let (a, b) = (plain.load(), scoped.load());
            prop_assert!(a.classes().eq(b.classes()));
            for class in a.classes() {
                for name in a.services() {
                    prop_assert_eq!(a.encoded(class, name), b.encoded(class, name));
                }
            }
        }
    }
}
