//! Reading the mesh document: a file, standard input (`-`), or a built-in example asked for with
//! `--example`.

use std::path::{Path, PathBuf};

use mesh_model::MeshDocument;

/// The built-in example meshes (`examples/*.yaml`), asked for with `--example [NAME]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Example {
    /// One control plane, two networks joined by gateways (split-horizon EDS).
    SplitHorizon,
    /// Replicated control planes with `.global` names.
    ReplicatedControlPlanes,
    /// One control plane over a VPN.
    Vpn,
    /// A mix of the three.
    Mixed,
    /// A mesh with one of every problem `check` finds.
    Broken,
    /// Locality failover across clusters (DestinationRule, trafficDistribution).
    Failover,
}

impl Example {
    /// The example's file name under `examples/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::SplitHorizon => "split-horizon.yaml",
            Self::ReplicatedControlPlanes => "replicated-control-planes.yaml",
            Self::Vpn => "vpn.yaml",
            Self::Mixed => "mixed.yaml",
            Self::Broken => "broken.yaml",
            Self::Failover => "failover.yaml",
        }
    }

    /// The example's text.
    pub fn text(self) -> &'static str {
        match self {
            Self::SplitHorizon => include_str!("../../../examples/split-horizon.yaml"),
            Self::ReplicatedControlPlanes => {
                include_str!("../../../examples/replicated-control-planes.yaml")
            }
            Self::Vpn => include_str!("../../../examples/vpn.yaml"),
            Self::Mixed => include_str!("../../../examples/mixed.yaml"),
            Self::Broken => include_str!("../../../examples/broken.yaml"),
            Self::Failover => include_str!("../../../examples/failover.yaml"),
        }
    }
}

/// Where the mesh document comes from: a file, or a built-in example (or, for the commands that
/// also take [`Dumps`], `--cluster` dumps or `--istiod` debug outputs). Exactly one is required,
/// so an empty shell variable (`meshspan check $UNSET`) is a usage error, not a silent example
/// (`eds` and `explain` check it themselves: their `--cluster` may pick proxies instead).
#[derive(Debug, Clone, clap::Args)]
#[group(id = MESH_SOURCE, required = true, multiple = false)]
pub struct MeshSource {
    /// The mesh document (YAML or JSON; `-` for standard input).
    pub file: Option<PathBuf>,
    /// Use a built-in example mesh instead of a file (default: split-horizon).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "split-horizon")]
    pub example: Option<Example>,
}

/// The id of [`MeshSource`]'s argument group, which `--cluster` dumps and `--istiod` join.
pub const MESH_SOURCE: &str = "mesh-source";

impl MeshSource {
    /// A source reading `file`.
    pub fn file(file: PathBuf) -> Self {
        Self {
            file: Some(file),
            example: None,
        }
    }
}

/// A mesh document and where it came from.
pub struct Loaded {
    /// The file name, or the built-in example's name.
    pub origin: String,
    /// The parsed document.
    pub document: MeshDocument,
}

/// Reads and parses the document of `source`. The error is the message to print.
pub fn load(source: &MeshSource) -> Result<Loaded, String> {
    let (origin, text) = match (&source.file, source.example) {
        (Some(p), _) => (p.display().to_string(), read(p)?),
        (None, Some(e)) => (
            format!("<built-in example: examples/{}>", e.file_name()),
            e.text().to_owned(),
        ),
        (None, None) => {
            return Err(
                "no mesh document: give FILE, `-`, --example, --cluster NAME=DUMP or --istiod KIND=FILE"
                    .into(),
            );
        }
    };
    let document = MeshDocument::parse(&text).map_err(|e| format!("{origin}: {e}"))?;
    Ok(Loaded { origin, document })
}

/// [`load`], printing the error and giving exit code 2 (cannot read or parse) when it fails.
pub fn load_or_exit(source: &MeshSource) -> Result<Loaded, std::process::ExitCode> {
    load_or_exit_as(source, Output::Text)
}

/// [`load_or_exit`] for a command printing `output`: with JSON, the error is also a JSON object
/// on standard output (`{"error": {"message": "..."}}`), so a script reading it gets JSON.
pub fn load_or_exit_as(
    source: &MeshSource,
    output: Output,
) -> Result<Loaded, std::process::ExitCode> {
    load(source).map_err(|e| usage_failure(&e, output))
}

/// Prints `e` (also as `{"error": {"message": …}}` on standard output for JSON) and gives exit 2.
fn usage_failure(e: &str, output: Output) -> std::process::ExitCode {
    eprintln!("meshspan: {e}");
    if output == Output::Json {
        outln!("{}", serde_json::json!({ "error": { "message": e } }));
    }
    std::process::ExitCode::from(2)
}

/// Reads a file (or standard input for `-`) as text.
pub fn read(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("<stdin>: cannot read: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Output formats shared by the commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Readable text.
    Text,
    /// JSON.
    Json,
}

/// Kubernetes dumps to import instead of reading a mesh document (mesh-kube does the work).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Dumps {
    /// A cluster's `kubectl get namespaces,nodes,pods,services,endpointslices,configmaps,secrets
    /// -A -o json|yaml` output: `NAME=FILE` (repeat for each cluster).
    #[arg(long = "cluster", value_name = "NAME=DUMP", group = MESH_SOURCE)]
    pub clusters: Vec<String>,
    #[command(flatten)]
    pub flags: ImportFlags,
}

/// What an import reads besides the dumps: istiod's debug JSON (instead of dumps), Helm values,
/// CIDRs the dumps lack, the mesh ID. Shared by [`Dumps`] and the commands whose `--cluster` also
/// picks the proxies' cluster ([`ClusterArg`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImportFlags {
    /// istiod's debug JSON to import instead of dumps: `KIND=FILE`, KIND one of `endpointShardz`,
    /// `networkz`, `clusterz`, `mesh` (`curl localhost:15014/debug/KIND` in istiod; repeat for
    /// each).
    #[arg(long, value_name = "KIND=FILE", value_parser = parse_istiod, group = MESH_SOURCE)]
    pub istiod: Vec<(mesh_kube::DebugEndpoint, PathBuf)>,
    /// Helm values or an IstioOperator: `NAME=FILE` for one cluster, `FILE` for all.
    #[arg(long, value_name = "[NAME=]FILE")]
    pub values: Vec<String>,
    /// Pod CIDR of a cluster whose nodes carry none: `NAME=CIDR` (repeatable).
    #[arg(long = "pod-cidr", value_name = "NAME=CIDR")]
    pub pod_cidrs: Vec<String>,
    /// Service CIDR of a cluster without ServiceCIDR objects: `NAME=CIDR` (repeatable).
    #[arg(long = "service-cidr", value_name = "NAME=CIDR")]
    pub service_cidrs: Vec<String>,
    /// The mesh ID (default: the values' global.meshID, else the trust domain).
    #[arg(long = "mesh-id")]
    pub mesh_id: Option<String>,
}

/// One `--cluster` of `eds` and `explain`: a bare `NAME` picks the proxies' cluster, `NAME=DUMP`
/// is a cluster's kubectl dump to import (as `check --cluster NAME=DUMP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterArg {
    /// The proxies' cluster.
    Proxies(mesh_model::ClusterId),
    /// A dump to import, as given (`NAME=DUMP`).
    Dump(String),
}

impl std::str::FromStr for ClusterArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains('=') {
            pair("--cluster", s)?;
            return Ok(Self::Dump(s.to_owned()));
        }
        s.parse()
            .map(Self::Proxies)
            .map_err(|e| format!("--cluster {s:?}: {e}"))
    }
}

fn parse_istiod(s: &str) -> Result<(mesh_kube::DebugEndpoint, PathBuf), String> {
    let (kind, file) = pair("--istiod", s)?;
    let kind = kind
        .parse()
        .map_err(|e: mesh_kube::UnknownDebugEndpoint| e.to_string())?;
    Ok((kind, PathBuf::from(file)))
}

fn pair<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str), String> {
    s.split_once('=')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("{flag} {s:?}: expected NAME=VALUE"))
}

fn cidrs_for(flag: &str, list: &[String], name: &str) -> Result<Vec<ipnet::IpNet>, String> {
    let mut out = Vec::new();
    for s in list {
        let (n, v) = pair(flag, s)?;
        if n == name {
            out.push(
                v.parse()
                    .map_err(|_| format!("{flag} {s:?}: {v:?} is not a CIDR"))?,
            );
        }
    }
    Ok(out)
}

/// Imports the dumps into a mesh document, with the import's report.
pub fn import(dumps: &Dumps) -> Result<(Loaded, mesh_kube::ImportReport), String> {
    import_clusters(&dumps.clusters, &dumps.flags)
}

/// Imports istiod's debug JSON (`--istiod KIND=FILE`) into a mesh document, with the import's
/// report. The dumps' own flags (`--values`, `--pod-cidr`, `--service-cidr`) are refused.
fn import_istiod(flags: &ImportFlags) -> Result<(Loaded, mesh_kube::ImportReport), String> {
    let dump_only = [
        ("--values", flags.values.is_empty()),
        ("--pod-cidr", flags.pod_cidrs.is_empty()),
        ("--service-cidr", flags.service_cidrs.is_empty()),
    ];
    if let Some((flag, _)) = dump_only.iter().find(|(_, empty)| !empty) {
        return Err(format!(
            "{flag} applies to --cluster NAME=DUMP dumps, not to --istiod"
        ));
    }
    let mut texts = Vec::new();
    for (kind, path) in &flags.istiod {
        texts.push((*kind, read(path)?));
    }
    let inputs: Vec<(mesh_kube::DebugEndpoint, &str)> =
        texts.iter().map(|(k, t)| (*k, t.as_str())).collect();
    let mut options = mesh_kube::ImportOptions::default();
    options.mesh_id.clone_from(&flags.mesh_id);
    let import = mesh_kube::import_istiod(&options, &inputs).map_err(|e| e.to_string())?;
    let kinds: Vec<String> = flags.istiod.iter().map(|(k, _)| k.to_string()).collect();
    Ok((
        Loaded {
            origin: format!("imported from istiod {}", kinds.join(", ")),
            document: import.document,
        },
        import.report,
    ))
}

/// Imports the `NAME=DUMP` `clusters` with `flags`, or the `--istiod` files of `flags`, into a
/// mesh document, with the import's report.
pub fn import_clusters(
    clusters: &[String],
    flags: &ImportFlags,
) -> Result<(Loaded, mesh_kube::ImportReport), String> {
    if !flags.istiod.is_empty() {
        if !clusters.is_empty() {
            return Err("give --cluster NAME=DUMP dumps or --istiod KIND=FILE, not both".into());
        }
        return import_istiod(flags);
    }
    let mut files = Vec::new();
    for c in clusters {
        let (name, path) = pair("--cluster", c)?;
        files.push((name.to_owned(), read(Path::new(path))?));
    }
    let mut values_all = None;
    let mut values_for = std::collections::BTreeMap::new();
    for v in &flags.values {
        match v.split_once('=') {
            Some((n, p)) => {
                values_for.insert(n.to_owned(), read(Path::new(p))?);
            }
            None => values_all = Some(read(Path::new(v))?),
        }
    }
    let mut options = mesh_kube::ImportOptions::default();
    options.mesh_id.clone_from(&flags.mesh_id);
    let mut importer = mesh_kube::Importer::new(options);
    let mut names = Vec::new();
    for (name, text) in &files {
        let mut input = mesh_kube::ClusterInput::new(name, text);
        if let Some(v) = values_for.get(name).or(values_all.as_ref()) {
            input.values = mesh_kube::ClusterValues::parse(name, v).map_err(|e| e.to_string())?;
        }
        input.pod_cidrs = cidrs_for("--pod-cidr", &flags.pod_cidrs, name)?;
        input.service_cidrs = cidrs_for("--service-cidr", &flags.service_cidrs, name)?;
        importer.add(input).map_err(|e| e.to_string())?;
        names.push(name.as_str());
    }
    let import = importer.finish().map_err(|e| e.to_string())?;
    Ok((
        Loaded {
            origin: format!("imported from {}", names.join(", ")),
            document: import.document,
        },
        import.report,
    ))
}

/// A mesh document from `source`, or imported from `dumps` when any are given (the import's
/// report goes to standard error); exit code 2 on failure, with a JSON error for JSON `output`.
pub fn load_or_import(
    source: &MeshSource,
    dumps: &Dumps,
    output: Output,
) -> Result<Loaded, std::process::ExitCode> {
    load_or_import_clusters(source, &dumps.clusters, &dumps.flags)
        .map_err(|e| usage_failure(&e, output))
}

/// A mesh document from `source`, or imported from the `NAME=DUMP` `clusters` or the `--istiod`
/// files of `flags` when any are given (the import's report goes to standard error); the error is
/// the message to print. Giving two sources is an error, as is giving none.
pub fn load_or_import_clusters(
    source: &MeshSource,
    clusters: &[String],
    flags: &ImportFlags,
) -> Result<Loaded, String> {
    if clusters.is_empty() && flags.istiod.is_empty() {
        return load(source);
    }
    let imported = if clusters.is_empty() {
        "--istiod KIND=FILE"
    } else {
        "--cluster NAME=DUMP dumps"
    };
    if let Some(file) = &source.file {
        return Err(format!(
            "give the mesh document {} or {imported}, not both",
            file.display()
        ));
    }
    if source.example.is_some() {
        return Err(format!("give --example or {imported}, not both"));
    }
    let (loaded, report) = import_clusters(clusters, flags)?;
    eprint!("{report}");
    Ok(loaded)
}
