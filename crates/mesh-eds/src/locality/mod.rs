//! The locality load-balancing stage (`spec/locality-lb.md`, rules L1–L33): what Istio does to a
//! `ClusterLoadAssignment` after the split-horizon filter. One job: given the groups, the labels
//! paired with their endpoints, the proxy's locality and labels and the cluster's
//! [`EffectiveSetting`] (module `policy`), set each group's priority and weight, empty groups (`distribute`) or
//! split them (`failoverPriority`), and say why for each output group.
//!
//! Dispatch (L8, L21, L22): no setting → unchanged; zone-aware → unchanged when disabled or for a
//! waypoint, else failoverPriority tiers (if any) then regional buckets, whatever the outlier
//! detection; locality → `distribute` if set (only that), else, with outlier detection or
//! `force`, failoverPriority tiers then failover levels if `failover` is set, or failover
//! levels alone.

use std::collections::BTreeMap;
use std::fmt;

use crate::assignment::{EndpointKind, LbEndpoint, LoadAssignment};
use crate::input::{ProxyClass, ProxyType};

mod distribute;
mod failover;
mod paired;
mod parts;
mod tiers;

use crate::policy::{CLUSTER_LABEL, EffectiveSetting, NETWORK_LABEL, Setting};
pub(crate) use paired::EnginePairs;
pub(crate) use parts::split as split_locality;

/// The labels of the IstioEndpoint Istio pairs with each `LbEndpoint` (L1): `label(g, e, key)` is
/// the value of `key` on endpoint `e` of group `g` of the assignment as it enters the stage.
pub trait EndpointLabels {
    /// The value, or `None` when the endpoint has no such label.
    fn label(&self, group: usize, endpoint: usize, key: &str) -> Option<&str>;
}

/// Labels given as maps, one list per group, parallel to the assignment's groups.
impl EndpointLabels for Vec<Vec<BTreeMap<String, String>>> {
    fn label(&self, group: usize, endpoint: usize, key: &str) -> Option<&str> {
        self.get(group)?.get(endpoint)?.get(key).map(String::as_str)
    }
}

/// L24: the labels split-horizon pairs with a gateway `LbEndpoint`: exactly
/// `topology.istio.io/cluster` and `topology.istio.io/network` of the gateway, each when set.
pub fn gateway_label<'a>(endpoint: &'a LbEndpoint, key: &str) -> Option<&'a str> {
    debug_assert_eq!(endpoint.kind, EndpointKind::Gateway);
    match key {
        CLUSTER_LABEL => endpoint.cluster.as_ref().map(|c| c.as_str()),
        NETWORK_LABEL => endpoint.network.as_ref().map(|n| n.as_str()),
        _ => None,
    }
}

/// Why the stage left the assignment as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Untouched {
    /// No setting is in effect (L5, L6: none anywhere, or `enabled: false` reached).
    NoSetting,
    /// A zone-aware setting with `enabled: false` (L6, L22).
    ZoneAwareDisabled,
    /// A zone-aware setting and a waypoint proxy (L22).
    Waypoint,
    /// A locality setting without `distribute`, outlier detection or `force` (L3, L8).
    NoOutlierDetection,
    /// No `distribute` rule's `from` matches the proxy locality (L9).
    NoDistributeRule,
    /// failoverPriority without `failover`, and the proxy has no labels (or there are no
    /// groups): nothing is split (L19).
    NoProxyLabels,
}

/// What the stage decided for one output group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Left as it was.
    Untouched(Untouched),
    /// Claimed by a `distribute` rule's `to` pattern and reweighted (L10).
    Distributed {
        /// The rule's `from`.
        from: String,
        /// The claiming pattern.
        to: String,
        /// The pattern's weight.
        share: u32,
    },
    /// Claimed by no `to` pattern of the matching rule: emptied (L10).
    Unclaimed {
        /// The rule's `from`.
        from: String,
    },
    /// A failoverPriority sub-group of that tier, without locality levels (L18–L20).
    Tiered {
        /// The raw tier (L16, L17).
        tier: u32,
    },
    /// A locality failover level on top of the entry priority (L12–L14).
    Failover {
        /// The priority the group entered with (a failoverPriority tier, or 0).
        tier: u32,
        /// The level (0 same subzone … 4 other region, not the failover target).
        level: u8,
    },
    /// A zone-aware regional bucket on top of the entry priority (L21).
    ZoneAware {
        /// The priority the group entered with.
        tier: u32,
        /// 0 the proxy's region, 1 the failover target, 2 other.
        bucket: u8,
    },
}

impl Decision {
    /// The rule that decided.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Untouched(Untouched::NoSetting) => "L5",
            Self::Untouched(Untouched::ZoneAwareDisabled | Untouched::Waypoint) => "L22",
            Self::Untouched(Untouched::NoOutlierDetection) => "L8",
            Self::Untouched(Untouched::NoDistributeRule) => "L9",
            Self::Untouched(Untouched::NoProxyLabels) => "L19",
            Self::Distributed { .. } | Self::Unclaimed { .. } => "L10",
            Self::Tiered { .. } => "L18",
            Self::Failover { .. } => "L14",
            Self::ZoneAware { .. } => "L21",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.rule();
        match self {
            Self::Untouched(u) => {
                let why = match u {
                    Untouched::NoSetting => "no locality setting in effect",
                    Untouched::ZoneAwareDisabled => "zone-aware setting disabled",
                    Untouched::Waypoint => "zone-aware setting skipped for a waypoint",
                    Untouched::NoOutlierDetection => {
                        "failover needs outlier detection (or trafficDistribution)"
                    }
                    Untouched::NoDistributeRule => "no distribute rule matches the proxy locality",
                    Untouched::NoProxyLabels => "failoverPriority, but the proxy has no labels",
                };
                write!(f, "unchanged: {why} ({rule})")
            }
            Self::Distributed { from, to, share } => {
                write!(
                    f,
                    "distribute from {from:?}: claimed by {to:?} ({share}%) ({rule})"
                )
            }
            Self::Unclaimed { from } => write!(
                f,
                "distribute from {from:?}: claimed by no pattern, endpoints removed ({rule})"
            ),
            Self::Tiered { tier } => write!(f, "failoverPriority tier {tier} (L16, {rule}, L19)"),
            Self::Failover { tier, level } => {
                let what = match level {
                    0 => "same subzone",
                    1 => "same zone",
                    2 => "same region",
                    3 => "other region",
                    _ => "other region, not the failover target",
                };
                write!(
                    f,
                    "failover level {level} ({what}) on tier {tier}: raw {} (L12, L13, {rule})",
                    tier * 5 + u32::from(*level)
                )
            }
            Self::ZoneAware { tier, bucket } => {
                let what = match bucket {
                    0 => "the proxy's region",
                    1 => "the failover target region",
                    _ => "another region",
                };
                write!(
                    f,
                    "zone-aware bucket {bucket} ({what}) on tier {tier} ({rule})"
                )
            }
        }
    }
}

/// Why one output group has its priority and weight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupReason {
    /// The index of the group it came from in the assignment that entered the stage.
    pub source: usize,
    /// What decided.
    pub decision: Decision,
    /// The group's priority in the output.
    pub priority: u32,
    /// The group's weight in the output.
    pub weight: Option<u32>,
}

/// Applies the stage to `cla` in place and returns one reason per output group, in output order.
///
/// ```
/// use mesh_eds::{
///     Failover, LoadAssignment, LocalityGroup, LocalityLbSetting, LocalityPolicy, MeshLocality,
///     ProxyClass, TrafficPolicy, apply_locality_stage,
/// };
/// let group = |label: &str| LocalityGroup {
///     label: label.into(), weight: None, priority: 0, endpoints: vec![],
/// };
/// let mut cla = LoadAssignment {
///     cluster_name: "c".into(),
///     localities: vec![group("r1/z1"), group("r2/z1"), group("r3/z1")],
/// };
/// let policy = LocalityPolicy {
///     destination_rule: Some(TrafficPolicy { outlier_detection: true, ..Default::default() }),
///     mesh: MeshLocality {
///         locality_lb_setting: Some(LocalityLbSetting {
///             failover: vec![Failover { from: "r1".into(), to: "r2".into() }],
///             ..Default::default()
///         }),
///         zone_aware_lb_setting: None,
///     },
///     ..Default::default()
/// };
/// let proxy = ProxyClass { locality: "r1/z1".into(), ..Default::default() };
/// let no_labels = Vec::new(); // the labels paired with each endpoint, per group
/// let why = apply_locality_stage(&mut cla, &no_labels, &proxy, &policy.effective());
/// let priorities: Vec<u32> = cla.localities.iter().map(|g| g.priority).collect();
/// assert_eq!(priorities, [0, 1, 2]); // own region, failover target, any other region
/// assert_eq!(why[2].decision.rule(), "L14");
/// ```
pub fn apply_locality_stage(
    cla: &mut LoadAssignment,
    labels: &dyn EndpointLabels,
    proxy: &ProxyClass,
    effective: &EffectiveSetting,
) -> Vec<GroupReason> {
    let groups = &mut cla.localities;
    let mut reasons: Vec<GroupReason> = groups
        .iter()
        .enumerate()
        .map(|(source, g)| GroupReason {
            source,
            decision: Decision::Untouched(Untouched::NoSetting),
            priority: g.priority,
            weight: g.weight,
        })
        .collect();
    let untouched = |reasons: &mut Vec<GroupReason>, why| {
        for r in reasons.iter_mut() {
            r.decision = Decision::Untouched(why);
        }
    };
    let locality = proxy.locality.as_str();
    match &effective.setting {
        Setting::None => untouched(&mut reasons, Untouched::NoSetting),
        Setting::ZoneAware { setting, .. } => {
            if setting.enabled == Some(false) {
                untouched(&mut reasons, Untouched::ZoneAwareDisabled);
            } else if proxy.proxy_type == ProxyType::Waypoint {
                untouched(&mut reasons, Untouched::Waypoint);
            } else {
                if !setting.failover_priority.is_empty() {
                    tiers::apply(
                        &setting.failover_priority,
                        proxy.labels.as_ref(),
                        labels,
                        groups,
                        &mut reasons,
                    );
                }
                failover::apply_buckets(&setting.failover, locality, groups, &mut reasons);
            }
        }
        Setting::Locality { setting, force, .. } => {
            if !setting.distribute.is_empty() {
                if !distribute::apply(&setting.distribute, locality, groups, &mut reasons) {
                    untouched(&mut reasons, Untouched::NoDistributeRule);
                }
            } else if effective.outlier_detection || *force {
                let mut levels = true;
                if !setting.failover_priority.is_empty() {
                    let tiered = tiers::apply(
                        &setting.failover_priority,
                        proxy.labels.as_ref(),
                        labels,
                        groups,
                        &mut reasons,
                    );
                    levels = !setting.failover.is_empty();
                    if !tiered && !levels {
                        untouched(&mut reasons, Untouched::NoProxyLabels);
                    }
                }
                if levels {
                    failover::apply_levels(&setting.failover, locality, groups, &mut reasons);
                }
            } else {
                untouched(&mut reasons, Untouched::NoOutlierDetection);
            }
        }
    }
    for (group, reason) in groups.iter().zip(&mut reasons) {
        reason.priority = group.priority;
        reason.weight = group.weight;
    }
    reasons
}
