//! What users write in Istio about locality load balancing: DestinationRules (`trafficPolicy`
//! with `loadBalancer.localityLbSetting` / `zoneAwareLbSetting`, `outlierDetection`,
//! `portLevelSettings`, `subsets` with their own policy), as Istio's API
//! (`networking/v1alpha3/destination_rule.proto`) spells them, with Istio's validation of those
//! fields (`pkg/config/validation/validation.go`: `validateTrafficPolicy`, `validateLoadBalancer`,
//! `validateOutlierDetection`, `validatePortTrafficPolicies`, `validateSubset`;
//! `pkg/config/validation/agent/validation.go`: `ValidateLocalityLbSetting`,
//! `ValidateZoneAwareLbSetting`, `validateLocalities`). A document that Istio's webhook would
//! reject is not read: the parse error names the path and gives Istio's message.
//!
//! How one Envoy cluster's policy is merged (port level, then subset) is
//! [`DestinationRule::policy_for`], after `MergeSubsetTrafficPolicy` (Istio,
//! `pilot/pkg/networking/util/util.go`) and `MergeTrafficPolicy`
//! (`pilot/pkg/model/destination_rule.go`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::id::ServiceKey;
use crate::null::empty_if_null;

/// `topology.kubernetes.io/region`, `…/zone` and `topology.istio.io/subzone`: the keys Istio
/// forbids in `failoverPriority` next to `failover` (and always for zone-aware settings).
const TOPOLOGY_LABELS: [&str; 3] = [
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
];

/// A DestinationRule for one service host.
///
/// ```
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: m}
/// spec:
///   destinationRules:
///   - host: reviews.bookinfo.svc.cluster.local
///     trafficPolicy:
///       outlierDetection: {consecutive5xxErrors: 5, interval: 10s}
///       loadBalancer:
///         localityLbSetting:
///           failover: [{from: us-east, to: eu-west}]
/// "#)?;
/// let dr = &doc.spec.destination_rules[0];
/// assert_eq!(dr.host.to_string(), "reviews.bookinfo");
/// assert!(dr.policy_for(9080, None).unwrap().outlier_detection.is_some());
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationRule {
    /// The service it applies to (`name.namespace` or `name.namespace.svc.<suffix>`).
    pub host: ServiceKey,
    /// The policy of every port and subset, unless overridden.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub traffic_policy: Option<TrafficPolicy>,
    /// Named subsets: endpoints with these labels, each an Envoy cluster of its own.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub subsets: Vec<Subset>,
}

/// `TrafficPolicy`: the fields meshspan reads (load balancing and outlier detection), with
/// per-port overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficPolicy {
    /// `loadBalancer`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub load_balancer: Option<LoadBalancerSettings>,
    /// `outlierDetection`: its presence turns locality failover on (L3).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub outlier_detection: Option<OutlierDetection>,
    /// `portLevelSettings`: a port's policy replaces this one wholesale for that port.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub port_level_settings: Vec<PortTrafficPolicy>,
    /// `tls`: how the client speaks TLS to the service; only its `mode` is read, for the mTLS
    /// check of EDS (M3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTlsSettings>,
}

/// One `portLevelSettings` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortTrafficPolicy {
    /// `port: {number: N}`.
    pub port: PortSelector,
    /// `loadBalancer`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub load_balancer: Option<LoadBalancerSettings>,
    /// `outlierDetection`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub outlier_detection: Option<OutlierDetection>,
    /// `tls`: replaces the policy's `tls` for this port (M3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTlsSettings>,
}

/// `ClientTLSSettings`: the part that decides EDS, its `mode`. Written with no `mode`, it is
/// `DISABLE`, protobuf's zero value, as Istio reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTlsSettings {
    /// `mode`.
    #[serde(default)]
    pub mode: ClientTlsMode,
}

/// `ClientTLSSettings.TLSmode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ClientTlsMode {
    /// `DISABLE`: plain text (the protobuf default).
    #[default]
    Disable,
    /// `SIMPLE`: TLS to the upstream.
    Simple,
    /// `MUTUAL`: mTLS with the client's own certificates.
    Mutual,
    /// `ISTIO_MUTUAL`: mTLS with Istio's certificates.
    IstioMutual,
}

/// `PortSelector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSelector {
    /// The service port number.
    pub number: u16,
}

/// `LoadBalancerSettings`: the algorithm and the locality settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSettings {
    /// `simple` (`ROUND_ROBIN`, `LEAST_REQUEST`, …): kept, not read (EDS does not depend on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simple: Option<SimpleLb>,
    /// `localityLbSetting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality_lb_setting: Option<LocalityLbSetting>,
    /// `zoneAwareLbSetting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_aware_lb_setting: Option<ZoneAwareLbSetting>,
}

/// `LoadBalancerSettings.SimpleLB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SimpleLb {
    /// `UNSPECIFIED`.
    Unspecified,
    /// `LEAST_CONN` (deprecated alias of `LEAST_REQUEST`).
    LeastConn,
    /// `RANDOM`.
    Random,
    /// `PASSTHROUGH`.
    Passthrough,
    /// `ROUND_ROBIN`.
    RoundRobin,
    /// `LEAST_REQUEST`.
    LeastRequest,
}

/// `LocalityLoadBalancerSetting`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalityLbSetting {
    /// `enabled`; `None` = unset (enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `distribute`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub distribute: Vec<Distribute>,
    /// `failover`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub failover: Vec<Failover>,
    /// `failoverPriority`: label keys, optionally `key=value`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub failover_priority: Vec<String>,
}

/// `ZoneAwareLoadBalancerSetting`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoneAwareLbSetting {
    /// `enabled`; `None` = unset (enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `failover`: region to region.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub failover: Vec<Failover>,
    /// `failoverPriority`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub failover_priority: Vec<String>,
    /// `minClusterSize` (CDS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_cluster_size: Option<u64>,
}

/// One `distribute` entry: proxies in `from` send traffic to the `to` localities by weight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Distribute {
    /// The proxies' locality pattern (`region/zone/subzone`, a trailing `*`).
    pub from: String,
    /// Locality pattern → weight, in document order.
    pub to: Weights,
}

/// The `to` map of a `distribute` entry, in the order written (Istio's own order is Go's map
/// order, rule L11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Weights(pub Vec<(String, u32)>);

/// One `failover` entry: region to region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failover {
    /// The proxies' region.
    pub from: String,
    /// The region to fail over to.
    pub to: String,
}

/// `OutlierDetection`: only its presence changes EDS (L3); the values are validated as Istio does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutlierDetection {
    /// `consecutive5xxErrors`.
    #[serde(
        default,
        rename = "consecutive5xxErrors",
        skip_serializing_if = "Option::is_none"
    )]
    pub consecutive_5xx_errors: Option<u32>,
    /// `consecutiveGatewayErrors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_gateway_errors: Option<u32>,
    /// `consecutiveLocalOriginFailures`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_local_origin_failures: Option<u32>,
    /// `splitExternalLocalOriginErrors`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub split_external_local_origin_errors: bool,
    /// `interval` (a duration such as `10s`, at least 1ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// `baseEjectionTime` (a duration, at least 1ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    /// `maxEjectionPercent` (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<i32>,
    /// `minHealthPercent` (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_health_percent: Option<i32>,
}

/// A `subsets` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subset {
    /// The subset's name (the third part of its Envoy cluster name).
    pub name: String,
    /// The labels its endpoints carry.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "empty_if_null"
    )]
    pub labels: BTreeMap<String, String>,
    /// Its policy, merged over the rule's (`MergeTrafficPolicy`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "validated"
    )]
    pub traffic_policy: Option<TrafficPolicy>,
}

/// The load-balancing part of the policy of one Envoy cluster, merged as istiod merges it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergedPolicy {
    /// `loadBalancer`.
    pub load_balancer: Option<LoadBalancerSettings>,
    /// `outlierDetection`.
    pub outlier_detection: Option<OutlierDetection>,
}

impl TrafficPolicy {
    /// This policy for one service port (`GetPortLevelTrafficPolicy`): the first port-level
    /// entry for `port` replaces the top level wholesale (fields it omits are defaults, not
    /// inherited); `true` when one did.
    fn for_port(&self, port: u16) -> (MergedPolicy, bool) {
        match self
            .port_level_settings
            .iter()
            .find(|p| p.port.number == port)
        {
            Some(p) => (
                MergedPolicy {
                    load_balancer: p.load_balancer.clone(),
                    outlier_detection: p.outlier_detection.clone(),
                },
                true,
            ),
            None => (
                MergedPolicy {
                    load_balancer: self.load_balancer.clone(),
                    outlier_detection: self.outlier_detection.clone(),
                },
                false,
            ),
        }
    }
}

impl TrafficPolicy {
    /// This policy's TLS mode for service port `port`: a port-level entry for the port that
    /// sets `tls` overrides the policy's own (Istio, `pilot/pkg/xds/endpoints/mtls_checker.go`,
    /// `trafficPolicyTLSModeForPort`: unlike the load-balancer fields, a port-level entry without
    /// `tls` does not clear it).
    fn tls_mode_for_port(&self, port: u16) -> Option<ClientTlsMode> {
        self.port_level_settings
            .iter()
            .find(|p| p.port.number == port && p.tls.is_some())
            .and_then(|p| p.tls)
            .or(self.tls)
            .map(|t| t.mode)
    }
}

impl DestinationRule {
    /// The subset named `name`.
    pub fn subset(&self, name: &str) -> Option<&Subset> {
        self.subsets.iter().find(|s| s.name == name)
    }

    /// The TLS mode this rule sets for the Envoy cluster of service port `port` and `subset`, as
    /// istiod's EDS mTLS check reads it (`mtls_checker.go`, `tlsModeForDestinationRule`): the
    /// subset's policy for the port, else the rule's; a subset name the rule does not have sets
    /// none. `None`: no mode, PeerAuthentication decides (M3).
    ///
    /// ```
    /// use mesh_model::{ClientTlsMode, MeshDocument};
    /// let doc = MeshDocument::from_yaml(r#"
    /// apiVersion: meshspan/v1alpha1
    /// kind: Mesh
    /// metadata: {name: m}
    /// spec:
    ///   destinationRules:
    ///   - host: reviews.bookinfo
    ///     trafficPolicy:
    ///       tls: {mode: DISABLE}
    ///       portLevelSettings: [{port: {number: 9443}, tls: {mode: ISTIO_MUTUAL}}]
    /// "#)?;
    /// let dr = &doc.spec.destination_rules[0];
    /// assert_eq!(dr.tls_mode_for(9080, None), Some(ClientTlsMode::Disable));
    /// assert_eq!(dr.tls_mode_for(9443, None), Some(ClientTlsMode::IstioMutual));
    /// assert_eq!(dr.tls_mode_for(9080, Some("v9")), None);
    /// # Ok::<(), mesh_model::DocumentError>(())
    /// ```
    pub fn tls_mode_for(&self, port: u16, subset: Option<&str>) -> Option<ClientTlsMode> {
        let top = || {
            self.traffic_policy
                .as_ref()
                .and_then(|p| p.tls_mode_for_port(port))
        };
        match subset {
            None => top(),
            Some(name) => {
                let sub = self.subset(name)?;
                sub.traffic_policy
                    .as_ref()
                    .and_then(|p| p.tls_mode_for_port(port))
                    .or_else(top)
            }
        }
    }

    /// The merged policy of the Envoy cluster for service port `port` and `subset`, as istiod
    /// computes it (`MergeSubsetTrafficPolicy`, `pilot/pkg/networking/util/util.go`): the rule's
    /// policy for the port (a port-level entry replaces the top level), then the subset's policy
    /// for the port over it field by field (`MergeTrafficPolicy`,
    /// `pilot/pkg/model/destination_rule.go`: a subset's `loadBalancer` or `outlierDetection`,
    /// when set, replaces the rule's; when the subset has a port-level entry for the port, both
    /// are replaced, set or not). `None`: no policy at all. A subset name the rule does not have
    /// is read as no subset policy.
    pub fn policy_for(&self, port: u16, subset: Option<&str>) -> Option<MergedPolicy> {
        let original = self.traffic_policy.as_ref().map(|p| p.for_port(port).0);
        let Some(subset_policy) = subset
            .and_then(|s| self.subset(s))
            .and_then(|s| s.traffic_policy.as_ref())
        else {
            return original;
        };
        let (sub, has_port_level) = subset_policy.for_port(port);
        let Some(mut merged) = original else {
            return Some(sub);
        };
        if sub.load_balancer.is_some() || has_port_level {
            merged.load_balancer = sub.load_balancer;
        }
        if sub.outlier_detection.is_some() || has_port_level {
            merged.outlier_detection = sub.outlier_detection;
        }
        Some(merged)
    }
}

// ----- Istio's validation -----

/// Why Istio's validation rejects a load-balancer, outlier-detection, port-level or subset
/// setting. `Display` is `<where>: <Istio's message>`, `<where>` relative to the object checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}{}{kind}", if .at.is_empty() { "" } else { ": " })]
pub struct PolicyError {
    /// Where inside the checked object (`distribute[0].to`), `""` for the object itself.
    pub at: String,
    /// What is wrong.
    pub kind: PolicyErrorKind,
}

/// Istio's reasons, in Istio's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// `distribute` and `failover` together.
    #[error("can not simultaneously specify 'distribute' and 'failover'")]
    DistributeAndFailover,
    /// `failover` with a region/zone/subzone key in `failoverPriority`.
    #[error(
        "can not simultaneously set 'failover' and topology label '{0}' in 'failover_priority'"
    )]
    FailoverAndTopologyLabel(String),
    /// A zone-aware `failoverPriority` names a region/zone/subzone key.
    #[error(
        "'failover_priority' for zone aware lb must not use topology label '{0}'; region- and zone-level routing are handled automatically"
    )]
    ZoneAwareTopologyLabel(String),
    /// A `distribute` weight outside 1–100.
    #[error("locality weight must be in range [1, 100]")]
    WeightRange,
    /// The weights of one `distribute` entry do not sum to 100.
    #[error("total locality weight {0} != 100")]
    TotalWeight(u64),
    /// A locality pattern with a misplaced or repeated `*`.
    #[error("locality {0} wildcard '*' number can not exceed 1 and must be in the end")]
    Wildcard(String),
    /// A locality pattern with an empty part (`r1//s1`, ``).
    #[error("locality {0} must not contain empty region/zone/subzone info")]
    EmptyPart(String),
    /// Two locality patterns of one list overlap.
    #[error("locality {0} overlap with previous specified ones")]
    Overlap(String),
    /// A `failover` whose `from` equals its `to`.
    #[error("{0} failover settings must specify different regions")]
    SameRegion(&'static str),
    /// A `failover` region with a `/`.
    #[error("{}", if *.0 == "locality lb" { "locality lb failover only specify region" } else { "zone aware lb failover only specifies region; zone and subzone failover are handled automatically" })]
    NotARegion(&'static str),
    /// A `failover` region with a `*`.
    #[error("{0} failover region should not contain '*' wildcard")]
    WildcardRegion(&'static str),
    /// Both `localityLbSetting` and `zoneAwareLbSetting`.
    #[error("only one of localityLbSetting and zoneAwareLbSetting can be set")]
    BothSettings,
    /// A traffic policy without any field.
    #[error("traffic policy must have at least one field")]
    EmptyPolicy,
    /// A port-level policy without any field.
    #[error("port traffic policy must have at least one field")]
    EmptyPortPolicy,
    /// Port 0 in a port selector.
    #[error("port number {0} must be in the range 1..65535")]
    Port(u16),
    /// A duration Istio does not accept.
    #[error("{0}")]
    Duration(String),
    /// A percentage outside 0–100.
    #[error("percentage {0} is not in range 0..100")]
    Percent(i32),
    /// `consecutiveLocalOriginFailures` without `splitExternalLocalOriginErrors`.
    #[error(
        "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false"
    )]
    LocalOriginWithoutSplit,
    /// A subset name that is not a DNS-1123 label.
    #[error("subset name is invalid: {0:?}")]
    SubsetName(String),
}

fn err(at: impl Into<String>, kind: PolicyErrorKind) -> PolicyError {
    PolicyError {
        at: at.into(),
        kind,
    }
}

impl LocalityLbSetting {
    /// Istio's `ValidateLocalityLbSetting` (`pkg/config/validation/agent/validation.go`): the
    /// first problem, as Istio returns it. (Failover without outlier detection is only a warning
    /// in Istio, not an error.)
    ///
    /// ```
    /// use mesh_model::{Distribute, LocalityLbSetting, Weights};
    /// let bad = LocalityLbSetting {
    ///     distribute: vec![Distribute {
    ///         from: "us-east/*".into(),
    ///         to: Weights(vec![("us-east/1a".into(), 60), ("us-west/*".into(), 30)]),
    ///     }],
    ///     ..Default::default()
    /// };
    /// assert_eq!(bad.validate().unwrap_err().to_string(), "distribute[0].to: total locality weight 90 != 100");
    /// ```
    pub fn validate(&self) -> Result<(), PolicyError> {
        use PolicyErrorKind as K;
        if !self.distribute.is_empty() && !self.failover.is_empty() {
            return Err(err("", K::DistributeAndFailover));
        }
        if !self.failover.is_empty()
            && let Some((i, key)) = self
                .failover_priority
                .iter()
                .enumerate()
                .find(|(_, k)| TOPOLOGY_LABELS.contains(&k.as_str()))
        {
            return Err(err(
                format!("failoverPriority[{i}]"),
                K::FailoverAndTopologyLabel(key.clone()),
            ));
        }
        for (i, d) in self.distribute.iter().enumerate() {
            let mut total: u64 = 0;
            for (loc, weight) in &d.to.0 {
                if *weight == 0 || *weight > 100 {
                    return Err(err(format!("distribute[{i}].to.{loc}"), K::WeightRange));
                }
                total += u64::from(*weight);
            }
            if total != 100 {
                return Err(err(format!("distribute[{i}].to"), K::TotalWeight(total)));
            }
            validate_localities(d.to.0.iter().map(|(l, _)| l.as_str()))
                .map_err(|k| err(format!("distribute[{i}].to"), k))?;
        }
        validate_localities(self.distribute.iter().map(|d| d.from.as_str()))
            .map_err(|k| err("distribute", k))?;
        validate_failover(&self.failover, "locality lb")
    }
}

impl ZoneAwareLbSetting {
    /// Istio's `ValidateZoneAwareLbSetting`: no region/zone/subzone key in `failoverPriority`,
    /// `failover` regions that differ and are plain regions.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some((i, key)) = self
            .failover_priority
            .iter()
            .enumerate()
            .find(|(_, k)| TOPOLOGY_LABELS.contains(&k.as_str()))
        {
            return Err(err(
                format!("failoverPriority[{i}]"),
                PolicyErrorKind::ZoneAwareTopologyLabel(key.clone()),
            ));
        }
        validate_failover(&self.failover, "zone aware lb")
    }
}

fn validate_failover(failover: &[Failover], what: &'static str) -> Result<(), PolicyError> {
    use PolicyErrorKind as K;
    for (i, f) in failover.iter().enumerate() {
        let at = format!("failover[{i}]");
        if f.from == f.to {
            return Err(err(at, K::SameRegion(what)));
        }
        if f.from.contains('/') || f.to.contains('/') {
            return Err(err(at, K::NotARegion(what)));
        }
        if f.from.contains('*') || f.to.contains('*') {
            return Err(err(at, K::WildcardRegion(what)));
        }
    }
    Ok(())
}

/// Istio's `validateLocalities`: each pattern has at most one `*`, at its end, no empty part,
/// and no pattern overlaps an earlier one (`r1` then `r1/z1`; anything after `*`).
fn validate_localities<'a>(
    localities: impl Iterator<Item = &'a str>,
) -> Result<(), PolicyErrorKind> {
    use PolicyErrorKind as K;
    // region → zone → subzones; "*" marks a whole level claimed.
    let mut seen: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for loc in localities {
        let stars = loc.matches('*').count();
        if stars > 1 || (stars == 1 && !loc.ends_with('*')) {
            return Err(K::Wildcard(loc.to_owned()));
        }
        if seen.contains_key("*") {
            return Err(K::Overlap(loc.to_owned()));
        }
        let parts: Vec<&str> = loc.splitn(3, '/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(K::EmptyPart(loc.to_owned()));
        }
        let overlap = || K::Overlap(loc.to_owned());
        match parts[..] {
            [region] => {
                if seen.contains_key(region) {
                    return Err(overlap());
                }
                seen.insert(region, BTreeMap::from([("*", vec!["*"])]));
            }
            [region, zone] => {
                let zones = seen.entry(region).or_default();
                if zones.contains_key("*") || zones.contains_key(zone) {
                    return Err(overlap());
                }
                zones.insert(zone, vec!["*"]);
            }
            [region, zone, subzone, ..] => {
                let zones = seen.entry(region).or_default();
                if zones.contains_key("*") {
                    return Err(overlap());
                }
                let subzones = zones.entry(zone).or_default();
                if subzones.contains(&"*") || subzones.contains(&subzone) {
                    return Err(overlap());
                }
                subzones.push(subzone);
            }
            [] => return Err(K::EmptyPart(loc.to_owned())),
        }
    }
    Ok(())
}

impl LoadBalancerSettings {
    /// Istio's `validateLoadBalancer`, for the fields meshspan reads.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.locality_lb_setting.is_some() && self.zone_aware_lb_setting.is_some() {
            return Err(err("", PolicyErrorKind::BothSettings));
        }
        if let Some(l) = &self.locality_lb_setting {
            l.validate().map_err(|e| within("localityLbSetting", e))?;
        }
        if let Some(z) = &self.zone_aware_lb_setting {
            z.validate().map_err(|e| within("zoneAwareLbSetting", e))?;
        }
        Ok(())
    }
}

impl OutlierDetection {
    /// Istio's `validateOutlierDetection`: durations of at least 1ms, percentages 0–100, local
    /// origin failures only with `splitExternalLocalOriginErrors`.
    pub fn validate(&self) -> Result<(), PolicyError> {
        use PolicyErrorKind as K;
        if let Some(d) = &self.base_ejection_time {
            validate_duration(d).map_err(|m| err("baseEjectionTime", K::Duration(m)))?;
        }
        if !self.split_external_local_origin_errors
            && self
                .consecutive_local_origin_failures
                .is_some_and(|n| n > 0)
        {
            return Err(err(
                "consecutiveLocalOriginFailures",
                K::LocalOriginWithoutSplit,
            ));
        }
        if let Some(d) = &self.interval {
            validate_duration(d).map_err(|m| err("interval", K::Duration(m)))?;
        }
        for (at, p) in [
            ("maxEjectionPercent", self.max_ejection_percent),
            ("minHealthPercent", self.min_health_percent),
        ] {
            if let Some(p) = p.filter(|p| !(0..=100).contains(p)) {
                return Err(err(at, K::Percent(p)));
            }
        }
        Ok(())
    }
}

impl TrafficPolicy {
    /// Istio's `validateTrafficPolicy` for the fields meshspan reads: at least one field, then
    /// the outlier detection, the load balancer and each port-level entry
    /// (`validatePortTrafficPolicies`).
    pub fn validate(&self) -> Result<(), PolicyError> {
        use PolicyErrorKind as K;
        if self.load_balancer.is_none()
            && self.outlier_detection.is_none()
            && self.port_level_settings.is_empty()
            && self.tls.is_none()
        {
            return Err(err("", K::EmptyPolicy));
        }
        if let Some(o) = &self.outlier_detection {
            o.validate().map_err(|e| within("outlierDetection", e))?;
        }
        if let Some(lb) = &self.load_balancer {
            lb.validate().map_err(|e| within("loadBalancer", e))?;
        }
        for (i, p) in self.port_level_settings.iter().enumerate() {
            let at = format!("portLevelSettings[{i}]");
            if p.port.number == 0 {
                return Err(err(format!("{at}.port.number"), K::Port(0)));
            }
            if p.load_balancer.is_none() && p.outlier_detection.is_none() && p.tls.is_none() {
                return Err(err(at, K::EmptyPortPolicy));
            }
            if let Some(o) = &p.outlier_detection {
                o.validate()
                    .map_err(|e| within(&format!("{at}.outlierDetection"), e))?;
            }
            if let Some(lb) = &p.load_balancer {
                lb.validate()
                    .map_err(|e| within(&format!("{at}.loadBalancer"), e))?;
            }
        }
        Ok(())
    }
}

impl Subset {
    /// Istio's `validateSubset` for the fields meshspan reads: a DNS-1123 label name
    /// (`validateSubsetName`) and a valid policy.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let n = &self.name;
        let label = !n.is_empty()
            && n.len() <= 63
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !n.starts_with('-')
            && !n.ends_with('-');
        if !label {
            return Err(err("name", PolicyErrorKind::SubsetName(n.clone())));
        }
        if let Some(p) = &self.traffic_policy {
            p.validate().map_err(|e| within("trafficPolicy", e))?;
        }
        Ok(())
    }
}

/// `e` as seen from the object that holds it at `field`.
fn within(field: &str, e: PolicyError) -> PolicyError {
    PolicyError {
        at: if e.at.is_empty() {
            field.to_owned()
        } else if e.at.starts_with('[') {
            format!("{field}{}", e.at)
        } else {
            format!("{field}.{}", e.at)
        },
        kind: e.kind,
    }
}

/// Istio's `ValidateDuration` on a Go duration string (`10s`, `1m30s`, `100ms`): it parses, it is
/// at least 1ms, and it has no precision below a millisecond.
fn validate_duration(text: &str) -> Result<(), String> {
    let nanos = go_duration_nanos(text)
        .ok_or_else(|| format!("{text:?} is not a duration (e.g. 10s, 1m30s, 100ms)"))?;
    if nanos < 1_000_000 {
        return Err("duration must be greater than 1ms".to_owned());
    }
    if nanos % 1_000_000 != 0 {
        return Err("only durations to ms precision are supported".to_owned());
    }
    Ok(())
}

/// A Go `time.ParseDuration` string in nanoseconds (non-negative; `None` when it does not parse
/// or overflows).
fn go_duration_nanos(text: &str) -> Option<u128> {
    let mut rest = text;
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut value = whole.checked_mul(scale)?;
        let mut place = scale;
        for digit in frac.bytes() {
            place /= 10;
            value = value.checked_add(u128::from(digit - b'0') * place)?;
        }
        total = total.checked_add(value)?;
        rest = tail;
    }
    Some(total)
}

// ----- serde: validated on the way in -----

/// What Istio validates where it is read.
pub(crate) trait Validate {
    /// Istio's verdict.
    fn check(&self) -> Result<(), PolicyError>;
}

macro_rules! validates {
    ($($t:ty),*) => {$(
        impl Validate for $t {
            fn check(&self) -> Result<(), PolicyError> {
                self.validate()
            }
        }
    )*};
}
validates!(
    TrafficPolicy,
    LoadBalancerSettings,
    OutlierDetection,
    LocalityLbSetting,
    ZoneAwareLbSetting
);

/// A field validated as Istio does: a value Istio rejects is a parse error at its path. Written
/// with no value (null), it is absent, as protobuf JSON reads it.
pub(crate) fn validated<'de, D: Deserializer<'de>, T: Deserialize<'de> + Validate>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let value = Option::<T>::deserialize(d)?;
    if let Some(v) = &value {
        v.check().map_err(de::Error::custom)?;
    }
    Ok(value)
}

impl Serialize for Weights {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Weights {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Weights;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of locality pattern to weight")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Weights, A::Error> {
                let mut out: Vec<(String, u32)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, u32>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom(format!("field {k:?} is given twice")));
                    }
                    out.push((k, v));
                }
                Ok(Weights(out))
            }
        }
        d.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locality(yaml: &str) -> LocalityLbSetting {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn istio_validation_of_locality_settings() {
        let cases = [
            (
                "{distribute: [{from: a/*, to: {a/b: 100}}], failover: [{from: a, to: b}]}",
                "can not simultaneously specify 'distribute' and 'failover'",
            ),
            (
                "{failover: [{from: a, to: b}], failoverPriority: [topology.kubernetes.io/zone]}",
                "failoverPriority[0]: can not simultaneously set 'failover' and topology label 'topology.kubernetes.io/zone' in 'failover_priority'",
            ),
            (
                "{distribute: [{from: a/*, to: {a/b: 0, a/c: 100}}]}",
                "distribute[0].to.a/b: locality weight must be in range [1, 100]",
            ),
            (
                "{distribute: [{from: a/*, to: {a/b: 60, a/c: 30}}]}",
                "distribute[0].to: total locality weight 90 != 100",
            ),
            (
                "{distribute: [{from: a/*, to: {a/*/c: 100}}]}",
                "distribute[0].to: locality a/*/c wildcard '*' number can not exceed 1 and must be in the end",
            ),
            (
                "{distribute: [{from: 'a//c', to: {a/b: 100}}]}",
                "distribute: locality a//c must not contain empty region/zone/subzone info",
            ),
            (
                "{distribute: [{from: a/*, to: {a: 50, a/b: 50}}]}",
                "distribute[0].to: locality a/b overlap with previous specified ones",
            ),
            (
                "{failover: [{from: us-east, to: us-east}]}",
                "failover[0]: locality lb failover settings must specify different regions",
            ),
            (
                "{failover: [{from: us-east/1a, to: us-west}]}",
                "failover[0]: locality lb failover only specify region",
            ),
            (
                "{failover: [{from: '*', to: us-west}]}",
                "failover[0]: locality lb failover region should not contain '*' wildcard",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(
                locality(yaml).validate().unwrap_err().to_string(),
                want,
                "{yaml}"
            );
        }
        // Istio accepts these: a failover from the empty region, distribute with
        // failoverPriority, failover without outlier detection (a warning only).
        for ok in [
            "{failover: [{from: '', to: us-west}]}",
            "{distribute: [{from: a/*, to: {a/b: 50, c: 50}}], failoverPriority: [topology.kubernetes.io/zone]}",
            "{failoverPriority: [topology.istio.io/network, topology.kubernetes.io/region]}",
        ] {
            assert_eq!(locality(ok).validate(), Ok(()), "{ok}");
        }
        let zone_aware: ZoneAwareLbSetting =
            serde_saphyr::from_str("{failoverPriority: [topology.istio.io/subzone]}").unwrap();
        assert_eq!(
            zone_aware.validate().unwrap_err().kind,
            PolicyErrorKind::ZoneAwareTopologyLabel("topology.istio.io/subzone".into())
        );
    }

    #[test]
    fn durations_and_percentages_as_istio_checks_them() {
        assert_eq!(go_duration_nanos("1m30s"), Some(90_000_000_000));
        assert_eq!(go_duration_nanos("1.5s"), Some(1_500_000_000));
        assert_eq!(go_duration_nanos("10"), None);
        assert_eq!(go_duration_nanos("s"), None);
        assert!(validate_duration("100ms").is_ok());
        assert!(validate_duration("500us").is_err());
        assert!(validate_duration("1.0005s").is_err());
        let o = OutlierDetection {
            max_ejection_percent: Some(101),
            ..Default::default()
        };
        assert_eq!(
            o.validate().unwrap_err().to_string(),
            "maxEjectionPercent: percentage 101 is not in range 0..100"
        );
        let o = OutlierDetection {
            consecutive_local_origin_failures: Some(3),
            ..Default::default()
        };
        assert_eq!(
            o.validate().unwrap_err().kind,
            PolicyErrorKind::LocalOriginWithoutSplit
        );
    }

    fn rule(yaml: &str) -> DestinationRule {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn port_level_replaces_wholesale_and_subsets_merge_field_by_field() {
        let dr = rule(
            r#"
host: reviews.bookinfo
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 5}
  loadBalancer: {localityLbSetting: {failover: [{from: a, to: b}]}}
  portLevelSettings:
  - port: {number: 9443}
    loadBalancer: {simple: ROUND_ROBIN}
subsets:
- name: v1
  labels: {version: v1}
  trafficPolicy:
    loadBalancer: {localityLbSetting: {enabled: false}}
- name: v2
  labels: {version: v2}
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
      outlierDetection: {consecutive5xxErrors: 1}
"#,
        );
        let top = dr.policy_for(9080, None).unwrap();
        assert!(top.outlier_detection.is_some());
        assert_eq!(
            top.load_balancer
                .unwrap()
                .locality_lb_setting
                .unwrap()
                .failover
                .len(),
            1
        );
        // the port-level entry replaces the whole policy: no outlier detection is inherited
        let port = dr.policy_for(9443, None).unwrap();
        assert_eq!(port.outlier_detection, None);
        assert_eq!(
            port.load_balancer.unwrap().simple,
            Some(SimpleLb::RoundRobin)
        );
        // a subset's loadBalancer replaces the rule's; its outlier detection is inherited
        let v1 = dr.policy_for(9080, Some("v1")).unwrap();
        assert!(v1.outlier_detection.is_some());
        assert_eq!(
            v1.load_balancer
                .unwrap()
                .locality_lb_setting
                .unwrap()
                .enabled,
            Some(false)
        );
        // a subset's port-level entry replaces both fields, even the ones it leaves unset
        let v2 = dr.policy_for(9080, Some("v2")).unwrap();
        assert_eq!(v2.load_balancer, None);
        assert_eq!(
            v2.outlier_detection.unwrap().consecutive_5xx_errors,
            Some(1)
        );
        // on another port, v2 has no port-level entry and no field: the rule's policy
        assert_eq!(dr.policy_for(9443, Some("v2")), dr.policy_for(9443, None));
        // an unknown subset is no subset policy
        assert_eq!(dr.policy_for(9080, Some("v9")), dr.policy_for(9080, None));
        // no rule-level policy: the subset's alone
        let only_subset = rule(
            "host: a.b\nsubsets:\n- name: v1\n  trafficPolicy: {outlierDetection: {interval: 1s}}\n",
        );
        assert_eq!(only_subset.policy_for(80, None), None);
        assert!(
            only_subset
                .policy_for(80, Some("v1"))
                .unwrap()
                .outlier_detection
                .is_some()
        );
    }

    #[test]
    fn fields_written_without_a_value_are_absent() {
        let dr = rule("host: a.b\ntrafficPolicy:\nsubsets:\n");
        assert_eq!((dr.traffic_policy, dr.subsets.len()), (None, 0));
        let dr = rule(
            "host: a.b\ntrafficPolicy:\n  loadBalancer:\n  outlierDetection: {interval: 1s}\n",
        );
        let policy = dr.traffic_policy.unwrap();
        assert_eq!(policy.load_balancer, None);
        assert!(policy.outlier_detection.is_some());
    }

    #[test]
    fn distribute_weights_keep_document_order_and_round_trip() {
        let l = locality("{distribute: [{from: a/*, to: {z/b: 20, a/c: 80}}]}");
        assert_eq!(
            l.distribute[0].to.0,
            [("z/b".to_owned(), 20), ("a/c".to_owned(), 80)]
        );
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(
            json,
            r#"{"distribute":[{"from":"a/*","to":{"z/b":20,"a/c":80}}]}"#
        );
        let back: LocalityLbSetting = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        let dup = serde_json::from_str::<Weights>(r#"{"a": 50, "a": 50}"#).unwrap_err();
        assert!(
            dup.to_string().contains(r#"field "a" is given twice"#),
            "{dup}"
        );
    }

    #[test]
    fn tls_mode_port_level_then_policy_subset_then_rule() {
        let dr = rule(
            r#"
host: reviews.bookinfo
trafficPolicy:
  tls: {mode: ISTIO_MUTUAL}
  portLevelSettings:
  - port: {number: 9443}
    tls: {}
  - port: {number: 9080}
    outlierDetection: {consecutive5xxErrors: 5}
subsets:
- name: v1
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9090}
      tls: {mode: SIMPLE}
- name: v2
  labels: {version: v2}
"#,
        );
        // `tls: {}` is DISABLE; a port-level entry without tls keeps the policy's.
        assert_eq!(dr.tls_mode_for(9443, None), Some(ClientTlsMode::Disable));
        assert_eq!(
            dr.tls_mode_for(9080, None),
            Some(ClientTlsMode::IstioMutual)
        );
        // A subset's own mode for the port, else the rule's; an unknown subset has none.
        assert_eq!(
            dr.tls_mode_for(9090, Some("v1")),
            Some(ClientTlsMode::Simple)
        );
        assert_eq!(
            dr.tls_mode_for(9443, Some("v1")),
            Some(ClientTlsMode::Disable)
        );
        assert_eq!(
            dr.tls_mode_for(9080, Some("v2")),
            Some(ClientTlsMode::IstioMutual)
        );
        assert_eq!(dr.tls_mode_for(9080, Some("v3")), None);
        assert_eq!(rule("host: a.b\n").tls_mode_for(80, None), None);
        // A policy holding only `tls` is not empty.
        assert!(
            rule("host: a.b\ntrafficPolicy: {tls: {mode: DISABLE}}\n")
                .traffic_policy
                .is_some()
        );
    }
}
