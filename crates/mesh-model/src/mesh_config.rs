//! `spec.meshConfig`: the parts of Istio's MeshConfig the mesh document carries (each field as
//! Istio's `mesh.proto` spells it). Absent fields are Istio's defaults.

use serde::{Deserialize, Serialize};

use crate::destination_rule::{LocalityLbSetting, ZoneAwareLbSetting, validated};

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
}
