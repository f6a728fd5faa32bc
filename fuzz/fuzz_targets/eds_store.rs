//! `EdsStore` under arbitrary sequences of deltas (duplicate and unknown keys, shards replaced
//! and removed, classes of every profile added and removed, gateway and MeshNetworks changes,
//! locality policies set and cleared for classes with localities and labels, wide meshes): never a panic; after every apply the snapshot equals a full rebuild, lists the
//! model's classes and services, and every (class, service) the oracle covers gets exactly the
//! oracle's bytes from the independent model (`oracle::StoreModel`).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mesh_eds::oracle::{OracleError, StoreModel};
use mesh_eds::{
    ClusterRequest, Delta, Distribute, EdsEndpoint, EdsStore, Failover, Features, Health, IpFamily,
    LegacyGateway, LegacyNetworks, LocalityLbSetting, LocalityPolicy, MeshLocality, NETWORK_LABEL,
    Profile, ProxyClass, ProxyType, REGION_LABEL, ServeError, TrafficDistribution, TrafficPolicy,
    ZoneAwareLbSetting, wire,
};
use mesh_model::{ClusterId, Gateway, NetworkId, TlsMode};

/// Mostly a few names (so keys, shards and networks meet), sometimes one of many.
fn name(u: &mut Unstructured<'_>, prefix: &str, few: u8, many: u8) -> Result<String> {
    let i = if u.ratio(3, 4)? {
        u.int_in_range(0..=few)?
    } else {
        u.int_in_range(0..=many)?
    };
    Ok(format!("{prefix}{i}"))
}

fn network(u: &mut Unstructured<'_>) -> Result<Option<NetworkId>> {
    Ok(if u.ratio(1, 5)? {
        None
    } else {
        name(u, "n", 3, 40)?.parse().ok()
    })
}

fn cluster(u: &mut Unstructured<'_>) -> Result<Option<ClusterId>> {
    Ok(if u.ratio(1, 5)? {
        None
    } else {
        name(u, "c", 3, 40)?.parse().ok()
    })
}

fn service(u: &mut Unstructured<'_>) -> Result<ClusterRequest> {
    let host = name(u, "svc-", 2, 6)?;
    let mut request: ClusterRequest = format!("outbound|80||{host}.ns")
        .parse()
        .unwrap_or_default();
    // Now and then another selection under the same cluster name (the last one wins).
    if u.ratio(1, 16)? {
        request.port_name = "http".into();
    }
    Ok(request)
}

fn weight(u: &mut Unstructured<'_>) -> Result<u32> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => 0,
        1 => u.int_in_range(1..=5)?,
        2 => u32::MAX,
        3 => 16_384,
        _ => u.arbitrary()?,
    })
}

fn endpoint(u: &mut Unstructured<'_>) -> Result<EdsEndpoint> {
    let addresses = match u.int_in_range(0..=9u8)? {
        0 => Vec::new(),
        1 => vec![String::new()],
        2 => vec!["ep.example.com".into()],
        _ => vec![format!(
            "10.{}.{}.{}",
            u.int_in_range(0..=3u8)?,
            u.arbitrary::<u8>()?,
            u.arbitrary::<u8>()?
        )],
    };
    Ok(EdsEndpoint {
        addresses,
        port: if u.ratio(1, 10)? { 0 } else { 8080 },
        service_port_name: if u.ratio(1, 4)? {
            "grpc".into()
        } else {
            "http".into()
        },
        network: network(u)?,
        cluster: cluster(u)?,
        locality: locality(u)?,
        tls_mode: if u.ratio(1, 4)? {
            TlsMode::Disabled
        } else {
            TlsMode::Istio
        },
        hbone_tunnel: u.ratio(1, 8)?,
        lb_weight: weight(u)?,
        labels: std::sync::Arc::new(labels(u)?),
        workload_name: name(u, "w", 3, 3)?,
        health: if u.ratio(1, 8)? {
            Health::Unhealthy
        } else {
            Health::Healthy
        },
        ..EdsEndpoint::default()
    })
}

fn labels(u: &mut Unstructured<'_>) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=2u8)? {
        let key = ["version", "app", NETWORK_LABEL, REGION_LABEL][u.int_in_range(0..=3usize)?];
        labels.insert(key.to_owned(), name(u, "v", 2, 2)?);
    }
    Ok(labels)
}

fn locality(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(if u.ratio(1, 5)? {
        String::new()
    } else {
        format!("r{}/{}", u.int_in_range(0..=2u8)?, name(u, "z", 2, 30)?)
    })
}

fn failover(u: &mut Unstructured<'_>) -> Result<Vec<Failover>> {
    (0..u.int_in_range(0..=2u8)?)
        .map(|_| {
            Ok(Failover {
                from: format!("r{}", u.int_in_range(0..=2u8)?),
                to: format!("r{}", u.int_in_range(0..=2u8)?),
            })
        })
        .collect()
}

fn failover_priority(u: &mut Unstructured<'_>) -> Result<Vec<String>> {
    (0..u.int_in_range(0..=3u8)?)
        .map(|_| {
            Ok(match u.int_in_range(0..=4u8)? {
                0 => NETWORK_LABEL.to_owned(),
                1 => REGION_LABEL.to_owned(),
                2 => "version".to_owned(),
                3 => "version=v1".to_owned(),
                _ => "app".to_owned(),
            })
        })
        .collect()
}

fn locality_setting(u: &mut Unstructured<'_>) -> Result<LocalityLbSetting> {
    let pattern = |u: &mut Unstructured<'_>| -> Result<String> {
        Ok(["*", "r0", "r1/z1", "r2", ""][u.int_in_range(0..=4usize)?].to_owned())
    };
    let distribute = if u.ratio(1, 4)? {
        (0..u.int_in_range(1..=2u8)?)
            .map(|_| {
                let from = pattern(u)?;
                let to = (0..u.int_in_range(0..=2u8)?)
                    .map(|_| Ok((pattern(u)?, u.int_in_range(1..=100u32)?)))
                    .collect::<Result<_>>()?;
                Ok(Distribute { from, to })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    Ok(LocalityLbSetting {
        enabled: if u.ratio(1, 6)? {
            Some(u.arbitrary()?)
        } else {
            None
        },
        distribute,
        failover: failover(u)?,
        failover_priority: failover_priority(u)?,
    })
}

fn zone_aware(u: &mut Unstructured<'_>) -> Result<Option<ZoneAwareLbSetting>> {
    Ok(if u.ratio(1, 5)? {
        Some(ZoneAwareLbSetting {
            enabled: if u.ratio(1, 6)? {
                Some(u.arbitrary()?)
            } else {
                None
            },
            failover: failover(u)?,
            failover_priority: failover_priority(u)?,
        })
    } else {
        None
    })
}

fn policy(u: &mut Unstructured<'_>) -> Result<Option<LocalityPolicy>> {
    if u.ratio(1, 5)? {
        return Ok(None);
    }
    let destination_rule = if u.ratio(3, 4)? {
        Some(TrafficPolicy {
            locality_lb_setting: if u.arbitrary()? {
                Some(locality_setting(u)?)
            } else {
                None
            },
            zone_aware_lb_setting: zone_aware(u)?,
            outlier_detection: u.arbitrary()?,
        })
    } else {
        None
    };
    Ok(Some(LocalityPolicy {
        destination_rule,
        traffic_distribution: match u.int_in_range(0..=5u8)? {
            0 => TrafficDistribution::PreferSameZone,
            1 => TrafficDistribution::PreferSameNode,
            _ => TrafficDistribution::Any,
        },
        mesh: MeshLocality {
            locality_lb_setting: if u.ratio(1, 5)? {
                None
            } else {
                Some(locality_setting(u)?)
            },
            zone_aware_lb_setting: zone_aware(u)?,
        },
    }))
}

fn gateways(u: &mut Unstructured<'_>) -> Result<Vec<Gateway>> {
    (0..u.int_in_range(0..=8usize)?)
        .map(|_| {
            Ok(Gateway {
                network: network(u)?.unwrap_or_else(|| "n1".parse().expect("valid")),
                cluster: cluster(u)?,
                address: format!("192.0.2.{}", u.int_in_range(1..=6u8)?),
                port: if u.ratio(1, 8)? { 0 } else { 15443 },
                hbone_port: if u.ratio(1, 4)? { 15008 } else { 0 },
                service_account: String::new(),
            })
        })
        .collect()
}

fn mesh_networks(u: &mut Unstructured<'_>) -> Result<Option<LegacyNetworks>> {
    if u.ratio(1, 4)? {
        return Ok(None);
    }
    let mut networks = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=3u8)? {
        let entries = (0..u.int_in_range(0..=2u8)?)
            .map(|_| {
                Ok(LegacyGateway {
                    address: Some(if u.ratio(1, 4)? {
                        "gw.example.com".into()
                    } else {
                        format!("192.0.2.{}", u.int_in_range(1..=6u8)?)
                    }),
                    first_resolved: if u.arbitrary()? {
                        Some("192.0.2.9".into())
                    } else {
                        None
                    },
                    other_answers: Vec::new(),
                    registry_addresses: Vec::new(),
                    port: 15443,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        networks.insert(name(u, "n", 3, 3)?, entries);
    }
    Ok(Some(LegacyNetworks { networks }))
}

fn class(u: &mut Unstructured<'_>) -> Result<ProxyClass> {
    Ok(ProxyClass {
        proxy_type: if u.ratio(1, 4)? {
            ProxyType::Router
        } else {
            ProxyType::Sidecar
        },
        network: network(u)?,
        cluster: cluster(u)?,
        ip_family: if u.ratio(1, 4)? {
            IpFamily::Ipv6
        } else {
            IpFamily::Unknown
        },
        locality: locality(u)?,
        labels: if u.ratio(1, 4)? {
            None
        } else {
            Some(labels(u)?)
        },
        profile: match u.int_in_range(0..=7u8)? {
            0 => Profile::Istio1_1_3,
            1 => Profile::Istio1_1_0,
            2 => Profile::Istio1_5,
            _ => Profile::IstioModern,
        },
        ..ProxyClass::default()
    })
}

fn delta(u: &mut Unstructured<'_>) -> Result<Delta> {
    let key = |u: &mut Unstructured<'_>| name(u, "k", 4, 200);
    Ok(match u.int_in_range(0..=16u8)? {
        0..=5 => Delta::UpsertEndpoint {
            service: service(u)?,
            cluster: cluster(u)?,
            key: key(u)?,
            endpoint: endpoint(u)?,
        },
        6..=8 => Delta::RemoveEndpoint {
            service: service(u)?,
            cluster: cluster(u)?,
            key: key(u)?,
        },
        9 => Delta::ReplaceShard {
            service: service(u)?,
            cluster: cluster(u)?,
            endpoints: (0..u.int_in_range(0..=64usize)?)
                .map(|_| Ok((key(u)?, endpoint(u)?)))
                .collect::<Result<_>>()?,
        },
        10 => Delta::RemoveShard {
            service: service(u)?,
            cluster: cluster(u)?,
        },
        11 => Delta::MtlsAllowed {
            service: service(u)?,
            allowed: u.arbitrary()?,
        },
        12 => Delta::Gateways(gateways(u)?),
        13 => Delta::MeshNetworks(mesh_networks(u)?),
        14 => Delta::AddClass(class(u)?),
        15 => Delta::Locality {
            service: service(u)?,
            policy: policy(u)?.map(Box::new),
        },
        _ => Delta::RemoveClass(class(u)?),
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let features = Features {
        prefer_hbone_send: u.ratio(1, 5)?,
        ..Features::default()
    };
    let options = wire::EncodeOptions {
        istio_workload: !u.ratio(1, 4)?,
    };
    let mut store = EdsStore::new(features).with_encode_options(options);
    let mut model = StoreModel::new(features).with_encode_options(options);
    for _ in 0..u.int_in_range(1..=8u8)? {
        let batch = (0..u.int_in_range(1..=24usize)?)
            .map(|_| delta(u))
            .collect::<Result<Vec<_>>>()?;
        store.apply(batch.clone());
        model.apply(&batch);
        let snapshot = store.load();
        assert!(
            *snapshot == store.full_rebuild(),
            "snapshot == full rebuild"
        );
        assert!(snapshot.classes().eq(model.classes()), "classes");
        assert!(snapshot.services().eq(model.services()), "services");
        for name in model.services() {
            assert_eq!(
                store.endpoints(name).map(<[_]>::to_vec),
                model.endpoints(name),
                "{name}"
            );
            for class in model.classes() {
                let got = snapshot.encoded(class, name);
                assert!(
                    !matches!(
                        got,
                        Err(ServeError::UnknownClass { .. }
                            | ServeError::UnknownCluster { .. }
                            | ServeError::Push(_))
                    ),
                    "{name} for {class:?}: served by the model, not by the snapshot: {got:?}"
                );
                match model.expected(class, name).expect("served") {
                    Err(OracleError::ProfileNotCovered { .. }) => {}
                    Err(_) => assert!(got.is_err(), "{name} for {class:?}: Istio fails"),
                    Ok(bytes) => assert_eq!(got.ok(), Some(bytes), "{name} for {class:?}"),
                }
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
