//! Property: any sequence of deltas gives exactly the snapshot a full rebuild gives, and a
//! rebuild from an independent model of the inputs (plain maps, one-shot views).

use std::collections::BTreeMap;
use std::sync::Arc;

use mesh_eds::wire;
use mesh_eds::{
    ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, GatewayIndex, IpFamily, Profile,
    ProxyClass, ServiceRequest, View,
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

fn endpoint() -> impl Strategy<Value = EdsEndpoint> {
    (
        0usize..4,
        0u8..4,
        0usize..2,
        prop::bool::weighted(0.8),
        0u32..3,
    )
        .prop_map(|(net, host, zone, istio, lb_weight)| EdsEndpoint {
            addresses: vec![format!("10.{net}.0.{host}")],
            port: 8080,
            network: NETS.get(net).and_then(|n| n.parse().ok()),
            locality: ["r/a", "r/b"][zone].into(),
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
    (0usize..4, prop::bool::weighted(0.8), prop::bool::ANY).prop_map(|(net, modern, v4)| {
        ProxyClass {
            network: NETS.get(net).and_then(|n| n.parse().ok()),
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
        }
    })
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
        2 => gateways().prop_map(Delta::Gateways),
        2 => class().prop_map(Delta::AddClass),
        1 => class().prop_map(Delta::RemoveClass),
    ]
}

type Shards = BTreeMap<Option<ClusterId>, Vec<(String, EdsEndpoint)>>;

/// The inputs as plain maps, updated by the test's own reading of each delta.
#[derive(Default)]
struct Model {
    shards: BTreeMap<String, (ClusterRequest, Shards)>,
    mtls: BTreeMap<String, bool>,
    gateways: Vec<Gateway>,
    classes: Vec<ProxyClass>,
}

impl Model {
    fn apply(&mut self, d: &Delta) {
        match d.clone() {
            Delta::UpsertEndpoint {
                service,
                cluster,
                key,
                endpoint,
            } => {
                let e = self
                    .shards
                    .entry(service.name())
                    .or_insert_with(|| (service, BTreeMap::new()));
                let shard = e.1.entry(cluster).or_default();
                match shard.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = endpoint,
                    None => shard.push((key, endpoint)),
                }
            }
            Delta::RemoveEndpoint {
                service,
                cluster,
                key,
            } => {
                if let Some(s) = self
                    .shards
                    .get_mut(&service.name())
                    .and_then(|e| e.1.get_mut(&cluster))
                {
                    s.retain(|(k, _)| *k != key);
                }
            }
            Delta::ReplaceShard {
                service,
                cluster,
                endpoints,
            } => {
                let e = self
                    .shards
                    .entry(service.name())
                    .or_insert_with(|| (service, BTreeMap::new()));
                // A key given twice: its first place, its last endpoint.
                let mut shard: Vec<(String, EdsEndpoint)> = Vec::new();
                for (key, endpoint) in endpoints {
                    match shard.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = endpoint,
                        None => shard.push((key, endpoint)),
                    }
                }
                e.1.insert(cluster, shard);
            }
            Delta::RemoveShard { service, cluster } => {
                if let Some(e) = self.shards.get_mut(&service.name()) {
                    e.1.remove(&cluster);
                }
            }
            Delta::MtlsAllowed { service, allowed } => {
                self.mtls.insert(service.name(), allowed);
            }
            Delta::Gateways(g) => self.gateways = g,
            Delta::AddClass(c) if !self.classes.contains(&c) => self.classes.push(c),
            Delta::RemoveClass(c) => self.classes.retain(|x| *x != c),
            _ => {}
        }
    }

    /// At the end of an apply: a service without endpoints is gone.
    fn settle(&mut self) {
        self.shards
            .retain(|_, (_, shards)| shards.values().any(|s| !s.is_empty()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_sequence_of_deltas_equals_a_full_rebuild(
        batches in prop::collection::vec(prop::collection::vec(delta(), 1..4), 1..12),
    ) {
        let mut store = EdsStore::new(Features::default());
        let reader = store.reader();
        let mut model = Model::default();
        for batch in &batches {
            for d in batch {
                model.apply(d);
            }
            model.settle();
            store.apply(batch.clone());
            let snap = reader.load();
            prop_assert_eq!(&*snap, &store.full_rebuild());
            // Independently: every (class, service) from the model, one-shot.
            let index = Arc::new(GatewayIndex::new(model.gateways.clone()));
            prop_assert_eq!(snap.classes().count(), model.classes.len());
            for class in &model.classes {
                let view = View::new(&index, class.clone());
                let mut names = Vec::new();
                for (name, (cluster, shards)) in &model.shards {
                    let endpoints: Vec<EdsEndpoint> =
                        shards.values().flat_map(|s| s.iter().map(|(_, e)| e.clone())).collect();
                    let request = ServiceRequest {
                        cluster,
                        endpoints: &endpoints,
                        mtls_allowed: model.mtls.get(name).copied().unwrap_or(true),
                        features: Features::default(),
                    };
                    // The snapshot's bytes (the encoded fast path for modern classes) are the
                    // encoding of what the value path computes from scratch.
                    let expected = view.assignment(&request).map(|cla| wire::encode(&cla));
                    prop_assert_eq!(snap.encoded(class, name), Some(expected.clone()));
                    prop_assert_eq!(store.assignment(class, name).map(|r| r.map(|c| wire::encode(&c))), Some(expected));
                    names.push(name.as_str());
                }
                let served: Vec<&str> = snap.services().collect();
                prop_assert_eq!(served, names);
            }
        }
    }
}
