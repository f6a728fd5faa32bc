//! MeshNetworks as the Istio 1.1–1.5 profiles read it (rules H1.2–H1.5): network name → gateway
//! entries as written, with what each may resolve to.

use std::collections::BTreeMap;
use std::net::IpAddr;

use mesh_model::{GatewayAddress, MeshNetworks};

/// One gateway entry of a MeshNetworks network, as written, with what the legacy profiles may
/// resolve it to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyGateway {
    /// `address` as written (an IP or a hostname); `None` for `registryServiceName` entries.
    pub address: Option<String>,
    /// The first DNS answer for a hostname `address` (Istio 1.1.17+ replace the hostname with it at
    /// load: rule H1.5).
    pub first_resolved: Option<String>,
    /// The hostname's other DNS answers, which no legacy profile uses (H1.5: only the first
    /// replaces it); kept so that an explanation can name them.
    pub other_answers: Vec<String>,
    /// For `registryServiceName` entries (Istio 1.5): the service's external addresses in the
    /// network's `fromRegistry` clusters.
    pub registry_addresses: Vec<String>,
    /// The gateway port.
    pub port: u32,
}

/// MeshNetworks as Istio 1.1–1.5 read it: network name → gateway entries, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyNetworks {
    /// Network name (as written; not validated by Istio) → gateways.
    pub networks: BTreeMap<String, Vec<LegacyGateway>>,
}

impl LegacyNetworks {
    /// Reads a MeshNetworks document: hostname answers come from `dns`; `registryServiceName`
    /// gateways are looked up with `external_addresses(service host, registry)` in each
    /// `fromRegistry` cluster of the network.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mesh_eds::LegacyNetworks;
    /// use mesh_model::MeshNetworks;
    /// let mn = MeshNetworks::from_yaml("networks:\n  n1:\n    gateways: [{address: gw.example, port: 80}]\n")?;
    /// let answers = vec!["192.0.2.7".parse().unwrap(), "2001:db8::7".parse().unwrap()];
    /// let dns = BTreeMap::from([("gw.example".to_string(), answers)]);
    /// let legacy = LegacyNetworks::new(&mn, &dns, |_, _| Vec::new());
    /// assert_eq!(legacy.networks["n1"][0].first_resolved.as_deref(), Some("192.0.2.7"));
    /// assert_eq!(legacy.networks["n1"][0].other_answers, ["2001:db8::7"]); // unused, but named
    /// # Ok::<(), mesh_model::MeshNetworksParseError>(())
    /// ```
    pub fn new(
        mesh_networks: &MeshNetworks,
        dns: &BTreeMap<String, Vec<IpAddr>>,
        external_addresses: impl Fn(&str, &str) -> Vec<String>,
    ) -> Self {
        let mut networks = BTreeMap::new();
        for (name, net) in &mesh_networks.networks {
            let registries: Vec<&str> = net.registries().collect();
            let gws = net
                .gateways
                .iter()
                .map(|g| match &g.gw {
                    Some(GatewayAddress::Address(a)) => {
                        let answers: &[IpAddr] = if a.parse::<IpAddr>().is_ok() {
                            &[]
                        } else {
                            dns.get(a).map_or(&[], Vec::as_slice)
                        };
                        LegacyGateway {
                            address: Some(a.clone()),
                            first_resolved: answers.first().map(ToString::to_string),
                            other_answers: answers
                                .iter()
                                .skip(1)
                                .map(ToString::to_string)
                                .collect(),
                            registry_addresses: Vec::new(),
                            port: g.port,
                        }
                    }
                    Some(GatewayAddress::RegistryServiceName(s)) => LegacyGateway {
                        address: None,
                        first_resolved: None,
                        other_answers: Vec::new(),
                        registry_addresses: registries
                            .iter()
                            .flat_map(|r| external_addresses(s, r))
                            .collect(),
                        port: g.port,
                    },
                    _ => LegacyGateway {
                        address: None,
                        first_resolved: None,
                        other_answers: Vec::new(),
                        registry_addresses: Vec::new(),
                        port: g.port,
                    },
                })
                .collect();
            networks.insert(name.clone(), gws);
        }
        Self { networks }
    }
}
