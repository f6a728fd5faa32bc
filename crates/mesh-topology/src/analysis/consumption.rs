//! `network-without-gateway` and `remote-endpoint-without-sidecar`: endpoints consumed from networks
//! that reach them only through a gateway.

use std::collections::{BTreeMap, BTreeSet};

use mesh_model::TlsMode;

use super::reachability::Analysis;
use super::text::network_text;
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    pub(super) fn consumption_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let clients: BTreeSet<&str> = self
            .served_clients()
            .iter()
            .map(|c| self.network_of_cluster(c.name.as_str()))
            .collect();
        let endpoints = self.published_endpoints();
        // Networks whose endpoints are consumed from outside their flat address space.
        let mut needs_gateway: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        // (service, network) -> (endpoints without sidecar, consumers through gateways)
        let mut no_sidecar: BTreeMap<(usize, &str), NoSidecar<'_>> = BTreeMap::new();
        // Per endpoint network (not per endpoint): the client networks that reach it only
        // through a gateway.
        let mut far_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for &(si, ei, net) in &endpoints {
            let far = far_of.entry(net).or_insert_with(|| {
                clients
                    .iter()
                    .copied()
                    .filter(|&b| !self.reaches_pods(b, net) && !self.partitioned(b, net))
                    .collect()
            });
            if far.is_empty() {
                continue;
            }
            if !needs_gateway.contains_key(net) {
                needs_gateway.insert(net, far.clone());
            }
            let e = &self.doc.spec.services[si].endpoints[ei];
            if e.tls_mode == TlsMode::Disabled {
                let entry = no_sidecar.entry((si, net)).or_default();
                let addrs: Vec<String> = e.addresses.iter().map(ToString::to_string).collect();
                entry
                    .0
                    .insert(format!("{} (cluster {})", addrs.join(", "), e.cluster));
                entry.1.extend(far.iter());
            }
        }
        for (net, far) in needs_gateway {
            if self.gateways.get(net).is_some_and(|g| !g.is_empty()) {
                continue;
            }
            let list: Vec<&str> = far.iter().copied().collect();
            let mut subjects = vec![Subject::Network(net.to_owned())];
            subjects.extend(far.iter().map(|n| Subject::Network((*n).to_owned())));
            out.push(Diagnostic::new(
                Code::NetworkWithoutGateway,
                format!("{} has no usable gateway, but clients on unlinked networks consume its endpoints", network_text(net)),
                subjects,
                format!(
                    "Clients on {} reach {} neither by IP (not linked) nor through a gateway (none resolved{}); modern istiod then sends them the endpoints directly and the connections fail, Istio 1.1 drops them (rule R8)",
                    list.join(", "),
                    network_text(net),
                    if self.cond.gateways_down.iter().any(|(n, _)| n == net) { ", or its gateways are down" } else { "" }
                ),
                format!("Add an east-west gateway to meshNetworks.networks.{net}.gateways (an address, or a registryServiceName with an external address), or link the networks"),
            ));
        }
        for ((si, net), (addrs, far)) in no_sidecar {
            let key = self.doc.spec.services[si].key().to_string();
            let addrs: Vec<String> = addrs.into_iter().collect();
            let far_list: Vec<&str> = far.iter().copied().collect();
            let mut subjects = vec![
                Subject::Service(key.clone()),
                Subject::Network(net.to_owned()),
            ];
            subjects.extend(far.iter().map(|n| Subject::Network((*n).to_owned())));
            out.push(Diagnostic::new(
                Code::RemoteEndpointWithoutSidecar,
                format!("endpoints of {key} without a sidecar on {} cannot be reached from {}", network_text(net), far_list.join(", ")),
                subjects,
                format!(
                    "{} {} tlsMode disabled; clients on {} reach {} only through its gateway, which accepts only Istio mTLS (SNI auto-passthrough), so these endpoints are left out",
                    addrs.join("; "),
                    if addrs.len() == 1 { "has" } else { "have" },
                    far_list.join(", "),
                    network_text(net)
                ),
                "Inject a sidecar into these workloads, or link the networks so clients reach them by IP",
            ));
        }
    }
}

/// Endpoints without a sidecar of one service on one network, and the networks that consume them
/// through gateways.
type NoSidecar<'a> = (BTreeSet<String>, BTreeSet<&'a str>);
