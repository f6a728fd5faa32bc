//! Diagnostics: a stable code, a severity, what is involved, why, and what to change.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// The mesh does not work as written.
    Error,
    /// The mesh works, but not the way it was probably meant to.
    Warning,
    /// Worth knowing.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        })
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $severity:ident; )*) => {
        /// A stable diagnostic code. The text form (`cidr-overlap`) is the public contract: tools
        /// match on it, and it never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* #[serde(rename = $text)] $variant, )*
        }

        impl Code {
            /// Every code, in the order of their text forms.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The text form, e.g. `cidr-overlap`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            /// The severity every diagnostic with this code has.
            pub fn severity(self) -> Severity {
                match self { $(Self::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    /// `fromCidr` ranges of two networks overlap: which network an address is on depends on
    /// the broadest range (rule N3), probably not what was meant.
    AmbiguousNetworkCidr = "ambiguous-network-cidr", Warning;
    /// A control plane cannot reach an API server it needs.
    ApiServerUnreachable = "api-server-unreachable", Error;
    /// Two CIDRs that share a flat address space overlap.
    CidrOverlap = "cidr-overlap", Error;
    /// A service is cluster-local under some control planes' `meshConfig.serviceSettings` and
    /// global under others' (S4, S5).
    ClusterLocalMismatch = "cluster-local-mismatch", Warning;
    /// Multi-primary: a primary that no other control plane watches (no remote secret names its
    /// cluster ID), while others watch each other.
    ClusterNotWatched = "cluster-not-watched", Warning;
    /// Clusters name each other as control plane in a cycle (a → b → a), so none is a primary.
    ControlPlaneCycle = "control-plane-cycle", Error;
    /// A remote names, as its control plane, a cluster that is itself a remote.
    ControlPlaneNotPrimary = "control-plane-not-primary", Error;
    /// A remote cluster's workloads cannot reach their control plane.
    ControlPlaneUnreachable = "control-plane-unreachable", Error;
    /// A link joins fewer than two distinct networks.
    DegenerateLink = "degenerate-link", Warning;
    /// A DestinationRule's host is no service of the mesh.
    DestinationRuleUnknownHost = "destination-rule-unknown-host", Warning;
    /// Two clusters share a name.
    DuplicateCluster = "duplicate-cluster", Error;
    /// Two endpoints of one service have the same cluster, addresses and port.
    DuplicateEndpoint = "duplicate-endpoint", Warning;
    /// Two ports of one service share a name.
    DuplicatePortName = "duplicate-port-name", Error;
    /// Two services share `name.namespace`.
    DuplicateService = "duplicate-service", Error;
    /// An endpoint address outside its cluster's `podCidrs`, or inside another cluster's.
    EndpointOutsidePodCidrs = "endpoint-outside-pod-cidrs", Warning;
    /// Locality failover set without outlier detection in the same traffic policy (Istio warns;
    /// the failover does nothing, L8).
    FailoverWithoutOutlierDetection = "failover-without-outlier-detection", Warning;
    /// A network's gateway has no `AUTO_PASSTHROUGH` Gateway server on its port in the clusters
    /// of that network, whose dumps had Gateways read (`clusters[].autoPassthrough`).
    GatewayNoAutoPassthrough = "gateway-no-auto-passthrough", Warning;
    /// One gateway address is declared for several networks (Istio leaves this unchecked, V7).
    GatewaySharedByNetworks = "gateway-shared-by-networks", Warning;
    /// A hostname gateway with no DNS answer, or a `registryServiceName` with no external address.
    GatewayUnresolved = "gateway-unresolved", Warning;
    /// The `.global` virtual-IP range of replicated control planes overlaps a pod or service
    /// CIDR, or has fewer addresses than the mesh has services.
    GlobalVipOverlap = "global-vip-overlap", Error;
    /// Istio's own validation rejects the MeshNetworks section (V1–V6).
    InvalidMeshnetworks = "invalid-meshnetworks", Error;
    /// With MCS service discovery, a service is exported from a cluster whose network some
    /// clients reach neither by IP nor through a gateway (S15).
    McsExportUnreachable = "mcs-export-unreachable", Warning;
    /// `meshNetworks` has something Istio reads differently from what it appears to say: both
    /// members of a oneof (`address` and `registryServiceName`; Istio keeps the later), or a
    /// port such as `0443`, which Istio's YAML reads as octal 291.
    MeshnetworksReadAsIstio = "meshnetworks-read-as-istio", Warning;
    /// `meshNetworks` has a field Istio ignores (most likely a typo: `gateway:`, `adress:`).
    MeshnetworksUnknownField = "meshnetworks-unknown-field", Warning;
    /// A consistency problem `mesh-model` reports that this crate has no more specific code for.
    ModelError = "model-error", Error;
    /// MeshNetworks lists networks, but not the one a cluster or endpoint is on (Istio accepts it,
    /// with no gateway for that network).
    NetworkNotInMeshnetworks = "network-not-in-meshnetworks", Warning;
    /// A network whose endpoints are consumed from other, unlinked networks has no gateway.
    NetworkWithoutGateway = "network-without-gateway", Warning;
    /// Two `podCidrs` of one cluster overlap.
    PodCidrsOverlap = "pod-cidrs-overlap", Warning;
    /// A port name Istio refuses in a ServiceEntry (not a DNS-1123 label, e.g. `http_alt`).
    PortNameInvalid = "port-name-invalid", Error;
    /// A port protocol Istio does not know (`FOO`): refused in a ServiceEntry.
    PortProtocolUnsupported = "port-protocol-unsupported", Warning;
    /// A cluster's proxies send a `CLUSTER_ID` that no registry or remote secret is named
    /// (`proxyClusterId`): scope rules treat them as foreign to their own cluster (S36).
    ProxyClusterIdUnregistered = "proxy-cluster-id-unregistered", Warning;
    /// A registry is `fromRegistry` of several networks.
    RegistryInSeveralNetworks = "registry-in-several-networks", Warning;
    /// An endpoint without a sidecar sits in a network its clients reach only through gateways.
    RemoteEndpointWithoutSidecar = "remote-endpoint-without-sidecar", Warning;
    /// A service is missing from a cluster of a single-control-plane mesh, so clients there
    /// cannot resolve its name.
    ServiceNotReplicated = "service-not-replicated", Info;
    /// Clusters' CA material does not chain to one root.
    TrustRootMismatch = "trust-root-mismatch", Error;
    /// Replicated control planes carry no CA material: a common root cannot be verified.
    TrustUnverified = "trust-unverified", Info;
    /// A reference names no cluster.
    UnknownCluster = "unknown-cluster", Error;
    /// A link or `reachableFrom` names a network that nothing defines or uses.
    UnknownNetwork = "unknown-network", Error;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a diagnostic is about. Serialized as `{"cluster": "cluster1"}`, `{"cidr":
/// "10.0.0.0/16"}`, ... Names are kept as written (a reference may name no valid id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Subject {
    /// A cluster (registry).
    Cluster(String),
    /// A network; `""` is the implicit network of clusters that name none.
    Network(String),
    /// A gateway: `address:port`, or the hostname / service name that did not resolve.
    Gateway(String),
    /// A service, `name.namespace`.
    Service(String),
    /// An address range.
    Cidr(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cluster(c) => write!(f, "cluster {c}"),
            Self::Network(n) if n.is_empty() => f.write_str("the default network"),
            Self::Network(n) => write!(f, "network {n}"),
            Self::Gateway(g) => write!(f, "gateway {g}"),
            Self::Service(s) => write!(f, "service {s}"),
            Self::Cidr(c) => write!(f, "CIDR {c}"),
        }
    }
}

/// One finding: what (code, severity, message), about what (subjects), why (explanation) and what
/// to change (fix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Its severity (always `code.severity()`).
    pub severity: Severity,
    /// One line: what is wrong.
    pub message: String,
    /// What is involved, sorted.
    pub subjects: Vec<Subject>,
    /// Why: the overlapping range, the path tried and where it broke.
    pub explanation: String,
    /// What to change.
    pub fix: String,
}

impl Diagnostic {
    /// A diagnostic with `code`'s severity; subjects are sorted and deduplicated.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        mut subjects: Vec<Subject>,
        explanation: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        subjects.sort();
        subjects.dedup();
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            subjects,
            explanation: explanation.into(),
            fix: fix.into(),
        }
    }

    /// The deterministic order of a report: by code, then subjects, then message.
    pub fn sort_key(&self) -> (&'static str, &[Subject], &str) {
        (self.code.as_str(), &self.subjects, &self.message)
    }
}

/// Sorts diagnostics by code, then subjects, then message, and drops exact duplicates.
pub(crate) fn sort_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.explanation.cmp(&b.explanation))
    });
    diagnostics.dedup();
}

impl fmt::Display for Diagnostic {
    /// Readable text: `error[cidr-overlap]: message`, then the subjects, why and fix, indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}[{}]: {}", self.severity, self.code, self.message)?;
        if !self.subjects.is_empty() {
            let s: Vec<String> = self.subjects.iter().map(ToString::to_string).collect();
            writeln!(f, "  subjects: {}", s.join(", "))?;
        }
        writeln!(f, "  why: {}", self.explanation)?;
        write!(f, "  fix: {}", self.fix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_round_trip_through_serde() {
        let texts: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = texts.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(texts, sorted);
        for c in Code::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), *c);
        }
    }

    #[test]
    fn json_shape_of_a_diagnostic() {
        let d = Diagnostic::new(
            Code::CidrOverlap,
            "m",
            vec![
                Subject::Cidr("10.0.0.0/8".into()),
                Subject::Cluster("b".into()),
            ],
            "e",
            "f",
        );
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"code":"cidr-overlap","severity":"error","message":"m","subjects":[{"cluster":"b"},{"cidr":"10.0.0.0/8"}],"explanation":"e","fix":"f"}"#
        );
        assert_eq!(
            d.to_string(),
            "error[cidr-overlap]: m\n  subjects: cluster b, CIDR 10.0.0.0/8\n  why: e\n  fix: f"
        );
    }

    #[test]
    fn sorted_by_code_then_subjects() {
        let d =
            |code, s: &str| Diagnostic::new(code, "m", vec![Subject::Cluster(s.into())], "", "");
        let mut v = vec![
            d(Code::UnknownCluster, "a"),
            d(Code::CidrOverlap, "b"),
            d(Code::CidrOverlap, "a"),
            d(Code::CidrOverlap, "a"),
        ];
        sort_diagnostics(&mut v);
        assert_eq!(
            v,
            [
                d(Code::CidrOverlap, "a"),
                d(Code::CidrOverlap, "b"),
                d(Code::UnknownCluster, "a")
            ]
        );
    }
}
