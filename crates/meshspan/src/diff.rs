//! `meshspan diff`: what a proxy really holds (Envoy's `/config_dump?include_eds`,
//! `/clusters?format=json`, or `istioctl proxy-config endpoint <pod> -o json`) against what meshspan
//! computes for it, per cluster, each difference explained.

use std::path::PathBuf;
use std::process::ExitCode;

use mesh_model::{ClusterId, NetworkId};
use serde_json::json;

use crate::eds::{Prepared, Selection, Target};
use crate::input::{self, Output};

/// Arguments of `meshspan diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The mesh document (YAML or JSON).
    pub mesh: PathBuf,
    /// The proxy's dump (JSON; `-` for standard input).
    pub dump: PathBuf,
    /// The proxy's cluster. Default: the dump's node metadata `CLUSTER_ID`.
    #[arg(long)]
    pub cluster: Option<ClusterId>,
    /// The proxy's network. Default: the dump's node metadata `NETWORK`.
    #[arg(long)]
    pub network: Option<NetworkId>,
    #[command(flatten)]
    pub selection: Selection,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// Runs the command: 0 the proxy holds what meshspan computes, 1 a difference, 2 unreadable input
/// or an unknown proxy identity.
pub fn run(args: &Args) -> ExitCode {
    let text = match input::read(&args.dump) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let dump = match mesh_proxy::parse_dump(&text) {
        Ok(d) => d,
        Err(e) => return fail(&format!("{}: {e}", args.dump.display())),
    };
    let mesh = match input::load(&input::MeshSource::file(args.mesh.clone())) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    // The dump's identity where the flags do not give one; a CLUSTER_ID the document does not know
    // (Istio's default `Kubernetes`) leaves the network to decide.
    let known = |c: &ClusterId| mesh.document.spec.clusters.iter().any(|x| &x.name == c);
    let cluster = args.cluster.clone().or_else(|| {
        dump.identity
            .cluster
            .as_deref()
            .and_then(|c| c.parse().ok())
            .filter(known)
    });
    let network = args.network.clone().or_else(|| {
        dump.identity
            .network
            .as_deref()
            .and_then(|n| n.parse().ok())
    });
    if cluster.is_none() && network.is_none() {
        return fail(&format!(
            "{}: the dump names no proxy cluster or network (node metadata CLUSTER_ID, NETWORK): give --cluster or --network",
            args.dump.display()
        ));
    }
    let target = Target {
        network: if cluster.is_some() { None } else { network },
        clusters: cluster
            .into_iter()
            .map(input::ClusterArg::Proxies)
            .collect(),
        import: input::ImportFlags::default(),
    };
    let prepared = match Prepared::load(
        &input::MeshSource::file(args.mesh.clone()),
        &target,
        &args.selection,
    ) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let mut computed = std::collections::BTreeMap::new();
    for s in prepared.selected() {
        match prepared.view.explain(&prepared.request(s)) {
            Ok((cla, why)) => {
                computed.insert(cla.cluster_name.clone(), (cla, why));
            }
            Err(e) => {
                eprintln!("meshspan: {}: {e}", s.cluster.name());
                return ExitCode::from(2);
            }
        }
    }
    let mut diffs = Vec::new();
    let mut ignored = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for held in &dump.clusters {
        match computed.get(&held.name) {
            Some((cla, why)) => {
                seen.insert(held.name.clone());
                diffs.push(mesh_proxy::diff_cluster(held, cla, why));
            }
            None => ignored.push(held.name.clone()),
        }
    }
    for (name, (cla, why)) in &computed {
        if !seen.contains(name) && !mesh_proxy::envoy_host_set(cla).is_empty() {
            diffs.push(mesh_proxy::missing_cluster(cla, why));
        }
    }
    let differing = diffs.iter().filter(|d| !d.differences.is_empty()).count();
    let class = prepared.view.class();
    let proxy = json!({
        "network": class.network.as_ref().map_or("", |n| n.as_str()),
        "cluster": class.cluster.as_ref().map_or("", |c| c.as_str()),
        "locality": dump.identity.locality.clone().unwrap_or_default(),
        "profile": class.profile.as_str(),
    });
    match args.output {
        Output::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "format": dump.format,
                "proxy": proxy,
                "clusters": diffs,
                "ignored": ignored,
            }))
            .unwrap_or_default()
        ),
        Output::Text => {
            outln!(
                "proxy: network {}, cluster {}, locality {} ({:?} dump, profile {})",
                proxy["network"].as_str().unwrap_or(""),
                proxy["cluster"].as_str().unwrap_or(""),
                proxy["locality"].as_str().unwrap_or(""),
                dump.format,
                class.profile.as_str()
            );
            for d in diffs
                .iter()
                .filter(|d| !d.differences.is_empty() || !d.notes.is_empty())
            {
                out!("{d}");
            }
            outln!(
                "{} compared, {differing} with differences; {} in the dump not from the mesh document",
                mesh_model::counted(diffs.len(), "cluster"),
                ignored.len()
            );
        }
    }
    if differing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("meshspan: {message}");
    ExitCode::from(2)
}
