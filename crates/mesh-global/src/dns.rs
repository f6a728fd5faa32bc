//! The DNS configuration the design uses for `*.global`, as text that is safe to apply as it is:
//! the `global:53` server block to add to a cluster's CoreDNS Corefile, answering the names of
//! the cluster's ServiceEntries (never its own services); a ConfigMap for a dedicated CoreDNS
//! server of the `global` zone (the role Istio 1.1–1.7's `istiocoredns` played); and, only on
//! request, complete `kube-system/coredns` or `kube-system/kube-dns` ConfigMaps, each headed by a
//! comment saying what it replaces.
//!
//! Istio's multicluster guides of 1.1–1.7 (`setup/install/multicluster/gateways`, "Setup DNS")
//! applied a whole `coredns` ConfigMap (their own `.:53` block plus `global:53 { errors; cache 30;
//! forward . <istiocoredns ClusterIP>:53 }`), or a `kube-dns` ConfigMap holding only
//! `stubDomains: {"global": [...]}`: either silently replaces the cluster's own configuration.

use std::fmt::Write;
use std::net::IpAddr;

use crate::entries::ClusterPlan;

/// A CoreDNS server block answering the `global` zone with the virtual IP of each ServiceEntry
/// of `plan` (CoreDNS `hosts` plugin): the client cluster's own services have no entry, so they
/// are not in the zone. Names without an entry fall through to NXDOMAIN.
///
/// ```
/// use mesh_global::{Allocations, ApiVersion, Selector, allocate_for_mesh, coredns_global_zone, plan_for_cluster};
/// let doc = mesh_model::MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED)?;
/// let vips = allocate_for_mesh(&doc.spec, &Allocations::default())?;
/// let east = plan_for_cluster(&doc.spec, &"east".parse()?, &Selector::default(), &vips, ApiVersion::V1)?;
/// let zone = coredns_global_zone(&east);
/// assert!(zone.starts_with("global:53 {") && zone.contains(" httpbin.bar.global\n"));
/// assert!(!zone.contains("sleep.foo.global")); // east's own service
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn coredns_global_zone(plan: &ClusterPlan) -> String {
    let mut out = String::from("global:53 {\n    errors\n    cache 30\n    hosts {\n");
    for e in &plan.service_entries {
        for (host, ip) in e.spec.hosts.iter().zip(&e.spec.addresses) {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "        {ip} {host}");
        }
    }
    out.push_str("    }\n}\n");
    out
}

/// The CoreDNS server block that forwards `*.global` to `server` (the ClusterIP of a DNS server
/// of the `global` zone), for a Corefile that should not carry the zone itself.
pub fn coredns_forward_global(server: IpAddr) -> String {
    format!("global:53 {{\n    errors\n    cache 30\n    forward . {server}\n}}\n")
}

/// A new ConfigMap (`istio-system/global-dns`, key `Corefile`) holding [`coredns_global_zone`],
/// for a CoreDNS deployment dedicated to the `global` zone. It replaces nothing of the
/// cluster's (no Kubernetes or Istio component uses that name).
pub fn global_dns_configmap(plan: &ClusterPlan) -> String {
    let mut out = String::from(
        "# New: the Corefile of a CoreDNS server dedicated to the global zone (replaces nothing).\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: global-dns\n  namespace: istio-system\n  labels:\n    app.kubernetes.io/managed-by: meshspan\ndata:\n  Corefile: |\n",
    );
    indent(&mut out, &coredns_global_zone(plan), 4);
    out
}

/// The Corefile server block Kubernetes (kubeadm) installs for `domain_suffix`, which
/// [`coredns_configmap`] writes before the `global` block.
pub fn kubernetes_default_server_block(domain_suffix: &str) -> String {
    format!(
        ".:53 {{\n    errors\n    health {{\n       lameduck 5s\n    }}\n    ready\n    kubernetes {domain_suffix} in-addr.arpa ip6.arpa {{\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }}\n    prometheus :9153\n    forward . /etc/resolv.conf {{\n       max_concurrent 1000\n    }}\n    cache 30\n    loop\n    reload\n    loadbalance\n}}\n"
    )
}

/// A complete `kube-system/coredns` ConfigMap: Kubernetes' default server block
/// ([`kubernetes_default_server_block`]) and `global_block` (e.g. [`coredns_global_zone`]).
/// It REPLACES the cluster's Corefile, and its first lines say so.
pub fn coredns_configmap(domain_suffix: &str, global_block: &str) -> String {
    let mut out = String::from(
        "# REPLACES ConfigMap kube-system/coredns: its whole Corefile becomes Kubernetes' default server\n# block plus the global zone below. Anything you added to it (stub domains, rewrites, hosts) is\n# lost: compare first (kubectl -n kube-system get configmap coredns -o yaml), or add only the\n# global:53 block to your Corefile instead (meshspan global --dns, the default format).\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: coredns\n  namespace: kube-system\ndata:\n  Corefile: |\n",
    );
    indent(&mut out, &kubernetes_default_server_block(domain_suffix), 4);
    indent(&mut out, global_block, 4);
    out
}

/// A complete `kube-system/kube-dns` ConfigMap whose stub domain sends `*.global` to `server`.
/// It REPLACES the cluster's kube-dns configuration (its `stubDomains` and
/// `upstreamNameservers`), and its first lines say so.
pub fn kube_dns_stub_domain(server: IpAddr) -> String {
    format!(
        "# REPLACES ConfigMap kube-system/kube-dns: its stubDomains and upstreamNameservers become only\n# the global stub domain below. If yours has others, add \"global\": [\"{server}\"] to them instead.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kube-dns\n  namespace: kube-system\ndata:\n  stubDomains: |\n    {{\"global\": [\"{server}\"]}}\n"
    )
}

fn indent(out: &mut String, text: &str, by: usize) {
    for line in text.lines() {
        out.extend(std::iter::repeat_n(' ', by));
        out.push_str(line);
        out.push('\n');
    }
}
