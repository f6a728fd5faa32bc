//! What-if.

use super::*;

fn lost(w: &mesh_topology::WhatIf, net: &str, svc: &str) -> Vec<String> {
    w.impacts
        .iter()
        .find(|i| i.client_network == net && i.service == svc)
        .map(|i| {
            i.lost
                .iter()
                .flat_map(|l| {
                    l.addresses
                        .iter()
                        .map(move |a| format!("{a}@{}", l.cluster))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn what_if_gateway_down() {
    let doc = mesh(SPLIT);
    let w = simulate(&doc, &"gateway:n2/192.0.2.2".parse().unwrap()).unwrap();
    // n1 reached foo's sidecar endpoint through n2's only gateway; the no-sidecar one never.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r"]);
    let i = &w.impacts[0];
    assert!(i.unreachable && i.remaining == 0);
    assert_eq!(w.impacts.len(), 1, "{w}");
    let new: Vec<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(new, [Code::NetworkWithoutGateway]);
    // The gateway of the other network does not matter to foo... but exposes istiod to r.
    let w = simulate(&doc, &"gateway:n1/192.0.2.1".parse().unwrap()).unwrap();
    let new: Vec<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(new, [Code::ControlPlaneUnreachable]);
    // r's workloads lose their control plane: all they had is lost.
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    // A gateway that does not exist is an error that lists the network's gateways.
    assert_eq!(
        simulate(&doc, &"gateway:n2/192.0.2.99".parse().unwrap()).unwrap_err(),
        WhatIfError::NoSuchGateway {
            failure: "gateway:n2/192.0.2.99".into(),
            network: "n2".into(),
            address: "192.0.2.99".into(),
            known: vec!["192.0.2.2".into()],
        }
    );
}

#[test]
fn what_if_names_must_exist_and_hostnames_take_all_their_addresses() {
    let doc = mesh(SPLIT);
    let err = |f: &str| simulate(&doc, &f.parse().unwrap()).unwrap_err().to_string();
    assert_eq!(
        err("cluster:zz"),
        "cluster:zz: there is no cluster zz in this mesh"
    );
    assert_eq!(
        err("api-server:zz"),
        "api-server:zz: there is no cluster zz in this mesh"
    );
    assert_eq!(
        err("partition:n1,n9"),
        "partition:n1,n9: there is no network n9 in this mesh"
    );
    assert_eq!(
        err("link:n1,n2"),
        "link:n1,n2: no link joins n1 and n2 directly"
    );
    assert_eq!(
        err("gateway:n2/gw.example.com"),
        "gateway:n2/gw.example.com: network n2 has no gateway gw.example.com (its gateways: 192.0.2.2)"
    );
    // A hostname gateway resolving to two addresses: one address down loses nothing, the
    // hostname takes both.
    let doc = mesh(&format!(
        "{}  dns: {{gw.example.com: [192.0.2.7, 192.0.2.8]}}\n",
        SPLIT.replace(
            "{address: 192.0.2.2, port: 15443}",
            "{address: gw.example.com, port: 15443}"
        )
    ));
    let one = simulate(&doc, &"gateway:n2/192.0.2.7".parse().unwrap()).unwrap();
    assert!(one.impacts.is_empty(), "{one}");
    let both = simulate(&doc, &"gateway:n2/gw.example.com".parse().unwrap()).unwrap();
    assert_eq!(lost(&both, "n1", "foo.ns"), ["10.2.0.5@r"]);
}

#[test]
fn what_if_link_cut_and_partition() {
    let doc = mesh(&format!(
        "{}  links: [{{networks: [n1, n2]}}]\n",
        SPLIT.replace(
            "gateways: [{address: 192.0.2.2, port: 15443}]",
            "gateways: []"
        )
    ));
    assert!(!check(&doc).has_errors());
    let w = simulate(&doc, &"link:n2,n1".parse().unwrap()).unwrap();
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(w.any_unreachable());
    let new: BTreeSet<Code> = w.new_diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        new,
        BTreeSet::from([
            Code::NetworkWithoutGateway,
            Code::RemoteEndpointWithoutSidecar
        ])
    );
    // A partition breaks gateway paths too: with n2's gateway back, a cut link still leaves
    // the sidecar endpoint reachable, a partition does not.
    let doc = mesh(&format!("{SPLIT}  links: [{{networks: [n1, n2]}}]\n"));
    let cut = simulate(&doc, &"link:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(lost(&cut, "n1", "foo.ns"), ["10.2.0.6@r"]);
    let part = simulate(&doc, &"partition:n1,n2".parse().unwrap()).unwrap();
    assert_eq!(lost(&part, "n1", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
    assert!(
        part.new_diagnostics
            .iter()
            .any(|d| d.code == Code::ControlPlaneUnreachable)
    );
}

#[test]
fn what_if_api_server_unreachable_and_cluster_removed() {
    let doc = mesh(SPLIT);
    let w = simulate(&doc, &"api-server:r".parse().unwrap()).unwrap();
    let d: Vec<&Diagnostic> = w.new_diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{w}");
    assert_eq!(d[0].code, Code::ApiServerUnreachable);
    assert_eq!(d[0].subjects, [cluster("p"), cluster("r")]);
    // istiod no longer sees r's endpoints: every client loses them.
    assert_eq!(lost(&w, "n1", "foo.ns"), ["10.2.0.5@r"]);
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);

    let w = simulate(&doc, &"cluster:p".parse().unwrap()).unwrap();
    let d: Vec<&Diagnostic> = w.new_diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{w}");
    assert_eq!(d[0].code, Code::ControlPlaneUnreachable);
    assert!(
        d[0].explanation
            .contains("cluster p, which runs the control plane of r, is gone")
    );
    // n1's only cluster is gone: no clients there to report on; n2 lost its control plane.
    assert!(w.impacts.iter().all(|i| i.client_network == "n2"));
    assert_eq!(lost(&w, "n2", "foo.ns"), ["10.2.0.5@r", "10.2.0.6@r"]);
}

#[test]
fn what_if_on_the_broken_example_is_deterministic() {
    let doc = MeshDocument::parse(BROKEN).unwrap();
    let f: Failure = "cluster:east".parse().unwrap();
    assert_eq!(simulate(&doc, &f), simulate(&doc, &f));
    let w = simulate(&doc, &f).unwrap();
    // east-vpn's control plane is gone.
    assert!(
        w.new_diagnostics
            .iter()
            .any(|d| d.code == Code::ControlPlaneUnreachable
                && d.subjects.contains(&cluster("east-vpn")))
    );
}
