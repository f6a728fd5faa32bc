//! `gateway-unresolved` and `gateway-shared-by-networks`.

use std::collections::{BTreeMap, BTreeSet};

use mesh_model::GatewaySource;

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
    }
}
