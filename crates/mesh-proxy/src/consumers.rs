//! What Envoy and gRPC make of an assignment: the host set Envoy keeps, and warnings where Istio's
//! output (which meshspan reproduces, unchanged) would be rejected or ignored by a consumer.
//!
//! Each reaction here was observed by the interop lane (`interop/`) against Envoy 1.40 and grpcio
//! 1.85, or is Envoy's proto validation (`value must be greater than or equal to 1`).

use std::collections::HashMap;
use std::fmt;

use mesh_eds::{EndpointAddress, EndpointKind, Explanation, LoadAssignment, Outcome};
use serde::Serialize;

use crate::held::HeldEndpoint;

/// What a consumer does with an assignment that has the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reaction {
    /// Rejects the whole assignment (NACK): the proxy keeps its previous one.
    Rejects,
    /// Accepts it and keeps only the first copy of the address (envoy#23445).
    KeepsFirstCopy,
    /// Accepts it and ignores the locality group.
    IgnoresGroup,
    /// Accepts it.
    Accepts,
}

impl fmt::Display for Reaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rejects => "rejects the whole assignment (NACK)",
            Self::KeepsFirstCopy => "keeps only the first copy (envoy#23445)",
            Self::IgnoresGroup => "silently ignores the group",
            Self::Accepts => "accepts it",
        })
    }
}

/// A problem of an assignment for its consumers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ConsumerProblem {
    /// An endpoint with weight 0 (Envoy requires ≥ 1).
    EndpointWeightZero {
        /// `address:port`.
        endpoint: String,
        /// Its locality group.
        group: String,
    },
    /// A locality group with weight 0 (a wrapped sum; Envoy requires ≥ 1).
    LocalityWeightZero {
        /// The group.
        group: String,
    },
    /// A hostname in a socket address (Envoy's EDS wants an IP).
    Hostname {
        /// `address:port`.
        endpoint: String,
    },
    /// A port above 65535.
    PortOutOfRange {
        /// `address:port`.
        endpoint: String,
    },
    /// A locality group without `load_balancing_weight` (an emptied group, M12).
    GroupWithoutWeight {
        /// The group.
        group: String,
        /// How many endpoints it has (0 for an emptied group: nothing is lost).
        endpoints: usize,
    },
    /// One address in several locality groups (a gateway shared by groups of its network, M11).
    DuplicateAddress {
        /// `address:port`.
        endpoint: String,
        /// The groups it is in, in output order.
        groups: Vec<String>,
    },
}

/// One warning: the problem, the rule that produced it, and each consumer's reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerWarning {
    /// The Envoy cluster.
    pub cluster: String,
    /// The problem.
    pub problem: ConsumerProblem,
    /// The rule of `spec/split-horizon-eds.md` (or a legacy profile's) that produced it.
    pub rule: &'static str,
    /// What Envoy does.
    pub envoy: Reaction,
    /// What gRPC's xDS client does.
    pub grpc: Reaction,
}

fn group_name(label: &str) -> String {
    if label.is_empty() {
        "\"\"".into()
    } else {
        label.to_owned()
    }
}

impl fmt::Display for ConsumerWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.cluster)?;
        match &self.problem {
            ConsumerProblem::EndpointWeightZero { endpoint, group } => write!(
                f,
                "endpoint {endpoint} in group {} has weight 0",
                group_name(group)
            )?,
            ConsumerProblem::LocalityWeightZero { group } => write!(
                f,
                "locality group {} has weight 0 (its endpoint weights wrap around as uint32)",
                group_name(group)
            )?,
            ConsumerProblem::Hostname { endpoint } => {
                write!(f, "socket address {endpoint} is a hostname, not an IP")?
            }
            ConsumerProblem::PortOutOfRange { endpoint } => {
                write!(f, "endpoint {endpoint} has a port above 65535")?
            }
            ConsumerProblem::GroupWithoutWeight { group, endpoints } => write!(
                f,
                "locality group {} has no weight ({endpoints} endpoints)",
                group_name(group)
            )?,
            ConsumerProblem::DuplicateAddress { endpoint, groups } => {
                let groups: Vec<String> = groups.iter().map(|g| group_name(g)).collect();
                write!(
                    f,
                    "{endpoint} is in {} locality groups ({})",
                    groups.len(),
                    groups.join(", ")
                )?
            }
        }
        write!(
            f,
            " ({}); Envoy {}; gRPC {}",
            self.rule, self.envoy, self.grpc
        )?;
        if matches!(self.problem, ConsumerProblem::DuplicateAddress { .. }) {
            f.write_str(" (duplicate endpoint address, gRFC A27)")?;
        }
        Ok(())
    }
}

fn endpoint_text(address: &EndpointAddress) -> Option<(String, u32)> {
    match address {
        EndpointAddress::Socket { address, port } => Some((address.clone(), *port)),
        EndpointAddress::Internal { .. } => None,
    }
}

fn socket(address: &str, port: u32) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// The host set Envoy keeps of an assignment: every socket endpoint at its group's priority,
/// except that a second copy of an `address:port` (in a later locality group) is dropped and the first kept
/// (envoy#23445). Internal (HBONE) addresses are not socket hosts and are left out.
///
/// ```
/// use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
/// let gw = |w| LbEndpoint {
///     address: EndpointAddress::Socket { address: "192.0.2.100".into(), port: 15443 },
///     weight: w, kind: EndpointKind::Gateway, mtls: true, network: None, cluster: None,
///     workload: ";;;;".into(),
/// };
/// let cla = LoadAssignment { cluster_name: "c".into(), localities: vec![
///     LocalityGroup { priority: 0, locality: "dc-main".into(), weight: Some(2), endpoints: vec![gw(2)] },
///     LocalityGroup { priority: 0, locality: "dc-edge".into(), weight: Some(2), endpoints: vec![gw(2)] },
/// ]};
/// let hosts = mesh_proxy::envoy_host_set(&cla);
/// assert_eq!(hosts.len(), 1);
/// assert_eq!(hosts[0].locality, "dc-main");
/// // a host keeps its group's priority (the locality stage, rules L12–L21)
/// let mut failover = cla.clone();
/// failover.localities[0].priority = 1;
/// assert_eq!(mesh_proxy::envoy_host_set(&failover)[0].priority, 1);
/// ```
pub fn envoy_host_set(cla: &LoadAssignment) -> Vec<HeldEndpoint> {
    let mut seen = std::collections::HashSet::new();
    let mut hosts = Vec::new();
    for group in &cla.localities {
        for e in &group.endpoints {
            let Some((address, port)) = endpoint_text(&e.address) else {
                continue;
            };
            if seen.insert((address.clone(), port)) {
                hosts.push(HeldEndpoint {
                    address,
                    port,
                    weight: e.weight,
                    locality: group.locality.clone(),
                    priority: group.priority,
                });
            }
        }
    }
    hosts
}

/// The rule that gave an endpoint of the output its value: the explanation's rule for a direct
/// endpoint with this address, M11 for gateways (their weight is a sum of shares), M10 otherwise.
fn endpoint_rule(kind: EndpointKind, address: &str, why: Option<&Explanation>) -> &'static str {
    if kind == EndpointKind::Gateway {
        return why
            .and_then(|w| {
                w.endpoints.iter().find_map(|e| match &e.outcome {
                    Outcome::ViaGateways { rule, .. } => Some(*rule),
                    _ => None,
                })
            })
            .unwrap_or("M11");
    }
    why.and_then(|w| w.endpoints.iter().find(|e| e.address == address))
        .map_or("M10", |e| e.outcome.rule())
}

/// Warnings for one assignment: where Envoy or gRPC would reject or ignore what Istio (and so
/// meshspan) sends. The assignment itself is not changed: these are warnings about the mesh.
///
/// ```
/// use mesh_eds::{EndpointAddress, EndpointKind, LbEndpoint, LoadAssignment, LocalityGroup};
/// let cla = LoadAssignment { cluster_name: "c".into(), localities: vec![LocalityGroup { priority: 0,
///     locality: "r/z".into(), weight: Some(0), endpoints: vec![LbEndpoint {
///         address: EndpointAddress::Socket { address: "10.0.0.1".into(), port: 80 },
///         weight: 0, kind: EndpointKind::Direct, mtls: false, network: None, cluster: None,
///         workload: String::new(),
///     }],
/// }]};
/// let warnings = mesh_proxy::consumer_warnings(&cla, None);
/// assert_eq!(warnings.len(), 2);
/// assert_eq!(warnings[0].envoy, mesh_proxy::Reaction::Rejects);
/// assert!(warnings[0].to_string().contains("weight 0"));
/// ```
pub fn consumer_warnings(cla: &LoadAssignment, why: Option<&Explanation>) -> Vec<ConsumerWarning> {
    let mut out = Vec::new();
    let mut warn = |problem, rule, envoy, grpc| {
        out.push(ConsumerWarning {
            cluster: cla.cluster_name.clone(),
            problem,
            rule,
            envoy,
            grpc,
        });
    };
    let mut groups_of: HashMap<(String, u32), Vec<String>> = HashMap::new();
    let mut order = Vec::new();
    for group in &cla.localities {
        match group.weight {
            Some(0) => warn(
                ConsumerProblem::LocalityWeightZero {
                    group: group.locality.clone(),
                },
                "M12",
                Reaction::Rejects,
                Reaction::Accepts,
            ),
            None => warn(
                ConsumerProblem::GroupWithoutWeight {
                    group: group.locality.clone(),
                    endpoints: group.endpoints.len(),
                },
                "M12",
                Reaction::Accepts,
                Reaction::IgnoresGroup,
            ),
            Some(_) => {}
        }
        for e in &group.endpoints {
            let Some((address, port)) = endpoint_text(&e.address) else {
                continue;
            };
            let endpoint = socket(&address, port);
            let rule = || endpoint_rule(e.kind, &address, why);
            if e.weight == 0 {
                warn(
                    ConsumerProblem::EndpointWeightZero {
                        endpoint: endpoint.clone(),
                        group: group.locality.clone(),
                    },
                    rule(),
                    Reaction::Rejects,
                    Reaction::Accepts,
                );
            }
            if address.parse::<std::net::IpAddr>().is_err() {
                warn(
                    ConsumerProblem::Hostname {
                        endpoint: endpoint.clone(),
                    },
                    if e.kind == EndpointKind::Gateway {
                        "G2"
                    } else {
                        rule()
                    },
                    Reaction::Rejects,
                    Reaction::Rejects,
                );
            }
            if port > 65535 {
                warn(
                    ConsumerProblem::PortOutOfRange {
                        endpoint: endpoint.clone(),
                    },
                    rule(),
                    Reaction::Rejects,
                    Reaction::Rejects,
                );
            }
            let key = (address, port);
            let groups = groups_of.entry(key.clone()).or_default();
            if groups.is_empty() {
                order.push(key);
            }
            if groups.last() != Some(&group.locality) {
                groups.push(group.locality.clone());
            }
        }
    }
    for key in order {
        let groups = &groups_of[&key];
        if groups.len() > 1 {
            warn(
                ConsumerProblem::DuplicateAddress {
                    endpoint: socket(&key.0, key.1),
                    groups: groups.clone(),
                },
                "M11",
                Reaction::KeepsFirstCopy,
                Reaction::Rejects,
            );
        }
    }
    out
}

/// [`consumer_warnings`] for every proxy class of a mesh document (the sidecars of each cluster,
/// `istio-modern`) and every service port: what `meshspan check` reports. Each warning comes with
/// the cluster whose proxies receive it.
///
/// ```
/// let doc = mesh_model::MeshDocument::parse(include_str!("../../../examples/mixed.yaml"))?;
/// let warnings = mesh_proxy::mesh_consumer_warnings(&doc, mesh_eds::Features::default());
/// let (proxies, w) = &warnings[0];
/// assert_eq!(proxies.as_str(), "cloud");
/// assert!(w.to_string().contains("192.0.2.100:15443 is in 2 locality groups"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mesh_consumer_warnings(
    doc: &mesh_model::MeshDocument,
    features: mesh_eds::Features,
) -> Vec<(mesh_model::ClusterId, ConsumerWarning)> {
    let eds = mesh_eds::DocumentEds::new(doc, features);
    let index = eds.shared_index();
    let mut out = Vec::new();
    for cluster in &doc.spec.clusters {
        let class = eds.class_for_cluster(&cluster.name, mesh_eds::Profile::default());
        let view = mesh_eds::View::new(&index, class);
        for s in &eds.services {
            // A service the engine cannot compute has no output to warn about.
            if let Ok((cla, why)) = view.explain(&eds.request(s)) {
                for w in consumer_warnings(&cla, Some(&why)) {
                    // An emptied group loses nothing: not worth a warning of the whole mesh.
                    if !matches!(
                        w.problem,
                        ConsumerProblem::GroupWithoutWeight { endpoints: 0, .. }
                    ) {
                        out.push((cluster.name.clone(), w));
                    }
                }
            }
        }
    }
    out
}
