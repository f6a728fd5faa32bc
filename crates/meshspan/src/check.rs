//! `meshspan check`: parse a mesh document, validate the whole mesh (mesh-topology), print every
//! diagnostic with its explanation and fix.

use std::process::ExitCode;

use mesh_model::counted;

use crate::input::{self, Output};

/// Arguments of `meshspan check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    /// Import the mesh from kubectl dumps instead of a document.
    #[command(flatten)]
    pub dumps: input::Dumps,
    /// Output format: `text`, or `json` (`{"diagnostics": [...], "topology": {...}}`).
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
    /// The time to verify CA material at, unix seconds. Default: now.
    #[arg(long)]
    pub now: Option<i64>,
}

/// Runs the command: exit 0 when the mesh has no error (warnings and info allowed), 1 when it has
/// at least one error diagnostic, 2 when the file cannot be read or parsed.
pub fn run(args: &Args) -> ExitCode {
    let loaded = match input::load_or_import(&args.mesh, &args.dumps, args.output) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let doc = &loaded.document;
    let now = args.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    });
    let report = mesh_topology::check_with(doc, &mesh_topology::CheckOptions::at(now));
    // What Envoy or gRPC would reject or ignore of what Istio pushes (warnings, never errors).
    let consumers = mesh_proxy::mesh_consumer_warnings(doc, mesh_eds::Features::default());
    match args.output {
        Output::Json => match serde_json::to_value(&report).and_then(|mut v| {
            if !consumers.is_empty()
                && let Some(o) = v.as_object_mut()
            {
                let list: Vec<serde_json::Value> = consumers
                    .iter()
                    .map(|(proxies, w)| {
                        serde_json::json!({
                            "severity": "warning",
                            "proxies": proxies.as_str(),
                            "warning": w,
                            "message": w.to_string(),
                        })
                    })
                    .collect();
                o.insert("consumers".into(), list.into());
            }
            serde_json::to_string_pretty(&v)
        }) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("meshspan: cannot encode the report: {e}");
                return ExitCode::from(2);
            }
        },
        Output::Text => {
            outln!(
                "mesh {} ({}): {}, {}, {}",
                doc.metadata.name,
                loaded.origin,
                counted(doc.spec.clusters.len(), "cluster"),
                counted(doc.defined_networks().len(), "network"),
                counted(doc.spec.services.len(), "service")
            );
            outln!("{report}");
            for (proxies, w) in &consumers {
                outln!("warning consumer (proxies of cluster {proxies}): {w}");
            }
        }
    }
    if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
