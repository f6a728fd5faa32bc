//! `meshspan eds`: the split-horizon endpoint assignments one proxy class receives, as Envoy's
//! proto3 JSON of `ClusterLoadAssignment` (the shape `istioctl proxy-config eds` prints), YAML,
//! binary protobuf, or the host list Envoy would keep in the shape of `istioctl proxy-config
//! endpoint -o json`. Warns (standard error) where Envoy or gRPC would reject or ignore an output.

use std::io::Write as _;
use std::process::ExitCode;

use mesh_eds::{
    DocumentEds, EdsEndpoint, Exclusion, Features, Profile, ServicePortEndpoints, ServiceRequest,
    View, wire,
};
use mesh_model::{ClusterId, Locality, MeshDocument, NetworkId, ServiceKey};

use crate::input;
use crate::stdout::Stdout;

/// Which proxies: the sidecars of a cluster, or of a network; and, as `--cluster NAME=DUMP`, the
/// kubectl dumps to import the mesh from instead of a document (as `check --cluster`).
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The proxies' network.
    #[arg(long)]
    pub network: Option<NetworkId>,
    /// `NAME`: the proxies' cluster (its network and IP family come from the document).
    /// `NAME=DUMP`: a cluster's kubectl dump to import instead of a document (repeat for each
    /// cluster; then `--cluster NAME` or `--network` still picks the proxies).
    #[arg(long = "cluster", value_name = "NAME|NAME=DUMP")]
    pub clusters: Vec<input::ClusterArg>,
    #[command(flatten)]
    pub import: input::ImportFlags,
}

impl Target {
    /// The `NAME=DUMP` values, in the order given.
    fn dumps(&self) -> Vec<String> {
        self.clusters
            .iter()
            .filter_map(|c| match c {
                input::ClusterArg::Dump(d) => Some(d.clone()),
                input::ClusterArg::Proxies(_) => None,
            })
            .collect()
    }

    /// The proxies' cluster (a bare `--cluster NAME`), or their network; an error naming the
    /// values when there are two bare names, both, or neither.
    fn proxies(&self) -> Result<Proxies<'_>, String> {
        let names: Vec<&ClusterId> = self
            .clusters
            .iter()
            .filter_map(|c| match c {
                input::ClusterArg::Proxies(n) => Some(n),
                input::ClusterArg::Dump(_) => None,
            })
            .collect();
        match (names.as_slice(), &self.network) {
            ([c], None) => Ok(Proxies::Cluster(c)),
            ([], Some(n)) => Ok(Proxies::Network(n)),
            ([c], Some(n)) => Err(format!(
                "--cluster {c} and --network {n}: give one of them to pick the proxies"
            )),
            ([], None) => Err("give --network or --cluster".into()),
            (many, _) => Err(format!(
                "--cluster {}: one bare NAME picks the proxies' cluster, not {} (dumps are NAME=DUMP)",
                many.iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", --cluster "),
                many.len()
            )),
        }
    }

    /// The proxies' cluster, when a bare `--cluster NAME` picks it.
    pub fn proxies_cluster(&self) -> Option<&ClusterId> {
        match self.proxies() {
            Ok(Proxies::Cluster(c)) => Some(c),
            _ => None,
        }
    }
}

/// Which proxies [`Target`] picks.
enum Proxies<'a> {
    Cluster(&'a ClusterId),
    Network(&'a NetworkId),
}

/// The client's locality and labels, which the locality stage reads (rules L2, L12–L21).
#[derive(Debug, clap::Args)]
pub struct Client {
    /// The proxy's locality `region/zone/subzone` (default: its cluster's `locality`; none with
    /// --network).
    #[arg(long)]
    pub locality: Option<Locality>,
    /// A label of the proxy's workload, `key=value` (repeatable): what failoverPriority compares.
    /// Region, zone, subzone, cluster and network labels are added as Istio adds them.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not key=value")),
    }
}

/// Which service ports.
#[derive(Debug, clap::Args)]
pub struct Selection {
    /// Only this service (`name.namespace`, or a host such as `name.namespace.svc.cluster.local`).
    #[arg(long)]
    pub service: Option<ServiceKey>,
    /// Only this service port (number).
    #[arg(long)]
    pub port: Option<u16>,
    /// Only the cluster of this DestinationRule subset (`''`: only the cluster without a subset).
    #[arg(long)]
    pub subset: Option<String>,
    /// Semantics: istio-modern (default), istio-1.1.0, istio-1.1.3 (or any of 1.1.3–1.1.17, e.g.
    /// istio-1.1.17), istio-1.5.
    #[arg(long, default_value = "istio-modern")]
    pub profile: Profile,
    /// Send HBONE to tunnel-capable endpoints even with a sidecar (PILOT_PREFER_SENDING_HBONE).
    #[arg(long)]
    pub prefer_hbone_send: bool,
    /// Not Istio's output: each gateway once, in the first locality group that routes through it,
    /// with every group's shares (the fix proposed in istio#60835; Envoy keeps only the first copy
    /// of a duplicated gateway and gRPC rejects the assignment).
    #[arg(long)]
    pub gateway_in_first_group: bool,
    #[command(flatten)]
    pub client: Client,
}

/// Output formats of `meshspan eds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EdsOutput {
    /// Envoy proto3 JSON, a list of ClusterLoadAssignment (the shape of `istioctl proxy-config eds`,
    /// not of `proxy-config endpoint`).
    Json,
    /// The same, as YAML.
    Yaml,
    /// Binary `envoy.config.endpoint.v3.ClusterLoadAssignment` (exactly one cluster).
    Pb,
    /// What Envoy would hold, as `istioctl proxy-config endpoint -o json` prints it: a list of
    /// ClusterStatus (name; hostStatuses with address, weight, locality, healthStatus), without
    /// the live statistics a running Envoy adds.
    Istioctl,
}

/// Arguments of `meshspan eds`.
#[derive(Debug, clap::Args)]
// A document, an example or `--cluster NAME=DUMP` dumps: `Target` checks which (one `--cluster`
// both picks proxies and names dumps, so no argument group can).
#[command(mut_group(input::MESH_SOURCE, |g| g.required(false)))]
pub struct Args {
    #[command(flatten)]
    pub mesh: input::MeshSource,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub selection: Selection,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "json")]
    pub output: EdsOutput,
}

/// The document, its engine inputs, the view and the selected service ports: shared with
/// `meshspan explain`.
pub struct Prepared {
    /// The document and where it came from.
    pub loaded: input::Loaded,
    /// The engine inputs.
    pub eds: DocumentEds,
    /// The proxy class's view.
    pub view: View,
    /// Indexes of the selected service ports in `eds.services`, whose endpoints are those the
    /// scope stage hands split-horizon for the class (S7–S24).
    selected: Vec<usize>,
    /// Parallel to `selected`: the endpoints the scope stage withheld, and why.
    withheld: Vec<Vec<(EdsEndpoint, Exclusion)>>,
}

impl Prepared {
    /// Loads the document and builds the view; the error is the message to print (exit 2).
    pub fn load(
        mesh: &input::MeshSource,
        target: &Target,
        selection: &Selection,
    ) -> Result<Self, String> {
        let proxies = target.proxies()?;
        let loaded = input::load_or_import_clusters(mesh, &target.dumps(), &target.import)?;
        let doc: &MeshDocument = &loaded.document;
        let features = Features {
            prefer_hbone_send: selection.prefer_hbone_send,
            gateway_in_first_group: selection.gateway_in_first_group,
            ..Features::default()
        };
        let eds = DocumentEds::new(doc, features);
        if let Some(errors) = &eds.mesh_networks_rejected {
            eprint!(
                "meshspan: warning: {}: MeshNetworks is invalid, ignored as a whole as istiod does: {errors}",
                loaded.origin
            );
        }
        let labels: std::collections::BTreeMap<String, String> =
            selection.client.labels.iter().cloned().collect();
        let locality = selection.client.locality.as_ref().map(ToString::to_string);
        let class = match proxies {
            Proxies::Cluster(c) => {
                if !doc.spec.clusters.iter().any(|x| &x.name == c) {
                    let names: Vec<&str> =
                        doc.spec.clusters.iter().map(|c| c.name.as_str()).collect();
                    return Err(format!(
                        "{}: no cluster named {c}; its clusters: {}",
                        loaded.origin,
                        names.join(", ")
                    ));
                }
                eds.client_class(c, locality.as_deref(), &labels, selection.profile)
            }
            Proxies::Network(n) => {
                let mut networks = doc.defined_networks();
                networks.extend(
                    doc.spec
                        .clusters
                        .iter()
                        .filter_map(|c| c.network.as_ref())
                        .map(NetworkId::as_str),
                );
                if !networks.contains(n.as_str()) {
                    return Err(format!(
                        "{}: no network named {n}; its networks: {}",
                        loaded.origin,
                        networks.into_iter().collect::<Vec<_>>().join(", ")
                    ));
                }
                eds.client_class_on_network(
                    n,
                    locality.as_deref().unwrap_or(""),
                    &labels,
                    selection.profile,
                )
            }
        };
        let view = View::new(&eds.shared_index(), class);
        let of_service: Vec<usize> = eds
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| selection.service.as_ref().is_none_or(|k| &s.service == k))
            .map(|(i, _)| i)
            .collect();
        if of_service.is_empty() {
            let mut names: Vec<String> =
                eds.services.iter().map(|s| s.service.to_string()).collect();
            names.dedup();
            return Err(format!(
                "{}: no service {}; its services: {}",
                loaded.origin,
                selection
                    .service
                    .as_ref()
                    .map_or_else(String::new, ToString::to_string),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        }
        let selected: Vec<usize> = of_service
            .iter()
            .copied()
            .filter(|&i| {
                selection
                    .port
                    .is_none_or(|p| eds.services[i].port.port == p)
                    && selection
                        .subset
                        .as_ref()
                        .is_none_or(|sub| &eds.services[i].cluster.subset == sub)
            })
            .collect();
        if selected.is_empty() {
            let mut ports: Vec<String> = of_service
                .iter()
                .map(|&i| {
                    let s = &eds.services[i];
                    if s.cluster.subset.is_empty() {
                        format!("{} {}", s.service, s.port.port)
                    } else {
                        format!("{} {} subset {}", s.service, s.port.port, s.cluster.subset)
                    }
                })
                .collect();
            ports.dedup();
            let asked = match (&selection.port, &selection.subset) {
                (Some(p), Some(sub)) => format!("{p} subset {sub:?}"),
                (Some(p), None) => p.to_string(),
                (None, Some(sub)) => format!("subset {sub:?}"),
                (None, None) => String::new(),
            };
            return Err(format!(
                "{}: no service port {asked}; the ports: {}",
                loaded.origin,
                ports.join(", ")
            ));
        }
        // The scope stage before split-horizon (the pre-1.8 profiles had no scope settings).
        let mut eds = eds;
        let mut withheld = Vec::new();
        for &i in &selected {
            if view.class().profile.is_legacy() {
                withheld.push(Vec::new());
                continue;
            }
            let scoped = eds.scoped_endpoints(&eds.services[i], view.class());
            eds.services[i].endpoints = scoped.visible;
            withheld.push(scoped.withheld);
        }
        Ok(Self {
            loaded,
            eds,
            view,
            selected,
            withheld,
        })
    }

    /// [`Prepared::load`], printing the error and giving exit code 2 on failure.
    pub fn open(
        mesh: &input::MeshSource,
        target: &Target,
        selection: &Selection,
    ) -> Result<Self, ExitCode> {
        Self::load(mesh, target, selection).map_err(|e| {
            eprintln!("meshspan: {e}");
            ExitCode::from(2)
        })
    }

    /// The selected service ports.
    pub fn selected(&self) -> impl Iterator<Item = &ServicePortEndpoints> {
        self.selected.iter().map(|&i| &self.eds.services[i])
    }

    /// Parallel to [`Prepared::selected`]: the endpoints the scope stage withheld, and why.
    pub fn withheld(&self) -> impl Iterator<Item = &[(EdsEndpoint, Exclusion)]> {
        self.withheld.iter().map(Vec::as_slice)
    }

    /// The request for one service port.
    pub fn request<'a>(&self, s: &'a ServicePortEndpoints) -> ServiceRequest<'a> {
        self.eds.request(s)
    }
}

/// Runs the command: 0 ok, 1 an assignment cannot be computed (that Istio version crashes), 2 the
/// input cannot be read or the selection is empty.
pub fn run(args: &Args) -> ExitCode {
    let prepared = match Prepared::open(&args.mesh, &args.target, &args.selection) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut assignments = Vec::new();
    for s in prepared.selected() {
        match prepared.view.assignment(&prepared.request(s)) {
            Ok(cla) => assignments.push(cla),
            Err(e) => {
                eprintln!("meshspan: {}: {e}", s.cluster.name());
                return ExitCode::from(1);
            }
        }
    }
    for cla in &assignments {
        for w in mesh_proxy::consumer_warnings(cla, None) {
            eprintln!("meshspan: warning: {w}");
        }
    }
    match args.output {
        EdsOutput::Istioctl => {
            let list: Vec<serde_json::Value> = assignments.iter().map(istioctl_status).collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
        EdsOutput::Json | EdsOutput::Yaml => {
            // Streamed: no tree of the whole output (Envoy JSON of 1M endpoints is ~500 MB).
            let list: Vec<wire::EnvoyJson<'_>> = assignments.iter().map(wire::EnvoyJson).collect();
            let mut out = Stdout::lock();
            let written = if args.output == EdsOutput::Json {
                serde_json::to_writer_pretty(&mut out, &list)
                    .map_err(|e| e.to_string())
                    .and_then(|()| out.write_all(b"\n").map_err(|e| e.to_string()))
            } else {
                serde_saphyr::to_io_writer(&mut out, &list).map_err(|e| e.to_string())
            };
            if let Err(e) = written {
                eprintln!("meshspan: cannot encode the assignments: {e}");
                return ExitCode::from(2);
            }
        }
        EdsOutput::Pb => {
            let [cla] = assignments.as_slice() else {
                eprintln!(
                    "meshspan: --output pb writes exactly one cluster; {} match (use --service, --port and --subset)",
                    assignments.len()
                );
                return ExitCode::from(2);
            };
            // `Stdout` ends the process itself when the write fails.
            let _ = Stdout::lock().write_all(&wire::encode(cla));
        }
    }
    ExitCode::SUCCESS
}

/// One `ClusterStatus` as `istioctl proxy-config endpoint -o json` prints it, for the hosts Envoy
/// keeps of `cla`.
fn istioctl_status(cla: &mesh_eds::LoadAssignment) -> serde_json::Value {
    let hosts: Vec<serde_json::Value> = mesh_proxy::envoy_host_set(cla)
        .iter()
        .map(|h| {
            let mut parts = h.locality.split('/');
            let mut locality = serde_json::Map::new();
            for key in ["region", "zone", "subZone"] {
                if let Some(p) = parts.next().filter(|p| !p.is_empty()) {
                    locality.insert(key.into(), p.into());
                }
            }
            let mut host = serde_json::json!({
                "address": {"socketAddress": {"address": h.address, "portValue": h.port}},
                "healthStatus": {"edsHealthStatus": "HEALTHY"},
                "weight": h.weight,
                "locality": locality,
            });
            // Envoy's HostStatus omits priority 0 (proto3).
            if h.priority != 0 {
                host["priority"] = h.priority.into();
            }
            host
        })
        .collect();
    serde_json::json!({"name": cla.cluster_name, "hostStatuses": hosts})
}
