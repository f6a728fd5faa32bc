//! The DNS configuration the design uses: a CoreDNS server for the `global` zone, and the stub
//! domain that sends `*.global` queries to it, as text to apply.

use std::fmt::Write;
use std::net::IpAddr;

use crate::vip::Allocations;

/// A CoreDNS server block answering the `global` zone from the allocations (CoreDNS `hosts`
/// plugin): add it to the cluster's Corefile (CoreDNS clusters) or run it as the `global` server
/// the stub domain points at. Names without an entry fall through to NXDOMAIN.
///
/// ```
/// use mesh_global::{Allocations, coredns_global_zone};
/// let vips = Allocations([("foo.ns1".parse()?, "240.0.0.2".parse()?)].into());
/// assert!(coredns_global_zone(&vips).contains("240.0.0.2 foo.ns1.global"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn coredns_global_zone(allocations: &Allocations) -> String {
    let mut out = String::from("global:53 {\n    errors\n    cache 30\n    hosts {\n");
    for (key, ip) in &allocations.0 {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "        {ip} {}", key.global_host());
    }
    out.push_str("    }\n}\n");
    out
}

/// The kube-dns ConfigMap whose stub domain sends `*.global` to `server` (the ClusterIP of the
/// DNS server that serves the `global` zone).
pub fn kube_dns_stub_domain(server: IpAddr) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-dns\n  namespace: kube-system\ndata:\n  stubDomains: |\n    {{\"global\": [\"{server}\"]}}\n"
    )
}

/// The CoreDNS server block that forwards `*.global` to `server` (CoreDNS clusters whose own
/// Corefile should not carry the zone).
pub fn coredns_forward_global(server: IpAddr) -> String {
    format!("global:53 {{\n    errors\n    cache 30\n    forward . {server}\n}}\n")
}

/// A ConfigMap (`istio-system/global-dns`, key `Corefile`) holding [`coredns_global_zone`], for a
/// CoreDNS deployment dedicated to the `global` zone (the role `istiocoredns` played).
pub fn global_dns_configmap(allocations: &Allocations) -> String {
    let mut out = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: global-dns\n  namespace: istio-system\n  labels:\n    app.kubernetes.io/managed-by: meshspan\ndata:\n  Corefile: |\n",
    );
    for line in coredns_global_zone(allocations).lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_embeds_the_zone_and_parses_as_yaml() {
        let vips = Allocations([("foo.ns1".parse().unwrap(), "240.0.0.2".parse().unwrap())].into());
        let cm = global_dns_configmap(&vips);
        let v: serde_json::Value = serde_saphyr::from_str(&cm).unwrap();
        assert_eq!(v["data"]["Corefile"], coredns_global_zone(&vips));
        let stub: serde_json::Value =
            serde_saphyr::from_str(&kube_dns_stub_domain("10.96.0.10".parse().unwrap())).unwrap();
        assert_eq!(
            stub["data"]["stubDomains"],
            "{\"global\": [\"10.96.0.10\"]}\n"
        );
        assert!(coredns_forward_global("10.0.0.1".parse().unwrap()).contains("forward . 10.0.0.1"));
    }
}
