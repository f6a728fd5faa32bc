//! Properties of the `.global` plan over generated meshes, and the replicated example.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};

use mesh_global::{
    Allocations, ApiVersion, Selector, UnreachableReason, allocate, allocate_for_mesh,
    plan_for_cluster, resolve_global,
};
use mesh_model::strategies::{MeshSize, mesh_document};
use mesh_model::{MeshDocument, ServiceKey};
use proptest::prelude::*;

fn size() -> MeshSize {
    MeshSize {
        clusters: 1..=6,
        networks: 1..=4,
        services: 0..=8,
        endpoints_per_service: 0..=5,
        ..MeshSize::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_remote_service_has_exactly_one_entry_and_never_a_local_gateway(doc in mesh_document(size())) {
        let spec = &doc.spec;
        let vips = allocate_for_mesh(spec, &Allocations::default()).unwrap();
        let gateways = spec.gateways(true).gateways;
        for cluster in &spec.clusters {
            let plan = plan_for_cluster(spec, &cluster.name, &Selector::default(), &vips, ApiVersion::V1).unwrap();
            let mut hosts = BTreeMap::new();
            for e in &plan.service_entries {
                prop_assert_eq!(e.spec.hosts.len(), 1);
                *hosts.entry(e.spec.hosts[0].clone()).or_insert(0) += 1;
                // The gateways of the consuming cluster itself are never endpoints.
                for ep in &e.spec.endpoints {
                    prop_assert_ne!(ep.labels["cluster"].as_str(), cluster.name.as_str());
                    let own: Vec<_> = gateways.iter().filter(|g| {
                        g.address == ep.address
                            && (g.cluster.as_ref() == Some(&cluster.name)
                                || (g.cluster.is_none() && Some(&g.network) == cluster.network.as_ref()))
                    }).collect();
                    prop_assert!(own.is_empty(), "{} points at a gateway of {}", e.spec.hosts[0], cluster.name);
                }
            }
            prop_assert!(hosts.values().all(|&n| n == 1), "duplicate entries: {:?}", hosts);
            // Every service running in another cluster has an entry, unless every remote instance
            // is reported unreachable.
            for s in &spec.services {
                let remote: BTreeSet<_> = s.clusters().into_iter().filter(|c| **c != cluster.name).collect();
                if remote.is_empty() {
                    prop_assert!(!hosts.contains_key(&s.key().global_host()));
                    continue;
                }
                let unreachable: BTreeSet<_> = plan.unreachable.iter().filter(|u| u.service == s.key()).map(|u| &u.cluster).collect();
                let has_entry = hosts.contains_key(&s.key().global_host());
                prop_assert_eq!(has_entry, unreachable.len() < remote.len(), "{}", s.key());
            }
        }
    }

    #[test]
    fn addresses_are_unique_and_stable_under_insertion_and_removal(
        names in prop::collection::btree_set("[a-z]{1,6}\\.ns[0-3]", 1..40),
        extra in prop::collection::btree_set("[a-z]{1,6}\\.ns[0-3]", 0..10),
        drop in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let range = "240.0.0.0/24".parse().unwrap();
        let keys: Vec<ServiceKey> = names.iter().map(|n| n.parse().unwrap()).collect();
        let first = allocate(&keys, range, &[], &Allocations::default()).unwrap();
        let unique: BTreeSet<_> = first.0.values().collect();
        prop_assert_eq!(unique.len(), keys.len());
        prop_assert_eq!(allocate(&keys, range, &[], &Allocations::default()).unwrap(), first.clone());
        // Insert some, remove some: every survivor keeps its address.
        let mut next: BTreeSet<ServiceKey> = keys.iter().cloned().collect();
        for i in &drop {
            let k = keys[i.index(keys.len())].clone();
            next.remove(&k);
        }
        next.extend(extra.iter().map(|n| n.parse().unwrap()));
        let next: Vec<ServiceKey> = next.into_iter().collect();
        let second = allocate(&next, range, &[], &first).unwrap();
        for k in &next {
            if let Some(old) = first.get(k) {
                prop_assert_eq!(second.get(k), Some(old));
            }
        }
        let unique: BTreeSet<_> = second.0.values().collect();
        prop_assert_eq!(unique.len(), next.len());
        for (k, ip) in &second.0 {
            prop_assert_eq!(resolve_global(&second, &k.global_host()), Some(*ip));
        }
    }
}

#[test]
fn replicated_example_renders() {
    let doc = MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED).unwrap();
    let vips = allocate_for_mesh(&doc.spec, &Allocations::default()).unwrap();
    let east = plan_for_cluster(
        &doc.spec,
        &"east".parse().unwrap(),
        &Selector::default(),
        &vips,
        ApiVersion::V1Alpha3,
    )
    .unwrap();
    assert_eq!(east.service_entries.len(), 1);
    let se = &east.service_entries[0];
    assert_eq!(se.spec.hosts, ["httpbin.bar.global"]);
    assert_eq!(se.spec.location, "MESH_INTERNAL");
    assert_eq!(se.spec.resolution, "DNS");
    assert_eq!(se.spec.ports[0].number, 8000);
    assert_eq!(se.spec.endpoints.len(), 1);
    let ep = &se.spec.endpoints[0];
    assert_eq!(
        (ep.address.as_str(), ep.ports["http"]),
        ("192.0.2.2", 15443)
    );
    assert_eq!(ep.network.as_deref(), Some("net-west"));
    assert_eq!(ep.locality.as_deref(), Some("us-west1/us-west1-a"));
    let vip: std::net::IpAddr = se.spec.addresses[0].parse().unwrap();
    assert!(
        "240.0.0.0/4"
            .parse::<ipnet::IpNet>()
            .unwrap()
            .contains(&vip)
    );
    let yaml = east.to_yaml();
    assert_eq!(yaml.matches("kind: ServiceEntry").count(), 1);
    assert_eq!(yaml.matches("kind: DestinationRule").count(), 1);
    assert!(yaml.contains("mode: ISTIO_MUTUAL"));
    // west consumes sleep.foo from east.
    let west = plan_for_cluster(
        &doc.spec,
        &"west".parse().unwrap(),
        &Selector::default(),
        &vips,
        ApiVersion::V1,
    )
    .unwrap();
    assert_eq!(west.service_entries[0].spec.hosts, ["sleep.foo.global"]);
    assert_eq!(
        west.service_entries[0].api_version,
        "networking.istio.io/v1"
    );
    // A selector restricts.
    let none = Selector {
        namespaces: BTreeSet::from(["other".parse().unwrap()]),
        ..Selector::default()
    };
    assert!(
        plan_for_cluster(
            &doc.spec,
            &"west".parse().unwrap(),
            &none,
            &vips,
            ApiVersion::V1
        )
        .unwrap()
        .service_entries
        .is_empty()
    );
}

#[test]
fn a_remote_cluster_without_gateway_is_reported_not_dropped() {
    let mut doc = MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED).unwrap();
    doc.spec
        .mesh_networks
        .networks
        .get_mut("net-west")
        .unwrap()
        .gateways
        .clear();
    let vips = allocate_for_mesh(&doc.spec, &Allocations::default()).unwrap();
    let east = plan_for_cluster(
        &doc.spec,
        &"east".parse().unwrap(),
        &Selector::default(),
        &vips,
        ApiVersion::V1,
    )
    .unwrap();
    assert!(east.service_entries.is_empty());
    assert_eq!(east.unreachable.len(), 1);
    assert_eq!(east.unreachable[0].reason, UnreachableReason::NoGateway);
    assert_eq!(
        east.unreachable[0].to_string(),
        "httpbin.bar in cluster west is left out of httpbin.bar.global: that cluster has no resolved gateway"
    );
}

#[test]
fn vip_range_overlapping_a_pod_cidr_is_an_error() {
    let mut doc = MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED).unwrap();
    doc.spec.global_vip_range = Some("10.0.0.0/8".parse().unwrap());
    let err = allocate_for_mesh(&doc.spec, &Allocations::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the .global range 10.0.0.0/8 overlaps podCidrs 10.1.0.0/16 of cluster east: virtual IPs must never be routable"
    );
}
