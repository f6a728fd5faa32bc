//! A picture of the mesh: Graphviz DOT, clusters grouped by network, problems in red.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use mesh_model::MeshDocument;

use crate::diagnostic::{Code, Diagnostic, Severity, Subject};
use crate::report::Report;

const RED: &str = "red";

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The numbers (1-based, in report order) of the problems that mark each drawn thing red.
type Marks<'r> = BTreeMap<&'r Subject, Vec<usize>>;

/// ` [1, 4]` for a label: which problems of the legend a node or edge is red for.
fn numbers(ns: &[usize]) -> String {
    if ns.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ns.iter().map(ToString::to_string).collect();
    let word = if ns.len() == 1 { "problem" } else { "problems" };
    format!("\n{word} {}", list.join(", "))
}

/// Renders `doc` with the findings of `report` (from [`check`](crate::check) of the same
/// document) as a Graphviz `digraph`: one box per network holding its clusters and gateways,
/// links between networks, dashed control-plane edges from each cluster to the cluster its
/// `controlPlane` names (also when that is a remote, part of a cycle, or no cluster at all).
/// Every error and warning is drawn: numbered in a legend (code and message), and each
/// cluster, network, gateway and edge it is about is red with those numbers in its label. The
/// output is deterministic.
///
/// ```
/// use mesh_model::MeshDocument;
/// let doc = MeshDocument::from_yaml(
///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: c1, network: n1}]\n",
/// )?;
/// let dot = mesh_topology::to_dot(&doc, &mesh_topology::check(&doc));
/// assert!(dot.starts_with("digraph mesh {"));
/// assert!(dot.contains("\"cluster:c1\""));
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
pub fn to_dot(doc: &MeshDocument, report: &Report) -> String {
    let problems: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .collect();
    let gateless: BTreeSet<&str> = report
        .topology
        .networks
        .iter()
        .filter(|n| n.gateways.is_empty())
        .map(|n| n.name.as_str())
        .collect();
    // Red: what a problem is about, not the networks it only mentions as context (where the
    // clusters of an unreachable path sit, which networks consume from a gateway-less one).
    let mut marks: Marks<'_> = BTreeMap::new();
    for (i, d) in problems.iter().enumerate() {
        for s in &d.subjects {
            let about = match (d.code, s) {
                (Code::NetworkWithoutGateway, Subject::Network(n)) => gateless.contains(n.as_str()),
                (
                    Code::ApiServerUnreachable
                    | Code::ControlPlaneUnreachable
                    | Code::CidrOverlap
                    | Code::RegistryInSeveralNetworks
                    | Code::RemoteEndpointWithoutSidecar,
                    Subject::Network(_),
                ) => false,
                _ => true,
            };
            if about {
                marks.entry(s).or_default().push(i + 1);
            }
        }
    }
    let marked = |s: Subject| marks.get(&s).cloned().unwrap_or_default();
    let color = |ns: &[usize]| if ns.is_empty() { "black" } else { RED };

    let mut out = String::new();
    let _ = writeln!(out, "digraph mesh {{");
    let _ = writeln!(
        out,
        "  label={};",
        quote(&format!(
            "mesh {} ({})",
            doc.metadata.name,
            report.topology.kind.as_str()
        ))
    );
    let _ = writeln!(
        out,
        "  compound=true; rankdir=LR; node [fontname=\"Helvetica\"]; edge [fontname=\"Helvetica\"];"
    );
    let primaries: BTreeSet<&str> = report
        .topology
        .control_planes
        .iter()
        .map(|c| c.cluster.as_str())
        .collect();
    for (i, n) in report.topology.networks.iter().enumerate() {
        let name = if n.name.is_empty() {
            "(no network)"
        } else {
            &n.name
        };
        let net = marked(Subject::Network(n.name.clone()));
        let _ = writeln!(out, "  subgraph cluster_{i} {{");
        let _ = writeln!(
            out,
            "    label={}; color={};",
            quote(&format!("network {name}")),
            color(&net)
        );
        let _ = writeln!(
            out,
            "    {} [shape=ellipse, label={}, color={}];",
            quote(&format!("network:{}", n.name)),
            quote(&format!("{name}{}", numbers(&net))),
            color(&net)
        );
        for c in &n.clusters {
            let role = if primaries.contains(c.as_str()) {
                "primary"
            } else {
                "remote"
            };
            let ns = marked(Subject::Cluster(c.clone()));
            let _ = writeln!(
                out,
                "    {} [shape=box, label={}, color={}];",
                quote(&format!("cluster:{c}")),
                quote(&format!("{c}\n{role}{}", numbers(&ns))),
                color(&ns)
            );
        }
        for g in &n.gateways {
            let address = g
                .rsplit_once(':')
                .map_or(g.as_str(), |(a, _)| a)
                .trim_matches(['[', ']']);
            let ns = marked(Subject::Gateway(address.to_owned()));
            let _ = writeln!(
                out,
                "    {} [shape=diamond, label={}, color={}];",
                quote(&format!("gateway:{}/{g}", n.name)),
                quote(&format!("gateway\n{g}{}", numbers(&ns))),
                color(&ns)
            );
        }
        let _ = writeln!(out, "  }}");
    }
    // Gateways that resolved to nothing: drawn dashed, in red.
    for (i, d) in problems.iter().enumerate() {
        if d.code != Code::GatewayUnresolved {
            continue;
        }
        for s in &d.subjects {
            if let Subject::Gateway(g) = s {
                let net = d.subjects.iter().find_map(|s| match s {
                    Subject::Network(n) => Some(n.as_str()),
                    _ => None,
                });
                let id = format!("unresolved:{}/{g}", net.unwrap_or(""));
                let _ = writeln!(
                    out,
                    "  {} [shape=diamond, style=dashed, color={RED}, label={}];",
                    quote(&id),
                    quote(&format!("unresolved\n{g}{}", numbers(&[i + 1])))
                );
                if let Some(n) = net {
                    let _ = writeln!(
                        out,
                        "  {} -> {} [style=dashed, color={RED}, dir=none];",
                        quote(&id),
                        quote(&format!("network:{n}"))
                    );
                }
            }
        }
    }
    let mut links: BTreeSet<(&str, &str)> = BTreeSet::new();
    for l in &doc.spec.links {
        for (i, a) in l.networks.iter().enumerate() {
            for b in &l.networks[i + 1..] {
                let (a, b) = (a.as_str(), b.as_str());
                if a != b {
                    links.insert((a.min(b), a.max(b)));
                }
            }
        }
    }
    for (a, b) in links {
        let _ = writeln!(
            out,
            "  {} -> {} [dir=none, style=bold, label=\"link\"];",
            quote(&format!("network:{a}")),
            quote(&format!("network:{b}"))
        );
    }
    control_plane_edges(&mut out, doc, &problems, &marks);
    legend(&mut out, &problems);
    out.push_str("}\n");
    out
}

/// Dashed edges from each cluster (the first of each name) to the cluster its `controlPlane`
/// names, red with the numbers of the problems about both ends; a name that is no cluster gets
/// a dashed red node of its own. A primary that cannot read a remote's API server gets a dotted
/// red edge to it.
fn control_plane_edges(
    out: &mut String,
    doc: &MeshDocument,
    problems: &[&Diagnostic],
    marks: &Marks<'_>,
) {
    // The problems of `codes` naming both clusters of an edge.
    let edge_marks = |codes: &[Code], a: &str, b: &str| -> Vec<usize> {
        let (a, b) = (
            Subject::Cluster(a.to_owned()),
            Subject::Cluster(b.to_owned()),
        );
        problems
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                codes.contains(&d.code) && d.subjects.contains(&a) && d.subjects.contains(&b)
            })
            .map(|(i, _)| i + 1)
            .collect()
    };
    let mut clusters: BTreeMap<&str, &mesh_model::Cluster> = BTreeMap::new();
    for c in &doc.spec.clusters {
        clusters.entry(c.name.as_str()).or_insert(c);
    }
    let color = |ns: &[usize]| if ns.is_empty() { "black" } else { RED };
    for (&name, c) in &clusters {
        let cp = c.managing_control_plane().as_str();
        if cp == name {
            continue;
        }
        let target = if clusters.contains_key(cp) {
            format!("cluster:{cp}")
        } else {
            let ns = marks
                .get(&Subject::Cluster(cp.to_owned()))
                .cloned()
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} [shape=box, style=dashed, color={RED}, label={}];",
                quote(&format!("missing:{cp}")),
                quote(&format!("{cp}\nno such cluster{}", numbers(&ns)))
            );
            format!("missing:{cp}")
        };
        let ns = edge_marks(
            &[
                Code::ControlPlaneUnreachable,
                Code::ControlPlaneNotPrimary,
                Code::ControlPlaneCycle,
                Code::UnknownCluster,
            ],
            name,
            cp,
        );
        let _ = writeln!(
            out,
            "  {} -> {} [style=dashed, label={}, color={}];",
            quote(&format!("cluster:{name}")),
            quote(&target),
            quote(&format!("control plane{}", numbers(&ns))),
            color(&ns)
        );
        let ns = edge_marks(&[Code::ApiServerUnreachable], cp, name);
        if !ns.is_empty() {
            let _ = writeln!(
                out,
                "  {} -> {} [style=dotted, label={}, color={RED}];",
                quote(&format!("cluster:{cp}")),
                quote(&format!("cluster:{name}")),
                quote(&format!("API server unreachable{}", numbers(&ns)))
            );
        }
    }
}

/// The legend: every error and warning, numbered as the labels name them, with its code and
/// message (one left-aligned line each); nothing when there is none.
fn legend(out: &mut String, problems: &[&Diagnostic]) {
    if problems.is_empty() {
        return;
    }
    // One left-aligned line each: `\l` ends a line in a Graphviz label.
    let mut label = String::from('"');
    for (i, d) in problems.iter().enumerate() {
        let line = quote(&format!(
            "{} {}[{}]: {}",
            i + 1,
            d.severity,
            d.code,
            d.message
        ));
        label.push_str(&line[1..line.len() - 1]);
        label.push_str("\\l");
    }
    label.push('"');
    let _ = writeln!(out, "  subgraph cluster_legend {{");
    let _ = writeln!(
        out,
        "    label=\"problems (red; the numbers in labels)\"; color={RED};"
    );
    let _ = writeln!(out, "    \"legend\" [shape=plaintext, label={label}];");
    let _ = writeln!(out, "  }}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
