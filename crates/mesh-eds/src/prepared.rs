//! A service port's endpoints with everything that does not depend on the proxy class computed
//! once (selection M1/M2-health, transport M3, metadata M18, locality groups M3, gateway routes
//! M7), so each view's pass over them is a few integer comparisons per endpoint.

use std::borrow::Cow;
use std::sync::Arc;

use mesh_model::{ClusterId, NetworkId, TlsMode};

use crate::explain::NoTrace;
use crate::first_seen::FirstSeen;
use crate::index::{GatewayIndex, RouteKey};
use crate::input::{EdsEndpoint, ServiceRequest};
use crate::rules::{index_u32, selected, sends_hbone};

/// What preparing needs of one endpoint (M1/M2 selection, transport M3, weight, where it is),
/// borrowed from the endpoint or from what a store keeps of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    /// Kept by selection (M1, M2 health).
    pub(crate) selected: bool,
    pub(crate) network: Option<&'a NetworkId>,
    pub(crate) cluster: Option<&'a ClusterId>,
    pub(crate) locality: &'a str,
    pub(crate) transport: Transport,
    /// The unscaled weight (M3).
    pub(crate) weight: u32,
}

/// How an endpoint can be reached, as the rules read it: the same in every facts type (what a
/// request gives, what a store caches, what preparing keeps), so two of them compare as one
/// value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Transport {
    /// The address list is empty (M2).
    pub(crate) no_addresses: bool,
    /// Sent over HBONE (M3).
    pub(crate) hbone: bool,
    /// mTLS-capable (M3).
    pub(crate) mtls: bool,
    /// No host for a direct endpoint: no address, or port 0 without HBONE (M9).
    pub(crate) empty_host: bool,
}

impl<'a> Facts<'a> {
    /// The facts of `request`'s endpoint `i`.
    pub(crate) fn of(request: &ServiceRequest<'_>, i: usize, ep: &'a EdsEndpoint) -> Self {
        let hbone = sends_hbone(ep, request.features);
        Self {
            selected: selected(request, i, ep, &mut NoTrace),
            network: ep.network.as_ref(),
            cluster: ep.cluster.as_ref(),
            locality: &ep.locality,
            transport: Transport {
                no_addresses: ep.addresses.is_empty(),
                hbone,
                mtls: ep.tls_mode == TlsMode::Istio && request.mtls_allowed && !hbone,
                empty_host: ep.address().is_empty() || (!hbone && ep.port == 0),
            },
            weight: ep.weight(),
        }
    }
}

/// One service port prepared for every view of one gateway index.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, PreparedService, ProxyClass};
/// use mesh_eds::{ServiceRequest, View};
/// let index = Arc::new(GatewayIndex::new([]));
/// let cluster: ClusterRequest = "outbound|80||foo.ns1".parse()?;
/// let endpoints = [EdsEndpoint { addresses: vec!["10.0.0.1".into()], port: 80, ..Default::default() }];
/// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// };
/// let prepared = PreparedService::new(&index, request);
/// for net in ["n1", "n2"] {
///     let view = View::new(&index, ProxyClass { network: Some(net.parse()?), ..Default::default() });
///     assert_eq!(view.assignment_prepared(&prepared)?, view.assignment(&request)?);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PreparedService<'a> {
    pub(crate) request: ServiceRequest<'a>,
    pub(crate) index: Arc<GatewayIndex>,
    /// The distinct endpoint networks (`None` first when present), for integer comparisons.
    pub(crate) networks: Vec<Option<&'a NetworkId>>,
    /// Locality groups of selected endpoints, in label byte order (M3).
    pub(crate) groups: Vec<PreparedGroup<'a>>,
    /// Input indexes dropped by selection (M1, M2 health), for explanations.
    pub(crate) dropped: Vec<u32>,
    /// The Envoy cluster name, formatted once for every view.
    pub(crate) cluster_name: Cow<'a, str>,
}

#[derive(Debug, Clone)]
pub(crate) struct PreparedGroup<'a> {
    pub(crate) label: &'a str,
    pub(crate) members: Vec<PreparedEndpoint>,
    /// (network, members on it) for each network of the group's members, by network: how many a
    /// view keeps directly, so it reserves its output for those and not for every member. Sparse
    /// (never longer than `members`): a service with many networks and many localities would
    /// otherwise hold groups × networks counts.
    pub(crate) per_network: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PreparedEndpoint {
    /// Index in the request's endpoints.
    pub(crate) index: u32,
    /// Index in `PreparedService::networks`.
    pub(crate) network: u32,
    pub(crate) route: RouteKey,
    pub(crate) transport: Transport,
    /// The unscaled weight (M3).
    pub(crate) weight: u32,
}

impl<'a> PreparedService<'a> {
    /// Prepares `request` for the views of `index`.
    pub fn new(index: &Arc<GatewayIndex>, request: ServiceRequest<'a>) -> Self {
        let facts = request
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, ep)| Facts::of(&request, i, ep));
        Self::from_facts(index, request, Cow::Owned(request.cluster.name()), facts)
    }

    /// [`PreparedService::new`] from each endpoint's [`Facts`] (in request order), computed here
    /// or kept by a store so that preparing again reads none of the endpoints.
    pub(crate) fn from_facts(
        index: &Arc<GatewayIndex>,
        request: ServiceRequest<'a>,
        cluster_name: Cow<'a, str>,
        facts: impl IntoIterator<Item = Facts<'a>>,
    ) -> Self {
        let grouped = Grouped::new(index, facts);
        let groups = grouped
            .groups()
            .map(|(label, members)| {
                let mut networks: Vec<u32> = members.iter().map(|m| m.network).collect();
                networks.sort_unstable();
                let per_network = networks
                    .chunk_by(|a, b| a == b)
                    .map(|run| (run[0], index_u32(run.len())))
                    .collect();
                PreparedGroup {
                    label,
                    members: members.to_vec(),
                    per_network,
                }
            })
            .collect();
        Self {
            request,
            index: Arc::clone(index),
            networks: grouped.networks,
            groups,
            dropped: grouped.dropped,
            cluster_name,
        }
    }

    /// The request it was prepared from.
    pub fn request(&self) -> &ServiceRequest<'a> {
        &self.request
    }
}

/// Selected endpoints as members of locality groups, flat: what [`PreparedService`] and the
/// store's re-encoding both start from.
#[derive(Debug)]
pub(crate) struct Grouped<'a> {
    /// The distinct endpoint networks, in order of appearance.
    pub(crate) networks: Vec<Option<&'a NetworkId>>,
    /// Group labels in byte order (M3).
    labels: Vec<&'a str>,
    /// Members group by group, in input order within a group.
    members: Vec<PreparedEndpoint>,
    /// `members` offsets: group `g` is `bounds[g]..bounds[g + 1]`.
    bounds: Vec<usize>,
    /// Input positions dropped by selection (M1, M2 health).
    pub(crate) dropped: Vec<u32>,
}

impl<'a> Grouped<'a> {
    pub(crate) fn new(index: &GatewayIndex, facts: impl IntoIterator<Item = Facts<'a>>) -> Self {
        // The distinct networks and labels, numbered as they appear (labels sorted and bucketed
        // after).
        let mut networks: FirstSeen<Option<&'a NetworkId>> = FirstSeen::default();
        let mut labels: FirstSeen<&'a str> = FirstSeen::default();
        let facts = facts.into_iter();
        let mut members: Vec<(u32, PreparedEndpoint)> = Vec::with_capacity(facts.size_hint().0);
        let mut dropped = Vec::new();
        // Endpoints come shard by shard: the last (network, cluster) → route is usually the next.
        let mut last_route: Option<(Option<&NetworkId>, Option<&ClusterId>, RouteKey)> = None;
        for (i, f) in facts.enumerate() {
            if !f.selected {
                dropped.push(index_u32(i));
                continue;
            }
            let net = f.network;
            let network = networks.number(net, |a, b| a == b);
            let route = match last_route {
                Some((n, c, route)) if n == net && c == f.cluster => route,
                _ => {
                    let route = index.route_key(net, f.cluster);
                    last_route = Some((net, f.cluster, route));
                    route
                }
            };
            let label = labels.number(f.locality, |a, b| std::ptr::eq(*a, *b) || a == b);
            members.push((
                label,
                PreparedEndpoint {
                    index: index_u32(i),
                    network,
                    route,
                    transport: f.transport,
                    weight: f.weight,
                },
            ));
        }
        let networks = networks.into_values();
        let labels = labels.into_values();
        // Label byte order (M3); a counting sort keeps input order within a group.
        let mut order: Vec<u32> = (0..index_u32(labels.len())).collect();
        order.sort_unstable_by_key(|&l| labels[l as usize]);
        let mut rank = vec![0u32; labels.len()];
        for (r, &l) in (0u32..).zip(&order) {
            rank[l as usize] = r;
        }
        let mut bounds = vec![0usize; labels.len() + 1];
        for (l, _) in &members {
            bounds[rank[*l as usize] as usize + 1] += 1;
        }
        for g in 1..bounds.len() {
            bounds[g] += bounds[g - 1];
        }
        let mut next = bounds.clone();
        let mut flat = vec![PreparedEndpoint::default(); members.len()];
        for (l, m) in members {
            let at = &mut next[rank[l as usize] as usize];
            flat[*at] = m;
            *at += 1;
        }
        Self {
            networks,
            labels: order.iter().map(|&l| labels[l as usize]).collect(),
            members: flat,
            bounds,
            dropped,
        }
    }

    /// (label, members) of each group, in label order.
    pub(crate) fn groups(
        &self,
    ) -> impl Iterator<Item = (&'a str, &[PreparedEndpoint])> + Clone + '_ {
        self.labels
            .iter()
            .zip(self.bounds.windows(2))
            .map(|(&label, b)| (label, &self.members[b[0]..b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_network_counts_are_sparse() {
        // Every endpoint in its own locality and its own network: n groups, n networks, and
        // still one count a member (not n × n).
        let endpoints: Vec<EdsEndpoint> = (0..300)
            .map(|i| EdsEndpoint {
                addresses: vec![format!("10.0.{}.{}", i / 256, i % 256)],
                port: 80,
                network: format!("n{i}").parse().ok(),
                locality: format!("r/z{i}"),
                ..EdsEndpoint::default()
            })
            .collect();
        let cluster: crate::ClusterRequest = "outbound|80||foo.ns1".parse().unwrap_or_default();
        let request = ServiceRequest {
            locality: crate::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed: true,
            features: Default::default(),
        };
        let prepared = PreparedService::new(&Arc::new(GatewayIndex::new([])), request);
        assert_eq!(prepared.networks.len(), 300);
        assert_eq!(prepared.groups.len(), 300);
        for g in &prepared.groups {
            assert_eq!(g.per_network.len(), 1);
            let network = prepared.networks[g.per_network[0].0 as usize];
            assert_eq!(
                network,
                endpoints[g.members[0].index as usize].network.as_ref()
            );
        }
    }
}
