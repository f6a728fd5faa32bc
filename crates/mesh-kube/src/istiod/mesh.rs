//! `/debug/mesh`: the active `MeshConfig` (`pilot/pkg/xds/debug.go` `meshHandler` writes
//! `Env.Mesh()` through `config.ToJSON`, i.e. `protomarshal`: protobuf JSON, camelCase names, zero
//! values omitted). The document keeps its trust domain, trust domain aliases, the mesh ID
//! (`defaultConfig.meshId`) and the locality and scope fields it models (`localityLbSetting`,
//! `zoneAwareLbSetting`, `serviceSettings`, `serviceScopeConfigs`); every other field present is
//! listed as not read. MeshConfig holds no credential (CA addresses and certificate *paths* only).

use mesh_model::{MeshConfig, TrustDomain};
use serde_json::{Map, Value};

use super::error::IstiodError;
use super::json::{At, Unread};

/// What the document takes of the MeshConfig.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MeshFacts {
    pub trust_domain: Option<TrustDomain>,
    pub trust_domain_aliases: Vec<TrustDomain>,
    pub mesh_id: Option<String>,
    pub config: MeshConfig,
}

/// The MeshConfig fields the document models as `spec.meshConfig`.
const MODELLED: [&str; 5] = [
    "localityLbSetting",
    "rootNamespace",
    "zoneAwareLbSetting",
    "serviceSettings",
    "serviceScopeConfigs",
];

/// Reads `/debug/mesh`.
pub(super) fn read(root: At<'_>, unread: &mut Unread) -> Result<MeshFacts, IstiodError> {
    let mut f = root.object("$")?;
    let mut facts = MeshFacts::default();
    let td = f.string("trustDomain")?;
    if !td.is_empty() {
        facts.trust_domain = Some(TrustDomain::new(td).map_err(|e| {
            f.field("trustDomain")
                .invalid(&f.path_of("trustDomain"), td, e.to_string())
        })?);
    }
    for (path, alias) in f.strings("trustDomainAliases")? {
        facts
            .trust_domain_aliases
            .push(TrustDomain::new(alias).map_err(|e| root.invalid(&path, alias, e.to_string()))?);
    }
    let mut default_config = f
        .field("defaultConfig")
        .object(&f.path_of("defaultConfig"))?;
    let mesh_id = default_config.string("meshId")?;
    if !mesh_id.is_empty() {
        facts.mesh_id = Some(mesh_id.to_owned());
    }
    for name in default_config.unread() {
        *unread
            .0
            .entry("MeshConfig.defaultConfig (ProxyConfig)")
            .or_default()
            .entry(name.to_owned())
            .or_default() += 1;
    }
    // The modelled fields, validated as the document validates them (Istio's webhook rules).
    let mut modelled = Map::new();
    for key in MODELLED {
        let at = f.field(key);
        if !at.value.is_null() {
            modelled.insert(key.to_owned(), at.value.clone());
        }
    }
    facts.config = serde_path_to_error::deserialize(Value::Object(modelled)).map_err(|e| {
        IstiodError::Invalid {
            endpoint: root.endpoint,
            path: format!("$.{}", e.path()),
            message: e.inner().to_string(),
        }
    })?;
    unread.count("MeshConfig", &f);
    Ok(facts)
}
