//! The labels the engine pairs with each `LbEndpoint` of its own output (L1, L2, L24): a direct
//! endpoint's workload labels augmented with its locality parts, cluster and network; a gateway
//! endpoint's cluster and network only.

use super::{EndpointLabels, gateway_label, parts::split};
use crate::assignment::{EndpointKind, LbEndpoint, LoadAssignment};
use crate::input::EdsEndpoint;
use crate::policy::{CLUSTER_LABEL, NETWORK_LABEL, REGION_LABEL, SUBZONE_LABEL, ZONE_LABEL};

/// L2: `AugmentLabels` on a registry endpoint: region/zone/subzone from its locality and its
/// cluster id replace the workload's labels when known; the network label is added unless
/// already set. (The node name, `kubernetes.io/hostname`, is whatever the labels say.)
pub(crate) fn endpoint_label<'a>(e: &'a EdsEndpoint, key: &str) -> Option<&'a str> {
    let own = || e.labels.get(key).map(String::as_str);
    let part = |p: &'a str| if p.is_empty() { own() } else { Some(p) };
    let (region, zone, subzone) = split(&e.locality);
    match key {
        REGION_LABEL => part(region),
        ZONE_LABEL => part(zone),
        SUBZONE_LABEL => part(subzone),
        CLUSTER_LABEL => e.cluster.as_ref().map(|c| c.as_str()).or_else(own),
        NETWORK_LABEL => own().or_else(|| e.network.as_ref().map(|n| n.as_str())),
        _ => own(),
    }
}

/// What each output endpoint is paired with: direct endpoints with their input endpoint, in
/// the order the value path emitted them (`direct_order`), gateways with their own cluster and
/// network (L24).
pub(crate) struct EnginePairs<'a> {
    endpoints: &'a [EdsEndpoint],
    /// `pairs[g][e]` for endpoint `e` of group `g`.
    pairs: Vec<Vec<Pair>>,
}

enum Pair {
    Direct(Option<usize>),
    Gateway(LbEndpoint),
}

impl<'a> EnginePairs<'a> {
    /// Pairs `cla`'s direct endpoints, group by group, with `direct_order` (the input indices of
    /// the endpoints sent directly, in emission order).
    pub(crate) fn new(
        cla: &LoadAssignment,
        endpoints: &'a [EdsEndpoint],
        direct_order: &[usize],
    ) -> Self {
        let mut next = direct_order.iter().copied();
        let pairs = cla
            .localities
            .iter()
            .map(|g| {
                g.endpoints
                    .iter()
                    .map(|e| match e.kind {
                        EndpointKind::Direct => Pair::Direct(next.next()),
                        EndpointKind::Gateway => Pair::Gateway(LbEndpoint {
                            workload: String::new(),
                            ..e.clone()
                        }),
                    })
                    .collect()
            })
            .collect();
        Self { endpoints, pairs }
    }
}

impl EndpointLabels for EnginePairs<'_> {
    fn label(&self, group: usize, endpoint: usize, key: &str) -> Option<&str> {
        match self.pairs.get(group)?.get(endpoint)? {
            Pair::Gateway(lb) => gateway_label(lb, key),
            Pair::Direct(source) => endpoint_label(self.endpoints.get((*source)?)?, key),
        }
    }
}
