//! A view: everything one proxy class needs precomputed from the gateway index (candidate and
//! reachable gateways per endpoint network and cluster), built once per class and shared by every
//! proxy of that class.

use std::net::IpAddr;
use std::sync::Arc;

use mesh_model::Gateway;

use crate::assignment::LoadAssignment;
use crate::explain::{EndpointExplanation, Explanation, NoTrace, Recorder, Trace};
use crate::gateways::{GatewayIndex, RouteKey};
use crate::input::{IpFamily, Profile, ProxyClass, ProxyType, ServiceRequest};
use crate::modern::selected;
use crate::prepared::PreparedService;
use crate::{legacy, modern};

/// Why an assignment could not be computed: the input makes that Istio version crash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdsError {
    /// Istio 1.1.3–1.1.17 divide by the number of IP gateways of a remote network whose gateways are
    /// all hostnames: istiod panics (rule H1.2).
    #[error(
        "{profile}: network {network:?} has gateways but none with an IP address: integer divide by zero (istiod panics, rule H1.2)"
    )]
    DivideByZero {
        /// The profile.
        profile: Profile,
        /// The network.
        network: String,
    },
}

/// The gateways an endpoint of one (network, cluster) may use, for one proxy class (M7, M14).
#[derive(Debug, Clone, Default)]
pub(crate) struct Route {
    /// Candidates after the proxy-type port filter (M7).
    pub(crate) candidates: usize,
    /// Candidates the proxy can reach (M14), as indexes into the gateway index, in M13 order.
    pub(crate) reachable: Box<[u32]>,
}

/// One proxy class's view of the gateway index. Build it once per class ([`View::new`]) and
/// compute every service's assignment from it: the cost is one pass over the service's endpoints.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
/// use mesh_model::Gateway;
/// let index = Arc::new(GatewayIndex::new([Gateway {
///     network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
///     hbone_port: 0, service_account: String::new(),
/// }]));
/// let view = View::new(&index, ProxyClass { network: Some("n1".parse()?), ..Default::default() });
/// let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse().unwrap();
/// let ep = |addr: &str, net: &str| EdsEndpoint {
///     addresses: vec![addr.into()], port: 8080, network: Some(net.parse().unwrap()),
///     ..Default::default()
/// };
/// let endpoints = [ep("10.0.0.1", "n1"), ep("10.1.0.1", "n2")];
/// let cla = view.assignment(&ServiceRequest {
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// })?;
/// let got: Vec<String> = cla.localities[0].endpoints.iter()
///     .map(|e| format!("{:?}", e.address)).collect();
/// assert_eq!(got.len(), 2); // 10.0.0.1 direct, 192.0.2.2 standing in for 10.1.0.1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct View {
    class: ProxyClass,
    index: Arc<GatewayIndex>,
    scale: u32,
    /// Per network slot of the index: the route of its whole list.
    network_routes: Vec<Route>,
    /// Per (network, cluster) slot of the index.
    cluster_routes: Vec<Route>,
    legacy: Option<legacy::LegacyView>,
}

impl View {
    /// Precomputes the class's view of `index`.
    pub fn new(index: &Arc<GatewayIndex>, class: ProxyClass) -> Self {
        let (mut network_routes, mut cluster_routes, mut legacy) = (Vec::new(), Vec::new(), None);
        if class.profile.is_legacy() {
            legacy = Some(legacy::LegacyView::new(
                index.legacy_networks(),
                class.profile,
            ));
        } else {
            network_routes = index
                .network_lists()
                .map(|list| route(index, &class, list))
                .collect();
            cluster_routes = index
                .cluster_lists()
                .iter()
                .map(|list| route(index, &class, list))
                .collect();
        }
        Self {
            scale: index.scale_factor().max(1),
            class,
            index: Arc::clone(index),
            network_routes,
            cluster_routes,
            legacy,
        }
    }

    /// The proxy class.
    pub fn class(&self) -> &ProxyClass {
        &self.class
    }

    /// The gateway index the view was built from.
    pub fn index(&self) -> &Arc<GatewayIndex> {
        &self.index
    }

    /// The assignment this class receives for one cluster.
    pub fn assignment(&self, request: &ServiceRequest<'_>) -> Result<LoadAssignment, EdsError> {
        self.run(&PreparedService::new(&self.index, *request), &mut NoTrace)
    }

    /// The assignment for a service prepared once for every view ([`PreparedService`]): the fast
    /// path when many views need the same service. A service prepared for another gateway index
    /// is prepared again for this one.
    pub fn assignment_prepared(
        &self,
        prepared: &PreparedService<'_>,
    ) -> Result<LoadAssignment, EdsError> {
        if Arc::ptr_eq(&prepared.index, &self.index) {
            self.run(prepared, &mut NoTrace)
        } else {
            self.assignment(&prepared.request)
        }
    }

    /// The assignment and, for every input endpoint, why it is there, replaced or missing.
    pub fn explain(
        &self,
        request: &ServiceRequest<'_>,
    ) -> Result<(LoadAssignment, Explanation), EdsError> {
        let mut rec = Recorder(vec![None; request.endpoints.len()]);
        let prepared = PreparedService::new(&self.index, *request);
        for &i in &prepared.dropped {
            // Selection drops (M1, M2 health) are decided while preparing: record why.
            let i = i as usize;
            selected(request, i, &request.endpoints[i], &mut rec);
        }
        let cla = self.run(&prepared, &mut rec)?;
        let endpoints = request
            .endpoints
            .iter()
            .zip(rec.0)
            .enumerate()
            .filter_map(|(index, (e, o))| {
                Some(EndpointExplanation {
                    index,
                    address: e.address().to_owned(),
                    port: e.port,
                    network: e.network.clone(),
                    cluster: e.cluster.clone(),
                    locality: e.locality.clone(),
                    outcome: o?,
                })
            })
            .collect();
        let explanation = Explanation {
            cluster_name: cla.cluster_name.clone(),
            class: self.class.clone(),
            scale_factor: match &self.legacy {
                Some(l) => l.multiplier(),
                None => self.scale,
            },
            endpoints,
        };
        Ok((cla, explanation))
    }

    fn run<T: Trace>(
        &self,
        prepared: &PreparedService<'_>,
        trace: &mut T,
    ) -> Result<LoadAssignment, EdsError> {
        match &self.legacy {
            Some(l) => l.compute(&self.class, &prepared.request, trace),
            None => Ok(modern::compute(self, prepared, trace)),
        }
    }

    pub(crate) fn scale(&self) -> u32 {
        self.scale
    }

    pub(crate) fn enabled(&self) -> bool {
        self.index.multi_network_enabled()
    }

    pub(crate) fn gateway(&self, i: u32) -> &Gateway {
        self.index.gateway(i)
    }

    /// M7: the candidates of an endpoint: its (network, cluster) list when that exists, else its
    /// network's list; `None` when its network has no gateway.
    pub(crate) fn route(&self, key: RouteKey) -> Option<&Route> {
        if key.cluster != RouteKey::NONE {
            self.cluster_routes.get(key.cluster as usize)
        } else if key.network != RouteKey::NONE {
            self.network_routes.get(key.network as usize)
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

#[cfg(test)]
mod tests {
    use super::*;

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
