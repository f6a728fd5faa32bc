//! Istio's MeshNetworks document (`mesh/v1alpha1/network.proto`), read and validated exactly as istiod
//! does (rules P1–P3 and V1–V6 of `spec/meshnetworks.md`).
//!
//! Field names are the protobuf-JSON names (`fromCidr`, `registryServiceName`, ...); the proto field
//! names (`from_cidr`, ...) are accepted too, as the protobuf JSON mapping does. Unknown fields are
//! ignored (P1). A oneof given twice is an error, as protobuf JSON decoders report it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::id::is_istio_dns1123_label;

/// Istio's `MeshNetworks`: network name → network.
///
/// Equality compares what Istio acts on, the networks; [`MeshNetworks::ignored_fields`] and
/// [`MeshNetworks::octal_ports`] are not part of it.
#[derive(Debug, Clone, Default, Eq, Serialize)]
pub struct MeshNetworks {
    /// The networks, keyed by name. Names are not validated by Istio (V7).
    pub networks: BTreeMap<String, Network>,
    /// Fields the text had that Istio ignores (P1), in text order: most likely typos
    /// (`gateway:`, `fromRegistery:`). Never serialized.
    #[serde(skip)]
    pub ignored_fields: Vec<IgnoredField>,
    /// Gateway ports written as plain leading-zero numbers (`port: 0443`), which Istio's YAML
    /// 1.1 reader takes for octal (291) and so does this parse: said, not silent. Paths relative
    /// to the MeshNetworks document. Never serialized.
    #[serde(skip)]
    pub octal_ports: Vec<crate::OctalNumber>,
}

impl PartialEq for MeshNetworks {
    fn eq(&self, other: &Self) -> bool {
        self.networks == other.networks
    }
}

/// A field of a MeshNetworks text that Istio ignores (rule P1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IgnoredField {
    /// The object that holds it, relative to the MeshNetworks document (`networks.n1.gateways[0]`,
    /// or `""` for the document itself).
    pub path: String,
    /// The field as written.
    pub field: String,
    /// The known field closest to it, when one is close.
    pub suggestion: Option<&'static str>,
    /// A known field that Istio drops because the other member of its oneof, declared later
    /// in the message, is set too: the member kept (`address` over `registryServiceName`,
    /// `fromRegistry` over `fromCidr`). `None` for an unknown field.
    pub overridden_by: Option<&'static str>,
}

/// One network of [`MeshNetworks`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    /// Which endpoints belong to this network.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<NetworkEndpoints>,
    /// How other networks reach this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<NetworkGateway>,
}

/// The known fields (protobuf-JSON and proto names) of each MeshNetworks message.
const MESH_NETWORKS_FIELDS: &[&str] = &["networks"];
const NETWORK_FIELDS: &[&str] = &["endpoints", "gateways"];
const ENDPOINTS_FIELDS: &[&str] = &["fromCidr", "fromRegistry", "from_cidr", "from_registry"];
const GATEWAY_FIELDS: &[&str] = &[
    "registryServiceName",
    "registry_service_name",
    "address",
    "port",
    "locality",
];

/// Reads a map's keys one by one: `known` ones through `read`, the others skipped (Istio ignores
/// them, P1) and recorded with a suggestion.
fn read_map<'de, A: de::MapAccess<'de>>(
    mut map: A,
    known: &'static [&'static str],
    ignored: &mut Vec<(String, Option<&'static str>)>,
    mut read: impl FnMut(&str, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key::<String>()? {
        if known.contains(&key.as_str()) {
            read(&key, &mut map)?;
        } else {
            map.next_value::<de::IgnoredAny>()?;
            let suggestion = crate::suggest::closest(&key, known);
            ignored.push((key, suggestion));
        }
    }
    Ok(())
}

/// The gateway ports among `found` (the only numbers of MeshNetworks), under `prefix` (the path
/// of the MeshNetworks document in the text, `""` for a MeshNetworks text), relative to it.
pub(crate) fn octal_ports(found: Vec<crate::OctalNumber>, prefix: &str) -> Vec<crate::OctalNumber> {
    found
        .into_iter()
        .filter_map(|mut o| {
            let rest = o.path.strip_prefix(prefix)?.trim_start_matches('.');
            if !(rest.starts_with("networks.") && rest.ends_with("].port")) {
                return None;
            }
            o.path = rest.to_owned();
            Some(o)
        })
        .collect()
}

/// A known field's name as written, for the record of a dropped oneof member.
fn oneof_name(key: &str) -> &'static str {
    ENDPOINTS_FIELDS
        .iter()
        .chain(GATEWAY_FIELDS)
        .find(|k| **k == key)
        .copied()
        .unwrap_or("")
}

/// A value with the fields its text had that Istio ignores, relative to it.
struct Tracked<T> {
    value: T,
    ignored: Vec<IgnoredField>,
}

impl<T> Tracked<T> {
    fn new(value: T, path: &str, own: Vec<(String, Option<&'static str>)>) -> Self {
        let ignored = own
            .into_iter()
            .map(|(field, suggestion)| IgnoredField {
                path: path.to_owned(),
                field,
                suggestion,
                overridden_by: None,
            })
            .collect();
        Self { value, ignored }
    }

    /// Records a oneof member Istio drops (written as `field`) for the one it keeps.
    fn with_overridden(mut self, overridden: Option<(&'static str, &'static str)>) -> Self {
        if let Some((field, kept)) = overridden {
            self.ignored.push(IgnoredField {
                path: String::new(),
                field: field.to_owned(),
                suggestion: None,
                overridden_by: Some(kept),
            });
        }
        self
    }

    /// Moves the children's ignored fields under `prefix`.
    fn adopt(&mut self, prefix: &str, children: Vec<IgnoredField>) {
        for mut f in children {
            f.path = if f.path.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{}", f.path)
            };
            self.ignored.push(f);
        }
    }
}

/// Implements `Deserialize` for `Tracked<$t>` through a map visitor, and for `$t` by dropping
/// what was tracked.
macro_rules! tracked_deserialize {
    ($t:ty, $expecting:literal, $visit:ident) => {
        impl<'de> Deserialize<'de> for Tracked<$t> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> de::Visitor<'de> for V {
                    type Value = Tracked<$t>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                        Ok(Tracked::new(<$t>::default(), "", Vec::new()))
                    }
                    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                        self.visit_unit()
                    }
                    fn visit_map<A: de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<Self::Value, A::Error> {
                        $visit(map)
                    }
                }
                d.deserialize_map(V)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Tracked::<$t>::deserialize(d)?.value)
            }
        }
    };
}

/// A list that may be written as null (empty).
fn list<'de, A: de::MapAccess<'de>, T: Deserialize<'de>>(map: &mut A) -> Result<Vec<T>, A::Error> {
    Ok(map.next_value::<Option<Vec<T>>>()?.unwrap_or_default())
}

fn visit_mesh_networks<'de, A: de::MapAccess<'de>>(
    map: A,
) -> Result<Tracked<MeshNetworks>, A::Error> {
    let mut own = Vec::new();
    let mut networks: BTreeMap<String, Tracked<Network>> = BTreeMap::new();
    read_map(map, MESH_NETWORKS_FIELDS, &mut own, |_, m| {
        networks = m.next_value::<Option<_>>()?.unwrap_or_default();
        Ok(())
    })?;
    let mut out = Tracked::new(MeshNetworks::default(), "", own);
    for (name, n) in networks {
        out.adopt(&format!("networks.{name}"), n.ignored);
        out.value.networks.insert(name, n.value);
    }
    out.value.ignored_fields = out.ignored.clone();
    Ok(out)
}

fn visit_network<'de, A: de::MapAccess<'de>>(map: A) -> Result<Tracked<Network>, A::Error> {
    let mut own = Vec::new();
    let mut endpoints: Vec<Tracked<NetworkEndpoints>> = Vec::new();
    let mut gateways: Vec<Tracked<NetworkGateway>> = Vec::new();
    read_map(map, NETWORK_FIELDS, &mut own, |key, m| {
        if key == "endpoints" {
            endpoints = list(m)?;
        } else {
            gateways = list(m)?;
        }
        Ok(())
    })?;
    let mut out = Tracked::new(Network::default(), "", own);
    for (i, e) in endpoints.into_iter().enumerate() {
        out.adopt(&format!("endpoints[{i}]"), e.ignored);
        out.value.endpoints.push(e.value);
    }
    for (i, g) in gateways.into_iter().enumerate() {
        out.adopt(&format!("gateways[{i}]"), g.ignored);
        out.value.gateways.push(g.value);
    }
    Ok(out)
}

tracked_deserialize!(MeshNetworks, "a MeshNetworks object", visit_mesh_networks);
tracked_deserialize!(Network, "a network object", visit_network);

impl Network {
    /// The registries (cluster ids, as written) this network lists with `fromRegistry`, in order.
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.endpoints.iter().filter_map(|e| match e {
            NetworkEndpoints::FromRegistry(r) => Some(r.as_str()),
            _ => None,
        })
    }
}

/// `NetworkEndpoints`: the oneof `fromCidr` | `fromRegistry` (either may be absent: rule P3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkEndpoints {
    /// `fromCidr`: endpoint IPs in this CIDR belong to the network (kept as written: V2 validates it).
    FromCidr(String),
    /// `fromRegistry`: every endpoint of this registry (cluster) belongs to the network.
    FromRegistry(String),
    /// Neither field was set.
    #[default]
    Unset,
}

/// The gateway's address oneof: `registryServiceName` | `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayAddress {
    /// `registryServiceName`: FQDN of the gateway Service in the registries of this network.
    RegistryServiceName(String),
    /// `address`: an IP address or a DNS name.
    Address(String),
}

/// `IstioNetworkGateway`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkGateway {
    /// Where the gateway is; `None` when neither field was given (legal, ignored at runtime: P3).
    pub gw: Option<GatewayAddress>,
    /// The gateway's mTLS (SNI auto-passthrough) port; 0 when omitted (then V6 rejects it).
    pub port: u32,
    /// Accepted and ignored by istiod (R7).
    pub locality: String,
}

fn visit_endpoints<'de, A: de::MapAccess<'de>>(
    map: A,
) -> Result<Tracked<NetworkEndpoints>, A::Error> {
    let mut own = Vec::new();
    let (mut from_cidr, mut from_registry) = (None, None);
    read_map(map, ENDPOINTS_FIELDS, &mut own, |key, m| {
        let value: Option<String> = m.next_value()?;
        if key == "fromCidr" || key == "from_cidr" {
            from_cidr = value.map(|v| (v, oneof_name(key)));
        } else {
            from_registry = value.map(|v| (v, oneof_name(key)));
        }
        Ok(())
    })?;
    // Both members of the oneof: Istio's protobuf-JSON decoder (golang/protobuf `jsonpb`) sets
    // the fields in declaration order, and setting a oneof member clears the other, so the one
    // declared later (from_registry = 2 after from_cidr = 1) is kept, without an error.
    let mut overridden = None;
    let value = match (from_cidr, from_registry) {
        (Some((_, written)), Some((r, _))) => {
            overridden = Some((written, "fromRegistry"));
            NetworkEndpoints::FromRegistry(r)
        }
        (Some((c, _)), None) => NetworkEndpoints::FromCidr(c),
        (None, Some((r, _))) => NetworkEndpoints::FromRegistry(r),
        (None, None) => NetworkEndpoints::Unset,
    };
    Ok(Tracked::new(value, "", own).with_overridden(overridden))
}

tracked_deserialize!(
    NetworkEndpoints,
    "a NetworkEndpoints object",
    visit_endpoints
);

impl Serialize for NetworkEndpoints {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Self::FromCidr(c) => m.serialize_entry("fromCidr", c)?,
            Self::FromRegistry(r) => m.serialize_entry("fromRegistry", r)?,
            Self::Unset => {}
        }
        m.end()
    }
}

/// A protobuf-JSON `uint32`: a number or a decimal string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ProtoU32 {
    Number(u64),
    Text(String),
}

fn visit_gateway<'de, A: de::MapAccess<'de>>(map: A) -> Result<Tracked<NetworkGateway>, A::Error> {
    let mut own = Vec::new();
    let (mut registry_service_name, mut address, mut port, mut locality) = (
        None::<(String, &'static str)>,
        None::<String>,
        None::<ProtoU32>,
        None::<String>,
    );
    read_map(map, GATEWAY_FIELDS, &mut own, |key, m| {
        match key {
            "registryServiceName" | "registry_service_name" => {
                registry_service_name = m
                    .next_value::<Option<String>>()?
                    .map(|v| (v, oneof_name(key)));
            }
            "address" => address = m.next_value()?,
            "port" => port = m.next_value()?,
            _ => locality = m.next_value()?,
        }
        Ok(())
    })?;
    // Both members of the oneof: the one declared later (address = 2 after
    // registry_service_name = 1) is kept, as for the endpoints' oneof above.
    let mut overridden = None;
    let gw = match (registry_service_name, address) {
        (Some((_, written)), Some(a)) => {
            overridden = Some((written, "address"));
            Some(GatewayAddress::Address(a))
        }
        (Some((s, _)), None) => Some(GatewayAddress::RegistryServiceName(s)),
        (None, Some(a)) => Some(GatewayAddress::Address(a)),
        (None, None) => None,
    };
    let port = match port {
        None => 0,
        Some(ProtoU32::Number(n)) => u32::try_from(n)
            .map_err(|_| de::Error::custom(format!("port {n} does not fit a uint32")))?,
        Some(ProtoU32::Text(t)) => t
            .parse::<u32>()
            .map_err(|_| de::Error::custom(format!("port {t:?} is not a uint32")))?,
    };
    let value = NetworkGateway {
        gw,
        port,
        locality: locality.unwrap_or_default(),
    };
    Ok(Tracked::new(value, "", own).with_overridden(overridden))
}

tracked_deserialize!(
    NetworkGateway,
    "an IstioNetworkGateway object",
    visit_gateway
);

impl Serialize for NetworkGateway {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match &self.gw {
            Some(GatewayAddress::RegistryServiceName(n)) => {
                m.serialize_entry("registryServiceName", n)?
            }
            Some(GatewayAddress::Address(a)) => m.serialize_entry("address", a)?,
            None => {}
        }
        if self.port != 0 {
            m.serialize_entry("port", &self.port)?;
        }
        if !self.locality.is_empty() {
            m.serialize_entry("locality", &self.locality)?;
        }
        m.end()
    }
}

/// A MeshNetworks document that could not be decoded (rule P1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to convert to proto. {detail}")]
pub struct MeshNetworksParseError {
    /// What the decoder said.
    pub detail: String,
}

impl MeshNetworks {
    /// Parses a MeshNetworks YAML (or JSON, a subset of YAML) document as istiod does (P1): unknown
    /// fields are ignored, an empty document is `networks: {}`.
    ///
    /// ```
    /// use mesh_model::MeshNetworks;
    /// let mn = MeshNetworks::from_yaml("networks:\n  n1:\n    gateways: [{address: 1.1.1.1, port: 15443}]\n")?;
    /// assert!(mn.validate(true).is_ok());
    /// # Ok::<(), mesh_model::MeshNetworksParseError>(())
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self, MeshNetworksParseError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        // Istio reads YAML 1.1: a plain `0443` is octal (crate::yaml11).
        let mut options = serde_saphyr::Options::default();
        options.legacy_octal_numbers = true;
        let value: serde_json::Value =
            serde_saphyr::from_str_with_options(text, options).map_err(|e| {
                MeshNetworksParseError {
                    detail: e.to_string(),
                }
            })?;
        if value.is_null() {
            return Ok(Self::default());
        }
        let mut parsed: Self =
            serde_json::from_value(value).map_err(|e| MeshNetworksParseError {
                detail: e.to_string(),
            })?;
        parsed.octal_ports = octal_ports(crate::yaml11::octal_numbers(text), "");
        Ok(parsed)
    }

    /// The MeshNetworks istiod acts on when this one is loaded (rule P2): since Istio 1.6 an
    /// invalid document (any error of [`MeshNetworks::validate`]) is rejected as a whole and the
    /// last known good one stays in force; with no earlier document, none (`networks: {}`).
    /// `resolve_hostname_gateways` is as for `validate`.
    ///
    /// ```
    /// use mesh_model::MeshNetworks;
    /// let good = MeshNetworks::from_yaml("networks:\n  n1:\n    gateways: [{address: 1.1.1.1, port: 15443}]\n")?;
    /// let bad = MeshNetworks::from_yaml("networks:\n  n2:\n    gateways: [{address: 2.2.2.2}]\n")?; // port 0
    /// assert_eq!(*good.accepted(true, None), good);
    /// assert_eq!(*bad.accepted(true, Some(&good)), good);
    /// assert!(bad.accepted(true, None).networks.is_empty());
    /// # Ok::<(), mesh_model::MeshNetworksParseError>(())
    /// ```
    pub fn accepted<'a>(
        &'a self,
        resolve_hostname_gateways: bool,
        last_known_good: Option<&'a MeshNetworks>,
    ) -> Cow<'a, MeshNetworks> {
        if self.validate(resolve_hostname_gateways).is_ok() {
            Cow::Borrowed(self)
        } else {
            last_known_good.map_or_else(|| Cow::Owned(MeshNetworks::default()), Cow::Borrowed)
        }
    }

    /// Validates the document with Istio's rules V1–V6. `resolve_hostname_gateways` is istiod's
    /// `RESOLVE_HOSTNAME_GATEWAYS` (default `true`), which decides whether hostname gateways are valid.
    ///
    /// Errors come in network-name order (Istio visits networks in map order, so its order across
    /// networks is unspecified; within a network the order is Istio's).
    pub fn validate(&self, resolve_hostname_gateways: bool) -> Result<(), MeshNetworksErrors> {
        let mut errors = Vec::new();
        for (name, network) in &self.networks {
            errors.extend(
                validate_network(network, resolve_hostname_gateways)
                    .into_iter()
                    .map(|kind| MeshNetworksError {
                        network: name.clone(),
                        kind,
                    }),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(MeshNetworksErrors(errors))
        }
    }
}

fn validate_network(network: &Network, resolve_hostname_gateways: bool) -> Vec<NetworkErrorKind> {
    let mut errs = Vec::new();
    for ep in &network.endpoints {
        match ep {
            NetworkEndpoints::FromCidr(cidr) => {
                if let Some(e) = check_ip_subnet(cidr) {
                    errs.push(e);
                }
            }
            NetworkEndpoints::FromRegistry(r) => {
                if !is_istio_dns1123_label(r) {
                    errs.push(NetworkErrorKind::InvalidRegistryName(r.clone()));
                }
            }
            NetworkEndpoints::Unset => {}
        }
    }
    for gw in &network.gateways {
        match &gw.gw {
            Some(GatewayAddress::RegistryServiceName(name)) => {
                if let Err(e) = check_fqdn(name) {
                    errs.push(e);
                }
            }
            Some(GatewayAddress::Address(addr)) if parse_go_addr(addr).is_none() => {
                if !resolve_hostname_gateways {
                    errs.push(NetworkErrorKind::HostnameNotAllowed(addr.clone()));
                } else if check_fqdn(addr).is_err() {
                    // V5: istiod builds a fresh error list here, so what this network collected
                    // so far is lost. Reproduced on purpose.
                    errs = vec![NetworkErrorKind::InvalidAddress(addr.clone())];
                }
            }
            Some(GatewayAddress::Address(_)) => {}
            None => {}
        }
        if gw.port == 0 || gw.port > 65535 {
            errs.push(NetworkErrorKind::PortOutOfRange(gw.port));
        }
    }
    errs
}

/// V2: `ValidateIPSubnet`.
fn check_ip_subnet(v: &str) -> Option<NetworkErrorKind> {
    if v.matches('/').count() == 1 {
        if parse_go_prefix(v) {
            None
        } else {
            Some(NetworkErrorKind::InvalidCidr(v.to_owned()))
        }
    } else if parse_go_addr(v).is_some() {
        None
    } else {
        Some(NetworkErrorKind::InvalidIp(v.to_owned()))
    }
}

/// Go's `netip.ParseAddr`: an IPv4 dotted quad (no leading zeros) or IPv6, with an optional zone on
/// IPv6 (`fe80::1%eth0`). Rust's parser has no zones, hence this wrapper.
pub(crate) fn parse_go_addr(v: &str) -> Option<IpAddr> {
    match v.split_once('%') {
        None => v.parse().ok(),
        Some((ip, zone)) if !zone.is_empty() => match ip.parse() {
            Ok(IpAddr::V6(a)) => Some(IpAddr::V6(a)),
            _ => None,
        },
        Some(_) => None,
    }
}

/// Go's `netip.ParsePrefix`: address (no zone) `/` decimal bits (no sign, no leading zero) fitting the
/// family; host bits may be set.
fn parse_go_prefix(v: &str) -> bool {
    let Some((addr, bits)) = v.split_once('/') else {
        return false;
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return false;
    };
    if bits.is_empty()
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return false;
    }
    let max = if addr.is_ipv4() { 32 } else { 128 };
    bits.parse::<u32>().is_ok_and(|b| b <= max)
}

/// V4: Istio's `ValidateFQDN`.
fn check_fqdn(v: &str) -> Result<(), NetworkErrorKind> {
    if v.len() > 255 {
        return Err(NetworkErrorKind::DomainTooLong(v.to_owned()));
    }
    if v.is_empty() {
        return Err(NetworkErrorKind::EmptyDomain);
    }
    let parts: Vec<&str> = v.split('.').collect();
    let tld = parts[parts.len() - 1];
    // Go's strconv.Atoi: optional sign, decimal digits, fits an int64. Rust's i64 parser agrees.
    if tld.parse::<i64>().is_ok() {
        return Err(NetworkErrorKind::NumericTld {
            domain: v.to_owned(),
            tld: tld.to_owned(),
        });
    }
    for (i, label) in parts.iter().enumerate() {
        if i == parts.len() - 1 && label.is_empty() {
            return Ok(());
        }
        if !is_istio_dns1123_label(label) {
            return Err(NetworkErrorKind::InvalidLabel {
                domain: v.to_owned(),
                label: (*label).to_owned(),
            });
        }
    }
    Ok(())
}

/// What is wrong inside one network (rules V2–V6). `Display` is Istio's message, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkErrorKind {
    /// V2: a `fromCidr` with one `/` that is not a prefix.
    #[error("{0} is not a valid CIDR block")]
    InvalidCidr(String),
    /// V2: a `fromCidr` without exactly one `/` that is not an IP.
    #[error("{0} is not a valid IP")]
    InvalidIp(String),
    /// V3: a `fromRegistry` that is not a DNS-1123 label.
    #[error("invalid registry name: {0}")]
    InvalidRegistryName(String),
    /// V4: empty FQDN.
    #[error("empty domain name not allowed")]
    EmptyDomain,
    /// V4: FQDN over 255 characters.
    #[error("domain name {0:?} too long (max 255)")]
    DomainTooLong(String),
    /// V4: all-numeric top-level domain.
    #[error("domain name {domain:?} invalid (top level domain {tld:?} cannot be all-numeric)")]
    NumericTld {
        /// The domain.
        domain: String,
        /// Its last label.
        tld: String,
    },
    /// V4: a label that is not a DNS-1123 label.
    #[error("domain name {domain:?} invalid (label {label:?} invalid)")]
    InvalidLabel {
        /// The domain.
        domain: String,
        /// The bad label.
        label: String,
    },
    /// V5 with `RESOLVE_HOSTNAME_GATEWAYS=false`: a gateway address that is not an IP.
    #[error("{0} is not a valid IP (hostname is allowed if RESOLVE_HOSTNAME_GATEWAYS is enabled)")]
    HostnameNotAllowed(String),
    /// V5: a gateway address that is neither an IP nor a DNS name.
    #[error("{0} is not a valid IP address or DNS name")]
    InvalidAddress(String),
    /// V6: a gateway port outside 1..65535.
    #[error("port number {0} must be in the range 1..65535")]
    PortOutOfRange(u32),
}

/// One validation error, naming its network. `Display`: `invalid network <name>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network {network}: {kind}")]
pub struct MeshNetworksError {
    /// The network's name (its key in `networks`).
    pub network: String,
    /// What is wrong.
    pub kind: NetworkErrorKind,
}

/// Every validation error of a MeshNetworks document (rule V1). `Display` is hashicorp multierror's
/// text, as istiod prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshNetworksErrors(pub Vec<MeshNetworksError>);

impl fmt::Display for MeshNetworksErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == 1 {
            writeln!(f, "1 error occurred:")?;
        } else {
            writeln!(f, "{} errors occurred:", self.0.len())?;
        }
        for e in &self.0 {
            writeln!(f, "\t* {e}")?;
        }
        writeln!(f)
    }
}

impl std::error::Error for MeshNetworksErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(yaml: &str, resolve: bool) -> Vec<String> {
        match MeshNetworks::from_yaml(yaml).unwrap().validate(resolve) {
            Ok(()) => vec![],
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn example_d_swallows_earlier_errors() {
        let yaml = "networks:\n  n1:\n    endpoints:\n    - fromCidr: bad-cidr\n    gateways:\n    - address: \"1nv@lid\"\n      port: 0\n";
        assert_eq!(
            errors(yaml, true),
            [
                "invalid network n1: 1nv@lid is not a valid IP address or DNS name",
                "invalid network n1: port number 0 must be in the range 1..65535",
            ]
        );
    }

    #[test]
    fn hostname_rejected_without_resolution() {
        let yaml =
            "networks:\n  n1:\n    gateways:\n    - address: gw.example.com\n      port: 15443\n";
        assert!(errors(yaml, true).is_empty());
        assert_eq!(
            errors(yaml, false),
            [
                "invalid network n1: gw.example.com is not a valid IP (hostname is allowed if RESOLVE_HOSTNAME_GATEWAYS is enabled)"
            ]
        );
    }

    #[test]
    fn cidr_and_registry_rules() {
        let yaml = "networks:\n  n:\n    endpoints:\n    - fromCidr: 192.168.0.1/24\n    - fromCidr: 10.0.0.1\n    - fromCidr: 10.0.0.0/33\n    - fromCidr: 10.0.0.0/8/8\n    - fromRegistry: Kubernetes\n    - fromRegistry: cluster_1\n";
        assert_eq!(
            errors(yaml, true),
            [
                "invalid network n: 10.0.0.0/33 is not a valid CIDR block",
                "invalid network n: 10.0.0.0/8/8 is not a valid IP",
                "invalid network n: invalid registry name: cluster_1",
            ]
        );
    }

    #[test]
    fn fqdn_rules() {
        assert_eq!(check_fqdn("a.b.c."), Ok(()));
        assert_eq!(check_fqdn("single"), Ok(()));
        assert!(matches!(
            check_fqdn("a.123"),
            Err(NetworkErrorKind::NumericTld { .. })
        ));
        assert!(matches!(
            check_fqdn("a.-1"),
            Err(NetworkErrorKind::NumericTld { .. })
        ));
        assert!(matches!(
            check_fqdn("a..b"),
            Err(NetworkErrorKind::InvalidLabel { .. })
        ));
        assert_eq!(check_fqdn(""), Err(NetworkErrorKind::EmptyDomain));
        assert!(matches!(
            check_fqdn(&"a".repeat(256)),
            Err(NetworkErrorKind::DomainTooLong(_))
        ));
    }

    #[test]
    fn unknown_fields_ignored_and_aliases_accepted() {
        let mn = MeshNetworks::from_yaml(
            "networks:\n  n1:\n    bogus: 1\n    endpoints: [{from_registry: c1}]\n    gateways: [{registry_service_name: gw.ns.svc.cluster.local, port: \"15443\", extra: x}]\n",
        )
        .unwrap();
        let n1 = &mn.networks["n1"];
        assert_eq!(n1.endpoints, [NetworkEndpoints::FromRegistry("c1".into())]);
        assert_eq!(n1.gateways[0].port, 15443);
        let ignored: Vec<(&str, &str)> = mn
            .ignored_fields
            .iter()
            .map(|f| (f.path.as_str(), f.field.as_str()))
            .collect();
        assert_eq!(
            ignored,
            [
                ("networks.n1", "bogus"),
                ("networks.n1.gateways[0]", "extra")
            ]
        );
    }

    #[test]
    fn typos_are_ignored_as_istio_does_and_recorded_with_a_suggestion() {
        let mn = MeshNetworks::from_yaml(
            "networks:\n  n1:\n    endpoints: [{fromRegistery: c1}, {fromRegistry: c2}]\n    gateway: [{address: 1.1.1.1, port: 15443}]\n    gateways: [{adress: 1.1.1.2, port: 15443}]\n",
        )
        .unwrap();
        // Istio's parse: the misspelt fields are dropped.
        let n1 = &mn.networks["n1"];
        assert_eq!(
            n1.endpoints,
            [
                NetworkEndpoints::Unset,
                NetworkEndpoints::FromRegistry("c2".into())
            ]
        );
        assert_eq!(n1.gateways.len(), 1);
        assert_eq!(n1.gateways[0].gw, None);
        let ignored: Vec<(&str, &str, Option<&str>)> = mn
            .ignored_fields
            .iter()
            .map(|f| (f.path.as_str(), f.field.as_str(), f.suggestion))
            .collect();
        assert_eq!(
            ignored,
            [
                ("networks.n1", "gateway", Some("gateways")),
                (
                    "networks.n1.endpoints[0]",
                    "fromRegistery",
                    Some("fromRegistry")
                ),
                ("networks.n1.gateways[0]", "adress", Some("address")),
            ]
        );
        // What Istio acts on is equal with or without them.
        let clean = MeshNetworks::from_yaml(
            "networks:\n  n1:\n    endpoints: [{}, {fromRegistry: c2}]\n    gateways: [{port: 15443}]\n",
        )
        .unwrap();
        assert_eq!(mn, clean);
    }

    #[test]
    fn both_oneof_members_keep_the_later_declared_one_as_istio_does() {
        let mn = MeshNetworks::from_yaml(
            "networks:\n  n1:\n    endpoints: [{fromRegistry: c1, fromCidr: 10.0.0.0/8}]\n    gateways: [{address: 1.1.1.1, registryServiceName: gw.ns.svc.cluster.local, port: 15443}]\n",
        )
        .unwrap();
        let n1 = &mn.networks["n1"];
        // Declaration order, not text order: from_registry (2) after from_cidr (1), address (2)
        // after registry_service_name (1).
        assert_eq!(n1.endpoints, [NetworkEndpoints::FromRegistry("c1".into())]);
        assert_eq!(
            n1.gateways[0].gw,
            Some(GatewayAddress::Address("1.1.1.1".into()))
        );
        let dropped: Vec<(&str, &str, Option<&str>)> = mn
            .ignored_fields
            .iter()
            .map(|f| (f.path.as_str(), f.field.as_str(), f.overridden_by))
            .collect();
        assert_eq!(
            dropped,
            [
                ("networks.n1.endpoints[0]", "fromCidr", Some("fromRegistry")),
                (
                    "networks.n1.gateways[0]",
                    "registryServiceName",
                    Some("address")
                ),
            ]
        );
        assert!(mn.validate(true).is_ok());
    }

    #[test]
    fn a_leading_zero_port_is_octal_as_istio_reads_yaml_and_said() {
        let mn = MeshNetworks::from_yaml(
            "networks:\n  n1:\n    gateways: [{address: 1.1.1.1, port: 0443}, {address: 2.2.2.2, port: \"0443\"}, {address: 3.3.3.3, port: 15443}]\n",
        )
        .unwrap();
        let ports: Vec<u32> = mn.networks["n1"].gateways.iter().map(|g| g.port).collect();
        // Plain: YAML 1.1 octal; quoted: a protobuf-JSON decimal string.
        assert_eq!(ports, [291, 443, 15443]);
        assert_eq!(mn.octal_ports.len(), 1);
        assert_eq!(mn.octal_ports[0].path, "networks.n1.gateways[0].port");
        assert_eq!(
            (mn.octal_ports[0].written.as_str(), mn.octal_ports[0].value),
            ("0443", 291)
        );
    }

    #[test]
    fn multierror_text() {
        let e = MeshNetworksErrors(vec![MeshNetworksError {
            network: "n".into(),
            kind: NetworkErrorKind::PortOutOfRange(0),
        }]);
        assert_eq!(
            e.to_string(),
            "1 error occurred:\n\t* invalid network n: port number 0 must be in the range 1..65535\n\n"
        );
    }

    #[test]
    fn go_addr_zones() {
        assert!(parse_go_addr("fe80::1%eth0").is_some());
        assert!(parse_go_addr("1.2.3.4%eth0").is_none());
        assert!(parse_go_addr("01.2.3.4").is_none());
        assert!(!parse_go_prefix("10.0.0.0/08"));
    }

    #[test]
    fn accepted_is_the_document_when_valid_else_the_last_known_good_else_none() {
        let good = MeshNetworks::from_yaml(
            "networks:\n  n1:\n    gateways: [{address: 1.1.1.1, port: 15443}]\n",
        )
        .unwrap();
        let other =
            MeshNetworks::from_yaml("networks:\n  n3:\n    endpoints: [{fromRegistry: c3}]\n")
                .unwrap();
        let port0 =
            MeshNetworks::from_yaml("networks:\n  n2:\n    gateways: [{address: 2.2.2.2}]\n")
                .unwrap();
        // Valid: the document itself, whatever was in force before.
        assert!(matches!(good.accepted(true, Some(&other)), Cow::Borrowed(m) if *m == good));
        // Invalid: rejected whole (its valid parts too), the last known good stays in force.
        assert!(matches!(port0.accepted(true, Some(&good)), Cow::Borrowed(m) if *m == good));
        assert_eq!(*port0.accepted(true, None), MeshNetworks::default());
        // A hostname gateway is valid only when istiod resolves hostname gateways (V4).
        let hostname = MeshNetworks::from_yaml(
            "networks:\n  n4:\n    gateways: [{address: gw.example.com, port: 15443}]\n",
        )
        .unwrap();
        assert_eq!(
            hostname.validate(true).is_ok(),
            *hostname.accepted(true, None) == hostname
        );
        assert_eq!(
            hostname.validate(false).is_ok(),
            *hostname.accepted(false, None) == hostname
        );
        assert_ne!(
            hostname.validate(true).is_ok(),
            hostname.validate(false).is_ok()
        );
    }
}
