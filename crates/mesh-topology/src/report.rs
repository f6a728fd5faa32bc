//! What a check returns: the diagnostics and the topology they were found in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity};

/// The result of [`check`](crate::check): `{"diagnostics": [...], "topology": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Every finding, sorted by code, then subjects.
    pub diagnostics: Vec<Diagnostic>,
    /// How the mesh is built.
    pub topology: Topology,
}

impl Report {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The number of diagnostics of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

impl fmt::Display for Report {
    /// The topology in a few lines, every diagnostic, and a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.topology)?;
        for d in &self.diagnostics {
            writeln!(f, "{d}\n")?;
        }
        write!(
            f,
            "{}, {}, {} info",
            mesh_model::counted(self.count(Severity::Error), "error"),
            mesh_model::counted(self.count(Severity::Warning), "warning"),
            self.count(Severity::Info)
        )
    }
}

/// The shape of the whole mesh, per Istio's multicluster design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MeshKind {
    /// No control plane at all: no clusters.
    Empty,
    /// Clusters, but none is a primary (their `controlPlane` chains end in a cycle): no control
    /// plane runs.
    NoPrimary,
    /// One primary, no remotes.
    SingleCluster,
    /// Several primaries, each managing only itself (remote services through `.global` names).
    ReplicatedControlPlanes,
    /// Several primaries, each managing only itself and reading the others' API servers (Istio's
    /// multi-primary: remote secrets, one service registry per cluster in every control plane).
    MultiPrimary,
    /// One primary whose remotes share its flat address space.
    SingleControlPlaneVpn,
    /// One primary with remotes on networks joined only by gateways.
    SingleControlPlaneSplitHorizon,
    /// Several primaries, at least one with remotes; or one primary with remotes both in its
    /// flat address space and behind gateways.
    Mixed,
}

impl MeshKind {
    /// Classifies a mesh by its control planes.
    pub fn of(control_planes: &[ControlPlane]) -> Self {
        match control_planes {
            [] => Self::Empty,
            [one] => match one.kind {
                ControlPlaneKind::Primary => Self::SingleCluster,
                ControlPlaneKind::Vpn => Self::SingleControlPlaneVpn,
                ControlPlaneKind::SplitHorizon => Self::SingleControlPlaneSplitHorizon,
                ControlPlaneKind::Mixed => Self::Mixed,
            },
            many if many.iter().all(|c| c.kind == ControlPlaneKind::Primary) => {
                if many.iter().any(|c| !c.watches.is_empty()) {
                    Self::MultiPrimary
                } else {
                    Self::ReplicatedControlPlanes
                }
            }
            _ => Self::Mixed,
        }
    }

    /// The text form (`single-control-plane-vpn`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::NoPrimary => "no-primary",
            Self::SingleCluster => "single-cluster",
            Self::ReplicatedControlPlanes => "replicated-control-planes",
            Self::MultiPrimary => "multi-primary",
            Self::SingleControlPlaneVpn => "single-control-plane-vpn",
            Self::SingleControlPlaneSplitHorizon => "single-control-plane-split-horizon",
            Self::Mixed => "mixed",
        }
    }
}

/// What one control plane manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ControlPlaneKind {
    /// Only its own cluster.
    Primary,
    /// Remotes, all in its flat address space (over a VPN).
    Vpn,
    /// Remotes, all outside its flat address space, reached through gateways (split-horizon EDS).
    SplitHorizon,
    /// Remotes both in its flat address space and behind gateways.
    Mixed,
}

impl ControlPlaneKind {
    /// A few words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Primary => "a primary alone",
            Self::Vpn => "one control plane over a VPN",
            Self::SplitHorizon => "one control plane with split-horizon EDS",
            Self::Mixed => "one control plane, over a VPN and with split-horizon EDS",
        }
    }
}

/// One control plane (a primary) and the clusters it manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlane {
    /// The primary it runs in.
    pub cluster: String,
    /// The primary's network (`""` = none).
    pub network: String,
    /// What it manages.
    pub kind: ControlPlaneKind,
    /// The primary first, then its remotes, sorted.
    pub clusters: Vec<String>,
    /// Other clusters whose API servers it reads (multi-primary remote secrets), as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<String>,
}

/// One network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSummary {
    /// Its name (`""` = the implicit network of clusters that name none).
    pub name: String,
    /// Clusters whose workloads are on it, sorted.
    pub clusters: Vec<String>,
    /// Its resolved gateways, `address:port`, sorted.
    pub gateways: Vec<String>,
    /// Index into [`Topology::address_spaces`].
    pub address_space: usize,
}

/// How the mesh is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    /// The classification.
    pub kind: MeshKind,
    /// The Istio install guide this mesh follows, in its words: `multi-primary`, `primary-remote`,
    /// each possibly `on different networks`; otherwise the classification's own words.
    pub istio_model: String,
    /// The control planes, by primary name.
    pub control_planes: Vec<ControlPlane>,
    /// The networks, by name.
    pub networks: Vec<NetworkSummary>,
    /// The flat address spaces: networks linked together.
    pub address_spaces: Vec<Vec<String>>,
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "topology: {}", self.kind.as_str())?;
        if self.istio_model != self.kind.as_str() {
            writeln!(f, "  Istio install guide: {}", self.istio_model)?;
        }
        for cp in &self.control_planes {
            writeln!(
                f,
                "  control plane in {} ({}): {}",
                cp.cluster,
                cp.kind.describe(),
                cp.clusters.join(", ")
            )?;
            if !cp.watches.is_empty() {
                writeln!(f, "    watches (remote secrets): {}", cp.watches.join(", "))?;
            }
        }
        for n in &self.networks {
            let name = if n.name.is_empty() {
                "(default)"
            } else {
                &n.name
            };
            let gws = if n.gateways.is_empty() {
                "no gateway".to_owned()
            } else {
                format!("gateways {}", n.gateways.join(", "))
            };
            let shared: Vec<&str> = self
                .address_spaces
                .get(n.address_space)
                .into_iter()
                .flatten()
                .filter(|m| **m != n.name)
                .map(|m| {
                    if m.is_empty() {
                        "(default)"
                    } else {
                        m.as_str()
                    }
                })
                .collect();
            let space = if shared.is_empty() {
                "its own: other networks reach it only through gateways".to_owned()
            } else {
                format!(
                    "shared with {}: pods reach each other by IP",
                    shared.join(", ")
                )
            };
            writeln!(
                f,
                "  network {name}: clusters [{}], {gws}, flat address space {} ({space})",
                n.clusters.join(", "),
                n.address_space
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(kind: ControlPlaneKind) -> ControlPlane {
        ControlPlane {
            cluster: "c".into(),
            network: String::new(),
            kind,
            clusters: vec!["c".into()],
            watches: Vec::new(),
        }
    }

    #[test]
    fn classification() {
        use ControlPlaneKind::*;
        assert_eq!(MeshKind::of(&[]), MeshKind::Empty);
        assert_eq!(MeshKind::of(&[cp(Primary)]), MeshKind::SingleCluster);
        assert_eq!(MeshKind::of(&[cp(Vpn)]), MeshKind::SingleControlPlaneVpn);
        assert_eq!(
            MeshKind::of(&[cp(SplitHorizon)]),
            MeshKind::SingleControlPlaneSplitHorizon
        );
        assert_eq!(
            MeshKind::of(&[cp(Primary), cp(Primary)]),
            MeshKind::ReplicatedControlPlanes
        );
        assert_eq!(MeshKind::of(&[cp(Primary), cp(Vpn)]), MeshKind::Mixed);
        assert_eq!(MeshKind::of(&[cp(Mixed)]), MeshKind::Mixed);
        assert_eq!(
            serde_json::to_string(&MeshKind::SingleControlPlaneSplitHorizon).unwrap(),
            "\"single-control-plane-split-horizon\""
        );
    }
}
