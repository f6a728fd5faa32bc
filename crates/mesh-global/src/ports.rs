//! What Istio accepts as a ServiceEntry port, so that no entry written here is refused: the name
//! and protocol rules of Istio's validating webhook and of the ServiceEntry CRD.

use mesh_model::ServicePort;

/// The longest port name both of Istio's checks accept: the webhook allows a DNS-1123 label of
/// up to 63 characters (`labels.IsDNS1123Label`, `DNS1123LabelMaxLength = 63`), the CRD's CEL
/// rule on an endpoint's `ports` keys only `size(key) < 63`.
pub const MAX_PORT_NAME_LEN: usize = 62;

/// The protocols Istio knows, as `protocol.Parse` in istio/istio `pkg/config/protocol/instance.go`
/// reads them (case-insensitive). `DoubleHBONE` is left out: `Parse` compares the lowercased input
/// with the mixed-case `"DoubleHBONE"`, so it never matches.
pub const ISTIO_PROTOCOLS: &[&str] = &[
    "TCP",
    "UDP",
    "GRPC",
    "GRPC-WEB",
    "HTTP",
    "HTTP_PROXY",
    "HTTP2",
    "HTTPS",
    "TLS",
    "MONGO",
    "REDIS",
    "MYSQL",
];

/// Why Istio refuses a ServiceEntry port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortRejection {
    /// The name is not a DNS-1123 label of at most [`MAX_PORT_NAME_LEN`] characters. Istio's
    /// webhook refuses it (`ValidatePortName` in istio/istio `pkg/config/validation/validation.go`,
    /// for the entry's ports and its endpoints' `ports` keys), and so does the CRD's CEL rule on
    /// `WorkloadEntry.ports` ("port name must be valid": `size(key) < 63 &&
    /// key.matches('^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$')`, istio/api
    /// `networking/v1alpha3/workload_entry.proto`).
    #[error(
        "port name {name:?} is not a DNS-1123 label (letters, digits and '-', starting and ending with a letter or digit, at most {MAX_PORT_NAME_LEN} characters): Istio's webhook (ValidatePortName) and the ServiceEntry CRD's rule \"port name must be valid\" refuse it"
    )]
    InvalidName {
        /// The name.
        name: String,
    },
    /// The protocol is none of [`ISTIO_PROTOCOLS`]: Istio's webhook refuses it
    /// (`ValidateProtocol`: `protocol.Parse(p) == protocol.Unsupported`).
    #[error(
        "protocol {protocol:?} is not one Istio knows ({}): Istio's webhook (ValidateProtocol) refuses it",
        ISTIO_PROTOCOLS.join(", ")
    )]
    UnsupportedProtocol {
        /// The protocol.
        protocol: String,
    },
}

/// Whether `name` is a port name Istio accepts on a ServiceEntry.
///
/// ```
/// assert!(mesh_global::valid_port_name("http-alt"));
/// assert!(!mesh_global::valid_port_name("http_alt"));
/// assert!(!mesh_global::valid_port_name("-http"));
/// assert!(!mesh_global::valid_port_name(&"a".repeat(63)));
/// ```
pub fn valid_port_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    !bytes.is_empty()
        && bytes.len() <= MAX_PORT_NAME_LEN
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

/// Whether Istio knows `protocol` (case-insensitive, as `protocol.Parse`).
///
/// ```
/// assert!(mesh_global::known_protocol("grpc-web"));
/// assert!(!mesh_global::known_protocol("FOO"));
/// ```
pub fn known_protocol(protocol: &str) -> bool {
    ISTIO_PROTOCOLS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(protocol))
}

/// The name a ServiceEntry gives `port`: its own, or `port-<number>` when it has none.
pub fn entry_port_name(port: &ServicePort) -> String {
    if port.name.is_empty() {
        format!("port-{}", port.port)
    } else {
        port.name.clone()
    }
}

/// The protocol a ServiceEntry gives `port`: the one written (upper-cased), else Istio's
/// selection by port-name prefix (`http-web` → `HTTP`), else `TCP`.
pub fn entry_protocol(port: &ServicePort) -> String {
    if let Some(p) = &port.protocol {
        return p.to_ascii_uppercase();
    }
    let prefix = port
        .name
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match prefix.as_str() {
        "http" | "http2" | "https" | "grpc" | "grpc-web" | "tcp" | "tls" | "mongo" | "redis"
        | "mysql" => prefix.to_ascii_uppercase(),
        _ => "TCP".to_owned(),
    }
}

/// Why Istio would refuse the ServiceEntry port written for `port`, if it would: its name first,
/// then its protocol.
///
/// ```
/// use mesh_global::{PortRejection, port_rejection};
/// let port: mesh_model::ServicePort = serde_json::from_str(r#"{"name": "http_alt", "port": 8080}"#)?;
/// assert!(matches!(port_rejection(&port), Some(PortRejection::InvalidName { .. })));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn port_rejection(port: &ServicePort) -> Option<PortRejection> {
    let name = entry_port_name(port);
    if !valid_port_name(&name) {
        return Some(PortRejection::InvalidName { name });
    }
    let protocol = entry_protocol(port);
    if !known_protocol(&protocol) {
        return Some(PortRejection::UnsupportedProtocol { protocol });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_istios_dns_1123_label_rule_and_the_crds_length() {
        for ok in ["http", "http-alt", "a", "8080", "A-b-9", &"a".repeat(62)] {
            assert!(valid_port_name(ok), "{ok}");
        }
        for bad in [
            "",
            "http_alt",
            "-a",
            "a-",
            "a.b",
            "a b",
            "é",
            &"a".repeat(63),
        ] {
            assert!(!valid_port_name(bad), "{bad}");
        }
    }

    #[test]
    fn protocols_are_istios_list_case_insensitively() {
        for ok in ["HTTP", "http", "Grpc-Web", "HTTP_PROXY", "UDP", "mysql"] {
            assert!(known_protocol(ok), "{ok}");
        }
        for bad in ["FOO", "", "HTTP/2", "DoubleHBONE", "HBONE", "SCTP"] {
            assert!(!known_protocol(bad), "{bad}");
        }
    }
}
