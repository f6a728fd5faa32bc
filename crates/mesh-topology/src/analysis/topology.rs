//! The topology of the report: control planes, networks and flat address spaces.

use std::collections::{BTreeMap, BTreeSet};

use super::reachability::Analysis;
use super::text::gateway_text;
use crate::report::{ControlPlane, MeshKind, NetworkSummary, Topology};

impl<'a> Analysis<'a> {
    pub(super) fn topology(&self) -> Topology {
        let groups = self.groups();
        let control_planes: Vec<ControlPlane> = groups
            .iter()
            .map(|(&p, members)| ControlPlane {
                cluster: p.to_owned(),
                network: self.network_of_cluster(p).to_owned(),
                kind: self.group_kind(p, members),
                clusters: members.iter().map(|m| (*m).to_owned()).collect(),
                watches: self
                    .clusters
                    .get(p)
                    .map(|c| c.watches.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let kind = if control_planes.is_empty() && !self.clusters.is_empty() {
            MeshKind::NoPrimary
        } else {
            MeshKind::of(&control_planes)
        };
        let spaces = self.spaces.spaces();
        // Networks that hold clusters, in separate flat address spaces: "on different networks".
        let spaces_count = {
            let used: BTreeSet<&str> = self.cluster_network.values().map(String::as_str).collect();
            spaces
                .iter()
                .filter(|s| s.iter().any(|n| used.contains(n)))
                .count()
        };
        let mut networks: BTreeMap<&str, NetworkSummary> = BTreeMap::new();
        for (i, space) in spaces.iter().enumerate() {
            for &n in space {
                networks.insert(
                    n,
                    NetworkSummary {
                        name: n.to_owned(),
                        clusters: Vec::new(),
                        gateways: self
                            .gateways
                            .get(n)
                            .map(|g| g.iter().map(gateway_text).collect())
                            .unwrap_or_default(),
                        address_space: i,
                    },
                );
            }
        }
        for (&c, n) in &self.cluster_network {
            if let Some(s) = networks.get_mut(n.as_str()) {
                s.clusters.push(c.to_owned());
            }
        }
        Topology {
            istio_model: istio_model(kind, &control_planes, spaces_count),
            kind,
            control_planes,
            networks: networks.into_values().collect(),
            address_spaces: spaces
                .into_iter()
                .map(|s| s.into_iter().map(str::to_owned).collect())
                .collect(),
        }
    }
}

/// The Istio install guide a mesh follows, in its words (istio.io "Install Multi-Primary",
/// "Install Primary-Remote", each also "on different networks"), else the classification's name.
fn istio_model(kind: MeshKind, control_planes: &[ControlPlane], spaces: usize) -> String {
    let watching = control_planes.iter().any(|c| !c.watches.is_empty());
    let with_remotes = control_planes.iter().any(|c| c.clusters.len() > 1);
    let base = match kind {
        MeshKind::MultiPrimary => "multi-primary",
        MeshKind::SingleControlPlaneVpn | MeshKind::SingleControlPlaneSplitHorizon => {
            "primary-remote"
        }
        MeshKind::Mixed if watching && with_remotes => "multi-primary and primary-remote",
        MeshKind::Mixed if !watching && control_planes.len() == 1 => "primary-remote",
        other => return other.as_str().to_owned(),
    };
    if spaces > 1 {
        format!("{base} on different networks")
    } else {
        base.to_owned()
    }
}
