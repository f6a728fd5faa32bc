//! The push path when a view's locality step only ranks groups ([`Step::rank_only`]: failover
//! levels or zone-aware buckets, without a failoverPriority split or `distribute`) — Istio's
//! default locality failover, the common case. The groups are then exactly the default path's,
//! with the same entries and weights; only their priorities change, and those depend on nothing
//! but which groups the view keeps and their localities. So a view finds the groups it keeps
//! (`EncodedService::admits`, a pass over the sets' visibility and counts), ranks them with the
//! stage's own rules ([`Rank::apply`], the code the value path runs) and writes them on the
//! default loop with their priority: no planned-group buffers, no allocation beyond the default
//! path's.
//!
//! [`Step::rank_only`]: crate::locality::Step::rank_only

use mesh_model::NetworkId;

use super::{EncodedService, Group, Stage};
use crate::locality::{Decision, GroupPriorities, Parts, Rank};
use crate::modern::NetworkRules;
use crate::rules::index_u32;
use crate::view::View;

/// A view keeping more groups of one service than this takes the general staged path (the
/// table is on the stack, filled for every view).
const MAX_RANKED: usize = 32;

/// The groups one view keeps of a service, in order, each with its priority.
pub(super) struct Ranked<'s> {
    stage: &'s Stage,
    len: usize,
    /// The first `len`: (position in the service's groups, priority).
    groups: [(u32, u32); MAX_RANKED],
}

impl<'s> Ranked<'s> {
    /// No groups yet.
    #[inline]
    pub(super) fn new(stage: &'s Stage) -> Self {
        Self {
            stage,
            len: 0,
            groups: [(0, 0); MAX_RANKED],
        }
    }

    /// The priority of the `kept`-th group the view keeps.
    #[inline]
    pub(super) fn priority(&self, kept: usize) -> u32 {
        debug_assert!(kept < self.len, "{kept} of {} groups", self.len);
        self.groups[..self.len].get(kept).map_or(0, |&(_, p)| p)
    }
}

impl GroupPriorities for Ranked<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
    #[inline]
    fn parts(&self, g: usize) -> Parts<'_> {
        self.stage.parts(self.groups[g].0 as usize)
    }
    #[inline]
    fn priority(&self, g: usize) -> u32 {
        self.groups[g].1
    }
    #[inline]
    fn set_priority(&mut self, g: usize, priority: u32) {
        self.groups[g].1 = priority;
    }
    #[inline]
    fn decide(&mut self, _: usize, _: impl FnOnce() -> Decision) {}
}

impl EncodedService {
    /// Fills `ranked` (empty) with the groups `view` keeps, ranked by `rank`; `false` when it
    /// keeps more than [`MAX_RANKED`] or the service has more than 64 networks.
    #[inline]
    pub(super) fn rank_into(
        &self,
        ranked: &mut Ranked<'_>,
        rank: Rank<'_>,
        view: &View,
        networks: &NetworkRules<'_, Option<NetworkId>>,
    ) -> bool {
        let Some(bits) = NetworkBits::new(self.shape.networks.len(), networks) else {
            return false;
        };
        for (index, group) in self.shape.groups.iter().enumerate() {
            if self.admits(group, &bits) {
                let Some(slot) = ranked.groups.get_mut(ranked.len) else {
                    return false;
                };
                *slot = (index_u32(index), 0);
                ranked.len += 1;
            }
        }
        rank.apply(view.locality_parts(), ranked);
        true
    }

    /// Whether a view keeps `group` at all: [`EncodedService::plan`]'s answer without the plan
    /// (some set on a visible network admits a member, M2, M2a).
    #[inline(always)]
    fn admits(&self, group: &Group, bits: &NetworkBits) -> bool {
        // A visible set admits at least its members with an address, on any network.
        if bits.all_visible && group.addressed {
            return true;
        }
        self.sets[group.sets.clone()].iter().any(|set| {
            let bit = 1u64 << (set.network & 63);
            bits.visible & bit != 0 && self.admitted(set, bits.same & bit != 0) > 0
        })
    }
}

/// [`NetworkRules::visible`] (M2a) and [`NetworkRules::same_network`] (M8) of each of a
/// service's networks (at most 64) for one view, as bits: read for every set of every group.
struct NetworkBits {
    visible: u64,
    same: u64,
    /// Every network is visible.
    all_visible: bool,
}

impl NetworkBits {
    #[inline]
    fn new(count: usize, networks: &NetworkRules<'_, Option<NetworkId>>) -> Option<Self> {
        if count > 64 {
            return None;
        }
        let mut bits = Self {
            visible: 0,
            same: 0,
            all_visible: true,
        };
        for (i, net) in (0..count).zip(0u32..) {
            let visible = networks.visible(net);
            bits.all_visible &= visible;
            bits.visible |= u64::from(visible) << i;
            bits.same |= u64::from(networks.same_network(net)) << i;
        }
        Some(bits)
    }
}
