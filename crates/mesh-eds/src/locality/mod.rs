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

use mesh_model::{ClusterId, NetworkId};

use crate::assignment::{EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
use crate::input::{ProxyClass, ProxyType};

mod distribute;
mod failover;
mod paired;
mod parts;
mod tiers;

use crate::policy::{
    CLUSTER_LABEL, Distribute, EffectiveSetting, Failover, NETWORK_LABEL, Setting,
};
pub(crate) use paired::{EnginePairs, endpoint_label};
use parts::Keyed;
pub(crate) use parts::split as split_locality;
pub(crate) use parts::{PartKey, Parts, part_keys};

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
    gateway_parts_label(endpoint.cluster.as_ref(), endpoint.network.as_ref(), key)
}

/// [`gateway_label`] from the gateway's cluster and network (the push path has no
/// `LbEndpoint`).
pub(crate) fn gateway_parts_label<'a>(
    cluster: Option<&'a ClusterId>,
    network: Option<&'a NetworkId>,
    key: &str,
) -> Option<&'a str> {
    match key {
        CLUSTER_LABEL => cluster.map(|c| c.as_str()),
        NETWORK_LABEL => network.map(|n| n.as_str()),
        _ => None,
    }
}

/// One failoverPriority sub-group (L18): the endpoints of `group` whose tier is `tier`, with
/// their wrapping weight sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) group: usize,
    pub(crate) tier: u32,
    pub(crate) weight: u32,
}

/// What the rules that only rank groups by locality read and write: the failover levels
/// (L12–L14), the zone-aware buckets (L21) and the compaction (L14, L19, L21). Every
/// [`StageGroups`] is one; the push path's fast case (a view whose step is a rank alone,
/// [`Step::rank_only`]) implements only this.
pub(crate) trait GroupPriorities {
    /// The number of groups.
    fn len(&self) -> usize;
    /// Group `g`'s locality as `(region, zone, subzone)` (L28).
    fn parts(&self, g: usize) -> Parts<'_>;
    /// Group `g`'s priority.
    fn priority(&self, g: usize) -> u32;
    fn set_priority(&mut self, g: usize, priority: u32);
    /// Records why group `g` is as it is, where someone reads it (`decision` is called only
    /// then).
    fn decide(&mut self, g: usize, decision: impl FnOnce() -> Decision);
}

/// The groups the stage decides over: the value path's [`LocalityGroup`]s with their reasons,
/// or the push path's planned groups (`crate::encoded`). The rules are in this module; an
/// implementation only reads and writes what they name, so both paths take the same decisions.
pub(crate) trait StageGroups: GroupPriorities {
    /// Group `g`'s locality label.
    fn label(&self, g: usize) -> &str;
    /// Group `g`'s weight (`None` = unset).
    fn weight(&self, g: usize) -> Option<u32>;
    fn set_weight(&mut self, g: usize, weight: u32);
    /// L10: group `g` keeps its place, locality, weight and priority; its endpoints go.
    fn clear_endpoints(&mut self, g: usize);
    /// The number of endpoints of group `g`.
    fn endpoints(&self, g: usize) -> usize;
    /// Endpoint `e` of group `g`: its weight on the wire and a label of its paired
    /// IstioEndpoint (L1, L24).
    fn endpoint_weight(&self, g: usize, e: usize) -> u32;
    fn endpoint_label(&self, g: usize, e: usize, key: &str) -> Option<&str>;
    /// L18, L19: the groups replaced by `parts`, in order. `tiers` holds every endpoint's tier,
    /// group by group; each part gets the endpoints of its group with its tier, in their order,
    /// its weight, and priority = its tier (compacted by the caller).
    fn split(&mut self, tiers: &[u32], parts: &[Part]);
}

/// The value path's groups: an assignment's groups, a reason each, and the labels paired with
/// the endpoints of the assignment that entered the stage.
struct Assigned<'a> {
    groups: Vec<LocalityGroup>,
    reasons: Vec<GroupReason>,
    /// Each group's locality keyed ([`part_keys`]), kept in step with `groups`.
    keys: Vec<[PartKey; 3]>,
    labels: &'a dyn EndpointLabels,
}

impl Assigned<'_> {
    fn key_groups(&mut self) {
        self.keys.clear();
        self.keys
            .extend(self.groups.iter().map(|g| part_keys(&g.locality, 0)));
    }
}

impl GroupPriorities for Assigned<'_> {
    fn len(&self) -> usize {
        self.groups.len()
    }
    fn parts(&self, g: usize) -> Parts<'_> {
        Parts::new(&self.keys[g], &self.groups[g].locality)
    }
    fn priority(&self, g: usize) -> u32 {
        self.groups[g].priority
    }
    fn set_priority(&mut self, g: usize, priority: u32) {
        self.groups[g].priority = priority;
    }
    fn decide(&mut self, g: usize, decision: impl FnOnce() -> Decision) {
        self.reasons[g].decision = decision();
    }
}

impl StageGroups for Assigned<'_> {
    fn label(&self, g: usize) -> &str {
        &self.groups[g].locality
    }
    fn weight(&self, g: usize) -> Option<u32> {
        self.groups[g].weight
    }
    fn set_weight(&mut self, g: usize, weight: u32) {
        self.groups[g].weight = Some(weight);
    }
    fn clear_endpoints(&mut self, g: usize) {
        self.groups[g].endpoints.clear();
    }
    fn endpoints(&self, g: usize) -> usize {
        self.groups[g].endpoints.len()
    }
    fn endpoint_weight(&self, g: usize, e: usize) -> u32 {
        self.groups[g].endpoints[e].weight
    }
    fn endpoint_label(&self, g: usize, e: usize, key: &str) -> Option<&str> {
        self.labels.label(self.reasons[g].source, e, key)
    }
    fn split(&mut self, tiers: &[u32], parts: &[Part]) {
        let groups = std::mem::take(&mut self.groups);
        let reasons = std::mem::take(&mut self.reasons);
        let mut parts = parts.iter().peekable();
        let mut offset = 0;
        for (g, (group, reason)) in groups.into_iter().zip(reasons).enumerate() {
            let own = &tiers[offset..offset + group.endpoints.len()];
            offset += own.len();
            let mut endpoints: Vec<Option<LbEndpoint>> =
                group.endpoints.into_iter().map(Some).collect();
            while let Some(part) = parts.next_if(|p| p.group == g) {
                let members = endpoints
                    .iter_mut()
                    .zip(own)
                    .filter(|(_, t)| **t == part.tier)
                    .filter_map(|(e, _)| e.take())
                    .collect();
                self.groups.push(LocalityGroup {
                    locality: group.locality.clone(),
                    weight: Some(part.weight),
                    priority: part.tier,
                    endpoints: members,
                });
                self.reasons.push(GroupReason {
                    source: reason.source,
                    decision: Decision::Tiered { tier: part.tier },
                    priority: part.tier,
                    weight: Some(part.weight),
                });
            }
        }
        self.key_groups();
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
///     locality: label.into(), weight: None, priority: 0, endpoints: vec![],
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
    let groups = std::mem::take(&mut cla.localities);
    let reasons = groups
        .iter()
        .enumerate()
        .map(|(source, g)| GroupReason {
            source,
            decision: Decision::Untouched(Untouched::NoSetting),
            priority: g.priority,
            weight: g.weight,
        })
        .collect();
    let mut assigned = Assigned {
        groups,
        reasons,
        keys: Vec::new(),
        labels,
    };
    assigned.key_groups();
    let proxy_parts = Keyed::new(&proxy.locality);
    apply_stage(&mut assigned, proxy, proxy_parts.parts(), effective);
    let Assigned {
        groups,
        mut reasons,
        ..
    } = assigned;
    for (group, reason) in groups.iter().zip(&mut reasons) {
        reason.priority = group.priority;
        reason.weight = group.weight;
    }
    cla.localities = groups;
    reasons
}

/// What the stage does to a proxy's groups: the dispatch of L8, L9, L19, L21 and L22, which
/// reads only the proxy and the setting — so the push path takes it once per view, before it
/// plans any group.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'e> {
    /// Every group as it was.
    Untouched(Untouched),
    /// L9–L11 with the first rule whose `from` matches the proxy locality.
    Distribute(&'e Distribute),
    /// failoverPriority tiers (L15–L19) when `tiers` is set (the entries and the proxy's
    /// labels), then a rank by locality on top when `rank` is set; at least one of the two.
    Ranked {
        tiers: Option<(&'e [String], &'e BTreeMap<String, String>)>,
        rank: Option<Rank<'e>>,
    },
}

/// The group-level priorities by locality, each with the setting's `failover` rules.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rank<'e> {
    /// Locality failover levels (L12–L14).
    Levels(&'e [Failover]),
    /// Zone-aware regional buckets (L21).
    Buckets(&'e [Failover]),
}

impl<'e> Step<'e> {
    /// The step for `proxy` under `effective`.
    pub(crate) fn of(proxy: &'e ProxyClass, effective: &'e EffectiveSetting) -> Self {
        let tiers = |entries: &'e [String]| {
            // L19: without proxy labels nothing is split.
            (!entries.is_empty())
                .then_some(proxy.labels.as_ref())
                .flatten()
                .map(|labels| (entries, labels))
        };
        match &effective.setting {
            Setting::None => Self::Untouched(Untouched::NoSetting),
            Setting::ZoneAware { setting, .. } => {
                if setting.enabled == Some(false) {
                    Self::Untouched(Untouched::ZoneAwareDisabled)
                } else if proxy.proxy_type == ProxyType::Waypoint {
                    Self::Untouched(Untouched::Waypoint)
                } else {
                    Self::Ranked {
                        tiers: tiers(&setting.failover_priority),
                        rank: Some(Rank::Buckets(&setting.failover)),
                    }
                }
            }
            Setting::Locality { setting, force, .. } => {
                if !setting.distribute.is_empty() {
                    match distribute::rule(&setting.distribute, &proxy.locality) {
                        Some(rule) => Self::Distribute(rule),
                        None => Self::Untouched(Untouched::NoDistributeRule),
                    }
                } else if effective.outlier_detection || *force {
                    // failoverPriority alone ranks nothing by locality (L19).
                    let levels =
                        setting.failover_priority.is_empty() || !setting.failover.is_empty();
                    let rank = levels.then_some(Rank::Levels(&setting.failover));
                    match (tiers(&setting.failover_priority), rank) {
                        (None, None) => Self::Untouched(Untouched::NoProxyLabels),
                        (tiers, rank) => Self::Ranked { tiers, rank },
                    }
                } else {
                    Self::Untouched(Untouched::NoOutlierDetection)
                }
            }
        }
    }

    /// The rank, when it is all the step does: the groups keep their endpoints and weights and
    /// only their priorities change.
    pub(crate) fn rank_only(self) -> Option<Rank<'e>> {
        match self {
            Self::Ranked { tiers: None, rank } => rank,
            _ => None,
        }
    }
}

impl Rank<'_> {
    /// Sets every group's priority from its entry priority and its locality (then compacts).
    pub(crate) fn apply<G: GroupPriorities>(self, proxy_parts: Parts<'_>, groups: &mut G) {
        match self {
            Self::Levels(rules) => failover::apply_levels(rules, proxy_parts, groups),
            Self::Buckets(rules) => failover::apply_buckets(rules, proxy_parts, groups),
        }
    }
}

/// The stage over any [`StageGroups`]: what [`apply_locality_stage`] runs on an assignment.
/// `proxy_parts` is the proxy's locality split (L28), which a view splits once.
fn apply_stage<G: StageGroups>(
    groups: &mut G,
    proxy: &ProxyClass,
    proxy_parts: Parts<'_>,
    effective: &EffectiveSetting,
) {
    apply_step(Step::of(proxy, effective), groups, proxy_parts);
}

/// `step` taken over `groups` (the push path decides the step once per view).
pub(crate) fn apply_step<G: StageGroups>(step: Step<'_>, groups: &mut G, proxy_parts: Parts<'_>) {
    match step {
        Step::Untouched(why) => {
            for g in 0..groups.len() {
                groups.decide(g, || Decision::Untouched(why));
            }
        }
        Step::Distribute(rule) => distribute::apply(rule, groups),
        Step::Ranked { tiers, rank } => {
            if let Some((entries, labels)) = tiers {
                tiers::apply(entries, labels, groups);
            }
            if let Some(rank) = rank {
                rank.apply(proxy_parts, groups);
            }
        }
    }
}
