//! Integration tests of mesh-topology: every diagnostic code on a small mesh made to trigger it
//! (and not on the same mesh fixed), the broken example, the valid examples, what-if, the picture,
//! and properties over generated meshes.

mod api_server;
mod cidr_overlap;
mod control_plane;
mod examples;
mod gateways;
mod meshnetworks;
mod model_errors;
mod picture;
mod properties;
mod replication;
mod scope;
mod trust;
mod what_if;

use std::collections::BTreeSet;

use mesh_model::MeshDocument;
use mesh_topology::{
    CheckOptions, Code, ControlPlaneKind, Diagnostic, Failure, LastConfig, LossReason, MeshKind,
    Report, Severity, Subject, WhatIfError, check, check_with, simulate, to_dot,
};

const BROKEN: &str = include_str!("../../../../examples/broken.yaml");

fn mesh(spec: &str) -> MeshDocument {
    let text =
        format!("apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {{name: t}}\nspec:\n{spec}");
    MeshDocument::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn of(report: &Report, code: Code) -> Vec<&Diagnostic> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .collect()
}

fn codes(report: &Report) -> BTreeSet<Code> {
    report.diagnostics.iter().map(|d| d.code).collect()
}

fn cluster(s: &str) -> Subject {
    Subject::Cluster(s.into())
}
fn network(s: &str) -> Subject {
    Subject::Network(s.into())
}
fn cidr(s: &str) -> Subject {
    Subject::Cidr(s.into())
}

/// 2026-01-01: inside the validity of the broken example's CA material (issued 2025-11-01).
const NOW: i64 = 1_767_225_600;

const SPLIT: &str = "
  clusters:
  - {name: p, network: n1}
  - {name: r, network: n2, controlPlane: p, apiServer: {address: 1.2.3.4:6443, exposure: public}}
  meshNetworks:
    networks:
      n1: {endpoints: [{fromRegistry: p}], gateways: [{address: 192.0.2.1, port: 15443}]}
      n2: {endpoints: [{fromRegistry: r}], gateways: [{address: 192.0.2.2, port: 15443}]}
  services:
  - name: foo
    namespace: ns
    endpoints:
    - {cluster: r, address: 10.2.0.5}
    - {cluster: r, address: 10.2.0.6, tlsMode: disabled}
";
