//! The pre-1.8 algorithms: Istio 1.1.0 (H1.1), 1.1.3–1.1.17 (H1.2), 1.5; with H1.3–H1.6.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use mesh_model::{NetworkId, TlsMode};

use crate::Profile;
use crate::assignment::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
use crate::error::EdsError;
use crate::explain::{
    DirectReason, DropReason, GatewayContribution, LeftOutGateway, LeftOutReason, Outcome, Trace,
};
use crate::input::{ProxyClass, ServiceRequest};
use crate::rules::{direct_endpoint, selected, workload_metadata, wrapping_weight};

mod networks;
pub use networks::{LegacyGateway, LegacyNetworks};

/// H1.6: Istio 1.1's maximum load-balancing weight.
const MAX_WEIGHT: u32 = 128;

#[derive(Debug, Clone)]
struct LegacyRoute {
    /// Every configured gateway (entries as the profile reads them).
    total: usize,
    /// The ones whose address parses as an IP: emitted.
    ip: Vec<(String, u32)>,
    /// Configured gateways that get no LbEndpoint, and why (H1.5), for explanations.
    left_out: Vec<LeftOutGateway>,
}

/// One legacy profile's reading of MeshNetworks.
#[derive(Debug, Clone)]
pub(crate) struct LegacyView {
    profile: Profile,
    /// H1.4: MeshNetworks present with at least one network.
    enabled: bool,
    multiplier: u32,
    networks: HashMap<String, LegacyRoute>,
}

impl LegacyView {
    pub(crate) fn new(legacy: Option<&LegacyNetworks>, profile: Profile) -> Self {
        let mut networks = HashMap::new();
        let mut multiplier: i64 = 1;
        for (name, gws) in legacy.map(|l| &l.networks).into_iter().flatten() {
            let mut addrs: Vec<(String, u32)> = Vec::new();
            let mut left_out = Vec::new();
            let mut leave = |address: &str, port: u32, why: LeftOutReason| {
                left_out.push(LeftOutGateway {
                    address: address.to_owned(),
                    port,
                    why,
                });
            };
            for g in gws {
                match profile {
                    // H1.5: 1.1.0 kept hostnames in the active config.
                    Profile::Istio1_1_0 => {
                        if let Some(a) = &g.address {
                            if a.parse::<IpAddr>().is_err() {
                                leave(a, g.port, LeftOutReason::Hostname);
                            }
                            addrs.push((a.clone(), g.port));
                        } else {
                            leave("", g.port, LeftOutReason::RegistryServiceName);
                            addrs.push((String::new(), g.port));
                        }
                    }
                    // 1.1.17 (and 1.5) replace a hostname with its first resolved address.
                    _ => {
                        if let Some(a) = &g.address {
                            // Only a hostname is replaced: an IP address stays as written even
                            // when a caller's `first_resolved` says otherwise.
                            let a = match &g.first_resolved {
                                Some(resolved) if a.parse::<IpAddr>().is_err() => {
                                    for other in &g.other_answers {
                                        let hostname = a.clone();
                                        leave(
                                            other,
                                            g.port,
                                            LeftOutReason::NotFirstAnswer { hostname },
                                        );
                                    }
                                    resolved
                                }
                                _ => a,
                            };
                            if a.parse::<IpAddr>().is_err() {
                                leave(a, g.port, LeftOutReason::Hostname);
                            }
                            addrs.push((a.clone(), g.port));
                        } else if profile == Profile::Istio1_5 {
                            for a in &g.registry_addresses {
                                if a.parse::<IpAddr>().is_err() {
                                    leave(a, g.port, LeftOutReason::Hostname);
                                }
                                addrs.push((a.clone(), g.port));
                            }
                        } else {
                            leave("", g.port, LeftOutReason::RegistryServiceName);
                            addrs.push((String::new(), g.port));
                        }
                    }
                }
            }
            let total = addrs.len();
            let ip: Vec<(String, u32)> = addrs
                .into_iter()
                .filter(|(a, _)| a.parse::<IpAddr>().is_ok())
                .collect();
            if ip.len() > 1 {
                multiplier = multiplier.wrapping_mul(ip.len() as i64);
            }
            networks.insert(
                name.clone(),
                LegacyRoute {
                    total,
                    ip,
                    left_out,
                },
            );
        }
        Self {
            profile,
            enabled: !networks.is_empty(),
            multiplier: multiplier as u32,
            networks,
        }
    }

    pub(crate) fn multiplier(&self) -> u32 {
        match self.profile {
            Profile::Istio1_1_0 => 1,
            _ => self.multiplier,
        }
    }

    pub(crate) fn compute<T: Trace>(
        &self,
        class: &ProxyClass,
        req: &ServiceRequest<'_>,
        trace: &mut T,
    ) -> Result<LoadAssignment, EdsError> {
        let mut groups: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (i, ep) in req.endpoints.iter().enumerate() {
            if selected(req, i, ep, trace) {
                groups
                    .entry(ep.locality.as_str())
                    .or_default()
                    .push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        let proxy_net = class.network.as_ref().map_or("", NetworkId::as_str);
        let k = self.multiplier();
        let mut localities = Vec::with_capacity(groups.len());
        for (label, members) in groups {
            let mut out = Vec::new();
            if !self.enabled {
                // H1.4: no MeshNetworks networks, the filter is skipped.
                let mut sum = 0u32;
                for i in members {
                    let ep = &req.endpoints[i as usize];
                    let w = ep.weight();
                    sum = sum.saturating_add(w);
                    out.push(self.direct(ep, w, req));
                    if T::ON {
                        trace.record(
                            i as usize,
                            Outcome::Direct {
                                weight: w,
                                reason: DirectReason::LegacyFilterSkipped,
                            },
                        );
                    }
                }
                localities.push(LocalityGroup {
                    priority: 0,
                    locality: label.to_owned(),
                    weight: Some(sum),
                    endpoints: out,
                });
                continue;
            }
            // Remote networks in name order (Istio: Go map order), with their endpoint counts.
            let mut remote: BTreeMap<&str, (u32, Vec<usize>)> = BTreeMap::new();
            for i in members {
                let idx = i as usize;
                let ep = &req.endpoints[idx];
                let ep_net = ep.network.as_ref().map_or("", NetworkId::as_str);
                let local_weight = if self.profile == Profile::Istio1_1_0 {
                    1
                } else {
                    k
                };
                let has_gateways = self.networks.get(ep_net).is_some_and(|r| r.total > 0);
                let direct = if ep_net == proxy_net {
                    Some((local_weight, DirectReason::LegacySameNetwork))
                } else if self.profile == Profile::Istio1_5 && !has_gateways {
                    let network = ep.network.clone();
                    Some((k, DirectReason::LegacyNoGateway { network }))
                } else {
                    None
                };
                if let Some((weight, reason)) = direct {
                    out.push(self.direct(ep, weight, req));
                    if T::ON {
                        trace.record(idx, Outcome::Direct { weight, reason });
                    }
                    continue;
                }
                let entry = remote.entry(ep_net).or_default();
                entry.0 = entry.0.wrapping_add(1);
                entry.1.push(idx);
            }
            for (network, (count, idxs)) in remote {
                let route = self.networks.get(network).filter(|r| r.total > 0);
                let Some(route) = route else {
                    if T::ON {
                        for &idx in &idxs {
                            trace.record(
                                idx,
                                Outcome::Dropped(DropReason::LegacyNoGateway {
                                    network: req.endpoints[idx].network.clone(),
                                }),
                            );
                        }
                    }
                    continue;
                };
                // What one endpoint adds to each gateway, and the gateway's total (H1.1, H1.2).
                let share = match self.profile {
                    Profile::Istio1_1_0 => 1,
                    Profile::Istio1_5 => k / route.total as u32,
                    _ => {
                        if route.ip.is_empty() {
                            return Err(EdsError::DivideByZero {
                                profile: self.profile,
                                network: network.to_owned(),
                            });
                        }
                        k / route.ip.len() as u32
                    }
                };
                let weight = count.wrapping_mul(share);
                let net_id = NetworkId::new(network).ok();
                for (addr, port) in &route.ip {
                    out.push(LbEndpoint {
                        address: EndpointAddress::Socket {
                            address: addr.clone(),
                            port: *port,
                        },
                        weight,
                        kind: EndpointKind::Gateway,
                        mtls: self.profile == Profile::Istio1_5,
                        network: net_id.clone(),
                        cluster: None,
                        workload: ";;;;".to_owned(),
                    });
                }
                if T::ON && route.ip.is_empty() {
                    // Gateways, but none the profile emits: the endpoints are replaced by nothing.
                    for &idx in &idxs {
                        trace.record(
                            idx,
                            Outcome::Dropped(DropReason::LegacyNoIpGateway {
                                network: req.endpoints[idx].network.clone(),
                                left_out: route.left_out.clone(),
                            }),
                        );
                    }
                } else if T::ON {
                    let contributions: Vec<GatewayContribution> = route
                        .ip
                        .iter()
                        .filter_map(|(addr, port)| {
                            Some(GatewayContribution {
                                gateway: mesh_model::Gateway {
                                    network: net_id.clone()?,
                                    cluster: None,
                                    address: addr.clone(),
                                    port: *port,
                                    hbone_port: 0,
                                    service_account: String::new(),
                                },
                                weight: share,
                            })
                        })
                        .collect();
                    for &idx in &idxs {
                        trace.record(
                            idx,
                            Outcome::ViaGateways {
                                weight: if self.profile == Profile::Istio1_1_0 {
                                    1
                                } else {
                                    k
                                },
                                contributions: contributions.clone(),
                                left_out: route.left_out.clone(),
                                rule: if self.profile == Profile::Istio1_1_0 {
                                    "H1.1"
                                } else {
                                    "H1.2"
                                },
                            },
                        );
                    }
                }
            }
            let weight = if out.is_empty() {
                None
            } else if self.profile == Profile::Istio1_1_0 {
                Some(out.len() as u32)
            } else {
                wrapping_weight(&out)
            };
            localities.push(LocalityGroup {
                priority: 0,
                locality: label.to_owned(),
                weight,
                endpoints: out,
            });
        }
        if matches!(self.profile, Profile::Istio1_1_0 | Profile::Istio1_1_3) {
            normalize(&mut localities);
        }
        Ok(LoadAssignment {
            cluster_name: req.cluster.name(),
            localities,
        })
    }

    fn direct(&self, ep: &crate::EdsEndpoint, weight: u32, req: &ServiceRequest<'_>) -> LbEndpoint {
        let mtls = ep.tls_mode == TlsMode::Istio && req.mtls_allowed;
        direct_endpoint(ep, weight, false, mtls, workload_metadata(ep))
    }
}

/// H1.6: Istio 1.1's `LoadBalancingWeightNormalize` (uint32 arithmetic, float ceil).
fn normalize(localities: &mut [LocalityGroup]) {
    let ceil_share = |w: u32, total: u32| -> u32 {
        let v = (w.wrapping_mul(MAX_WEIGHT) as f64 / total as f64).ceil();
        if v.is_finite() { v as u32 } else { u32::MAX }
    };
    let mut total = 0u32;
    let mut need = false;
    for l in localities.iter_mut() {
        let lw = l.weight.unwrap_or(0);
        need |= lw > MAX_WEIGHT;
        total = total.wrapping_add(lw);
        if l.endpoints.iter().any(|e| e.weight > MAX_WEIGHT) {
            let sum = l
                .endpoints
                .iter()
                .fold(0u32, |a, e| a.wrapping_add(e.weight));
            for e in &mut l.endpoints {
                e.weight = ceil_share(e.weight, sum);
            }
        }
    }
    if need {
        for l in localities.iter_mut() {
            l.weight = Some(ceil_share(l.weight.unwrap_or(0), total));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h1_6_normalizes_endpoints_then_localities() {
        let ep = |w| LbEndpoint {
            address: EndpointAddress::Socket {
                address: "10.0.0.1".into(),
                port: 80,
            },
            weight: w,
            kind: EndpointKind::Direct,
            mtls: false,
            network: None,
            cluster: None,
            workload: String::new(),
        };
        let mut ls = vec![
            LocalityGroup {
                priority: 0,
                locality: "a".into(),
                weight: Some(300),
                endpoints: vec![ep(200), ep(100)],
            },
            LocalityGroup {
                priority: 0,
                locality: "b".into(),
                weight: Some(100),
                endpoints: vec![ep(100)],
            },
            LocalityGroup {
                priority: 0,
                locality: "c".into(),
                weight: None,
                endpoints: vec![],
            },
        ];
        normalize(&mut ls);
        // endpoints of "a": ceil(200*128/300)=86, ceil(100*128/300)=43; "b" untouched (100 ≤ 128)
        assert_eq!(ls[0].endpoints[0].weight, 86);
        assert_eq!(ls[0].endpoints[1].weight, 43);
        assert_eq!(ls[1].endpoints[0].weight, 100);
        // localities: ceil(300*128/400)=96, ceil(100*128/400)=32, and the unset one becomes 0
        assert_eq!(ls[0].weight, Some(96));
        assert_eq!(ls[1].weight, Some(32));
        assert_eq!(ls[2].weight, Some(0));
    }
}

#[cfg(test)]
mod profile_tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use mesh_model::MeshNetworks;

    use crate::index::GatewayIndex;
    use crate::input::{ClusterRequest, EdsEndpoint, Features};
    use crate::view::View;

    use super::*;

    const NETWORKS: &str = "networks:
  n1: {gateways: [{address: 1.1.1.1, port: 80}]}
  n2: {gateways: [{address: 2.2.2.2, port: 80}, {address: 2.2.2.20, port: 80}]}
  n3: {gateways: [{address: gw3.example, port: 443}]}
  n4: {gateways: []}
";

    fn run(
        profile: Profile,
        proxy: &str,
        nets: &str,
        eps: &[(&str, &str)],
    ) -> Result<Vec<String>, EdsError> {
        let mn = MeshNetworks::from_yaml(nets).unwrap();
        let dns = BTreeMap::from([("gw3.example".to_owned(), vec!["3.3.3.3".parse().unwrap()])]);
        let index = GatewayIndex::new([]).with_legacy_networks(LegacyNetworks::new(
            &mn,
            &dns,
            |_, _| vec![],
        ));
        let class = ProxyClass {
            network: proxy.parse().ok(),
            profile,
            ..ProxyClass::default()
        };
        let endpoints: Vec<EdsEndpoint> = eps
            .iter()
            .map(|(a, n)| EdsEndpoint {
                addresses: vec![(*a).into()],
                network: n.parse().ok(),
                ..EdsEndpoint::default()
            })
            .collect();
        let cluster = ClusterRequest::default();
        let cla = View::new(&Arc::new(index), class).assignment(&ServiceRequest {
            locality: crate::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed: true,
            features: Features::default(),
        })?;
        Ok(cla
            .localities
            .iter()
            .flat_map(|l| {
                let head = format!("weight {:?}", l.weight);
                std::iter::once(head).chain(l.endpoints.iter().map(|e| match &e.address {
                    EndpointAddress::Socket { address, port } => {
                        format!("{address}:{port}/{}", e.weight)
                    }
                    EndpointAddress::Internal { endpoint_id, .. } => endpoint_id.clone(),
                }))
            })
            .collect())
    }

    const EPS: [(&str, &str); 5] = [
        ("10.0.0.1", "n1"),
        ("10.0.0.2", "n1"),
        ("20.0.0.1", "n2"),
        ("30.0.0.1", "n3"),
        ("40.0.0.1", "n4"),
    ];

    #[test]
    fn h1_1_counts_per_gateway_unsplit_and_locality_weight_counts_endpoints() {
        // n3's hostname gateway is skipped in 1.1.0 (H1.5); n4 has none: dropped (H1.4)
        let got = run(Profile::Istio1_1_0, "n2", NETWORKS, &EPS).unwrap();
        assert_eq!(got, ["weight Some(2)", "20.0.0.1:0/1", "1.1.1.1:80/2"]);
    }

    #[test]
    fn h1_2_product_multiplier_and_split() {
        // K = 2 (n2 has two IP gateways); n3 resolved to its first address (1.1.17)
        let got = run(Profile::Istio1_1_3, "n1", NETWORKS, &EPS).unwrap();
        assert_eq!(
            got,
            [
                "weight Some(8)",
                "10.0.0.1:0/2",
                "10.0.0.2:0/2",
                "2.2.2.2:80/1",
                "2.2.2.20:80/1",
                "3.3.3.3:443/2"
            ]
        );
    }

    #[test]
    fn h1_2_all_hostname_gateways_divide_by_zero() {
        let nets = "networks:\n  n1: {gateways: [{address: 1.1.1.1, port: 80}]}\n  n9: {gateways: [{address: nowhere.example, port: 80}]}\n";
        let err = run(Profile::Istio1_1_3, "n1", nets, &[("90.0.0.1", "n9")]).unwrap_err();
        assert!(matches!(err, EdsError::DivideByZero { .. }));
        // 1.1.0 just skips the gateway and drops the endpoint
        assert_eq!(
            run(Profile::Istio1_1_0, "n1", nets, &[("90.0.0.1", "n9")]).unwrap(),
            ["weight None"]
        );
    }

    #[test]
    fn h1_3_plain_string_equality_and_h1_4_skip_without_networks() {
        // a proxy without network sees only unlabelled endpoints as local
        let got = run(
            Profile::Istio1_1_0,
            "",
            NETWORKS,
            &[("10.9.0.1", ""), ("10.0.0.1", "n1")],
        )
        .unwrap();
        assert_eq!(got, ["weight Some(2)", "10.9.0.1:0/1", "1.1.1.1:80/1"]);
        let got = run(Profile::Istio1_1_3, "n1", "networks: {}", &EPS).unwrap();
        assert_eq!(got.len(), 6); // filter skipped: every endpoint as itself
    }

    #[test]
    fn istio_1_5_gatewayless_networks_are_direct() {
        let got = run(Profile::Istio1_5, "n1", NETWORKS, &EPS).unwrap();
        assert_eq!(
            got,
            [
                "weight Some(10)",
                "10.0.0.1:0/2",
                "10.0.0.2:0/2",
                "40.0.0.1:0/2",
                "2.2.2.2:80/1",
                "2.2.2.20:80/1",
                "3.3.3.3:443/2"
            ]
        );
    }

    #[test]
    fn h1_6_big_weights_are_normalized_in_1_1_only() {
        let many: Vec<(String, &str)> = (0..200)
            .map(|i| (format!("20.0.{}.{}", i / 250, i % 250), "n2"))
            .collect();
        let eps: Vec<(&str, &str)> = many.iter().map(|(a, n)| (a.as_str(), *n)).collect();
        let got = run(Profile::Istio1_1_0, "n1", NETWORKS, &eps).unwrap();
        // two gateways of weight 200 each: ceil(200*128/400) = 64; locality 2 ≤ 128 untouched
        assert_eq!(got, ["weight Some(2)", "2.2.2.2:80/64", "2.2.2.20:80/64"]);
    }
}
