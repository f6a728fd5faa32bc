//! Why each input endpoint is in a proxy's assignment, replaced by gateways, or missing — naming
//! the rule of `spec/split-horizon-eds.md` that decided it.

use std::fmt;

use mesh_model::{ClusterId, Gateway, NetworkId};

use crate::input::{Health, IpFamily, ProxyClass, SelectionNote};
use crate::locality::{Decision, GroupReason};
use crate::policy::{EffectiveSetting, NETWORK_LABEL};

/// What the engine did with one input endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Sent as itself.
    Direct {
        /// Its weight in the output.
        weight: u32,
        /// Why it is sent directly.
        reason: DirectReason,
    },
    /// Replaced by gateways of its network (rules M7, M10, M11).
    ViaGateways {
        /// Its weight after scaling (M10), before the split.
        weight: u32,
        /// What each reachable gateway received from it (`floor(weight / R)` each, M11).
        contributions: Vec<GatewayContribution>,
        /// Legacy profiles: configured gateways of the network left out of the split (H1.5);
        /// empty for the modern profile.
        left_out: Vec<LeftOutGateway>,
        /// The rule that split it (`M11`; `H1.1`/`H1.2` in the legacy profiles).
        rule: &'static str,
    },
    /// Not sent at all.
    Dropped(DropReason),
}

impl Outcome {
    /// The rule that decided the outcome.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Direct { reason, .. } => reason.rule(),
            Self::ViaGateways { rule, .. } => rule,
            Self::Dropped(d) => d.rule(),
        }
    }

    /// Whether the endpoint is sent as itself.
    pub fn is_direct(&self) -> bool {
        matches!(self, Self::Direct { .. })
    }
}

/// One gateway's share of a remote endpoint's weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayContribution {
    /// The gateway.
    pub gateway: Gateway,
    /// The weight it received from this endpoint.
    pub weight: u32,
}

/// A configured gateway that a legacy profile leaves out of the split (rule H1.5): it gets no
/// LbEndpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOutGateway {
    /// The address left out: a hostname, a registry service's address, or a later DNS answer;
    /// empty for a `registryServiceName` gateway the profile cannot read.
    pub address: String,
    /// Its port.
    pub port: u32,
    /// Why.
    pub why: LeftOutReason,
}

/// Why a legacy profile leaves a gateway out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftOutReason {
    /// A hostname the profile does not resolve (1.1.0 keeps hostnames in its active config; a
    /// hostname with no DNS answer; a registry service's hostname address in 1.5).
    Hostname,
    /// A `registryServiceName` gateway: unsupported before Istio 1.2.
    RegistryServiceName,
    /// A DNS answer of `hostname` after the first: the profile replaces the hostname with its
    /// first answer only.
    NotFirstAnswer {
        /// The hostname as written.
        hostname: String,
    },
}

impl fmt::Display for LeftOutGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.why {
            LeftOutReason::Hostname => {
                write!(
                    f,
                    "{}:{} (a hostname, not resolved: H1.5)",
                    self.address, self.port
                )
            }
            LeftOutReason::RegistryServiceName => write!(
                f,
                "a registryServiceName gateway :{} (unsupported before Istio 1.2: H1.5)",
                self.port
            ),
            LeftOutReason::NotFirstAnswer { hostname } => {
                let v6 = self
                    .address
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_ipv6());
                if v6 {
                    write!(f, "IPv6 gateway [{}]:{}", self.address, self.port)?;
                } else {
                    write!(f, "{}:{}", self.address, self.port)?;
                }
                write!(
                    f,
                    " (DNS answer of {hostname} after the first, the only one used: H1.5)"
                )
            }
        }
    }
}

fn left_out_list(left_out: &[LeftOutGateway]) -> String {
    let list: Vec<String> = left_out.iter().map(ToString::to_string).collect();
    list.join(", ")
}

/// Why an endpoint is sent as itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectReason {
    /// No gateway exists at all: multi-network is off and groups pass unchanged (M5, G7).
    MultiNetworkDisabled,
    /// It is on the proxy's network (M8: equal networks, or either is unset).
    SameNetwork,
    /// Its network has no usable gateway, so it is treated as directly reachable (M6, M9).
    NoGateway {
        /// The endpoint's network.
        network: Option<NetworkId>,
    },
    /// Legacy profiles: its network string equals the proxy's (H1.1–H1.3).
    LegacySameNetwork,
    /// Istio 1.5: its network has no gateway, so it is sent directly.
    LegacyNoGateway {
        /// The endpoint's network.
        network: Option<NetworkId>,
    },
    /// Legacy profiles: the split-horizon filter is skipped without MeshNetworks networks (H1.4).
    LegacyFilterSkipped,
}

impl DirectReason {
    /// The rule id.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::MultiNetworkDisabled => "M5",
            Self::SameNetwork => "M8",
            Self::NoGateway { .. } => "M6",
            Self::LegacySameNetwork => "H1.3",
            Self::LegacyNoGateway { .. } => "1.5/M6",
            Self::LegacyFilterSkipped => "H1.4",
        }
    }
}

/// Why an endpoint is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// It serves another service port (M1).
    PortName {
        /// The cluster's service port name.
        wanted: String,
        /// The endpoint's.
        found: String,
    },
    /// Its address is a hostname with a port (a DNS ServiceEntry endpoint) (M1).
    HostnameAddress {
        /// The address.
        address: String,
    },
    /// It lacks a label of the subset (M1).
    NotInSubset {
        /// The subset.
        subset: String,
    },
    /// It is not healthy (M2).
    NotHealthy {
        /// Its health.
        health: Health,
    },
    /// Its network is not in the proxy's requested network view (M2a).
    NotInNetworkView {
        /// The endpoint's network.
        network: NetworkId,
    },
    /// It has no address and cannot be reached through a gateway (M2).
    NoAddress,
    /// It is sent directly but has no host (address-less, or port 0 = unix path) (M9).
    EmptyHost,
    /// Its network has gateways but none the proxy can reach (M7, M11, M14).
    NoReachableGateway {
        /// The endpoint's network.
        network: Option<NetworkId>,
        /// The endpoint's cluster.
        cluster: Option<ClusterId>,
        /// How many candidate gateways there were.
        candidates: usize,
        /// The proxy's IP family.
        ip_family: IpFamily,
    },
    /// It is on a remote network but not mTLS-capable, so a gateway cannot route it (M15; M17 for
    /// HBONE endpoints).
    NotMtlsCapable {
        /// The endpoint's network.
        network: Option<NetworkId>,
        /// It would be sent over HBONE (never mTLS-capable).
        hbone: bool,
    },
    /// SNI-DNAT clusters only carry mTLS-capable endpoints (M16).
    SniDnatNotMtls,
    /// Legacy profiles: its network has no MeshNetworks entry or no gateway (H1.4).
    LegacyNoGateway {
        /// The endpoint's network.
        network: Option<NetworkId>,
    },
    /// Legacy profiles: its network has gateways, but the profile leaves every one of them out
    /// (no IP address among them), so the endpoint is replaced by nothing (H1.5).
    LegacyNoIpGateway {
        /// The endpoint's network.
        network: Option<NetworkId>,
        /// The gateways left out, and why.
        left_out: Vec<LeftOutGateway>,
    },
}

impl DropReason {
    /// The rule id.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::PortName { .. } | Self::HostnameAddress { .. } | Self::NotInSubset { .. } => "M1",
            Self::NotHealthy { .. } | Self::NoAddress => "M2",
            Self::NotInNetworkView { .. } => "M2a",
            Self::EmptyHost => "M9",
            Self::NoReachableGateway {
                candidates,
                ip_family,
                ..
            } => {
                if *candidates > 0 && matches!(ip_family, IpFamily::Ipv4 | IpFamily::Ipv6) {
                    "M14"
                } else {
                    "M11"
                }
            }
            Self::NotMtlsCapable { hbone: true, .. } => "M17",
            Self::NotMtlsCapable { hbone: false, .. } => "M15",
            Self::SniDnatNotMtls => "M16",
            Self::LegacyNoGateway { .. } => "H1.4",
            Self::LegacyNoIpGateway { .. } => "H1.5",
        }
    }
}

fn net(n: &Option<NetworkId>) -> &str {
    n.as_ref().map_or("\"\"", NetworkId::as_str)
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct { weight, reason } => {
                write!(f, "kept direct, weight {weight}: ")?;
                match reason {
                    DirectReason::MultiNetworkDisabled => {
                        f.write_str("no network gateway exists, multi-network is off")?
                    }
                    DirectReason::SameNetwork => f.write_str("on the proxy's network")?,
                    DirectReason::NoGateway { network } => write!(
                        f,
                        "network {} has no gateway usable by this proxy, so it is reached directly",
                        net(network)
                    )?,
                    DirectReason::LegacySameNetwork => {
                        f.write_str("its network string equals the proxy's")?
                    }
                    DirectReason::LegacyNoGateway { network } => {
                        write!(f, "network {} has no gateway", net(network))?
                    }
                    DirectReason::LegacyFilterSkipped => {
                        f.write_str("MeshNetworks has no network, the filter is skipped")?
                    }
                }
            }
            Self::ViaGateways {
                weight,
                contributions,
                left_out,
                ..
            } => {
                write!(
                    f,
                    "replaced by {} (weight {weight}):",
                    mesh_model::counted(contributions.len(), "gateway")
                )?;
                for (i, c) in contributions.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{} +{}", c.gateway, c.weight)?;
                }
                if !left_out.is_empty() {
                    write!(f, "; left out: {}", left_out_list(left_out))?;
                }
            }
            Self::Dropped(d) => {
                f.write_str("dropped: ")?;
                match d {
                    DropReason::PortName { wanted, found } => write!(
                        f,
                        "serves port {found:?}, the cluster is for port {wanted:?}"
                    )?,
                    DropReason::HostnameAddress { address } => {
                        write!(f, "address {address:?} is a hostname")?
                    }
                    DropReason::NotInSubset { subset } => {
                        write!(f, "lacks the labels of subset {subset:?}")?
                    }
                    DropReason::NotHealthy { health } => write!(f, "not healthy ({health:?})")?,
                    DropReason::NotInNetworkView { network } => write!(
                        f,
                        "network {network} is not in the proxy's requested network view"
                    )?,
                    DropReason::NoAddress => f.write_str("it has no address")?,
                    DropReason::EmptyHost => {
                        f.write_str("sent directly but has no host (no address, or port 0)")?
                    }
                    DropReason::NoReachableGateway {
                        network,
                        candidates,
                        ip_family,
                        ..
                    } => {
                        if *candidates > 0 {
                            let fam = match ip_family {
                                IpFamily::Ipv4 => "IPv4",
                                IpFamily::Ipv6 => "IPv6",
                                _ => "any family",
                            };
                            write!(
                                f,
                                "remote network {} has gateways but none reachable over {fam}",
                                net(network)
                            )?
                        } else {
                            write!(f, "remote network {} has no usable gateway", net(network))?
                        }
                    }
                    DropReason::NotMtlsCapable { network, hbone } => {
                        write!(
                            f,
                            "remote network {} needs mTLS through its gateway, ",
                            net(network)
                        )?;
                        if *hbone {
                            f.write_str("and an HBONE endpoint is never mTLS-capable")?
                        } else {
                            f.write_str("and this endpoint is not mTLS-capable")?
                        }
                    }
                    DropReason::SniDnatNotMtls => {
                        f.write_str("SNI-DNAT clusters carry only mTLS-capable endpoints")?
                    }
                    DropReason::LegacyNoGateway { network } => write!(
                        f,
                        "network {} has no MeshNetworks entry with a gateway",
                        net(network)
                    )?,
                    DropReason::LegacyNoIpGateway { network, left_out } => write!(
                        f,
                        "network {} has gateways but none with an IP address, so nothing replaces it; left out: {}",
                        net(network),
                        left_out_list(left_out)
                    )?,
                }
            }
        }
        write!(f, " ({})", self.rule())
    }
}

/// The explanation of one input endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointExplanation {
    /// Its position in the input.
    pub index: usize,
    /// Its primary address.
    pub address: String,
    /// Its port.
    pub port: u32,
    /// Its network.
    pub network: Option<NetworkId>,
    /// Its cluster.
    pub cluster: Option<ClusterId>,
    /// Its locality label.
    pub locality: String,
    /// What happened to it.
    pub outcome: Outcome,
}

/// Why each input endpoint is or is not in what a proxy class receives for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The Envoy cluster.
    pub cluster_name: String,
    /// The proxy class.
    pub class: ProxyClass,
    /// The scale factor used (M4).
    pub scale_factor: u32,
    /// What the request selects where that may surprise (M1): a subset without labels, and a
    /// request without a port name when that dropped an endpoint.
    pub selection: Vec<SelectionNote>,
    /// One entry per input endpoint, in input order.
    pub endpoints: Vec<EndpointExplanation>,
    /// One entry per output group, in output order, when the locality stage ran: why it has its
    /// priority and weight (rules L8–L22). Empty when the cluster's policy cannot change anything.
    pub locality: Vec<GroupReason>,
    /// The setting the locality stage ran with (`None` when it did not run).
    pub locality_setting: Option<EffectiveSetting>,
    /// The locality of each output group, parallel to [`Explanation::locality`].
    pub group_localities: Vec<String>,
}

impl Explanation {
    /// What output group `i`'s priority means, in the proxy's terms: `same region, other zone
    /// (L12)`, `network mismatch under failoverPriority (L17)`, `locality r/z dropped: no
    /// distribute weight (L10)`. `None` for a group the stage did not report.
    ///
    /// ```
    /// use mesh_eds::{DocumentEds, Features, Profile, View};
    /// use mesh_model::MeshDocument;
    /// let doc = MeshDocument::from_yaml(include_str!("../../../examples/failover.yaml"))?;
    /// let eds = DocumentEds::new(&doc, Features::default());
    /// let class = eds.client_class(&"east-2".parse()?, None, &Default::default(), Profile::IstioModern);
    /// let (_, why) = View::new(&eds.shared_index(), class).explain(&eds.request(&eds.services[0]))?;
    /// assert_eq!(why.group_meaning(0).as_deref(), Some("same region, other zone (L12)"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn group_meaning(&self, i: usize) -> Option<String> {
        let reason = self.locality.get(i)?;
        let label = self.group_localities.get(i).map_or("", String::as_str);
        let keys = self
            .locality_setting
            .as_ref()
            .map_or(&[][..], EffectiveSetting::failover_priority);
        Some(match &reason.decision {
            Decision::Untouched(_) => format!("unchanged ({})", reason.decision.rule()),
            Decision::Distributed { to, share, .. } => {
                format!("locality {label} gets {share}% as {to} (L10)")
            }
            Decision::Unclaimed { .. } => {
                format!("locality {label} dropped: no distribute weight (L10)")
            }
            Decision::Tiered { tier } => format!("{} (L16–L18)", tier_meaning(*tier, keys)),
            Decision::Failover { tier, level } => {
                let place = match level {
                    0 => "same region, zone and subzone",
                    1 => "same region and zone, other subzone",
                    2 => "same region, other zone",
                    3 if self.is_failover_target(label) => "other region, the failover target",
                    3 => "other region",
                    _ => "other region, not the failover target",
                };
                if *tier == 0 {
                    format!("{place} (L12{})", if *level >= 3 { ", L13" } else { "" })
                } else {
                    format!("{}, then {place} (L12, L14)", tier_meaning(*tier, keys))
                }
            }
            Decision::ZoneAware { tier, bucket } => {
                let place = match bucket {
                    0 => "the proxy's region",
                    1 => "the failover target region",
                    _ => "another region",
                };
                if *tier == 0 {
                    format!("zone-aware: {place} (L21)")
                } else {
                    format!(
                        "{}, then zone-aware: {place} (L21)",
                        tier_meaning(*tier, keys)
                    )
                }
            }
        })
    }
}

impl Explanation {
    /// Whether `label`'s region is the `to` of the first failover rule from the proxy's region
    /// (L13).
    fn is_failover_target(&self, label: &str) -> bool {
        let Some(crate::policy::Setting::Locality { setting, .. }) =
            self.locality_setting.as_ref().map(|s| &s.setting)
        else {
            return false;
        };
        let (proxy_region, _, _) = crate::locality::split_locality(&self.class.locality);
        let (region, _, _) = crate::locality::split_locality(label);
        setting
            .failover
            .iter()
            .find(|f| f.from == proxy_region)
            .is_some_and(|f| f.to == region)
    }
}

/// A failoverPriority tier (L16, L17) in words: which entry first differs from the proxy.
fn tier_meaning(tier: u32, keys: &[String]) -> String {
    let n = keys.len() as u32;
    let key = |j: u32| {
        keys.get(j as usize)
            .map_or("?", |k| k.split('=').next().unwrap_or(""))
    };
    let rest = |t: u32| -> String {
        if t == 0 {
            "every other failoverPriority label matches".to_owned()
        } else {
            format!("differs first on {}", key(n.saturating_sub(t)))
        }
    };
    let network_first = keys.first().is_some_and(|k| k == NETWORK_LABEL);
    if network_first && n > 0 && tier >= n {
        format!(
            "network mismatch under failoverPriority (L17), {}",
            rest(tier - n)
        )
    } else if tier == 0 {
        "every failoverPriority label matches the proxy's".to_owned()
    } else {
        format!("failoverPriority: {}", rest(tier))
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} for a {:?} on network {} ({}), scale factor {}",
            self.cluster_name,
            self.class.proxy_type,
            net(&self.class.network),
            self.class.profile,
            self.scale_factor
        )?;
        for note in &self.selection {
            writeln!(f, "  note: {note}")?;
        }
        for e in &self.endpoints {
            writeln!(
                f,
                "  #{:<3} {}:{} network {} cluster {} locality {:?}: {}",
                e.index,
                e.address,
                e.port,
                net(&e.network),
                e.cluster.as_ref().map_or("\"\"", ClusterId::as_str),
                e.locality,
                e.outcome
            )?;
        }
        if !self.locality.is_empty() {
            writeln!(
                f,
                "  locality stage (proxy locality {:?}):",
                self.class.locality
            )?;
        }
        for (i, g) in self.locality.iter().enumerate() {
            let weight = g.weight.map_or("unset".to_owned(), |w| w.to_string());
            let label = self.group_localities.get(i).map_or("", String::as_str);
            writeln!(
                f,
                "  priority {}: {} — group {i} {label:?} (from group {}), weight {weight}: {}",
                g.priority,
                self.group_meaning(i).unwrap_or_default(),
                g.source,
                g.decision
            )?;
        }
        Ok(())
    }
}

/// Where the engine reports outcomes; the fast path uses [`NoTrace`], which compiles away.
pub(crate) trait Trace {
    /// Whether outcomes are recorded at all.
    const ON: bool;
    /// Records the outcome of input endpoint `index`.
    fn record(&mut self, index: usize, outcome: Outcome);
}

/// No tracing.
pub(crate) struct NoTrace;

impl Trace for NoTrace {
    const ON: bool = false;
    #[inline]
    fn record(&mut self, _: usize, _: Outcome) {}
}

/// Records outcomes by input index.
pub(crate) struct Recorder(pub(crate) Vec<Option<Outcome>>);

impl Trace for Recorder {
    const ON: bool = true;
    fn record(&mut self, index: usize, outcome: Outcome) {
        if let Some(slot) = self.0.get_mut(index) {
            *slot = Some(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_outcomes_name_what_is_left_out() {
        let n2: NetworkId = "n2".parse().unwrap();
        let v6 = LeftOutGateway {
            address: "2001:db8::7".into(),
            port: 15443,
            why: LeftOutReason::NotFirstAnswer {
                hostname: "gw.example.com".into(),
            },
        };
        let gateway = Gateway::new(n2.clone(), "192.0.2.7", 15443);
        let o = Outcome::ViaGateways {
            weight: 2,
            contributions: vec![GatewayContribution { gateway, weight: 2 }],
            left_out: vec![v6.clone()],
            rule: "H1.2",
        };
        assert!(
            o.to_string().ends_with(
                " +2; left out: IPv6 gateway [2001:db8::7]:15443 (DNS answer of gw.example.com after the first, the only one used: H1.5) (H1.2)"
            ),
            "{o}"
        );
        assert!(
            o.to_string()
                .starts_with("replaced by 1 gateway (weight 2): ")
        );
        let dropped = Outcome::Dropped(DropReason::LegacyNoIpGateway {
            network: Some(n2),
            left_out: vec![LeftOutGateway {
                address: "gw.example.com".into(),
                port: 15443,
                why: LeftOutReason::Hostname,
            }],
        });
        assert_eq!(dropped.rule(), "H1.5");
        assert_eq!(
            dropped.to_string(),
            "dropped: network n2 has gateways but none with an IP address, so nothing replaces it; left out: gw.example.com:15443 (a hostname, not resolved: H1.5) (H1.5)"
        );
    }

    #[test]
    fn group_meanings_speak_of_the_proxy() {
        let keys: Vec<String> = [NETWORK_LABEL, "topology.kubernetes.io/region", "app"]
            .map(str::to_owned)
            .into();
        assert_eq!(
            tier_meaning(0, &keys),
            "every failoverPriority label matches the proxy's"
        );
        assert_eq!(
            tier_meaning(1, &keys),
            "failoverPriority: differs first on app"
        );
        assert_eq!(
            tier_meaning(3, &keys),
            "network mismatch under failoverPriority (L17), every other failoverPriority label matches"
        );
        assert_eq!(
            tier_meaning(5, &keys),
            "network mismatch under failoverPriority (L17), differs first on topology.kubernetes.io/region"
        );
        let group = |decision| GroupReason {
            source: 0,
            decision,
            priority: 0,
            weight: None,
        };
        let ex = Explanation {
            cluster_name: String::new(),
            class: ProxyClass::default(),
            scale_factor: 1,
            selection: Vec::new(),
            endpoints: Vec::new(),
            locality: vec![
                group(Decision::Unclaimed { from: "*".into() }),
                group(Decision::Failover { tier: 0, level: 4 }),
            ],
            locality_setting: None,
            group_localities: vec!["eu-west/z1".into(), "r9".into()],
        };
        assert_eq!(
            ex.group_meaning(0).as_deref(),
            Some("locality eu-west/z1 dropped: no distribute weight (L10)")
        );
        assert_eq!(
            ex.group_meaning(1).as_deref(),
            Some("other region, not the failover target (L12, L13)")
        );
        assert_eq!(ex.group_meaning(2), None);
    }

    #[test]
    fn display_names_the_rule() {
        let o = Outcome::Dropped(DropReason::NoReachableGateway {
            network: Some("n2".parse().unwrap()),
            cluster: None,
            candidates: 2,
            ip_family: IpFamily::Ipv6,
        });
        assert_eq!(
            o.to_string(),
            "dropped: remote network n2 has gateways but none reachable over IPv6 (M14)"
        );
        let o = Outcome::Dropped(DropReason::NotMtlsCapable {
            network: None,
            hbone: true,
        });
        assert_eq!(o.rule(), "M17");
        assert!(
            Outcome::Direct {
                weight: 2,
                reason: DirectReason::SameNetwork
            }
            .to_string()
            .ends_with("(M8)")
        );
    }
}
