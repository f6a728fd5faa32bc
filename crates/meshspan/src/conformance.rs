//! `meshspan conformance eval|check FILE`: run the cases of `shared/conformance` (Istio's
//! split-horizon EDS and MeshNetworks behaviour, as data) through the libraries.
//!
//! The case format is mapped onto the library API here (`conformance/case.rs`), never inside the
//! engine; the comparison rules of `check` are in `conformance/compare.rs`; `locality_lb` cases
//! (the locality stage, rules L1–L33) are mapped and compared in `conformance/locality.rs`;
//! `cluster_local`, `scope_eds` and `lifecycle` cases (service scope and the remote-cluster
//! lifecycle, rules S1–S37) in `conformance/scope.rs`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

mod case;
mod compare;
mod lifecycle;
mod locality;
mod names;
mod scope;

/// Arguments of `meshspan conformance`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Evaluate every case and print `{"results": [...]}` (never reads `expected`).
    Eval {
        /// A case file: `{"format": ..., "cases": [...]}`.
        file: PathBuf,
    },
    /// Evaluate, compare with each case's `expected`; a table; exit 1 on a mismatch in a required
    /// profile (istio-modern, istio-1.1.3, istio-1.1.0).
    Check {
        /// A case file: `{"format": ..., "cases": [...]}`.
        file: PathBuf,
    },
}

/// Runs the command: 0 ok, 1 mismatches (check), 2 the file cannot be read.
pub fn run(args: &Args) -> ExitCode {
    let file = match &args.action {
        Action::Eval { file } | Action::Check { file } => file,
    };
    let cases = match load(file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("meshspan: {e}");
            return ExitCode::from(2);
        }
    };
    match &args.action {
        Action::Eval { .. } => {
            let results: Vec<Value> = cases.iter().map(case::eval).collect();
            let out = json!({ "results": results });
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Action::Check { .. } => {
            let report = compare::check(&cases);
            out!("{}", report.table());
            if report.required_failures() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

fn load(file: &std::path::Path) -> Result<Vec<Value>, String> {
    let text = crate::input::read(file)?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not valid JSON: {e}", file.display()))?;
    match doc.get("cases") {
        Some(Value::Array(cases)) => Ok(cases.clone()),
        _ => Err(format!(
            "{}: expected an object with a \"cases\" array",
            file.display()
        )),
    }
}
