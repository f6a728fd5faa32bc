//! Which network an endpoint is on, and the mesh configuration that says so, by Istio's precedence
//! (`controller.go`, `Controller.Network`, first match wins):
//! 1. the workload's label `topology.istio.io/network` (kept on the endpoint);
//! 2. else the label on istiod's system namespace (`network.go`, `setNetworkFromNamespace`;
//!    kept as the cluster's `network`);
//! 3. else meshNetworks: the network listing this cluster `fromRegistry`, then the `fromCidr`
//!    ranges holding the address (`network.go`, `networkFromMeshNetworks`; kept as the document's
//!    `meshNetworks`, which mesh-model resolves by the same rules, N1–N3).
//!
//! The mesh configuration is the `istio` ConfigMap (`istio-<rev>` for a revision) of the system
//! namespace: `data.mesh` (MeshConfig) and `data.meshNetworks` (read as istiod reads it, P1).

use mesh_model::MeshNetworks;

use crate::error::ImportError;
use crate::identity::MeshConfig;
use crate::label;
use crate::object::{ConfigMap, Namespace, ObjectRef};

/// istiod's namespace when the dump shows none.
pub(crate) const SYSTEM_NAMESPACE: &str = "istio-system";

/// The `istio` ConfigMap's contents.
pub(crate) struct MeshConfigMap {
    pub object: ObjectRef,
    pub mesh: MeshConfig,
    pub mesh_networks: MeshNetworks,
}

/// The network label of the system namespace, with the namespace.
pub(crate) fn system_namespace_network<'a>(
    namespaces: &'a [(ObjectRef, Namespace)],
    system: &str,
) -> Option<(&'a ObjectRef, &'a str)> {
    namespaces
        .iter()
        .find(|(r, _)| r.name == system)
        .and_then(|(r, ns)| {
            ns.metadata
                .labels
                .get(label::TOPOLOGY_NETWORK)
                .filter(|n| !n.is_empty())
                .map(|n| (r, n.as_str()))
        })
}

/// The mesh configuration of the system namespace: `istio`, else the first `istio-<rev>`.
pub(crate) fn mesh_config(
    cluster: &str,
    config_maps: &[(ObjectRef, ConfigMap)],
    system: &str,
) -> Result<Option<MeshConfigMap>, ImportError> {
    let in_system = || config_maps.iter().filter(|(r, _)| r.namespace == system);
    let Some((object, cm)) = in_system().find(|(r, _)| r.name == "istio").or_else(|| {
        in_system().find(|(r, _)| r.name.starts_with("istio-") && !r.name.contains("ca-"))
    }) else {
        return Ok(None);
    };
    let mesh = match cm.data.get("mesh") {
        Some(text) => serde_saphyr::from_str::<MeshConfig>(text)
            .map_err(|e| ImportError::field(cluster, object, "data.mesh", e.to_string()))?,
        None => MeshConfig::default(),
    };
    let mesh_networks = match cm.data.get("meshNetworks") {
        Some(text) => MeshNetworks::from_yaml(text)
            .map_err(|e| ImportError::field(cluster, object, "data.meshNetworks", e.to_string()))?,
        None => MeshNetworks::default(),
    };
    Ok(Some(MeshConfigMap {
        object: object.clone(),
        mesh,
        mesh_networks,
    }))
}
