//! Properties of the `.global` plan over generated meshes, and the replicated example.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};

use mesh_global::{
    Allocations, ApiVersion, ENTRY_NAMESPACE, PortRejection, Selector, UnreachableReason, allocate,
    allocate_for_mesh, coredns_configmap, coredns_forward_global, coredns_global_zone,
    global_dns_configmap, known_protocol, kube_dns_stub_domain, kubernetes_default_server_block,
    plan_for_cluster, port_rejection, resolve_global, valid_port_name,
};
use mesh_model::strategies::{MeshSize, mesh_document};
use mesh_model::{MeshDocument, ServiceKey, ServicePort};
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
            // The zone answers exactly the entries' names: never a service of this cluster alone.
            let zone = coredns_global_zone(&plan);
            let zone_hosts: Vec<&str> = zone.lines().filter_map(|l| l.trim().split_once(' ')).map(|(_, h)| h).filter(|h| h.ends_with(".global")).collect();
            let entry_hosts: Vec<&str> = plan.service_entries.iter().map(|e| e.spec.hosts[0].as_str()).collect();
            prop_assert_eq!(zone_hosts, entry_hosts);
            for e in &plan.service_entries {
                prop_assert_eq!(e.spec.hosts.len(), 1);
                // In the control plane's namespace, named by the host (unique), exported to all.
                prop_assert_eq!(e.metadata.namespace.as_str(), ENTRY_NAMESPACE);
                prop_assert_eq!(&e.metadata.name, &e.spec.hosts[0]);
                prop_assert_eq!(&e.spec.export_to, &vec!["*".to_owned()]);
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
                let rejected = plan.rejected.iter().any(|r| r.service == s.key());
                let has_entry = hosts.contains_key(&s.key().global_host());
                prop_assert_eq!(has_entry, unreachable.len() < remote.len() && !rejected, "{}", s.key());
            }
        }
    }

    /// Whatever the ports, no entry holds a port name or protocol Istio refuses; every service
    /// with such a port is reported, naming the port, never dropped silently.
    #[test]
    fn no_entry_holds_a_port_istio_refuses(
        doc in mesh_document(size()),
        ports in proptest::collection::vec(
            (
                prop::sample::select(vec!["http", "http-alt", "http_alt", "-x", "", "tcp-9", "a.b"]),
                prop::option::of(prop::sample::select(vec!["HTTP", "grpc-web", "FOO", "tcp", "HTTP/2"])),
            ),
            0..4,
        ),
    ) {
        let mut doc = doc;
        for (i, s) in doc.spec.services.iter_mut().enumerate() {
            s.ports = ports
                .iter()
                .enumerate()
                .skip(i % 2)
                .map(|(k, (name, protocol))| ServicePort {
                    name: (*name).to_owned(),
                    port: 8000 + k as u16,
                    target_port: None,
                    protocol: protocol.map(str::to_owned),
                })
                .collect();
        }
        let spec = &doc.spec;
        let vips = allocate_for_mesh(spec, &Allocations::default()).unwrap();
        for cluster in &spec.clusters {
            let plan = plan_for_cluster(spec, &cluster.name, &Selector::default(), &vips, ApiVersion::V1).unwrap();
            for e in &plan.service_entries {
                for p in &e.spec.ports {
                    prop_assert!(valid_port_name(&p.name), "{}: {}", e.spec.hosts[0], p.name);
                    prop_assert!(known_protocol(&p.protocol), "{}: {}", e.spec.hosts[0], p.protocol);
                }
                for ep in &e.spec.endpoints {
                    prop_assert!(ep.ports.keys().all(|k| valid_port_name(k)));
                }
            }
            for r in &plan.rejected {
                let s = spec.services.iter().find(|s| s.key() == r.service).unwrap();
                let port = s.ports.iter().find(|p| p.port == r.port).unwrap();
                prop_assert_eq!(port_rejection(port), Some(r.rejection.clone()));
                prop_assert!(!plan.service_entries.iter().any(|e| e.spec.hosts[0] == r.service.global_host()));
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

/// The plan of cluster `east` of `doc`.
fn east_plan(doc: &MeshDocument, api: ApiVersion) -> mesh_global::ClusterPlan {
    let vips = allocate_for_mesh(&doc.spec, &Allocations::default()).unwrap();
    plan_for_cluster(
        &doc.spec,
        &"east".parse().unwrap(),
        &Selector::default(),
        &vips,
        api,
    )
    .unwrap()
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

#[test]
fn a_service_whose_ports_istio_refuses_gets_no_entry_and_is_reported() {
    let text = test_support::EXAMPLE_REPLICATED.replace(
        "ports: [{name: http, port: 8000, targetPort: 80, protocol: HTTP}]",
        "ports: [{name: http_alt, port: 8000, targetPort: 80, protocol: HTTP}, {name: web, port: 8001, protocol: FOO}]",
    );
    let east = east_plan(&MeshDocument::from_yaml(&text).unwrap(), ApiVersion::V1);
    assert!(
        east.service_entries.is_empty(),
        "{:?}",
        east.service_entries
    );
    let got: Vec<(u16, PortRejection)> = east
        .rejected
        .iter()
        .map(|r| (r.port, r.rejection.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                8000,
                PortRejection::InvalidName {
                    name: "http_alt".into()
                }
            ),
            (
                8001,
                PortRejection::UnsupportedProtocol {
                    protocol: "FOO".into()
                }
            ),
        ]
    );
    let message = east.rejected[0].to_string();
    assert!(
        message.starts_with("httpbin.bar is left out (no ServiceEntry for httpbin.bar.global): port 8000: port name \"http_alt\" is not a DNS-1123 label"),
        "{message}"
    );
    assert!(message.contains("ValidatePortName"), "{message}");
    assert!(east.rejected[1].to_string().contains("ValidateProtocol"));
}

#[test]
fn dns_configmaps_embed_the_zone_parse_as_yaml_and_say_what_they_replace() {
    let doc = MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED).unwrap();
    let plan = east_plan(&doc, ApiVersion::V1);
    let v: serde_json::Value = serde_saphyr::from_str(&global_dns_configmap(&plan)).unwrap();
    assert_eq!(v["data"]["Corefile"], coredns_global_zone(&plan));
    assert_eq!(v["metadata"]["name"], "global-dns");

    let cm = coredns_configmap("cluster.local", &coredns_global_zone(&plan));
    assert!(cm.starts_with("# REPLACES ConfigMap kube-system/coredns: "));
    let v: serde_json::Value = serde_saphyr::from_str(&cm).unwrap();
    assert_eq!(
        v["data"]["Corefile"],
        format!(
            "{}{}",
            kubernetes_default_server_block("cluster.local"),
            coredns_global_zone(&plan)
        )
    );

    let stub = kube_dns_stub_domain("10.96.0.10".parse().unwrap());
    assert!(stub.starts_with("# REPLACES ConfigMap kube-system/kube-dns: "));
    let v: serde_json::Value = serde_saphyr::from_str(&stub).unwrap();
    assert_eq!(v["data"]["stubDomains"], "{\"global\": [\"10.96.0.10\"]}\n");
    assert!(coredns_forward_global("10.0.0.1".parse().unwrap()).contains("forward . 10.0.0.1"));
    // The zone: east's entries only (httpbin.bar of west), never east's own sleep.foo.
    let zone = coredns_global_zone(&plan);
    assert!(
        zone.contains(" httpbin.bar.global\n") && !zone.contains("sleep.foo"),
        "{zone}"
    );
}
