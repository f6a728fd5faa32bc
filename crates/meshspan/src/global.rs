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
    /// Also print the DNS configuration: the CoreDNS `global` zone and, with --dns-server, the
    /// stub domain that sends `*.global` to that server.
    #[arg(long)]
    pub dns: bool,
    /// The ClusterIP of the DNS server that serves the `global` zone.
    #[arg(long, requires = "dns")]
    pub dns_server: Option<IpAddr>,
}

/// Runs the command: exit 0 on success, 1 when the configuration cannot be made (for example an
/// exhausted or overlapping range) or a selected service is left out because Istio would refuse
/// its ports (the other objects are still printed), 2 when an input cannot be read or parsed or `--cluster` names
/// no cluster of the mesh.
pub fn run(args: &Args) -> ExitCode {
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
    match args.output {
        Format::Yaml => {
            out!("{}", plan.to_yaml());
            if args.dns {
                outln!("---");
                out!("{}", mesh_global::global_dns_configmap(&vips));
                if let Some(server) = args.dns_server {
                    outln!("---");
                    out!("{}", mesh_global::kube_dns_stub_domain(server));
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
            if args.dns {
                out["dns"] = serde_json::json!({
                    "corednsGlobalZone": mesh_global::coredns_global_zone(&vips),
                    "kubeDnsStubDomain": args.dns_server.map(mesh_global::kube_dns_stub_domain),
                    "corednsForward": args.dns_server.map(mesh_global::coredns_forward_global),
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
