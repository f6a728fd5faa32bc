//! The push fast path: a prepared service turned into cached wire bytes once, so that each view's
//! `ClusterLoadAssignment` is written by copying bytes and adding up a few integers.
//!
//! [`crate::View::assignment`] builds a [`crate::LoadAssignment`] per view and [`crate::wire`]
//! encodes it: per view, every kept endpoint is an owned value built and then serialized, and every
//! remote endpoint adds its share to each of its gateways. Here the view-independent work is done
//! once per service instead:
//!
//! * every endpoint a direct path could keep is encoded once (its weight is the index's, not the
//!   view's: rule M10's scale factor belongs to the gateway index);
//! * the members of each locality group are grouped by (network, candidate list), and for each such
//!   set the sum of the gateway shares `⌊w·S / r⌋` (M11) is kept for every possible number `r` of
//!   reachable gateways, so a view adds one number per gateway instead of one per endpoint;
//! * gateway entries are the index's cached bytes up to the weight ([`GatewayIndex`]).
//!
//! A view then decides, per (group, network, list), whether the set goes direct, through gateways
//! or nowhere — the decisions of [`crate::modern`] taken once per set rather than once per
//! endpoint, since every input to them (visibility M2a, same network M8, candidates M7, reachable
//! gateways M14) is the same for every member of a set. A property test over random meshes proves
//! the bytes equal `wire::encode_into_with(&view.assignment(..))` for every view.
//!
//! The locality stage (L1–L33) is applied per view when the service's policy is not inert: the
//! view's step (`crate::locality::Step`, from its class and the setting) is taken once. A step
//! that only ranks groups by locality (`ranked`: Istio's default failover) writes the groups on
//! the loop above with their priorities; any other (`staged`) plans the groups first, then the
//! value path's own decisions set their priorities and weights, empty them (`distribute`) or
//! split them into failoverPriority sub-groups — choices among the cached entries, so nothing
//! is encoded again. An inert policy, or an untouched step, takes the loop above unchanged.

use std::ops::Range;
use std::sync::Arc;

use mesh_model::NetworkId;

use crate::error::NotEncodable;
use crate::first_seen::FirstSeen;
use crate::index::{GatewayIndex, RouteKey};
use crate::input::{ClusterKind, EdsEndpoint};
use crate::locality::{PartKey, Parts, Step, endpoint_label, part_keys};
use crate::modern::{NetworkRules, Routes, first_group_totals};
use crate::policy::{EffectiveSetting, LocalityPolicy};
use crate::prepared::{PreparedEndpoint, PreparedService, Transport};
use crate::rules::{
    CONNECT_ORIGINATE, gateway_weight, index_u32, join_host_port, scale_weight,
    write_workload_metadata,
};
use crate::view::{Algorithm, View};
use crate::wire::{self, AddressRef, EncodeOptions};

/// Candidate lists up to this long keep a precomputed share sum for every `r`; longer ones (rare:
/// more than 8 gateways for one network or cluster) add up their members' shares per view.
const MAX_PRECOMPUTED_R: usize = 8;

mod ranked;
mod staged;

use ranked::Ranked;

/// One service port encoded once for every modern-profile view of one gateway index: the fast
/// path of a push. Owns its data (no borrow of the request), so it can be kept and shared.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, EncodedService, GatewayIndex, PreparedService};
/// use mesh_eds::{ProxyClass, ServiceRequest, View, wire};
/// use mesh_model::Gateway;
/// let index = Arc::new(GatewayIndex::new([Gateway {
///     network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
///     hbone_port: 0, service_account: String::new(),
/// }]));
/// let cluster: ClusterRequest = "outbound|80||foo.ns1".parse()?;
/// let endpoints = [EdsEndpoint {
///     addresses: vec!["10.2.0.1".into()], port: 8080, network: Some("n2".parse()?),
///     ..Default::default()
/// }];
/// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// };
/// let prepared = PreparedService::new(&index, request);
/// let encoded = EncodedService::new(&prepared, wire::EncodeOptions::default());
/// let view = View::new(&index, ProxyClass { network: Some("n1".parse()?), ..Default::default() });
/// let mut fast = Vec::new();
/// encoded.encode_into(&view, &mut fast)?;
/// assert_eq!(fast, wire::encode(&view.assignment(&request)?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EncodedService {
    index: Arc<GatewayIndex>,
    options: EncodeOptions,
    enabled: bool,
    sni: bool,
    /// `Features::gateway_in_first_group`.
    gateway_in_first_group: bool,
    /// The locality stage (L1), when the service's policy can change what a view receives:
    /// applied per view over the planned groups ([`EncodedService::encode_staged`]).
    stage: Option<Arc<Stage>>,
    /// What a weight patch leaves alone (unless an entry changes length), shared between the
    /// service and its patched copies.
    shape: Arc<Shape>,
    sets: Vec<Set>,
    /// Localities and kept endpoints, encoded.
    bytes: Vec<u8>,
    /// Per set: the share sums for r = 1..=n, as (all mTLS members, those without an address).
    sums: Vec<(u32, u32)>,
}

/// The parts of an [`EncodedService`] that weight changes do not touch.
#[derive(Debug, Clone)]
struct Shape {
    /// The `cluster_name` field.
    head: Box<[u8]>,
    /// The service's distinct endpoint networks (`PreparedService::networks`).
    networks: Vec<Option<NetworkId>>,
    groups: Vec<Group>,
    /// Endpoints a direct path keeps, set by set, in input order within a set.
    members: Vec<Member>,
    /// Per set with a long candidate list: (scaled weight, no address) of each mTLS member
    /// (a service with such a set is never patched).
    shares: Vec<(u32, bool)>,
    /// Per input position: the set of the selected endpoint there and its index in `members`
    /// (`NONE` when not selected / not kept), so a weight change can be patched in.
    by_input: Vec<(u32, u32)>,
}

const NONE: u32 = u32::MAX;

/// An endpoint whose weight (and direct bytes) changed and nothing else that decides where it
/// goes: what [`EncodedService::patched`] applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WeightChange<'p> {
    /// Its position in the service's endpoints (unchanged since the service was encoded).
    pub(crate) position: u32,
    pub(crate) old_weight: u32,
    pub(crate) new_weight: u32,
    /// Its new direct bytes up to the weight.
    pub(crate) prefix: &'p [u8],
    /// How it is reached (M2, M3) — the same before and after.
    pub(crate) transport: Transport,
}

#[derive(Debug, Clone)]
struct Group {
    /// The `locality` field, in `bytes`.
    locality: Range<usize>,
    sets: Range<usize>,
    /// Some member has an address: a view that sees every network keeps the group (M2).
    addressed: bool,
}

/// What the locality stage needs of a service besides its encoded groups: its effective
/// setting, and for failoverPriority the label values paired with each endpoint (L2).
#[derive(Debug)]
struct Stage {
    effective: EffectiveSetting,
    /// Every group's locality label, one after the other (one allocation, read together).
    labels_text: String,
    /// Per group (in `Shape::groups` order): where its label is in `labels_text`, and its
    /// region, zone and subzone there, keyed (split once, not per view).
    groups: Vec<((u32, u32), [PartKey; 3])>,
    /// The failoverPriority entries' keys (the part before `=`, L15), in entry order.
    keys: Vec<Box<str>>,
    /// `labels[position * keys.len() + j]`: key `j` on the endpoint at input `position`.
    labels: Vec<Option<Box<str>>>,
}

impl Stage {
    /// Group `index`'s locality label.
    #[inline]
    fn label(&self, index: usize) -> &str {
        let (a, b) = self.groups[index].0;
        self.labels_text
            .get(a as usize..b as usize)
            .unwrap_or_default()
    }

    /// Group `index`'s locality as `(region, zone, subzone)`, split when the service was encoded.
    #[inline]
    fn parts(&self, index: usize) -> Parts<'_> {
        Parts::new(&self.groups[index].1, &self.labels_text)
    }
}

/// One group as a view plans it: the group, the sets it keeps directly, and its gateways with the
/// sum of their shares.
type GroupPlan<'s> = (&'s Group, Vec<&'s Set>, Vec<(u32, u32)>);

/// A group's direct entries: the cached bytes of whole sets, or chosen members (a
/// failoverPriority sub-group, or a group planned for one).
#[derive(Debug, Clone, Copy)]
enum Direct<'a, 's> {
    Sets(&'a [&'s Set]),
    Members(&'a [Member]),
}

/// What [`EncodedService::measure`] adds up of a group.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    direct_len: usize,
    gateway_len: usize,
    /// Wrapping and saturating sums of the entries' weights (M12).
    wrapping: u32,
    saturating: u32,
}

/// The members of one group on one (network, candidate list): they share every view decision.
#[derive(Debug, Clone)]
struct Set {
    network: u32,
    route: RouteKey,
    /// Members, and those with an address (M2).
    total: u32,
    with_address: u32,
    /// mTLS-capable members (M15), and those without an address.
    mtls: u32,
    mtls_no_address: u32,
    /// The members a direct path keeps, in `members`, and their bytes.
    kept: Range<usize>,
    bytes: Range<usize>,
    /// Wrapping and saturating sums of the kept members' weights (the saturating one is read only
    /// when multi-network is off, and a service encoded so is never patched).
    wrapping: u32,
    saturating: u32,
    /// In `sums` (r = 1..=len) or, for long lists, in `shares`.
    sums: Range<usize>,
    shares: Range<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    /// Position in the request (orders members of several sets).
    input: u32,
    /// Its weight on the wire: read only by the locality stage's failoverPriority split, and a
    /// service with failoverPriority is never patched, so it stays current.
    weight: u32,
    bytes: (usize, usize),
}

impl EncodedService {
    /// Encodes what every modern view of `prepared`'s gateway index may copy.
    pub fn new(prepared: &PreparedService<'_>, options: EncodeOptions) -> Self {
        let endpoints = prepared.request.endpoints;
        let mut workload = String::new();
        let encoded = Self::build(
            &prepared.index,
            options,
            prepared.request.cluster.kind == ClusterKind::SniDnat,
            prepared.request.features.gateway_in_first_group,
            &prepared.cluster_name,
            &prepared.networks,
            prepared
                .groups
                .iter()
                .map(|g| (g.label, g.members.as_slice())),
            |m, buf| {
                let ep = &endpoints[m.index as usize];
                write_direct_prefix(
                    ep,
                    m.transport.hbone,
                    m.transport.mtls,
                    options,
                    &mut workload,
                    buf,
                );
            },
        );
        encoded.with_locality(
            prepared.request.locality,
            prepared.groups.iter().map(|g| g.label),
            endpoints,
        )
    }

    /// This service with the locality stage of `policy` applied to every view (nothing when the
    /// policy is inert); `group_labels` are its groups' locality labels (as given to
    /// [`EncodedService::build`]) and `endpoints` the service's, read for failoverPriority labels.
    pub(crate) fn with_locality<'l>(
        mut self,
        policy: &LocalityPolicy,
        group_labels: impl Iterator<Item = &'l str>,
        endpoints: &[EdsEndpoint],
    ) -> Self {
        if policy.is_inert() {
            self.stage = None;
            return self;
        }
        let effective = policy.effective();
        let keys: Vec<Box<str>> = effective
            .failover_priority()
            .iter()
            .map(|entry| entry.split('=').next().unwrap_or("").into())
            .collect();
        let labels = if keys.is_empty() {
            Vec::new()
        } else {
            endpoints
                .iter()
                .flat_map(|e| keys.iter().map(|k| endpoint_label(e, k).map(Into::into)))
                .collect()
        };
        let mut labels_text = String::new();
        let groups = group_labels
            .map(|l| {
                let at = labels_text.len();
                labels_text.push_str(l);
                ((index_u32(at), index_u32(at + l.len())), part_keys(l, at))
            })
            .collect();
        self.stage = Some(Arc::new(Stage {
            groups,
            labels_text,
            effective,
            keys,
            labels,
        }));
        self
    }

    /// [`EncodedService::new`] with each kept member's `LbEndpoint` bytes up to its weight
    /// ([`write_direct_prefix`]) written by `prefix` — from the endpoint, or copied from what a
    /// store keeps.
    #[allow(clippy::too_many_arguments)] // each is one input of the encoding, named
    pub(crate) fn build<'g>(
        index: &Arc<GatewayIndex>,
        options: EncodeOptions,
        sni: bool,
        gateway_in_first_group: bool,
        cluster_name: &str,
        networks: &[Option<&NetworkId>],
        groups: impl Iterator<Item = (&'g str, &'g [PreparedEndpoint])> + Clone,
        mut prefix: impl FnMut(&PreparedEndpoint, &mut Vec<u8>),
    ) -> Self {
        let index = Arc::clone(index);
        let enabled = index.multi_network_enabled();
        let scale = index.scale_factor().max(1);
        let (group_count, members) = groups
            .clone()
            .fold((0, 0), |(g, m), (_, list)| (g + 1, m + list.len()));
        let mut shape = Shape {
            head: {
                let mut head = Vec::new();
                wire::put_cluster_name(&mut head, cluster_name);
                head.into_boxed_slice()
            },
            networks: networks.iter().map(|n| n.cloned()).collect(),
            groups: Vec::with_capacity(group_count),
            members: Vec::with_capacity(members),
            shares: Vec::new(),
            by_input: Vec::new(),
        };
        // At least one set a group; never groups × networks (a service whose endpoints each sit
        // in their own locality and network has as many sets as endpoints, not their square).
        let mut sets = Vec::with_capacity(group_count);
        let mut bytes = Vec::new();
        let mut sums = Vec::new();
        // Per group: the distinct (network, list) keys in order of appearance, each member's,
        // and the members bucketed by key (input order within a key).
        let mut keys: FirstSeen<(u32, RouteKey)> = FirstSeen::default();
        let mut member_set: Vec<u32> = Vec::new();
        let mut bounds: Vec<usize> = Vec::new();
        let mut order: Vec<u32> = Vec::new();
        let mut list: Vec<&PreparedEndpoint> = Vec::new();
        let mut scratch: Vec<u8> = Vec::new();
        for (label, group) in groups {
            let start = bytes.len();
            wire::put_locality(&mut bytes, label);
            let locality = start..bytes.len();
            keys.clear();
            member_set.clear();
            member_set.extend(
                group
                    .iter()
                    .map(|m| keys.number((m.network, m.route), |a, b| a == b)),
            );
            bucket(&member_set, keys.values().len(), &mut bounds, &mut order);
            let first_set = sets.len();
            for (set, &(network, route)) in keys.values().iter().enumerate() {
                list.clear();
                list.extend(
                    order[bounds[set]..bounds[set + 1]]
                        .iter()
                        .map(|&i| &group[i as usize]),
                );
                let kept_start = shape.members.len();
                let bytes_start = bytes.len();
                let (mut wrapping, mut saturating) = (0u32, 0u32);
                let set_index = index_u32(sets.len());
                for m in &list {
                    let position = m.index as usize;
                    if shape.by_input.len() <= position {
                        shape.by_input.resize(position + 1, (NONE, NONE));
                    }
                    shape.by_input[position] = (set_index, NONE);
                    // The direct path's drops: M2 / M9 with gateways, M2 without (M5); M16.
                    let no_host = if enabled {
                        m.transport.empty_host
                    } else {
                        m.transport.no_addresses
                    };
                    if no_host || (sni && !m.transport.mtls) {
                        continue;
                    }
                    let w = if enabled {
                        scale_weight(m.weight, scale)
                    } else {
                        m.weight
                    };
                    wrapping = wrapping.wrapping_add(w);
                    saturating = saturating.saturating_add(w);
                    scratch.clear();
                    prefix(m, &mut scratch);
                    if shape.members.is_empty() {
                        // Room for every member at about the first one's size: no regrowth.
                        bytes.reserve((scratch.len() + 16) * members);
                    }
                    let at = bytes.len();
                    wire::put_weighted_entry(&mut bytes, &scratch, w);
                    shape.by_input[position].1 = index_u32(shape.members.len());
                    shape.members.push(Member {
                        input: m.index,
                        weight: w,
                        bytes: (at, bytes.len()),
                    });
                }
                let count = |f: &dyn Fn(&PreparedEndpoint) -> bool| -> u32 {
                    u32::try_from(list.iter().filter(|m| f(m)).count()).unwrap_or(u32::MAX)
                };
                let n = if enabled { index.list_len(route) } else { 0 };
                let (sums_start, shares_start) = (sums.len(), shape.shares.len());
                let scaled = |m: &PreparedEndpoint| scale_weight(m.weight, scale);
                if n <= MAX_PRECOMPUTED_R {
                    for r in 1..=n as u32 {
                        let (mut all, mut no_address) = (0u32, 0u32);
                        for m in list.iter().filter(|m| m.transport.mtls) {
                            let share = scaled(m) / r;
                            all = all.wrapping_add(share);
                            if m.transport.no_addresses {
                                no_address = no_address.wrapping_add(share);
                            }
                        }
                        sums.push((all, no_address));
                    }
                } else {
                    shape.shares.extend(
                        list.iter()
                            .filter(|m| m.transport.mtls)
                            .map(|m| (scaled(m), m.transport.no_addresses)),
                    );
                }
                sets.push(Set {
                    network,
                    route,
                    total: count(&|_| true),
                    with_address: count(&|m| !m.transport.no_addresses),
                    mtls: count(&|m| m.transport.mtls),
                    mtls_no_address: count(&|m| m.transport.mtls && m.transport.no_addresses),
                    kept: kept_start..shape.members.len(),
                    bytes: bytes_start..bytes.len(),
                    wrapping,
                    saturating,
                    sums: sums_start..sums.len(),
                    shares: shares_start..shape.shares.len(),
                });
            }
            shape.groups.push(Group {
                locality,
                addressed: sets[first_set..].iter().any(|s| s.with_address > 0),
                sets: first_set..sets.len(),
            });
        }
        Self {
            index,
            options,
            enabled,
            sni,
            gateway_in_first_group,
            stage: None,
            shape: Arc::new(shape),
            sets,
            bytes,
            sums,
        }
    }

    /// This service with `changes` applied: each changed endpoint's direct entry rewritten and its
    /// weight's contributions to its set's sums moved — the same as encoding the changed service
    /// again, at the cost of a copy instead of a pass over every endpoint. `None` when a change
    /// cannot be patched (multi-network off, a long candidate list, an unknown position): encode
    /// again then.
    pub(crate) fn patched(&self, changes: &[WeightChange<'_>]) -> Option<Self> {
        if !self.enabled || self.stage.as_ref().is_some_and(|s| !s.keys.is_empty()) {
            return None;
        }
        let scale = self.index.scale_factor().max(1);
        let mut out = self.clone();
        let mut resized: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut entry = Vec::new();
        for c in changes {
            let &(set, member) = self.shape.by_input.get(c.position as usize)?;
            if set == NONE {
                // Not selected before, so not now either (the caller checks): no contribution.
                continue;
            }
            let set = out.sets.get_mut(set as usize)?;
            let (old, new) = (
                scale_weight(c.old_weight, scale),
                scale_weight(c.new_weight, scale),
            );
            if c.transport.mtls {
                if !set.shares.is_empty() {
                    return None;
                }
                // M11: ⌊w·S / r⌋ for each r, moved from the old weight to the new.
                for (r, (all, no_address)) in (1u32..).zip(&mut out.sums[set.sums.clone()]) {
                    let moved = |sum: u32| sum.wrapping_sub(old / r).wrapping_add(new / r);
                    *all = moved(*all);
                    if c.transport.no_addresses {
                        *no_address = moved(*no_address);
                    }
                }
            }
            if member == NONE {
                continue;
            }
            set.wrapping = set.wrapping.wrapping_sub(old).wrapping_add(new);
            entry.clear();
            wire::put_weighted_entry(&mut entry, c.prefix, new);
            let (a, b) = out.shape.members.get(member as usize)?.bytes;
            if b - a == entry.len() {
                out.bytes[a..b].copy_from_slice(&entry);
            } else {
                resized.push((member, entry.clone()));
            }
        }
        if !resized.is_empty() {
            out.rewrite(resized);
        }
        Some(out)
    }

    /// Lays the bytes out again with some members' entries replaced by entries of another length.
    fn rewrite(&mut self, mut resized: Vec<(u32, Vec<u8>)>) {
        resized.sort_by_key(|(m, _)| *m);
        // A member changed twice: its last entry.
        resized.reverse();
        resized.dedup_by_key(|(m, _)| *m);
        resized.reverse();
        let mut next = resized.iter().peekable();
        let old = std::mem::take(&mut self.bytes);
        let mut bytes = Vec::with_capacity(old.len() + resized.len() * 8);
        let shape = Arc::make_mut(&mut self.shape);
        for group in &mut shape.groups {
            let start = bytes.len();
            bytes.extend_from_slice(&old[group.locality.clone()]);
            group.locality = start..bytes.len();
            for set in &mut self.sets[group.sets.clone()] {
                let start = bytes.len();
                for (i, m) in
                    (set.kept.start..set.kept.end).zip(&mut shape.members[set.kept.clone()])
                {
                    let at = bytes.len();
                    match next.peek() {
                        Some((r, entry)) if *r as usize == i => {
                            bytes.extend_from_slice(entry);
                            next.next();
                        }
                        _ => bytes.extend_from_slice(&old[m.bytes.0..m.bytes.1]),
                    }
                    m.bytes = (at, bytes.len());
                }
                set.bytes = start..bytes.len();
            }
        }
        self.bytes = bytes;
    }

    /// Appends the `ClusterLoadAssignment` bytes `view` receives for this service: exactly
    /// `wire::encode_into_with(&view.assignment_prepared(prepared)?, options, buf)`.
    pub fn encode_into(&self, view: &View, buf: &mut Vec<u8>) -> Result<(), NotEncodable> {
        let Algorithm::Modern(routes) = view.algorithm() else {
            return Err(NotEncodable::LegacyProfile);
        };
        if !Arc::ptr_eq(view.index(), &self.index) {
            return Err(NotEncodable::OtherIndex);
        }
        // M8 / M2a per network: the decisions `modern::compute` takes.
        let networks = NetworkRules::new(view.class(), &self.shape.networks);

        buf.extend_from_slice(&self.shape.head);
        let Some(stage) = &self.stage else {
            self.write_groups(&networks, routes, |_| 0, buf);
            return Ok(());
        };
        let step = Step::of(view.class(), &stage.effective);
        if let Step::Untouched(_) = step {
            // L5, L8, L9, L19, L22: every group as the default path writes it.
            self.write_groups(&networks, routes, |_| 0, buf);
            return Ok(());
        }
        if let Some(rank) = step.rank_only() {
            let mut ranked = Ranked::new(stage);
            if self.rank_into(&mut ranked, rank, view, &networks) {
                self.write_groups(&networks, routes, |kept| ranked.priority(kept), buf);
                return Ok(());
            }
        }
        self.encode_staged(stage, step, view, &networks, routes, buf);
        Ok(())
    }

    /// Every group a view keeps, planned and written (the default path), the `kept`-th of them
    /// with priority `priority(kept)`.
    #[inline(always)] // the push path's hot loop
    fn write_groups(
        &self,
        networks: &NetworkRules<'_, Option<NetworkId>>,
        routes: &Routes,
        priority: impl Fn(usize) -> u32,
        buf: &mut Vec<u8>,
    ) {
        let mut merged: Vec<Member> = Vec::new();
        if !self.gateway_in_first_group {
            let mut direct: Vec<&Set> = Vec::new();
            let mut gateways: Vec<(u32, u32)> = Vec::new();
            let mut kept = 0;
            for group in &self.shape.groups {
                if self.plan(group, networks, routes, &mut direct, &mut gateways) {
                    self.write_group(group, &direct, &gateways, priority(kept), &mut merged, buf);
                    kept += 1;
                }
            }
            return;
        }
        // `Features::gateway_in_first_group`: every group planned first, then each gateway
        // written once, in the first group that routes through it, with every group's shares.
        let mut plans: Vec<GroupPlan<'_>> = Vec::new();
        for group in &self.shape.groups {
            let (mut direct, mut gateways) = (Vec::new(), Vec::new());
            if self.plan(group, networks, routes, &mut direct, &mut gateways) {
                plans.push((group, direct, gateways));
            }
        }
        let totals = first_group_totals(plans.iter().map(|(_, _, g)| g.as_slice()));
        for (i, (group, direct, gateways)) in plans.iter_mut().enumerate() {
            gateways.retain_mut(|(g, sum)| match totals.get(g) {
                Some(&(first, total)) if first == i => {
                    *sum = total;
                    true
                }
                _ => false,
            });
            self.write_group(group, direct, gateways, priority(i), &mut merged, buf);
        }
    }

    /// M2: a visible set's members a view admits — without gateways, or on the proxy's network
    /// (`same`), address-less members drop.
    #[inline(always)]
    fn admitted(&self, set: &Set, same: bool) -> u32 {
        if !self.enabled || same {
            set.with_address
        } else {
            set.total
        }
    }

    /// A view's decisions for one group (M2, M2a, M7–M9, M11, M14, M15): the sets it keeps
    /// directly in `direct`, and in `gateways` each reachable gateway with the sum of its shares
    /// (M13 order, one entry each). `false` when no member is admitted: no group at all.
    #[inline(always)] // one loop with `write_group` on the push path's hot path
    fn plan<'s>(
        &'s self,
        group: &Group,
        networks: &NetworkRules<'_, Option<NetworkId>>,
        routes: &Routes,
        direct: &mut Vec<&'s Set>,
        gateways: &mut Vec<(u32, u32)>,
    ) -> bool {
        direct.clear();
        gateways.clear();
        let mut admitted_any = false;
        for set in &self.sets[group.sets.clone()] {
            if !networks.visible(set.network) {
                continue;
            }
            let same = networks.same_network(set.network);
            admitted_any |= self.admitted(set, same) > 0;
            if !self.enabled {
                direct.push(set);
                continue;
            }
            let route = routes.get(set.route);
            let candidates = route.map_or(0, |r| r.candidates);
            match route {
                Some(r) if networks.through_gateways(set.network, candidates) => {
                    // M11 / M14 / M15: mTLS members' shares to every reachable gateway.
                    let contributing = if same {
                        set.mtls - set.mtls_no_address
                    } else {
                        set.mtls
                    };
                    if r.reachable.is_empty() || contributing == 0 {
                        continue;
                    }
                    let share = self.share_sum(set, r.reachable.len(), same);
                    gateways.extend(r.reachable.iter().map(|&g| (g, share)));
                }
                _ => direct.push(set),
            }
        }
        // M13: gateways in index order, one entry each.
        gateways.sort_unstable_by_key(|&(g, _)| g);
        gateways.dedup_by(|later, first| {
            let same_gateway = later.0 == first.0;
            if same_gateway {
                first.1 = first.1.wrapping_add(later.1);
            }
            same_gateway
        });
        admitted_any
    }

    /// Writes one group: its direct sets' cached bytes, `gateways` weighted from their share sums
    /// (M11: 0 is sent as 1), its weight (M12) and `priority`.
    #[inline(always)]
    fn write_group(
        &self,
        group: &Group,
        direct: &[&Set],
        gateways: &[(u32, u32)],
        priority: u32,
        merged: &mut Vec<Member>,
        buf: &mut Vec<u8>,
    ) {
        let sizes = self.measure(Direct::Sets(direct), gateways);
        let weight = self.group_weight(sizes);
        self.put_group(
            group,
            Direct::Sets(direct),
            gateways,
            sizes,
            weight,
            priority,
            merged,
            buf,
        );
    }

    /// The lengths and weight sums of a group's direct entries and gateways.
    #[inline(always)]
    fn measure(&self, direct: Direct<'_, '_>, gateways: &[(u32, u32)]) -> Sizes {
        let mut sizes = Sizes::default();
        match direct {
            Direct::Sets(sets) => {
                for set in sets {
                    sizes.direct_len += set.bytes.len();
                    sizes.wrapping = sizes.wrapping.wrapping_add(set.wrapping);
                    sizes.saturating = sizes.saturating.saturating_add(set.saturating);
                }
            }
            Direct::Members(members) => {
                for m in members {
                    sizes.direct_len += m.bytes.1 - m.bytes.0;
                    sizes.wrapping = sizes.wrapping.wrapping_add(m.weight);
                    sizes.saturating = sizes.saturating.saturating_add(m.weight);
                }
            }
        }
        for &(g, sum) in gateways {
            let weight = gateway_weight(sum);
            sizes.wrapping = sizes.wrapping.wrapping_add(weight);
            sizes.gateway_len +=
                wire::weighted_entry_len(self.index.gateway_prefix(g, self.options), weight);
        }
        sizes
    }

    /// M12: a group's weight.
    #[inline(always)]
    fn group_weight(&self, sizes: Sizes) -> Option<u32> {
        if !self.enabled && !self.sni {
            Some(sizes.saturating)
        } else if sizes.direct_len == 0 && sizes.gateway_len == 0 {
            None
        } else {
            Some(sizes.wrapping)
        }
    }

    /// Writes one group with the given weight and priority.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)] // the group's parts, measured once by the caller
    fn put_group(
        &self,
        group: &Group,
        direct: Direct<'_, '_>,
        gateways: &[(u32, u32)],
        sizes: Sizes,
        weight: Option<u32>,
        priority: u32,
        merged: &mut Vec<Member>,
        buf: &mut Vec<u8>,
    ) {
        let body = group.locality.len()
            + sizes.direct_len
            + sizes.gateway_len
            + weight.map_or(0, wire::group_weight_len)
            + wire::group_priority_len(priority);
        buf.reserve(wire::group_field_len(body));
        wire::put_group_header(buf, body);
        buf.extend_from_slice(&self.bytes[group.locality.clone()]);
        match direct {
            Direct::Sets([]) => {}
            Direct::Sets([set]) => buf.extend_from_slice(&self.bytes[set.bytes.clone()]),
            Direct::Sets(sets) => {
                // Several sets go direct: their members in input order (M3).
                merged.clear();
                for set in sets {
                    merged.extend_from_slice(&self.shape.members[set.kept.clone()]);
                }
                merged.sort_unstable_by_key(|m| m.input);
                for m in merged.iter() {
                    buf.extend_from_slice(&self.bytes[m.bytes.0..m.bytes.1]);
                }
            }
            Direct::Members(members) => {
                for m in members {
                    buf.extend_from_slice(&self.bytes[m.bytes.0..m.bytes.1]);
                }
            }
        }
        for &(g, sum) in gateways {
            let weight = gateway_weight(sum);
            wire::put_weighted_entry(buf, self.index.gateway_prefix(g, self.options), weight);
        }
        if let Some(w) = weight {
            wire::put_group_weight(buf, w);
        }
        wire::put_group_priority(buf, priority);
    }

    /// M11: the sum of `⌊w·S / r⌋` over the set's contributing members (without the address-less
    /// ones when they are dropped by M2, i.e. when the set is on the proxy's network).
    fn share_sum(&self, set: &Set, r: usize, same: bool) -> u32 {
        if let Some(&(all, no_address)) = self.sums[set.sums.clone()].get(r.wrapping_sub(1)) {
            return if same {
                all.wrapping_sub(no_address)
            } else {
                all
            };
        }
        let r = u32::try_from(r).unwrap_or(u32::MAX);
        self.shape.shares[set.shares.clone()]
            .iter()
            .filter(|&&(_, no_address)| !(same && no_address))
            .fold(0u32, |acc, &(w, _)| acc.wrapping_add(w / r))
    }
}

/// The `LbEndpoint` bytes up to the weight of `ep` on a direct path: what
/// `rules::direct_endpoint` builds, written from borrowed parts (`workload` is scratch space).
pub(crate) fn write_direct_prefix(
    ep: &EdsEndpoint,
    hbone: bool,
    mtls: bool,
    options: EncodeOptions,
    workload: &mut String,
    buf: &mut Vec<u8>,
) {
    write_workload_metadata(ep, workload);
    let endpoint_id;
    let address = if hbone {
        endpoint_id = join_host_port(ep.address(), ep.port);
        AddressRef::Internal(CONNECT_ORIGINATE, &endpoint_id)
    } else {
        AddressRef::Socket(ep.address(), ep.port)
    };
    wire::put_lb_endpoint_prefix(buf, address, mtls, workload, options);
}

/// A counting sort of positions by key: `order[bounds[k]..bounds[k + 1]]` are the positions `i`
/// with `keys[i] == k`, ascending. O(positions + distinct keys).
fn bucket(keys: &[u32], distinct: usize, bounds: &mut Vec<usize>, order: &mut Vec<u32>) {
    bounds.clear();
    bounds.resize(distinct + 1, 0);
    for &k in keys {
        bounds[k as usize + 1] += 1;
    }
    for k in 1..bounds.len() {
        bounds[k] += bounds[k - 1];
    }
    order.clear();
    order.resize(keys.len(), 0);
    // `bounds[k]` as key k's cursor: afterwards it is where key k + 1 starts, so shifting by one
    // gives the bounds again (no second vector).
    for (i, &k) in (0u32..).zip(keys) {
        order[bounds[k as usize]] = i;
        bounds[k as usize] += 1;
    }
    bounds.pop();
    bounds.insert(0, 0);
}
