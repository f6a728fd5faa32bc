//! `port-name-invalid`, `port-protocol-unsupported`: service ports Istio refuses in a
//! ServiceEntry, by mesh-global's rules (the same ones `meshspan global` applies before writing
//! an entry).

use mesh_global::{ISTIO_PROTOCOLS, MAX_PORT_NAME_LEN, PortRejection, port_rejection};

use super::reachability::Analysis;
use crate::diagnostic::{Code, Diagnostic, Subject};

impl<'a> Analysis<'a> {
    pub(super) fn port_diagnostics(&self, out: &mut Vec<Diagnostic>) {
        for (si, s) in self.doc.spec.services.iter().enumerate() {
            let key = s.key().to_string();
            for (pi, p) in s.ports.iter().enumerate() {
                let at = format!("spec.services[{si}].ports[{pi}]");
                match port_rejection(p) {
                    None => {}
                    Some(r @ PortRejection::InvalidName { .. }) => {
                        out.push(Diagnostic::new(
                            Code::PortNameInvalid,
                            format!("port {} of service {key} is named {:?}, which Istio refuses", p.port, p.name),
                            vec![Subject::Service(key.clone())],
                            format!(
                                "{at}.name: {r}; Kubernetes also requires a Service port name to be a DNS-1123 label. `meshspan global` writes no ServiceEntry for {key}"
                            ),
                            format!("Rename the port to {:?} (or another DNS-1123 label)", label_like(&p.name)),
                        ));
                    }
                    Some(r @ PortRejection::UnsupportedProtocol { .. }) => {
                        out.push(Diagnostic::new(
                            Code::PortProtocolUnsupported,
                            format!(
                                "port {} of service {key} has protocol {:?}, which Istio does not know",
                                p.port,
                                p.protocol.as_deref().unwrap_or_default()
                            ),
                            vec![Subject::Service(key.clone())],
                            format!(
                                "{at}.protocol: {r}. On a Kubernetes Service istiod treats the port as of unknown protocol (sniffed); `meshspan global` writes no ServiceEntry for {key}"
                            ),
                            format!(
                                "Use one of {}, or leave protocol out (selected by the port name's prefix, e.g. http-…)",
                                ISTIO_PROTOCOLS.join(", ")
                            ),
                        ));
                    }
                    // A rejection mesh-global adds later is still reported, as a port name
                    // problem would be.
                    Some(r) => out.push(Diagnostic::new(
                        Code::PortNameInvalid,
                        format!("port {} of service {key} is refused by Istio", p.port),
                        vec![Subject::Service(key.clone())],
                        format!("{at}: {r}"),
                        "Change the port as the explanation says",
                    )),
                }
            }
        }
    }
}

/// A DNS-1123 label close to `name`: every other character becomes `-`, without dashes at
/// either end, lower case, at most [`MAX_PORT_NAME_LEN`] characters (`http_alt` → `http-alt`).
fn label_like(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(MAX_PORT_NAME_LEN)
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "port".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::label_like;

    #[test]
    fn suggested_names_are_valid() {
        for (name, want) in [
            ("http_alt", "http-alt"),
            ("_x_", "x"),
            ("___", "port"),
            ("Web.UI", "web-ui"),
        ] {
            assert_eq!(label_like(name), want);
            assert!(mesh_global::valid_port_name(&label_like(name)));
        }
    }
}
