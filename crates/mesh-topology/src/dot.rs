//! A picture of the mesh: Graphviz DOT, clusters grouped by network, problems in red.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use mesh_model::MeshDocument;

use crate::diagnostic::{Code, Severity, Subject};
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

/// Renders `doc` with the findings of `report` (from [`check`](crate::check) of the same
/// document) as a Graphviz `digraph`: one box per network holding its clusters and gateways,
/// links between networks, dashed control-plane edges from each remote to its primary. Clusters,
/// networks, gateways and edges named by an error or warning are red. The output is
/// deterministic.
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
    let bad: BTreeSet<&Subject> = problems
        .iter()
        .flat_map(|d| d.subjects.iter().map(move |s| (d.code, s)))
        .filter(|(code, s)| match (code, s) {
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
        })
        .map(|(_, s)| s)
        .collect();
    let bad_edge = |code: Code, a: &str, b: &str| {
        problems.iter().any(|d| {
            d.code == code
                && d.subjects.contains(&Subject::Cluster(a.to_owned()))
                && d.subjects.contains(&Subject::Cluster(b.to_owned()))
        })
    };
    let color = |bad: bool| if bad { RED } else { "black" };

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
        let net_bad = bad.contains(&Subject::Network(n.name.clone()));
        let _ = writeln!(out, "  subgraph cluster_{i} {{");
        let _ = writeln!(
            out,
            "    label={}; color={};",
            quote(&format!("network {name}")),
            color(net_bad)
        );
        let _ = writeln!(
            out,
            "    {} [shape=ellipse, label={}, color={}];",
            quote(&format!("network:{}", n.name)),
            quote(name),
            color(net_bad)
        );
        for c in &n.clusters {
            let role = if primaries.contains(c.as_str()) {
                "primary"
            } else {
                "remote"
            };
            let _ = writeln!(
                out,
                "    {} [shape=box, label={}, color={}];",
                quote(&format!("cluster:{c}")),
                quote(&format!("{c}\n{role}")),
                color(bad.contains(&Subject::Cluster(c.clone())))
            );
        }
        for g in &n.gateways {
            let address = g
                .rsplit_once(':')
                .map_or(g.as_str(), |(a, _)| a)
                .trim_matches(['[', ']']);
            let _ = writeln!(
                out,
                "    {} [shape=diamond, label={}, color={}];",
                quote(&format!("gateway:{}/{g}", n.name)),
                quote(&format!("gateway\n{g}")),
                color(bad.contains(&Subject::Gateway(address.to_owned())))
            );
        }
        let _ = writeln!(out, "  }}");
    }
    // Gateways that resolved to nothing: drawn dashed, in red.
    for d in &problems {
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
                    quote(&format!("unresolved\n{g}"))
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
    for cp in &report.topology.control_planes {
        for c in &cp.clusters {
            if *c == cp.cluster {
                continue;
            }
            let unreachable = bad_edge(Code::ControlPlaneUnreachable, c, &cp.cluster);
            let _ = writeln!(
                out,
                "  {} -> {} [style=dashed, label=\"control plane\", color={}];",
                quote(&format!("cluster:{c}")),
                quote(&format!("cluster:{}", cp.cluster)),
                color(unreachable)
            );
            if bad_edge(Code::ApiServerUnreachable, &cp.cluster, c) {
                let _ = writeln!(
                    out,
                    "  {} -> {} [style=dotted, label=\"API server unreachable\", color={RED}];",
                    quote(&format!("cluster:{}", cp.cluster)),
                    quote(&format!("cluster:{c}"))
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
