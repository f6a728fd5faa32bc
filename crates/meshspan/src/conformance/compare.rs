//! `check`: evaluate each case, compare with `expected` as `shared/conformance/README.md` says,
//! and tabulate.

use std::fmt::Write as _;

use serde_json::Value;

use super::case;

/// The profiles whose mismatches fail `check`.
const REQUIRED: [&str; 3] = ["istio-modern", "istio-1.1.3", "istio-1.1.0"];

/// One compared (case, profile).
#[derive(Debug)]
pub struct Row {
    id: String,
    profile: String,
    status: Status,
}

#[derive(Debug)]
enum Status {
    Pass,
    Fail(String),
    Unsupported(String),
    /// Informational kinds (`gateway_set`).
    Skipped(String),
}

/// Every row of a check.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// Mismatches (or unsupported cases) in a required profile.
    pub fn required_failures(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| {
                REQUIRED.contains(&r.profile.as_str())
                    && matches!(r.status, Status::Fail(_) | Status::Unsupported(_))
            })
            .count()
    }

    /// The table and the summary per profile.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let width = self
            .rows
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(2)
            .min(110);
        let _ = writeln!(s, "{:<width$}  {:<12}  result", "id", "profile");
        for r in &self.rows {
            let (word, detail) = match &r.status {
                Status::Pass => ("pass", ""),
                Status::Fail(d) => ("FAIL", d.as_str()),
                Status::Unsupported(d) => ("unsupported", d.as_str()),
                Status::Skipped(d) => ("skipped", d.as_str()),
            };
            let _ = write!(s, "{:<width$}  {:<12}  {word}", r.id, r.profile);
            if !detail.is_empty() {
                let _ = write!(s, ": {detail}");
            }
            s.push('\n');
        }
        let mut profiles: Vec<&str> = self.rows.iter().map(|r| r.profile.as_str()).collect();
        profiles.sort_unstable();
        profiles.dedup();
        s.push('\n');
        for p in profiles {
            let rows = self.rows.iter().filter(|r| r.profile == p);
            let (mut pass, mut fail, mut unsup, mut skip) = (0, 0, 0, 0);
            for r in rows {
                match r.status {
                    Status::Pass => pass += 1,
                    Status::Fail(_) => fail += 1,
                    Status::Unsupported(_) => unsup += 1,
                    Status::Skipped(_) => skip += 1,
                }
            }
            let req = if REQUIRED.contains(&p) {
                "required"
            } else {
                "optional"
            };
            let _ = writeln!(
                s,
                "{p} ({req}): {pass} passed, {fail} failed, {unsup} unsupported, {skip} skipped"
            );
        }
        let failures = self.required_failures();
        if failures == 0 {
            s.push_str("every case of the required profiles passes\n");
        } else {
            let _ = writeln!(
                s,
                "{} in required profiles",
                mesh_model::counted(failures, "failure")
            );
        }
        s
    }
}

/// Evaluates and compares every case (and each of its `expected_other_variants`).
pub fn check(cases: &[Value]) -> Report {
    let mut report = Report::default();
    for c in cases {
        let id = c
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let profile = c
            .get("semantics")
            .and_then(Value::as_str)
            .unwrap_or("istio-modern")
            .to_owned();
        let kind = c.get("kind").and_then(Value::as_str).unwrap_or("");
        let result = case::eval(c);
        if let Some(why) = result.get("unsupported").and_then(Value::as_str) {
            let status = if kind == "gateway_set" {
                Status::Skipped(why.to_owned())
            } else {
                Status::Unsupported(why.to_owned())
            };
            report.rows.push(Row {
                id,
                profile,
                status,
            });
            continue;
        }
        let actual = result.get("actual").unwrap_or(&Value::Null);
        let expected = c.get("expected").unwrap_or(&Value::Null);
        let order = c.get("expected_order").and_then(Value::as_str);
        let compared = if kind == "locality_lb" {
            super::locality::compare(c, actual)
        } else if matches!(kind, "cluster_local" | "scope_eds" | "lifecycle") {
            super::scope::compare(kind, expected, actual)
        } else {
            compare(kind, expected, actual, order)
        };
        report.rows.push(Row {
            id: id.clone(),
            profile,
            status: status(compared),
        });
        if let Some(Value::Object(variants)) = c.get("expected_other_variants") {
            for (name, v) in variants {
                let actual = result
                    .get("actual_other_variants")
                    .and_then(|a| a.get(name))
                    .unwrap_or(&Value::Null);
                let expected = v.get("expected").unwrap_or(&Value::Null);
                let order = v.get("expected_order").and_then(Value::as_str).or(order);
                let status = match actual.get("unsupported").and_then(Value::as_str) {
                    Some(why) => Status::Unsupported(why.to_owned()),
                    None if kind == "lifecycle" => {
                        status(super::lifecycle::compare_variant(v, actual))
                    }
                    None => status(compare(kind, expected, actual, order)),
                };
                report.rows.push(Row {
                    id: id.clone(),
                    profile: name.clone(),
                    status,
                });
            }
        }
    }
    report
}

fn status(r: Result<(), String>) -> Status {
    match r {
        Ok(()) => Status::Pass,
        Err(d) => Status::Fail(d),
    }
}

/// Compares one result with one expectation.
pub fn compare(
    kind: &str,
    expected: &Value,
    actual: &Value,
    order: Option<&str>,
) -> Result<(), String> {
    match kind {
        "eds" => compare_eds(expected, actual, order != Some("unordered")),
        "meshnetworks_validation" => compare_validation(expected, actual),
        "meshnetworks_parse" => compare_parse(expected, actual),
        other => Err(format!("cannot compare a {other:?} case")),
    }
}

fn compare_eds(expected: &Value, actual: &Value, exact: bool) -> Result<(), String> {
    if expected.get("panic").is_some() {
        return if actual.get("error").is_some() {
            Ok(())
        } else {
            Err("expected a crash (panic), got an assignment".into())
        };
    }
    if let Some(e) = actual.get("error") {
        return Err(format!("expected an assignment, got error {e}"));
    }
    // `exact`: locality order is significant; `unordered`: localities compare as a multiset too
    // (the format's definition), matched by label and weight.
    let localities = |v: &Value| -> Vec<Value> {
        let mut l = v
            .get("localities")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !exact {
            l.sort_by_key(|x| {
                (
                    x.get("locality").map(Value::to_string),
                    x.get("weight").map(Value::to_string),
                )
            });
        }
        l
    };
    let (el, al) = (localities(expected), localities(actual));
    if el.len() != al.len() {
        return Err(format!(
            "{} localities expected, {} got",
            el.len(),
            al.len()
        ));
    }
    for (i, (e, a)) in el.iter().zip(&al).enumerate() {
        let (le, la) = (e.get("locality"), a.get("locality"));
        if le != la {
            return Err(format!("locality #{i}: label {le:?} expected, {la:?} got"));
        }
        let (we, wa) = (
            e.get("weight").unwrap_or(&Value::Null),
            a.get("weight").unwrap_or(&Value::Null),
        );
        if we != wa {
            return Err(format!("locality #{i}: weight {we} expected, {wa} got"));
        }
        let key = |v: &Value| -> Vec<(String, u64, u64)> {
            v.get("endpoints")
                .and_then(Value::as_array)
                .map(|eps| {
                    eps.iter()
                        .map(|ep| {
                            (
                                ep.get("address")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                ep.get("port").and_then(Value::as_u64).unwrap_or(0),
                                ep.get("weight").and_then(Value::as_u64).unwrap_or(0),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (mut ke, mut ka) = (key(e), key(a));
        if !exact {
            ke.sort();
            ka.sort();
        }
        if ke != ka {
            let show = |k: &[(String, u64, u64)]| -> String {
                k.iter()
                    .map(|(a, p, w)| format!("{a}:{p}/{w}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            return Err(format!(
                "locality #{i}: endpoints [{}] expected, [{}] got",
                show(&ke),
                show(&ka)
            ));
        }
    }
    Ok(())
}

fn compare_validation(expected: &Value, actual: &Value) -> Result<(), String> {
    let (ve, va) = (expected.get("valid"), actual.get("valid"));
    if ve != va {
        return Err(format!("valid {ve:?} expected, {va:?} got"));
    }
    let strings = |v: &Value| -> Vec<String> {
        v.get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| Some(s.as_str()?.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (mut ee, mut ea) = (strings(expected), strings(actual));
    let ordered = expected.get("errors_order").and_then(Value::as_str) == Some("exact");
    if !ordered {
        ee.sort();
        ea.sort();
    }
    if ee != ea {
        return Err(format!("errors {ee:?} expected, {ea:?} got"));
    }
    Ok(())
}

fn compare_parse(expected: &Value, actual: &Value) -> Result<(), String> {
    let (ve, va) = (expected.get("valid"), actual.get("valid"));
    if ve != va {
        return Err(format!("valid {ve:?} expected, {va:?} got"));
    }
    match (expected.get("parsed"), actual.get("parsed")) {
        (Some(e), Some(a)) if e != a => Err(format!("parsed {e} expected, {a} got")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn eds_comparison_rules() {
        let exp = json!({"localities": [{"locality": "a", "weight": 3, "endpoints": [
            {"address": "10.0.0.1", "port": 80, "weight": 1},
            {"address": "10.0.0.2", "port": 80, "weight": 2}]}]});
        let swapped = json!({"localities": [{"locality": "a", "weight": 3, "endpoints": [
            {"address": "10.0.0.2", "port": 80, "weight": 2, "kind": "direct"},
            {"address": "10.0.0.1", "port": 80, "weight": 1}]}]});
        assert!(compare("eds", &exp, &swapped, Some("unordered")).is_ok());
        assert!(compare("eds", &exp, &swapped, Some("exact")).is_err());
        let null_weight =
            json!({"localities": [{"locality": "a", "weight": null, "endpoints": []}]});
        let zero_weight = json!({"localities": [{"locality": "a", "weight": 0, "endpoints": []}]});
        assert!(compare("eds", &null_weight, &zero_weight, Some("exact")).is_err());
        assert!(compare("eds", &json!({"panic": "x"}), &json!({"error": "y"}), None).is_ok());
        assert!(compare("eds", &json!({"panic": "x"}), &exp, None).is_err());
        let two = |a: &str, b: &str| {
            json!({"localities": [
            {"locality": a, "weight": 1, "endpoints": [{"address": "10.0.0.1", "port": 80, "weight": 1}]},
            {"locality": b, "weight": 1, "endpoints": [{"address": "10.0.0.1", "port": 80, "weight": 1}]}]})
        };
        assert!(compare("eds", &two("a", "b"), &two("b", "a"), Some("unordered")).is_ok());
        assert!(compare("eds", &two("a", "b"), &two("b", "a"), Some("exact")).is_err());
    }

    #[test]
    fn validation_comparison_rules() {
        let exp = json!({"valid": false, "errors": ["b", "a"], "errors_order": "unordered"});
        assert!(
            compare(
                "meshnetworks_validation",
                &exp,
                &json!({"valid": false, "errors": ["a", "b"]}),
                None
            )
            .is_ok()
        );
        assert!(
            compare(
                "meshnetworks_validation",
                &exp,
                &json!({"valid": false, "errors": ["a"]}),
                None
            )
            .is_err()
        );
        assert!(
            compare(
                "meshnetworks_validation",
                &exp,
                &json!({"valid": true, "errors": []}),
                None
            )
            .is_err()
        );
    }
}
