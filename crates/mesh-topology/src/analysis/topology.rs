//! The topology of the report: control planes, networks and flat address spaces.

use std::collections::BTreeMap;

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
            })
            .collect();
        let kind = MeshKind::of(&control_planes);
        let spaces = self.spaces.spaces();
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
