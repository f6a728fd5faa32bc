//! Validated identifiers: every name the mesh uses, as a newtype that can only hold a valid value.
//!
//! Each type parses with [`str::parse`] (or `TryFrom<String>`), renders with `Display`, and
//! (de)serializes as its string form, so a bad name in a document is rejected where it is read.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier. Carries the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value is empty where a name is required.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which identifier was being parsed (`cluster id`, `namespace`, ...).
        kind: &'static str,
    },
    /// The value is longer than the identifier allows.
    #[error("{kind} {value:?} is too long ({len} > {max} characters)")]
    TooLong {
        /// Which identifier was being parsed.
        kind: &'static str,
        /// The offending value.
        value: String,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The value breaks the identifier's syntax.
    #[error("{kind} {value:?} is invalid: {rule}")]
    Invalid {
        /// Which identifier was being parsed.
        kind: &'static str,
        /// The offending value.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
}

fn check_len(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > max {
        return Err(IdError::TooLong {
            kind,
            value: value.to_owned(),
            len: value.len(),
            max,
        });
    }
    Ok(())
}

fn invalid(kind: &'static str, value: &str, rule: &'static str) -> IdError {
    IdError::Invalid {
        kind,
        value: value.to_owned(),
        rule,
    }
}

/// A DNS-1123 label as Istio checks registry names (rule V3): 1–63 ASCII letters (either case),
/// digits and `-`, starting and ending with a letter or digit.
pub(crate) fn is_istio_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// A Kubernetes DNS-1123 label: lower-case letters, digits and `-`, alphanumeric at both ends.
fn check_k8s_label(kind: &'static str, s: &str) -> Result<(), IdError> {
    check_len(kind, s, 63)?;
    let b = s.as_bytes();
    if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    {
        return Err(invalid(
            kind,
            s,
            "only lower-case letters, digits and '-' are allowed (DNS-1123 label)",
        ));
    }
    if !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return Err(invalid(
            kind,
            s,
            "must start and end with a letter or digit (DNS-1123 label)",
        ));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        // Shared, immutable text: ids are cloned into every endpoint and assignment that names
        // them, and a clone is a reference count, not an allocation.
        pub struct $name(std::sync::Arc<str>);

        impl PartialEq for $name {
            /// Equal text; clones of one id compare by pointer without reading the text.
            fn eq(&self, other: &Self) -> bool {
                std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl $name {
            /// Parses and validates `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), IdError> = $check;
                check(&value)?;
                Ok(Self(value.into()))
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.as_ref().to_owned()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A cluster id: the name of a Kubernetes cluster (a service registry) as Istio knows it, and what
    /// MeshNetworks `fromRegistry` names. Istio's registry-name rule (V3): a DNS-1123 label in which
    /// upper-case letters are allowed (`Kubernetes` is valid, `cluster_1` is not).
    ///
    /// ```
    /// use mesh_model::ClusterId;
    /// assert!("cluster-1".parse::<ClusterId>().is_ok());
    /// assert!("cluster_1".parse::<ClusterId>().is_err());
    /// ```
    ClusterId,
    "cluster id",
    |s| {
        check_len("cluster id", s, 63)?;
        if is_istio_dns1123_label(s) {
            Ok(())
        } else {
            Err(invalid(
                "cluster id",
                s,
                "only letters, digits and '-' are allowed, starting and ending with a letter or digit",
            ))
        }
    }
);

string_id!(
    /// A network id: the value of the `topology.istio.io/network` label, so a Kubernetes label value:
    /// 1–63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit.
    ///
    /// ```
    /// use mesh_model::NetworkId;
    /// assert!("network-1".parse::<NetworkId>().is_ok());
    /// assert!("net work".parse::<NetworkId>().is_err());
    /// ```
    NetworkId,
    "network id",
    |s| {
        check_len("network id", s, 63)?;
        let b = s.as_bytes();
        let ok = b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric();
        if ok {
            Ok(())
        } else {
            Err(invalid(
                "network id",
                s,
                "a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
            ))
        }
    }
);

string_id!(
    /// A Kubernetes namespace: a DNS-1123 label (lower case).
    ///
    /// ```
    /// use mesh_model::Namespace;
    /// assert!("istio-system".parse::<Namespace>().is_ok());
    /// assert!("Istio".parse::<Namespace>().is_err());
    /// ```
    Namespace,
    "namespace",
    |s| check_k8s_label("namespace", s)
);

string_id!(
    /// A Kubernetes Service name: a DNS-1035 label (lower case, starts with a letter).
    ///
    /// ```
    /// use mesh_model::ServiceName;
    /// assert!("reviews".parse::<ServiceName>().is_ok());
    /// assert!("1reviews".parse::<ServiceName>().is_err());
    /// ```
    ServiceName,
    "service name",
    |s| {
        check_k8s_label("service name", s)?;
        if s.as_bytes()[0].is_ascii_lowercase() {
            Ok(())
        } else {
            Err(invalid(
                "service name",
                s,
                "must start with a letter (DNS-1035 label)",
            ))
        }
    }
);

/// The SPIFFE trust-domain rule: lower-case letters, digits, `.`, `-` and `_`, at most 255 bytes.
fn check_trust_domain(s: &str) -> Result<(), IdError> {
    check_len("trust domain", s, 255)?;
    if s.bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_'))
    {
        Ok(())
    } else {
        Err(invalid(
            "trust domain",
            s,
            "only lower-case letters, digits, '.', '-' and '_' are allowed (SPIFFE)",
        ))
    }
}

string_id!(
    /// A SPIFFE trust domain (`cluster.local`), per the SPIFFE ID specification.
    ///
    /// ```
    /// use mesh_model::TrustDomain;
    /// assert!("cluster.local".parse::<TrustDomain>().is_ok());
    /// assert!("Cluster.Local".parse::<TrustDomain>().is_err());
    /// ```
    TrustDomain,
    "trust domain",
    check_trust_domain
);

/// A service's identity across the mesh: `foo` in namespace `ns1` is `foo.ns1` in every cluster.
///
/// Parses from `foo.ns1`, `foo.ns1.svc.<suffix>` and `foo.ns1.global`; renders to each form.
///
/// ```
/// use mesh_model::ServiceKey;
/// let key: ServiceKey = "foo.ns1.svc.cluster.local".parse()?;
/// assert_eq!(key.to_string(), "foo.ns1");
/// assert_eq!(key.global_host(), "foo.ns1.global");
/// assert_eq!(key.cluster_host("cluster.local"), "foo.ns1.svc.cluster.local");
/// # Ok::<(), mesh_model::ServiceKeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceKey {
    /// The service name.
    pub name: ServiceName,
    /// The namespace.
    pub namespace: Namespace,
}

/// Why a string is not a service key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceKeyError {
    /// Not of the form `name.namespace[.svc.<suffix> | .global]`.
    #[error(
        "service {value:?} is not of the form <name>.<namespace>, <name>.<namespace>.svc.<suffix> or <name>.<namespace>.global"
    )]
    Shape {
        /// The offending value.
        value: String,
    },
    /// The name or namespace part is invalid.
    #[error("service {value:?}: {source}")]
    Part {
        /// The offending value.
        value: String,
        /// What is wrong with the part.
        source: IdError,
    },
}

impl ServiceKey {
    /// A key from its parts.
    pub fn new(name: ServiceName, namespace: Namespace) -> Self {
        Self { name, namespace }
    }

    /// `<name>.<namespace>.global`: the name remote clusters use in the replicated-control-plane design.
    pub fn global_host(&self) -> String {
        format!("{}.{}.global", self.name, self.namespace)
    }

    /// `<name>.<namespace>.svc.<domain_suffix>`: the in-cluster FQDN.
    pub fn cluster_host(&self, domain_suffix: &str) -> String {
        format!("{}.{}.svc.{}", self.name, self.namespace, domain_suffix)
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.name, self.namespace)
    }
}

impl FromStr for ServiceKey {
    type Err = ServiceKeyError;
    fn from_str(s: &str) -> Result<Self, ServiceKeyError> {
        let shape = || ServiceKeyError::Shape {
            value: s.to_owned(),
        };
        let mut parts = s.splitn(3, '.');
        let name = parts.next().ok_or_else(shape)?;
        let namespace = parts.next().ok_or_else(shape)?;
        match parts.next() {
            None | Some("global") => {}
            Some(rest) => {
                let suffix = rest.strip_prefix("svc.").ok_or_else(shape)?;
                let suffix = suffix.strip_suffix('.').unwrap_or(suffix);
                if suffix.is_empty() || !suffix.split('.').all(is_istio_dns1123_label) {
                    return Err(shape());
                }
            }
        }
        let part = |source| ServiceKeyError::Part {
            value: s.to_owned(),
            source,
        };
        Ok(Self {
            name: name.parse().map_err(part)?,
            namespace: namespace.parse().map_err(part)?,
        })
    }
}

impl TryFrom<String> for ServiceKey {
    type Error = ServiceKeyError;
    fn try_from(s: String) -> Result<Self, ServiceKeyError> {
        s.parse()
    }
}

impl From<ServiceKey> for String {
    fn from(k: ServiceKey) -> String {
        k.to_string()
    }
}

/// A locality: `region/zone/subzone`, any part may be empty (`us-east1/us-east1-b`, `r1`, ``).
///
/// Each part is a Kubernetes label value (letters, digits, `-`, `_`, `.`), as the
/// `topology.kubernetes.io/region` and `zone` labels it comes from.
///
/// ```
/// use mesh_model::Locality;
/// let l: Locality = "us-east1/us-east1-b".parse()?;
/// assert_eq!((l.region(), l.zone(), l.subzone()), ("us-east1", "us-east1-b", ""));
/// assert!("a/b/c/d".parse::<Locality>().is_err());
/// # Ok::<(), mesh_model::IdError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locality(String);

impl Locality {
    /// Parses and validates a locality label.
    pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.split('/').count() > 3 {
            return Err(invalid(
                "locality",
                &value,
                "at most three parts: region/zone/subzone",
            ));
        }
        for part in value.split('/') {
            if part.len() > 63 {
                return Err(invalid(
                    "locality",
                    &value,
                    "each part is at most 63 characters",
                ));
            }
            if !part
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            {
                return Err(invalid(
                    "locality",
                    &value,
                    "parts hold only letters, digits, '-', '_' and '.'",
                ));
            }
        }
        Ok(Self(value))
    }

    /// The label as written (`region/zone/subzone`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn part(&self, i: usize) -> &str {
        self.0.split('/').nth(i).unwrap_or("")
    }

    /// The region ("" when unset).
    pub fn region(&self) -> &str {
        self.part(0)
    }

    /// The zone ("" when unset).
    pub fn zone(&self) -> &str {
        self.part(1)
    }

    /// The subzone ("" when unset).
    pub fn subzone(&self) -> &str {
        self.part(2)
    }
}

impl fmt::Display for Locality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Locality {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl TryFrom<String> for Locality {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl From<Locality> for String {
    fn from(l: Locality) -> String {
        l.0
    }
}

/// A SPIFFE ID, `spiffe://<trust-domain>/<path>`, checked against the SPIFFE ID specification:
/// lower-case scheme and trust domain, path segments of letters, digits, `.`, `-` and `_`, no empty,
/// `.` or `..` segments, no query or fragment, at most 2048 bytes.
///
/// Istio workload identities have the path `/ns/<namespace>/sa/<service account>`.
///
/// ```
/// use mesh_model::SpiffeId;
/// let id: SpiffeId = "spiffe://cluster.local/ns/ns1/sa/foo".parse()?;
/// assert_eq!(id.trust_domain().as_str(), "cluster.local");
/// assert_eq!(id.workload(), Some(("ns1", "foo")));
/// assert!("spiffe://cluster.local/ns//sa/foo".parse::<SpiffeId>().is_err());
/// # Ok::<(), mesh_model::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpiffeId {
    trust_domain: TrustDomain,
    path: String,
}

impl SpiffeId {
    /// Parses and validates a SPIFFE ID.
    pub fn new(value: &str) -> Result<Self, IdError> {
        const KIND: &str = "SPIFFE ID";
        check_len(KIND, value, 2048)?;
        let rest = value
            .strip_prefix("spiffe://")
            .ok_or_else(|| invalid(KIND, value, "must start with \"spiffe://\""))?;
        let (td, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let trust_domain = TrustDomain::new(td).map_err(|_| {
            invalid(
                KIND,
                value,
                "the trust domain holds only lower-case letters, digits, '.', '-' and '_'",
            )
        })?;
        if !path.is_empty() {
            for seg in path[1..].split('/') {
                if seg.is_empty() {
                    return Err(invalid(KIND, value, "empty path segment (or trailing '/')"));
                }
                if seg == "." || seg == ".." {
                    return Err(invalid(
                        KIND,
                        value,
                        "'.' and '..' path segments are not allowed",
                    ));
                }
                if !seg
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
                {
                    return Err(invalid(
                        KIND,
                        value,
                        "path segments hold only letters, digits, '.', '-' and '_'",
                    ));
                }
            }
        }
        Ok(Self {
            trust_domain,
            path: path.to_owned(),
        })
    }

    /// The Istio workload identity `spiffe://<td>/ns/<namespace>/sa/<service_account>`.
    pub fn for_workload(
        trust_domain: &TrustDomain,
        namespace: &Namespace,
        service_account: &str,
    ) -> Result<Self, IdError> {
        Self::new(&format!(
            "spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"
        ))
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The path (`/ns/ns1/sa/foo`), empty for the trust domain's own ID.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `(namespace, service account)` when the path is Istio's `/ns/<ns>/sa/<sa>`.
    pub fn workload(&self) -> Option<(&str, &str)> {
        let mut it = self.path.strip_prefix('/')?.split('/');
        match (it.next(), it.next(), it.next(), it.next(), it.next()) {
            (Some("ns"), Some(ns), Some("sa"), Some(sa), None) => Some((ns, sa)),
            _ => None,
        }
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}{}", self.trust_domain, self.path)
    }
}

impl FromStr for SpiffeId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl TryFrom<String> for SpiffeId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::new(&s)
    }
}

impl From<SpiffeId> for String {
    fn from(id: SpiffeId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_follows_istio_registry_rule() {
        for ok in ["Kubernetes", "cluster-1", "a", &"a".repeat(63)] {
            assert!(ClusterId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "cluster_1",
            "cluster.local",
            "-a",
            "a-",
            &"a".repeat(64),
        ] {
            assert!(ClusterId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespace_and_service_name() {
        assert!(Namespace::new("1ns").is_ok());
        assert!(ServiceName::new("1svc").is_err());
        assert_eq!(
            Namespace::new("Ns"),
            Err(IdError::Invalid {
                kind: "namespace",
                value: "Ns".into(),
                rule: "only lower-case letters, digits and '-' are allowed (DNS-1123 label)",
            })
        );
    }

    #[test]
    fn service_key_forms() {
        let k: ServiceKey = "foo.ns1".parse().unwrap();
        assert_eq!(k, "foo.ns1.global".parse().unwrap());
        assert_eq!(k, "foo.ns1.svc.cluster.local".parse().unwrap());
        assert_eq!(k, "foo.ns1.svc.cluster.local.".parse().unwrap());
        for bad in [
            "foo",
            "foo.ns1.svc",
            "foo.ns1.svc.",
            "foo.ns1.other",
            "Foo.ns1",
            "foo..x",
        ] {
            assert!(bad.parse::<ServiceKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn spiffe_rules() {
        for ok in ["spiffe://td", "spiffe://td/a", "spiffe://a.b-c_d/ns/x/sa/y"] {
            assert!(SpiffeId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "SPIFFE://td/a",
            "spiffe://",
            "spiffe://TD/a",
            "spiffe://td/",
            "spiffe://td//a",
            "spiffe://td/./a",
            "spiffe://td/../a",
            "spiffe://td/a?b",
            "spiffe://td:8080/a",
            "http://td/a",
        ] {
            assert!(SpiffeId::new(bad).is_err(), "{bad}");
        }
        let id = SpiffeId::new("spiffe://td/ns/a/sa/b/c").unwrap();
        assert_eq!(id.workload(), None);
    }

    #[test]
    fn locality_parts() {
        let l = Locality::new("r").unwrap();
        assert_eq!((l.region(), l.zone(), l.subzone()), ("r", "", ""));
        assert!(Locality::new("").is_ok());
        assert!(Locality::new("r//s").is_ok());
        assert!(Locality::new("r z").is_err());
    }
}
