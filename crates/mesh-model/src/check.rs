//! Consistency of a parsed document: what serde alone cannot see (duplicates, references to
//! clusters and networks that do not exist, Istio's MeshNetworks validation).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::document::MeshDocument;
use crate::id::{ClusterId, NetworkId};
use crate::meshnetworks::{MeshNetworksErrors, NetworkEndpoints};

/// A problem in a parsed document. Each names the path and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// Two clusters share a name.
    DuplicateCluster {
        /// The second one.
        path: String,
        /// The name.
        name: ClusterId,
        /// The first one.
        first: String,
    },
    /// Two services share `name.namespace`.
    DuplicateService {
        /// The second one.
        path: String,
        /// `name.namespace`.
        key: String,
        /// The first one.
        first: String,
    },
    /// A reference names no cluster of the document.
    UnknownCluster {
        /// Where the reference is.
        path: String,
        /// The name.
        name: String,
    },
    /// A reference names a network that is not defined (by MeshNetworks when it defines any
    /// network, else by some cluster's `network`).
    UnknownNetwork {
        /// Where the reference is.
        path: String,
        /// The name.
        name: String,
    },
    /// A link joins fewer than two distinct networks.
    DegenerateLink {
        /// Where the link is.
        path: String,
    },
    /// Istio's own validation rejects `spec.meshNetworks` (rules V1–V6).
    InvalidMeshNetworks(MeshNetworksErrors),
}

impl ModelError {
    /// Where in the document the problem is.
    pub fn path(&self) -> &str {
        match self {
            Self::DuplicateCluster { path, .. }
            | Self::DuplicateService { path, .. }
            | Self::UnknownCluster { path, .. }
            | Self::UnknownNetwork { path, .. }
            | Self::DegenerateLink { path } => path,
            Self::InvalidMeshNetworks(_) => "spec.meshNetworks",
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateCluster { path, name, first } => {
                write!(
                    f,
                    "{path}: cluster {:?} is already defined at {first}",
                    name.as_str()
                )
            }
            Self::DuplicateService { path, key, first } => {
                write!(f, "{path}: service {key:?} is already defined at {first}")
            }
            Self::UnknownCluster { path, name } => {
                write!(f, "{path}: {name:?} names no cluster of this mesh")
            }
            Self::UnknownNetwork { path, name } => {
                write!(f, "{path}: {name:?} names no network of this mesh")
            }
            Self::DegenerateLink { path } => {
                write!(f, "{path}: a link joins at least two different networks")
            }
            Self::InvalidMeshNetworks(e) => {
                write!(f, "spec.meshNetworks: Istio rejects this MeshNetworks: ")?;
                let msgs: Vec<String> = e.0.iter().map(ToString::to_string).collect();
                f.write_str(&msgs.join("; "))
            }
        }
    }
}

impl std::error::Error for ModelError {}

impl MeshDocument {
    /// The networks this document defines: MeshNetworks' keys when it has any, else the clusters'
    /// `network` values.
    pub fn defined_networks(&self) -> BTreeSet<&str> {
        let spec = &self.spec;
        if spec.mesh_networks.networks.is_empty() {
            spec.clusters
                .iter()
                .filter_map(|c| c.network.as_ref().map(NetworkId::as_str))
                .collect()
        } else {
            spec.mesh_networks
                .networks
                .keys()
                .map(String::as_str)
                .collect()
        }
    }

    /// Every consistency problem of the document, in document order. Empty when it is consistent.
    ///
    /// ```
    /// use mesh_model::{MeshDocument, ModelError};
    /// let doc = MeshDocument::from_yaml(
    ///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: a}, {name: a}]\n",
    /// )?;
    /// assert_eq!(doc.check()[0].to_string(), r#"spec.clusters[1].name: cluster "a" is already defined at spec.clusters[0]"#);
    /// # Ok::<(), mesh_model::DocumentError>(())
    /// ```
    pub fn check(&self) -> Vec<ModelError> {
        let spec = &self.spec;
        let mut errors = Vec::new();
        let mut clusters: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, c) in spec.clusters.iter().enumerate() {
            if let Some(first) = clusters.get(c.name.as_str()) {
                errors.push(ModelError::DuplicateCluster {
                    path: format!("spec.clusters[{i}].name"),
                    name: c.name.clone(),
                    first: format!("spec.clusters[{first}]"),
                });
            } else {
                clusters.insert(c.name.as_str(), i);
            }
        }
        let networks = self.defined_networks();
        let cluster_ref = |errors: &mut Vec<ModelError>, path: String, name: &str| {
            if !clusters.contains_key(name) {
                errors.push(ModelError::UnknownCluster {
                    path,
                    name: name.to_owned(),
                });
            }
        };
        let network_ref = |errors: &mut Vec<ModelError>, path: String, name: &NetworkId| {
            if !networks.contains(name.as_str()) {
                errors.push(ModelError::UnknownNetwork {
                    path,
                    name: name.to_string(),
                });
            }
        };
        for (i, c) in spec.clusters.iter().enumerate() {
            if let Some(n) = &c.network {
                network_ref(&mut errors, format!("spec.clusters[{i}].network"), n);
            }
            if let Some(cp) = &c.control_plane {
                cluster_ref(
                    &mut errors,
                    format!("spec.clusters[{i}].controlPlane"),
                    cp.as_str(),
                );
            }
            for (j, w) in c.watches.iter().enumerate() {
                cluster_ref(
                    &mut errors,
                    format!("spec.clusters[{i}].watches[{j}]"),
                    w.as_str(),
                );
            }
            if let Some(api) = &c.api_server {
                for (j, n) in api.reachable_from.iter().enumerate() {
                    network_ref(
                        &mut errors,
                        format!("spec.clusters[{i}].apiServer.reachableFrom[{j}]"),
                        n,
                    );
                }
            }
        }
        if let Err(e) = spec.mesh_networks.validate(true) {
            errors.push(ModelError::InvalidMeshNetworks(e));
        }
        for (name, net) in &spec.mesh_networks.networks {
            if NetworkId::new(name.as_str()).is_err() {
                errors.push(ModelError::UnknownNetwork {
                    path: format!("spec.meshNetworks.networks.{name}"),
                    name: name.clone(),
                });
            }
            for (j, ep) in net.endpoints.iter().enumerate() {
                if let NetworkEndpoints::FromRegistry(r) = ep {
                    cluster_ref(
                        &mut errors,
                        format!("spec.meshNetworks.networks.{name}.endpoints[{j}].fromRegistry"),
                        r,
                    );
                }
            }
        }
        for (i, link) in spec.links.iter().enumerate() {
            let distinct: BTreeSet<&NetworkId> = link.networks.iter().collect();
            if distinct.len() < 2 {
                errors.push(ModelError::DegenerateLink {
                    path: format!("spec.links[{i}]"),
                });
            }
            for (j, n) in link.networks.iter().enumerate() {
                network_ref(&mut errors, format!("spec.links[{i}].networks[{j}]"), n);
            }
        }
        let mut services = BTreeMap::new();
        for (i, s) in spec.services.iter().enumerate() {
            let key = s.key().to_string();
            if let Some(first) = services.get(&key) {
                errors.push(ModelError::DuplicateService {
                    path: format!("spec.services[{i}]"),
                    key: key.clone(),
                    first: format!("spec.services[{first}]"),
                });
            } else {
                services.insert(key, i);
            }
            for (j, c) in s.defined_in.iter().enumerate() {
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].definedIn[{j}]"),
                    c.as_str(),
                );
            }
            for c in s.external_addresses.keys() {
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].externalAddresses.{c}"),
                    c.as_str(),
                );
            }
            for (j, e) in s.endpoints.iter().enumerate() {
                cluster_ref(
                    &mut errors,
                    format!("spec.services[{i}].endpoints[{j}].cluster"),
                    e.cluster.as_str(),
                );
                if let Some(n) = &e.network {
                    network_ref(
                        &mut errors,
                        format!("spec.services[{i}].endpoints[{j}].network"),
                        n,
                    );
                }
            }
        }
        errors
    }
}
