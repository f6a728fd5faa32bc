//! `meshspan certs`: write a root and per-cluster Istio plug-in CA bundles (`init`), and check
//! that every cluster can trust every other (`check`). The CLI reads the clock, the OS's
//! randomness and the files; `mesh-ca` makes every decision.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use mesh_ca::{BundleFile, ClusterBundle, PluginFiles, ReportOptions, RootCa, TrustReport};
use mesh_model::{ClusterId, TrustDomain};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::input::{self, Output};

/// Arguments of `meshspan certs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Certs,
}

#[derive(Debug, clap::Subcommand)]
enum Certs {
    /// Write a root CA and one plug-in bundle per cluster (Istio's `cacerts` layout).
    Init(InitArgs),
    /// Check the bundles: the trust matrix, its failures with reasons, and what expires first.
    Check(CheckArgs),
    /// Add clusters' bundles under the existing root of a directory `init` wrote (its
    /// `root-cert.pem` and `root-key.pem`).
    Add(AddArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// The directory holding `root-cert.pem` and `root-key.pem`; each new cluster's bundle is
    /// written to `<root>/<cluster>/`. Existing files are never overwritten.
    #[arg(long)]
    root: PathBuf,
    /// Cluster names, comma-separated.
    #[arg(long = "cluster", value_delimiter = ',', required = true)]
    clusters: Vec<String>,
    #[command(flatten)]
    issue: IssueArgs,
}

/// What `init` and `add` issue with.
#[derive(Debug, clap::Args)]
struct IssueArgs {
    /// Trust domain the self-check of the written bundles uses.
    #[arg(long, default_value = "cluster.local")]
    trust_domain: String,
    /// Seed for keys and serial numbers (reproducible output). Default: from the OS.
    #[arg(long)]
    seed: Option<u64>,
    /// Issue time, unix seconds. Default: now.
    #[arg(long)]
    now: Option<i64>,
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// Cluster names, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    clusters: Vec<String>,
    /// Output directory: `root-cert.pem`, `root-key.pem`, and `<cluster>/` with `ca-cert.pem`,
    /// `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`. Existing files are never overwritten.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    issue: IssueArgs,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// A directory as `certs init` writes it (one sub-directory per cluster), or a mesh
    /// document whose clusters carry `caCerts`.
    path: PathBuf,
    /// Trust domain of the clusters of a directory (a mesh document has its own).
    #[arg(long, default_value = "cluster.local")]
    trust_domain: String,
    /// Trust domain aliases of the clusters of a directory.
    #[arg(long = "trust-domain-alias")]
    trust_domain_aliases: Vec<String>,
    /// Time of the check, unix seconds. Default: now.
    #[arg(long)]
    now: Option<i64>,
    /// Warn about certificates with less than this many days left.
    #[arg(long, default_value_t = 30)]
    warn_days: u64,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "text")]
    output: Output,
}

/// Runs `certs init` or `certs check`: exit 0 ok, 1 when some pair of clusters cannot trust
/// each other, 2 when input cannot be read or output cannot be written.
pub fn run(args: &Args) -> ExitCode {
    let result = match &args.command {
        Certs::Init(a) => init(a),
        Certs::Check(a) => check(a),
        Certs::Add(a) => add(a),
    };
    result.unwrap_or_else(|message| {
        eprintln!("meshspan: {message}");
        ExitCode::from(2)
    })
}

fn now_or(given: Option<i64>) -> Result<i64, String> {
    match given {
        Some(now) => Ok(now),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("system clock before 1970: {e}"))
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    }
}

fn os_seed() -> Result<[u8; 32], String> {
    let mut seed = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("/dev/urandom: cannot read: {e} (pass --seed)"))?;
    Ok(seed)
}

/// Distinct, valid cluster names: checked before anything is generated or written.
fn cluster_names(names: &[String]) -> Result<Vec<ClusterId>, String> {
    let mut clusters: Vec<ClusterId> = Vec::new();
    for name in names {
        let c = ClusterId::new(name.trim()).map_err(|e| e.to_string())?;
        if clusters.contains(&c) {
            return Err(format!("cluster {c} is named twice"));
        }
        clusters.push(c);
    }
    Ok(clusters)
}

fn rng_for(seed: Option<u64>) -> Result<ChaCha20Rng, String> {
    Ok(match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_seed(os_seed()?),
    })
}

fn init(args: &InitArgs) -> Result<ExitCode, String> {
    let now = now_or(args.issue.now)?;
    let trust_domain = TrustDomain::new(&args.issue.trust_domain).map_err(|e| e.to_string())?;
    let clusters = cluster_names(&args.clusters)?;
    let mut rng = rng_for(args.issue.seed)?;
    let root = RootCa::generate(&mut rng, now).map_err(|e| e.to_string())?;
    issue_and_write(
        &root,
        true,
        &clusters,
        &args.out,
        &trust_domain,
        &mut rng,
        now,
    )
}

fn add(args: &AddArgs) -> Result<ExitCode, String> {
    let now = now_or(args.issue.now)?;
    let trust_domain = TrustDomain::new(&args.issue.trust_domain).map_err(|e| e.to_string())?;
    let clusters = cluster_names(&args.clusters)?;
    let cert = input::read(&args.root.join("root-cert.pem"))?;
    let key = input::read(&args.root.join("root-key.pem"))?;
    let root =
        RootCa::from_pem(&cert, &key).map_err(|e| format!("{}: {e}", args.root.display()))?;
    let mut rng = rng_for(args.issue.seed)?;
    issue_and_write(
        &root,
        false,
        &clusters,
        &args.root,
        &trust_domain,
        &mut rng,
        now,
    )
}

/// Issues one intermediate per cluster under `root`, writes each cluster's bundle to
/// `out/<cluster>/` (and, when `with_root`, the root's files to `out/`), refusing before writing
/// anything when a file exists, and self-checks the new bundles' trust.
fn issue_and_write(
    root: &RootCa,
    with_root: bool,
    clusters: &[ClusterId],
    out: &Path,
    trust_domain: &TrustDomain,
    rng: &mut ChaCha20Rng,
    now: i64,
) -> Result<ExitCode, String> {
    let mut writes: Vec<(PathBuf, String, bool)> = Vec::new();
    if with_root {
        writes.push((out.join("root-cert.pem"), root.cert_pem().to_owned(), false));
        writes.push((out.join("root-key.pem"), root.key().to_pem(), true));
    }
    let mut bundles = Vec::new();
    for cluster in clusters {
        let ca = root
            .generate_intermediate(cluster, rng, now)
            .map_err(|e| format!("cluster {cluster}: {e}"))?;
        let files = ca.plugin_files();
        let dir = out.join(cluster.as_str());
        for file in BundleFile::ALL {
            if let Some(bytes) = files.get(file) {
                writes.push((
                    dir.join(file.file_name()),
                    String::from_utf8_lossy(bytes).into_owned(),
                    file == BundleFile::CaKey,
                ));
            }
        }
        bundles.push(ClusterBundle::new(
            cluster.clone(),
            trust_domain.clone(),
            files,
        ));
    }
    for (path, _, _) in &writes {
        if path.exists() {
            return Err(format!(
                "{}: already exists, not overwriting",
                path.display()
            ));
        }
    }
    for (path, contents, secret) in &writes {
        write_new(path, contents, *secret)?;
    }
    let report =
        TrustReport::build(&bundles, now, &ReportOptions::default()).map_err(|e| e.to_string())?;
    outln!(
        "wrote {}{} to {} ({})",
        if with_root { "a root CA and " } else { "" },
        mesh_model::counted(clusters.len(), "cluster bundle"),
        out.display(),
        if report.all_trusted() {
            "every cluster trusts every other"
        } else {
            "SELF-CHECK FAILED"
        }
    );
    for cluster in clusters {
        outln!(
            "  kubectl create secret generic cacerts -n istio-system --from-file={}/",
            out.join(cluster.as_str()).display()
        );
    }
    Ok(if report.all_trusted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_new(path: &Path, contents: &str, secret: bool) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    options
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .map_err(fail)
}

fn check(args: &CheckArgs) -> Result<ExitCode, String> {
    let now = now_or(args.now)?;
    let mut options = ReportOptions::default().with_expiry_warning_secs(args.warn_days * 86_400);
    let (origin, bundles) = if args.path.is_dir() {
        (args.path.display().to_string(), read_dir(args)?)
    } else {
        let loaded = input::load(&input::MeshSource::file(args.path.clone()))?;
        options = options.with_require_ca_key(false);
        (
            loaded.origin,
            ClusterBundle::from_mesh(&loaded.document.spec),
        )
    };
    if bundles.is_empty() {
        if args.path.is_dir() {
            // A directory is given to be checked: finding no bundle in it is a mistake.
            return Err(format!(
                "{origin}: no cluster bundle found (expected a sub-directory per cluster with {})",
                BundleFile::ALL.map(BundleFile::file_name).join(", ")
            ));
        }
        outln!("{origin}: no cluster carries CA certificates; nothing to check");
        return Ok(ExitCode::SUCCESS);
    }
    let report = TrustReport::build(&bundles, now, &options).map_err(|e| e.to_string())?;
    match args.output {
        Output::Json => print_json(&report, now),
        Output::Text => print_text(&origin, &report, now),
    }
    Ok(if report.all_trusted() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every sub-directory holding at least one of the four files is a cluster, named after it.
fn read_dir(args: &CheckArgs) -> Result<Vec<ClusterBundle>, String> {
    let trust_domain = TrustDomain::new(&args.trust_domain).map_err(|e| e.to_string())?;
    let aliases = args
        .trust_domain_aliases
        .iter()
        .map(|a| TrustDomain::new(a).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let fail = |e: std::io::Error| format!("{}: cannot read: {e}", args.path.display());
    let mut dirs: Vec<PathBuf> = fs::read_dir(&args.path)
        .map_err(fail)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut bundles = Vec::new();
    for dir in dirs {
        let mut files = PluginFiles::default();
        for file in BundleFile::ALL {
            let path = dir.join(file.file_name());
            if path.exists() {
                let bytes =
                    fs::read(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                files.set(file, Some(bytes));
            }
        }
        if files == PluginFiles::default() {
            continue;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cluster = ClusterId::new(&name).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut bundle = ClusterBundle::new(cluster, trust_domain.clone(), files);
        bundle.trust_domain_aliases = aliases.clone();
        bundles.push(bundle);
    }
    Ok(bundles)
}

fn print_text(origin: &str, report: &TrustReport, now: i64) {
    let clusters = report.clusters();
    let width = clusters
        .iter()
        .map(|c| c.as_str().len())
        .max()
        .unwrap_or(0)
        .max(8);
    outln!(
        "{origin}: {}, checked at {}",
        mesh_model::counted(clusters.len(), "cluster"),
        mesh_ca::utc_date(now)
    );
    outln!("trust matrix (a row's workloads verifying a column's):");
    let mut header = format!("  {:width$}", "");
    for peer in clusters {
        header.push_str(&format!("  {:width$}", peer.as_str()));
    }
    outln!("{}", header.trim_end());
    for verifier in clusters {
        let mut row = format!("  {:width$}", verifier.as_str());
        for peer in clusters {
            let verdict = match report.cell(verifier, peer) {
                Some(cell) if cell.trusted() => "ok",
                _ => "FAIL",
            };
            row.push_str(&format!("  {verdict:width$}"));
        }
        outln!("{}", row.trim_end());
    }
    let failures: Vec<_> = report.failures().collect();
    if !failures.is_empty() {
        outln!("failures:");
        for (verifier, peer, problems) in failures {
            for problem in problems.iter().filter(|p| p.is_fatal()) {
                outln!("  {verifier} -> {peer}: [{}] {problem}", problem.code());
            }
        }
    }
    let warnings = report.warnings();
    if !warnings.is_empty() {
        outln!("warnings:");
        for warning in warnings {
            outln!("  [{}] {warning}", warning.code());
        }
    }
    outln!("expiry (soonest first):");
    for entry in report.expiry().entries() {
        outln!(
            "  {}{}/{}: {} expires {} ({} days left)",
            if entry.warning { "WARN " } else { "" },
            entry.cluster,
            entry.file,
            entry.certificate,
            mesh_ca::utc_date(entry.not_after),
            entry.remaining_secs.div_euclid(86_400)
        );
    }
}

fn print_json(report: &TrustReport, now: i64) {
    let out = serde_json::json!({
        "now": now,
        "allTrusted": report.all_trusted(),
        "clusters": report.clusters().iter().map(ClusterId::as_str).collect::<Vec<_>>(),
        "cells": report.cells().iter().map(|c| serde_json::json!({
            "verifier": c.verifier.as_str(),
            "peer": c.peer.as_str(),
            "trusted": c.trusted(),
            "problems": c.problems.iter().map(|p| serde_json::json!({
                "code": p.code(),
                "fatal": p.is_fatal(),
                "message": p.to_string(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "expiry": report.expiry().entries().iter().map(|e| serde_json::json!({
            "cluster": e.cluster.as_str(),
            "file": e.file.file_name(),
            "certificate": e.certificate,
            "notAfter": e.not_after,
            "remainingSecs": e.remaining_secs,
            "warning": e.warning,
        })).collect::<Vec<_>>(),
    });
    outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}
