//! "What if this fails?": the mesh analysed again with one thing down, compared with the mesh as
//! written.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use mesh_model::MeshDocument;
use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Conditions, Path, Reached, capped_list, network_text};
use crate::diagnostic::Diagnostic;

/// One thing that fails.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum Failure {
    /// A gateway of a network is down (`gateway:<network>/<address>`).
    GatewayDown {
        /// The network it serves.
        network: String,
        /// Its resolved address.
        address: String,
    },
    /// The direct link between two networks is cut (`link:<a>,<b>`).
    LinkCut {
        /// One network.
        a: String,
        /// The other.
        b: String,
    },
    /// Two networks cannot reach each other at all, by IP or through gateways
    /// (`partition:<a>,<b>`).
    NetworkPartitioned {
        /// One network.
        a: String,
        /// The other.
        b: String,
    },
    /// Nobody can reach the API server of a cluster (`api-server:<cluster>`).
    ApiServerUnreachable {
        /// The cluster.
        cluster: String,
    },
    /// A cluster is gone (`cluster:<name>`).
    ClusterRemoved {
        /// The cluster.
        cluster: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GatewayDown { network, address } => write!(f, "gateway:{network}/{address}"),
            Self::LinkCut { a, b } => write!(f, "link:{a},{b}"),
            Self::NetworkPartitioned { a, b } => write!(f, "partition:{a},{b}"),
            Self::ApiServerUnreachable { cluster } => write!(f, "api-server:{cluster}"),
            Self::ClusterRemoved { cluster } => write!(f, "cluster:{cluster}"),
        }
    }
}

/// A failure spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureParseError {
    /// No `kind:` prefix, or an unknown kind.
    #[error(
        "{input:?}: expected gateway:<network>/<address>, link:<a>,<b>, partition:<a>,<b>, cluster:<name> or api-server:<cluster>"
    )]
    UnknownKind {
        /// The whole input.
        input: String,
    },
    /// The kind is known but its argument is malformed.
    #[error("{input:?}: {kind} takes {expected}")]
    BadArgument {
        /// The whole input.
        input: String,
        /// The kind (`gateway`, `link`, ...).
        kind: &'static str,
        /// What it takes.
        expected: &'static str,
    },
}

impl FromStr for Failure {
    type Err = FailureParseError;

    /// Parses the CLI form: `gateway:<network>/<address>`, `link:<a>,<b>`,
    /// `partition:<a>,<b>`, `cluster:<name>`, `api-server:<cluster>`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (kind, arg) = input
            .split_once(':')
            .ok_or_else(|| FailureParseError::UnknownKind {
                input: input.to_owned(),
            })?;
        let bad = |kind, expected| FailureParseError::BadArgument {
            input: input.to_owned(),
            kind,
            expected,
        };
        let word = |s: &str| !s.is_empty() && !s.contains([',', '/', ' ']);
        let pair = |kind| {
            let (a, b) = arg
                .split_once(',')
                .ok_or_else(|| bad(kind, "two different network names: <a>,<b>"))?;
            if word(a) && word(b) && a != b {
                Ok((a.to_owned(), b.to_owned()))
            } else {
                Err(bad(kind, "two different network names: <a>,<b>"))
            }
        };
        match kind {
            "gateway" => {
                let (network, address) = arg
                    .split_once('/')
                    .filter(|(n, a)| word(n) && !a.is_empty() && !a.contains(['/', ',']))
                    .ok_or_else(|| bad("gateway", "<network>/<address>"))?;
                // Gateways are compared by their resolved address: normalise IPs.
                let address = address
                    .parse::<IpAddr>()
                    .map_or_else(|_| address.to_owned(), |ip| ip.to_string());
                Ok(Self::GatewayDown {
                    network: network.to_owned(),
                    address,
                })
            }
            "link" => pair("link").map(|(a, b)| Self::LinkCut { a, b }),
            "partition" => pair("partition").map(|(a, b)| Self::NetworkPartitioned { a, b }),
            "cluster" if word(arg) => Ok(Self::ClusterRemoved {
                cluster: arg.to_owned(),
            }),
            "cluster" => Err(bad("cluster", "a cluster name")),
            "api-server" if word(arg) => Ok(Self::ApiServerUnreachable {
                cluster: arg.to_owned(),
            }),
            "api-server" => Err(bad("api-server", "a cluster name")),
            _ => Err(FailureParseError::UnknownKind {
                input: input.to_owned(),
            }),
        }
    }
}

/// A failure that names nothing in the mesh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WhatIfError {
    /// The network has no resolved gateway with that address (or hostname resolving to one).
    #[error("{failure}: network {network} has no gateway {address} (its gateways: {})", .known.join(", "))]
    NoSuchGateway {
        /// The failure as given.
        failure: String,
        /// The network.
        network: String,
        /// The address or hostname given.
        address: String,
        /// The network's resolved gateway addresses.
        known: Vec<String>,
    },
    /// No link of the mesh joins the two networks directly.
    #[error("{failure}: no link joins {a} and {b} directly")]
    NotLinked {
        /// The failure as given.
        failure: String,
        /// One network.
        a: String,
        /// The other.
        b: String,
    },
    /// The network is not in the mesh.
    #[error("{failure}: there is no network {network} in this mesh")]
    UnknownNetwork {
        /// The failure as given.
        failure: String,
        /// The network.
        network: String,
    },
    /// The cluster is not in the mesh.
    #[error("{failure}: there is no cluster {cluster} in this mesh")]
    UnknownCluster {
        /// The failure as given.
        failure: String,
        /// The cluster.
        cluster: String,
    },
}

impl Failure {
    /// What is down, once the failure is checked against the mesh.
    fn conditions(&self, doc: &MeshDocument) -> Result<Conditions, WhatIfError> {
        let spec = &doc.spec;
        let failure = self.to_string();
        let mut networks: BTreeSet<&str> = doc.defined_networks();
        networks.extend(
            spec.clusters
                .iter()
                .filter_map(|c| c.network.as_ref().map(|n| n.as_str())),
        );
        networks.extend(
            spec.links
                .iter()
                .flat_map(|l| l.networks.iter().map(|n| n.as_str())),
        );
        let network = |n: &str| {
            if networks.contains(n) {
                Ok(())
            } else {
                Err(WhatIfError::UnknownNetwork {
                    failure: failure.clone(),
                    network: n.to_owned(),
                })
            }
        };
        let cluster = |c: &str| {
            if spec.clusters.iter().any(|x| x.name.as_str() == c) {
                Ok(())
            } else {
                Err(WhatIfError::UnknownCluster {
                    failure: failure.clone(),
                    cluster: c.to_owned(),
                })
            }
        };
        let ordered = |a: &str, b: &str| {
            if a <= b {
                (a.to_owned(), b.to_owned())
            } else {
                (b.to_owned(), a.to_owned())
            }
        };
        let mut c = Conditions::default();
        match self {
            Self::GatewayDown {
                network: net,
                address,
            } => {
                network(net)?;
                // The gateways as written, as the analysis reads them (no P2; see `Analysis::new`).
                let known: Vec<String> = spec
                    .gateways(true)
                    .gateways
                    .into_iter()
                    .filter(|g| g.network.as_str() == net)
                    .map(|g| g.address)
                    .collect();
                // A hostname takes down every address it resolves to.
                let targets: Vec<String> = match spec.dns.get(address) {
                    Some(ips) if address.parse::<IpAddr>().is_err() => {
                        ips.iter().map(ToString::to_string).collect()
                    }
                    _ => vec![address.clone()],
                };
                let hit: Vec<&String> = targets.iter().filter(|t| known.contains(t)).collect();
                if hit.is_empty() {
                    let mut known = known;
                    known.sort();
                    known.dedup();
                    return Err(WhatIfError::NoSuchGateway {
                        failure,
                        network: net.clone(),
                        address: address.clone(),
                        known,
                    });
                }
                for t in hit {
                    c.gateways_down.insert((net.clone(), t.clone()));
                }
            }
            Self::LinkCut { a, b } => {
                network(a)?;
                network(b)?;
                let linked = spec.links.iter().any(|l| {
                    l.networks.iter().any(|n| n.as_str() == a)
                        && l.networks.iter().any(|n| n.as_str() == b)
                });
                if !linked {
                    return Err(WhatIfError::NotLinked {
                        failure,
                        a: a.clone(),
                        b: b.clone(),
                    });
                }
                c.links_cut.insert(ordered(a, b));
            }
            Self::NetworkPartitioned { a, b } => {
                network(a)?;
                network(b)?;
                c.partitions.insert(ordered(a, b));
            }
            Self::ApiServerUnreachable { cluster: name } => {
                cluster(name)?;
                c.api_servers_down.insert(name.clone());
            }
            Self::ClusterRemoved { cluster: name } => {
                cluster(name)?;
                c.clusters_removed.insert(name.clone());
            }
        }
        Ok(c)
    }
}

/// How the answer is computed, printed at the head of the text form.
///
/// A client reaches an endpoint when its proxy has the endpoint in its configuration and the
/// path works: by IP within one flat address space, or, for an endpoint with a sidecar, through
/// an east-west gateway of the endpoint's network. A proxy that loses its control plane keeps
/// its last configuration (Envoy keeps serving what it was last pushed): it loses only the
/// endpoints whose path broke (it is not rerouted) and sees no change until it reconnects.
/// Endpoints of a cluster whose API server its control plane can no longer read count as lost
/// to the proxies that are still served (the worst case: istiod keeps what it last read until
/// it restarts).
pub const WHAT_IF_MODEL: &[&str] = &[
    "a client reaches an endpoint its proxy's config holds while the path works: by IP in one flat address space, or through the endpoint network's gateway for a sidecar endpoint",
    "a proxy that loses its control plane keeps its last config: it loses only endpoints whose path broke and sees no change until it reconnects",
    "endpoints of a cluster whose API server its control plane cannot read count as lost to proxies still served (worst case: istiod keeps what it last read until it restarts)",
];

/// Why clients no longer reach some endpoints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum LossReason {
    /// Their cluster is gone.
    ClusterRemoved {
        /// The cluster.
        cluster: String,
    },
    /// No control plane reads their cluster any more (its API server is out of reach, or its
    /// control plane is gone), so the clients' fresh config does not have them.
    NotPublished {
        /// The cluster.
        cluster: String,
    },
    /// They were reached by IP, and their network no longer is (a cut link or a partition),
    /// with no gateway route instead.
    NotByIp {
        /// Their network.
        network: String,
    },
    /// They were reached through their network's gateways, and none is usable any more (down
    /// or partitioned away).
    NoGateway {
        /// Their network.
        network: String,
    },
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClusterRemoved { cluster } => write!(f, "cluster {cluster} is gone"),
            Self::NotPublished { cluster } => write!(
                f,
                "no control plane reads cluster {cluster} any more, so no config has them"
            ),
            Self::NotByIp { network } => write!(
                f,
                "{} is no longer reached by IP (link cut or partition) and there is no gateway route",
                network_text(network)
            ),
            Self::NoGateway { network } => write!(
                f,
                "no gateway of {} is usable any more (down or partitioned)",
                network_text(network)
            ),
        }
    }
}

/// Endpoints of one cluster that clients no longer reach, for one reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LostEndpoints {
    /// The cluster they were discovered in.
    pub cluster: String,
    /// Why they are lost.
    pub reason: LossReason,
    /// Their (first) addresses, in document order.
    pub addresses: Vec<IpAddr>,
}

/// What a failure does to one service as seen from one client network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// The clients' network (`""` = the implicit network).
    pub client_network: String,
    /// `name.namespace`.
    pub service: String,
    /// Endpoints the clients reached before and no longer reach, by cluster and reason.
    pub lost: Vec<LostEndpoints>,
    /// How many endpoints they still reach.
    pub remaining: usize,
    /// The clients reached some endpoint before and reach none now.
    pub unreachable: bool,
    /// The clients lost their control plane: what remains is their last config (see
    /// [`WhatIf::last_config`]).
    pub last_config: bool,
}

/// Clients that lost their control plane and keep their last config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastConfig {
    /// The clients' network (`""` = the implicit network).
    pub client_network: String,
    /// Why, one line per cluster of that network cut off from its control plane.
    pub why: Vec<String>,
}

/// The answer to "what if this fails?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatIf {
    /// What failed.
    pub failure: Failure,
    /// Client networks whose proxies lose their control plane (they keep their last config).
    pub last_config: Vec<LastConfig>,
    /// Diagnostics present with the failure and not without, sorted.
    pub new_diagnostics: Vec<Diagnostic>,
    /// Diagnostics present without the failure and gone with it, sorted.
    pub cleared_diagnostics: Vec<Diagnostic>,
    /// Per (client network, service) that loses endpoints, sorted; a client network that no
    /// longer exists (its clusters were removed) is not listed.
    pub impacts: Vec<Impact>,
}

impl WhatIf {
    /// Whether some service becomes unreachable from some client network.
    pub fn any_unreachable(&self) -> bool {
        self.impacts.iter().any(|i| i.unreachable)
    }
}

impl fmt::Display for WhatIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "what if {}:", self.failure)?;
        writeln!(f, "  model:")?;
        for line in WHAT_IF_MODEL {
            writeln!(f, "  - {line}")?;
        }
        for l in &self.last_config {
            writeln!(
                f,
                "  clients on {} lose their control plane and keep their last config:",
                network_text(&l.client_network)
            )?;
            for why in &l.why {
                writeln!(f, "    {why}")?;
            }
        }
        if self.impacts.is_empty() {
            writeln!(f, "  no client loses an endpoint")?;
        }
        for i in &self.impacts {
            let lost: usize = i.lost.iter().map(|l| l.addresses.len()).sum();
            writeln!(
                f,
                "  clients on {} -> {}: lose {}, {} left{}{}",
                network_text(&i.client_network),
                i.service,
                mesh_model::counted(lost, "endpoint"),
                i.remaining,
                if i.last_config { " (last config)" } else { "" },
                if i.unreachable {
                    " — UNREACHABLE"
                } else {
                    ""
                }
            )?;
            for l in &i.lost {
                // The text lists the first addresses and counts the rest (`… and 190 more`);
                // the JSON form lists them all.
                writeln!(
                    f,
                    "    {} ({}): {}",
                    capped_list(l.addresses.iter()),
                    l.cluster,
                    l.reason
                )?;
            }
        }
        if !self.new_diagnostics.is_empty() {
            writeln!(f, "\nnew diagnostics:")?;
            for d in &self.new_diagnostics {
                writeln!(f, "{d}\n")?;
            }
        }
        if !self.cleared_diagnostics.is_empty() {
            writeln!(f, "cleared diagnostics:")?;
            for d in &self.cleared_diagnostics {
                writeln!(f, "  {}[{}]: {}", d.severity, d.code, d.message)?;
            }
        }
        Ok(())
    }
}

/// Analyses `doc` with `failure` and compares it with `doc` as written. A failure that names
/// nothing in the mesh (a gateway, network, link or cluster it does not have) is an error.
///
/// ```
/// use mesh_model::MeshDocument;
/// use mesh_topology::{Failure, simulate};
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: demo}
/// spec:
///   clusters:
///   - {name: c1, network: n1}
///   - {name: c2, network: n2, controlPlane: c1}
///   meshNetworks:
///     networks:
///       n1: {endpoints: [{fromRegistry: c1}], gateways: [{address: 192.0.2.1, port: 15443}]}
///       n2: {endpoints: [{fromRegistry: c2}], gateways: [{address: 192.0.2.2, port: 15443}]}
///   services:
///   - name: foo
///     namespace: ns1
///     endpoints: [{cluster: c2, address: 10.2.0.5}]
/// "#)?;
/// let what = simulate(&doc, &"gateway:n2/192.0.2.2".parse()?)?;
/// assert!(what.impacts.iter().any(|i| i.client_network == "n1" && i.unreachable));
/// assert!(what.new_diagnostics.iter().any(|d| d.code.as_str() == "network-without-gateway"));
/// assert!(simulate(&doc, &"cluster:c9".parse()?).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn simulate(doc: &MeshDocument, failure: &Failure) -> Result<WhatIf, WhatIfError> {
    let none = Conditions::default();
    let cond = failure.conditions(doc)?;
    let before = Analysis::new(doc, &none);
    let after = Analysis::new(doc, &cond);
    let (rb, ra) = (before.report(), after.report());
    let diff = |x: &[Diagnostic], y: &[Diagnostic]| -> Vec<Diagnostic> {
        let y: HashSet<&Diagnostic> = y.iter().collect();
        x.iter().filter(|d| !y.contains(d)).cloned().collect()
    };
    let new_diagnostics = diff(&ra.diagnostics, &rb.diagnostics);
    let cleared_diagnostics = diff(&rb.diagnostics, &ra.diagnostics);
    let (reach_before, reach_after) = (before.reach(), after.reach());
    let services = &doc.spec.services;
    // Services in name order, so impacts come out sorted.
    let keys: Vec<String> = services.iter().map(|s| s.key().to_string()).collect();
    let mut order: Vec<usize> = (0..services.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let mut impacts = Vec::new();
    let mut last_config = Vec::new();
    for (client, had) in &reach_before {
        let Some(has) = reach_after.get(client) else {
            continue; // no clients left on that network
        };
        // Proxies cut off from their control plane keep what they had.
        let kept = had.served && !has.served;
        if kept {
            last_config.push(LastConfig {
                client_network: client.clone(),
                why: after.control_plane_losses(client),
            });
        }
        for &si in &order {
            let had = &had.services[si];
            let kept_now;
            let has: &[Reached<'_>] = if kept {
                kept_now = after.last_config_reach(client, si, had);
                &kept_now
            } else {
                &has.services[si]
            };
            let mut lost: Vec<LostEndpoints> = Vec::new();
            for r in had.iter().filter(|r| {
                has.binary_search_by_key(&r.endpoint, |x| x.endpoint)
                    .is_err()
            }) {
                let e = &services[si].endpoints[r.endpoint];
                let Some(&address) = e.addresses.first() else {
                    continue;
                };
                let cluster = e.cluster.to_string();
                let reason = if !after.is_present(&cluster) {
                    LossReason::ClusterRemoved {
                        cluster: cluster.clone(),
                    }
                } else if !kept && !after.published(&cluster) {
                    LossReason::NotPublished {
                        cluster: cluster.clone(),
                    }
                } else {
                    let network = r.network.to_owned();
                    match r.path {
                        Path::Direct => LossReason::NotByIp { network },
                        Path::Gateway => LossReason::NoGateway { network },
                    }
                };
                match lost
                    .iter_mut()
                    .find(|l| l.cluster == cluster && l.reason == reason)
                {
                    Some(l) => l.addresses.push(address),
                    None => lost.push(LostEndpoints {
                        cluster,
                        reason,
                        addresses: vec![address],
                    }),
                }
            }
            if lost.is_empty() {
                continue;
            }
            lost.sort_by(|a, b| (&a.cluster, &a.reason).cmp(&(&b.cluster, &b.reason)));
            impacts.push(Impact {
                client_network: client.clone(),
                service: keys[si].clone(),
                lost,
                remaining: has.len(),
                unreachable: has.is_empty(),
                last_config: kept,
            });
        }
    }
    Ok(WhatIf {
        failure: failure.clone(),
        last_config,
        new_diagnostics,
        cleared_diagnostics,
        impacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_round_trips() {
        for s in [
            "gateway:n1/192.0.2.1",
            "gateway:n1/eastwest.example.com",
            "link:a,b",
            "partition:a,b",
            "cluster:c1",
            "api-server:c1",
        ] {
            let f: Failure = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
        }
        assert_eq!(
            "gateway:n1/2001:db8:0::1".parse::<Failure>().unwrap(),
            Failure::GatewayDown {
                network: "n1".into(),
                address: "2001:db8::1".into()
            }
        );
    }

    #[test]
    fn malformed_specs_are_typed_errors() {
        for (s, kind) in [
            ("gateway:n1", Some("gateway")),
            ("gateway:/1.2.3.4", Some("gateway")),
            ("link:a", Some("link")),
            ("link:a,a", Some("link")),
            ("link:a,b,c", Some("link")),
            ("cluster:", Some("cluster")),
            ("api-server:a,b", Some("api-server")),
            ("router:x", None),
            ("cluster1", None),
        ] {
            let e = s.parse::<Failure>().unwrap_err();
            match (e, kind) {
                (FailureParseError::BadArgument { kind: k, input, .. }, Some(want)) => {
                    assert_eq!((k, input.as_str()), (want, s));
                }
                (FailureParseError::UnknownKind { input }, None) => assert_eq!(input, s),
                (e, _) => panic!("{s}: unexpected {e:?}"),
            }
        }
    }
}
