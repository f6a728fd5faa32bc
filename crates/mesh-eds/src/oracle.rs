//! The reference oracle (feature `oracle`): a deliberately simple implementation of the current
//! Istio rules M1–M18 of `spec/split-horizon-eds.md`, written from the spec text, for property
//! tests against the fast path ([`crate::View`]) — here and in other control planes' tests.
//!
//! No indexes, no caching, no precomputed views: every endpoint scans the whole gateway list, the
//! scale factor is recomputed on every call. Slow on purpose (cost O(endpoints × gateways)); do
//! not use it to serve proxies.
//!
//! Where the spec leaves something open the oracle picks, and says so:
//! * gateways with the same address and port (different cluster or service account) are in
//!   unspecified order in Istio (M13: unstable sort); the oracle orders such ties by the rest of
//!   the gateway identity ([`Gateway`]'s `Ord`);
//! * the scale factor (G6) is computed exactly (128-bit) and then truncated to 32 bits as Istio's
//!   `uint32(...)` does, 0 read as 1 (M4) — Go's 64-bit wrapping only differs past 2^63.
//!
//! [`locality_stage`] restates the locality load-balancing stage (rules L5–L21 of
//! `spec/locality-lb.md`) on its own; [`assignment`] applies it after split-horizon (L1) under
//! the request's policy, each direct endpoint paired with its source's labels as L2 says.
//!
//! [`assignment`] covers [`Profile::IstioModern`]; [`legacy_assignment`] covers the Istio 1.1
//! profiles ([`Profile::Istio1_1_0`], [`Profile::Istio1_1_3`], rules H1.1–H1.6). `istio-1.5` is not
//! stated as rules in the spec (only in its history table) and is answered with
//! [`OracleError::ProfileNotCovered`].
//!
//! For the 1.1 profiles the spec states the filter (H1.1–H1.6) but not the rest of the pipeline;
//! the oracle assumes selection and health (M1, the health part of M2) and the grouping of M3 are
//! unchanged, that the locality weight when the filter is skipped is the pre-filter sum as in M5,
//! and renders endpoints with the same output conventions as the modern rules (direct endpoints
//! as M3/M18 without HBONE; gateway endpoints without `tlsMode`, which arrived in 1.5, with their
//! network, no cluster, workload `;;;;`). Remote networks, visited in Go map order by Istio, are
//! visited in name order.

use std::collections::BTreeMap;
use std::net::IpAddr;

mod locality;
mod store;
pub use locality::locality_stage;
pub use store::StoreModel;

use mesh_model::{Gateway, TlsMode};

use crate::assignment::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
use crate::input::{
    ClusterKind, EdsEndpoint, Health, IpFamily, Profile, ProxyClass, ProxyType, ServiceRequest,
};
use crate::legacy::LegacyNetworks;

/// Why the oracle gives no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OracleError {
    /// The oracle only states the current rules (M1–M18).
    #[error("the reference oracle covers istio-modern only, not {profile}")]
    ProfileNotCovered {
        /// The profile asked for.
        profile: Profile,
    },
    /// Istio 1.1.3–1.1.17 divide by the number of IP gateways of a remote network whose gateways
    /// are all hostnames: istiod panics (rule H1.2).
    #[error(
        "network {network:?} has gateways but none with an IP address: istiod divides by zero (H1.2)"
    )]
    DivideByZero {
        /// The network.
        network: String,
    },
}

/// The assignment a proxy of `class` receives for `request`, computed from the spec's rules
/// M1–M18 with no index over `gateways` (the resolved gateway set, G1–G4: duplicates allowed),
/// then the locality stage of `request.locality` ([`locality_stage`], L1).
///
/// ```
/// use mesh_eds::{ClusterRequest, EdsEndpoint, ProxyClass, ServiceRequest, oracle};
/// use mesh_model::{Gateway, TlsMode};
///
/// let gateways = [Gateway {
///     network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
///     hbone_port: 0, service_account: String::new(),
/// }];
/// let class = ProxyClass { network: Some("n1".parse()?), ..Default::default() };
/// let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse()?;
/// let endpoints = [EdsEndpoint {
///     addresses: vec!["10.1.0.1".into()], port: 8080, network: Some("n2".parse()?),
///     tls_mode: TlsMode::Istio, ..Default::default()
/// }];
/// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// };
/// let cla = oracle::assignment(&gateways, &class, &request)?;
/// let gw = &cla.localities[0].endpoints[0];
/// assert_eq!(format!("{:?}", gw.kind), "Gateway");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn assignment(
    gateways: &[Gateway],
    class: &ProxyClass,
    request: &ServiceRequest<'_>,
) -> Result<LoadAssignment, OracleError> {
    let (cla, sources) = split_horizon(gateways, class, request)?;
    // L1: then the locality stage, each direct endpoint paired with its source's labels (L2).
    let labels: Vec<Vec<BTreeMap<String, String>>> = sources
        .iter()
        .map(|group| group.iter().map(|ep| paired_labels(ep)).collect())
        .collect();
    Ok(locality_stage(&cla, &labels, class, request.locality))
}

/// L2 restated: the labels Istio pairs with a registry endpoint — its own, with region, zone
/// and subzone from its locality (the non-empty parts) and its cluster id replacing them, and
/// its network added unless a label sets it.
fn paired_labels(ep: &EdsEndpoint) -> BTreeMap<String, String> {
    let mut labels = (*ep.labels).clone();
    let mut parts = ep.locality.split('/');
    for key in [
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.istio.io/subzone",
    ] {
        if let Some(part) = parts.next().filter(|p| !p.is_empty()) {
            labels.insert(key.to_owned(), part.to_owned());
        }
    }
    if let Some(c) = &ep.cluster {
        labels.insert(
            "topology.istio.io/cluster".to_owned(),
            c.as_str().to_owned(),
        );
    }
    if let Some(n) = &ep.network {
        labels
            .entry("topology.istio.io/network".to_owned())
            .or_insert_with(|| n.as_str().to_owned());
    }
    labels
}

/// Split-horizon (M1–M18): the assignment, and for each group the input endpoint each of its
/// direct endpoints was built from, in order.
fn split_horizon<'r>(
    gateways: &[Gateway],
    class: &ProxyClass,
    request: &ServiceRequest<'r>,
) -> Result<(LoadAssignment, Vec<Vec<&'r EdsEndpoint>>), OracleError> {
    if class.profile != Profile::IstioModern {
        return Err(OracleError::ProfileNotCovered {
            profile: class.profile,
        });
    }
    // G4: the gateway set is a set.
    let mut set: Vec<&Gateway> = Vec::new();
    for g in gateways {
        if !set.contains(&g) {
            set.push(g);
        }
    }
    // G7.
    let multi_network = !set.is_empty();

    // M1, M2, M2a, M3: admitted endpoints, grouped by locality label (byte order), input order.
    let mut groups: BTreeMap<&str, Vec<&EdsEndpoint>> = BTreeMap::new();
    for ep in request.endpoints {
        if !admitted(ep, class, request, multi_network) {
            continue;
        }
        groups.entry(ep.locality.as_str()).or_default().push(ep);
    }

    let sni_dnat = request.cluster.kind == ClusterKind::SniDnat;
    let mut localities = Vec::new();
    // Per group: its gateways and the sum of the shares routed through each (M11).
    let mut gateway_sums: Vec<Vec<(&Gateway, u32)>> = Vec::new();
    let mut sources: Vec<Vec<&EdsEndpoint>> = Vec::new();
    for (label, members) in groups {
        let (mut group, mut from) = if multi_network {
            let (group, from, sums) = filter(&set, class, request, label, &members);
            gateway_sums.push(sums);
            (group, from)
        } else {
            // M5: returned unchanged; the locality weight is the pre-filter (saturating) sum.
            let endpoints: Vec<LbEndpoint> = members
                .iter()
                .map(|ep| direct(ep, request, ep.weight()))
                .collect();
            let weight = endpoints
                .iter()
                .fold(0u32, |sum, e| sum.saturating_add(e.weight));
            let group = LocalityGroup {
                priority: 0,
                locality: label.to_owned(),
                weight: Some(weight),
                endpoints,
            };
            (group, members)
        };
        // M16: SNI-DNAT clusters keep only mTLS-capable endpoints, weights recomputed (M12).
        if sni_dnat {
            let keep: Vec<bool> = group.endpoints.iter().map(|e| e.mtls).collect();
            let mut k = keep.iter();
            from.retain(|_| k.next().copied().unwrap_or(false));
            group.endpoints.retain(|e| e.mtls);
            group.weight = locality_weight(&group.endpoints);
        }
        localities.push(group);
        sources.push(from);
    }
    if multi_network {
        // M13: gateway endpoints after the direct ones. With `gateway_in_first_group` (restated
        // here on purpose, not shared with the engine): a gateway only in the first group that
        // routes through it, with the shares of every group; M12 over what each group keeps.
        let first_group = request.features.gateway_in_first_group;
        for (i, group) in localities.iter_mut().enumerate() {
            for &(g, sum) in &gateway_sums[i] {
                if !first_group {
                    group.endpoints.push(gateway_endpoint(g, sum));
                    continue;
                }
                let first = gateway_sums
                    .iter()
                    .position(|sums| sums.iter().any(|(h, _)| *h == g));
                if first == Some(i) {
                    let total = gateway_sums
                        .iter()
                        .flatten()
                        .filter(|(h, _)| *h == g)
                        .fold(0u32, |t, (_, s)| t.wrapping_add(*s));
                    group.endpoints.push(gateway_endpoint(g, total));
                }
            }
            group.weight = locality_weight(&group.endpoints);
        }
    }
    Ok((
        LoadAssignment {
            cluster_name: request.cluster.name(),
            localities,
        },
        sources,
    ))
}

/// M11 / M18: the endpoint standing in for remote workloads through `g`, whose shares sum to
/// `sum` (0 is sent as 1).
fn gateway_endpoint(g: &Gateway, sum: u32) -> LbEndpoint {
    LbEndpoint {
        address: EndpointAddress::Socket {
            address: g.address.clone(),
            port: g.port,
        },
        weight: if sum == 0 { 1 } else { sum },
        kind: EndpointKind::Gateway,
        mtls: true,
        network: Some(g.network.clone()),
        cluster: g.cluster.clone(),
        workload: format!(";;;;{}", g.cluster.as_ref().map_or("", |c| c.as_str())),
    }
}

/// The assignment a proxy of `class` receives for `request` under the Istio 1.1 profiles (rules
/// H1.1–H1.6), from MeshNetworks as Istio 1.1 reads it (`None`: no MeshNetworks).
///
/// ```
/// use std::collections::BTreeMap;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, LegacyGateway, LegacyNetworks, Profile, ProxyClass,
///     ServiceRequest, oracle};
///
/// let gateway = |a: &str| LegacyGateway {
///     address: Some(a.into()), port: 15443, ..Default::default()
/// };
/// let networks = LegacyNetworks {
///     networks: BTreeMap::from([("n2".to_string(), vec![gateway("192.0.2.1"), gateway("192.0.2.2")])]),
/// };
/// let class = ProxyClass {
///     network: Some("n1".parse()?), profile: Profile::Istio1_1_3, ..Default::default()
/// };
/// let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse()?;
/// let ep = |n: &str| EdsEndpoint {
///     addresses: vec!["10.0.0.1".into()], port: 8080, network: Some(n.parse().unwrap()),
///     ..Default::default()
/// };
/// let endpoints = [ep("n1"), ep("n2"), ep("n2")];
/// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// };
/// let cla = oracle::legacy_assignment(Some(&networks), &class, &request)?;
/// // K = 2: the local endpoint weighs 2, each gateway 2 × floor(2 / 2) = 2 (H1.2).
/// let weights: Vec<u32> = cla.localities[0].endpoints.iter().map(|e| e.weight).collect();
/// assert_eq!(weights, [2, 2, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn legacy_assignment(
    networks: Option<&LegacyNetworks>,
    class: &ProxyClass,
    request: &ServiceRequest<'_>,
) -> Result<LoadAssignment, OracleError> {
    let v1_1_0 = match class.profile {
        Profile::Istio1_1_0 => true,
        Profile::Istio1_1_3 => false,
        profile => return Err(OracleError::ProfileNotCovered { profile }),
    };
    // H1.5: the gateway addresses each profile reads (1.1.0 kept hostnames; later ones use the
    // first resolved address); `registryServiceName` entries have no address.
    let mut gateways: BTreeMap<&str, Vec<(String, u32)>> = BTreeMap::new();
    for (name, entries) in networks.map(|n| &n.networks).into_iter().flatten() {
        let list = entries
            .iter()
            .map(|g| {
                let address = match (&g.address, &g.first_resolved) {
                    (Some(hostname), Some(resolved))
                        if !v1_1_0 && hostname.parse::<IpAddr>().is_err() =>
                    {
                        resolved.clone()
                    }
                    (Some(written), _) => written.clone(),
                    (None, _) => String::new(),
                };
                (address, g.port)
            })
            .collect();
        gateways.insert(name.as_str(), list);
    }
    let is_ip = |a: &str| a.parse::<IpAddr>().is_ok();
    // H1.2: K = product of the IP-gateway counts of networks with more than one.
    let mut k = 1u32;
    for list in gateways.values() {
        let ips = list.iter().filter(|(a, _)| is_ip(a)).count() as u32;
        if ips > 1 {
            k = k.wrapping_mul(ips);
        }
    }
    // H1.4: no MeshNetworks, or no network in it: the filter is skipped.
    let filter_on = !gateways.is_empty();

    let mut groups: BTreeMap<&str, Vec<&EdsEndpoint>> = BTreeMap::new();
    for ep in request.endpoints {
        if selected(ep, request) {
            groups.entry(ep.locality.as_str()).or_default().push(ep);
        }
    }
    // H1.3: plain string equality, unset = "".
    let proxy_network = class.network.as_ref().map_or("", |n| n.as_str());
    // No HBONE before 1.23: always the socket address.
    let plain = |ep: &EdsEndpoint, weight: u32| LbEndpoint {
        address: EndpointAddress::Socket {
            address: ep.addresses.first().cloned().unwrap_or_default(),
            port: ep.port,
        },
        weight,
        kind: EndpointKind::Direct,
        mtls: ep.tls_mode == TlsMode::Istio && request.mtls_allowed,
        network: ep.network.clone(),
        cluster: ep.cluster.clone(),
        workload: workload(ep),
    };
    let mut localities = Vec::new();
    for (label, members) in groups {
        if !filter_on {
            let endpoints: Vec<LbEndpoint> =
                members.iter().map(|ep| plain(ep, ep.weight())).collect();
            let weight = endpoints
                .iter()
                .fold(0u32, |sum, e| sum.saturating_add(e.weight));
            localities.push(LocalityGroup {
                priority: 0,
                locality: label.to_owned(),
                weight: Some(weight),
                endpoints,
            });
            continue;
        }
        let mut endpoints = Vec::new();
        let mut remote: BTreeMap<&str, u32> = BTreeMap::new();
        for ep in members {
            let network = ep.network.as_ref().map_or("", |n| n.as_str());
            if network == proxy_network {
                // H1.1: weight 1; H1.2: weight K.
                endpoints.push(plain(ep, if v1_1_0 { 1 } else { k }));
            } else {
                *remote.entry(network).or_insert(0) += 1;
            }
        }
        for (network, count) in remote {
            // H1.4: a network absent from MeshNetworks, or without gateways: dropped.
            let Some(list) = gateways.get(network).filter(|l| !l.is_empty()) else {
                continue;
            };
            let ips: Vec<&(String, u32)> = list.iter().filter(|(a, _)| is_ip(a)).collect();
            let weight = if v1_1_0 {
                count
            } else {
                if ips.is_empty() {
                    return Err(OracleError::DivideByZero {
                        network: network.to_owned(),
                    });
                }
                count.wrapping_mul(k / ips.len() as u32)
            };
            for (address, port) in ips {
                endpoints.push(LbEndpoint {
                    address: EndpointAddress::Socket {
                        address: address.clone(),
                        port: *port,
                    },
                    weight,
                    kind: EndpointKind::Gateway,
                    mtls: false,
                    network: network.parse().ok(),
                    cluster: None,
                    workload: ";;;;".to_owned(),
                });
            }
        }
        let weight = if endpoints.is_empty() {
            None
        } else if v1_1_0 {
            // H1.1: the number of LbEndpoints.
            Some(endpoints.len() as u32)
        } else {
            locality_weight(&endpoints)
        };
        localities.push(LocalityGroup {
            priority: 0,
            locality: label.to_owned(),
            weight,
            endpoints,
        });
    }
    normalize_1_1(&mut localities);
    Ok(LoadAssignment {
        cluster_name: request.cluster.name(),
        localities,
    })
}

/// H1.6: Istio 1.1's `LoadBalancingWeightNormalize` to at most 128, with the arithmetic of its Go
/// source (1.1 `networking/util/util.go`): `uint32` sums and products (wrapping), a `float64`
/// division and `math.Ceil`. A zero sum (possible only by wrapping) makes the quotient infinite or
/// NaN, whose `uint32` conversion Go leaves implementation-dependent; the oracle writes
/// `u32::MAX` there.
fn normalize_1_1(localities: &mut [LocalityGroup]) {
    const MAX: u32 = 128;
    let ceil = |w: u32, total: u32| -> u32 {
        let q = (f64::from(w.wrapping_mul(MAX)) / f64::from(total)).ceil();
        if q.is_finite() { q as u32 } else { u32::MAX }
    };
    let mut total = 0u32;
    let mut localities_need = false;
    for group in localities.iter_mut() {
        let weight = group.weight.unwrap_or(0);
        localities_need |= weight > MAX;
        total = total.wrapping_add(weight);
        let mut sum = 0u32;
        let mut need = false;
        for e in &group.endpoints {
            need |= e.weight > MAX;
            sum = sum.wrapping_add(e.weight);
        }
        if need {
            for e in &mut group.endpoints {
                e.weight = ceil(e.weight, sum);
            }
        }
    }
    if localities_need {
        for group in localities.iter_mut() {
            group.weight = Some(ceil(group.weight.unwrap_or(0), total));
        }
    }
}

/// M1 (selection) and the health part of M2.
fn selected(ep: &EdsEndpoint, request: &ServiceRequest<'_>) -> bool {
    // M1: the cluster's service port.
    if ep.service_port_name != request.cluster.port_name {
        return false;
    }
    // M1: a hostname first address with a non-zero port.
    let first = ep.addresses.first().map_or("", String::as_str);
    if !first.is_empty() && first.parse::<IpAddr>().is_err() && ep.port != 0 {
        return false;
    }
    // M1: the subset's labels.
    for (k, v) in &request.cluster.subset_labels {
        if ep.labels.get(k) != Some(v) {
            return false;
        }
    }
    // M2: only healthy endpoints.
    ep.health == Health::Healthy
}

/// M1, M2 and M2a.
fn admitted(
    ep: &EdsEndpoint,
    class: &ProxyClass,
    request: &ServiceRequest<'_>,
    multi_network: bool,
) -> bool {
    if !selected(ep, request) {
        return false;
    }
    // M2: no address at all, when no gateway could stand in for it.
    if ep.addresses.is_empty() && (!multi_network || same_network(class, ep)) {
        return false;
    }
    // M2a: the requested network view; "" is always visible.
    if let (Some(view), Some(network)) = (&class.network_view, &ep.network)
        && !view.contains(network)
    {
        return false;
    }
    true
}

/// M8: same network iff equal or either is "".
fn same_network(class: &ProxyClass, ep: &EdsEndpoint) -> bool {
    match (&class.network, &ep.network) {
        (Some(proxy), Some(endpoint)) => proxy == endpoint,
        _ => true,
    }
}

/// M3: reached through an HBONE tunnel.
fn hbone(ep: &EdsEndpoint, request: &ServiceRequest<'_>) -> bool {
    ep.hbone_tunnel && (ep.tls_mode != TlsMode::Istio || request.features.prefer_hbone_send)
}

/// M3: mTLS-capable (`tlsMode=istio` metadata); never for an HBONE endpoint.
fn mtls_capable(ep: &EdsEndpoint, request: &ServiceRequest<'_>) -> bool {
    ep.tls_mode == TlsMode::Istio && request.mtls_allowed && !hbone(ep, request)
}

/// M3 / M18: the endpoint as itself.
fn direct(ep: &EdsEndpoint, request: &ServiceRequest<'_>, weight: u32) -> LbEndpoint {
    let host = ep.addresses.first().cloned().unwrap_or_default();
    let address = if hbone(ep, request) {
        // Go's net.JoinHostPort.
        let endpoint_id = if host.contains(':') {
            format!("[{host}]:{}", ep.port)
        } else {
            format!("{host}:{}", ep.port)
        };
        EndpointAddress::Internal {
            server_listener_name: "connect_originate".to_owned(),
            endpoint_id,
        }
    } else {
        EndpointAddress::Socket {
            address: host,
            port: ep.port,
        }
    };
    LbEndpoint {
        address,
        weight,
        kind: EndpointKind::Direct,
        mtls: mtls_capable(ep, request),
        network: ep.network.clone(),
        cluster: ep.cluster.clone(),
        workload: workload(ep),
    }
}

/// M18: `<workload>;<namespace>;<canonical name>;<canonical revision>;<cluster>`.
fn workload(ep: &EdsEndpoint) -> String {
    let first_label = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| ep.labels.get(*k))
            .map(String::as_str)
    };
    let name = first_label(&[
        "service.istio.io/canonical-name",
        "app.kubernetes.io/name",
        "app",
    ])
    .unwrap_or(&ep.workload_name);
    let mut revision = first_label(&[
        "service.istio.io/canonical-revision",
        "app.kubernetes.io/version",
        "version",
    ])
    .unwrap_or("latest");
    if revision == "latest" {
        revision = "";
    }
    let cluster = ep.cluster.as_ref().map_or("", |c| c.as_str());
    format!(
        "{};{};{name};{revision};{cluster}",
        ep.workload_name, ep.namespace
    )
}

/// M12: wrapping sum of the endpoint weights, unset for an empty group.
fn locality_weight(endpoints: &[LbEndpoint]) -> Option<u32> {
    if endpoints.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for e in endpoints {
        sum = sum.wrapping_add(e.weight);
    }
    Some(sum)
}

/// G6 / M4: the lcm of the sizes of every per-network and per-(network, cluster) list.
fn scale_factor(set: &[&Gateway]) -> u32 {
    let mut sizes: Vec<u128> = Vec::new();
    for g in set {
        sizes.push(set.iter().filter(|o| o.network == g.network).count() as u128);
        sizes.push(
            set.iter()
                .filter(|o| o.network == g.network && o.cluster == g.cluster)
                .count() as u128,
        );
    }
    let mut lcm: u128 = 1;
    for n in sizes {
        let (mut a, mut b) = (lcm, n);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        lcm = lcm / a * n;
    }
    match lcm as u32 {
        0 => 1,
        s => s,
    }
}

/// M10.
fn scaled(weight: u32, scale: u32) -> u32 {
    if weight >= u32::MAX / scale {
        u32::MAX
    } else {
        weight * scale
    }
}

/// M14.
fn reachable(family: IpFamily, address: &str) -> bool {
    let ip = address.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    match family {
        IpFamily::Ipv4 => ip.is_some_and(|ip| ip.is_ipv4()),
        IpFamily::Ipv6 => ip.is_some_and(|ip| ip.is_ipv6()),
        IpFamily::Dual | IpFamily::Unknown => true,
    }
}

/// M7: candidate gateways of an endpoint, after the proxy-type port filter.
fn candidates<'g>(set: &[&'g Gateway], class: &ProxyClass, ep: &EdsEndpoint) -> Vec<&'g Gateway> {
    let Some(network) = &ep.network else {
        return Vec::new();
    };
    let mut list: Vec<&Gateway> = set
        .iter()
        .copied()
        .filter(|g| &g.network == network && g.cluster == ep.cluster)
        .collect();
    if list.is_empty() {
        list = set
            .iter()
            .copied()
            .filter(|g| &g.network == network)
            .collect();
    }
    if class.proxy_type == ProxyType::Sidecar {
        list.retain(|g| g.port != 0);
    }
    list
}

/// M6–M15, M17 for one locality group: the group with its direct endpoints, and its gateways in
/// M13 order with the sum of the shares routed through each.
#[allow(clippy::type_complexity)] // the group, its direct endpoints' sources, its gateways
fn filter<'g, 'r>(
    set: &[&'g Gateway],
    class: &ProxyClass,
    request: &ServiceRequest<'_>,
    label: &str,
    members: &[&'r EdsEndpoint],
) -> (LocalityGroup, Vec<&'r EdsEndpoint>, Vec<(&'g Gateway, u32)>) {
    let scale = scale_factor(set);
    let mut endpoints = Vec::new();
    let mut from = Vec::new();
    // Per gateway identity: the summed weight.
    let mut sums: Vec<(&'g Gateway, u32)> = Vec::new();
    for ep in members {
        let w = scaled(ep.weight(), scale);
        let candidates = candidates(set, class, ep);
        let forced = class.network.is_none() && ep.network.is_some() && !candidates.is_empty();
        if !forced && (same_network(class, ep) || candidates.is_empty()) {
            // M9: direct, if it has a host.
            let host = ep.addresses.first().map_or("", String::as_str);
            let unix_path = ep.port == 0 && !hbone(ep, request);
            if !host.is_empty() && !unix_path {
                endpoints.push(direct(ep, request, w));
                from.push(*ep);
            }
            continue;
        }
        let reachable: Vec<&Gateway> = candidates
            .into_iter()
            .filter(|g| reachable(class.ip_family, &g.address))
            .collect();
        // M11: no reachable gateway → dropped. M15: needs mTLS.
        if reachable.is_empty() || !mtls_capable(ep, request) {
            continue;
        }
        let share = w / reachable.len() as u32;
        for g in reachable {
            match sums.iter_mut().find(|(s, _)| *s == g) {
                Some((_, sum)) => *sum = sum.wrapping_add(share),
                None => sums.push((g, share)),
            }
        }
    }
    // M13: gateway endpoints after the direct ones, by (address bytes, port); ties by identity.
    sums.sort_by(|(a, _), (b, _)| {
        (a.address.as_bytes(), a.port)
            .cmp(&(b.address.as_bytes(), b.port))
            .then_with(|| a.cmp(b))
    });
    (
        LocalityGroup {
            priority: 0,
            locality: label.to_owned(),
            weight: None,
            endpoints,
        },
        from,
        sums,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(net: &str, cluster: Option<&str>, address: &str, port: u32) -> Gateway {
        Gateway {
            network: net.parse().unwrap(),
            cluster: cluster.map(|c| c.parse().unwrap()),
            address: address.to_owned(),
            port,
            hbone_port: 0,
            service_account: String::new(),
        }
    }

    #[test]
    fn g6_scale_counts_every_list() {
        // n1: 1 (c1: 1); n2: 3 (c2a: 1, c2b: 2): lcm(1, 3, 1, 2) = 6.
        let gws = [
            gw("n1", Some("c1"), "1.1.1.1", 80),
            gw("n2", Some("c2a"), "2.2.2.2", 80),
            gw("n2", Some("c2b"), "2.2.2.20", 80),
            gw("n2", Some("c2b"), "2001:db8::1", 0),
        ];
        let set: Vec<&Gateway> = gws.iter().collect();
        assert_eq!(scale_factor(&set), 6);
        assert_eq!(scale_factor(&[]), 1);
    }

    #[test]
    fn m10_clips() {
        assert_eq!(scaled(3, 2), 6);
        assert_eq!(scaled(u32::MAX / 2, 2), u32::MAX);
        assert_eq!(scaled(u32::MAX / 2 - 1, 2), u32::MAX - 3);
        assert_eq!(scaled(u32::MAX, 1), u32::MAX);
    }

    #[test]
    fn m14_families() {
        assert!(reachable(IpFamily::Ipv4, "::ffff:10.0.0.1"));
        assert!(!reachable(IpFamily::Ipv6, "::ffff:10.0.0.1"));
        assert!(!reachable(IpFamily::Ipv4, "gw.example.com"));
        assert!(reachable(IpFamily::Unknown, "gw.example.com"));
    }

    #[test]
    fn legacy_profiles_are_not_covered() {
        let cluster = crate::ClusterRequest::default();
        let request = ServiceRequest {
            locality: crate::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &[],
            mtls_allowed: true,
            features: crate::Features::default(),
        };
        let class = ProxyClass {
            profile: Profile::Istio1_1_0,
            ..ProxyClass::default()
        };
        assert_eq!(
            assignment(&[], &class, &request),
            Err(OracleError::ProfileNotCovered {
                profile: Profile::Istio1_1_0
            })
        );
        for profile in [Profile::IstioModern, Profile::Istio1_5] {
            let class = ProxyClass {
                profile,
                ..ProxyClass::default()
            };
            assert_eq!(
                legacy_assignment(None, &class, &request),
                Err(OracleError::ProfileNotCovered { profile })
            );
        }
    }

    #[test]
    fn h1_6_normalizes_endpoints_then_localities() {
        let ep = |weight| LbEndpoint {
            address: EndpointAddress::Socket {
                address: "10.0.0.1".to_owned(),
                port: 80,
            },
            weight,
            kind: EndpointKind::Direct,
            mtls: false,
            network: None,
            cluster: None,
            workload: String::new(),
        };
        let group = |weight, endpoints| LocalityGroup {
            priority: 0,
            locality: String::new(),
            weight,
            endpoints,
        };
        let mut ls = vec![
            group(Some(300), vec![ep(200), ep(100)]),
            group(Some(100), vec![ep(100)]),
            group(None, vec![]),
        ];
        normalize_1_1(&mut ls);
        // Group 1: ceil(200·128/300) = 86, ceil(100·128/300) = 43; group 2 has no weight > 128.
        let w: Vec<Vec<u32>> = ls
            .iter()
            .map(|g| g.endpoints.iter().map(|e| e.weight).collect())
            .collect();
        assert_eq!(w, [vec![86, 43], vec![100], vec![]]);
        // Localities: ceil(300·128/400) = 96, ceil(100·128/400) = 32, unset → 0.
        let lw: Vec<Option<u32>> = ls.iter().map(|g| g.weight).collect();
        assert_eq!(lw, [Some(96), Some(32), Some(0)]);
    }
}
