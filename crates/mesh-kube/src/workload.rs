//! A pod's workload name, Istio's `IstioEndpoint.WorkloadName` (the first field of the
//! `istio.workload` metadata): `pkg/kube/util.go` `GetWorkloadMetaFromPod` over
//! `GetDeployMetaFromPod`, as `pilot/pkg/serviceregistry/kube/controller/endpoint_builder.go`
//! `NewEndpointBuilder` calls it.

use crate::object::Meta;

/// The label that overrides the heuristics (`label.ServiceWorkloadName`).
const WORKLOAD_NAME: &str = "service.istio.io/workload-name";

/// The workload name of a pod with this metadata:
/// 1. the label `service.istio.io/workload-name`, when present;
/// 2. for a pod with a generated name and a controlling owner: a ReplicaSet named
///    `<deployment>-<pod-template-hash>` gives the Deployment's name (likewise with
///    `rollouts-pod-template-hash` for an Argo Rollout); a ReplicationController of an OpenShift
///    DeploymentConfig gives the `deploymentconfig` label; a Job named `<cronjob>-<8 to 10
///    digits>` gives the CronJob's name; any other owner its own name;
/// 3. else the pod's name.
pub(crate) fn workload_name(pod: &Meta) -> String {
    if let Some(name) = pod.labels.get(WORKLOAD_NAME) {
        return name.clone();
    }
    let owner = pod
        .owner_references
        .iter()
        .find(|r| r.controller == Some(true));
    let name = match owner {
        Some(owner) if !pod.generate_name.is_empty() => from_owner(pod, &owner.kind, &owner.name),
        _ => pod.name.as_str(),
    };
    if name.is_empty() { &pod.name } else { name }.to_owned()
}

fn from_owner<'a>(pod: &'a Meta, kind: &str, name: &'a str) -> &'a str {
    let label = |k: &str| pod.labels.get(k).map_or("", String::as_str);
    let trimmed = |hash: &str| {
        (!hash.is_empty() && name.ends_with(hash))
            .then(|| {
                name.strip_suffix(hash)
                    .map(|n| n.strip_suffix('-').unwrap_or(n))
            })
            .flatten()
    };
    match kind {
        "ReplicaSet" => trimmed(label("pod-template-hash"))
            .or_else(|| trimmed(label("rollouts-pod-template-hash")))
            .unwrap_or(name),
        "ReplicationController" if !label("deploymentconfig").is_empty() => {
            label("deploymentconfig")
        }
        "Job" => cron_job(name).unwrap_or(name),
        _ => name,
    }
}

/// `cronJobNameRegexp`, `(.+)-\d{8,10}$`: the CronJob of a Job named after its schedule time.
fn cron_job(job: &str) -> Option<&str> {
    let (base, digits) = job.rsplit_once('-')?;
    let timestamp = (8..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    (timestamp && !base.is_empty()).then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::OwnerReference;

    fn pod(
        name: &str,
        generate: &str,
        owner: Option<(&str, &str)>,
        labels: &[(&str, &str)],
    ) -> Meta {
        Meta {
            name: name.into(),
            generate_name: generate.into(),
            owner_references: owner
                .into_iter()
                .map(|(kind, name)| OwnerReference {
                    kind: kind.into(),
                    name: name.into(),
                    controller: Some(true),
                })
                .collect(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ..Meta::default()
        }
    }

    #[test]
    fn names_follow_istios_heuristics() {
        let rs = Some(("ReplicaSet", "reviews-v3-5d8f7c9b4"));
        let hash = [("pod-template-hash", "5d8f7c9b4")];
        assert_eq!(
            workload_name(&pod(
                "reviews-v3-5d8f7c9b4-x2x7z",
                "reviews-v3-5d8f7c9b4-",
                rs,
                &hash
            )),
            "reviews-v3"
        );
        // The hash does not end the owner's name: the ReplicaSet's name.
        assert_eq!(
            workload_name(&pod("p", "g-", rs, &[("pod-template-hash", "zzz")])),
            "reviews-v3-5d8f7c9b4"
        );
        let rollout = [("rollouts-pod-template-hash", "5d8f7c9b4")];
        assert_eq!(workload_name(&pod("p", "g-", rs, &rollout)), "reviews-v3");
        let rc = Some(("ReplicationController", "frontend-3"));
        assert_eq!(
            workload_name(&pod("p", "g-", rc, &[("deploymentconfig", "frontend")])),
            "frontend"
        );
        assert_eq!(workload_name(&pod("p", "g-", rc, &[])), "frontend-3");
        assert_eq!(
            workload_name(&pod("p", "g-", Some(("Job", "backup-28123456")), &[])),
            "backup"
        );
        assert_eq!(
            workload_name(&pod("p", "g-", Some(("Job", "backup-1234567")), &[])),
            "backup-1234567"
        );
        assert_eq!(
            workload_name(&pod("db-0", "db-", Some(("StatefulSet", "db")), &[])),
            "db"
        );
        // No generated name: the pod's own name, whatever owns it.
        assert_eq!(
            workload_name(&pod("db-0", "", Some(("StatefulSet", "db")), &[])),
            "db-0"
        );
        assert_eq!(workload_name(&pod("solo", "", None, &[])), "solo");
        // The label wins over everything.
        assert_eq!(
            workload_name(&pod(
                "p",
                "g-",
                rs,
                &[("service.istio.io/workload-name", "mine")]
            )),
            "mine"
        );
    }
}
