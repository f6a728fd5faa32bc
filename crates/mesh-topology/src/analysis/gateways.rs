//! `gateway-unresolved`, `gateway-shared-by-networks` and `gateway-no-auto-passthrough`.

use std::collections::{BTreeMap, BTreeSet};

use mesh_model::{ClusterId, GatewaySource};

use super::reachability::Analysis;
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    pub(super) fn gateway_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let resolved = self.doc.spec.gateway_candidates().0;
        for u in &self.unresolved {
            let mut subjects = vec![
                Subject::Gateway(u.name.clone()),
                Subject::Network(u.network.clone()),
            ];
            let message = match &u.source {
                GatewaySource::RegistryService {
                    network,
                    index,
                    cluster,
                    ..
                } => {
                    subjects.push(Subject::Cluster(cluster.to_string()));
                    // The same gateway entry, looked up in the network's other registries.
                    let elsewhere: BTreeSet<String> = resolved
                        .iter()
                        .filter_map(|(_, s)| match s {
                            GatewaySource::RegistryService {
                                network: n,
                                index: i,
                                cluster: c,
                                ..
                            } if n == network && i == index => Some(c.to_string()),
                            _ => None,
                        })
                        .collect();
                    let elsewhere = if elsewhere.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (it resolves in cluster {})",
                            elsewhere.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    };
                    format!(
                        "gateway {} of network {} has no external address in cluster {cluster}{elsewhere}",
                        u.name, u.network
                    )
                }
                _ => format!(
                    "gateway {} of network {} resolves to no address",
                    u.name, u.network
                ),
            };
            out.push(Diagnostic::new(
                Code::GatewayUnresolved,
                message,
                subjects,
                format!("{}: {}", u.source, u.reason),
                "Give the hostname an answer under spec.dns, or give the gateway service an external \
                 address (spec.services[].externalAddresses) in a cluster the network lists with \
                 fromRegistry, or use an IP address",
            ));
        }
        let mut by_address: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (net, gws) in &self.gateways {
            for g in gws {
                by_address.entry(&g.address).or_default().insert(net);
            }
        }
        for (address, nets) in by_address {
            if nets.len() < 2 {
                continue;
            }
            let mut subjects = vec![Subject::Gateway(address.to_owned())];
            subjects.extend(nets.iter().map(|n| Subject::Network((*n).to_owned())));
            let list: Vec<&str> = nets.iter().copied().collect();
            out.push(Diagnostic::new(
                Code::GatewaySharedByNetworks,
                format!(
                    "gateway address {address} serves several networks: {}",
                    list.join(", ")
                ),
                subjects,
                "Each network's gateway admits traffic into that network; one address listed for \
                 several networks sends traffic meant for one of them to the other. Istio does not \
                 check this (MeshNetworks V7)",
                "Give each network its own east-west gateway, or merge the networks",
            ));
        }
        self.auto_passthrough_diagnostics(out);
    }

    /// A gateway admits cross-network mTLS only through a Gateway server with
    /// `tls.mode: AUTO_PASSTHROUGH` on its port (Istio's `samples/multicluster/
    /// expose-services.yaml`; without it the east-west gateway has no listener for SNI
    /// `outbound_.…` traffic). Only clusters whose documents record that Gateways were read
    /// (`autoPassthrough` present) say anything: a gateway discovered in a registry is looked up in
    /// that cluster, a MeshNetworks address gateway in every cluster of its network, and the
    /// warning needs all of them to record Gateways and none to have the server.
    fn auto_passthrough_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let clusters = &self.doc.spec.clusters;
        for (net, gws) in &self.gateways {
            for g in gws {
                if g.port == 0 {
                    continue;
                }
                let homes: Vec<&mesh_model::Cluster> = match &g.cluster {
                    Some(c) => clusters.iter().filter(|x| &x.name == c).collect(),
                    None => clusters
                        .iter()
                        .filter(|x| {
                            self.cluster_network
                                .get(x.name.as_str())
                                .map(String::as_str)
                                == Some(net.as_str())
                        })
                        .collect(),
                };
                let Some(servers) = homes
                    .iter()
                    .map(|c| c.auto_passthrough.as_ref())
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
                if homes.is_empty() || servers.iter().any(|v| v.iter().any(|s| s.port == g.port)) {
                    continue;
                }
                let names: Vec<&ClusterId> = homes.iter().map(|c| &c.name).collect();
                let list: Vec<String> = names.iter().map(ToString::to_string).collect();
                let mut subjects = vec![
                    Subject::Gateway(g.address.clone()),
                    Subject::Network(net.clone()),
                ];
                subjects.extend(list.iter().cloned().map(Subject::Cluster));
                out.push(Diagnostic::new(
                    Code::GatewayNoAutoPassthrough,
                    format!(
                        "gateway {}:{} of network {net} has no AUTO_PASSTHROUGH Gateway server on port {} in cluster {}",
                        g.address,
                        g.port,
                        g.port,
                        list.join(", ")
                    ),
                    subjects,
                    "Clients on other networks reach this network's endpoints through the gateway \
                     with mTLS passed through by SNI; the gateway proxy opens that listener only for \
                     a networking.istio.io Gateway server with tls.mode AUTO_PASSTHROUGH on the port. \
                     The cluster's Gateways were read and none has it, so cross-network requests to \
                     this network fail at the gateway",
                    "Apply the east-west Gateway (Istio's samples/multicluster/expose-services.yaml: \
                     port 15443, tls.mode AUTO_PASSTHROUGH, hosts *.local) selecting the gateway's pods",
                ));
            }
        }
    }
}
