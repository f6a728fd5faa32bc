//! Properties every correct split-horizon assignment has (istio-modern), as public checks so other
//! control planes can assert them in their own tests.
//!
//! Each check looks at the inputs and the output only, never at how the output was computed.

use mesh_model::{Gateway, NetworkId};

use crate::assignment::{EndpointAddress, EndpointKind, LoadAssignment};
use crate::input::{ProxyClass, ServiceRequest};

/// A broken invariant, with the offending output element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvariantViolation {
    /// A gateway endpoint of the proxy's own network: a local endpoint was replaced.
    #[error(
        "locality {locality:?}: gateway {address} is of the proxy's own network {network}: a local endpoint was replaced"
    )]
    LocalEndpointReplaced {
        /// The locality label.
        locality: String,
        /// The gateway endpoint's address.
        address: String,
        /// The proxy's network.
        network: NetworkId,
    },
    /// A gateway endpoint whose network no remote input endpoint is on.
    #[error(
        "locality {locality:?}: gateway {address} is of network {network:?}, which no remote endpoint of that locality is on"
    )]
    GatewayOfOtherNetwork {
        /// The locality label.
        locality: String,
        /// The gateway endpoint's address.
        address: String,
        /// Its network.
        network: Option<NetworkId>,
    },
    /// A gateway endpoint that is not a gateway of its network in the gateway set (so an endpoint
    /// of a gateway-less network went through a gateway).
    #[error("locality {locality:?}: gateway endpoint {address}:{port} is not in the gateway set")]
    UnknownGateway {
        /// The locality label.
        locality: String,
        /// The gateway endpoint's address.
        address: String,
        /// Its port.
        port: u32,
    },
    /// A direct endpoint that is not one of the input endpoints.
    #[error("locality {locality:?}: direct endpoint {address} is not an input endpoint")]
    UnknownDirectEndpoint {
        /// The locality label.
        locality: String,
        /// The endpoint's address.
        address: String,
    },
    /// A locality weight that is not the sum of its endpoint weights (M12), or set on an empty
    /// group / unset on a non-empty one.
    #[error("locality {locality:?}: weight {found:?}, but its endpoints sum to {sum:?} (M12)")]
    LocalityWeight {
        /// The locality label.
        locality: String,
        /// The weight found.
        found: Option<u32>,
        /// The wrapping sum of the endpoint weights (`None` when empty).
        sum: Option<u32>,
    },
    /// An endpoint weight of 0 (Envoy rejects it).
    #[error("locality {locality:?}: endpoint {address} has weight 0")]
    ZeroWeight {
        /// The locality label.
        locality: String,
        /// The endpoint's address.
        address: String,
    },
    /// Two computations of the same input differ.
    #[error("two computations of the same input differ")]
    NotDeterministic,
}

fn addr(a: &EndpointAddress) -> (String, u32) {
    match a {
        EndpointAddress::Socket { address, port } => (address.clone(), *port),
        EndpointAddress::Internal { endpoint_id, .. } => (endpoint_id.clone(), 0),
    }
}

/// Local endpoints are never replaced: no gateway endpoint is of the proxy's own network.
pub fn local_endpoints_never_replaced(
    class: &ProxyClass,
    cla: &LoadAssignment,
) -> Result<(), InvariantViolation> {
    let Some(own) = &class.network else {
        return Ok(());
    };
    for l in &cla.localities {
        for e in &l.endpoints {
            if e.kind == EndpointKind::Gateway && e.network.as_ref() == Some(own) {
                return Err(InvariantViolation::LocalEndpointReplaced {
                    locality: l.locality.clone(),
                    address: addr(&e.address).0,
                    network: own.clone(),
                });
            }
        }
    }
    Ok(())
}

/// A remote endpoint only ever becomes a gateway of its own network: every gateway endpoint is of
/// a network some remote input endpoint is on.
pub fn remote_endpoints_use_own_network_gateways(
    class: &ProxyClass,
    request: &ServiceRequest<'_>,
    cla: &LoadAssignment,
) -> Result<(), InvariantViolation> {
    for l in &cla.localities {
        for e in &l.endpoints {
            if e.kind != EndpointKind::Gateway {
                continue;
            }
            let served = request.endpoints.iter().any(|ep| {
                ep.network.is_some()
                    && ep.network == e.network
                    && ep.locality == l.locality
                    && ep.network != class.network
            });
            if !served {
                return Err(InvariantViolation::GatewayOfOtherNetwork {
                    locality: l.locality.clone(),
                    address: addr(&e.address).0,
                    network: e.network.clone(),
                });
            }
        }
    }
    Ok(())
}

/// No endpoint of a gateway-less network goes through a gateway: every gateway endpoint is a
/// gateway of its network in `gateways`; every direct endpoint is an input endpoint.
pub fn gateways_are_real(
    gateways: &[Gateway],
    request: &ServiceRequest<'_>,
    cla: &LoadAssignment,
) -> Result<(), InvariantViolation> {
    for l in &cla.localities {
        for e in &l.endpoints {
            match (e.kind, &e.address) {
                (EndpointKind::Gateway, EndpointAddress::Socket { address, port }) => {
                    let known = gateways.iter().any(|g| {
                        &g.address == address
                            && g.port == *port
                            && Some(&g.network) == e.network.as_ref()
                            && g.cluster == e.cluster
                    });
                    if !known {
                        return Err(InvariantViolation::UnknownGateway {
                            locality: l.locality.clone(),
                            address: address.clone(),
                            port: *port,
                        });
                    }
                }
                (EndpointKind::Gateway, other) => {
                    let (address, port) = addr(other);
                    return Err(InvariantViolation::UnknownGateway {
                        locality: l.locality.clone(),
                        address,
                        port,
                    });
                }
                (EndpointKind::Direct, a) => {
                    let (address, port) = match a {
                        EndpointAddress::Socket { address, port } => (address.as_str(), *port),
                        EndpointAddress::Internal { endpoint_id, .. } => {
                            (endpoint_id.as_str(), u32::MAX)
                        }
                    };
                    let known = request.endpoints.iter().any(|ep| {
                        ep.locality == l.locality
                            && if port == u32::MAX {
                                crate::rules::join_host_port(ep.address(), ep.port) == address
                            } else {
                                ep.address() == address && ep.port == port
                            }
                    });
                    if !known {
                        return Err(InvariantViolation::UnknownDirectEndpoint {
                            locality: l.locality.clone(),
                            address: address.to_owned(),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// M12: every locality weight is the wrapping sum of its endpoint weights and unset exactly when
/// the group is empty; every endpoint weight is at least 1. (When multi-network is off, M5, Istio
/// keeps its pre-filter sum, which saturates instead of wrapping: both are accepted.)
pub fn locality_weights_are_sums(cla: &LoadAssignment) -> Result<(), InvariantViolation> {
    for l in &cla.localities {
        let sum = (!l.endpoints.is_empty()).then(|| {
            l.endpoints
                .iter()
                .fold(0u32, |a, e| a.wrapping_add(e.weight))
        });
        let saturating = (!l.endpoints.is_empty()).then(|| {
            l.endpoints
                .iter()
                .fold(0u32, |a, e| a.saturating_add(e.weight))
        });
        if l.weight != sum && l.weight != saturating {
            return Err(InvariantViolation::LocalityWeight {
                locality: l.locality.clone(),
                found: l.weight,
                sum,
            });
        }
        if let Some(e) = l.endpoints.iter().find(|e| e.weight == 0) {
            return Err(InvariantViolation::ZeroWeight {
                locality: l.locality.clone(),
                address: addr(&e.address).0,
            });
        }
    }
    Ok(())
}

/// The output is deterministic: `compute` called twice gives the same assignment.
pub fn deterministic<E>(
    mut compute: impl FnMut() -> Result<LoadAssignment, E>,
) -> Result<(), InvariantViolation> {
    let a = compute().ok();
    let b = compute().ok();
    if a == b {
        Ok(())
    } else {
        Err(InvariantViolation::NotDeterministic)
    }
}

/// Every check above on one istio-modern result.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
/// use mesh_eds::check_invariants;
/// use mesh_model::Gateway;
/// let gateways = vec![Gateway {
///     network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
///     hbone_port: 0, service_account: String::new(),
/// }];
/// let class = ProxyClass { network: Some("n1".parse()?), ..Default::default() };
/// let cluster: ClusterRequest = "outbound|80||foo.ns1".parse()?;
/// let endpoints = [EdsEndpoint {
///     addresses: vec!["10.1.0.1".into()], port: 8080, network: Some("n2".parse()?),
///     ..Default::default()
/// }];
/// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// };
/// let view = View::new(&Arc::new(GatewayIndex::new(gateways.clone())), class.clone());
/// let cla = view.assignment(&request)?;
/// check_invariants(&gateways, &class, &request, &cla)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_invariants(
    gateways: &[Gateway],
    class: &ProxyClass,
    request: &ServiceRequest<'_>,
    cla: &LoadAssignment,
) -> Result<(), InvariantViolation> {
    local_endpoints_never_replaced(class, cla)?;
    remote_endpoints_use_own_network_gateways(class, request, cla)?;
    gateways_are_real(gateways, request, cla)?;
    locality_weights_are_sums(cla)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignment::{LbEndpoint, LocalityGroup};
    use crate::input::{ClusterRequest, EdsEndpoint, Features};

    fn lb(address: &str, weight: u32, kind: EndpointKind, network: &str) -> LbEndpoint {
        LbEndpoint {
            address: EndpointAddress::Socket {
                address: address.into(),
                port: 15443,
            },
            weight,
            kind,
            mtls: true,
            network: network.parse().ok(),
            cluster: None,
            workload: String::new(),
        }
    }

    fn cla(endpoints: Vec<LbEndpoint>, weight: Option<u32>) -> LoadAssignment {
        LoadAssignment {
            cluster_name: "c".into(),
            localities: vec![LocalityGroup {
                priority: 0,
                locality: String::new(),
                weight,
                endpoints,
            }],
        }
    }

    fn remote_endpoint() -> EdsEndpoint {
        EdsEndpoint {
            addresses: vec!["10.2.0.1".into()],
            port: 15443,
            network: "n2".parse().ok(),
            ..EdsEndpoint::default()
        }
    }

    #[test]
    fn each_check_catches_its_violation() {
        let class = ProxyClass {
            network: "n1".parse().ok(),
            ..ProxyClass::default()
        };
        let cluster = ClusterRequest::default();
        let endpoints = [remote_endpoint()];
        let request = ServiceRequest {
            locality: crate::LocalityPolicy::istio_default(),
            cluster: &cluster,
            endpoints: &endpoints,
            mtls_allowed: true,
            features: Features::default(),
        };
        let gateways = [Gateway {
            network: "n2".parse().unwrap(),
            cluster: None,
            address: "192.0.2.2".into(),
            port: 15443,
            hbone_port: 0,
            service_account: String::new(),
        }];
        let good = cla(
            vec![lb("192.0.2.2", 1, EndpointKind::Gateway, "n2")],
            Some(1),
        );
        assert_eq!(check_invariants(&gateways, &class, &request, &good), Ok(()));

        let local_gw = cla(
            vec![lb("192.0.2.1", 1, EndpointKind::Gateway, "n1")],
            Some(1),
        );
        assert!(matches!(
            local_endpoints_never_replaced(&class, &local_gw),
            Err(InvariantViolation::LocalEndpointReplaced { .. })
        ));
        let other_net = cla(
            vec![lb("192.0.2.3", 1, EndpointKind::Gateway, "n3")],
            Some(1),
        );
        assert!(matches!(
            remote_endpoints_use_own_network_gateways(&class, &request, &other_net),
            Err(InvariantViolation::GatewayOfOtherNetwork { .. })
        ));
        let unknown = cla(
            vec![lb("192.0.2.9", 1, EndpointKind::Gateway, "n2")],
            Some(1),
        );
        assert!(matches!(
            gateways_are_real(&gateways, &request, &unknown),
            Err(InvariantViolation::UnknownGateway { .. })
        ));
        let invented = cla(vec![lb("10.9.9.9", 1, EndpointKind::Direct, "n2")], Some(1));
        assert!(matches!(
            gateways_are_real(&gateways, &request, &invented),
            Err(InvariantViolation::UnknownDirectEndpoint { .. })
        ));
        let bad_sum = cla(
            vec![lb("192.0.2.2", 2, EndpointKind::Gateway, "n2")],
            Some(3),
        );
        assert!(matches!(
            locality_weights_are_sums(&bad_sum),
            Err(InvariantViolation::LocalityWeight { .. })
        ));
        assert!(locality_weights_are_sums(&cla(vec![], Some(0))).is_err());
        assert!(locality_weights_are_sums(&cla(vec![], None)).is_ok());
        let zero = cla(
            vec![lb("192.0.2.2", 0, EndpointKind::Gateway, "n2")],
            Some(0),
        );
        assert!(matches!(
            locality_weights_are_sums(&zero),
            Err(InvariantViolation::ZeroWeight { .. })
        ));
        let mut n = 0;
        let flaky = deterministic(|| {
            n += 1;
            Ok::<_, ()>(cla(vec![], Some(n)))
        });
        assert_eq!(flaky, Err(InvariantViolation::NotDeterministic));
    }
}
