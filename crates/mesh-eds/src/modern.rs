//! The current Istio algorithm (rules M1–M18) for one view and one cluster.

use std::collections::BTreeMap;

use mesh_model::TlsMode;

use crate::assignment::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
use crate::explain::{DirectReason, DropReason, GatewayContribution, Outcome, Trace};
use crate::input::{ClusterKind, EdsEndpoint, Features, Health, ProxyClass, ServiceRequest};
use crate::view::View;

/// The Envoy internal listener HBONE endpoints are sent to (M3).
pub const CONNECT_ORIGINATE: &str = "connect_originate";

/// M1 and the health part of M2, shared by every profile. Records the drop and returns `false`.
pub(crate) fn selected<T: Trace>(
    req: &ServiceRequest<'_>,
    i: usize,
    ep: &EdsEndpoint,
    trace: &mut T,
) -> bool {
    let drop = if ep.service_port_name != req.cluster.port_name {
        Some(DropReason::PortName {
            wanted: req.cluster.port_name.clone(),
            found: ep.service_port_name.clone(),
        })
    } else if is_hostname_with_port(ep) {
        Some(DropReason::HostnameAddress {
            address: ep.address().to_owned(),
        })
    } else if !req
        .cluster
        .subset_labels
        .iter()
        .all(|(k, v)| ep.labels.get(k) == Some(v))
    {
        Some(DropReason::NotInSubset {
            subset: req.cluster.subset.clone(),
        })
    } else if ep.health != Health::Healthy {
        Some(DropReason::NotHealthy { health: ep.health })
    } else {
        None
    };
    match drop {
        None => true,
        Some(d) => {
            if T::ON {
                trace.record(i, Outcome::Dropped(d));
            }
            false
        }
    }
}

/// M1: a first address that is a non-empty non-IP with a non-zero port (DNS ServiceEntry).
fn is_hostname_with_port(ep: &EdsEndpoint) -> bool {
    let a = ep.address();
    !a.is_empty() && ep.port != 0 && a.parse::<std::net::IpAddr>().is_err()
}

/// M8: on the proxy's network iff equal, or either side has no network.
pub(crate) fn in_network(class: &ProxyClass, ep: &EdsEndpoint) -> bool {
    match (&class.network, &ep.network) {
        (Some(p), Some(e)) => p == e,
        _ => true,
    }
}

/// M3: the endpoint is reached through an HBONE tunnel.
pub(crate) fn sends_hbone(ep: &EdsEndpoint, features: Features) -> bool {
    ep.hbone_tunnel && (ep.tls_mode != TlsMode::Istio || features.prefer_hbone_send)
}

/// M10: `w × S`, clipped to `u32::MAX` when `w ≥ floor(u32::MAX / S)`.
pub fn scale_weight(weight: u32, scale: u32) -> u32 {
    let scale = scale.max(1);
    if weight < u32::MAX / scale {
        weight * scale
    } else {
        u32::MAX
    }
}

/// Go's `net.JoinHostPort`: IPv6 literals (anything with a `:`) in brackets.
pub(crate) fn join_host_port(host: &str, port: u32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// M18: `<workload>;<namespace>;<canonical name>;<canonical revision>;<cluster>`.
pub(crate) fn workload_metadata(ep: &EdsEndpoint) -> String {
    let label = |keys: [&str; 3]| {
        keys.iter()
            .find_map(|k| ep.labels.get(*k).map(String::as_str))
    };
    let name = label([
        "service.istio.io/canonical-name",
        "app.kubernetes.io/name",
        "app",
    ])
    .unwrap_or(ep.workload_name.as_str());
    let revision = label([
        "service.istio.io/canonical-revision",
        "app.kubernetes.io/version",
        "version",
    ])
    .unwrap_or("latest");
    let revision = if revision == "latest" { "" } else { revision };
    format!(
        "{};{};{};{};{}",
        ep.workload_name,
        ep.namespace,
        name,
        revision,
        ep.cluster.as_ref().map_or("", |c| c.as_str())
    )
}

pub(crate) fn direct_endpoint(
    ep: &EdsEndpoint,
    weight: u32,
    hbone: bool,
    mtls: bool,
) -> LbEndpoint {
    let address = if hbone {
        EndpointAddress::Internal {
            server_listener_name: CONNECT_ORIGINATE.to_owned(),
            endpoint_id: join_host_port(ep.address(), ep.port),
        }
    } else {
        EndpointAddress::Socket {
            address: ep.address().to_owned(),
            port: ep.port,
        }
    };
    LbEndpoint {
        address,
        weight,
        kind: EndpointKind::Direct,
        mtls,
        network: ep.network.clone(),
        cluster: ep.cluster.clone(),
        workload: workload_metadata(ep),
    }
}

/// M12: the wrapping sum of the endpoint weights, unset when the group is empty.
pub(crate) fn wrapping_weight(endpoints: &[LbEndpoint]) -> Option<u32> {
    if endpoints.is_empty() {
        None
    } else {
        Some(endpoints.iter().fold(0u32, |a, e| a.wrapping_add(e.weight)))
    }
}

/// Groups admitted endpoint indexes by locality label, in byte order (M3).
pub(crate) type Groups<'a> = BTreeMap<&'a str, Vec<u32>>;

pub(crate) fn compute<T: Trace>(
    view: &View,
    req: &ServiceRequest<'_>,
    trace: &mut T,
) -> LoadAssignment {
    let class = view.class();
    let enabled = view.enabled();
    let sni = req.cluster.kind == ClusterKind::SniDnat;

    let mut groups: Groups<'_> = BTreeMap::new();
    for (i, ep) in req.endpoints.iter().enumerate() {
        if !selected(req, i, ep, trace) {
            continue;
        }
        // M2a: the requested network view ("" is always visible).
        if let (Some(visible), Some(n)) = (&class.network_view, &ep.network)
            && !visible.contains(n)
        {
            if T::ON {
                trace.record(
                    i,
                    Outcome::Dropped(DropReason::NotInNetworkView { network: n.clone() }),
                );
            }
            continue;
        }
        // M2: no address, and no gateway can stand in for it.
        if ep.addresses.is_empty() && (!enabled || in_network(class, ep)) {
            if T::ON {
                trace.record(i, Outcome::Dropped(DropReason::NoAddress));
            }
            continue;
        }
        groups
            .entry(ep.locality.as_str())
            .or_default()
            .push(u32::try_from(i).unwrap_or(u32::MAX));
    }

    let mut localities = Vec::with_capacity(groups.len());
    let mut sums: BTreeMap<u32, u32> = BTreeMap::new();
    for (label, members) in groups {
        let mut out = Vec::with_capacity(members.len());
        let mut saturating = 0u32;
        for i in members {
            let idx = i as usize;
            let ep = &req.endpoints[idx];
            let hbone = sends_hbone(ep, req.features);
            let mtls = ep.tls_mode == TlsMode::Istio && req.mtls_allowed && !hbone;
            if !enabled {
                // M5: no gateway anywhere, groups pass unchanged (M16 still applies).
                let w = ep.weight();
                if sni && !mtls {
                    if T::ON {
                        trace.record(idx, Outcome::Dropped(DropReason::SniDnatNotMtls));
                    }
                    continue;
                }
                saturating = saturating.saturating_add(w);
                out.push(direct_endpoint(ep, w, hbone, mtls));
                if T::ON {
                    trace.record(
                        idx,
                        Outcome::Direct {
                            weight: w,
                            reason: DirectReason::MultiNetworkDisabled,
                        },
                    );
                }
                continue;
            }
            let w = scale_weight(ep.weight(), view.scale());
            let route = view.route(ep.network.as_ref(), ep.cluster.as_ref());
            let candidates = route.map_or(0, |r| r.candidates);
            // M8 exception: a proxy without network goes through gateways when there are some.
            let forced = class.network.is_none() && ep.network.is_some() && candidates > 0;
            let same = in_network(class, ep);
            let route = match route {
                Some(r) if forced || (!same && candidates > 0) => r,
                _ => {
                    // M9: direct path; needs a host.
                    let drop = if ep.address().is_empty() || (!hbone && ep.port == 0) {
                        Some(DropReason::EmptyHost)
                    } else if sni && !mtls {
                        Some(DropReason::SniDnatNotMtls)
                    } else {
                        None
                    };
                    match drop {
                        Some(d) => {
                            if T::ON {
                                trace.record(idx, Outcome::Dropped(d));
                            }
                        }
                        None => {
                            out.push(direct_endpoint(ep, w, hbone, mtls));
                            if T::ON {
                                let reason = if same {
                                    DirectReason::SameNetwork
                                } else {
                                    DirectReason::NoGateway {
                                        network: ep.network.clone(),
                                    }
                                };
                                trace.record(idx, Outcome::Direct { weight: w, reason });
                            }
                        }
                    }
                    continue;
                }
            };
            // M11 / M14: no reachable gateway → dropped, never sent directly.
            if route.reachable.is_empty() {
                if T::ON {
                    trace.record(
                        idx,
                        Outcome::Dropped(DropReason::NoReachableGateway {
                            network: ep.network.clone(),
                            cluster: ep.cluster.clone(),
                            candidates,
                            ip_family: class.ip_family,
                        }),
                    );
                }
                continue;
            }
            // M15 (M17 for HBONE endpoints).
            if !mtls {
                if T::ON {
                    trace.record(
                        idx,
                        Outcome::Dropped(DropReason::NotMtlsCapable {
                            network: ep.network.clone(),
                            hbone,
                        }),
                    );
                }
                continue;
            }
            let r = u32::try_from(route.reachable.len()).unwrap_or(u32::MAX);
            let share = w / r;
            for &g in &route.reachable {
                let s = sums.entry(g).or_insert(0);
                *s = s.wrapping_add(share);
            }
            if T::ON {
                trace.record(
                    idx,
                    Outcome::ViaGateways {
                        weight: w,
                        contributions: route
                            .reachable
                            .iter()
                            .map(|&g| GatewayContribution {
                                gateway: view.gateway(g).clone(),
                                weight: share,
                            })
                            .collect(),
                    },
                );
            }
        }
        // M13: gateway endpoints after the direct ones, in gateway order; M18: their shape.
        for (g, sum) in std::mem::take(&mut sums) {
            let gw = view.gateway(g);
            out.push(LbEndpoint {
                address: EndpointAddress::Socket {
                    address: gw.address.clone(),
                    port: gw.port,
                },
                weight: if sum == 0 { 1 } else { sum },
                kind: EndpointKind::Gateway,
                mtls: true,
                network: Some(gw.network.clone()),
                cluster: gw.cluster.clone(),
                workload: format!(";;;;{}", gw.cluster.as_ref().map_or("", |c| c.as_str())),
            });
        }
        let weight = if !enabled && !sni {
            Some(saturating)
        } else {
            wrapping_weight(&out)
        };
        localities.push(LocalityGroup {
            label: label.to_owned(),
            weight,
            endpoints: out,
        });
    }
    LoadAssignment {
        cluster_name: req.cluster.name(),
        localities,
    }
}
