//! `control-plane-not-primary`, `control-plane-unreachable` and `api-server-unreachable`.

use std::collections::BTreeSet;

use mesh_model::Cluster;

use super::reachability::{Analysis, Managed};
use super::text::network_text;
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    pub(super) fn control_plane_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let mut cycles: BTreeSet<Vec<&str>> = BTreeSet::new();
        for &c in self.clusters.values() {
            if let ChainEnd::Cycle(cycle) = self.chain_end(c) {
                cycles.insert(cycle);
            }
        }
        for cycle in &cycles {
            let ring: Vec<&str> = cycle.iter().chain(cycle.first()).copied().collect();
            let first = cycle[0];
            let others: Vec<&str> = cycle[1..].to_vec();
            out.push(Diagnostic::new(
                Code::ControlPlaneCycle,
                format!("controlPlane cycle: {}", ring.join(" → ")),
                cycle.iter().map(|c| Subject::Cluster((*c).to_owned())).collect(),
                format!("each of these clusters names the next as its controlPlane, so none of them is a primary: no istiod runs in any of {}, and neither they nor clusters managed by them get a control plane", cycle.join(", ")),
                format!("Make one of them a primary (e.g. remove controlPlane from cluster {first}) and set controlPlane of {} to it", others.join(", ")),
            ));
        }
        let in_cycle = |n: &str| cycles.iter().any(|c| c.contains(&n));
        for (&name, &c) in &self.clusters {
            match self.managed(c) {
                Managed::NotPrimary(..) if in_cycle(name) => {}
                Managed::NotPrimary(cp, cp_of_cp) => {
                    let (why, fix) = match self.chain_end(c) {
                        ChainEnd::Primary(p) => (
                            format!("cluster {cp} names {cp_of_cp} as its controlPlane"),
                            format!("Set controlPlane of cluster {name} to {p} (the primary its chain ends in), or make {cp} a primary"),
                        ),
                        ChainEnd::Cycle(cycle) => (
                            format!("cluster {cp} leads into the controlPlane cycle of {}", cycle.join(", ")),
                            format!("Set controlPlane of cluster {name} to a primary, or make {cp} a primary"),
                        ),
                        ChainEnd::Unknown => (
                            format!("cluster {cp} names {cp_of_cp} as its controlPlane, and that chain ends in no primary"),
                            format!("Set controlPlane of cluster {name} to a primary, or make {cp} a primary"),
                        ),
                    };
                    out.push(Diagnostic::new(
                        Code::ControlPlaneNotPrimary,
                        format!("cluster {name} is managed by cluster {cp}, which is itself a remote of {cp_of_cp}"),
                        vec![Subject::Cluster(name.to_owned()), Subject::Cluster(cp.to_owned())],
                        format!("Only a primary runs a control plane: {why}, so no istiod runs in {cp} to manage {name}"),
                        fix,
                    ));
                }
                Managed::Removed(cp) => out.push(Diagnostic::new(
                    Code::ControlPlaneUnreachable,
                    format!("workloads of cluster {name} cannot reach their control plane in cluster {cp}"),
                    vec![Subject::Cluster(name.to_owned()), Subject::Cluster(cp.to_owned())],
                    format!("cluster {cp}, which runs the control plane of {name}, is gone (failure)"),
                    format!("Run a control plane for {name} elsewhere (make it a primary, or point controlPlane at another primary)"),
                )),
                Managed::Remote(p) => {
                    if let Err(why) = self.control_plane_path(c, p) {
                        let (from, to) = (self.network_of_cluster(name), self.network_of_cluster(p));
                        out.push(Diagnostic::new(
                            Code::ControlPlaneUnreachable,
                            format!("workloads of cluster {name} cannot reach their control plane in cluster {p}"),
                            vec![
                                Subject::Cluster(name.to_owned()),
                                Subject::Cluster(p.to_owned()),
                                Subject::Network(from.to_owned()),
                                Subject::Network(to.to_owned()),
                            ],
                            why,
                            format!("Link {} to {}, or expose istiod of {p} through an east-west gateway of {} (a meshNetworks gateway with a resolvable address)", network_text(from), network_text(to), network_text(to)),
                        ));
                    }
                }
                Managed::Primary | Managed::Unknown => {}
            }
        }
        // A control plane reads the API server of every cluster it manages (itself included) and
        // of every cluster it watches (multi-primary: one remote secret each).
        let watched = self
            .clusters
            .values()
            .filter(|p| self.managed(p) == Managed::Primary)
            .flat_map(|p| {
                p.watches
                    .iter()
                    .filter_map(|w| self.clusters.get(w.as_str()).copied())
                    .filter(|w| self.primary_of(w) != Some(p.name.as_str()))
                    .map(|w| (p.name.as_str(), w))
            });
        let managed = self
            .clusters
            .values()
            .filter_map(|&c| self.primary_of(c).map(|p| (p, c)));
        for (p, c) in managed.chain(watched) {
            let name = c.name.as_str();
            if let Err(why) = self.api_server_path(p, c) {
                let mut subjects = vec![
                    Subject::Cluster(p.to_owned()),
                    Subject::Cluster(name.to_owned()),
                ];
                let fix = match &c.api_server {
                    Some(api) if !self.cond.api_servers_down.contains(name) => {
                        subjects.push(Subject::Network(self.network_of_cluster(p).to_owned()));
                        subjects.push(Subject::Network(self.network_of_cluster(name).to_owned()));
                        format!(
                            "Make the API server at {} reachable from {}: link the networks, add {} to its reachableFrom (and open the firewall), or expose it publicly",
                            api.address,
                            network_text(self.network_of_cluster(p)),
                            self.network_of_cluster(p)
                        )
                    }
                    _ => format!("Restore access to the API server of cluster {name}"),
                };
                out.push(Diagnostic::new(
                    Code::ApiServerUnreachable,
                    format!("the control plane in cluster {p} cannot reach the API server of cluster {name}"),
                    subjects,
                    format!("{why}. Without it istiod discovers no services or endpoints of {name}"),
                    fix,
                ));
            }
        }
    }

    /// Where following `controlPlane` from `c` ends: a primary, a cycle (its members from the
    /// least name on, in chain order), or a name that is no cluster.
    fn chain_end(&self, c: &'a Cluster) -> ChainEnd<'a> {
        let mut seen: Vec<&'a str> = vec![c.name.as_str()];
        let mut at = c;
        loop {
            let next = at.managing_control_plane().as_str();
            if next == at.name.as_str() {
                return ChainEnd::Primary(next);
            }
            if let Some(i) = seen.iter().position(|s| *s == next) {
                let mut cycle = seen[i..].to_vec();
                let least = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
                cycle.rotate_left(least);
                return ChainEnd::Cycle(cycle);
            }
            match self.clusters.get(next) {
                Some(n) => {
                    seen.push(next);
                    at = n;
                }
                None => return ChainEnd::Unknown,
            }
        }
    }

    /// Multi-primary: a primary that no other control plane watches, while some do watch others;
    /// the other primaries see none of its services or endpoints.
    pub(super) fn watch_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let primaries: Vec<&Cluster> = self
            .clusters
            .values()
            .copied()
            .filter(|c| self.managed(c) == Managed::Primary)
            .collect();
        let watchers: Vec<&&Cluster> = primaries.iter().filter(|p| !p.watches.is_empty()).collect();
        if watchers.is_empty() || primaries.len() < 2 {
            return;
        }
        for c in &primaries {
            let name = c.name.as_str();
            if watchers
                .iter()
                .any(|w| w.name.as_str() != name && w.watches.iter().any(|x| x.as_str() == name))
            {
                continue;
            }
            let others: Vec<&str> = watchers
                .iter()
                .map(|w| w.name.as_str())
                .filter(|w| *w != name)
                .collect();
            if others.is_empty() {
                continue;
            }
            out.push(Diagnostic::new(
                Code::ClusterNotWatched,
                format!("no other control plane watches cluster {name}"),
                std::iter::once(Subject::Cluster(name.to_owned())).chain(others.iter().map(|o| Subject::Cluster((*o).to_owned()))).collect(),
                format!(
                    "Control planes {} read other clusters through remote secrets, but none names cluster {name} (a remote secret's key is the cluster ID, which must equal that cluster's CLUSTER_ID / values.global.multiCluster.clusterName); their proxies get no endpoints of {name}",
                    others.join(", ")
                ),
                format!("Create a remote secret for {name} in the other primaries (istioctl create-remote-secret --name={name}), or make its cluster ID match the one the secrets name"),
            ));
        }
    }
}

/// Where a chain of `controlPlane` references ends.
enum ChainEnd<'a> {
    /// At this primary.
    Primary(&'a str),
    /// In this cycle.
    Cycle(Vec<&'a str>),
    /// At a name that is no cluster (or was removed).
    Unknown,
}
