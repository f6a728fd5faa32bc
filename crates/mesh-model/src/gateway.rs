//! The gateway set (rules G1–G4 of `spec/split-horizon-eds.md`): which east-west gateways each
//! network has, with hostnames resolved through the document's `dns` answers.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::document::MeshSpec;
use crate::id::{ClusterId, NetworkId, ServiceKey};
use crate::meshnetworks::{GatewayAddress, MeshNetworks};

/// One gateway of a network. Identity is the whole tuple (rule G3): the same address declared in
/// MeshNetworks (cluster `None`) and discovered in a registry (cluster `Some`) are two gateways.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gateway {
    /// The network it admits traffic into.
    pub network: NetworkId,
    /// The registry it was discovered in; `None` for MeshNetworks `address` gateways (cluster `""`).
    pub cluster: Option<ClusterId>,
    /// An IP address once resolved; a hostname before.
    pub address: String,
    /// The mTLS (SNI auto-passthrough) port; 0 = not offered.
    pub port: u32,
    /// The HBONE port; 0 = not offered.
    pub hbone_port: u32,
    /// The gateway's service account ("" when unknown).
    pub service_account: String,
}

impl Gateway {
    /// A gateway of `network` at `address:port`, as MeshNetworks declares one: from no registry
    /// (`cluster: None`), no HBONE port, no known service account. Set those fields after, when
    /// the gateway was discovered in a registry.
    ///
    /// ```
    /// use mesh_model::Gateway;
    /// let g = Gateway::new("network2".parse()?, "192.0.2.20", 15443);
    /// assert_eq!(g.to_string(), "192.0.2.20:15443 (network network2)");
    /// assert_eq!(g.cluster, None);
    /// # Ok::<(), mesh_model::IdError>(())
    /// ```
    pub fn new(network: NetworkId, address: impl Into<String>, port: u32) -> Self {
        Self {
            network,
            cluster: None,
            address: address.into(),
            port,
            hbone_port: 0,
            service_account: String::new(),
        }
    }

    /// The address as an IP, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

impl fmt::Display for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.address.contains(':') {
            write!(f, "[{}]:{}", self.address, self.port)?;
        } else {
            write!(f, "{}:{}", self.address, self.port)?;
        }
        write!(f, " (network {}", self.network)?;
        if let Some(c) = &self.cluster {
            write!(f, ", cluster {c}")?;
        }
        f.write_str(")")
    }
}

/// Where a gateway candidate came from, so an unresolved one can be traced to the configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum GatewaySource {
    /// `meshNetworks.networks.<network>.gateways[<index>].address`.
    MeshNetworksAddress {
        /// The network key.
        network: String,
        /// Index in its `gateways`.
        index: usize,
    },
    /// `meshNetworks.networks.<network>.gateways[<index>].registryServiceName`, looked up in `cluster`.
    RegistryService {
        /// The network key.
        network: String,
        /// Index in its `gateways`.
        index: usize,
        /// The registry it was looked up in.
        cluster: ClusterId,
        /// The service name as written.
        service: String,
    },
    /// Given directly by a caller (a registry's labelled Service or Gateway API resource).
    Registry,
}

impl fmt::Display for GatewaySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MeshNetworksAddress { network, index } => {
                write!(
                    f,
                    "spec.meshNetworks.networks.{network}.gateways[{index}].address"
                )
            }
            Self::RegistryService {
                network,
                index,
                cluster,
                service,
            } => write!(
                f,
                "spec.meshNetworks.networks.{network}.gateways[{index}].registryServiceName {service} in cluster {cluster}"
            ),
            Self::Registry => f.write_str("registry"),
        }
    }
}

/// A gateway that did not make it into the set, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnresolvedGateway {
    /// Where it was configured.
    pub source: GatewaySource,
    /// The network key it belongs to.
    pub network: String,
    /// The address or service name that could not be resolved.
    pub name: String,
    /// Why.
    pub reason: UnresolvedReason,
}

/// Why a gateway candidate has no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum UnresolvedReason {
    /// A hostname with no answer in `dns` (rule G2: an empty answer removes it).
    NoDnsAnswer,
    /// A hostname while `RESOLVE_HOSTNAME_GATEWAYS` is off (rule G2).
    HostnamesDisabled,
    /// A `registryServiceName` whose service has no external address in the network's registries.
    NoExternalAddress,
    /// A `registryServiceName` in a network that lists no `fromRegistry` (rule G1).
    NoRegistry,
    /// The network key is not a valid network id.
    InvalidNetworkName,
}

impl fmt::Display for UnresolvedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoDnsAnswer => "the hostname has no DNS answer",
            Self::HostnamesDisabled => {
                "hostname gateways are off (RESOLVE_HOSTNAME_GATEWAYS=false)"
            }
            Self::NoExternalAddress => "the service has no external address in that cluster",
            Self::NoRegistry => {
                "the network lists no fromRegistry cluster to look the service up in"
            }
            Self::InvalidNetworkName => "the network name is not a valid network id",
        })
    }
}

/// The resolved gateway set and what could not be resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayResolution {
    /// The gateways: sorted, exact duplicates collapsed (rule G4).
    pub gateways: Vec<Gateway>,
    /// The candidates that yielded no gateway, sorted.
    pub unresolved: Vec<UnresolvedGateway>,
}

/// Resolves gateway candidates (rule G2): an IP address is kept; a hostname becomes one gateway per
/// address in `dns` when `resolve_hostnames` is on, and is reported unresolved otherwise.
///
/// ```
/// use std::collections::BTreeMap;
/// use mesh_model::{Gateway, GatewaySource, resolve_gateways};
/// let gw = Gateway {
///     network: "n2".parse()?, cluster: None, address: "gw.example.com".into(),
///     port: 15443, hbone_port: 0, service_account: String::new(),
/// };
/// let dns = BTreeMap::from([("gw.example.com".to_string(), vec!["192.0.2.1".parse().unwrap()])]);
/// let set = resolve_gateways([(gw, GatewaySource::Registry)], &dns, true);
/// assert_eq!(set.gateways[0].address, "192.0.2.1");
/// # Ok::<(), mesh_model::IdError>(())
/// ```
pub fn resolve_gateways(
    candidates: impl IntoIterator<Item = (Gateway, GatewaySource)>,
    dns: &BTreeMap<String, Vec<IpAddr>>,
    resolve_hostnames: bool,
) -> GatewayResolution {
    let mut out = GatewayResolution::default();
    for (gw, source) in candidates {
        if gw.ip().is_some() {
            out.gateways.push(gw);
            continue;
        }
        let answer = dns.get(&gw.address).filter(|a| !a.is_empty());
        match answer {
            Some(addrs) if resolve_hostnames => {
                for a in addrs {
                    out.gateways.push(Gateway {
                        address: a.to_string(),
                        ..gw.clone()
                    });
                }
            }
            _ => out.unresolved.push(UnresolvedGateway {
                source,
                network: gw.network.to_string(),
                name: gw.address.clone(),
                reason: if resolve_hostnames {
                    UnresolvedReason::NoDnsAnswer
                } else {
                    UnresolvedReason::HostnamesDisabled
                },
            }),
        }
    }
    out.gateways.sort();
    out.gateways.dedup();
    out.unresolved.sort();
    out
}

impl MeshNetworks {
    /// The `address` gateways of this document (rule G1, first bullet), unresolved, cluster `None`.
    /// `registryServiceName` gateways need registries: see [`MeshSpec::gateway_candidates`].
    /// Networks whose key is not a valid network id come back in the second list.
    pub fn address_gateways(&self) -> (Vec<(Gateway, GatewaySource)>, Vec<UnresolvedGateway>) {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for (name, net) in &self.networks {
            for (index, g) in net.gateways.iter().enumerate() {
                let Some(GatewayAddress::Address(addr)) = &g.gw else {
                    continue;
                };
                let source = GatewaySource::MeshNetworksAddress {
                    network: name.clone(),
                    index,
                };
                match NetworkId::new(name.as_str()) {
                    Ok(network) => ok.push((
                        Gateway {
                            network,
                            cluster: None,
                            address: addr.clone(),
                            port: g.port,
                            hbone_port: 0,
                            service_account: String::new(),
                        },
                        source,
                    )),
                    Err(_) => bad.push(UnresolvedGateway {
                        source,
                        network: name.clone(),
                        name: addr.clone(),
                        reason: UnresolvedReason::InvalidNetworkName,
                    }),
                }
            }
        }
        (ok, bad)
    }
}

impl MeshSpec {
    /// Every gateway candidate of the document (rule G1): MeshNetworks `address` gateways, and
    /// `registryServiceName` gateways looked up as the named service's `externalAddresses` in each
    /// cluster the network lists with `fromRegistry`. The second list holds what yields no candidate.
    pub fn gateway_candidates(&self) -> (Vec<(Gateway, GatewaySource)>, Vec<UnresolvedGateway>) {
        let (mut ok, mut bad) = self.mesh_networks.address_gateways();
        for (name, net) in &self.mesh_networks.networks {
            let registries: Vec<&str> = net.registries().collect();
            for (index, g) in net.gateways.iter().enumerate() {
                let Some(GatewayAddress::RegistryServiceName(service)) = &g.gw else {
                    continue;
                };
                let unresolved = |cluster: Option<ClusterId>, reason| UnresolvedGateway {
                    source: match cluster {
                        Some(cluster) => GatewaySource::RegistryService {
                            network: name.clone(),
                            index,
                            cluster,
                            service: service.clone(),
                        },
                        None => GatewaySource::MeshNetworksAddress {
                            network: name.clone(),
                            index,
                        },
                    },
                    network: name.clone(),
                    name: service.clone(),
                    reason,
                };
                let Ok(network) = NetworkId::new(name.as_str()) else {
                    bad.push(unresolved(None, UnresolvedReason::InvalidNetworkName));
                    continue;
                };
                if registries.is_empty() {
                    bad.push(unresolved(None, UnresolvedReason::NoRegistry));
                }
                let svc = self.service_by_host(service);
                for reg in &registries {
                    let Ok(cluster) = ClusterId::new(*reg) else {
                        continue; // an invalid registry name: reported by V3
                    };
                    let addrs = svc
                        .and_then(|s| s.external_addresses.get(&cluster))
                        .filter(|a| !a.is_empty());
                    let Some(addrs) = addrs else {
                        bad.push(unresolved(
                            Some(cluster),
                            UnresolvedReason::NoExternalAddress,
                        ));
                        continue;
                    };
                    for a in addrs {
                        ok.push((
                            Gateway {
                                network: network.clone(),
                                cluster: Some(cluster.clone()),
                                address: a.clone(),
                                port: g.port,
                                hbone_port: 0,
                                service_account: String::new(),
                            },
                            GatewaySource::RegistryService {
                                network: name.clone(),
                                index,
                                cluster: cluster.clone(),
                                service: service.clone(),
                            },
                        ));
                    }
                }
            }
        }
        (ok, bad)
    }

    /// The resolved gateway set of the document, hostnames answered from `dns`.
    pub fn gateways(&self, resolve_hostnames: bool) -> GatewayResolution {
        let (candidates, mut unresolved) = self.gateway_candidates();
        let mut set = resolve_gateways(candidates, &self.dns, resolve_hostnames);
        set.unresolved.append(&mut unresolved);
        set.unresolved.sort();
        set
    }

    /// The service a host names: `foo.ns1`, `foo.ns1.svc.<suffix>` or `foo.ns1.global`.
    pub fn service_by_host(&self, host: &str) -> Option<&crate::document::Service> {
        let key: ServiceKey = host.parse().ok()?;
        self.services
            .iter()
            .find(|s| s.name == key.name && s.namespace == key.namespace)
    }
}
