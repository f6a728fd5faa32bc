//! `meshspan what-if` under locality failover (`locality:`, `gateway:<address>[:<port>]`, or
//! `--failover`): per client locality and service, which priority serves once the thing is down
//! (mesh-eds `failover_what_if`).

use std::process::ExitCode;

use mesh_eds::{Features, Outage, failover_what_if};

use crate::input::{Loaded, Output};

/// Prints the report: exit 0 when every service still has a live endpoint for every client
/// group, 1 when one becomes unreachable, 2 when the outage names nothing in the mesh.
pub fn run(loaded: &Loaded, outage: &Outage, output: Output) -> ExitCode {
    let report = match failover_what_if(&loaded.document, outage, Features::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("meshspan: {}: --fail {e}", loaded.origin);
            return ExitCode::from(2);
        }
    };
    match output {
        Output::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("meshspan: cannot encode the result: {e}");
                return ExitCode::from(2);
            }
        },
        Output::Text => out!("{report}"),
    }
    if report.any_unreachable() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
