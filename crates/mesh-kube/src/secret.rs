//! Secrets: remote secrets (which clusters a control plane watches, and at which API-server
//! address) and the plug-in CA (`cacerts`).
//!
//! Istio's rules:
//! - istiod watches the Secrets of its own namespace labelled `istio/multiCluster: "true"`
//!   (`pkg/kube/multicluster/secretcontroller.go`, `NewController`); each `data` key is a cluster
//!   ID and its value a kubeconfig for that cluster (`istioctl/pkg/multicluster/remote_secret.go`,
//!   `createRemoteServiceAccountSecret`, which also sets the annotation
//!   `networking.istio.io/cluster`).
//! - A key equal to istiod's own cluster ID is ignored, and a cluster ID already registered by
//!   another secret is ignored (`secretcontroller.go`, `Controller.addRemoteConfig`).
//! - The API server is the kubeconfig's current context's cluster `server`
//!   (`remote_secret.go`, `createBaseKubeconfig` writes one cluster and one context).
//!
//! Only the server address and the cluster ID leave this module: tokens, keys and client
//! certificates are never read into a field (serde skips them), and errors about a Secret never
//! quote it.

use std::net::IpAddr;

use mesh_model::{CaCerts, Exposure};
use serde::Deserialize;

use crate::error::ImportError;
use crate::label;
use crate::object::{ObjectRef, Secret};
use crate::report::ImportReport;

/// A cluster a control plane watches, from one remote secret.
#[derive(Debug, Clone)]
pub(crate) struct RemoteCluster {
    /// The cluster ID (the `data` key).
    pub cluster_id: String,
    /// The API server, `host:port`.
    pub server: String,
    /// The Secret it came from.
    pub secret: ObjectRef,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct Kubeconfig {
    clusters: Vec<NamedCluster>,
    contexts: Vec<NamedContext>,
    current_context: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NamedCluster {
    name: String,
    cluster: KubeCluster,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KubeCluster {
    server: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NamedContext {
    name: String,
    context: KubeContext,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KubeContext {
    cluster: String,
}

/// The value of a Secret's key: `stringData`, else `data` decoded from base64.
fn secret_value(
    cluster: &str,
    object: &ObjectRef,
    secret: &Secret,
    key: &str,
) -> Result<Option<String>, ImportError> {
    if let Some(v) = secret.string_data.get(key) {
        return Ok(Some(v.clone()));
    }
    let Some(encoded) = secret.data.get(key) else {
        return Ok(None);
    };
    let bad = || ImportError::field(cluster, object, format!("data.{key}"), "");
    let bytes = base64_decode(encoded).ok_or_else(bad)?;
    String::from_utf8(bytes).map(Some).map_err(|_| bad())
}

/// Standard base64 (RFC 4648 §4, padding optional, whitespace ignored), as Kubernetes writes
/// `data`. `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The remote secrets of the system namespace, in dump order, by Istio's rules.
pub(crate) fn remote_clusters(
    cluster: &str,
    local_id: &str,
    secrets: &[(ObjectRef, Secret)],
    system: &str,
    report: &mut ImportReport,
) -> Result<Vec<RemoteCluster>, ImportError> {
    let mut out: Vec<RemoteCluster> = Vec::new();
    for (object, secret) in secrets {
        let labelled = secret
            .metadata
            .labels
            .get(label::MULTICLUSTER_SECRET)
            .is_some_and(|v| v == "true");
        if !labelled {
            continue;
        }
        if object.namespace != system {
            report.skip(
                cluster,
                object,
                format!("a remote secret outside istiod's namespace {system} is not watched (secretcontroller.go, NewController)"),
            );
            continue;
        }
        let keys: Vec<&String> = secret
            .data
            .keys()
            .chain(secret.string_data.keys())
            .collect();
        if let Some(named) = secret.metadata.annotations.get(label::SECRET_CLUSTER)
            && !keys.contains(&named)
        {
            report.skip(
                cluster,
                object,
                format!("annotated {} {named}, but no key is {named}: istiod reads the keys, not the annotation", label::SECRET_CLUSTER),
            );
        }
        for key in keys {
            if key == local_id {
                report.skip(
                    cluster,
                    object,
                    format!("key {key} is this cluster's own ID: ignored, as istiod does (secretcontroller.go, addRemoteConfig)"),
                );
                continue;
            }
            if let Some(first) = out.iter().find(|r| &r.cluster_id == key) {
                report.skip(
                    cluster,
                    object,
                    format!("cluster {key} is already registered by {}: ignored (secretcontroller.go, addRemoteConfig)", first.secret),
                );
                continue;
            }
            let field = format!("data.{key}");
            let Some(text) = secret_value(cluster, object, secret, key)? else {
                continue;
            };
            let config: Kubeconfig = serde_saphyr::from_str(&text)
                .map_err(|_| ImportError::field(cluster, object, field.clone(), ""))?;
            let context_cluster = config
                .contexts
                .iter()
                .find(|c| c.name == config.current_context)
                .map(|c| c.context.cluster.as_str());
            let server = config
                .clusters
                .iter()
                .find(|c| Some(c.name.as_str()) == context_cluster)
                .or_else(|| config.clusters.first())
                .map(|c| c.cluster.server.as_str())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    ImportError::field(
                        cluster,
                        object,
                        format!("{field}: clusters[].cluster.server"),
                        "",
                    )
                })?;
            out.push(RemoteCluster {
                cluster_id: key.clone(),
                server: host_port(server),
                secret: object.clone(),
            });
        }
    }
    Ok(out)
}

/// `https://host:port/path` → `host:port` (443 for https, 80 for http when no port is given).
pub(crate) fn host_port(server: &str) -> String {
    let (default, rest) = match server.split_once("://") {
        Some(("http", rest)) => (80, rest),
        Some((_, rest)) => (443, rest),
        None => (443, server),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let has_port = if authority.starts_with('[') {
        authority.contains("]:")
    } else {
        authority.contains(':')
    };
    if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{default}")
    }
}

/// How far an API server at `host:port` is exposed, judged from its address, and why. Private and
/// shared ranges (RFC 1918, RFC 6598, loopback, link-local, IPv6 ULA) and cluster-internal names
/// are private; other IPs and DNS names are public.
pub(crate) fn exposure_of(address: &str) -> (Exposure, &'static str) {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            let o = ip.octets();
            if ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
            {
                (Exposure::Private, "a private IPv4 address")
            } else {
                (Exposure::Public, "a public IPv4 address")
            }
        }
        Ok(IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            if ip.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 {
                (Exposure::Private, "a private IPv6 address")
            } else {
                (Exposure::Public, "a public IPv6 address")
            }
        }
        Err(_) => {
            let internal = [".svc", ".local", ".internal", ".cluster.local", "localhost"];
            if internal.iter().any(|s| host.ends_with(s)) {
                (Exposure::Private, "a cluster-internal DNS name")
            } else {
                (Exposure::Public, "a DNS name (taken as public)")
            }
        }
    }
}

/// The plug-in CA's public files from the `cacerts` Secret of the system namespace (`ca-key.pem`
/// is never read).
pub(crate) fn ca_certs(
    cluster: &str,
    secrets: &[(ObjectRef, Secret)],
    system: &str,
) -> Result<Option<(ObjectRef, CaCerts)>, ImportError> {
    let Some((object, secret)) = secrets
        .iter()
        .find(|(r, _)| r.name == "cacerts" && r.namespace == system)
    else {
        return Ok(None);
    };
    let get = |key: &str| secret_value(cluster, object, secret, key);
    match (
        get("root-cert.pem")?,
        get("ca-cert.pem")?,
        get("cert-chain.pem")?,
    ) {
        (Some(root_cert), Some(ca_cert), Some(cert_chain)) => Ok(Some((
            object.clone(),
            CaCerts {
                root_cert,
                ca_cert,
                cert_chain,
            },
        ))),
        _ => Err(ImportError::Field {
            cluster: cluster.to_owned(),
            object: Box::new(object.clone()),
            field: "data".into(),
            message: "needs root-cert.pem, ca-cert.pem and cert-chain.pem".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_addresses() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("a*"), None);
        assert_eq!(host_port("https://10.0.0.1"), "10.0.0.1:443");
        assert_eq!(
            host_port("https://[2001:db8::1]:6443/x"),
            "[2001:db8::1]:6443"
        );
        assert_eq!(exposure_of("10.1.2.3:6443").0, Exposure::Private);
        assert_eq!(exposure_of("100.64.0.1:6443").0, Exposure::Private);
        assert_eq!(exposure_of("203.0.113.10:6443").0, Exposure::Public);
        assert_eq!(exposure_of("[fd00::1]:443").0, Exposure::Private);
        assert_eq!(exposure_of("api.internal:443").0, Exposure::Private);
    }
}
