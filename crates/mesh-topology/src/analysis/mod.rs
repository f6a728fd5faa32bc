//! The analysis of one mesh document under a set of failures: who is where, who reaches whom, and
//! every diagnostic. [`check`] is the analysis with nothing failed; `what_if` reuses it.
//!
//! Modules flow one way: [`reachability`] (who is where, who reaches whom) and [`text`] (how
//! diagnostics name things) are below every diagnostic family; this module runs the families.

mod cidr_overlaps;
mod consumption;
mod control_plane;
mod gateways;
mod global_vip;
mod meshnetworks;
mod ports;
mod reachability;
mod replication;
mod scope;
mod text;
mod topology;

use mesh_model::{Cluster, MeshDocument};

use crate::diagnostic::{Diagnostic, sort_diagnostics};
use crate::model_errors::model_diagnostic;
use crate::report::Report;
use crate::trust::trust_diagnostics;

pub(crate) use reachability::{Analysis, Conditions, Path, Reached};
pub(crate) use text::{capped_list, network_text};

/// Validates a whole mesh: every diagnostic, sorted by code then subjects, and the topology.
/// The document's own consistency errors (`MeshDocument::consistency_errors`: undefined
/// references, duplicates) are among them, as diagnostics; the rest is the analysis of the mesh
/// the document describes.
///
/// ```
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: demo}
/// spec:
///   clusters:
///   - {name: c1, network: n1, podCidrs: [10.0.0.0/16]}
///   - {name: c2, network: n2, controlPlane: c1, podCidrs: [10.0.0.0/20]}
///   links: [{networks: [n1, n2]}]
/// "#)?;
/// let report = mesh_topology::check(&doc);
/// assert_eq!(report.diagnostics[0].code.as_str(), "cidr-overlap");
/// assert!(report.has_errors());
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
pub fn check(doc: &MeshDocument) -> Report {
    check_with(doc, &CheckOptions::default())
}

/// How [`check_with`] checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The time to verify CA material at, unix seconds. `None` (the default): the CA material
    /// of replicated control planes is not verified, and a `trust-unverified` info says so.
    pub now: Option<i64>,
}

impl CheckOptions {
    /// Options that verify CA material at `now` (unix seconds, the caller's clock).
    pub fn at(now: i64) -> Self {
        Self { now: Some(now) }
    }
}

/// [`check`], with options: the time to verify the replicated control planes' CA material at
/// (with mesh-ca), for `trust-root-mismatch`.
///
/// ```
/// use mesh_topology::{CheckOptions, check_with};
/// let doc = mesh_model::MeshDocument::from_yaml(
///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: a}, {name: b}]\n",
/// )?;
/// // Two primaries, no CA material: trust cannot be verified.
/// let report = check_with(&doc, &CheckOptions::at(1_767_225_600));
/// assert_eq!(report.diagnostics[0].code.as_str(), "trust-unverified");
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
pub fn check_with(doc: &MeshDocument, options: &CheckOptions) -> Report {
    let none = Conditions::default();
    let mut analysis = Analysis::new(doc, &none);
    analysis.now = options.now;
    analysis.report()
}

impl<'a> Analysis<'a> {
    pub(crate) fn report(&self) -> Report {
        let mut d = Vec::new();
        self.model_diagnostics(&mut d);
        self.gateway_diagnostics(&mut d);
        self.cidr_diagnostics(&mut d);
        self.meshnetworks_diagnostics(&mut d);
        self.control_plane_diagnostics(&mut d);
        self.watch_diagnostics(&mut d);
        self.consumption_diagnostics(&mut d);
        self.replication_diagnostics(&mut d);
        self.scope_diagnostics(&mut d);
        self.global_vip_diagnostics(&mut d);
        self.port_diagnostics(&mut d);
        let primaries: Vec<&Cluster> = self
            .groups()
            .keys()
            .filter_map(|p| self.clusters.get(p).copied())
            .collect();
        d.extend(trust_diagnostics(&self.doc.spec, &primaries, self.now));
        sort_diagnostics(&mut d);
        Report {
            diagnostics: d,
            topology: self.topology(),
        }
    }

    fn model_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for e in self.doc.consistency_errors() {
            out.extend(model_diagnostic(self.doc, &e));
        }
    }
}
