//! The scope stage, before split-horizon: which of a service's endpoint shards, and which of
//! their endpoints, a proxy is given at all (rules S7–S24 of `spec/service-scope.md`, read from
//! `pilot/pkg/xds/endpoints/endpoint_builder.go`: `snapshotShards`, `filterIstioEndpoint`).
//!
//! A [`ServiceScope`] is resolved once per service (cluster-local S1–S6 through mesh-model's
//! [`ClusterLocalHosts`], node-local S10, MCS S14–S17, ambient S21–S23) and asked per endpoint
//! ([`ServiceScope::admits`]); the answer depends on the proxy only through its cluster id (and
//! its node, for node-local services), so proxy classes that differ in nothing else share it. A
//! service with no scope settings ([`ServiceScope::global`]) admits every endpoint: the stage is
//! then the identity and the output is exactly split-horizon's.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use mesh_model::{AmbientScope, ClusterId, ClusterLocalHosts, ClusterLocalMatch, McsFeatures};

use crate::input::{EdsEndpoint, ProxyClass};

/// The registry a shard comes from (`ShardKey.Provider`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// A cluster's Kubernetes registry (`Kubernetes/<cluster>`).
    #[default]
    Kubernetes,
    /// The ServiceEntry / WorkloadEntry store (`External/<istiod's cluster>`, S13): its endpoints
    /// carry no MCS policy.
    External,
}

/// An endpoint shard's key `{Provider, Cluster}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardKey {
    /// The registry.
    pub provider: Provider,
    /// The registry's cluster id; `None` = `""`.
    pub cluster: Option<ClusterId>,
}

/// What the scope stage reads of a proxy: its cluster id after `--clusterAliases` (S7; `None` =
/// not sent) and its node name (S10).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeProxy {
    /// `ISTIO_META_CLUSTER_ID`, aliased.
    pub cluster: Option<ClusterId>,
    /// The proxy's node name (`""` = unknown).
    pub node_name: String,
}

impl ScopeProxy {
    /// What the scope stage reads of a proxy class: its cluster and node.
    pub fn of(class: &ProxyClass) -> Self {
        Self {
            cluster: class.cluster.clone(),
            node_name: class.node_name.clone(),
        }
    }

    /// Whether `class` is this proxy (as [`ScopeProxy::of`] would say, without building one).
    pub fn cmp_class(&self, class: &ProxyClass) -> std::cmp::Ordering {
        (self.cluster.as_ref(), self.node_name.as_str())
            .cmp(&(class.cluster.as_ref(), class.node_name.as_str()))
    }
}

/// How the service's name is reached with MCS on (S15, S17).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mcs {
    /// `ENABLE_MCS_SERVICE_DISCOVERY` off: every endpoint is discoverable everywhere.
    Off,
    /// Service discovery on: a Kubernetes endpoint of cluster X is discoverable outside X iff
    /// [`Mcs::discoverable_everywhere`] says so; otherwise only from X (S16).
    On {
        /// `<svc>.<ns>.svc.clusterset.local` (true) or another host.
        clusterset: bool,
        /// `ENABLE_MCS_CLUSTER_LOCAL` in effect (S14): cluster.local hosts stay in their cluster.
        cluster_local_flag: bool,
        /// Clusters holding a ServiceExport of the service.
        exported: BTreeSet<ClusterId>,
        /// Clusters holding a ServiceImport with a valid IP (read for clusterset hosts only).
        imported: BTreeSet<ClusterId>,
    },
}

impl Mcs {
    /// Whether cluster `x`'s Kubernetes endpoints are `AlwaysDiscoverable` (S15), or why not.
    pub fn discoverable_everywhere(&self, x: Option<&ClusterId>) -> Result<(), McsReason> {
        let Self::On {
            clusterset,
            cluster_local_flag,
            exported,
            imported,
        } = self
        else {
            return Ok(());
        };
        let exports = x.is_some_and(|x| exported.contains(x));
        if *clusterset {
            if !x.is_some_and(|x| imported.contains(x)) {
                return Err(McsReason::NoImport);
            }
            return if exports {
                Ok(())
            } else {
                Err(McsReason::NotExported)
            };
        }
        if *cluster_local_flag {
            Err(McsReason::ClusterLocalFlag)
        } else if exports {
            Ok(())
        } else {
            Err(McsReason::NotExported)
        }
    }
}

/// Why a cluster's endpoints are discoverable from that cluster only (S15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum McsReason {
    /// The cluster holds no ServiceExport of the service.
    NotExported,
    /// A `cluster.local` host under `ENABLE_MCS_CLUSTER_LOCAL`.
    ClusterLocalFlag,
    /// A `clusterset.local` host, and the cluster holds no ServiceImport (no synthetic service).
    NoImport,
}

/// What the stage decided about a service, once for every proxy.
///
/// ```
/// use mesh_eds::{ScopeInput, ScopeProxy, ServiceScope, ShardKey};
/// use mesh_model::ClusterLocalHosts;
/// let hosts = ClusterLocalHosts::new(&[], "cluster.local", None);
/// let scope = ServiceScope::resolve(&ScopeInput {
///     hostname: "kube-dns.kube-system.svc.cluster.local",
///     ..ScopeInput::new(&hosts)
/// });
/// let west = ShardKey { cluster: Some("west".parse()?), ..Default::default() };
/// let east = ScopeProxy { cluster: Some("east".parse()?), ..Default::default() };
/// let why = scope.admits(&east, &west, west.cluster.as_ref(), "").unwrap_err();
/// assert_eq!(why.to_string(), "cluster-local by default: kube-system (S1): only the proxy's cluster east (S8)");
/// # Ok::<(), mesh_model::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceScope {
    /// The entry that decided whether the host is cluster-local (S5); `None` = nothing matched.
    pub cluster_local: Option<ClusterLocalMatch>,
    /// `internalTrafficPolicy: Local` (S10).
    pub node_local: bool,
    /// MCS discoverability (S15–S17).
    pub mcs: Mcs,
    /// The ambient ServiceInfo scope EDS sees (S22–S24); `None` = none consulted.
    pub ambient: Option<AmbientScope>,
    /// Whether the service exists for proxies (S17: a clusterset host without MCS host support or
    /// without any ServiceImport does not).
    pub exists: bool,
}

/// What resolves a [`ServiceScope`]: the service's host and settings.
#[derive(Debug, Clone, Copy)]
pub struct ScopeInput<'a> {
    /// The service hostname (`foo.ns.svc.cluster.local`).
    pub hostname: &'a str,
    /// The cluster-local table of the mesh config (S1–S5).
    pub cluster_local_hosts: &'a ClusterLocalHosts,
    /// `internalTrafficPolicy: Local`.
    pub node_local: bool,
    /// The MCS flags as set; their dependencies are applied here (S14).
    pub mcs: McsFeatures,
    /// Clusters with a ServiceExport of the service.
    pub exports: &'a BTreeSet<ClusterId>,
    /// Clusters with a ServiceImport (clusterset hosts only); `None` = S17's default: every
    /// cluster in `shard_clusters` when the service is exported somewhere, else none.
    pub imports: Option<&'a BTreeSet<ClusterId>>,
    /// The clusters that have a shard of the service (for the `imports` default).
    pub shard_clusters: &'a BTreeSet<ClusterId>,
    /// With `AMBIENT_ENABLE_MULTI_NETWORK`, the ServiceInfo's scope when one exists (S21–S23);
    /// `None` otherwise.
    pub ambient: Option<AmbientScope>,
}

/// An empty set, for [`ScopeInput::new`].
static NO_CLUSTERS: BTreeSet<ClusterId> = BTreeSet::new();

impl<'a> ScopeInput<'a> {
    /// No host, no settings beyond `cluster_local_hosts`: fill in the rest.
    pub fn new(cluster_local_hosts: &'a ClusterLocalHosts) -> Self {
        Self {
            hostname: "",
            cluster_local_hosts,
            node_local: false,
            mcs: McsFeatures::default(),
            exports: &NO_CLUSTERS,
            imports: None,
            shard_clusters: &NO_CLUSTERS,
            ambient: None,
        }
    }
}

/// `.clusterset.local`, the MCS ClusterSet domain.
const CLUSTERSET: &str = ".clusterset.local";

impl ServiceScope {
    /// A service with no scope settings: every endpoint of every cluster is admitted (S11).
    pub fn global() -> Self {
        Self {
            cluster_local: None,
            node_local: false,
            mcs: Mcs::Off,
            ambient: None,
            exists: true,
        }
    }

    /// The scope of one service (S5, S10, S14–S17, S23).
    pub fn resolve(input: &ScopeInput<'_>) -> Self {
        let flags = input.mcs.effective();
        let clusterset = input.hostname.ends_with(CLUSTERSET);
        let default_imports;
        let imported = match input.imports {
            Some(i) => i,
            None => {
                default_imports = if input.exports.is_empty() {
                    BTreeSet::new()
                } else {
                    input.shard_clusters.clone()
                };
                &default_imports
            }
        };
        // S17: the clusterset host exists only with MCS host support and some ServiceImport.
        let exists = !clusterset || (flags.host && !imported.is_empty());
        let mcs = if flags.service_discovery {
            Mcs::On {
                clusterset,
                cluster_local_flag: flags.cluster_local,
                exported: input.exports.clone(),
                imported: if clusterset {
                    imported.clone()
                } else {
                    BTreeSet::new()
                },
            }
        } else {
            Mcs::Off
        };
        Self {
            cluster_local: input.cluster_local_hosts.decide(input.hostname),
            node_local: input.node_local,
            mcs,
            ambient: input.ambient,
            exists,
        }
    }

    /// `IsClusterLocal(hostname)` (S5).
    pub fn is_cluster_local(&self) -> bool {
        self.cluster_local.as_ref().is_some_and(|m| m.cluster_local)
    }

    /// Whether the stage can drop anything: `false` for [`ServiceScope::global`] and any scope
    /// equivalent to it, whose output is split-horizon's alone.
    pub fn restricts(&self) -> bool {
        !self.exists
            || self.is_cluster_local()
            || self.node_local
            || !matches!(self.mcs, Mcs::Off)
            || self.ambient.is_some_and(|a| a != AmbientScope::Global)
    }

    /// Whether proxies of different clusters (or nodes) may see different endpoints of the
    /// service: the views of such a service cannot be shared across clusters.
    pub fn depends_on_proxy(&self) -> bool {
        self.exists && self.restricts()
    }

    /// Whether shard `shard` is read at all for `proxy` (S8, S17).
    pub fn admits_shard(&self, proxy: &ScopeProxy, shard: &ShardKey) -> Result<(), Exclusion> {
        if !self.exists {
            return Err(Exclusion::ServiceAbsent);
        }
        if (self.is_cluster_local() || self.node_local) && shard.cluster != proxy.cluster {
            return Err(self.local_exclusion(proxy, "S8"));
        }
        Ok(())
    }

    fn local_exclusion(&self, proxy: &ScopeProxy, rule: &'static str) -> Exclusion {
        match &self.cluster_local {
            Some(m) if m.cluster_local => Exclusion::ClusterLocal {
                matched: m.clone(),
                proxy_cluster: proxy.cluster.clone(),
                rule,
            },
            _ => Exclusion::NodeLocal {
                proxy_node: proxy.node_name.clone(),
            },
        }
    }

    /// Whether one endpoint of `shard` (its `IstioEndpoint` cluster `endpoint_cluster`, on node
    /// `endpoint_node`) reaches `proxy` (S8–S10, S15–S16, S20, S24: every filter must pass).
    pub fn admits(
        &self,
        proxy: &ScopeProxy,
        shard: &ShardKey,
        endpoint_cluster: Option<&ClusterId>,
        endpoint_node: &str,
    ) -> Result<(), Exclusion> {
        self.admits_shard(proxy, shard)?;
        if self.is_cluster_local() && endpoint_cluster != proxy.cluster.as_ref() {
            return Err(self.local_exclusion(proxy, "S9"));
        }
        if self.node_local && endpoint_node != proxy.node_name {
            return Err(Exclusion::NodeLocal {
                proxy_node: proxy.node_name.clone(),
            });
        }
        // The policy is stamped by the shard's registry from its own cluster's state (S15).
        if shard.provider == Provider::Kubernetes
            && let Err(reason) = self.mcs.discoverable_everywhere(shard.cluster.as_ref())
        {
            // S16: same cluster, or either side empty.
            let same = endpoint_cluster.is_none()
                || proxy.cluster.is_none()
                || endpoint_cluster == proxy.cluster.as_ref();
            if !same {
                return Err(Exclusion::Mcs {
                    cluster: endpoint_cluster.cloned(),
                    reason,
                });
            }
        }
        if self.ambient.is_some_and(|a| a != AmbientScope::Global)
            && endpoint_cluster != proxy.cluster.as_ref()
        {
            return Err(Exclusion::AmbientLocal {
                proxy_cluster: proxy.cluster.clone(),
            });
        }
        Ok(())
    }

    /// The endpoints of one shard that reach `proxy`, in order: borrowed as they are when the
    /// stage admits all of them (always, for a scope that does not [restrict](Self::restricts)).
    /// An endpoint without a cluster is the shard's (`IstioEndpoint.Locality.ClusterID` of a
    /// Kubernetes endpoint is its registry's).
    pub fn filter<'e>(
        &self,
        proxy: &ScopeProxy,
        shard: &ShardKey,
        endpoints: &'e [EdsEndpoint],
    ) -> Cow<'e, [EdsEndpoint]> {
        if !self.restricts() {
            return Cow::Borrowed(endpoints);
        }
        let keep = |e: &EdsEndpoint| {
            let cluster = e.cluster.as_ref().or(shard.cluster.as_ref());
            self.admits(proxy, shard, cluster, &e.node_name).is_ok()
        };
        if endpoints.iter().all(keep) {
            Cow::Borrowed(endpoints)
        } else {
            Cow::Owned(endpoints.iter().filter(|e| keep(e)).cloned().collect())
        }
    }

    /// The endpoints of a service, each with its shard's cluster (Kubernetes shards), that
    /// reach `proxy`, in order: what the EDS pipeline hands split-horizon.
    pub fn visible<'e>(
        &self,
        proxy: &ScopeProxy,
        endpoints: impl IntoIterator<Item = (Option<&'e ClusterId>, &'e EdsEndpoint)>,
    ) -> Vec<EdsEndpoint> {
        endpoints
            .into_iter()
            .filter(|(shard, e)| {
                let key = ShardKey {
                    provider: Provider::Kubernetes,
                    cluster: shard.cloned(),
                };
                let cluster = e.cluster.as_ref().or(*shard);
                self.admits(proxy, &key, cluster, &e.node_name).is_ok()
            })
            .map(|(_, e)| e.clone())
            .collect()
    }
}

impl Default for ServiceScope {
    fn default() -> Self {
        Self::global()
    }
}

/// Why the scope stage withholds an endpoint (or a whole shard) from a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exclusion {
    /// The service does not exist for proxies (S17).
    ServiceAbsent,
    /// A cluster-local service: only the proxy's own cluster (S8 for the shard, S9 for the
    /// endpoint).
    ClusterLocal {
        /// What made it cluster-local.
        matched: ClusterLocalMatch,
        /// The proxy's cluster.
        proxy_cluster: Option<ClusterId>,
        /// `S8` or `S9`.
        rule: &'static str,
    },
    /// A node-local service: only the proxy's own node (S10).
    NodeLocal {
        /// The proxy's node.
        proxy_node: String,
    },
    /// MCS: discoverable from its own cluster only (S15, S16).
    Mcs {
        /// The endpoint's cluster.
        cluster: Option<ClusterId>,
        /// Why.
        reason: McsReason,
    },
    /// Ambient multi-network: a non-GLOBAL service gets endpoints from the proxy's cluster only
    /// (S24).
    AmbientLocal {
        /// The proxy's cluster.
        proxy_cluster: Option<ClusterId>,
    },
}

impl Exclusion {
    /// The rule that decided.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::ServiceAbsent => "S17",
            Self::ClusterLocal { rule, .. } => rule,
            Self::NodeLocal { .. } => "S10",
            Self::Mcs { .. } => "S16",
            Self::AmbientLocal { .. } => "S24",
        }
    }
}

fn cluster_name(c: Option<&ClusterId>) -> &str {
    c.map_or("\"\"", |c| c.as_str())
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServiceAbsent => f.write_str(
                "the clusterset.local service does not exist: no MCS host support or no ServiceImport (S17)",
            ),
            Self::ClusterLocal {
                matched,
                proxy_cluster,
                rule,
            } => write!(
                f,
                "{matched}: only the proxy's cluster {} ({rule})",
                cluster_name(proxy_cluster.as_ref())
            ),
            Self::NodeLocal { proxy_node } => write!(
                f,
                "node-local (internalTrafficPolicy: Local): only the proxy's node {proxy_node:?} (S10)"
            ),
            Self::Mcs { cluster, reason } => {
                let c = cluster_name(cluster.as_ref());
                match reason {
                    McsReason::NotExported => write!(f, "not exported from {c} (S15, S16)"),
                    McsReason::ClusterLocalFlag => write!(
                        f,
                        "cluster.local stays in {c} under ENABLE_MCS_CLUSTER_LOCAL (S14, S15)"
                    ),
                    McsReason::NoImport => write!(
                        f,
                        "{c} holds no ServiceImport, so its clusterset.local endpoints stay in {c} (S15, S17)"
                    ),
                }
            }
            Self::AmbientLocal { proxy_cluster } => write!(
                f,
                "ambient service scope LOCAL: only the proxy's cluster {} (S24)",
                cluster_name(proxy_cluster.as_ref())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(s: &str) -> Option<ClusterId> {
        Some(s.parse().unwrap())
    }

    fn shard(c: &str) -> ShardKey {
        ShardKey {
            provider: Provider::Kubernetes,
            cluster: id(c),
        }
    }

    fn proxy(c: Option<&str>) -> ScopeProxy {
        ScopeProxy {
            cluster: c.and_then(id),
            node_name: "node-a".into(),
        }
    }

    fn scope_of(
        host: &str,
        mcs: McsFeatures,
        exports: &[&str],
        imports: Option<&[&str]>,
    ) -> ServiceScope {
        let hosts = ClusterLocalHosts::new(
            &[mesh_model::ServiceSetting {
                settings: Some(mesh_model::ServiceSettingValues {
                    cluster_local: true,
                }),
                hosts: vec!["*.local-ns.svc.cluster.local".into()],
            }],
            "cluster.local",
            None,
        );
        let set = |l: &[&str]| -> BTreeSet<ClusterId> { l.iter().filter_map(|c| id(c)).collect() };
        let exports = set(exports);
        let imports = imports.map(set);
        let shards = set(&["c1", "c2"]);
        ServiceScope::resolve(&ScopeInput {
            hostname: host,
            mcs,
            exports: &exports,
            imports: imports.as_ref(),
            shard_clusters: &shards,
            ..ScopeInput::new(&hosts)
        })
    }

    fn admitted(
        scope: &ServiceScope,
        p: &ScopeProxy,
        sh: &ShardKey,
        ep: Option<&str>,
    ) -> Result<(), &'static str> {
        let ep = ep.and_then(id);
        scope
            .admits(p, sh, ep.as_ref(), "node-b")
            .map_err(|e| e.rule())
    }

    #[test]
    fn cluster_local_services_stay_in_the_proxy_cluster() {
        let s = scope_of(
            "a.local-ns.svc.cluster.local",
            McsFeatures::default(),
            &[],
            None,
        );
        assert!(s.is_cluster_local() && s.depends_on_proxy());
        let c1 = proxy(Some("c1"));
        assert_eq!(admitted(&s, &c1, &shard("c1"), Some("c1")), Ok(()));
        assert_eq!(admitted(&s, &c1, &shard("c2"), Some("c2")), Err("S8"));
        // An endpoint in the proxy's shard naming another cluster (S9).
        assert_eq!(admitted(&s, &c1, &shard("c1"), Some("c2")), Err("S9"));
        // No cluster id: nothing from named clusters (S9 consequence).
        assert_eq!(
            admitted(&s, &proxy(None), &shard("c1"), Some("c1")),
            Err("S8")
        );
        // The provider is not compared: a ServiceEntry shard of another cluster is skipped (S13).
        let external = ShardKey {
            provider: Provider::External,
            cluster: id("c2"),
        };
        assert_eq!(admitted(&s, &c1, &external, Some("c2")), Err("S8"));
        let why = s
            .admits(&c1, &shard("c2"), id("c2").as_ref(), "")
            .unwrap_err();
        assert_eq!(
            why.to_string(),
            "cluster-local by meshConfig.serviceSettings[0] host \"*.local-ns.svc.cluster.local\" (S4, S5): only the proxy's cluster c1 (S8)"
        );
        // Kube-system is cluster-local by default.
        let k = scope_of(
            "dns.kube-system.svc.cluster.local",
            McsFeatures::default(),
            &[],
            None,
        );
        assert_eq!(admitted(&k, &c1, &shard("c2"), Some("c2")), Err("S8"));
    }

    #[test]
    fn node_local_services_stay_on_the_proxy_node() {
        let mut s = ServiceScope::global();
        s.node_local = true;
        let p = proxy(Some("c1"));
        assert_eq!(
            s.admits(&p, &shard("c1"), id("c1").as_ref(), "node-a"),
            Ok(())
        );
        assert_eq!(
            s.admits(&p, &shard("c1"), id("c1").as_ref(), "node-b")
                .map_err(|e| e.rule()),
            Err("S10")
        );
        assert_eq!(
            s.admits(&p, &shard("c2"), id("c2").as_ref(), "node-a")
                .map_err(|e| e.rule()),
            Err("S10")
        );
    }

    #[test]
    fn mcs_exports_decide_who_sees_a_cluster() {
        let sd = McsFeatures {
            service_discovery: true,
            ..Default::default()
        };
        let all = McsFeatures {
            service_discovery: true,
            host: true,
            cluster_local: true,
        };
        let c1 = proxy(Some("c1"));
        // Exported in c2: c2's endpoints reach c1; c1's unexported endpoints reach c1 only.
        let s = scope_of("b.echo.svc.cluster.local", sd, &["c2"], None);
        assert_eq!(admitted(&s, &c1, &shard("c2"), Some("c2")), Ok(()));
        assert_eq!(
            admitted(&s, &proxy(Some("c2")), &shard("c1"), Some("c1")),
            Err("S16")
        );
        assert_eq!(admitted(&s, &c1, &shard("c1"), Some("c1")), Ok(()));
        // S16 is lenient: a proxy without a cluster id sees everything.
        assert_eq!(admitted(&s, &proxy(None), &shard("c1"), Some("c1")), Ok(()));
        // ENABLE_MCS_CLUSTER_LOCAL: cluster.local stays home even when exported.
        let s = scope_of("b.echo.svc.cluster.local", all, &["c1", "c2"], None);
        assert_eq!(admitted(&s, &c1, &shard("c2"), Some("c2")), Err("S16"));
        // ...but alone it does nothing (S14).
        let alone = McsFeatures {
            cluster_local: true,
            ..Default::default()
        };
        let s = scope_of("b.echo.svc.cluster.local", alone, &[], None);
        assert!(!s.restricts());
        // clusterset.local: exported and imported clusters are visible; the default imports
        // are every shard's cluster once exported somewhere.
        let s = scope_of("b.echo.svc.clusterset.local", all, &["c2"], None);
        assert!(s.exists);
        assert_eq!(admitted(&s, &c1, &shard("c2"), Some("c2")), Ok(()));
        let s = scope_of("b.echo.svc.clusterset.local", all, &["c2"], Some(&["c1"]));
        let why = s
            .admits(&c1, &shard("c2"), id("c2").as_ref(), "")
            .unwrap_err();
        assert!(
            matches!(
                why,
                Exclusion::Mcs {
                    reason: McsReason::NoImport,
                    ..
                }
            ),
            "{why}"
        );
        // Exported nowhere, or without the host flag: no clusterset service at all.
        let s = scope_of("b.echo.svc.clusterset.local", all, &[], None);
        assert_eq!(admitted(&s, &c1, &shard("c1"), Some("c1")), Err("S17"));
        let s = scope_of("b.echo.svc.clusterset.local", sd, &["c1"], None);
        assert!(!s.exists);
        // External endpoints carry no MCS policy.
        let s = scope_of("b.echo.svc.cluster.local", sd, &[], None);
        let external = ShardKey {
            provider: Provider::External,
            cluster: id("c2"),
        };
        assert_eq!(admitted(&s, &c1, &external, Some("c2")), Ok(()));
        let why = s
            .admits(&c1, &shard("c2"), id("c2").as_ref(), "")
            .unwrap_err();
        assert_eq!(why.to_string(), "not exported from c2 (S15, S16)");
    }

    #[test]
    fn ambient_local_services_stay_in_the_proxy_cluster_and_compose() {
        let mut s = ServiceScope::global();
        s.ambient = Some(AmbientScope::Local);
        let c1 = proxy(Some("c1"));
        assert_eq!(admitted(&s, &c1, &shard("c2"), Some("c2")), Err("S24"));
        assert_eq!(admitted(&s, &c1, &shard("c1"), Some("c1")), Ok(()));
        s.ambient = Some(AmbientScope::Global);
        assert!(!s.restricts());
        // A GLOBAL ambient scope does not widen a cluster-local service (S20).
        let mut s = scope_of(
            "a.local-ns.svc.cluster.local",
            McsFeatures::default(),
            &[],
            None,
        );
        s.ambient = Some(AmbientScope::Global);
        assert_eq!(admitted(&s, &c1, &shard("c2"), Some("c2")), Err("S8"));
    }

    fn endpoint() -> impl Strategy<Value = EdsEndpoint> {
        (0u8..4, proptest::option::of(0u8..3), 0u8..2).prop_map(|(a, c, n)| EdsEndpoint {
            addresses: vec![format!("10.0.0.{a}")],
            cluster: c.and_then(|c| id(&format!("c{c}"))),
            node_name: format!("node-{n}"),
            ..Default::default()
        })
    }

    proptest! {
        /// A service with no scope settings (none matching its host, MCS and ambient off) gives
        /// split-horizon exactly the endpoints it had: the same slice, borrowed.
        #[test]
        fn no_scope_settings_keep_every_endpoint(
            endpoints in proptest::collection::vec(endpoint(), 0..8),
            host in "[a-z]{1,3}\\.[a-z]{1,3}\\.svc\\.cluster\\.local",
            proxy_cluster in proptest::option::of(0u8..3),
            shard_cluster in proptest::option::of(0u8..3),
        ) {
            let hosts = ClusterLocalHosts::new(&[], "cluster.local", Some(""));
            let scope = ServiceScope::resolve(&ScopeInput { hostname: &host, ..ScopeInput::new(&hosts) });
            prop_assert!(!scope.restricts());
            prop_assert_eq!(&scope, &ServiceScope::global());
            let p = ScopeProxy { cluster: proxy_cluster.and_then(|c| id(&format!("c{c}"))), node_name: String::new() };
            let sh = ShardKey { provider: Provider::Kubernetes, cluster: shard_cluster.and_then(|c| id(&format!("c{c}"))) };
            let out = scope.filter(&p, &sh, &endpoints);
            prop_assert!(matches!(out, Cow::Borrowed(_)));
            prop_assert_eq!(&*out, &endpoints[..]);
        }

        /// `filter` keeps exactly the endpoints `admits` accepts, in order.
        #[test]
        fn filter_is_admits_in_order(
            endpoints in proptest::collection::vec(endpoint(), 0..8),
            cluster_local in any::<bool>(), node_local in any::<bool>(), sd in any::<bool>(),
            exported in any::<bool>(), ambient_local in any::<bool>(),
        ) {
            let host = if cluster_local { "a.kube-system.svc.cluster.local" } else { "a.b.svc.cluster.local" };
            let exports: Vec<&str> = if exported { vec!["c1"] } else { vec![] };
            let mut s = scope_of(host, McsFeatures { service_discovery: sd, ..Default::default() }, &exports, None);
            s.node_local = node_local;
            s.ambient = ambient_local.then_some(AmbientScope::Local);
            let p = ScopeProxy { cluster: id("c1"), node_name: "node-0".into() };
            for c in ["c0", "c1"] {
                let sh = shard(c);
                let want: Vec<EdsEndpoint> = endpoints.iter().filter(|e| {
                    let ec = e.cluster.as_ref().or(sh.cluster.as_ref());
                    s.admits(&p, &sh, ec, &e.node_name).is_ok()
                }).cloned().collect();
                prop_assert_eq!(&*s.filter(&p, &sh, &endpoints), &want[..]);
            }
        }
    }
}
