//! `cidr-overlap`: pod and service ranges that overlap within a flat address space.

use std::collections::BTreeSet;

use ipnet::IpNet;

use super::reachability::{Analysis, NO_NETWORK};
use super::text::{capped_list, network_text};
use crate::cidr::{overlap_extent, overlap_groups};
use crate::diagnostic::{Code, Diagnostic, Subject};

/// A pod or service range of a cluster: (flat address space, range, cluster, `"pod"` or
/// `"service"`).
type CidrEntry<'a> = (usize, IpNet, &'a str, &'a str);

impl<'a> Analysis<'a> {
    pub(super) fn cidr_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let mut entries: Vec<CidrEntry<'_>> = Vec::new();
        for (&name, c) in &self.clusters {
            let Some(space) = self.spaces.space_of(self.network_of_cluster(name)) else {
                continue;
            };
            for p in &c.pod_cidrs {
                entries.push((space, p.trunc(), name, "pod"));
            }
            for p in &c.service_cidrs {
                entries.push((space, p.trunc(), name, "service"));
            }
        }
        entries.sort();
        // Clusters with no network are in every flat address space: their ranges join each
        // space's (a group of theirs alone is reported once, in their own space).
        let everywhere_space = self.spaces.space_of(NO_NETWORK);
        let everywhere: Vec<CidrEntry<'_>> = entries
            .iter()
            .filter(|e| Some(e.0) == everywhere_space)
            .copied()
            .collect();
        for space in entries.chunk_by(|a, b| a.0 == b.0) {
            let mut space = space.to_vec();
            let own = space.len();
            if Some(space[0].0) != everywhere_space {
                space.extend(&everywhere);
            }
            let nets: Vec<IpNet> = space.iter().map(|e| e.1).collect();
            // One diagnostic per group of overlapping ranges. Every range of a group overlaps its
            // root, so the group holds a pair to report exactly when it has two owners (cluster
            // and kind: one cluster's own list of pod, or service, ranges may nest) and a range
            // of this space (a group of no-network clusters alone is their own space's).
            for mut group in overlap_groups(&nets) {
                let root = space[group[0]].1;
                let owner = |i: usize| (space[i].2, space[i].3);
                if group.iter().all(|&i| i >= own)
                    || group.iter().all(|&i| owner(i) == owner(group[0]))
                {
                    continue;
                }
                group.sort_unstable();
                let members: Vec<&CidrEntry<'_>> = group.iter().map(|&i| &space[i]).collect();
                out.push(self.cidr_overlap(&members, root));
            }
        }
    }

    /// The `cidr-overlap` of one group of overlapping ranges (in index order), all inside `root`.
    pub(super) fn cidr_overlap(&self, group: &[&CidrEntry<'_>], root: IpNet) -> Diagnostic {
        let range = |e: &CidrEntry<'_>| format!("{} CIDR {} of cluster {}", e.3, e.1, e.2);
        let message = match group {
            [a, b] => format!("{} overlaps {}", range(a), range(b)),
            _ => format!(
                "{} CIDRs overlap within {root}: {}",
                group.len(),
                capped_list(group.iter().map(|e| range(e)))
            ),
        };
        let extent = overlap_extent(group.iter().map(|e| e.1), root);
        let clusters: BTreeSet<&str> = group.iter().map(|e| e.2).collect();
        let (explanation, fix) = if let [only] = clusters.iter().collect::<Vec<_>>()[..] {
            (
                format!(
                    "{extent}: inside cluster {only}, an address in that range is both a pod and a service address"
                ),
                format!("Give cluster {only} pod and service ranges that do not overlap"),
            )
        } else {
            let networks: BTreeSet<&str> =
                group.iter().map(|e| self.network_of_cluster(e.2)).collect();
            let unnetworked: BTreeSet<&str> = group
                .iter()
                .filter(|e| self.network_of_cluster(e.2) == NO_NETWORK)
                .map(|e| e.2)
                .collect();
            let how = if let [only] = networks.iter().collect::<Vec<_>>()[..] {
                let all = if group.len() == 2 { "both" } else { "all" };
                format!("{all} are on {}", network_text(only))
            } else if let [none] = unnetworked.iter().collect::<Vec<_>>()[..] {
                format!("cluster {none} names no network, so Istio treats it as on every network")
            } else if !unnetworked.is_empty() {
                format!(
                    "clusters {} name no network, so Istio treats them as on every network",
                    capped_list(unnetworked.iter())
                )
            } else {
                let listed: Vec<String> = networks.iter().map(|n| network_text(n)).collect();
                let listed = match &listed[..] {
                    [a, b] => format!("{a} and {b}"),
                    _ => capped_list(listed.iter()),
                };
                let space = self.spaces.members(self.network_of_cluster(group[0].2));
                format!(
                    "{listed} are linked (one flat address space: {})",
                    capped_list(space.iter())
                )
            };
            let what = match group {
                [a, b] => format!("move the {} CIDR of cluster {} out of {}", b.3, b.2, a.1),
                _ => format!("keep one of these ranges in {root} and move the others"),
            };
            (
                format!(
                    "{extent}, and {how}: traffic to an address in that range can land in the wrong cluster"
                ),
                format!(
                    "Give every cluster of a flat address space its own ranges: {what}, or separate the networks and connect them through gateways"
                ),
            )
        };
        let mut subjects: Vec<Subject> = Vec::with_capacity(2 * group.len());
        for e in group {
            subjects.push(Subject::Cluster(e.2.to_owned()));
            subjects.push(Subject::Cidr(e.1.to_string()));
        }
        Diagnostic::new(Code::CidrOverlap, message, subjects, explanation, fix)
    }
}
