//! `ambiguous-network-cidr` and `registry-in-several-networks`: MeshNetworks that Istio accepts but
//! resolves by map order or by the broadest range.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use mesh_model::NetworkEndpoints;

use super::reachability::Analysis;
use super::text::capped_list;
use crate::cidr::{overlap_extent, overlap_groups};
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    pub(super) fn meshnetworks_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let mut cidrs: Vec<(IpNet, &str)> = Vec::new();
        let mut registries: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, net) in &self.doc.spec.mesh_networks.networks {
            for ep in &net.endpoints {
                match ep {
                    // Plain IPs never match at runtime (N3); invalid ranges are V2's.
                    NetworkEndpoints::FromCidr(c) if c.contains('/') => {
                        if let Ok(p) = c.parse::<IpNet>() {
                            cidrs.push((p.trunc(), name));
                        }
                    }
                    NetworkEndpoints::FromRegistry(r) => {
                        registries.entry(r).or_default().insert(name);
                    }
                    _ => {}
                }
            }
        }
        let nets: Vec<IpNet> = cidrs.iter().map(|c| c.0).collect();
        for mut group in overlap_groups(&nets) {
            // istiod gives an address the network of its broadest containing range (rule N3):
            // every range of the group is inside the root.
            let (root, broad) = cidrs[group[0]];
            if group.iter().all(|&i| cidrs[i].1 == broad) {
                continue;
            }
            group.sort_unstable();
            let range = |i: usize| format!("fromCidr {} of network {}", cidrs[i].0, cidrs[i].1);
            let message = match group[..] {
                [a, b] => format!("{} overlaps {}", range(a), range(b)),
                _ => format!(
                    "{} fromCidr ranges overlap within {root}: {}",
                    group.len(),
                    capped_list(group.iter().map(|&i| range(i)))
                ),
            };
            let others: BTreeSet<&str> = group
                .iter()
                .map(|&i| cidrs[i].1)
                .filter(|&n| n != broad)
                .collect();
            let mut subjects: Vec<Subject> = Vec::with_capacity(2 * group.len());
            for &i in &group {
                subjects.push(Subject::Network(cidrs[i].1.to_owned()));
                subjects.push(Subject::Cidr(cidrs[i].0.to_string()));
            }
            out.push(Diagnostic::new(
                Code::AmbiguousNetworkCidr,
                message,
                subjects,
                format!(
                    "{}. istiod gives an address in that range the network of the broadest containing range (rule N3), so endpoints there are on network {broad}, never on {}",
                    overlap_extent(group.iter().map(|&i| cidrs[i].0), root),
                    capped_list(others.iter())
                ),
                "Make the fromCidr ranges of different networks disjoint (MeshNetworks requires it, but Istio does not check it: V7)",
            ));
        }
        for (registry, nets) in registries {
            if nets.len() < 2 {
                continue;
            }
            let list: Vec<&str> = nets.iter().copied().collect();
            let mut subjects = vec![Subject::Cluster(registry.to_owned())];
            subjects.extend(nets.iter().map(|n| Subject::Network((*n).to_owned())));
            out.push(Diagnostic::new(
                Code::RegistryInSeveralNetworks,
                format!("cluster {registry} is fromRegistry of several networks: {}", list.join(", ")),
                subjects,
                format!(
                    "A registry belongs to one network. istiod puts its endpoints on whichever network it meets first in map order (here {}), but creates its registryServiceName gateways for all of them (rule R3)",
                    list[0]
                ),
                format!("List cluster {registry} under fromRegistry of exactly one network"),
            ));
        }
    }
}
