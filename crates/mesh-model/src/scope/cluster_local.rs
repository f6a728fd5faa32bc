//! Cluster-local hosts (`meshConfig.serviceSettings` and Istio's defaults), rules S1–S6 of
//! `spec/service-scope.md`, read from `pilot/pkg/model/cluster_local.go` (`NewClusterLocalProvider`,
//! `IsClusterLocal`) and `pkg/config/host/names.go`.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The discovery address Istio's default proxy config names (`mesh.DefaultProxyConfig`).
pub const DEFAULT_DISCOVERY_ADDRESS: &str = "istiod.istio-system.svc:15012";

/// One `meshConfig.serviceSettings` entry: `{settings: {clusterLocal: bool}, hosts: [...]}`.
///
/// ```
/// use mesh_model::ServiceSetting;
/// let s: ServiceSetting = serde_json::from_str(r#"{"settings": {"clusterLocal": true}, "hosts": ["*.ns1.svc.cluster.local"]}"#)?;
/// assert!(s.cluster_local());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSetting {
    /// `settings`; absent reads as `clusterLocal: false` (S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<ServiceSettingValues>,
    /// Host patterns: exact names, or `*`-prefixed wildcards (S4).
    #[serde(default, deserialize_with = "crate::null::empty_if_null")]
    pub hosts: Vec<String>,
}

impl ServiceSetting {
    /// The entry's `clusterLocal` (false when `settings` is absent).
    pub fn cluster_local(&self) -> bool {
        self.settings.is_some_and(|s| s.cluster_local)
    }
}

/// `serviceSettings[].settings`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSettingValues {
    /// Whether the hosts are cluster-local (default false).
    #[serde(default)]
    pub cluster_local: bool,
}

/// One of the hosts Istio makes cluster-local on its own (S1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DefaultClusterLocal {
    /// `*.kube-system.svc.<domain>`.
    KubeSystem,
    /// `kubernetes.default.svc.<domain>`.
    KubernetesApi,
    /// The istiod discovery host (S2).
    Discovery,
}

impl fmt::Display for DefaultClusterLocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KubeSystem => "kube-system",
            Self::KubernetesApi => "the Kubernetes API service",
            Self::Discovery => "the istiod discovery host",
        })
    }
}

/// Which table entry decided [`ClusterLocalHosts::decide`] (for explanations).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ClusterLocalSource {
    /// A default of S1 (stored as `true`, S4).
    Default(DefaultClusterLocal),
    /// `serviceSettings[index]`, the last entry naming the pattern (S4).
    Setting(usize),
}

/// What decided whether a host is cluster-local: the matching pattern and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterLocalMatch {
    /// The host pattern that matched (S5).
    pub pattern: String,
    /// Its value.
    pub cluster_local: bool,
    /// The entry it came from.
    pub source: ClusterLocalSource,
}

impl fmt::Display for ClusterLocalMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = if self.cluster_local {
            "cluster-local"
        } else {
            "global"
        };
        match &self.source {
            ClusterLocalSource::Default(d) => write!(f, "{word} by default: {d} (S1)"),
            ClusterLocalSource::Setting(i) => write!(
                f,
                "{word} by meshConfig.serviceSettings[{i}] host {:?} (S4, S5)",
                self.pattern
            ),
        }
    }
}

/// The cluster-local host table istiod builds from the mesh config (S1–S4) and queries (S5).
///
/// ```
/// use mesh_model::{ClusterLocalHosts, ServiceSetting, ServiceSettingValues};
/// let defaults = ClusterLocalHosts::new(&[], "cluster.local", None);
/// assert!(defaults.is_cluster_local("kube-dns.kube-system.svc.cluster.local"));
/// assert!(defaults.is_cluster_local("istiod.istio-system.svc.cluster.local"));
/// assert!(!defaults.is_cluster_local("reviews.bookinfo.svc.cluster.local"));
/// // clusterLocal: false on one kube-system host drops the whole *.kube-system default (S3).
/// let off = ServiceSetting {
///     settings: Some(ServiceSettingValues { cluster_local: false }),
///     hosts: vec!["kube-dns.kube-system.svc.cluster.local".into()],
/// };
/// let hosts = ClusterLocalHosts::new(&[off], "cluster.local", None);
/// assert!(!hosts.is_cluster_local("metrics.kube-system.svc.cluster.local"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterLocalHosts {
    /// Exact hosts → (value, source).
    specific: HashMap<String, (bool, ClusterLocalSource)>,
    /// Wildcards, keyed by the pattern without its leading `*` → (value, source).
    wildcard: HashMap<String, (bool, ClusterLocalSource)>,
}

impl ClusterLocalHosts {
    /// The table for `settings` (in mesh-config order), istiod's `domain_suffix` (`""` =
    /// `cluster.local`) and `defaultConfig.discoveryAddress` (`None` = not set:
    /// [`DEFAULT_DISCOVERY_ADDRESS`]).
    pub fn new(
        settings: &[ServiceSetting],
        domain_suffix: &str,
        discovery_address: Option<&str>,
    ) -> Self {
        let domain = if domain_suffix.is_empty() {
            "cluster.local"
        } else {
            domain_suffix
        };
        // S1: the defaults, in Istio's order; S2: the discovery host when its address splits.
        let mut defaults: Vec<(String, DefaultClusterLocal)> = vec![
            (
                format!("*.kube-system.svc.{domain}"),
                DefaultClusterLocal::KubeSystem,
            ),
            (
                format!("kubernetes.default.svc.{domain}"),
                DefaultClusterLocal::KubernetesApi,
            ),
        ];
        let address = discovery_address.unwrap_or(DEFAULT_DISCOVERY_ADDRESS);
        if let Some(host) = split_host_port(address) {
            let host = if host.ends_with(domain) {
                host.to_owned()
            } else {
                format!("{host}.{domain}")
            };
            defaults.push((host, DefaultClusterLocal::Discovery));
        }
        // S3: every clusterLocal: false host removes the defaults it names or falls under.
        for setting in settings.iter().filter(|s| !s.cluster_local()) {
            for h in &setting.hosts {
                defaults.retain(|(d, _)| {
                    let under = d
                        .strip_prefix('*')
                        .is_some_and(|suffix| h.ends_with(suffix));
                    !(h == d || under)
                });
            }
        }
        // S4: user hosts in order (a later entry overwrites), then the remaining defaults.
        let mut table = Self::default();
        for (i, setting) in settings.iter().enumerate() {
            for h in &setting.hosts {
                table.insert(h, setting.cluster_local(), ClusterLocalSource::Setting(i));
            }
        }
        for (d, which) in defaults {
            table.insert(&d, true, ClusterLocalSource::Default(which));
        }
        table
    }

    fn insert(&mut self, host: &str, value: bool, source: ClusterLocalSource) {
        // `name.go` `IsWildCarded`: only the first character makes a wildcard.
        match host.strip_prefix('*') {
            Some(suffix) => self.wildcard.insert(suffix.to_owned(), (value, source)),
            None => self.specific.insert(host.to_owned(), (value, source)),
        };
    }

    /// `IsClusterLocal(host)` (S5).
    pub fn is_cluster_local(&self, host: &str) -> bool {
        self.decide(host).is_some_and(|m| m.cluster_local)
    }

    /// The entry that decides `host` (S5), `None` when nothing matches (not cluster-local).
    pub fn decide(&self, host: &str) -> Option<ClusterLocalMatch> {
        let found = match host.strip_prefix('*') {
            // A wildcard host: an exact wildcard entry, else the wildcard search on host[1:];
            // specific entries are never consulted.
            Some(rest) => self
                .wildcard
                .get_key_value(rest)
                .map(|(k, v)| (format!("*{k}"), v))
                .or_else(|| self.longest_wildcard(rest)),
            None => self
                .specific
                .get_key_value(host)
                .map(|(k, v)| (k.clone(), v))
                .or_else(|| self.longest_wildcard(host)),
        };
        found.map(|(pattern, (value, source))| ClusterLocalMatch {
            pattern,
            cluster_local: *value,
            source: source.clone(),
        })
    }

    /// The longest wildcard `*w` with `host` ending in `w` (raw bytes, no label boundary; `*`
    /// matches everything): one lookup per suffix of `host`, longest first.
    fn longest_wildcard(&self, host: &str) -> Option<(String, &(bool, ClusterLocalSource))> {
        (0..=host.len())
            .filter_map(|i| host.get(i..))
            .find_map(|suffix| self.wildcard.get_key_value(suffix))
            .map(|(k, v)| (format!("*{k}"), v))
    }
}

/// Go's `net.SplitHostPort` followed by an integer port parse (S2): `None` on any failure.
fn split_host_port(address: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':')?)
    } else {
        let (host, port) = address.rsplit_once(':')?;
        if host.contains(':') || host.contains('[') || host.contains(']') {
            return None; // too many colons / a stray bracket
        }
        (host, port)
    };
    if port.contains('[') || port.contains(']') {
        return None;
    }
    // strconv.Atoi: an optional sign and decimal digits.
    port.parse::<i64>().ok()?;
    Some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(cluster_local: Option<bool>, hosts: &[&str]) -> ServiceSetting {
        ServiceSetting {
            settings: cluster_local.map(|cluster_local| ServiceSettingValues { cluster_local }),
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    #[test]
    fn defaults_follow_the_domain_and_the_discovery_address() {
        let t = ClusterLocalHosts::new(&[], "", None);
        assert!(t.is_cluster_local("a.kube-system.svc.cluster.local"));
        assert!(t.is_cluster_local("kubernetes.default.svc.cluster.local"));
        assert!(t.is_cluster_local("istiod.istio-system.svc.cluster.local"));
        assert!(!t.is_cluster_local("kubernetes.default.svc.example.com"));
        let t = ClusterLocalHosts::new(&[], "example.com", Some("istiod.example.com:15012"));
        assert!(t.is_cluster_local("a.kube-system.svc.example.com"));
        // The host already ends with the domain: kept as is.
        assert!(t.is_cluster_local("istiod.example.com"));
        let t = ClusterLocalHosts::new(&[], "cluster.local", Some("istiod.example.com:15012"));
        assert!(!t.is_cluster_local("istiod.example.com"));
        assert!(t.is_cluster_local("istiod.example.com.cluster.local"));
        for bad in [
            "istiod.istio-system.svc",
            "a:b:1",
            "istiod:port",
            "",
            "[::1]15012",
        ] {
            let t = ClusterLocalHosts::new(&[], "cluster.local", Some(bad));
            assert!(
                t.decide("istiod.istio-system.svc.cluster.local").is_none(),
                "{bad}"
            );
        }
        let t = ClusterLocalHosts::new(&[], "cluster.local", Some("[fd00::1]:15012"));
        assert!(t.is_cluster_local("fd00::1.cluster.local"));
    }

    #[test]
    fn false_removes_the_defaults_it_names_or_falls_under() {
        for h in [
            "foo.kube-system.svc.cluster.local",
            "*.foo.kube-system.svc.cluster.local",
            "*.kube-system.svc.cluster.local",
        ] {
            let t = ClusterLocalHosts::new(&[setting(Some(false), &[h])], "cluster.local", None);
            assert!(
                !t.is_cluster_local("x.kube-system.svc.cluster.local"),
                "{h}"
            );
            assert!(t.is_cluster_local("kubernetes.default.svc.cluster.local"));
        }
        // An entry without settings counts as false.
        let t = ClusterLocalHosts::new(
            &[setting(None, &["kubernetes.default.svc.cluster.local"])],
            "cluster.local",
            None,
        );
        assert!(!t.is_cluster_local("kubernetes.default.svc.cluster.local"));
        for h in ["*", "*.svc.cluster.local", "*.cluster.local"] {
            let t = ClusterLocalHosts::new(&[setting(Some(false), &[h])], "cluster.local", None);
            assert!(t.is_cluster_local("x.kube-system.svc.cluster.local"), "{h}");
            assert!(!t.is_cluster_local("x.other.svc.cluster.local"), "{h}");
        }
    }

    #[test]
    fn the_most_specific_match_wins_byte_suffixes_and_later_entries() {
        let t = ClusterLocalHosts::new(
            &[
                setting(Some(true), &["*.cluster.local"]),
                setting(Some(false), &["*"]),
                setting(
                    Some(true),
                    &["*ns1.svc.cluster.local", "svc.*.svc.cluster.local"],
                ),
                setting(Some(false), &["b.ns1.svc.cluster.local"]),
            ],
            "cluster.local",
            None,
        );
        assert!(t.is_cluster_local("echo.test.svc.cluster.local"));
        assert!(!t.is_cluster_local("example.com"));
        assert!(
            t.is_cluster_local("xns1.svc.cluster.local"),
            "no label boundary"
        );
        assert!(
            !t.is_cluster_local("b.ns1.svc.cluster.local"),
            "exact beats wildcard"
        );
        // `*` elsewhere than first is a literal character.
        assert!(
            t.decide("svc.*.svc.cluster.local")
                .is_some_and(|m| m.pattern == "svc.*.svc.cluster.local")
        );
        assert_eq!(
            t.decide("a.ns1.svc.cluster.local").map(|m| m.source),
            Some(ClusterLocalSource::Setting(2))
        );
        // A later entry overwrites an earlier one for the same host.
        let t = ClusterLocalHosts::new(
            &[
                setting(Some(true), &["a.b"]),
                setting(Some(false), &["a.b"]),
            ],
            "cluster.local",
            None,
        );
        assert!(!t.is_cluster_local("a.b"));
        // Defaults are stored last, as true.
        let t = ClusterLocalHosts::new(
            &[setting(Some(true), &["*.svc.cluster.local"])],
            "cluster.local",
            None,
        );
        assert_eq!(
            t.decide("dns.kube-system.svc.cluster.local")
                .map(|m| m.source),
            Some(ClusterLocalSource::Default(DefaultClusterLocal::KubeSystem))
        );
        assert_eq!(
            t.decide("dns.kube-system.svc.cluster.local")
                .unwrap()
                .to_string(),
            "cluster-local by default: kube-system (S1)"
        );
    }

    #[test]
    fn wildcard_hosts_consult_only_wildcard_entries() {
        let t = ClusterLocalHosts::new(
            &[
                setting(Some(true), &["*.foo.com"]),
                setting(Some(true), &[".bar.com"]),
                setting(Some(false), &["*.x.bar.com"]),
            ],
            "cluster.local",
            None,
        );
        assert!(t.is_cluster_local("*.foo.com"), "exact wildcard");
        assert!(t.is_cluster_local("*.a.foo.com"), "search on host[1:]");
        // `.bar.com` is a specific entry: a wildcard host never reads it.
        assert!(!t.is_cluster_local("*.bar.com"));
        assert!(!t.is_cluster_local("*.x.bar.com"));
        assert!(t.is_cluster_local(".bar.com"));
        // Case-sensitive.
        assert!(!t.is_cluster_local("A.FOO.COM"));
    }
}
