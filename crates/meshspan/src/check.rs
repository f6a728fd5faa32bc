//! `meshspan check`: parse a mesh document, check it, print what was found.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::input::{self, Output};

/// Arguments of `meshspan check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The mesh document (YAML or JSON; `-` for standard input). Default: the built-in example.
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    pub output: Output,
}

/// Runs the command: exit 0 when the mesh is valid, 1 when it has errors, 2 when it cannot be read.
pub fn run(args: &Args) -> ExitCode {
    let loaded = match input::load(args.file.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("meshspan: {e}");
            return ExitCode::from(2);
        }
    };
    let doc = &loaded.document;
    let errors = doc.check();
    let spec = &doc.spec;
    match args.output {
        Output::Json => {
            let out = serde_json::json!({
                "mesh": doc.metadata.name,
                "source": loaded.origin,
                "valid": errors.is_empty(),
                "clusters": spec.clusters.len(),
                "networks": doc.defined_networks().len(),
                "services": spec.services.len(),
                "errors": errors.iter().map(|e| serde_json::json!({
                    "path": e.path(),
                    "message": e.to_string(),
                })).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Output::Text => {
            println!(
                "mesh {} ({}): {} clusters, {} networks, {} services",
                doc.metadata.name,
                loaded.origin,
                spec.clusters.len(),
                doc.defined_networks().len(),
                spec.services.len()
            );
            for e in &errors {
                println!("error: {e}");
            }
            if errors.is_empty() {
                println!("valid");
            }
        }
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
