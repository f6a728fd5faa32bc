//! `meshspan global`: the `.global` ServiceEntries, DestinationRule and DNS configuration of one
//! cluster in a mesh of replicated control planes.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use mesh_global::{Allocations, ApiVersion, Selector};
use mesh_model::{ClusterId, Namespace, ServiceKey};

use crate::input;

/// Output formats of `meshspan global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Kubernetes YAML, ready for `kubectl apply -f -`.
    Yaml,
    /// JSON.
    Json,
}

/// Istio networking API versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    /// `networking.istio.io/v1alpha3`, as the design wrote it.
    V1alpha3,
    /// `networking.istio.io/v1`.
    V1,
}

/// How `--dns` writes the cluster DNS side of the `global` zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DnsFormat {
    /// The `global:53` server block to add to the Corefile of ConfigMap kube-system/coredns,
    /// as YAML comments: it replaces nothing. It answers the zone itself, or with --dns-server
    /// forwards to that server, whose own ConfigMap (`istio-system/global-dns`, new) is written.
    Corefile,
    /// A complete kube-system/coredns ConfigMap (Kubernetes' default Corefile plus the block),
    /// headed by a comment saying it replaces yours.
    CorednsConfigmap,
    /// A complete kube-system/kube-dns ConfigMap whose stub domain sends `global` to
    /// --dns-server (required), headed by a comment saying it replaces yours, and that server's
    /// ConfigMap (`istio-system/global-dns`, new).
    KubeDns,
}

/// Arguments of `meshspan global`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    /// The cluster whose control plane gets the configuration.
    #[arg(long)]
    pub cluster: ClusterId,
    /// A previous allocation (`foo.ns1: 240.0.0.2` per line, YAML): its addresses are kept.
    #[arg(long)]
    pub allocations: Option<PathBuf>,
    /// Write the allocation in force to this file, to pass back with --allocations next time.
    #[arg(long)]
    pub save_allocations: Option<PathBuf>,
    /// Only services in these namespaces (repeatable).
    #[arg(long = "namespace")]
    pub namespaces: Vec<Namespace>,
    /// Only these services, `name.namespace` (repeatable).
    #[arg(long = "service")]
    pub services: Vec<ServiceKey>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "yaml")]
    pub output: Format,
    /// Istio API version of the objects.
    #[arg(long, value_enum, default_value = "v1alpha3")]
    pub api_version: Api,
    /// Also print the DNS configuration of the `global` zone (the names of this cluster's
    /// ServiceEntries only), in the --dns-format.
    #[arg(long)]
    pub dns: bool,
    /// The ClusterIP of a CoreDNS server dedicated to the `global` zone (its ConfigMap is
    /// written); the cluster DNS then forwards `global` to it.
    #[arg(long, requires = "dns")]
    pub dns_server: Option<IpAddr>,
    /// How to write the cluster DNS side: a block to add (default, replaces nothing) or a
    /// complete ConfigMap that replaces the cluster's.
    #[arg(long, value_enum, default_value = "corefile", requires = "dns")]
    pub dns_format: DnsFormat,
}

/// Runs the command: exit 0 on success, 1 when the configuration cannot be made (for example an
/// exhausted or overlapping range) or a selected service is left out because Istio would refuse
/// its ports (the other objects are still printed), 2 when an input cannot be read or parsed or `--cluster` names
/// no cluster of the mesh.
pub fn run(args: &Args) -> ExitCode {
    if args.dns && args.dns_format == DnsFormat::KubeDns && args.dns_server.is_none() {
        eprintln!(
            "meshspan: --dns-format kube-dns needs --dns-server: kube-dns can only send the global zone to a DNS server"
        );
        return ExitCode::from(2);
    }
    let loaded = match input::load_or_exit(&args.mesh) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let previous = match &args.allocations {
        None => Allocations::default(),
        Some(path) => match input::read(path).and_then(|text| {
            serde_saphyr::from_str::<Allocations>(&text)
                .map_err(|e| format!("{}: not an allocation file: {e}", path.display()))
        }) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("meshspan: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let spec = &loaded.document.spec;
    let vips = match mesh_global::allocate_for_mesh(spec, &previous) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("meshspan: {}: {e}", loaded.origin);
            return ExitCode::from(1);
        }
    };
    let selector = Selector {
        namespaces: args.namespaces.iter().cloned().collect(),
        services: args.services.iter().cloned().collect(),
    };
    let api = match args.api_version {
        Api::V1alpha3 => ApiVersion::V1Alpha3,
        Api::V1 => ApiVersion::V1,
    };
    let plan = match mesh_global::plan_for_cluster(spec, &args.cluster, &selector, &vips, api) {
        Ok(p) => p,
        // A cluster the document does not have is a usage error, like everywhere else.
        Err(e @ mesh_global::GlobalError::UnknownCluster(_)) => {
            let names: Vec<&str> = spec.clusters.iter().map(|c| c.name.as_str()).collect();
            eprintln!(
                "meshspan: {}: {e}; its clusters: {}",
                loaded.origin,
                names.join(", ")
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("meshspan: {}: {e}", loaded.origin);
            return ExitCode::from(1);
        }
    };
    for u in &plan.unreachable {
        eprintln!("warning: {u}");
    }
    // Never write an entry Istio refuses: such a service is left out, and the run exits 1.
    for r in &plan.rejected {
        eprintln!("meshspan: {}: error: {r}", loaded.origin);
    }
    if let Some(path) = &args.save_allocations {
        let text = serde_saphyr::to_string(&vips).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("meshspan: {}: cannot write: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let dns = args
        .dns
        .then(|| dns_output(&plan, &spec.domain_suffix, args.dns_format, args.dns_server));
    match args.output {
        Format::Yaml => {
            out!("{}", plan.to_yaml());
            if let Some(dns) = &dns {
                for cm in &dns.config_maps {
                    outln!("---");
                    out!("{cm}");
                }
                if let Some(block) = &dns.corefile_block {
                    // Comments: `kubectl apply` ignores them, the reader copies them.
                    outln!(
                        "# Add this server block to the Corefile of ConfigMap kube-system/coredns"
                    );
                    outln!(
                        "# (kubectl -n kube-system edit configmap coredns); nothing above replaces it:"
                    );
                    for line in block.lines() {
                        outln!("#   {line}");
                    }
                }
            }
        }
        Format::Json => {
            let mut out = serde_json::json!({
                "cluster": plan.cluster.to_string(),
                "serviceEntries": plan.service_entries,
                "destinationRule": plan.destination_rule,
                "allocations": vips,
                "unreachable": plan.unreachable.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "rejected": plan.rejected.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            if let Some(dns) = &dns {
                out["dns"] = serde_json::json!({
                    "corefileBlock": dns.corefile_block,
                    "configMaps": dns.config_maps,
                    "replaces": dns.replaces,
                });
            }
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
    }
    if plan.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What `--dns` prints: a Corefile block to add, and ConfigMaps (YAML text, each opening with
/// a comment saying whether it is new or what it replaces).
struct DnsOutput {
    corefile_block: Option<String>,
    config_maps: Vec<String>,
    /// The existing objects the ConfigMaps replace (`kube-system/coredns`).
    replaces: Vec<&'static str>,
}

fn dns_output(
    plan: &mesh_global::ClusterPlan,
    domain_suffix: &str,
    format: DnsFormat,
    server: Option<IpAddr>,
) -> DnsOutput {
    let block = server.map_or_else(
        || mesh_global::coredns_global_zone(plan),
        mesh_global::coredns_forward_global,
    );
    let dedicated: Vec<String> = server
        .map(|_| mesh_global::global_dns_configmap(plan))
        .into_iter()
        .collect();
    match (format, server) {
        (DnsFormat::Corefile, _) => DnsOutput {
            corefile_block: Some(block),
            config_maps: dedicated,
            replaces: Vec::new(),
        },
        (DnsFormat::CorednsConfigmap, _) => DnsOutput {
            corefile_block: None,
            config_maps: dedicated
                .into_iter()
                .chain([mesh_global::coredns_configmap(domain_suffix, &block)])
                .collect(),
            replaces: vec!["kube-system/coredns"],
        },
        (DnsFormat::KubeDns, Some(server)) => DnsOutput {
            corefile_block: None,
            config_maps: dedicated
                .into_iter()
                .chain([mesh_global::kube_dns_stub_domain(server)])
                .collect(),
            replaces: vec!["kube-system/kube-dns"],
        },
        // Refused before anything is computed (`run`).
        (DnsFormat::KubeDns, None) => DnsOutput {
            corefile_block: None,
            config_maps: Vec::new(),
            replaces: Vec::new(),
        },
    }
}
