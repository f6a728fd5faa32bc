//! "What if this fails?" seen through locality failover: for every client locality of a mesh
//! document and every cluster it asks for, which priority serves once a cluster, a locality or a
//! gateway is down, what that priority holds, or that nothing is left.
//!
//! The assignments are the ones Istio pushes before the failure (priorities included, rules
//! L12–L21); the failed endpoints are then the ones Envoy ejects (outlier detection, or
//! health checks), and traffic goes to the first priority that still has a live endpoint (L32:
//! Envoy moves it gradually as a priority's health falls; this is where it ends). A gateway
//! endpoint is live while the gateway is up and some endpoint it stands in for, in its group,
//! is live.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use mesh_model::{ClusterId, Gateway, Locality, MeshDocument};
use serde::{Serialize, Serializer};

use crate::assignment::{EndpointAddress, EndpointKind, LoadAssignment};
use crate::document::DocumentEds;
use crate::error::EdsError;
use crate::explain::{Explanation, Outcome};
use crate::input::{Features, Profile};
use crate::view::View;

/// What fails.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Outage {
    /// A whole cluster: its endpoints, its proxies and the gateways resolved in it
    /// (`cluster:<name>`).
    Cluster(ClusterId),
    /// A region, zone or subzone: its endpoints and its proxies (`locality:<r>[/<z>[/<s>]]`).
    Locality(Locality),
    /// A gateway address, on one port or all of them (`gateway:<address>[:<port>]`).
    Gateway {
        /// The address (IPs normalised).
        address: String,
        /// The port; `None` = every port of the address.
        port: Option<u32>,
    },
}

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cluster(c) => write!(f, "cluster:{c}"),
            Self::Locality(l) => write!(f, "locality:{l}"),
            Self::Gateway { address, port } => {
                let bracketed = address.contains(':') && port.is_some();
                match (bracketed, port) {
                    (true, Some(p)) => write!(f, "gateway:[{address}]:{p}"),
                    (_, Some(p)) => write!(f, "gateway:{address}:{p}"),
                    (_, None) => write!(f, "gateway:{address}"),
                }
            }
        }
    }
}

impl Serialize for Outage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An outage that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{input:?}: expected {expected}")]
pub struct OutageParseError {
    /// The whole input.
    pub input: String,
    /// What was expected.
    pub expected: &'static str,
}

impl FromStr for Outage {
    type Err = OutageParseError;

    /// `cluster:<name>`, `locality:<region>[/<zone>[/<subzone>]]`, `gateway:<address>[:<port>]`
    /// (an IPv6 address with a port in brackets: `gateway:[2001:db8::1]:15443`).
    ///
    /// ```
    /// use mesh_eds::Outage;
    /// let o: Outage = "gateway:[2001:db8:0::1]:15443".parse()?;
    /// assert_eq!(o.to_string(), "gateway:[2001:db8::1]:15443");
    /// assert!("locality:us-east/*".parse::<Outage>().is_err());
    /// # Ok::<(), mesh_eds::OutageParseError>(())
    /// ```
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |expected| OutageParseError {
            input: input.to_owned(),
            expected,
        };
        let (kind, arg) = input.split_once(':').ok_or_else(|| {
            bad("cluster:<name>, locality:<region>[/<zone>[/<subzone>]] or gateway:<address>[:<port>]")
        })?;
        match kind {
            "cluster" => arg
                .parse()
                .map(Self::Cluster)
                .map_err(|_| bad("cluster:<name> (a cluster id)")),
            "locality" => arg
                .parse::<Locality>()
                .ok()
                .filter(|l| !l.region().is_empty())
                .map(Self::Locality)
                .ok_or_else(|| bad("locality:<region>[/<zone>[/<subzone>]]")),
            "gateway" => {
                let expected = "gateway:<address>[:<port>] (IPv6 with a port: [<address>]:<port>)";
                let (address, port) = if let Some(rest) = arg.strip_prefix('[') {
                    let (a, p) = rest.split_once("]:").ok_or_else(|| bad(expected))?;
                    (a, Some(p))
                } else if arg.matches(':').count() == 1 {
                    let (a, p) = arg.split_once(':').ok_or_else(|| bad(expected))?;
                    (a, Some(p))
                } else {
                    (arg, None)
                };
                if address.is_empty() || address.contains(['/', ',', ' ', '[', ']']) {
                    return Err(bad(expected));
                }
                let port = match port {
                    Some(p) => Some(
                        p.parse::<u16>()
                            .ok()
                            .filter(|p| *p != 0)
                            .ok_or_else(|| bad(expected))?,
                    ),
                    None => None,
                };
                let address = address
                    .parse::<IpAddr>()
                    .map_or_else(|_| address.to_owned(), |ip| ip.to_string());
                Ok(Self::Gateway {
                    address,
                    port: port.map(u32::from),
                })
            }
            _ => Err(bad(
                "cluster:<name>, locality:<region>[/<zone>[/<subzone>]] or gateway:<address>[:<port>]",
            )),
        }
    }
}

/// An outage that names nothing in the mesh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutageError {
    /// No cluster of that name.
    #[error("{outage}: there is no cluster {cluster} in this mesh (its clusters: {})", .known.join(", "))]
    UnknownCluster {
        /// The outage as given.
        outage: String,
        /// The cluster.
        cluster: String,
        /// The mesh's clusters.
        known: Vec<String>,
    },
    /// No cluster or endpoint is in that locality.
    #[error("{outage}: no cluster or endpoint is in {locality} (the localities: {})", .known.join(", "))]
    UnknownLocality {
        /// The outage as given.
        outage: String,
        /// The locality.
        locality: String,
        /// The localities present.
        known: Vec<String>,
    },
    /// No resolved gateway has that address (and port).
    #[error("{outage}: no gateway at {address} (the gateways: {})", .known.join(", "))]
    NoSuchGateway {
        /// The outage as given.
        outage: String,
        /// The address given.
        address: String,
        /// The resolved gateways, `address:port`.
        known: Vec<String>,
    },
    /// The engine cannot compute an assignment.
    #[error("{cluster}: {source}")]
    Eds {
        /// The Envoy cluster.
        cluster: String,
        /// Why.
        source: EdsError,
    },
}

/// A group of clients: the sidecars of one cluster in one locality.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Client {
    /// Their locality (`""` = none).
    pub locality: String,
    /// Their cluster.
    pub cluster: ClusterId,
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let locality = if self.locality.is_empty() {
            "no locality"
        } else {
            &self.locality
        };
        write!(f, "clients in {locality} ({})", self.cluster)
    }
}

/// One endpoint that still serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveEndpoint {
    /// `address:port` (`[v6]:port`).
    pub address: String,
    /// `direct` or `gateway`.
    pub kind: &'static str,
    /// Its group's locality.
    pub locality: String,
    /// For a gateway: how many live endpoints it stands in for in that group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stands_in_for: Option<usize>,
}

/// Endpoints lost at one priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorityLoss {
    /// The priority (as pushed before the outage).
    pub priority: u32,
    /// Endpoints (direct or gateway) of it now down.
    pub lost: usize,
    /// Endpoints of it still live.
    pub left: usize,
}

/// Where one client group's traffic for one Envoy cluster goes once the outage happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverImpact {
    /// The clients.
    pub client: Client,
    /// The service, `name.namespace`.
    pub service: String,
    /// The Envoy cluster.
    pub cluster_name: String,
    /// The priority that served before (the first with endpoints).
    pub served_before: u32,
    /// What each priority lost, ascending (only priorities that lost something).
    pub lost: Vec<PriorityLoss>,
    /// The priority that serves now: the first with a live endpoint; `None` = none is left.
    pub serving: Option<u32>,
    /// The live endpoints of that priority.
    pub endpoints: Vec<LiveEndpoint>,
    /// The clients had endpoints before and have none now.
    pub unreachable: bool,
}

/// The answer: per client group and cluster that loses something, sorted by client locality,
/// client cluster, then Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverReport {
    /// What failed.
    pub outage: Outage,
    /// Client groups that are down with it (not listed in `impacts`).
    pub clients_down: Vec<Client>,
    /// What changes for the others.
    pub impacts: Vec<FailoverImpact>,
    /// How many (client group, cluster) pairs lose nothing.
    pub unaffected: usize,
}

impl FailoverReport {
    /// Whether some service becomes unreachable for some client group.
    pub fn any_unreachable(&self) -> bool {
        self.impacts.iter().any(|i| i.unreachable)
    }
}

/// The endpoints and gateways an outage takes down.
struct Down<'a> {
    outage: &'a Outage,
    /// For a gateway outage: the addresses it takes down (a hostname: every address the
    /// document's `dns` gives it, as the gateway set resolves it, G2).
    gateway_addresses: Vec<String>,
}

impl<'a> Down<'a> {
    fn new(doc: &MeshDocument, outage: &'a Outage) -> Self {
        let gateway_addresses = match outage {
            Outage::Gateway { address, .. } if address.parse::<IpAddr>().is_err() => {
                match doc.spec.dns.get(address) {
                    Some(ips) => ips.iter().map(ToString::to_string).collect(),
                    None => vec![address.clone()],
                }
            }
            Outage::Gateway { address, .. } => vec![address.clone()],
            _ => Vec::new(),
        };
        Self {
            outage,
            gateway_addresses,
        }
    }
}

impl Down<'_> {
    fn client(&self, c: &Client) -> bool {
        match self.outage {
            Outage::Cluster(x) => &c.cluster == x,
            Outage::Locality(l) => in_locality(l, &c.locality),
            Outage::Gateway { .. } => false,
        }
    }

    fn endpoint(&self, cluster: Option<&ClusterId>, locality: &str) -> bool {
        match self.outage {
            Outage::Cluster(x) => cluster == Some(x),
            Outage::Locality(l) => in_locality(l, locality),
            Outage::Gateway { .. } => false,
        }
    }

    fn gateway(&self, g: &Gateway) -> bool {
        match self.outage {
            Outage::Cluster(x) => g.cluster.as_ref() == Some(x),
            Outage::Locality(_) => false,
            Outage::Gateway { port, .. } => {
                self.gateway_addresses.contains(&g.address) && port.is_none_or(|p| p == g.port)
            }
        }
    }
}

/// Whether `locality` is inside the failed `region[/zone[/subzone]]`.
fn in_locality(failed: &Locality, locality: &str) -> bool {
    let (r, z, s) = crate::locality::split_locality(locality);
    let part = |want: &str, have: &str| want.is_empty() || want == have;
    failed.region() == r && part(failed.zone(), z) && part(failed.subzone(), s)
}

/// The client groups of a document: each cluster's sidecars in its own locality and in every
/// locality its endpoints are in, sorted.
fn clients(doc: &MeshDocument) -> Vec<Client> {
    let mut out = std::collections::BTreeSet::new();
    for c in &doc.spec.clusters {
        out.insert(Client {
            locality: c
                .locality
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            cluster: c.name.clone(),
        });
    }
    for s in &doc.spec.services {
        for e in &s.endpoints {
            let Some(cluster) = doc.spec.clusters.iter().find(|c| c.name == e.cluster) else {
                continue;
            };
            let locality = e.locality.as_ref().or(cluster.locality.as_ref());
            out.insert(Client {
                locality: locality.map(ToString::to_string).unwrap_or_default(),
                cluster: e.cluster.clone(),
            });
        }
    }
    out.into_iter().collect()
}

/// What `outage` does to the traffic of every client group of `doc`, cluster by cluster.
///
/// ```
/// use mesh_eds::{Features, Outage, failover_what_if};
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(include_str!("../../../examples/failover.yaml"))?;
/// let report = failover_what_if(&doc, &"locality:us-east/us-east-1a".parse()?, Features::default())?;
/// // east-1's sidecars are down with their zone; east-2's lose ratings' only us-east endpoint
/// assert_eq!(report.clients_down[0].cluster.as_str(), "east-1");
/// let ratings = report.impacts.iter()
///     .find(|i| i.client.cluster.as_str() == "east-2" && i.service == "ratings.bookinfo")
///     .unwrap();
/// assert_eq!((ratings.served_before, ratings.serving), (0, Some(1)));
/// assert_eq!(ratings.endpoints[0].address, "198.51.100.20:15443");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn failover_what_if(
    doc: &MeshDocument,
    outage: &Outage,
    features: Features,
) -> Result<FailoverReport, OutageError> {
    let eds = DocumentEds::new(doc, features);
    let all_clients = clients(doc);
    check_outage(doc, &eds, &all_clients, outage)?;
    let down = Down::new(doc, outage);
    let index = eds.shared_index();
    let mut report = FailoverReport {
        outage: outage.clone(),
        clients_down: Vec::new(),
        impacts: Vec::new(),
        unaffected: 0,
    };
    for client in all_clients {
        if down.client(&client) {
            report.clients_down.push(client);
            continue;
        }
        let class = eds.client_class(
            &client.cluster,
            Some(&client.locality),
            &BTreeMap::new(),
            Profile::IstioModern,
        );
        let view = View::new(&index, class);
        for service in &eds.services {
            let (cla, why) =
                view.explain(&eds.request(service))
                    .map_err(|source| OutageError::Eds {
                        cluster: service.cluster.name(),
                        source,
                    })?;
            match impact(&cla, &why, &down) {
                Some(change) => report.impacts.push(FailoverImpact {
                    client: client.clone(),
                    service: service.service.to_string(),
                    cluster_name: cla.cluster_name.clone(),
                    served_before: change.served_before,
                    lost: change.lost,
                    unreachable: change.serving.is_none(),
                    serving: change.serving,
                    endpoints: change.endpoints,
                }),
                None => report.unaffected += 1,
            }
        }
    }
    report
        .impacts
        .sort_by(|a, b| (&a.client, &a.cluster_name).cmp(&(&b.client, &b.cluster_name)));
    Ok(report)
}

/// The outage names something in the mesh.
fn check_outage(
    doc: &MeshDocument,
    eds: &DocumentEds,
    clients: &[Client],
    outage: &Outage,
) -> Result<(), OutageError> {
    let spec = &doc.spec;
    match outage {
        Outage::Cluster(c) if !spec.clusters.iter().any(|x| &x.name == c) => {
            Err(OutageError::UnknownCluster {
                outage: outage.to_string(),
                cluster: c.to_string(),
                known: spec.clusters.iter().map(|c| c.name.to_string()).collect(),
            })
        }
        Outage::Locality(l) => {
            let mut known: Vec<String> = clients.iter().map(|c| c.locality.clone()).collect();
            known.extend(
                eds.services
                    .iter()
                    .flat_map(|s| s.endpoints.iter().map(|e| e.locality.clone())),
            );
            known.sort();
            known.dedup();
            known.retain(|k| !k.is_empty());
            if known.iter().any(|k| in_locality(l, k)) {
                Ok(())
            } else {
                Err(OutageError::UnknownLocality {
                    outage: outage.to_string(),
                    locality: l.to_string(),
                    known,
                })
            }
        }
        Outage::Gateway { address, .. } => {
            let down = Down::new(doc, outage);
            if eds.gateways.gateways.iter().any(|g| down.gateway(g)) {
                Ok(())
            } else {
                let mut known: Vec<String> = eds
                    .gateways
                    .gateways
                    .iter()
                    .map(|g| socket(&g.address, g.port))
                    .collect();
                known.sort();
                known.dedup();
                Err(OutageError::NoSuchGateway {
                    outage: outage.to_string(),
                    address: address.clone(),
                    known,
                })
            }
        }
        Outage::Cluster(_) => Ok(()),
    }
}

fn socket(address: &str, port: u32) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// The address and port an output endpoint connects to (an HBONE endpoint's id).
fn address_of(a: &EndpointAddress) -> (&str, u32) {
    match a {
        EndpointAddress::Socket { address, port } => (address, *port),
        EndpointAddress::Internal { endpoint_id, .. } => endpoint_id
            .rsplit_once(':')
            .map_or((endpoint_id.as_str(), 0), |(a, p)| {
                (a, p.parse().unwrap_or(0))
            }),
    }
}

/// What an outage changes in one assignment.
struct Change {
    served_before: u32,
    lost: Vec<PriorityLoss>,
    serving: Option<u32>,
    endpoints: Vec<LiveEndpoint>,
}

/// What the outage does to one assignment, `None` when it loses nothing.
fn impact(cla: &LoadAssignment, why: &Explanation, down: &Down<'_>) -> Option<Change> {
    let inputs = &why.endpoints;
    let dead: Vec<bool> = inputs
        .iter()
        .map(|e| down.endpoint(e.cluster.as_ref(), &e.locality))
        .collect();
    let mut used = vec![false; inputs.len()];
    // (priority, live?, endpoint) for every output endpoint.
    let mut all: Vec<(u32, bool, LiveEndpoint)> = Vec::new();
    for group in &cla.localities {
        for lb in &group.endpoints {
            let (address, port) = address_of(&lb.address);
            let (alive, stands_in_for) = match lb.kind {
                EndpointKind::Direct => {
                    let source = inputs.iter().enumerate().position(|(i, e)| {
                        !used[i]
                            && e.outcome.is_direct()
                            && e.locality == group.locality
                            && e.address == address
                            && e.port == port
                    });
                    match source {
                        Some(i) => {
                            used[i] = true;
                            (!dead[i], None)
                        }
                        None => (true, None),
                    }
                }
                EndpointKind::Gateway => {
                    let behind = inputs
                        .iter()
                        .enumerate()
                        .filter(|(i, e)| {
                            !dead[*i]
                                && e.locality == group.locality
                                && matches!(&e.outcome, Outcome::ViaGateways { contributions, .. }
                                    if contributions.iter().any(|c| c.gateway.address == address && c.gateway.port == port))
                        })
                        .count();
                    let gateway_down = inputs.iter().any(|e| match &e.outcome {
                        Outcome::ViaGateways { contributions, .. } => {
                            contributions.iter().any(|c| {
                                c.gateway.address == address
                                    && c.gateway.port == port
                                    && down.gateway(&c.gateway)
                            })
                        }
                        _ => false,
                    });
                    (!gateway_down && behind > 0, Some(behind))
                }
            };
            all.push((
                group.priority,
                alive,
                LiveEndpoint {
                    address: socket(address, port),
                    kind: match lb.kind {
                        EndpointKind::Direct => "direct",
                        EndpointKind::Gateway => "gateway",
                    },
                    locality: group.locality.clone(),
                    stands_in_for,
                },
            ));
        }
    }
    let served_before = all.iter().map(|(p, ..)| *p).min()?;
    let mut lost: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for (p, alive, _) in &all {
        let entry = lost.entry(*p).or_default();
        if *alive {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
    }
    lost.retain(|_, (l, _)| *l > 0);
    if lost.is_empty() {
        return None;
    }
    let serving = all.iter().filter(|(_, a, _)| *a).map(|(p, ..)| *p).min();
    let endpoints = all
        .into_iter()
        .filter(|(p, a, _)| *a && Some(*p) == serving)
        .map(|(.., e)| e)
        .collect();
    Some(Change {
        served_before,
        lost: lost
            .into_iter()
            .map(|(priority, (lost, left))| PriorityLoss {
                priority,
                lost,
                left,
            })
            .collect(),
        serving,
        endpoints,
    })
}

impl fmt::Display for FailoverImpact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} ({}): ",
            self.client, self.service, self.cluster_name
        )?;
        let losses: Vec<String> = self
            .lost
            .iter()
            .map(|l| {
                let what = if l.left == 0 { "lost" } else { "partly lost" };
                format!(
                    "priority {} {what} ({} of {})",
                    l.priority,
                    l.lost,
                    l.lost + l.left
                )
            })
            .collect();
        f.write_str(&losses.join(", "))?;
        let Some(serving) = self.serving else {
            return f.write_str("; UNREACHABLE: no priority has a live endpoint left");
        };
        if serving == self.served_before {
            write!(f, "; priority {serving} still serves: ")?;
        } else {
            write!(f, "; fails over to priority {serving}: ")?;
        }
        // Grouped by locality: "3 endpoints in us-east/1b", "gateway G for 2 endpoints in r/z".
        let mut parts: Vec<String> = Vec::new();
        let mut direct: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.endpoints {
            match e.stands_in_for {
                Some(n) => parts.push(format!(
                    "gateway {} for {n} endpoint{} in {}",
                    e.address,
                    if n == 1 { "" } else { "s" },
                    e.locality
                )),
                None => *direct.entry(&e.locality).or_default() += 1,
            }
        }
        let mut direct: Vec<String> = direct
            .into_iter()
            .map(|(l, n)| format!("{n} endpoint{} in {l}", if n == 1 { "" } else { "s" }))
            .collect();
        direct.append(&mut parts);
        f.write_str(&direct.join(", "))
    }
}

impl fmt::Display for FailoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "what if {} fails (locality failover, per client locality):",
            self.outage
        )?;
        for c in &self.clients_down {
            writeln!(f, "  down with it: {c}")?;
        }
        if self.impacts.is_empty() {
            writeln!(f, "  no client loses an endpoint")?;
        }
        for i in &self.impacts {
            writeln!(f, "  {i}")?;
        }
        if self.unaffected > 0 && !self.impacts.is_empty() {
            writeln!(
                f,
                "  {} other (client, cluster) pair{} lose nothing",
                self.unaffected,
                if self.unaffected == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILOVER: &str = include_str!("../../../examples/failover.yaml");

    fn report(outage: &str) -> FailoverReport {
        let doc = MeshDocument::from_yaml(FAILOVER).unwrap();
        failover_what_if(&doc, &outage.parse().unwrap(), Features::default()).unwrap()
    }

    fn find<'a>(r: &'a FailoverReport, cluster: &str, envoy_cluster: &str) -> &'a FailoverImpact {
        r.impacts
            .iter()
            .find(|i| i.client.cluster.as_str() == cluster && i.cluster_name == envoy_cluster)
            .unwrap_or_else(|| panic!("{cluster} {envoy_cluster}: {r}"))
    }

    const REVIEWS: &str = "outbound|9080||reviews.bookinfo.svc.cluster.local";
    const RATINGS: &str = "outbound|9080||ratings.bookinfo.svc.cluster.local";

    #[test]
    fn a_lost_zone_fails_over_to_the_next_priority() {
        let r = report("locality:us-east/us-east-1b");
        assert_eq!(
            r.clients_down,
            [Client {
                locality: "us-east/us-east-1b".into(),
                cluster: "east-2".parse().unwrap()
            }]
        );
        // east-1 (us-east-1a): reviews keeps its own zone at priority 0; us-east-1b was 1
        let reviews = find(&r, "east-1", REVIEWS);
        assert_eq!(
            reviews.lost,
            [PriorityLoss {
                priority: 1,
                lost: 3,
                left: 0
            }]
        );
        assert_eq!(reviews.serving, Some(0));
        assert_eq!(
            reviews.to_string(),
            "clients in us-east/us-east-1a (east-1) -> reviews.bookinfo (outbound|9080||reviews.bookinfo.svc.cluster.local): priority 1 lost (3 of 3); priority 0 still serves: 2 endpoints in us-east/us-east-1a"
        );
        // west reaches us-east-1b through net-east's gateway, whose entry in that group now
        // stands in for no live endpoint: lost; its own zone still serves
        let west = find(&r, "west", REVIEWS);
        assert_eq!(
            west.lost,
            [PriorityLoss {
                priority: 1,
                lost: 1,
                left: 1
            }]
        );
        assert_eq!(west.serving, Some(0));
        // sorted by client, then Envoy cluster name
        assert!(
            r.impacts
                .windows(2)
                .all(|w| (&w[0].client, &w[0].cluster_name) <= (&w[1].client, &w[1].cluster_name)),
            "{r}"
        );
        // ratings has no endpoint in us-east-1b: nobody's ratings changes
        assert!(r.impacts.iter().all(|i| i.cluster_name != RATINGS), "{r}");
        assert!(!r.any_unreachable());
    }

    #[test]
    fn a_lost_cluster_moves_its_region_to_the_failover_target() {
        let r = report("cluster:east-1");
        let ratings = find(&r, "east-2", RATINGS);
        assert_eq!((ratings.served_before, ratings.serving), (0, Some(1)));
        assert_eq!(
            ratings.endpoints,
            [LiveEndpoint {
                address: "198.51.100.20:15443".into(),
                kind: "gateway",
                locality: "us-west/us-west-2a".into(),
                stands_in_for: Some(2),
            }]
        );
        assert!(ratings.to_string().ends_with(
            "priority 0 lost (1 of 1); fails over to priority 1: gateway 198.51.100.20:15443 for 2 endpoints in us-west/us-west-2a"
        ), "{ratings}");
        // west's clients: ratings' us-east gateway entry stood in for east-1's endpoint only
        let west = find(&r, "west", RATINGS);
        assert_eq!(
            west.lost,
            [PriorityLoss {
                priority: 1,
                lost: 1,
                left: 0
            }]
        );
        assert_eq!(west.serving, Some(0));
    }

    #[test]
    fn a_lost_gateway_makes_a_service_unreachable() {
        let r = report("gateway:192.0.2.10:15443");
        // net-east's gateway only serves west's clients, who keep their own zone
        assert!(
            r.impacts
                .iter()
                .all(|i| i.client.cluster.as_str() == "west"),
            "{r}"
        );
        let reviews = find(&r, "west", REVIEWS);
        assert_eq!(
            reviews.lost,
            [PriorityLoss {
                priority: 1,
                lost: 2,
                left: 0
            }]
        );
        assert_eq!(reviews.serving, Some(0));
        assert!(!r.any_unreachable());
        // net-west's gateway (every port): east's clients lose us-west, keep their own zone
        let r = report("gateway:198.51.100.20");
        let ratings = find(&r, "east-1", RATINGS);
        assert_eq!(ratings.serving, Some(0));
        assert_eq!(ratings.lost[0].priority, 1);
    }

    #[test]
    fn unreachable_when_every_priority_is_gone() {
        let doc = MeshDocument::from_yaml(&FAILOVER.replace(
            "        - {cluster: east-1, address: 10.11.2.5, labels: {app: ratings, version: v1}}\n",
            "",
        ))
        .unwrap();
        let r =
            failover_what_if(&doc, &"cluster:west".parse().unwrap(), Features::default()).unwrap();
        let ratings = find(&r, "east-1", RATINGS);
        assert!(ratings.unreachable);
        assert_eq!(ratings.serving, None);
        assert!(
            ratings
                .to_string()
                .ends_with("UNREACHABLE: no priority has a live endpoint left")
        );
        assert!(r.any_unreachable());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["outage"], "cluster:west");
        assert!(json["impacts"][0].get("clusterName").is_some());
    }

    #[test]
    fn a_hostname_gateway_takes_down_every_address_it_resolves_to() {
        // split-horizon.yaml: network2's registry gateway resolves to 198.51.100.7 and, through
        // the hostname eastwest.cluster2.example.com, 198.51.100.8 and 2001:db8::8
        let doc =
            MeshDocument::from_yaml(include_str!("../../../examples/split-horizon.yaml")).unwrap();
        let run =
            |o: &str| failover_what_if(&doc, &o.parse().unwrap(), Features::default()).unwrap();
        let by_name = run("gateway:eastwest.cluster2.example.com");
        let reviews = |r: &FailoverReport| {
            r.impacts
                .iter()
                .find(|i| {
                    i.client.cluster.as_str() == "cluster1" && i.service == "reviews.bookinfo"
                })
                .map(|i| {
                    i.endpoints
                        .iter()
                        .map(|e| e.address.clone())
                        .collect::<Vec<_>>()
                })
        };
        // cluster1's IPv4 sidecars keep 198.51.100.7 for network2's endpoints
        let left = reviews(&by_name).unwrap();
        assert!(left.contains(&"198.51.100.7:15443".to_owned()), "{by_name}");
        assert!(
            !left.contains(&"198.51.100.8:15443".to_owned()),
            "{by_name}"
        );
        assert_eq!(reviews(&run("gateway:198.51.100.8")), reviews(&by_name));
    }

    #[test]
    fn outages_that_name_nothing_are_errors() {
        let doc = MeshDocument::from_yaml(FAILOVER).unwrap();
        let run = |o: &str| failover_what_if(&doc, &o.parse().unwrap(), Features::default());
        assert!(matches!(
            run("cluster:nope"),
            Err(OutageError::UnknownCluster { .. })
        ));
        let e = run("locality:eu-west").unwrap_err().to_string();
        assert!(
            e.contains("us-east/us-east-1a, us-east/us-east-1b, us-west/us-west-2a"),
            "{e}"
        );
        let e = run("gateway:192.0.2.10:443").unwrap_err().to_string();
        assert!(e.contains("192.0.2.10:15443, 198.51.100.20:15443"), "{e}");
        for bad in [
            "locality:",
            "locality:a/*",
            "gateway:",
            "gateway:1.2.3.4:0",
            "gateway:n1/1.2.3.4",
            "router:x",
            "cluster:A_B",
        ] {
            assert!(bad.parse::<Outage>().is_err(), "{bad}");
        }
        for (text, shown) in [
            ("gateway:2001:db8::1", "gateway:2001:db8::1"),
            (
                "gateway:[2001:db8:0::1]:15443",
                "gateway:[2001:db8::1]:15443",
            ),
            (
                "gateway:eastwest.example.com:15443",
                "gateway:eastwest.example.com:15443",
            ),
            ("locality:us-east", "locality:us-east"),
        ] {
            assert_eq!(text.parse::<Outage>().unwrap().to_string(), shown);
        }
    }
}
