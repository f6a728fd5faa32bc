//! Renders the replicated-control-planes example for cluster `east` (what `meshspan global` prints).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let doc = mesh_model::MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED)?;
    let vips = mesh_global::allocate_for_mesh(&doc.spec, &mesh_global::Allocations::default())?;
    let plan = mesh_global::plan_for_cluster(
        &doc.spec,
        &"east".parse()?,
        &mesh_global::Selector::default(),
        &vips,
        mesh_global::ApiVersion::V1Alpha3,
    )?;
    print!("{}", plan.to_yaml());
    print!("{}", mesh_global::coredns_global_zone(&plan));
    Ok(())
}
