//! The engine's inputs: endpoints as a registry reports them, the proxy class asking, the Envoy
//! cluster asked for, and the feature flags and policy that change the answer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use mesh_model::{ClusterId, NetworkId, TlsMode};

use crate::policy::LocalityPolicy;

/// Which Istio release's split-horizon semantics to reproduce (`spec/split-horizon-eds.md`).
///
/// ```
/// use mesh_eds::Profile;
/// assert_eq!(Profile::default(), Profile::IstioModern);
/// assert_eq!("istio-1.1.3".parse::<Profile>(), Ok(Profile::Istio1_1_3));
/// // Every patch release the 1.1.3 profile covers names it.
/// assert_eq!("istio-1.1.17".parse::<Profile>(), Ok(Profile::Istio1_1_3));
/// assert_eq!(Profile::Istio1_1_0.to_string(), "istio-1.1.0");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// Current Istio (rules M1–M18, G1–G8).
    #[default]
    IstioModern,
    /// Istio 1.1.0 (rules H1.1, H1.3–H1.6).
    Istio1_1_0,
    /// Istio 1.1.3 to 1.1.17 (rules H1.2–H1.6).
    Istio1_1_3,
    /// Istio 1.5 (networks without gateways reachable directly, product multiplier).
    Istio1_5,
}

impl Profile {
    /// Every profile, in declaration order.
    pub const ALL: [Profile; 4] = [
        Profile::IstioModern,
        Profile::Istio1_1_0,
        Profile::Istio1_1_3,
        Profile::Istio1_5,
    ];

    /// The profile's name as the conformance cases write it (`istio-modern`, `istio-1.1.3`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IstioModern => "istio-modern",
            Self::Istio1_1_0 => "istio-1.1.0",
            Self::Istio1_1_3 => "istio-1.1.3",
            Self::Istio1_5 => "istio-1.5",
        }
    }

    /// Whether this is one of the pre-1.8 profiles that work from MeshNetworks alone (no cluster
    /// ids, no mTLS requirement, no IP family, no network view).
    pub fn is_legacy(self) -> bool {
        !matches!(self, Self::IstioModern)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile name that is not one of [`Profile::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error(
    "unknown semantics profile {value:?} (expected istio-modern, istio-1.1.0, istio-1.1.3 to istio-1.1.17, or istio-1.5)"
)]
pub struct ProfileError {
    /// The offending value.
    pub value: String,
}

impl FromStr for Profile {
    type Err = ProfileError;
    fn from_str(s: &str) -> Result<Self, ProfileError> {
        // `istio-1.1.N` for 3 ≤ N ≤ 17: the releases the 1.1.3 profile reproduces (H1.2).
        let covered_patch = s
            .strip_prefix("istio-1.1.")
            .and_then(|n| n.parse::<u8>().ok().filter(|_| !n.starts_with('0')))
            .is_some_and(|n| (3..=17).contains(&n));
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .or(covered_patch.then_some(Profile::Istio1_1_3))
            .ok_or_else(|| ProfileError {
                value: s.to_owned(),
            })
    }
}

/// The kind of proxy asking for endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProxyType {
    /// A sidecar (or a VM proxy).
    #[default]
    Sidecar,
    /// A gateway (ingress, egress, east-west), non-ambient: keeps every candidate gateway (M7).
    Router,
    /// An ambient waypoint. Its split-horizon rules are out of scope (it is read as a router,
    /// M7); the locality stage skips zone-aware settings for it (L22).
    Waypoint,
}

/// The IP families of a proxy's addresses (rule M14).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum IpFamily {
    /// All addresses IPv4 (IPv4-mapped IPv6 counts as IPv4): only IPv4 gateways are reachable.
    Ipv4,
    /// All addresses IPv6: only IPv6 gateways are reachable.
    Ipv6,
    /// Both families: every gateway is reachable.
    Dual,
    /// No usable address known: every gateway is reachable.
    #[default]
    Unknown,
}

impl IpFamily {
    /// The text form: `ipv4`, `ipv6`, `dual` or `unknown` (as the conformance cases write it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Dual => "dual",
            Self::Unknown => "unknown",
        }
    }

    /// The family of a set of proxy addresses, as Istio derives it (M14): all IPv4 (IPv4-mapped
    /// IPv6 included) → `Ipv4`, all IPv6 → `Ipv6`, both → `Dual`, none → `Unknown`.
    ///
    /// ```
    /// use mesh_eds::IpFamily;
    /// let v4: std::net::IpAddr = "::ffff:10.0.0.1".parse().unwrap();
    /// assert_eq!(IpFamily::of([v4]), IpFamily::Ipv4);
    /// assert_eq!(IpFamily::of([]), IpFamily::Unknown);
    /// ```
    pub fn of(addresses: impl IntoIterator<Item = std::net::IpAddr>) -> Self {
        let (mut v4, mut v6) = (false, false);
        for a in addresses {
            if a.to_canonical().is_ipv4() {
                v4 = true;
            } else {
                v6 = true;
            }
        }
        match (v4, v6) {
            (true, false) => Self::Ipv4,
            (false, true) => Self::Ipv6,
            (true, true) => Self::Dual,
            (false, false) => Self::Unknown,
        }
    }
}

/// Everything about a proxy that decides what it receives. Proxies of one class share one view.
///
/// ```
/// use mesh_eds::{IpFamily, Profile, ProxyClass, ProxyType};
/// let class = ProxyClass {
///     network: Some("n1".parse()?),
///     ip_family: IpFamily::Ipv4,
///     ..ProxyClass::default()
/// };
/// assert_eq!(class.proxy_type, ProxyType::Sidecar);
/// assert_eq!(class.profile, Profile::IstioModern);
/// # Ok::<(), mesh_model::IdError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProxyClass {
    /// Sidecar or router.
    pub proxy_type: ProxyType,
    /// The proxy's network (`ISTIO_META_NETWORK`); `None` = unset (`""`).
    pub network: Option<NetworkId>,
    /// The proxy's cluster id; `None` = unknown.
    pub cluster: Option<ClusterId>,
    /// The families of the proxy's addresses (M14).
    pub ip_family: IpFamily,
    /// `ISTIO_META_REQUESTED_NETWORK_VIEW` (M2a): endpoints of these networks and of no network
    /// are visible. `None` = not set (every network). Istio reads an empty list as not set: pass
    /// `None` for it. `Some` of an empty set is the view of a list naming only the empty network
    /// (`[""]`), which Istio honours: only endpoints without a network are visible.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
    /// let cluster: ClusterRequest = "outbound|80||foo.ns1".parse()?;
    /// let endpoints = [
    ///     EdsEndpoint { addresses: vec!["10.0.0.1".into()], port: 80, ..Default::default() },
    ///     EdsEndpoint {
    ///         addresses: vec!["10.0.0.2".into()], port: 80, network: Some("n1".parse()?),
    ///         ..Default::default()
    ///     },
    /// ];
    /// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
    ///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
    /// };
    /// let index = std::sync::Arc::new(GatewayIndex::new([]));
    /// let sent = |network_view| -> Result<usize, Box<dyn std::error::Error>> {
    ///     let view = View::new(&index, ProxyClass { network_view, ..Default::default() });
    ///     Ok(view.assignment(&request)?.localities.iter().map(|l| l.endpoints.len()).sum())
    /// };
    /// assert_eq!(sent(None)?, 2);
    /// assert_eq!(sent(Some(BTreeSet::new()))?, 1); // only the endpoint without a network
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub network_view: Option<BTreeSet<NetworkId>>,
    /// The semantics to reproduce.
    pub profile: Profile,
    /// The proxy's locality `region/zone/subzone` as Istio holds it (L2, L28); `""` = none (L26).
    /// Read only by the locality stage.
    pub locality: String,
    /// The proxy's labels as the locality stage needs them (L2, L15–L19): `None` = the proxy has
    /// no labels at all (failoverPriority then splits nothing, L19); `Some` = its values of just
    /// the label keys some failoverPriority in the mesh names ([`ProxyClass::with_labels`]), so
    /// proxies that differ only in other labels share a class and a view.
    pub labels: Option<BTreeMap<String, String>>,
    /// The proxy's node name, read only by the scope stage for node-local services (rule S10,
    /// `internalTrafficPolicy: Local`). Leave it empty unless the mesh has such services, so
    /// that classes split per node only then.
    pub node_name: String,
}

impl ProxyClass {
    /// Sets [`ProxyClass::labels`] from all of a proxy's labels, keeping the values of `keys`
    /// only (the keys of every failoverPriority in the mesh, without `=value`).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mesh_eds::ProxyClass;
    /// let all = BTreeMap::from([("app".to_owned(), "a".to_owned()), ("v".to_owned(), "1".to_owned())]);
    /// let class = ProxyClass::default().with_labels(&all, ["v"]);
    /// assert_eq!(class.labels, Some(BTreeMap::from([("v".to_owned(), "1".to_owned())])));
    /// let none = ProxyClass::default().with_labels(&BTreeMap::new(), ["v"]);
    /// assert_eq!(none.labels, None);
    /// ```
    #[must_use]
    pub fn with_labels<'k>(
        mut self,
        labels: &BTreeMap<String, String>,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Self {
        self.labels = if labels.is_empty() {
            None
        } else {
            Some(
                keys.into_iter()
                    .filter_map(|k| labels.get_key_value(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        };
        self
    }
}

/// An endpoint's health (M2: only healthy endpoints are sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Health {
    /// Ready.
    #[default]
    Healthy,
    /// Not ready.
    Unhealthy,
    /// Draining.
    Draining,
    /// Terminating.
    Terminating,
}

/// One endpoint of a service for one service port, as the registry reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdsEndpoint {
    /// The addresses, primary first: an IP, a hostname (ServiceEntry DNS endpoints) or `""` (an
    /// address-less WorkloadEntry). An empty list is an endpoint without addresses (M2).
    pub addresses: Vec<String>,
    /// The endpoint (target) port; 0 = none.
    pub port: u32,
    /// The name of the service port this endpoint serves (M1).
    pub service_port_name: String,
    /// The endpoint's network (rules N); `None` = `""`.
    pub network: Option<NetworkId>,
    /// The registry (cluster) it came from; `None` = `""`.
    pub cluster: Option<ClusterId>,
    /// The locality label `region/zone/subzone` (possibly empty).
    pub locality: String,
    /// The workload's labels (subset selection, canonical name/revision), shared: the endpoints
    /// of one workload usually carry the same labels, and a clone is a reference count.
    pub labels: Arc<BTreeMap<String, String>>,
    /// Whether the workload can terminate Istio mTLS.
    pub tls_mode: TlsMode,
    /// The endpoint advertises HBONE tunnel support (`networking.istio.io/tunnel=http`).
    pub hbone_tunnel: bool,
    /// Load-balancing weight; 0 = unset (1).
    pub lb_weight: u32,
    /// The workload's namespace.
    pub namespace: String,
    /// The workload's name (pod or WorkloadEntry).
    pub workload_name: String,
    /// The workload's service account.
    pub service_account: String,
    /// Health.
    pub health: Health,
    /// The node the workload runs on (`""` = unknown): read only by the scope stage, for
    /// node-local services (rule S10).
    pub node_name: String,
}

impl EdsEndpoint {
    /// The primary address (`""` when there is none).
    pub fn address(&self) -> &str {
        self.addresses.first().map_or("", String::as_str)
    }

    /// The weight before scaling: the LB weight, or 1 when unset (M3).
    pub fn weight(&self) -> u32 {
        if self.lb_weight == 0 {
            1
        } else {
            self.lb_weight
        }
    }
}

/// What a [`ClusterRequest`] selects where that may surprise its caller (rule M1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SelectionNote {
    /// The request names no service port: only endpoints of an unnamed port are selected (a
    /// request parsed from a cluster name has none; [`ClusterRequest::new`] takes it).
    UnnamedPort,
    /// The request names a subset but carries no labels for it: every endpoint of the port is
    /// selected, as a DestinationRule subset without labels selects (pass the subset's labels
    /// to [`ClusterRequest::new`]).
    SubsetWithoutLabels {
        /// The subset's name.
        subset: String,
    },
}

impl fmt::Display for SelectionNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnnamedPort => f.write_str(
                "the request names no service port: only endpoints of an unnamed port are selected (M1)",
            ),
            Self::SubsetWithoutLabels { subset } => write!(
                f,
                "subset {subset:?} carries no labels: every endpoint of the port is selected (M1)"
            ),
        }
    }
}

/// The two shapes of Envoy cluster a proxy asks endpoints for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ClusterKind {
    /// `outbound|<port>|<subset>|<host>`.
    #[default]
    Outbound,
    /// `outbound_.<port>_.<subset>_.<host>`, used by AUTO_PASSTHROUGH gateways (M16).
    SniDnat,
}

/// The Envoy cluster a proxy asks endpoints for.
///
/// ```
/// use mesh_eds::{ClusterKind, ClusterRequest};
/// let c: ClusterRequest = "outbound_.80_.v1_.foo.ns1.svc.cluster.local".parse()?;
/// assert_eq!(c.kind, ClusterKind::SniDnat);
/// assert_eq!((c.port, c.subset.as_str()), (80, "v1"));
/// assert_eq!(c.name(), "outbound_.80_.v1_.foo.ns1.svc.cluster.local");
/// # Ok::<(), mesh_eds::ClusterNameError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterRequest {
    /// Outbound or SNI-DNAT.
    pub kind: ClusterKind,
    /// The service port.
    pub port: u32,
    /// The subset name (`""` for none).
    pub subset: String,
    /// The service host name.
    pub host: String,
    /// Labels an endpoint must carry to be in the subset (M1).
    pub subset_labels: BTreeMap<String, String>,
    /// The service port's name: endpoints of other ports are not selected (M1).
    pub port_name: String,
}

impl ClusterRequest {
    /// The request for the Envoy cluster `name` of the service port named `port_name`, whose
    /// subset selects endpoints carrying `subset_labels` (rule M1). A cluster name carries neither
    /// (`outbound|9080||reviews…` says port 9080, not that it is the port named `http`), so a
    /// control plane passes them from the service and its DestinationRule; [`FromStr`] leaves
    /// them empty, which selects only endpoints of an unnamed port.
    ///
    /// ```
    /// use mesh_eds::ClusterRequest;
    /// let c = ClusterRequest::new(
    ///     "outbound|9080|v1|reviews.bookinfo.svc.cluster.local",
    ///     "http",
    ///     [("version", "v1")],
    /// )?;
    /// assert_eq!((c.port, c.port_name.as_str(), c.subset.as_str()), (9080, "http", "v1"));
    /// assert_eq!(c.subset_labels["version"], "v1");
    /// # Ok::<(), mesh_eds::ClusterNameError>(())
    /// ```
    pub fn new<K: Into<String>, V: Into<String>>(
        name: &str,
        port_name: &str,
        subset_labels: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ClusterNameError> {
        let mut request: Self = name.parse()?;
        port_name.clone_into(&mut request.port_name);
        request.subset_labels = subset_labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Ok(request)
    }

    /// What this request selects that may not be what its caller meant (rule M1): a subset
    /// name without labels selects every endpoint of the port, as a DestinationRule subset
    /// without labels does ([`SelectionNote::SubsetWithoutLabels`]); a request without a port
    /// name selects only endpoints of an unnamed port ([`SelectionNote::UnnamedPort`]).
    ///
    /// ```
    /// use mesh_eds::{ClusterRequest, SelectionNote};
    /// let parsed: ClusterRequest = "outbound|9080|v1|reviews.ns.svc.cluster.local".parse()?;
    /// assert_eq!(parsed.selection_notes(), [
    ///     SelectionNote::UnnamedPort,
    ///     SelectionNote::SubsetWithoutLabels { subset: "v1".into() },
    /// ]);
    /// let full = ClusterRequest::new(&parsed.name(), "http", [("version", "v1")])?;
    /// assert!(full.selection_notes().is_empty());
    /// # Ok::<(), mesh_eds::ClusterNameError>(())
    /// ```
    pub fn selection_notes(&self) -> Vec<SelectionNote> {
        let mut notes = Vec::new();
        if self.port_name.is_empty() {
            notes.push(SelectionNote::UnnamedPort);
        }
        if !self.subset.is_empty() && self.subset_labels.is_empty() {
            notes.push(SelectionNote::SubsetWithoutLabels {
                subset: self.subset.clone(),
            });
        }
        notes
    }

    /// The Envoy cluster name.
    pub fn name(&self) -> String {
        let mut name = String::new();
        self.write_name(&mut name);
        name
    }

    /// Writes the Envoy cluster name into `out` (cleared first): [`ClusterRequest::name`]
    /// without an allocation when `out` has room.
    pub(crate) fn write_name(&self, out: &mut String) {
        use std::fmt::Write;
        out.clear();
        // Writing into a String cannot fail.
        let _ = match self.kind {
            ClusterKind::Outbound => {
                write!(out, "outbound|{}|{}|{}", self.port, self.subset, self.host)
            }
            ClusterKind::SniDnat => {
                write!(
                    out,
                    "outbound_.{}_.{}_.{}",
                    self.port, self.subset, self.host
                )
            }
        };
    }
}

/// A cluster name that is neither `outbound|port|subset|host` nor `outbound_.port_.subset_.host`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{name:?} is not an outbound cluster name ({problem})")]
pub struct ClusterNameError {
    /// The offending name.
    pub name: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl FromStr for ClusterRequest {
    type Err = ClusterNameError;
    /// Parses the name alone. A name says neither the service port's name nor the subset's
    /// labels, so `port_name` and `subset_labels` are left empty: such a request selects only
    /// endpoints of an unnamed port and ignores subset labels (M1). Use [`ClusterRequest::new`],
    /// or fill them in, for a service with named ports or subsets.
    fn from_str(name: &str) -> Result<Self, ClusterNameError> {
        let err = |problem| ClusterNameError {
            name: name.to_owned(),
            problem,
        };
        let (kind, parts): (ClusterKind, Vec<&str>) =
            if let Some(rest) = name.strip_prefix("outbound|") {
                (ClusterKind::Outbound, rest.splitn(3, '|').collect())
            } else if let Some(rest) = name.strip_prefix("outbound_.") {
                (ClusterKind::SniDnat, rest.splitn(3, "_.").collect())
            } else {
                return Err(err("expected the prefix outbound| or outbound_."));
            };
        let [port, subset, host] = parts[..] else {
            return Err(err("expected four parts: direction, port, subset, host"));
        };
        let port = port.parse().map_err(|_| err("the port is not a number"))?;
        if host.is_empty() {
            return Err(err("the host is empty"));
        }
        Ok(Self {
            kind,
            port,
            subset: subset.to_owned(),
            host: host.to_owned(),
            subset_labels: BTreeMap::new(),
            port_name: String::new(),
        })
    }
}

/// istiod feature flags that change EDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    /// `PILOT_PREFER_SENDING_HBONE` (default false): send HBONE to tunnel-capable endpoints even
    /// when they have a sidecar (M3).
    pub prefer_hbone_send: bool,
    /// `RESOLVE_HOSTNAME_GATEWAYS` (default true): hostname gateways are resolved (G2).
    pub resolve_hostname_gateways: bool,
    /// Not an istiod flag (default false, Istio's output): the fix proposed in istio#60835 for
    /// istio#56355. Istio puts a gateway into every locality group with remote endpoints behind
    /// it, so a network whose endpoints sit in several localities gets the same gateway
    /// `address:port` in several groups; Envoy keeps only the first copy (envoy#23445: the other
    /// groups' share of the traffic is lost) and gRPC rejects the whole assignment (gRFC A27:
    /// duplicate endpoint address). With this flag each gateway is written once, in the first
    /// group (in output order) that routes through it, weighted with the shares of every group
    /// (M11 summed over groups); the other groups go without it (their weights, M12, are what
    /// they keep). The istio-modern profile only: the pre-1.8 profiles reproduce their releases.
    pub gateway_in_first_group: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            prefer_hbone_send: false,
            resolve_hostname_gateways: true,
            gateway_in_first_group: false,
        }
    }
}

/// What a proxy asks for one service: the cluster, the service's endpoints for that service port,
/// and the resolved policy.
#[derive(Debug, Clone, Copy)]
pub struct ServiceRequest<'a> {
    /// The Envoy cluster.
    pub cluster: &'a ClusterRequest,
    /// The service's endpoints, in Istio's iteration order (shards by cluster id, then registry order).
    pub endpoints: &'a [EdsEndpoint],
    /// Whether DestinationRule / PeerAuthentication let the client use Istio mTLS to these
    /// endpoints (M3), already resolved.
    pub mtls_allowed: bool,
    /// Feature flags.
    pub features: Features,
    /// The cluster's locality load-balancing policy (merged DestinationRule, the service's
    /// `trafficDistribution`, the mesh settings), read by the locality stage after split-horizon
    /// (L1). [`LocalityPolicy::istio_default`] leaves the assignment as split-horizon made it.
    pub locality: &'a LocalityPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_accepts_every_patch_release_it_covers() {
        for n in 3..=17 {
            assert_eq!(
                format!("istio-1.1.{n}").parse::<Profile>(),
                Ok(Profile::Istio1_1_3)
            );
        }
        for bad in [
            "istio-1.1.1",
            "istio-1.1.2",
            "istio-1.1.18",
            "istio-1.1.03",
            "istio-1.1.",
        ] {
            assert!(bad.parse::<Profile>().is_err(), "{bad}");
        }
        let e = "istio-1.1.2".parse::<Profile>().unwrap_err().to_string();
        assert!(e.contains("istio-1.1.3 to istio-1.1.17"), "{e}");
    }

    #[test]
    fn a_request_from_new_selects_the_named_port_and_subset() {
        let name = "outbound|9080|v1|reviews.bookinfo.svc.cluster.local";
        let endpoint = |port: &str, version: &str| EdsEndpoint {
            addresses: vec!["10.0.0.1".into()],
            port: 9080,
            service_port_name: port.into(),
            labels: Arc::new(BTreeMap::from([("version".into(), version.into())])),
            ..Default::default()
        };
        let endpoints = [
            endpoint("http", "v1"),
            endpoint("http", "v2"),
            endpoint("grpc", "v1"),
        ];
        let selected = |cluster: &ClusterRequest| -> Vec<usize> {
            let req = ServiceRequest {
                cluster,
                endpoints: &endpoints,
                mtls_allowed: true,
                features: Features::default(),
                locality: LocalityPolicy::istio_default(),
            };
            (0..endpoints.len())
                .filter(|&i| {
                    crate::rules::selected(&req, i, &endpoints[i], &mut crate::explain::NoTrace)
                })
                .collect()
        };
        let parsed: ClusterRequest = name.parse().unwrap();
        assert_eq!(
            selected(&parsed),
            [] as [usize; 0],
            "FromStr knows no port name"
        );
        let c = ClusterRequest::new(name, "http", [("version", "v1")]).unwrap();
        assert_eq!(selected(&c), [0]);
        assert_eq!(c.name(), name);
        assert!(ClusterRequest::new("inbound|80||foo", "http", [("a", "b")]).is_err());
    }

    #[test]
    fn cluster_names_round_trip_and_reject_garbage() {
        for name in [
            "outbound|80||foo.ns.svc.cluster.local",
            "outbound|8080|v1|foo",
            "outbound_.80_._.foo.ns.svc.cluster.local",
            "outbound_.80_.enable-tls_.example.ns.svc.cluster.local",
        ] {
            let c: ClusterRequest = name.parse().unwrap();
            assert_eq!(c.name(), name);
        }
        let c: ClusterRequest = "outbound_.80_.enable-tls_.example.ns".parse().unwrap();
        assert_eq!(c.subset, "enable-tls");
        assert_eq!(c.host, "example.ns");
        for bad in [
            "inbound|80||foo",
            "outbound|x||foo",
            "outbound|80|foo",
            "outbound|80||",
        ] {
            assert!(bad.parse::<ClusterRequest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ip_family_of_addresses() {
        let ips = |s: &[&str]| -> Vec<std::net::IpAddr> {
            s.iter().map(|a| a.parse().unwrap()).collect()
        };
        assert_eq!(IpFamily::of(ips(&["10.0.0.1"])), IpFamily::Ipv4);
        assert_eq!(
            IpFamily::of(ips(&["::ffff:10.0.0.1", "10.0.0.2"])),
            IpFamily::Ipv4
        );
        assert_eq!(IpFamily::of(ips(&["2001:db8::1"])), IpFamily::Ipv6);
        assert_eq!(
            IpFamily::of(ips(&["2001:db8::1", "10.0.0.1"])),
            IpFamily::Dual
        );
    }

    #[test]
    fn profiles_parse_and_print() {
        for p in Profile::ALL {
            assert_eq!(p.as_str().parse::<Profile>(), Ok(p));
        }
        assert!("istio-1.2".parse::<Profile>().is_err());
        assert!(!Profile::IstioModern.is_legacy());
        assert!(Profile::Istio1_1_0.is_legacy());
    }

    #[test]
    fn weight_unset_is_one() {
        let mut e = EdsEndpoint::default();
        assert_eq!(e.weight(), 1);
        e.lb_weight = 7;
        assert_eq!(e.weight(), 7);
        assert_eq!(e.address(), "");
    }
}
