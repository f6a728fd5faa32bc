//! The current Istio algorithm (rules M1–M18): the routes a proxy class has to each gateway list
//! (M7, M14), the per-network decisions (M2a, M8) that the value path here and the push path
//! (`encoded`) both take, and the value path itself ([`compute`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use mesh_model::NetworkId;

use crate::assignment::{LoadAssignment, LocalityGroup};
use crate::explain::{DirectReason, DropReason, GatewayContribution, Outcome, Trace};
use crate::index::{GatewayIndex, RouteKey};
use crate::input::{ClusterKind, IpFamily, ProxyClass, ProxyType};
use crate::prepared::PreparedService;
use crate::rules::{
    direct_endpoint, gateway_weight, scale_weight, workload_metadata, wrapping_weight,
};

/// The gateways an endpoint of one (network, cluster) may use, for one proxy class (M7, M14).
#[derive(Debug, Clone, Default)]
pub(crate) struct Route {
    /// Candidates after the proxy-type port filter (M7).
    pub(crate) candidates: usize,
    /// Candidates the proxy can reach (M14), as indexes into the gateway index, in M13 order.
    pub(crate) reachable: Box<[u32]>,
}

/// One proxy class's routes to every list of a gateway index: built once per class.
#[derive(Debug, Clone, Default)]
pub(crate) struct Routes {
    /// Per network slot of the index: the route of its whole list.
    network: Vec<Route>,
    /// Per (network, cluster) slot of the index.
    cluster: Vec<Route>,
}

impl Routes {
    pub(crate) fn new(index: &GatewayIndex, class: &ProxyClass) -> Self {
        Self {
            network: index
                .network_lists()
                .map(|list| route(index, class, list))
                .collect(),
            cluster: index
                .cluster_lists()
                .iter()
                .map(|list| route(index, class, list))
                .collect(),
        }
    }

    /// M7: the candidates of an endpoint: its (network, cluster) list when that exists, else its
    /// network's list; `None` when its network has no gateway.
    pub(crate) fn get(&self, key: RouteKey) -> Option<&Route> {
        if key.cluster != RouteKey::NONE {
            self.cluster.get(key.cluster as usize)
        } else if key.network != RouteKey::NONE {
            self.network.get(key.network as usize)
        } else {
            None
        }
    }
}

fn route(index: &GatewayIndex, class: &ProxyClass, list: &[u32]) -> Route {
    let mut candidates = 0;
    let mut reachable = Vec::new();
    for &i in list {
        let g = index.gateway(i);
        // M7: sidecars ignore HBONE-only gateways (port 0); non-ambient routers keep all.
        if class.proxy_type == ProxyType::Sidecar && g.port == 0 {
            continue;
        }
        candidates += 1;
        if reachable_by(class.ip_family, &g.address) {
            reachable.push(i);
        }
    }
    Route {
        candidates,
        reachable: reachable.into_boxed_slice(),
    }
}

/// M14: an IPv4-only proxy reaches IPv4 gateways (IPv4-mapped IPv6 included), an IPv6-only proxy
/// IPv6 ones; hostnames are unreachable for both; dual-stack and unknown proxies reach all.
pub(crate) fn reachable_by(family: IpFamily, address: &str) -> bool {
    match family {
        IpFamily::Ipv4 => address
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_ipv4()),
        IpFamily::Ipv6 => address
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_ipv6()),
        IpFamily::Dual | IpFamily::Unknown => true,
    }
}

/// A service's distinct endpoint networks as a slot holds them: borrowed while preparing, owned in
/// an encoded service.
pub(crate) trait NetworkSlot {
    fn network(&self) -> Option<&NetworkId>;
}

impl NetworkSlot for Option<&NetworkId> {
    fn network(&self) -> Option<&NetworkId> {
        *self
    }
}

impl NetworkSlot for Option<NetworkId> {
    fn network(&self) -> Option<&NetworkId> {
        self.as_ref()
    }
}

/// M2a and M8 for one proxy class over one service's distinct networks: the decisions the value
/// path and the push path take per network, in one place.
pub(crate) struct NetworkRules<'a, N> {
    class: &'a ProxyClass,
    networks: &'a [N],
    /// The proxy's network among them: `None` when the proxy has none, `Some(None)` when no
    /// endpoint is on it.
    proxy: Option<Option<usize>>,
}

impl<'a, N: NetworkSlot> NetworkRules<'a, N> {
    pub(crate) fn new(class: &'a ProxyClass, networks: &'a [N]) -> Self {
        let proxy = class
            .network
            .as_ref()
            .map(|pn| networks.iter().position(|n| n.network() == Some(pn)));
        Self {
            class,
            networks,
            proxy,
        }
    }

    fn named(&self, net: u32) -> bool {
        self.networks
            .get(net as usize)
            .is_some_and(|n| n.network().is_some())
    }

    /// M8: on the proxy's network iff equal, or either side has no network.
    pub(crate) fn same_network(&self, net: u32) -> bool {
        match self.proxy {
            None => true,
            Some(pos) => !self.named(net) || pos == Some(net as usize),
        }
    }

    /// M2a: the requested network view ("" is always visible).
    pub(crate) fn visible(&self, net: u32) -> bool {
        match (
            &self.class.network_view,
            self.networks.get(net as usize).and_then(N::network),
        ) {
            (Some(set), Some(n)) => set.contains(n),
            _ => true,
        }
    }

    /// M8 and its exception: endpoints of `net` with `candidates` gateways go through them when
    /// they are on another network than the proxy, or when the proxy has no network at all.
    pub(crate) fn through_gateways(&self, net: u32, candidates: usize) -> bool {
        let forced = self.class.network.is_none() && self.named(net);
        candidates > 0 && (forced || !self.same_network(net))
    }
}

/// The value path: the assignment `class` receives for `p`, through `routes` of `index`.
pub(crate) fn compute<T: Trace>(
    class: &ProxyClass,
    index: &GatewayIndex,
    routes: &Routes,
    p: &PreparedService<'_>,
    trace: &mut T,
) -> LoadAssignment {
    let req = &p.request;
    let enabled = index.multi_network_enabled();
    let sni = req.cluster.kind == ClusterKind::SniDnat;
    let scale = index.scale_factor().max(1);
    let networks = NetworkRules::new(class, &p.networks);

    let mut localities = Vec::with_capacity(p.groups.len());
    let mut sums: BTreeMap<u32, u32> = BTreeMap::new();
    let first_group = enabled && req.features.gateway_in_first_group;
    // With `first_group`: per group pushed, its gateways and their share sums.
    let mut group_sums: Vec<Vec<(u32, u32)>> = Vec::new();
    for group in &p.groups {
        // Room for the members kept directly (a view of a remote service holds a few gateway
        // endpoints, not one entry per member), plus a few gateways.
        let direct = if enabled {
            group
                .per_network
                .iter()
                .filter(|&&(n, _)| networks.same_network(n))
                .map(|&(_, count)| count as usize)
                .sum()
        } else {
            group.members.len()
        };
        let mut out = Vec::with_capacity(direct + 4);
        let mut admitted_any = false;
        let mut saturating = 0u32;
        for m in &group.members {
            let idx = m.index as usize;
            let ep = &req.endpoints[idx];
            // M2a: the requested network view ("" is always visible).
            if !networks.visible(m.network) {
                if T::ON
                    && let Some(n) = &ep.network
                {
                    let network = n.clone();
                    trace.record(
                        idx,
                        Outcome::Dropped(DropReason::NotInNetworkView { network }),
                    );
                }
                continue;
            }
            let same = networks.same_network(m.network);
            // M2: no address, and no gateway can stand in for it.
            if m.transport.no_addresses && (!enabled || same) {
                if T::ON {
                    trace.record(idx, Outcome::Dropped(DropReason::NoAddress));
                }
                continue;
            }
            admitted_any = true;
            if !enabled {
                // M5: no gateway anywhere, groups pass unchanged (M16 still applies).
                if sni && !m.transport.mtls {
                    if T::ON {
                        trace.record(idx, Outcome::Dropped(DropReason::SniDnatNotMtls));
                    }
                    continue;
                }
                let w = m.weight;
                saturating = saturating.saturating_add(w);
                out.push(direct_endpoint(
                    ep,
                    w,
                    m.transport.hbone,
                    m.transport.mtls,
                    workload_metadata(ep),
                ));
                if T::ON {
                    let reason = DirectReason::MultiNetworkDisabled;
                    trace.record(idx, Outcome::Direct { weight: w, reason });
                }
                continue;
            }
            let w = scale_weight(m.weight, scale);
            let route = routes.get(m.route);
            let candidates = route.map_or(0, |r| r.candidates);
            let route = match route {
                Some(r) if networks.through_gateways(m.network, candidates) => r,
                _ => {
                    // M9: direct path; needs a host.
                    let drop = if m.transport.empty_host {
                        Some(DropReason::EmptyHost)
                    } else if sni && !m.transport.mtls {
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
                            out.push(direct_endpoint(
                                ep,
                                w,
                                m.transport.hbone,
                                m.transport.mtls,
                                workload_metadata(ep),
                            ));
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
            if !m.transport.mtls {
                if T::ON {
                    trace.record(
                        idx,
                        Outcome::Dropped(DropReason::NotMtlsCapable {
                            network: ep.network.clone(),
                            hbone: m.transport.hbone,
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
                        rule: "M11",
                        left_out: Vec::new(),
                        weight: w,
                        contributions: route
                            .reachable
                            .iter()
                            .map(|&g| GatewayContribution {
                                gateway: index.gateway(g).clone(),
                                weight: share,
                            })
                            .collect(),
                    },
                );
            }
        }
        if !admitted_any {
            // Every member was dropped before grouping (M2, M2a): the group does not exist.
            continue;
        }
        // M13: gateway endpoints after the direct ones, in gateway order; M18: their shape.
        if first_group {
            // Written once every group is known (below).
            group_sums.push(std::mem::take(&mut sums).into_iter().collect());
        }
        for (g, sum) in std::mem::take(&mut sums) {
            out.push(index.gateway_endpoint(g, gateway_weight(sum)));
        }
        let weight = if !enabled && !sni {
            Some(saturating)
        } else {
            wrapping_weight(&out)
        };
        localities.push(LocalityGroup {
            priority: 0,
            locality: group.label.to_owned(),
            weight,
            endpoints: out,
        });
    }
    if first_group {
        // `Features::gateway_in_first_group`: each gateway once, in the first group that routes
        // through it, weighted with every group's shares.
        let totals = first_group_totals(group_sums.iter().map(Vec::as_slice));
        for (i, (group, sums)) in localities.iter_mut().zip(&group_sums).enumerate() {
            for &(g, _) in sums {
                if let Some(&(first, total)) = totals.get(&g)
                    && first == i
                {
                    group
                        .endpoints
                        .push(index.gateway_endpoint(g, gateway_weight(total)));
                }
            }
            group.weight = wrapping_weight(&group.endpoints);
        }
    }
    LoadAssignment {
        cluster_name: p.cluster_name.to_string(),
        localities,
    }
}

/// `Features::gateway_in_first_group`: per gateway, the first of `groups` (each a list of
/// (gateway, share sum)) that holds it and the wrapping sum of its shares over all of them.
pub(crate) fn first_group_totals<'g>(
    groups: impl Iterator<Item = &'g [(u32, u32)]>,
) -> BTreeMap<u32, (usize, u32)> {
    let mut totals: BTreeMap<u32, (usize, u32)> = BTreeMap::new();
    for (i, gateways) in groups.enumerate() {
        for &(g, share) in gateways {
            let entry = totals.entry(g).or_insert((i, 0));
            entry.1 = entry.1.wrapping_add(share);
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mesh_model::Gateway;

    use super::*;
    use crate::explain::Outcome;
    use mesh_model::TlsMode;

    use crate::assignment::{EndpointAddress, EndpointKind};
    use crate::index::GatewayIndex;
    use crate::input::Health;
    use crate::input::{ClusterRequest, EdsEndpoint, Features, ServiceRequest};
    use crate::rules::CONNECT_ORIGINATE;
    use crate::view::View;

    fn ep(addr: &str, net: &str, cluster: &str) -> EdsEndpoint {
        EdsEndpoint {
            addresses: vec![addr.into()],
            port: 8080,
            service_port_name: "http".into(),
            network: (!net.is_empty()).then(|| net.parse().unwrap()),
            cluster: (!cluster.is_empty()).then(|| cluster.parse().unwrap()),
            tls_mode: TlsMode::Istio,
            namespace: "ns".into(),
            ..EdsEndpoint::default()
        }
    }

    fn gw(net: &str, cluster: &str, addr: &str, port: u32) -> Gateway {
        Gateway {
            network: net.parse().unwrap(),
            cluster: (!cluster.is_empty()).then(|| cluster.parse().unwrap()),
            address: addr.into(),
            port,
            hbone_port: 0,
            service_account: String::new(),
        }
    }

    fn proxy(net: &str) -> ProxyClass {
        ProxyClass {
            network: (!net.is_empty()).then(|| net.parse().unwrap()),
            ip_family: IpFamily::Ipv4,
            ..ProxyClass::default()
        }
    }

    fn cluster() -> ClusterRequest {
        let mut c: ClusterRequest = "outbound|80||foo.ns".parse().unwrap();
        c.port_name = "http".into();
        c
    }

    struct Run {
        gateways: Vec<Gateway>,
        class: ProxyClass,
        cluster: ClusterRequest,
        mtls_allowed: bool,
        features: Features,
    }

    impl Run {
        fn new(gateways: Vec<Gateway>, class: ProxyClass) -> Self {
            Self {
                gateways,
                class,
                cluster: cluster(),
                mtls_allowed: true,
                features: Features::default(),
            }
        }

        fn explain(&self, endpoints: &[EdsEndpoint]) -> (LoadAssignment, Vec<Outcome>) {
            let view = View::new(
                &Arc::new(GatewayIndex::new(self.gateways.clone())),
                self.class.clone(),
            );
            let (cla, ex) = view
                .explain(&ServiceRequest {
                    locality: crate::LocalityPolicy::istio_default(),
                    cluster: &self.cluster,
                    endpoints,
                    mtls_allowed: self.mtls_allowed,
                    features: self.features,
                })
                .unwrap();
            (cla, ex.endpoints.into_iter().map(|e| e.outcome).collect())
        }

        /// `address:port/weight` per locality, in output order.
        fn show(&self, endpoints: &[EdsEndpoint]) -> Vec<(String, Option<u32>, Vec<String>)> {
            let (cla, _) = self.explain(endpoints);
            cla.localities
                .into_iter()
                .map(|l| {
                    let eps = l
                        .endpoints
                        .iter()
                        .map(|e| match &e.address {
                            EndpointAddress::Socket { address, port } => {
                                format!("{address}:{port}/{}", e.weight)
                            }
                            EndpointAddress::Internal { endpoint_id, .. } => {
                                format!("hbone {endpoint_id}/{}", e.weight)
                            }
                        })
                        .collect();
                    (l.locality, l.weight, eps)
                })
                .collect()
        }

        fn flat(&self, endpoints: &[EdsEndpoint]) -> Vec<String> {
            self.show(endpoints)
                .into_iter()
                .flat_map(|(_, _, e)| e)
                .collect()
        }

        fn rules(&self, endpoints: &[EdsEndpoint]) -> Vec<&'static str> {
            self.explain(endpoints)
                .1
                .iter()
                .map(Outcome::rule)
                .collect()
        }
    }

    #[test]
    fn m1_selection_by_port_name_hostname_and_subset() {
        let mut run = Run::new(vec![], proxy("n1"));
        run.cluster
            .subset_labels
            .insert("version".into(), "v1".into());
        let mut other_port = ep("10.0.0.1", "n1", "c1");
        other_port.service_port_name = "grpc".into();
        let hostname = ep("foo.bar", "n1", "c1");
        let mut hostname_no_port = ep("foo.bar", "n1", "c1");
        hostname_no_port.port = 0;
        let mut v1 = ep("10.0.0.2", "n1", "c1");
        std::sync::Arc::make_mut(&mut v1.labels).insert("version".into(), "v1".into());
        hostname_no_port.labels = v1.labels.clone();
        let v2 = ep("10.0.0.3", "n1", "c1");
        let eps = [other_port, hostname, hostname_no_port, v1, v2];
        assert_eq!(run.flat(&eps), ["foo.bar:0/1", "10.0.0.2:8080/1"]);
        assert_eq!(run.rules(&eps), ["M1", "M1", "M5", "M5", "M1"]);
    }

    #[test]
    fn m2_health_and_addressless_endpoints() {
        let run = Run::new(vec![gw("n2", "", "192.0.2.2", 15443)], proxy("n1"));
        let mut sick = ep("10.0.0.1", "n1", "c1");
        sick.health = Health::Unhealthy;
        let mut local_none = ep("", "n1", "c1");
        local_none.addresses.clear();
        let mut remote_none = ep("", "n2", "c2");
        remote_none.addresses.clear();
        let eps = [sick, local_none, remote_none];
        assert_eq!(run.rules(&eps), ["M2", "M2", "M11"]);
        // the remote address-less endpoint is reached through its gateway (1.19)
        assert_eq!(run.flat(&eps), ["192.0.2.2:15443/1"]);
        // with multi-network off an address-less list is dropped, an empty address kept (M5)
        let run = Run::new(vec![], proxy("n1"));
        let mut none = ep("", "n2", "c2");
        none.addresses.clear();
        assert_eq!(run.flat(&[none, ep("", "n2", "c2")]), [":8080/1"]);
    }

    #[test]
    fn m2a_network_view_keeps_listed_and_unlabelled_networks() {
        let mut class = proxy("n1");
        class.network_view = Some(["n1".parse().unwrap()].into());
        let run = Run::new(vec![], class);
        let eps = [
            ep("10.0.0.1", "n1", ""),
            ep("10.0.0.2", "n2", ""),
            ep("10.0.0.3", "", ""),
        ];
        assert_eq!(run.flat(&eps), ["10.0.0.1:8080/1", "10.0.0.3:8080/1"]);
        assert_eq!(run.rules(&eps)[1], "M2a");
    }

    #[test]
    fn m3_groups_sorted_by_label_bytes_input_order_within() {
        let run = Run::new(vec![], proxy("n1"));
        let mut a = ep("10.0.0.1", "n1", "");
        a.locality = "r/z/b".into();
        let mut b = ep("10.0.0.2", "n1", "");
        b.locality = "R/z".into();
        b.lb_weight = 5;
        let mut c = ep("10.0.0.3", "n1", "");
        c.locality = "r/z/b".into();
        let got = run.show(&[a, b, c]);
        assert_eq!(got[0].0, "R/z");
        assert_eq!(got[0].1, Some(5));
        assert_eq!(got[1].2, ["10.0.0.1:8080/1", "10.0.0.3:8080/1"]);
    }

    #[test]
    fn m3_m17_hbone_endpoints_are_internal_and_never_mtls() {
        let mut run = Run::new(vec![gw("n2", "", "192.0.2.2", 15443)], proxy("n1"));
        let mut tunnel_plain = ep("10.0.0.1", "n1", "");
        tunnel_plain.hbone_tunnel = true;
        tunnel_plain.tls_mode = TlsMode::Disabled;
        let mut tunnel_istio = ep("10.0.0.2", "n1", "");
        tunnel_istio.hbone_tunnel = true;
        let mut remote_tunnel = ep("10.1.0.1", "n2", "");
        remote_tunnel.hbone_tunnel = true;
        remote_tunnel.tls_mode = TlsMode::Disabled;
        let eps = [tunnel_plain, tunnel_istio.clone(), remote_tunnel];
        // without PILOT_PREFER_SENDING_HBONE an istio endpoint keeps plain mTLS
        assert_eq!(run.flat(&eps), ["hbone 10.0.0.1:8080/1", "10.0.0.2:8080/1"]);
        assert_eq!(run.rules(&eps)[2], "M17");
        run.features.prefer_hbone_send = true;
        let (cla, _) = run.explain(&[tunnel_istio]);
        let e = &cla.localities[0].endpoints[0];
        assert!(!e.mtls);
        assert_eq!(
            e.address,
            EndpointAddress::Internal {
                server_listener_name: CONNECT_ORIGINATE.into(),
                endpoint_id: "10.0.0.2:8080".into()
            }
        );
    }

    #[test]
    fn m5_bypass_without_gateways_no_scaling_saturating_weight() {
        let run = Run::new(vec![], proxy("n1"));
        let mut big = ep("10.1.0.1", "n2", "");
        big.lb_weight = u32::MAX;
        let mut two = ep("10.0.0.1", "n1", "");
        two.lb_weight = 2;
        let got = run.show(&[big, two]);
        assert_eq!(got[0].1, Some(u32::MAX));
        assert_eq!(got[0].2[1], "10.0.0.1:8080/2");
    }

    #[test]
    fn m6_m7_cluster_preferred_gateways_and_gatewayless_networks() {
        let gws = vec![
            gw("n2", "c2a", "192.0.2.1", 15443),
            gw("n2", "c2b", "192.0.2.2", 15443),
            gw("n2", "c2b", "192.0.2.3", 15443),
        ];
        // lists: n2 (3), (n2,c2a) (1), (n2,c2b) (2): S = 6
        let run = Run::new(gws, proxy("n1"));
        let eps = [
            ep("10.2.0.1", "n2", "c2a"),
            ep("10.2.0.2", "n2", "c2b"),
            ep("10.2.0.3", "n2", "c2z"),
            ep("10.3.0.1", "n3", "c3"),
        ];
        assert_eq!(
            run.flat(&eps),
            // n3 has no gateway: direct (M6), scaled; c2a → 6 to .1; c2b → 3 each to .2/.3;
            // c2z has no list: all of n2, 2 each
            [
                "10.3.0.1:8080/6",
                "192.0.2.1:15443/8",
                "192.0.2.2:15443/5",
                "192.0.2.3:15443/5"
            ]
        );
        assert_eq!(run.rules(&eps), ["M11", "M11", "M11", "M6"]);
    }

    #[test]
    fn m7_sidecars_ignore_port_zero_gateways_routers_keep_them() {
        let gws = vec![gw("n2", "", "192.0.2.1", 0)];
        let eps = [ep("10.2.0.1", "n2", "")];
        let run = Run::new(gws.clone(), proxy("n1"));
        assert_eq!(run.flat(&eps), ["10.2.0.1:8080/1"]);
        let mut router = proxy("n1");
        router.proxy_type = ProxyType::Router;
        let run = Run::new(gws, router);
        assert_eq!(run.flat(&eps), ["192.0.2.1:0/1"]);
    }

    #[test]
    fn m8_unset_networks_match_and_unset_proxy_is_forced_through_gateways() {
        let gws = vec![gw("n2", "", "192.0.2.2", 15443)];
        let run = Run::new(gws.clone(), proxy("n1"));
        assert_eq!(run.flat(&[ep("10.0.0.1", "", "")]), ["10.0.0.1:8080/1"]);
        let run = Run::new(gws, proxy(""));
        let eps = [ep("10.2.0.1", "n2", ""), ep("10.3.0.1", "n3", "")];
        assert_eq!(run.flat(&eps), ["10.3.0.1:8080/1", "192.0.2.2:15443/1"]);
    }

    #[test]
    fn m9_direct_needs_a_host() {
        let run = Run::new(vec![gw("n2", "", "192.0.2.2", 15443)], proxy("n1"));
        let mut port0 = ep("10.0.0.1", "n1", "");
        port0.port = 0;
        let eps = [ep("", "n3", ""), port0];
        assert!(run.flat(&eps).is_empty());
        assert_eq!(run.rules(&eps), ["M9", "M9"]);
    }

    #[test]
    fn m10_scaling_saturates_at_floor_of_max_over_scale() {
        assert_eq!(scale_weight(0, 1), 0);
        assert_eq!(scale_weight(3, 2), 6);
        assert_eq!(scale_weight(u32::MAX / 2, 2), u32::MAX); // == floor(MAX/S): clipped
        assert_eq!(scale_weight(u32::MAX / 2 - 1, 2), u32::MAX - 3);
        assert_eq!(scale_weight(u32::MAX, 1), u32::MAX);
        assert_eq!(scale_weight(7, 0), 7); // S = 0 is read as 1 (M4)
    }

    #[test]
    fn m11_floor_split_over_reachable_gateways_loses_remainder() {
        // S = lcm(3, 3) = 3; an IPv4 proxy reaches 2 of 3: floor(3/2) = 1 each
        let gws = vec![
            gw("n2", "", "192.0.2.1", 15443),
            gw("n2", "", "192.0.2.2", 15443),
            gw("n2", "", "2001:db8::1", 15443),
        ];
        let run = Run::new(gws, proxy("n1"));
        let got = run.show(&[ep("10.2.0.1", "n2", "")]);
        assert_eq!(got[0].2, ["192.0.2.1:15443/1", "192.0.2.2:15443/1"]);
        assert_eq!(got[0].1, Some(2));
    }

    #[test]
    fn m12_wrapping_sum_and_null_weight_for_emptied_groups() {
        let run = Run::new(vec![gw("n2", "", "192.0.2.2", 15443)], proxy("n1"));
        let mut a = ep("10.0.0.1", "n1", "");
        a.lb_weight = u32::MAX;
        let mut b = ep("10.0.0.2", "n1", "");
        b.lb_weight = 2;
        let mut gone = ep("10.2.0.1", "n2", "");
        gone.locality = "z".into();
        gone.tls_mode = TlsMode::Disabled;
        let got = run.show(&[a, b, gone]);
        assert_eq!(got[0].1, Some(1)); // MAX + 2 wraps to 1
        assert_eq!(got[1], ("z".to_owned(), None, vec![]));
    }

    #[test]
    fn m13_gateways_in_address_byte_order_after_direct_endpoints() {
        let gws = vec![
            gw("n2", "", "9.0.0.1", 15443),
            gw("n3", "", "100.0.0.1", 15443),
            gw("n3", "", "10.0.0.9", 15443),
        ];
        let run = Run::new(gws, proxy("n1"));
        let eps = [
            ep("10.2.0.1", "n2", ""),
            ep("10.0.0.1", "n1", ""),
            ep("10.3.0.1", "n3", ""),
        ];
        // S = lcm(1, 2, 1, 2) = 2
        assert_eq!(
            run.flat(&eps),
            [
                "10.0.0.1:8080/2",
                "10.0.0.9:15443/1",
                "100.0.0.1:15443/1",
                "9.0.0.1:15443/2"
            ]
        );
    }

    #[test]
    fn m14_ip_family_filter_drops_when_nothing_reachable() {
        let gws = vec![gw("n2", "", "2001:db8::2", 15443)];
        let eps = [ep("10.2.0.1", "n2", "")];
        let run = Run::new(gws.clone(), proxy("n1"));
        assert!(run.flat(&eps).is_empty());
        assert_eq!(run.rules(&eps), ["M14"]);
        let mut v6 = proxy("n1");
        v6.ip_family = IpFamily::Ipv6;
        assert_eq!(Run::new(gws, v6).flat(&eps), ["2001:db8::2:15443/1"]);
    }

    #[test]
    fn m15_remote_endpoints_need_mtls_local_ones_do_not() {
        let mut run = Run::new(vec![gw("n2", "", "192.0.2.2", 15443)], proxy("n1"));
        run.mtls_allowed = false;
        let eps = [ep("10.0.0.1", "n1", ""), ep("10.2.0.1", "n2", "")];
        assert_eq!(run.flat(&eps), ["10.0.0.1:8080/1"]);
        assert_eq!(run.rules(&eps), ["M8", "M15"]);
    }

    #[test]
    fn m16_sni_dnat_keeps_only_mtls_capable_endpoints_even_without_gateways() {
        for gws in [vec![], vec![gw("n2", "", "192.0.2.2", 15443)]] {
            let mut run = Run::new(gws, proxy("n1"));
            run.cluster.kind = ClusterKind::SniDnat;
            let mut plain = ep("10.0.0.1", "n1", "");
            plain.tls_mode = TlsMode::Disabled;
            let got = run.show(&[plain, ep("10.0.0.2", "n1", "")]);
            assert_eq!(got[0].2.len(), 1);
            assert!(got[0].2[0].starts_with("10.0.0.2:8080/"));
        }
    }

    #[test]
    fn m18_metadata_of_direct_and_gateway_endpoints() {
        let run = Run::new(vec![gw("n2", "c2", "192.0.2.2", 15443)], proxy("n1"));
        let mut local = ep("10.0.0.1", "n1", "c1");
        local.workload_name = "pod-1".into();
        std::sync::Arc::make_mut(&mut local.labels).insert("app".into(), "foo".into());
        std::sync::Arc::make_mut(&mut local.labels).insert("version".into(), "v3".into());
        let (cla, _) = run.explain(&[local, ep("10.2.0.1", "n2", "c2")]);
        let eps = &cla.localities[0].endpoints;
        assert_eq!(eps[0].workload, "pod-1;ns;foo;v3;c1");
        assert_eq!(eps[1].workload, ";;;;c2");
        assert!(eps[1].mtls);
        assert_eq!(eps[1].kind, EndpointKind::Gateway);
        assert_eq!(eps[1].cluster.as_ref().map(|c| c.as_str()), Some("c2"));
        let mut latest = ep("10.0.0.1", "n1", "");
        latest.workload_name = "w".into();
        std::sync::Arc::make_mut(&mut latest.labels).insert("version".into(), "latest".into());
        assert_eq!(workload_metadata(&latest), "w;ns;w;;");
    }

    #[test]
    fn m14_families() {
        assert!(reachable_by(IpFamily::Ipv4, "10.0.0.1"));
        assert!(reachable_by(IpFamily::Ipv4, "::ffff:10.0.0.1"));
        assert!(!reachable_by(IpFamily::Ipv4, "2001:db8::1"));
        assert!(!reachable_by(IpFamily::Ipv4, "gw.example.com"));
        assert!(reachable_by(IpFamily::Ipv6, "2001:db8::1"));
        assert!(!reachable_by(IpFamily::Ipv6, "::ffff:10.0.0.1"));
        assert!(!reachable_by(IpFamily::Ipv6, "gw.example.com"));
        assert!(reachable_by(IpFamily::Dual, "gw.example.com"));
        assert!(reachable_by(IpFamily::Unknown, "2001:db8::1"));
    }
}
