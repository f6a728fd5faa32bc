//! `spec.meshConfig`: the parts of Istio's MeshConfig the mesh document carries (each field as
//! Istio's `mesh.proto` spells it). Absent fields are Istio's defaults.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::destination_rule::{LocalityLbSetting, ZoneAwareLbSetting};

/// `spec.meshConfig`.
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
        deserialize_with = "some_locality"
    )]
    pub locality_lb_setting: Option<LocalityLbSetting>,
    /// `zoneAwareLbSetting`; `None` = none (rule L4).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_zone_aware"
    )]
    pub zone_aware_lb_setting: Option<ZoneAwareLbSetting>,
}

/// Istio validates the mesh's setting as a DestinationRule's (`ValidateMeshConfig` →
/// `ValidateLocalityLbSetting`, `pkg/config/validation/agent/validation.go`).
fn some_locality<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LocalityLbSetting>, D::Error> {
    let l = LocalityLbSetting::deserialize(d)?;
    l.validate().map_err(de::Error::custom)?;
    Ok(Some(l))
}

fn some_zone_aware<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<ZoneAwareLbSetting>, D::Error> {
    let z = ZoneAwareLbSetting::deserialize(d)?;
    z.validate().map_err(de::Error::custom)?;
    Ok(Some(z))
}
