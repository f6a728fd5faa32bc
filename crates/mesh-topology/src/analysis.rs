//! The analysis of one mesh document under a set of failures: who is where, who reaches whom, and
//! every diagnostic. [`check`] is the analysis with nothing failed; `what_if` reuses it.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use ipnet::IpNet;
use mesh_model::{
    Cluster, Exposure, Gateway, MeshDocument, NetworkEndpoints, NetworkResolver, TlsMode,
    UnresolvedGateway,
};

use crate::cidr::{overlap_extent, overlap_groups, shared_range, size_text};
use crate::diagnostic::{Code, Diagnostic, Subject, sort_diagnostics};
use crate::model_errors::model_diagnostic;
use crate::report::{ControlPlane, ControlPlaneKind, MeshKind, NetworkSummary, Report, Topology};
use crate::spaces::FlatAddressSpaces;
use crate::trust::trust_diagnostics;

/// What is down. Empty = the mesh as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Conditions {
    /// `(network, address)` of gateways that are down.
    pub gateways_down: BTreeSet<(String, String)>,
    /// Network pairs whose direct link is cut.
    pub links_cut: BTreeSet<(String, String)>,
    /// Network pairs that cannot reach each other at all, sorted within the pair.
    pub partitions: BTreeSet<(String, String)>,
    /// Clusters whose API server nobody can reach.
    pub api_servers_down: BTreeSet<String>,
    /// Clusters that are gone.
    pub clusters_removed: BTreeSet<String>,
}

/// Validates a whole mesh: every diagnostic, sorted by code then subjects, and the topology.
///
/// ```
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: demo}
/// spec:
///   clusters:
///   - {name: c1, network: n1, podCidrs: [10.0.0.0/16]}
///   - {name: c2, network: n2, controlPlane: c1, podCidrs: [10.0.0.0/20]}
///   links: [{networks: [n1, n2]}]
/// "#)?;
/// let report = mesh_topology::check(&doc);
/// assert_eq!(report.diagnostics[0].code.as_str(), "cidr-overlap");
/// assert!(report.has_errors());
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
pub fn check(doc: &MeshDocument) -> Report {
    check_with(doc, &CheckOptions::default())
}

/// How [`check_with`] checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The time to verify CA material at, unix seconds. `None` (the default): the CA material
    /// of replicated control planes is not verified, and a `trust-unverified` info says so.
    pub now: Option<i64>,
}

impl CheckOptions {
    /// Options that verify CA material at `now` (unix seconds, the caller's clock).
    pub fn at(now: i64) -> Self {
        Self { now: Some(now) }
    }
}

/// [`check`], with options: the time to verify the replicated control planes' CA material at
/// (with mesh-ca), for `trust-root-mismatch`.
///
/// ```
/// use mesh_topology::{CheckOptions, check_with};
/// let doc = mesh_model::MeshDocument::from_yaml(
///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: a}, {name: b}]\n",
/// )?;
/// // Two primaries, no CA material: trust cannot be verified.
/// let report = check_with(&doc, &CheckOptions::at(1_767_225_600));
/// assert_eq!(report.diagnostics[0].code.as_str(), "trust-unverified");
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
pub fn check_with(doc: &MeshDocument, options: &CheckOptions) -> Report {
    let none = Conditions::default();
    let mut analysis = Analysis::new(doc, &none);
    analysis.now = options.now;
    analysis.report()
}

/// The network of a cluster or endpoint that names none: Istio's implicit network `""`.
pub(crate) const NO_NETWORK: &str = "";

fn network_text(n: &str) -> String {
    if n.is_empty() {
        "the default network (no network set)".to_owned()
    } else {
        format!("network {n}")
    }
}

/// A pod or service range of a cluster: (flat address space, range, cluster, `"pod"` or
/// `"service"`).
type CidrEntry<'a> = (usize, IpNet, &'a str, &'a str);

/// At most [`LISTED`] items, comma-separated, then "… and N more": a message stays one line
/// however large the group (its subjects name every member).
fn capped_list<T: std::fmt::Display>(items: impl ExactSizeIterator<Item = T>) -> String {
    let n = items.len();
    let mut text: Vec<String> = items.take(LISTED).map(|i| i.to_string()).collect();
    if n > LISTED {
        text.push(format!("… and {} more", n - LISTED));
    }
    text.join(", ")
}

/// How many members a message lists.
const LISTED: usize = 10;

/// How a cluster relates to its control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Managed<'a> {
    /// Its own control plane.
    Primary,
    /// Managed by this primary.
    Remote(&'a str),
    /// Its control plane is not a cluster of the document (reported by the model check).
    Unknown,
    /// Its control plane was removed.
    Removed(&'a str),
    /// Its control plane is itself a remote of another cluster.
    NotPrimary(&'a str, &'a str),
}

pub(crate) struct Analysis<'a> {
    doc: &'a MeshDocument,
    cond: &'a Conditions,
    /// Present clusters (first of each name, not removed), by name.
    clusters: BTreeMap<&'a str, &'a Cluster>,
    /// Network of each present cluster.
    cluster_network: BTreeMap<&'a str, String>,
    resolver: NetworkResolver<'a>,
    spaces: FlatAddressSpaces,
    /// Usable gateways (resolved, not down, cluster present) per network.
    gateways: BTreeMap<String, Vec<Gateway>>,
    unresolved: Vec<UnresolvedGateway>,
    /// Network names, and (service, endpoint, network index) of each published endpoint.
    published_endpoints: OnceCell<PublishedEndpoints>,
    /// When to verify CA material at; `None` = not verified.
    now: Option<i64>,
}

impl<'a> Analysis<'a> {
    pub(crate) fn new(doc: &'a MeshDocument, cond: &'a Conditions) -> Self {
        let spec = &doc.spec;
        let resolver = NetworkResolver::new(spec);
        let mut clusters = BTreeMap::new();
        for c in &spec.clusters {
            if !cond.clusters_removed.contains(c.name.as_str()) {
                clusters.entry(c.name.as_str()).or_insert(c);
            }
        }
        let cluster_network: BTreeMap<&str, String> = clusters
            .iter()
            .map(|(&name, c)| {
                let n = resolver
                    .network_of_address(&c.name, None)
                    .map_or(NO_NETWORK, |n| n.as_str());
                (name, n.to_owned())
            })
            .collect();
        let mut networks: BTreeSet<&str> = doc.defined_networks();
        networks.extend(cluster_network.values().map(String::as_str));
        let cut: Vec<(&str, &str)> = cond
            .links_cut
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let spaces = FlatAddressSpaces::new(
            networks,
            spec.links
                .iter()
                .map(|l| l.networks.iter().map(|n| n.as_str())),
            &cut,
        );
        let resolution = spec.gateways(true);
        let mut gateways: BTreeMap<String, Vec<Gateway>> = BTreeMap::new();
        for g in resolution.gateways {
            let down = cond
                .gateways_down
                .contains(&(g.network.to_string(), g.address.clone()));
            let gone = g
                .cluster
                .as_ref()
                .is_some_and(|c| cond.clusters_removed.contains(c.as_str()));
            if !down && !gone {
                gateways.entry(g.network.to_string()).or_default().push(g);
            }
        }
        Self {
            doc,
            cond,
            clusters,
            cluster_network,
            resolver,
            spaces,
            gateways,
            unresolved: resolution.unresolved,
            published_endpoints: OnceCell::new(),
            now: None,
        }
    }

    fn network_of_cluster(&self, cluster: &str) -> &str {
        self.cluster_network
            .get(cluster)
            .map_or(NO_NETWORK, String::as_str)
    }

    fn partitioned(&self, a: &str, b: &str) -> bool {
        let key = if a <= b { (a, b) } else { (b, a) };
        self.cond
            .partitions
            .iter()
            .any(|(x, y)| (x.as_str(), y.as_str()) == key)
    }

    /// Pods of networks `a` and `b` share one flat address space. A cluster or endpoint with no
    /// network is, as in Istio (`IsSameOrEmpty`), on every network.
    fn flat(&self, a: &str, b: &str) -> bool {
        a == NO_NETWORK || b == NO_NETWORK || self.spaces.same_space(a, b)
    }

    /// Pods of `from` reach pods of `to` by IP.
    fn reaches_pods(&self, from: &str, to: &str) -> bool {
        self.flat(from, to) && !self.partitioned(from, to)
    }

    /// A gateway of `to` that `from` can send to.
    fn usable_gateway(&self, from: &str, to: &str) -> Option<&Gateway> {
        if self.partitioned(from, to) {
            return None;
        }
        self.gateways.get(to).and_then(|g| g.first())
    }

    fn managed(&self, c: &'a Cluster) -> Managed<'a> {
        let cp = c.managing_control_plane().as_str();
        if cp == c.name.as_str() {
            return Managed::Primary;
        }
        match self.clusters.get(cp) {
            Some(p) => {
                let pcp = p.managing_control_plane().as_str();
                if pcp == cp {
                    Managed::Remote(cp)
                } else {
                    Managed::NotPrimary(cp, pcp)
                }
            }
            None if self.cond.clusters_removed.contains(cp) => Managed::Removed(cp),
            None => Managed::Unknown,
        }
    }

    /// The primary whose control plane serves `c`, when there is one.
    fn primary_of(&self, c: &'a Cluster) -> Option<&'a str> {
        match self.managed(c) {
            Managed::Primary => Some(c.name.as_str()),
            Managed::Remote(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the control plane of `primary` can read the API server of `cluster`; the error
    /// explains the path tried and where it broke.
    fn api_server_path(&self, primary: &str, cluster: &Cluster) -> Result<(), String> {
        let name = cluster.name.as_str();
        if self.cond.api_servers_down.contains(name) {
            return Err(format!(
                "the API server of cluster {name} is unreachable (failure)"
            ));
        }
        if name == primary {
            return Ok(()); // istiod reads its own cluster in-cluster
        }
        let Some(api) = &cluster.api_server else {
            return Ok(()); // no address given: nothing to check
        };
        let from = self.network_of_cluster(primary);
        let to = self.network_of_cluster(name);
        let partitioned = self.partitioned(from, to);
        if !partitioned {
            if self.flat(from, to) {
                return Ok(());
            }
            if api.exposure == Exposure::Public {
                return Ok(());
            }
            if api.reachable_from.iter().any(|n| n.as_str() == from) {
                return Ok(());
            }
        }
        let mut why = format!(
            "istiod in cluster {primary} ({}) -> API server of cluster {name} at {} ({}, exposure {})",
            network_text(from),
            api.address,
            network_text(to),
            api.exposure
        );
        if partitioned {
            why.push_str(&format!(
                ": {} and {} are partitioned (failure)",
                network_text(from),
                network_text(to)
            ));
        } else {
            let reachable: Vec<&str> = api.reachable_from.iter().map(|n| n.as_str()).collect();
            why.push_str(&format!(
                ": broke at the network boundary — {from_t} is not linked to {to_t} (flat address space of {from_t}: {space}), the API server is not public, and reachableFrom [{r}] does not list {from_t}",
                from_t = network_text(from),
                to_t = network_text(to),
                space = self.spaces.members(from).join(", "),
                r = reachable.join(", "),
            ));
        }
        Err(why)
    }

    /// Whether the workloads of remote `c` reach the control plane of `primary` (directly, or
    /// through an east-west gateway of the primary's network that exposes istiod).
    fn control_plane_path(&self, c: &Cluster, primary: &str) -> Result<(), String> {
        let from = self.network_of_cluster(c.name.as_str());
        let to = self.network_of_cluster(primary);
        if self.reaches_pods(from, to) || self.usable_gateway(from, to).is_some() {
            return Ok(());
        }
        let mut why = format!(
            "workloads of cluster {} ({}) -> istiod of cluster {primary} ({})",
            c.name,
            network_text(from),
            network_text(to)
        );
        if self.partitioned(from, to) {
            why.push_str(": the networks are partitioned (failure)");
        } else {
            why.push_str(&format!(
                ": not by IP — {} is not linked to {} — and not through a gateway — {} has no usable east-west gateway to expose istiod through",
                network_text(from),
                network_text(to),
                network_text(to)
            ));
        }
        Err(why)
    }

    /// The clients (present clusters) whose workloads get configuration from a control plane.
    fn served_clients(&self) -> Vec<&'a Cluster> {
        self.clusters
            .values()
            .copied()
            .filter(|c| match self.managed(c) {
                Managed::Primary => true,
                Managed::Remote(p) => self.control_plane_path(c, p).is_ok(),
                _ => false,
            })
            .collect()
    }

    /// Whether the endpoints discovered in `cluster` are published: its control plane exists and
    /// reads its API server.
    fn published(&self, cluster: &str) -> bool {
        let Some(c) = self.clusters.get(cluster) else {
            return false;
        };
        self.primary_of(c)
            .is_some_and(|p| self.api_server_path(p, c).is_ok())
    }

    /// Published endpoints: `(service index, endpoint index, network)`, in document order.
    /// Computed once per analysis.
    fn published_endpoints(&self) -> Vec<(usize, usize, &str)> {
        let (names, entries) = self.published_endpoints.get_or_init(|| {
            // Per cluster: published, and the network of its unlabelled endpoints when the
            // cluster decides it (N1: cluster network, else fromRegistry).
            let clusters: HashMap<&str, (bool, Option<&str>)> = self
                .clusters
                .iter()
                .map(|(&name, c)| {
                    let net = self
                        .resolver
                        .network_of_address(&c.name, None)
                        .map(|n| n.as_str());
                    (name, (self.published(name), net))
                })
                .collect();
            // Network names in the order met; entries point into it.
            let mut names: Vec<String> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            let mut out = Vec::new();
            let mut last: Option<(&str, (bool, Option<&str>))> = None;
            for (si, s) in self.doc.spec.services.iter().enumerate() {
                for (ei, e) in s.endpoints.iter().enumerate() {
                    let cluster = e.cluster.as_str();
                    let (published, cluster_net) = match last {
                        Some((name, v)) if name == cluster => v,
                        _ => {
                            let v = clusters.get(cluster).copied().unwrap_or((false, None));
                            last = Some((cluster, v));
                            v
                        }
                    };
                    if !published {
                        continue;
                    }
                    let net = match (&e.network, cluster_net) {
                        (Some(n), _) => n.as_str(),
                        (None, Some(n)) => n,
                        (None, None) => self
                            .resolver
                            .network_of_address(&e.cluster, e.addresses.first().copied())
                            .map_or(NO_NETWORK, |n| n.as_str()),
                    };
                    let k = match index.get(net) {
                        Some(&k) => k,
                        None => {
                            index.insert(net.to_owned(), names.len());
                            names.push(net.to_owned());
                            names.len() - 1
                        }
                    };
                    out.push((si, ei, k));
                }
            }
            // Renumber the networks in name order.
            let mut order: Vec<usize> = (0..names.len()).collect();
            order.sort_by(|&a, &b| names[a].cmp(&names[b]));
            let mut rank = vec![0; names.len()];
            for (r, &k) in order.iter().enumerate() {
                rank[k] = r;
            }
            for entry in &mut out {
                entry.2 = rank[entry.2];
            }
            let names = order.into_iter().map(|k| names[k].clone()).collect();
            (names, out)
        });
        entries
            .iter()
            .map(|&(si, ei, k)| (si, ei, names[k].as_str()))
            .collect()
    }

    /// What the clients on each network reach: client network → for each service (by index in
    /// the document) the indices of the endpoints reached, ascending. A network whose clusters
    /// all lack a working control plane reaches nothing. O(client networks × endpoints), with
    /// the path to each endpoint network decided once per client network.
    pub(crate) fn reach(&self) -> Reach {
        let served: BTreeSet<&str> = self
            .served_clients()
            .iter()
            .map(|c| self.network_of_cluster(c.name.as_str()))
            .collect();
        let endpoints = self.published_endpoints();
        let mut nets: Vec<&str> = endpoints.iter().map(|e| e.2).collect();
        nets.sort_unstable();
        nets.dedup();
        let net_of: Vec<usize> = endpoints
            .iter()
            .map(|e| nets.binary_search(&e.2).unwrap_or_default())
            .collect();
        let services = &self.doc.spec.services;
        let clients: BTreeSet<&str> = self.cluster_network.values().map(String::as_str).collect();
        let mut out = Reach::new();
        for client in clients {
            let mut per_service: Vec<Vec<usize>> = vec![Vec::new(); services.len()];
            if served.contains(client) {
                // (by IP, through a gateway) for each endpoint network.
                let paths: Vec<(bool, bool)> = nets
                    .iter()
                    .map(|n| {
                        (
                            self.reaches_pods(client, n),
                            self.usable_gateway(client, n).is_some(),
                        )
                    })
                    .collect();
                for (&(si, ei, _), &n) in endpoints.iter().zip(&net_of) {
                    let (direct, gateway) = paths[n];
                    if direct || (gateway && services[si].endpoints[ei].tls_mode == TlsMode::Istio)
                    {
                        per_service[si].push(ei);
                    }
                }
            }
            out.insert(client.to_owned(), per_service);
        }
        out
    }

    pub(crate) fn report(&self) -> Report {
        let mut d = Vec::new();
        self.model_diagnostics(&mut d);
        self.gateway_diagnostics(&mut d);
        self.cidr_diagnostics(&mut d);
        self.meshnetworks_diagnostics(&mut d);
        self.control_plane_diagnostics(&mut d);
        self.watch_diagnostics(&mut d);
        self.consumption_diagnostics(&mut d);
        self.replication_diagnostics(&mut d);
        self.global_vip_diagnostics(&mut d);
        let primaries: Vec<&Cluster> = self
            .groups()
            .keys()
            .filter_map(|p| self.clusters.get(p).copied())
            .collect();
        d.extend(trust_diagnostics(&self.doc.spec, &primaries, self.now));
        sort_diagnostics(&mut d);
        Report {
            diagnostics: d,
            topology: self.topology(),
        }
    }

    fn model_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for e in self.doc.check() {
            out.extend(model_diagnostic(self.doc, &e));
        }
    }

    fn gateway_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for u in &self.unresolved {
            out.push(Diagnostic::new(
                Code::GatewayUnresolved,
                format!("gateway {} of network {} resolves to no address", u.name, u.network),
                vec![Subject::Gateway(u.name.clone()), Subject::Network(u.network.clone())],
                format!("{}: {}", u.source, u.reason),
                "Give the hostname an answer under spec.dns, or give the gateway service an external \
                 address (spec.services[].externalAddresses) in a cluster the network lists with \
                 fromRegistry, or use an IP address",
            ));
        }
        let mut by_address: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (net, gws) in &self.gateways {
            for g in gws {
                by_address.entry(&g.address).or_default().insert(net);
            }
        }
        for (address, nets) in by_address {
            if nets.len() < 2 {
                continue;
            }
            let mut subjects = vec![Subject::Gateway(address.to_owned())];
            subjects.extend(nets.iter().map(|n| Subject::Network((*n).to_owned())));
            let list: Vec<&str> = nets.iter().copied().collect();
            out.push(Diagnostic::new(
                Code::GatewaySharedByNetworks,
                format!(
                    "gateway address {address} serves several networks: {}",
                    list.join(", ")
                ),
                subjects,
                "Each network's gateway admits traffic into that network; one address listed for \
                 several networks sends traffic meant for one of them to the other. Istio does not \
                 check this (MeshNetworks V7)",
                "Give each network its own east-west gateway, or merge the networks",
            ));
        }
    }

    fn cidr_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let mut entries: Vec<CidrEntry<'_>> = Vec::new();
        for (&name, c) in &self.clusters {
            let Some(space) = self.spaces.space_of(self.network_of_cluster(name)) else {
                continue;
            };
            for p in &c.pod_cidrs {
                entries.push((space, p.trunc(), name, "pod"));
            }
            for p in &c.service_cidrs {
                entries.push((space, p.trunc(), name, "service"));
            }
        }
        entries.sort();
        // Clusters with no network are in every flat address space: their ranges join each
        // space's (a group of theirs alone is reported once, in their own space).
        let everywhere_space = self.spaces.space_of(NO_NETWORK);
        let everywhere: Vec<CidrEntry<'_>> = entries
            .iter()
            .filter(|e| Some(e.0) == everywhere_space)
            .copied()
            .collect();
        for space in entries.chunk_by(|a, b| a.0 == b.0) {
            let mut space = space.to_vec();
            let own = space.len();
            if Some(space[0].0) != everywhere_space {
                space.extend(&everywhere);
            }
            let nets: Vec<IpNet> = space.iter().map(|e| e.1).collect();
            // One diagnostic per group of overlapping ranges. Every range of a group overlaps its
            // root, so the group holds a pair to report exactly when it has two owners (cluster
            // and kind: one cluster's own list of pod, or service, ranges may nest) and a range
            // of this space (a group of no-network clusters alone is their own space's).
            for mut group in overlap_groups(&nets) {
                let root = space[group[0]].1;
                let owner = |i: usize| (space[i].2, space[i].3);
                if group.iter().all(|&i| i >= own)
                    || group.iter().all(|&i| owner(i) == owner(group[0]))
                {
                    continue;
                }
                group.sort_unstable();
                let members: Vec<&CidrEntry<'_>> = group.iter().map(|&i| &space[i]).collect();
                out.push(self.cidr_overlap(&members, root));
            }
        }
    }

    /// Replicated control planes (several primaries) or an explicit `globalVipRange`: the range
    /// `.global` virtual IPs come from must stay clear of every pod and service CIDR, and hold one
    /// address per service (mesh-global allocates them).
    fn global_vip_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let spec = &self.doc.spec;
        if self.groups().len() < 2 && spec.global_vip_range.is_none() {
            return;
        }
        let range = spec.global_vip_range();
        let fix = "Choose a globalVipRange that no cluster routes (the default 240.0.0.0/4 is \
                   reserved) and that has an address for every service";
        let mut overlapping = false;
        for (&name, c) in &self.clusters {
            let cidrs = c.pod_cidrs.iter().map(|n| ("pod", n));
            for (kind, cidr) in cidrs.chain(c.service_cidrs.iter().map(|n| ("service", n))) {
                let Some(shared) = shared_range(&range, cidr) else {
                    continue;
                };
                overlapping = true;
                out.push(Diagnostic::new(
                    Code::GlobalVipOverlap,
                    format!("the .global virtual-IP range {range} overlaps {kind} CIDR {cidr} of cluster {name}"),
                    vec![
                        Subject::Cluster(name.to_owned()),
                        Subject::Cidr(range.to_string()),
                        Subject::Cidr(cidr.to_string()),
                    ],
                    format!(
                        "They share {shared} ({}): a sidecar captures traffic to a .global virtual IP, so a \
                         real {kind} address in that range would be sent to a remote cluster instead",
                        size_text(&shared)
                    ),
                    fix,
                ));
            }
        }
        if overlapping {
            return;
        }
        if let Err(e @ mesh_global::AllocationError::Exhausted { .. }) =
            mesh_global::allocate_for_mesh(spec, &mesh_global::Allocations::default())
        {
            out.push(Diagnostic::new(
                Code::GlobalVipOverlap,
                format!("the .global virtual-IP range {range} is too small"),
                vec![Subject::Cidr(range.to_string())],
                e.to_string(),
                fix,
            ));
        }
    }

    /// The `cidr-overlap` of one group of overlapping ranges (in index order), all inside `root`.
    fn cidr_overlap(&self, group: &[&CidrEntry<'_>], root: IpNet) -> Diagnostic {
        let range = |e: &CidrEntry<'_>| format!("{} CIDR {} of cluster {}", e.3, e.1, e.2);
        let message = match group {
            [a, b] => format!("{} overlaps {}", range(a), range(b)),
            _ => format!(
                "{} CIDRs overlap within {root}: {}",
                group.len(),
                capped_list(group.iter().map(|e| range(e)))
            ),
        };
        let extent = overlap_extent(group.iter().map(|e| e.1), root);
        let clusters: BTreeSet<&str> = group.iter().map(|e| e.2).collect();
        let (explanation, fix) = if let [only] = clusters.iter().collect::<Vec<_>>()[..] {
            (
                format!(
                    "{extent}: inside cluster {only}, an address in that range is both a pod and a service address"
                ),
                format!("Give cluster {only} pod and service ranges that do not overlap"),
            )
        } else {
            let networks: BTreeSet<&str> =
                group.iter().map(|e| self.network_of_cluster(e.2)).collect();
            let unnetworked: BTreeSet<&str> = group
                .iter()
                .filter(|e| self.network_of_cluster(e.2) == NO_NETWORK)
                .map(|e| e.2)
                .collect();
            let how = if let [only] = networks.iter().collect::<Vec<_>>()[..] {
                let all = if group.len() == 2 { "both" } else { "all" };
                format!("{all} are on {}", network_text(only))
            } else if let [none] = unnetworked.iter().collect::<Vec<_>>()[..] {
                format!("cluster {none} names no network, so Istio treats it as on every network")
            } else if !unnetworked.is_empty() {
                format!(
                    "clusters {} name no network, so Istio treats them as on every network",
                    capped_list(unnetworked.iter())
                )
            } else {
                let listed: Vec<String> = networks.iter().map(|n| network_text(n)).collect();
                let listed = match &listed[..] {
                    [a, b] => format!("{a} and {b}"),
                    _ => capped_list(listed.iter()),
                };
                let space = self.spaces.members(self.network_of_cluster(group[0].2));
                format!(
                    "{listed} are linked (one flat address space: {})",
                    capped_list(space.iter())
                )
            };
            let what = match group {
                [a, b] => format!("move the {} CIDR of cluster {} out of {}", b.3, b.2, a.1),
                _ => format!("keep one of these ranges in {root} and move the others"),
            };
            (
                format!(
                    "{extent}, and {how}: traffic to an address in that range can land in the wrong cluster"
                ),
                format!(
                    "Give every cluster of a flat address space its own ranges: {what}, or separate the networks and connect them through gateways"
                ),
            )
        };
        let mut subjects: Vec<Subject> = Vec::with_capacity(2 * group.len());
        for e in group {
            subjects.push(Subject::Cluster(e.2.to_owned()));
            subjects.push(Subject::Cidr(e.1.to_string()));
        }
        Diagnostic::new(Code::CidrOverlap, message, subjects, explanation, fix)
    }

    fn meshnetworks_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let mut cidrs: Vec<(IpNet, &str)> = Vec::new();
        let mut registries: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, net) in &self.doc.spec.mesh_networks.networks {
            for ep in &net.endpoints {
                match ep {
                    // Plain IPs never match at runtime (N3); invalid ranges are V2's.
                    NetworkEndpoints::FromCidr(c) if c.contains('/') => {
                        if let Ok(p) = c.parse::<IpNet>() {
                            cidrs.push((p.trunc(), name));
                        }
                    }
                    NetworkEndpoints::FromRegistry(r) => {
                        registries.entry(r).or_default().insert(name);
                    }
                    _ => {}
                }
            }
        }
        let nets: Vec<IpNet> = cidrs.iter().map(|c| c.0).collect();
        for mut group in overlap_groups(&nets) {
            // istiod gives an address the network of its broadest containing range (rule N3):
            // every range of the group is inside the root.
            let (root, broad) = cidrs[group[0]];
            if group.iter().all(|&i| cidrs[i].1 == broad) {
                continue;
            }
            group.sort_unstable();
            let range = |i: usize| format!("fromCidr {} of network {}", cidrs[i].0, cidrs[i].1);
            let message = match group[..] {
                [a, b] => format!("{} overlaps {}", range(a), range(b)),
                _ => format!(
                    "{} fromCidr ranges overlap within {root}: {}",
                    group.len(),
                    capped_list(group.iter().map(|&i| range(i)))
                ),
            };
            let others: BTreeSet<&str> = group
                .iter()
                .map(|&i| cidrs[i].1)
                .filter(|&n| n != broad)
                .collect();
            let mut subjects: Vec<Subject> = Vec::with_capacity(2 * group.len());
            for &i in &group {
                subjects.push(Subject::Network(cidrs[i].1.to_owned()));
                subjects.push(Subject::Cidr(cidrs[i].0.to_string()));
            }
            out.push(Diagnostic::new(
                Code::AmbiguousNetworkCidr,
                message,
                subjects,
                format!(
                    "{}. istiod gives an address in that range the network of the broadest containing range (rule N3), so endpoints there are on network {broad}, never on {}",
                    overlap_extent(group.iter().map(|&i| cidrs[i].0), root),
                    capped_list(others.iter())
                ),
                "Make the fromCidr ranges of different networks disjoint (MeshNetworks requires it, but Istio does not check it: V7)",
            ));
        }
        for (registry, nets) in registries {
            if nets.len() < 2 {
                continue;
            }
            let list: Vec<&str> = nets.iter().copied().collect();
            let mut subjects = vec![Subject::Cluster(registry.to_owned())];
            subjects.extend(nets.iter().map(|n| Subject::Network((*n).to_owned())));
            out.push(Diagnostic::new(
                Code::RegistryInSeveralNetworks,
                format!("cluster {registry} is fromRegistry of several networks: {}", list.join(", ")),
                subjects,
                format!(
                    "A registry belongs to one network. istiod puts its endpoints on whichever network it meets first in map order (here {}), but creates its registryServiceName gateways for all of them (rule R3)",
                    list[0]
                ),
                format!("List cluster {registry} under fromRegistry of exactly one network"),
            ));
        }
    }

    fn control_plane_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for (&name, &c) in &self.clusters {
            match self.managed(c) {
                Managed::NotPrimary(cp, cp_of_cp) => out.push(Diagnostic::new(
                    Code::ControlPlaneNotPrimary,
                    format!("cluster {name} is managed by cluster {cp}, which is itself a remote of {cp_of_cp}"),
                    vec![Subject::Cluster(name.to_owned()), Subject::Cluster(cp.to_owned())],
                    format!("Only a primary runs a control plane: cluster {cp} names {cp_of_cp} as its controlPlane, so no istiod runs in {cp} to manage {name}"),
                    format!("Set controlPlane of cluster {name} to {cp_of_cp} (the primary), or make {cp} a primary"),
                )),
                Managed::Removed(cp) => out.push(Diagnostic::new(
                    Code::ControlPlaneUnreachable,
                    format!("workloads of cluster {name} cannot reach their control plane in cluster {cp}"),
                    vec![Subject::Cluster(name.to_owned()), Subject::Cluster(cp.to_owned())],
                    format!("cluster {cp}, which runs the control plane of {name}, is gone (failure)"),
                    format!("Run a control plane for {name} elsewhere (make it a primary, or point controlPlane at another primary)"),
                )),
                Managed::Remote(p) => {
                    if let Err(why) = self.control_plane_path(c, p) {
                        let (from, to) = (self.network_of_cluster(name), self.network_of_cluster(p));
                        out.push(Diagnostic::new(
                            Code::ControlPlaneUnreachable,
                            format!("workloads of cluster {name} cannot reach their control plane in cluster {p}"),
                            vec![
                                Subject::Cluster(name.to_owned()),
                                Subject::Cluster(p.to_owned()),
                                Subject::Network(from.to_owned()),
                                Subject::Network(to.to_owned()),
                            ],
                            why,
                            format!("Link {} to {}, or expose istiod of {p} through an east-west gateway of {} (a meshNetworks gateway with a resolvable address)", network_text(from), network_text(to), network_text(to)),
                        ));
                    }
                }
                Managed::Primary | Managed::Unknown => {}
            }
        }
        // A control plane reads the API server of every cluster it manages (itself included) and
        // of every cluster it watches (multi-primary: one remote secret each).
        let watched = self
            .clusters
            .values()
            .filter(|p| self.managed(p) == Managed::Primary)
            .flat_map(|p| {
                p.watches
                    .iter()
                    .filter_map(|w| self.clusters.get(w.as_str()).copied())
                    .filter(|w| self.primary_of(w) != Some(p.name.as_str()))
                    .map(|w| (p.name.as_str(), w))
            });
        let managed = self
            .clusters
            .values()
            .filter_map(|&c| self.primary_of(c).map(|p| (p, c)));
        for (p, c) in managed.chain(watched) {
            let name = c.name.as_str();
            if let Err(why) = self.api_server_path(p, c) {
                let mut subjects = vec![
                    Subject::Cluster(p.to_owned()),
                    Subject::Cluster(name.to_owned()),
                ];
                let fix = match &c.api_server {
                    Some(api) if !self.cond.api_servers_down.contains(name) => {
                        subjects.push(Subject::Network(self.network_of_cluster(p).to_owned()));
                        subjects.push(Subject::Network(self.network_of_cluster(name).to_owned()));
                        format!(
                            "Make the API server at {} reachable from {}: link the networks, add {} to its reachableFrom (and open the firewall), or expose it publicly",
                            api.address,
                            network_text(self.network_of_cluster(p)),
                            self.network_of_cluster(p)
                        )
                    }
                    _ => format!("Restore access to the API server of cluster {name}"),
                };
                out.push(Diagnostic::new(
                    Code::ApiServerUnreachable,
                    format!("the control plane in cluster {p} cannot reach the API server of cluster {name}"),
                    subjects,
                    format!("{why}. Without it istiod discovers no services or endpoints of {name}"),
                    fix,
                ));
            }
        }
    }

    /// Multi-primary: a primary that no other control plane watches, while some do watch others;
    /// the other primaries see none of its services or endpoints.
    fn watch_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let primaries: Vec<&Cluster> = self
            .clusters
            .values()
            .copied()
            .filter(|c| self.managed(c) == Managed::Primary)
            .collect();
        let watchers: Vec<&&Cluster> = primaries.iter().filter(|p| !p.watches.is_empty()).collect();
        if watchers.is_empty() || primaries.len() < 2 {
            return;
        }
        for c in &primaries {
            let name = c.name.as_str();
            if watchers
                .iter()
                .any(|w| w.name.as_str() != name && w.watches.iter().any(|x| x.as_str() == name))
            {
                continue;
            }
            let others: Vec<&str> = watchers
                .iter()
                .map(|w| w.name.as_str())
                .filter(|w| *w != name)
                .collect();
            if others.is_empty() {
                continue;
            }
            out.push(Diagnostic::new(
                Code::ClusterNotWatched,
                format!("no other control plane watches cluster {name}"),
                std::iter::once(Subject::Cluster(name.to_owned())).chain(others.iter().map(|o| Subject::Cluster((*o).to_owned()))).collect(),
                format!(
                    "Control planes {} read other clusters through remote secrets, but none names cluster {name} (a remote secret's key is the cluster ID, which must equal that cluster's CLUSTER_ID / values.global.multiCluster.clusterName); their proxies get no endpoints of {name}",
                    others.join(", ")
                ),
                format!("Create a remote secret for {name} in the other primaries (istioctl create-remote-secret --name={name}), or make its cluster ID match the one the secrets name"),
            ));
        }
    }

    fn consumption_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        let clients: BTreeSet<&str> = self
            .served_clients()
            .iter()
            .map(|c| self.network_of_cluster(c.name.as_str()))
            .collect();
        let endpoints = self.published_endpoints();
        // Networks whose endpoints are consumed from outside their flat address space.
        let mut needs_gateway: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        // (service, network) -> (endpoints without sidecar, consumers through gateways)
        let mut no_sidecar: BTreeMap<(usize, &str), NoSidecar<'_>> = BTreeMap::new();
        // Per endpoint network (not per endpoint): the client networks that reach it only
        // through a gateway.
        let mut far_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for &(si, ei, net) in &endpoints {
            let far = far_of.entry(net).or_insert_with(|| {
                clients
                    .iter()
                    .copied()
                    .filter(|&b| !self.reaches_pods(b, net) && !self.partitioned(b, net))
                    .collect()
            });
            if far.is_empty() {
                continue;
            }
            if !needs_gateway.contains_key(net) {
                needs_gateway.insert(net, far.clone());
            }
            let e = &self.doc.spec.services[si].endpoints[ei];
            if e.tls_mode == TlsMode::Disabled {
                let entry = no_sidecar.entry((si, net)).or_default();
                let addrs: Vec<String> = e.addresses.iter().map(ToString::to_string).collect();
                entry
                    .0
                    .insert(format!("{} (cluster {})", addrs.join(", "), e.cluster));
                entry.1.extend(far.iter());
            }
        }
        for (net, far) in needs_gateway {
            if self.gateways.get(net).is_some_and(|g| !g.is_empty()) {
                continue;
            }
            let list: Vec<&str> = far.iter().copied().collect();
            let mut subjects = vec![Subject::Network(net.to_owned())];
            subjects.extend(far.iter().map(|n| Subject::Network((*n).to_owned())));
            out.push(Diagnostic::new(
                Code::NetworkWithoutGateway,
                format!("{} has no usable gateway, but clients on unlinked networks consume its endpoints", network_text(net)),
                subjects,
                format!(
                    "Clients on {} reach {} neither by IP (not linked) nor through a gateway (none resolved{}); modern istiod then sends them the endpoints directly and the connections fail, Istio 1.1 drops them (rule R8)",
                    list.join(", "),
                    network_text(net),
                    if self.cond.gateways_down.iter().any(|(n, _)| n == net) { ", or its gateways are down" } else { "" }
                ),
                format!("Add an east-west gateway to meshNetworks.networks.{net}.gateways (an address, or a registryServiceName with an external address), or link the networks"),
            ));
        }
        for ((si, net), (addrs, far)) in no_sidecar {
            let key = self.doc.spec.services[si].key().to_string();
            let addrs: Vec<String> = addrs.into_iter().collect();
            let far_list: Vec<&str> = far.iter().copied().collect();
            let mut subjects = vec![
                Subject::Service(key.clone()),
                Subject::Network(net.to_owned()),
            ];
            subjects.extend(far.iter().map(|n| Subject::Network((*n).to_owned())));
            out.push(Diagnostic::new(
                Code::RemoteEndpointWithoutSidecar,
                format!("endpoints of {key} without a sidecar on {} cannot be reached from {}", network_text(net), far_list.join(", ")),
                subjects,
                format!(
                    "{} {} tlsMode disabled; clients on {} reach {} only through its gateway, which accepts only Istio mTLS (SNI auto-passthrough), so these endpoints are left out",
                    addrs.join("; "),
                    if addrs.len() == 1 { "has" } else { "have" },
                    far_list.join(", "),
                    network_text(net)
                ),
                "Inject a sidecar into these workloads, or link the networks so clients reach them by IP",
            ));
        }
    }

    /// The primaries and the clusters each manages (remotes whose primary exists).
    fn groups(&self) -> BTreeMap<&'a str, Vec<&'a str>> {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (&name, &c) in &self.clusters {
            match self.managed(c) {
                Managed::Primary => groups.entry(name).or_default().insert(0, name),
                Managed::Remote(p) => groups.entry(p).or_default().push(name),
                _ => {}
            }
        }
        groups
    }

    fn group_kind(&self, primary: &str, members: &[&str]) -> ControlPlaneKind {
        let pn = self.network_of_cluster(primary);
        let remotes: Vec<&&str> = members.iter().filter(|m| **m != primary).collect();
        let flat = remotes
            .iter()
            .filter(|r| self.flat(pn, self.network_of_cluster(r)))
            .count();
        match (remotes.len(), flat) {
            (0, _) => ControlPlaneKind::Primary,
            (n, f) if n == f => ControlPlaneKind::Vpn,
            (_, 0) => ControlPlaneKind::SplitHorizon,
            _ => ControlPlaneKind::Mixed,
        }
    }

    fn replication_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for (primary, members) in self.groups() {
            // The design's one-control-plane-over-a-VPN mesh resolves names through each
            // cluster's own kube-dns, so every cluster needs the Service object.
            let kind = self.group_kind(primary, &members);
            if kind != ControlPlaneKind::Vpn {
                continue;
            }
            for s in &self.doc.spec.services {
                let have: BTreeSet<&str> = s.clusters().iter().map(|c| c.as_str()).collect();
                if !members.iter().any(|m| have.contains(m)) {
                    continue;
                }
                let key = s.key().to_string();
                let present: Vec<&str> = members
                    .iter()
                    .copied()
                    .filter(|m| have.contains(m))
                    .collect();
                for &m in &members {
                    if have.contains(m) {
                        continue;
                    }
                    out.push(Diagnostic::new(
                        Code::ServiceNotReplicated,
                        format!("service {key} is not defined in cluster {m}"),
                        vec![Subject::Service(key.clone()), Subject::Cluster(m.to_owned())],
                        format!(
                            "Clusters {} share one control plane (in {primary}, {}); {key} exists in {} but not in {m}, so kube-dns in {m} has no name for it and clients there cannot resolve {}",
                            members.join(", "),
                            kind.describe(),
                            present.join(", "),
                            s.key().cluster_host(&self.doc.spec.domain_suffix),
                        ),
                        format!("Create the Service {key} (it may have no pods) in cluster {m}, or add {m} to its definedIn"),
                    ));
                }
            }
        }
    }

    fn topology(&self) -> Topology {
        let groups = self.groups();
        let control_planes: Vec<ControlPlane> = groups
            .iter()
            .map(|(&p, members)| ControlPlane {
                cluster: p.to_owned(),
                network: self.network_of_cluster(p).to_owned(),
                kind: self.group_kind(p, members),
                clusters: members.iter().map(|m| (*m).to_owned()).collect(),
                watches: self
                    .clusters
                    .get(p)
                    .map(|c| c.watches.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let kind = MeshKind::of(&control_planes);
        let spaces = self.spaces.spaces();
        // Networks that hold clusters, in separate flat address spaces: "on different networks".
        let spaces_count = {
            let used: BTreeSet<&str> = self.cluster_network.values().map(String::as_str).collect();
            spaces
                .iter()
                .filter(|s| s.iter().any(|n| used.contains(n)))
                .count()
        };
        let mut networks: BTreeMap<&str, NetworkSummary> = BTreeMap::new();
        for (i, space) in spaces.iter().enumerate() {
            for &n in space {
                networks.insert(
                    n,
                    NetworkSummary {
                        name: n.to_owned(),
                        clusters: Vec::new(),
                        gateways: self
                            .gateways
                            .get(n)
                            .map(|g| g.iter().map(gateway_text).collect())
                            .unwrap_or_default(),
                        address_space: i,
                    },
                );
            }
        }
        for (&c, n) in &self.cluster_network {
            if let Some(s) = networks.get_mut(n.as_str()) {
                s.clusters.push(c.to_owned());
            }
        }
        Topology {
            istio_model: istio_model(kind, &control_planes, spaces_count),
            kind,
            control_planes,
            networks: networks.into_values().collect(),
            address_spaces: spaces
                .into_iter()
                .map(|s| s.into_iter().map(str::to_owned).collect())
                .collect(),
        }
    }
}

/// The Istio install guide a mesh follows, in its words (istio.io "Install Multi-Primary",
/// "Install Primary-Remote", each also "on different networks"), else the classification's name.
fn istio_model(kind: MeshKind, control_planes: &[ControlPlane], spaces: usize) -> String {
    let watching = control_planes.iter().any(|c| !c.watches.is_empty());
    let with_remotes = control_planes.iter().any(|c| c.clusters.len() > 1);
    let base = match kind {
        MeshKind::MultiPrimary => "multi-primary",
        MeshKind::SingleControlPlaneVpn | MeshKind::SingleControlPlaneSplitHorizon => {
            "primary-remote"
        }
        MeshKind::Mixed if watching && with_remotes => "multi-primary and primary-remote",
        MeshKind::Mixed if !watching && control_planes.len() == 1 => "primary-remote",
        other => return other.as_str().to_owned(),
    };
    if spaces > 1 {
        format!("{base} on different networks")
    } else {
        base.to_owned()
    }
}

/// Network names, sorted, and `(service index, endpoint index, network index)` per endpoint.
type PublishedEndpoints = (Vec<String>, Vec<(usize, usize, usize)>);

/// Client network → per service (document index) → endpoint indices reached, ascending.
pub(crate) type Reach = BTreeMap<String, Vec<Vec<usize>>>;

/// Endpoints without a sidecar of one service on one network, and the networks that consume them
/// through gateways.
type NoSidecar<'a> = (BTreeSet<String>, BTreeSet<&'a str>);

/// `address:port` (`[v6]:port`).
pub(crate) fn gateway_text(g: &Gateway) -> String {
    if g.address.contains(':') {
        format!("[{}]:{}", g.address, g.port)
    } else {
        format!("{}:{}", g.address, g.port)
    }
}
