//! `meshspan`: the command line over meshspan's libraries. It parses arguments, reads files and
//! prints; every decision is made by the libraries.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod input;

/// Check, explain and generate multicluster service-mesh configuration.
#[derive(Debug, Parser)]
#[command(name = "meshspan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and validate a mesh document and print what was found.
    Check(check::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
    }
}
