//! Name resolution in the replicated-control-planes design, as pure functions: which name a
//! client in a cluster uses for a service, and what a `.global` name resolves to.

use std::net::IpAddr;

use mesh_model::{ClusterId, MeshSpec, ServiceKey};

use crate::vip::Allocations;

/// The name a client uses for a service, and where it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAddress {
    /// The service runs in the client's cluster: its ordinary name, resolved by the cluster's DNS.
    Local {
        /// `<name>.<namespace>.svc.<domain suffix>`.
        host: String,
    },
    /// The service runs only elsewhere: its `.global` name and virtual IP.
    Global {
        /// `<name>.<namespace>.global`.
        host: String,
        /// The virtual IP the `global` DNS zone answers.
        vip: IpAddr,
    },
}

/// How a client in `from` addresses `service`: the local name when the service runs in `from`,
/// else its `.global` name. `None` when the service is not in the mesh or has no virtual IP.
///
/// ```
/// use mesh_global::{Allocations, ServiceAddress, address_for, allocate_for_mesh};
/// let doc = mesh_model::MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED)?;
/// let vips = allocate_for_mesh(&doc.spec, &Allocations::default())?;
/// let httpbin = "httpbin.bar".parse()?;
/// assert!(matches!(address_for(&doc.spec, &vips, &"west".parse()?, &httpbin), Some(ServiceAddress::Local { .. })));
/// assert!(matches!(address_for(&doc.spec, &vips, &"east".parse()?, &httpbin), Some(ServiceAddress::Global { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn address_for(
    spec: &MeshSpec,
    allocations: &Allocations,
    from: &ClusterId,
    service: &ServiceKey,
) -> Option<ServiceAddress> {
    let s = spec
        .services
        .iter()
        .find(|s| s.name == service.name && s.namespace == service.namespace)?;
    if s.clusters().contains(&from) {
        Some(ServiceAddress::Local {
            host: service.cluster_host(&spec.domain_suffix),
        })
    } else {
        Some(ServiceAddress::Global {
            host: service.global_host(),
            vip: allocations.get(service)?,
        })
    }
}

/// What the `global` DNS zone answers for `host` (`foo.ns1.global`, trailing dot allowed).
pub fn resolve_global(allocations: &Allocations, host: &str) -> Option<IpAddr> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let rest = host.strip_suffix(".global")?;
    let key: ServiceKey = rest.parse().ok()?;
    allocations.get(&key)
}

/// The `.global` name behind a virtual IP (reverse resolution).
pub fn global_name_of(allocations: &Allocations, ip: IpAddr) -> Option<String> {
    allocations.service_at(ip).map(ServiceKey::global_host)
}
