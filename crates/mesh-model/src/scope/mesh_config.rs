//! The part of istiod's `meshConfig` that decides service scope (`spec/service-scope.md`):
//! `serviceSettings` (S1–S6) and `serviceScopeConfigs` (S21), as the mesh document carries it
//! (`spec.meshConfig`, and per primary `clusters[].meshConfig`).

use serde::{Deserialize, Serialize};

use super::cluster_local::{ClusterLocalHosts, ServiceSetting};
use super::selector::ServiceScopeConfig;
use crate::null::empty_if_null;

/// `meshConfig` fields about service scope, in Istio's names.
///
/// ```
/// use mesh_model::MeshConfig;
/// let m: MeshConfig = serde_json::from_str(
///     r#"{"serviceSettings": [{"settings": {"clusterLocal": true}, "hosts": ["*.infra.svc.cluster.local"]}]}"#)?;
/// assert!(m.cluster_local_hosts("cluster.local").is_cluster_local("db.infra.svc.cluster.local"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshConfig {
    /// `serviceSettings`: host patterns and whether they are cluster-local.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub service_settings: Vec<ServiceSetting>,
    /// `serviceScopeConfigs`: ambient multi-network service scope (S21).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub service_scope_configs: Vec<ServiceScopeConfig>,
}

impl MeshConfig {
    /// The cluster-local table istiod builds from this config for `domain_suffix` (S1–S4; the
    /// discovery address is Istio's default).
    pub fn cluster_local_hosts(&self, domain_suffix: &str) -> ClusterLocalHosts {
        ClusterLocalHosts::new(&self.service_settings, domain_suffix, None)
    }
}
