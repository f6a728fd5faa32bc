//! Which clusters' endpoints a proxy may be given, as the mesh config says
//! (`spec/service-scope.md`): cluster-local hosts (S1–S6, `cluster_local`), ambient service scope
//! (S21, `selector`) and Istio's Kubernetes Multi-Cluster Services feature flags (S14). The EDS
//! stage that applies them is mesh-eds' `scope`.

mod cluster_local;
mod selector;

use serde::{Deserialize, Serialize};

pub use cluster_local::{
    ClusterLocalHosts, ClusterLocalMatch, ClusterLocalSource, DEFAULT_DISCOVERY_ADDRESS,
    DefaultClusterLocal, ServiceSetting, ServiceSettingValues,
};
pub use selector::{
    AmbientScope, LabelSelector, LabelSelectorRequirement, SelectorError, ServiceScopeConfig,
    match_service_scope,
};

/// istiod's MCS feature flags as set (`pilot/pkg/features/experimental.go`), all default false.
/// [`McsFeatures::effective`] applies their dependencies (S14).
///
/// ```
/// use mesh_model::McsFeatures;
/// let only_cluster_local = McsFeatures { cluster_local: true, ..Default::default() };
/// assert_eq!(only_cluster_local.effective(), McsFeatures::default());
/// let all = McsFeatures { service_discovery: true, host: true, cluster_local: true };
/// assert_eq!(all.effective(), all);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McsFeatures {
    /// `ENABLE_MCS_SERVICE_DISCOVERY`: ServiceExport decides who sees a cluster's endpoints.
    #[serde(default)]
    pub service_discovery: bool,
    /// `ENABLE_MCS_HOST`: the `<svc>.<ns>.svc.clusterset.local` host (needs service discovery).
    #[serde(default)]
    pub host: bool,
    /// `ENABLE_MCS_CLUSTER_LOCAL`: `cluster.local` hosts stay in the caller's cluster (needs the
    /// host).
    #[serde(default)]
    pub cluster_local: bool,
}

impl McsFeatures {
    /// The values istiod acts on: `HOST = host ∧ SD`, `CL = cluster_local ∧ HOST` (S14).
    #[must_use]
    pub fn effective(self) -> Self {
        let host = self.host && self.service_discovery;
        Self {
            service_discovery: self.service_discovery,
            host,
            cluster_local: self.cluster_local && host,
        }
    }
}
