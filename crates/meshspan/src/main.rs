//! `meshspan`: the command line over meshspan's libraries. It parses arguments, reads files and
//! prints; every decision is made by the libraries.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// First: the other modules print with its `out!` and `outln!`.
#[macro_use]
mod stdout;

mod certs;
mod check;
mod conformance;
mod diff;
mod eds;
mod explain;
mod global;
mod graph;
mod import;
mod input;
mod what_if;
mod what_if_failover;

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
    /// Write Istio plug-in CA bundles (`init`) or check cross-cluster trust (`check`).
    Certs(certs::Args),
    /// Run Istio split-horizon EDS conformance cases (eval: print results; check: compare).
    Conformance(conformance::Args),
    /// The split-horizon endpoints (EDS) a proxy class receives, as Envoy JSON, YAML or protobuf.
    Eds(eds::Args),
    /// Compare what a proxy holds (Envoy /config_dump, /clusters, istioctl proxy-config endpoint)
    /// with what meshspan computes for it, each difference explained.
    Diff(diff::Args),
    /// Why each endpoint of a service is sent, replaced by gateways or dropped, for one proxy class.
    Explain(explain::Args),
    /// The `.global` ServiceEntries, DestinationRule and DNS config of one cluster (replicated
    /// control planes).
    Global(global::Args),
    /// Import clusters from kubectl dumps (and Helm values), or istiod's debug JSON, into a mesh
    /// document.
    Import(import::Args),
    /// What breaks when a gateway, link, network, API server or cluster fails; with locality
    /// failover, where each client locality's traffic goes when a zone, cluster or gateway fails.
    WhatIf(what_if::Args),
    /// Print the mesh as Graphviz DOT, problems in red.
    Graph(graph::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Certs(args) => certs::run(&args),
        Command::Conformance(args) => conformance::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Eds(args) => eds::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Global(args) => global::run(&args),
        Command::Import(args) => import::run(&args),
        Command::WhatIf(args) => what_if::run(&args),
        Command::Graph(args) => graph::run(&args),
    }
}
