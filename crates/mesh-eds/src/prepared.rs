//! A service port's endpoints with everything that does not depend on the proxy class computed
//! once (selection M1/M2-health, transport M3, metadata M18, locality groups M3, gateway routes
//! M7), so each view's pass over them is a few integer comparisons per endpoint.

use std::collections::BTreeMap;
use std::sync::Arc;

use mesh_model::{ClusterId, NetworkId, TlsMode};

use crate::explain::NoTrace;
use crate::gateways::{GatewayIndex, RouteKey};
use crate::input::ServiceRequest;
use crate::modern::{selected, sends_hbone};

/// One service port prepared for every view of one gateway index.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, PreparedService, ProxyClass};
/// use mesh_eds::{ServiceRequest, View};
/// let index = Arc::new(GatewayIndex::new([]));
/// let cluster: ClusterRequest = "outbound|80||foo.ns1".parse()?;
/// let endpoints = [EdsEndpoint { addresses: vec!["10.0.0.1".into()], port: 80, ..Default::default() }];
/// let request = ServiceRequest {
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
    pub(crate) cluster_name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct PreparedGroup<'a> {
    pub(crate) label: &'a str,
    pub(crate) members: Vec<PreparedEndpoint>,
    /// Members per network (parallel to `PreparedService::networks`): how many a view keeps
    /// directly, so it reserves its output for those and not for every member.
    pub(crate) per_network: Vec<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct PreparedEndpoint {
    /// Index in the request's endpoints.
    pub(crate) index: u32,
    /// Index in `PreparedService::networks`.
    pub(crate) network: u32,
    pub(crate) route: RouteKey,
    /// The address list is empty (M2).
    pub(crate) no_addresses: bool,
    /// Sent over HBONE (M3).
    pub(crate) hbone: bool,
    /// mTLS-capable (M3).
    pub(crate) mtls: bool,
    /// No host for a direct endpoint: no address, or port 0 without HBONE (M9).
    pub(crate) empty_host: bool,
    /// The unscaled weight (M3).
    pub(crate) weight: u32,
}

impl<'a> PreparedService<'a> {
    /// Prepares `request` for the views of `index`.
    pub fn new(index: &Arc<GatewayIndex>, request: ServiceRequest<'a>) -> Self {
        let mut networks: Vec<Option<&'a NetworkId>> = Vec::new();
        let mut groups: BTreeMap<&'a str, Vec<PreparedEndpoint>> = BTreeMap::new();
        let mut dropped = Vec::new();
        // Endpoints come shard by shard: the last (network, cluster) → route is usually the next.
        let mut last_route: Option<(Option<&NetworkId>, Option<&ClusterId>, RouteKey)> = None;
        for (i, ep) in request.endpoints.iter().enumerate() {
            let index_u32 = u32::try_from(i).unwrap_or(u32::MAX);
            if !selected(&request, i, ep, &mut NoTrace) {
                dropped.push(index_u32);
                continue;
            }
            let net = ep.network.as_ref();
            let network = match networks.iter().position(|n| *n == net) {
                Some(p) => p,
                None => {
                    networks.push(net);
                    networks.len() - 1
                }
            };
            let hbone = sends_hbone(ep, request.features);
            let cluster = ep.cluster.as_ref();
            let route = match last_route {
                Some((n, c, route)) if n == net && c == cluster => route,
                _ => {
                    let route = index.route_key(net, cluster);
                    last_route = Some((net, cluster, route));
                    route
                }
            };
            groups
                .entry(ep.locality.as_str())
                .or_default()
                .push(PreparedEndpoint {
                    index: index_u32,
                    network: u32::try_from(network).unwrap_or(u32::MAX),
                    route,
                    no_addresses: ep.addresses.is_empty(),
                    hbone,
                    mtls: ep.tls_mode == TlsMode::Istio && request.mtls_allowed && !hbone,
                    empty_host: ep.address().is_empty() || (!hbone && ep.port == 0),
                    weight: ep.weight(),
                });
        }
        let groups = groups
            .into_iter()
            .map(|(label, members)| {
                let mut per_network = vec![0u32; networks.len()];
                for m in &members {
                    if let Some(count) = per_network.get_mut(m.network as usize) {
                        *count += 1;
                    }
                }
                PreparedGroup {
                    label,
                    members,
                    per_network,
                }
            })
            .collect();
        Self {
            request,
            index: Arc::clone(index),
            networks,
            groups,
            dropped,
            cluster_name: request.cluster.name(),
        }
    }

    /// The request it was prepared from.
    pub fn request(&self) -> &ServiceRequest<'a> {
        &self.request
    }
}
