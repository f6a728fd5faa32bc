//! Who is where and who reaches whom under a set of failures: the state every diagnostic family
//! reads, and the reach `what_if` compares.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesh_model::{
    Cluster, Exposure, Gateway, MeshDocument, NetworkResolver, TlsMode, UnresolvedGateway,
};

use super::text::network_text;
use crate::report::ControlPlaneKind;
use crate::spaces::FlatAddressSpaces;

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

/// The network of a cluster or endpoint that names none: Istio's implicit network `""`.
pub(crate) const NO_NETWORK: &str = "";

/// How a cluster relates to its control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Managed<'a> {
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
    pub(super) doc: &'a MeshDocument,
    pub(super) cond: &'a Conditions,
    /// Present clusters (first of each name, not removed), by name.
    pub(super) clusters: BTreeMap<&'a str, &'a Cluster>,
    /// Network of each present cluster.
    pub(super) cluster_network: BTreeMap<&'a str, String>,
    pub(super) resolver: NetworkResolver<'a>,
    pub(super) spaces: FlatAddressSpaces,
    /// Usable gateways (resolved, not down, cluster present) per network.
    pub(super) gateways: BTreeMap<String, Vec<Gateway>>,
    pub(super) unresolved: Vec<UnresolvedGateway>,
    /// Network names, and (service, endpoint, network index) of each published endpoint.
    pub(super) published_endpoints: OnceCell<PublishedEndpoints>,
    /// When to verify CA material at; `None` = not verified.
    pub(super) now: Option<i64>,
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
        // The MeshNetworks as written, not `MeshNetworks::accepted` (rule P2): a validator has
        // no last known good, reports the rejection itself (`invalid-meshnetworks`), and analyses
        // what the user wrote, so the rest of the report holds once that error is fixed instead
        // of repeating its consequences.
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

    pub(super) fn network_of_cluster(&self, cluster: &str) -> &str {
        self.cluster_network
            .get(cluster)
            .map_or(NO_NETWORK, String::as_str)
    }

    pub(super) fn partitioned(&self, a: &str, b: &str) -> bool {
        let key = if a <= b { (a, b) } else { (b, a) };
        self.cond
            .partitions
            .iter()
            .any(|(x, y)| (x.as_str(), y.as_str()) == key)
    }

    /// Pods of networks `a` and `b` share one flat address space. A cluster or endpoint with no
    /// network is, as in Istio (`IsSameOrEmpty`), on every network.
    pub(super) fn flat(&self, a: &str, b: &str) -> bool {
        a == NO_NETWORK || b == NO_NETWORK || self.spaces.same_space(a, b)
    }

    /// Pods of `from` reach pods of `to` by IP.
    pub(super) fn reaches_pods(&self, from: &str, to: &str) -> bool {
        self.flat(from, to) && !self.partitioned(from, to)
    }

    /// A gateway of `to` that `from` can send to.
    pub(super) fn usable_gateway(&self, from: &str, to: &str) -> Option<&Gateway> {
        if self.partitioned(from, to) {
            return None;
        }
        self.gateways.get(to).and_then(|g| g.first())
    }

    pub(super) fn managed(&self, c: &'a Cluster) -> Managed<'a> {
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
    pub(super) fn primary_of(&self, c: &'a Cluster) -> Option<&'a str> {
        match self.managed(c) {
            Managed::Primary => Some(c.name.as_str()),
            Managed::Remote(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the control plane of `primary` can read the API server of `cluster`; the error
    /// explains the path tried and where it broke.
    pub(super) fn api_server_path(&self, primary: &str, cluster: &Cluster) -> Result<(), String> {
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
    pub(super) fn control_plane_path(&self, c: &Cluster, primary: &str) -> Result<(), String> {
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
    pub(super) fn served_clients(&self) -> Vec<&'a Cluster> {
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
    pub(crate) fn published(&self, cluster: &str) -> bool {
        let Some(c) = self.clusters.get(cluster) else {
            return false;
        };
        self.primary_of(c)
            .is_some_and(|p| self.api_server_path(p, c).is_ok())
    }

    /// Published endpoints: `(service index, endpoint index, network)`, in document order.
    /// Computed once per analysis.
    pub(super) fn published_endpoints(&self) -> Vec<(usize, usize, &str)> {
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

    /// What the clients on each network reach: client network → whether its proxies get
    /// configuration from a control plane, and for each service (by index in the document) the
    /// endpoints reached, ascending, with the network and path of each. A network whose
    /// clusters all lack a working control plane reaches nothing here (what its proxies keep
    /// from before is [`Analysis::last_config_reach`]). O(client networks × endpoints), with the
    /// path to each endpoint network decided once per client network.
    pub(crate) fn reach(&self) -> Reach<'_> {
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
            let mut per_service: Vec<Vec<Reached<'_>>> = vec![Vec::new(); services.len()];
            let is_served = served.contains(client);
            if is_served {
                // (by IP, through a gateway) for each endpoint network.
                let paths: Vec<(bool, bool)> = nets
                    .iter()
                    .map(|n| {
                        (
                            self.path_works(client, n, Path::Direct),
                            self.path_works(client, n, Path::Gateway),
                        )
                    })
                    .collect();
                for (&(si, ei, network), &n) in endpoints.iter().zip(&net_of) {
                    let path = match paths[n] {
                        (true, _) => Path::Direct,
                        (false, true) if services[si].endpoints[ei].tls_mode == TlsMode::Istio => {
                            Path::Gateway
                        }
                        _ => continue,
                    };
                    per_service[si].push(Reached {
                        endpoint: ei,
                        network,
                        path,
                    });
                }
            }
            out.insert(
                client.to_owned(),
                ClientReach {
                    served: is_served,
                    services: per_service,
                },
            );
        }
        out
    }

    /// Whether clients on `client` reach pods of `network` along `path` (by IP, or through a
    /// usable gateway of `network`).
    pub(crate) fn path_works(&self, client: &str, network: &str, path: Path) -> bool {
        match path {
            Path::Direct => self.reaches_pods(client, network),
            Path::Gateway => self.usable_gateway(client, network).is_some(),
        }
    }

    /// What proxies that lost their control plane still reach with the config they kept (`had`,
    /// from before): the endpoints whose cluster is still there and whose path (the same one:
    /// a kept config does not reroute) still works.
    pub(crate) fn last_config_reach<'r>(
        &self,
        client: &str,
        service: usize,
        had: &[Reached<'r>],
    ) -> Vec<Reached<'r>> {
        let endpoints = &self.doc.spec.services[service].endpoints;
        had.iter()
            .filter(|r| {
                self.clusters
                    .contains_key(endpoints[r.endpoint].cluster.as_str())
                    && self.path_works(client, r.network, r.path)
            })
            .copied()
            .collect()
    }

    /// Whether a cluster of the mesh as written is still there.
    pub(crate) fn is_present(&self, cluster: &str) -> bool {
        self.clusters.contains_key(cluster)
    }

    /// Why the clusters on `network` get no configuration: one line per remote whose control
    /// plane is gone or out of reach.
    pub(crate) fn control_plane_losses(&self, network: &str) -> Vec<String> {
        self.clusters
            .values()
            .filter(|c| self.network_of_cluster(c.name.as_str()) == network)
            .filter_map(|c| match self.managed(c) {
                Managed::Remote(p) => self.control_plane_path(c, p).err(),
                Managed::Removed(p) => Some(format!(
                    "cluster {p}, which runs the control plane of {}, is gone (failure)",
                    c.name
                )),
                _ => None,
            })
            .collect()
    }

    /// The primaries and the clusters each manages (remotes whose primary exists).
    pub(super) fn groups(&self) -> BTreeMap<&'a str, Vec<&'a str>> {
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

    pub(super) fn group_kind(&self, primary: &str, members: &[&str]) -> ControlPlaneKind {
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
}

/// Network names, sorted, and `(service index, endpoint index, network index)` per endpoint.
type PublishedEndpoints = (Vec<String>, Vec<(usize, usize, usize)>);

/// How a client network reaches an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Path {
    /// By IP: one flat address space.
    Direct,
    /// Through an east-west gateway of the endpoint's network (sidecar endpoints only).
    Gateway,
}

/// One endpoint a client network reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reached<'a> {
    /// Its index in its service's endpoints.
    pub endpoint: usize,
    /// Its network.
    pub network: &'a str,
    /// How the clients reach it.
    pub path: Path,
}

/// What the clients of one network reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientReach<'a> {
    /// Their proxies get configuration from a control plane.
    pub served: bool,
    /// Per service (document index), the endpoints reached, ascending by index.
    pub services: Vec<Vec<Reached<'a>>>,
}

/// Client network → what its clients reach.
pub(crate) type Reach<'a> = BTreeMap<String, ClientReach<'a>>;
