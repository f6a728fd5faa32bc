//! The rules every profile and both paths share (the value path's `modern`, the push path's
//! `encoded`, the legacy profiles, the gateway index): selection (M1, M2 health), transport (M3),
//! weight arithmetic (M10–M12), the `istio` workload metadata (M18) and the shapes of direct and
//! gateway endpoints (M13/M18). Nothing here depends on a proxy class.

use mesh_model::{Gateway, TlsMode};

use crate::assignment::{EndpointAddress, EndpointKind, LbEndpoint};
use crate::explain::{DropReason, Outcome, Trace};
use crate::input::{EdsEndpoint, Features, Health, ServiceRequest};

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
    let mut out = String::new();
    write_workload_metadata(ep, &mut out);
    out
}

/// [`workload_metadata`] into a buffer it clears first (no allocation once the buffer is big
/// enough).
pub(crate) fn write_workload_metadata(ep: &EdsEndpoint, out: &mut String) {
    out.clear();
    // One pass over the labels; the first key of each list that is present wins.
    let (mut name, mut revision): ([Option<&str>; 3], [Option<&str>; 3]) = ([None; 3], [None; 3]);
    for (k, v) in ep.labels.iter() {
        let v = Some(v.as_str());
        match k.as_str() {
            "service.istio.io/canonical-name" => name[0] = v,
            "app.kubernetes.io/name" => name[1] = v,
            "app" => name[2] = v,
            "service.istio.io/canonical-revision" => revision[0] = v,
            "app.kubernetes.io/version" => revision[1] = v,
            "version" => revision[2] = v,
            _ => {}
        }
    }
    let name = name
        .into_iter()
        .flatten()
        .next()
        .unwrap_or(ep.workload_name.as_str());
    let revision = revision.into_iter().flatten().next().unwrap_or("latest");
    let revision = if revision == "latest" { "" } else { revision };
    let cluster = ep.cluster.as_ref().map_or("", |c| c.as_str());
    let parts = [
        ep.workload_name.as_str(),
        ep.namespace.as_str(),
        name,
        revision,
        cluster,
    ];
    out.reserve(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(p);
    }
}

pub(crate) fn direct_endpoint(
    ep: &EdsEndpoint,
    weight: u32,
    hbone: bool,
    mtls: bool,
    workload: String,
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
        workload,
    }
}

/// M11: a gateway endpoint's weight from the sum of its shares (0 is sent as 1).
pub(crate) fn gateway_weight(sum: u32) -> u32 {
    if sum == 0 { 1 } else { sum }
}

/// M13/M18: the endpoint standing in for remote workloads through gateway `gw`, whose `workload`
/// metadata is `;;;;<cluster>`.
pub(crate) fn gateway_endpoint(gw: &Gateway, workload: &str, weight: u32) -> LbEndpoint {
    LbEndpoint {
        address: EndpointAddress::Socket {
            address: gw.address.clone(),
            port: gw.port,
        },
        weight,
        kind: EndpointKind::Gateway,
        mtls: true,
        network: Some(gw.network.clone()),
        cluster: gw.cluster.clone(),
        workload: workload.to_owned(),
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

/// A position or count as the `u32` the engine stores, saturating at `u32::MAX - 1`: `u32::MAX`
/// is kept as the engine's "none" (`RouteKey::NONE`, a member not kept), which no real position
/// reaches.
pub(crate) fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX - 1).min(u32::MAX - 1)
}
