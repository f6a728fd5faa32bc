//! `spec.meshConfig` (and a primary's own `clusters[].meshConfig`): the parts of Istio's
//! MeshConfig the mesh document carries, each field as Istio's `mesh.proto` spells it: locality
//! load balancing (`localityLbSetting`, `zoneAwareLbSetting`, rules L4–L7) and service scope
//! (`serviceSettings` S1–S6, `serviceScopeConfigs` S21). Absent fields are Istio's defaults.

use serde::{Deserialize, Serialize};

use crate::destination_rule::{LocalityLbSetting, ZoneAwareLbSetting, validated};
use crate::null::empty_if_null;
use crate::scope::{ClusterLocalHosts, ServiceScopeConfig, ServiceSetting};

/// `spec.meshConfig`. Istio validates the mesh's settings as a DestinationRule's
/// (`ValidateMeshConfig` → `ValidateLocalityLbSetting`, `ValidateZoneAwareLbSetting`,
/// `pkg/config/validation/agent/validation.go`).
///
/// ```
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: m}
/// spec:
///   meshConfig:
///     localityLbSetting: {failover: [{from: us-east, to: eu-west}]}
/// "#)?;
/// assert_eq!(doc.spec.mesh_config.locality_lb_setting.unwrap().failover[0].to, "eu-west");
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeshConfig {
    /// `localityLbSetting`; `None` = Istio's default, `{enabled: true}` (rule L4).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub locality_lb_setting: Option<LocalityLbSetting>,
    /// `zoneAwareLbSetting`; `None` = none (rule L4).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub zone_aware_lb_setting: Option<ZoneAwareLbSetting>,
    /// `serviceSettings`: host patterns and whether they are cluster-local (S1–S6).
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
    /// `rootNamespace`: where PeerAuthentications are mesh-wide; `None` = `istio-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_namespace: Option<String>,
}

impl MeshConfig {
    /// The root namespace: `rootNamespace`, else Istio's default `istio-system`.
    pub fn root_namespace(&self) -> &str {
        self.root_namespace
            .as_deref()
            .unwrap_or(crate::peer_authentication::DEFAULT_ROOT_NAMESPACE)
    }

    /// The cluster-local table istiod builds from this config for `domain_suffix` (S1–S4; the
    /// discovery address is Istio's default).
    ///
    /// ```
    /// use mesh_model::MeshConfig;
    /// let m: MeshConfig = serde_json::from_str(
    ///     r#"{"serviceSettings": [{"settings": {"clusterLocal": true}, "hosts": ["*.infra.svc.cluster.local"]}]}"#)?;
    /// assert!(m.cluster_local_hosts("cluster.local").is_cluster_local("db.infra.svc.cluster.local"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn cluster_local_hosts(&self, domain_suffix: &str) -> ClusterLocalHosts {
        ClusterLocalHosts::new(&self.service_settings, domain_suffix, None)
    }
}
