//! Property: a store fed the shard changes of remote-cluster lifecycle events (`RemoteClusters`
//! → `shard_deltas`) equals, after every event, a full rebuild and a fresh store holding just the
//! shards the lifecycle says are present.

use std::collections::{BTreeMap, BTreeSet};

use mesh_eds::{
    ClusterRequest, Delta, EdsEndpoint, EdsStore, Features, LifecycleConfig, LifecycleEvent,
    LifecycleProfile, ProxyClass, RemoteClusters, RemoteSecret, shard_deltas,
};
use mesh_model::{ClusterId, Gateway};
use proptest::prelude::*;

const HOSTS: [&str; 2] = ["a.ns.svc.cluster.local", "b.ns.svc.cluster.local"];

fn id(s: &str) -> ClusterId {
    s.parse().unwrap_or_else(|_| unreachable!("valid constant"))
}

fn request(host: &str) -> ClusterRequest {
    format!("outbound|80||{host}").parse().unwrap_or_default()
}

/// What each (cluster, host) shard holds when present: one endpoint on the cluster's network.
fn endpoints(cluster: &ClusterId, host: &str) -> Vec<(ClusterRequest, Vec<(String, EdsEndpoint)>)> {
    let net = if cluster.as_str() == "west" {
        "n2"
    } else {
        "n1"
    };
    let i = HOSTS.iter().position(|h| *h == host).unwrap_or(9);
    let e = EdsEndpoint {
        addresses: vec![format!("10.{}.0.{i}", cluster.as_str().len())],
        port: 80,
        network: net.parse().ok(),
        cluster: Some(cluster.clone()),
        ..EdsEndpoint::default()
    };
    vec![(request(host), vec![(format!("{cluster}-{i}"), e)])]
}

fn setup() -> Vec<Delta> {
    let class = |net: &str, cluster: &str| ProxyClass {
        network: net.parse().ok(),
        cluster: Some(id(cluster)),
        ..ProxyClass::default()
    };
    let mut d = vec![
        Delta::AddClass(class("n1", "east")),
        Delta::AddClass(class("n2", "west")),
        Delta::Gateways(vec![Gateway::new(id_net("n2"), "192.0.2.2", 15443)]),
    ];
    for (svc, eps) in endpoints(&id("east"), HOSTS[0]) {
        d.push(Delta::ReplaceShard {
            service: svc,
            cluster: Some(id("east")),
            endpoints: eps,
        });
    }
    d
}

fn id_net(s: &str) -> mesh_model::NetworkId {
    s.parse().unwrap_or_else(|_| unreachable!("valid constant"))
}

fn event() -> impl Strategy<Value = LifecycleEvent> {
    let cluster = prop::sample::select(vec!["west", "south"]);
    prop_oneof![
        (0u8..2, cluster.clone(), 0u8..3).prop_map(|(s, c, k)| LifecycleEvent::SecretChanged {
            secret: RemoteSecret {
                namespace: "istio-system".into(),
                name: format!("s{s}"),
                labeled: true,
                data: BTreeMap::from([(id(c), format!("k{k}"))]),
            },
            views: BTreeMap::new(),
        }),
        (0u8..2).prop_map(|s| LifecycleEvent::SecretDeleted {
            namespace: "istio-system".into(),
            name: format!("s{s}"),
        }),
        cluster
            .clone()
            .prop_map(|c| LifecycleEvent::ClusterSynced(id(c))),
        cluster
            .clone()
            .prop_map(|c| LifecycleEvent::SyncTimeout(id(c))),
        (
            cluster,
            prop::collection::btree_set(prop::sample::select(HOSTS.to_vec()), 0..3)
        )
            .prop_map(|(c, s)| LifecycleEvent::ContentChanged {
                cluster: id(c),
                services: s.into_iter().map(str::to_owned).collect(),
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lifecycle_deltas_equal_a_full_rebuild_after_every_event(
        events in prop::collection::vec(event(), 0..20),
        pre in any::<bool>(),
    ) {
        let all: BTreeSet<String> = HOSTS.iter().map(|h| (*h).to_owned()).collect();
        let mut mc = RemoteClusters::new(LifecycleConfig {
            config_cluster: Some(id("east")),
            system_namespace: "istio-system".into(),
            config_cluster_synced: true,
            initial_shards: BTreeMap::from([(id("east"), BTreeSet::from([HOSTS[0].to_owned()]))]),
            content: BTreeMap::from([(id("west"), all.clone()), (id("south"), all)]),
            profile: if pre { LifecycleProfile::IstioPre61044 } else { LifecycleProfile::IstioModern },
            ..LifecycleConfig::default()
        });
        let mut store = EdsStore::new(Features::default());
        store.apply(setup());
        for e in &events {
            let changes = mc.apply(e);
            store.apply(shard_deltas(&changes, endpoints, |h| vec![request(h)]));
            prop_assert_eq!(&*store.load(), &store.full_rebuild());
            // A fresh store given only the shards the lifecycle says are present.
            let mut fresh = EdsStore::new(Features::default());
            let mut deltas: Vec<Delta> = setup().into_iter().filter(|d| !matches!(d, Delta::ReplaceShard { .. })).collect();
            for (c, h) in mc.shards_present() {
                for (svc, eps) in endpoints(&c, &h) {
                    deltas.push(Delta::ReplaceShard { service: svc, cluster: Some(c.clone()), endpoints: eps });
                }
            }
            fresh.apply(deltas);
            let (got, want) = (store.load(), fresh.load());
            prop_assert!(got.services().eq(want.services()));
            for class in want.classes() {
                for name in want.services() {
                    prop_assert_eq!(got.encoded(class, name), want.encoded(class, name));
                }
            }
        }
    }
}
