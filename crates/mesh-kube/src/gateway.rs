//! East-west gateways found from Services, and the external addresses of every Service.
//!
//! Istio's rules:
//! - A Service's external addresses (`pilot/pkg/serviceregistry/kube/conversion.go`,
//!   `ConvertService`): for `type: LoadBalancer`, each `status.loadBalancer.ingress[]` `ip`, else
//!   its `hostname` (not resolved); for every type, `spec.externalIPs` too. A `NodePort` Service
//!   annotated `traffic.istio.io/nodeSelector` gets the `ExternalIP` of each node whose labels hold
//!   the selector (`controller.go`, `onNodeEvent`; `network.go`, `updateServiceNodePortAddresses`),
//!   with each port mapped to its `nodePort` (`network.go`, `extractGatewaysInner`).
//! - A Service labelled `topology.istio.io/network` is a gateway of that network
//!   (`network.go`, `getGatewayDetails`): its mTLS port is the label
//!   `networking.istio.io/gatewayPort` (default 15443; unparsable → the default), its HBONE port
//!   15008; a port the Service does not expose is dropped, and a Service exposing neither is no
//!   gateway. Each external address × the ports is one gateway.

use std::collections::BTreeMap;

use crate::label;
use crate::object::{Node, ObjectRef, Service};
use crate::report::ImportReport;

/// Istio's default east-west mTLS port (`DefaultNetworkGatewayPort`).
pub(crate) const DEFAULT_GATEWAY_PORT: u16 = 15443;
/// Istio's HBONE port (`DefaultNetworkGatewayHBONEPort`).
pub(crate) const HBONE_PORT: u16 = 15008;

/// A gateway found from a labelled Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LabelGateway {
    pub network: String,
    pub address: String,
    /// The mTLS port (after NodePort mapping), 0 = not offered.
    pub port: u16,
    /// The HBONE port (after NodePort mapping), 0 = not offered.
    pub hbone_port: u16,
    pub service: ObjectRef,
}

/// A Service's external addresses and the port map of a NodePort gateway.
pub(crate) fn external_addresses(
    svc: &Service,
    nodes: &[(ObjectRef, Node)],
) -> (Vec<String>, BTreeMap<u16, u16>) {
    let mut addrs = Vec::new();
    let mut node_ports = BTreeMap::new();
    match svc.spec.kind.as_str() {
        "LoadBalancer" => {
            for i in &svc.status.load_balancer.ingress {
                if !i.ip.is_empty() {
                    addrs.push(i.ip.clone());
                } else if !i.hostname.is_empty() {
                    addrs.push(i.hostname.clone());
                }
            }
        }
        "NodePort" => {
            if let Some(selector) = svc.metadata.annotations.get(label::NODE_SELECTOR) {
                let selector: BTreeMap<String, String> =
                    serde_json::from_str(selector).unwrap_or_default();
                for p in &svc.spec.ports {
                    node_ports.insert(p.port, p.node_port);
                }
                for (_, n) in nodes {
                    let matches = selector
                        .iter()
                        .all(|(k, v)| n.metadata.labels.get(k) == Some(v));
                    let external = n
                        .status
                        .addresses
                        .iter()
                        .find(|a| a.kind == "ExternalIP" && !a.address.is_empty());
                    if let (true, Some(a)) = (matches, external) {
                        addrs.push(a.address.clone());
                    }
                }
            }
        }
        _ => {}
    }
    addrs.extend(svc.spec.external_ips.iter().cloned());
    (addrs, node_ports)
}

/// The gateways a Service labelled `topology.istio.io/network` stands for (none for others).
pub(crate) fn label_gateways(
    cluster: &str,
    object: &ObjectRef,
    svc: &Service,
    addresses: &[String],
    node_ports: &BTreeMap<u16, u16>,
    report: &mut ImportReport,
) -> Vec<LabelGateway> {
    let Some(network) = svc
        .metadata
        .labels
        .get(label::TOPOLOGY_NETWORK)
        .filter(|n| !n.is_empty())
    else {
        return Vec::new();
    };
    let mut port = DEFAULT_GATEWAY_PORT;
    if let Some(text) = svc.metadata.labels.get(label::GATEWAY_PORT) {
        match text.parse() {
            Ok(p) => port = p,
            Err(_) => report.infer(
                cluster,
                format!("gateway port of {object}"),
                DEFAULT_GATEWAY_PORT,
                format!("label {} = {text:?} is not a port: Istio's default (network.go, getGatewayDetails)", label::GATEWAY_PORT),
            ),
        }
    }
    let exposes = |p: u16| svc.spec.ports.iter().any(|sp| sp.port == p);
    let (mtls, hbone) = (exposes(port), exposes(HBONE_PORT));
    if !mtls && !hbone {
        report.skip(
            cluster,
            object,
            format!("labelled {} but exposes neither port {port} nor {HBONE_PORT}: no gateway (network.go, getGatewayDetails)", label::TOPOLOGY_NETWORK),
        );
        return Vec::new();
    }
    if addresses.is_empty() {
        report.skip(
            cluster,
            object,
            "a gateway Service without an external address (no load-balancer ingress, externalIPs or selected node): no gateway",
        );
        return Vec::new();
    }
    let mapped = |p: u16| node_ports.get(&p).copied().filter(|n| *n != 0).unwrap_or(p);
    addresses
        .iter()
        .map(|a| LabelGateway {
            network: network.clone(),
            address: a.clone(),
            port: if mtls { mapped(port) } else { 0 },
            hbone_port: if hbone { mapped(HBONE_PORT) } else { 0 },
            service: object.clone(),
        })
        .collect()
}
