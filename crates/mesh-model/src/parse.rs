//! Text → the mesh document, and back. Parsing goes text → a generic JSON value → the typed
//! document, tracking the path of every field, so each error names where it was
//! (`spec.clusters[2].podCidrs[0]`) and the value it rejects. Unknown fields in our own sections
//! are errors with a "did you mean" suggestion; the `meshNetworks` section follows Istio and
//! ignores them.

use crate::document::MeshDocument;

/// Where in the text a problem is (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

/// Why a mesh document could not be read. `Display`: `<path>: <problem> (line L, column C)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The text is not YAML (or JSON) at all.
    #[error("not valid {format}: {message}")]
    Syntax {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message, with its line and column.
        message: String,
    },
    /// A field that our sections do not have.
    #[error("{path}: unknown field {field:?}{}{}", suggestion_text(.suggestion), location_text(.location))]
    UnknownField {
        /// Where it was (`spec.clusters[0]`).
        path: String,
        /// The field as written.
        field: String,
        /// The closest known field, when one is close.
        suggestion: Option<String>,
        /// Where in the text, when the parser knows.
        location: Option<Location>,
    },
    /// The YAML text goes over one of the parser's limits. The size limits (nodes, events, scalar
    /// bytes) grow with the text's length, so only aliases (`*name`, each repeating what its anchor
    /// holds) can reach them: they keep the work of reading a document proportional to its size,
    /// where an alias bomb would expand a few kilobytes into gigabytes. The others (nesting depth,
    /// aliases and anchors) are fixed.
    #[error(
        "YAML over the parser's limit {limit} = {max}: {value}{}{}",
        limit_hint(.limit),
        location_text(.location)
    )]
    Limit {
        /// The limit, named as the field of serde-saphyr's `Budget` (`max_nodes`, `max_aliases`).
        limit: &'static str,
        /// How much the text had used when the parser stopped.
        value: usize,
        /// The limit for this text.
        max: usize,
        /// Where in the text, when the parser knows.
        location: Option<Location>,
    },
    /// A field whose value is wrong: bad syntax, wrong type, missing, out of range.
    #[error("{path}: {message}{}", location_text(.location))]
    Invalid {
        /// Where it was (`spec.clusters[2].podCidrs[0]`, or `.` for the document itself).
        path: String,
        /// What is wrong, naming the value.
        message: String,
        /// Where in the text, when the parser knows.
        location: Option<Location>,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

/// Why a size limit that the text's own length cannot reach was reached.
fn limit_hint(limit: &str) -> &'static str {
    match limit {
        "max_nodes" | "max_events" | "max_total_scalar_bytes" => {
            " (an alias counts everything its anchor holds, every time)"
        }
        _ => "",
    }
}

fn location_text(l: &Option<Location>) -> String {
    match l {
        Some(l) => format!(" (line {}, column {})", l.line, l.column),
        None => String::new(),
    }
}

/// Splits the parsers' trailing location (serde-saphyr: ` at line L, column C`; serde_json:
/// ` at line L column C`) off a message.
fn split_location(message: &str) -> (&str, Option<Location>) {
    let Some(i) = message.rfind(" at line ") else {
        return (message, None);
    };
    let rest = &message[i + " at line ".len()..];
    let mut numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(str::parse::<usize>);
    match (numbers.next(), numbers.next(), numbers.next()) {
        (Some(Ok(line)), Some(Ok(column)), None) => {
            (&message[..i], Some(Location { line, column }))
        }
        _ => (message, None),
    }
}

/// Turns a path-tracked field error into a typed error.
fn field_error(path: String, message: &str) -> DocumentError {
    let (message, location) = split_location(message);
    // serde_path_to_error writes `?` for a map key it could not read (a duplicate one): the
    // error belongs to the map.
    let path = match path.strip_suffix(".?") {
        Some(p) => p.to_owned(),
        None => path,
    };
    let message = user_words(message);
    unknown_field(&path, &message, location).unwrap_or(DocumentError::Invalid {
        path,
        message,
        location,
    })
}

/// The parser's messages in the words of someone writing a document: serde-saphyr addresses
/// some to the programmer calling it ("set DuplicateKeyPolicy in Options", "use
/// from_str_multiple").
fn user_words(message: &str) -> String {
    const DUPLICATE: &str = "duplicate mapping key: ";
    const DUPLICATE_HINT: &str = ", set DuplicateKeyPolicy in Options if acceptable";
    let mut out = message.replace(
        "; use from_str_multiple or from_str_multiple_with_options",
        " (`---`): a file holds one mesh document",
    );
    while let Some(i) = out.find(DUPLICATE) {
        let rest = &out[i + DUPLICATE.len()..];
        let Some(end) = rest.find(DUPLICATE_HINT) else {
            break;
        };
        let key = rest[..end].to_owned();
        let tail = rest[end + DUPLICATE_HINT.len()..].to_owned();
        out = format!("{}field {key:?} is given twice{tail}", &out[..i]);
    }
    out
}

impl MeshDocument {
    /// Reads a mesh document from YAML.
    ///
    /// ```
    /// use mesh_model::MeshDocument;
    /// let err = MeshDocument::from_yaml(
    ///     "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters:\n  - name: c1\n    podCidrs: [10.0.0.0/33]\n",
    /// ).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"spec.clusters[0].podCidrs[0]: "10.0.0.0/33" is not a valid CIDR (line 7, column 16)"#
    /// );
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self, DocumentError> {
        // Type-directed: a scalar is read as the type the field wants, so `name: 1234` or
        // `name: y` is the string a cluster id needs, not a number or a YAML 1.1 boolean.
        let mut failed_field = None;
        let budget = yaml_budget(text.len());
        let mut options = serde_saphyr::Options::default();
        options.budget = Some(budget.clone());
        // Numbers as Kubernetes and Istio read YAML (1.1): a plain `0443` is octal 291
        // (crate::yaml11); where that reaches meshNetworks it is said.
        options.legacy_octal_numbers = true;
        let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
            serde_path_to_error::deserialize::<_, Self>(de).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                failed_field = Some((path, inner.to_string()));
                inner
            })
        });
        if let Err(e) = &parsed
            && let Some(limit) = limit_error(e, &budget)
        {
            return Err(limit);
        }
        match (parsed, failed_field) {
            (Ok(mut doc), _) => {
                doc.spec.mesh_networks.octal_ports = crate::meshnetworks::octal_ports(
                    crate::yaml11::octal_numbers(text),
                    "spec.meshNetworks",
                );
                Ok(doc)
            }
            // serde_path_to_error records "." when the problem is not inside a field: syntax.
            (Err(_), Some((path, message))) if path != "." || !is_syntax(&message) => {
                let mut error = field_error(path, &message);
                name_the_value(&mut error, text);
                Err(error)
            }
            (Err(e), _) => Err(DocumentError::Syntax {
                format: "YAML",
                message: user_words(&e.to_string()),
            }),
        }
    }

    /// Reads a mesh document from JSON.
    pub fn from_json(text: &str) -> Result<Self, DocumentError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let doc: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                DocumentError::Syntax {
                    format: "JSON",
                    message: inner.to_string(),
                }
            } else {
                field_error(path, &inner.to_string())
            }
        })?;
        de.end().map_err(|e| DocumentError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        Ok(doc)
    }

    /// Reads a mesh document from YAML or JSON, choosing by the first non-blank character.
    pub fn parse(text: &str) -> Result<Self, DocumentError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_yaml(text)
        }
    }

    /// Reads a mesh document from an already parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, DocumentError> {
        serde_path_to_error::deserialize(value)
            .map_err(|e| field_error(e.path().to_string(), &e.inner().to_string()))
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> String {
        // Serializing plain data with string keys into YAML cannot fail.
        serde_saphyr::to_string(self).unwrap_or_default()
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// serde-saphyr's limits for a YAML text of `len` bytes. Its defaults (250,000 nodes, 1,000,000
/// events, 64 MiB of scalars) are sized for configuration files and refuse a mesh of 20,000
/// endpoints that JSON reads without a limit. Every node of a text takes at least half a byte of it
/// (`[?,?]`: a flow pair is three nodes for two bytes), every event is the start or the end of a
/// node (plus the stream's and document's four), and scalars are at most as long as the text plus
/// the expansion of their tags (`!!str` stands for the 21 bytes of `tag:yaml.org,2002:str`). So
/// these limits never refuse a text for its size: only aliases, which repeat their anchor's nodes
/// without taking bytes, can reach them, and that is what refuses an alias bomb (the floor of
/// 250,000 nodes stops a short one early). The alias limits (50,000 aliases and anchors, at most 10
/// aliases an anchor) stay as they are.
fn yaml_budget(len: usize) -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(len.saturating_mul(2));
    budget.max_events = budget
        .max_events
        .max(len.saturating_mul(4).saturating_add(4));
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len.saturating_mul(5));
    budget
}

/// The typed error of a YAML text that went over one of `budget`'s limits; `None` for any other
/// error.
fn limit_error(
    error: &serde_saphyr::Error,
    budget: &serde_saphyr::Budget,
) -> Option<DocumentError> {
    use serde_saphyr::budget::BudgetBreach as B;
    let mut inner = error;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let serde_saphyr::Error::Budget { breach, .. } = inner else {
        return None;
    };
    let (limit, value, max) = match *breach {
        B::Events { events } => ("max_events", events, budget.max_events),
        B::Aliases { aliases } => ("max_aliases", aliases, budget.max_aliases),
        B::Anchors { anchors } => ("max_anchors", anchors, budget.max_anchors),
        B::Depth { depth } => ("max_depth", depth, budget.max_depth),
        B::Documents { documents } => ("max_documents", documents, budget.max_documents),
        B::Nodes { nodes } => ("max_nodes", nodes, budget.max_nodes),
        B::ScalarBytes { total_scalar_bytes } => (
            "max_total_scalar_bytes",
            total_scalar_bytes,
            budget.max_total_scalar_bytes,
        ),
        B::MergeKeys { merge_keys } => ("max_merge_keys", merge_keys, budget.max_merge_keys),
        B::AliasAnchorRatio { aliases, anchors } => (
            "alias_anchor_ratio_multiplier",
            aliases,
            budget.alias_anchor_ratio_multiplier.saturating_mul(anchors),
        ),
        B::RecordedAnchorEvents {
            recorded_anchor_events,
        } => (
            "max_recorded_anchor_events",
            recorded_anchor_events,
            budget.max_recorded_anchor_events,
        ),
        B::RecordedAnchorBytes {
            recorded_anchor_bytes,
        } => (
            "max_recorded_anchor_bytes",
            recorded_anchor_bytes,
            budget.max_recorded_anchor_bytes,
        ),
        // Limits of features we do not use (includes, properties, readers): the parser's message.
        _ => return None,
    };
    let location = error.location().map(|l| Location {
        line: usize::try_from(l.line()).unwrap_or(usize::MAX),
        column: usize::try_from(l.column()).unwrap_or(usize::MAX),
    });
    Some(DocumentError::Limit {
        limit,
        value,
        max,
        location,
    })
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" (serde-saphyr writes the list
/// without backticks) into a typed error with the closest known name. serde exposes the field and
/// the expected names only through this message.
fn unknown_field(path: &str, message: &str, location: Option<Location>) -> Option<DocumentError> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let list = rest
        .trim_start_matches(", expected one of ")
        .trim_start_matches(", expected ");
    let expected: Vec<&str> = list
        .split(", ")
        .map(|c| c.trim_matches('`'))
        .filter(|c| !c.is_empty())
        .collect();
    let suggestion = crate::suggest::closest(field, &expected).map(str::to_owned);
    // serde_path_to_error puts the unknown key itself at the end of the path; the error belongs to
    // the object that holds it.
    let parent = path
        .strip_suffix(field)
        .map(|p| p.strip_suffix('.').unwrap_or(p))
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    Some(DocumentError::UnknownField {
        path: if parent.is_empty() || parent == field {
            ".".into()
        } else {
            parent.into()
        },
        field: field.to_owned(),
        suggestion,
        location,
    })
}

/// serde-saphyr says `invalid u16` without the value: take it from the text at the location.
fn name_the_value(error: &mut DocumentError, text: &str) {
    let DocumentError::Invalid {
        message,
        location: Some(at),
        ..
    } = error
    else {
        return;
    };
    let Some(kind) = message
        .strip_prefix("invalid ")
        .filter(|k| !k.contains(' '))
    else {
        return;
    };
    let Some(line) = text.lines().nth(at.line.saturating_sub(1)) else {
        return;
    };
    let scalar: String = line
        .chars()
        .skip(at.column.saturating_sub(1))
        .take_while(|c| !matches!(c, ',' | ']' | '}' | '#'))
        .collect();
    let scalar = scalar.trim().trim_matches(|c| c == '"' || c == '\'');
    if !scalar.is_empty() {
        *message = format!("{scalar:?} is not a valid {kind}");
    }
}

/// Whether a serde-saphyr message describes broken YAML rather than a wrong value.
fn is_syntax(message: &str) -> bool {
    !message.starts_with("unknown field")
        && !message.starts_with("missing field")
        && !message.starts_with("invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\n";

    fn err(spec: &str) -> String {
        MeshDocument::from_yaml(&format!("{HEAD}spec:\n{spec}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parser_messages_speak_to_the_document_author() {
        let e = err("  clusters:\n  - name: a\n    name: b\n");
        assert_eq!(
            e,
            r#"spec.clusters[0]: field "name" is given twice (line 7, column 5)"#
        );
        let e = MeshDocument::from_yaml(&format!("{HEAD}spec: {{}}\n---\n{HEAD}spec: {{}}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("multiple YAML documents detected (`---`): a file holds one mesh document"),
            "{e}"
        );
        let e = MeshDocument::from_yaml(&format!("{HEAD}kind: Mesh\nspec: {{}}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"field "kind" is given twice"#), "{e}");
        for e in [e, err("  clusters:\n  - name: a\n    name: b\n")] {
            assert!(
                !e.contains("DuplicateKeyPolicy") && !e.contains(".?"),
                "{e}"
            );
        }
    }

    #[test]
    fn api_server_address_is_host_and_port() {
        let doc = |address: &str| {
            MeshDocument::from_yaml(&format!(
                "{HEAD}spec:\n  clusters:\n  - name: c1\n    apiServer: {{address: {address:?}}}\n"
            ))
        };
        for good in ["10.0.0.1:6443", "[fd00::1]:443", "api.example.com:6443"] {
            assert!(doc(good).is_ok(), "{good}");
        }
        for bad in [
            "not an address",
            "10.0.0.1",
            "10.0.0.1:0",
            "host:port",
            "[fd00::zz]:443",
            ":6443",
        ] {
            let e = doc(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("spec.clusters[0].apiServer.address:")
                    && e.contains("is not an address"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn lists_written_without_a_value_are_empty() {
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: c1\n    podCidrs:\n  services:\n  - name: a\n    namespace: ns\n    ports:\n    endpoints:\n  links:\n"
        ))
        .unwrap();
        assert!(doc.spec.services[0].endpoints.is_empty());
        assert!(doc.spec.clusters[0].pod_cidrs.is_empty());
        let json = r#"{"apiVersion": "meshspan/v1alpha1", "kind": "Mesh", "metadata": {"name": "m"},
            "spec": {"services": [{"name": "a", "namespace": "ns", "endpoints": null}]}}"#;
        assert!(
            MeshDocument::from_json(json).unwrap().spec.services[0]
                .endpoints
                .is_empty()
        );
        // Istio's MeshNetworks reads null as the default too (protobuf JSON).
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  meshNetworks:\n    networks:\n      n1:\n        endpoints:\n        gateways:\n"
        ))
        .unwrap();
        assert!(doc.spec.mesh_networks.networks["n1"].endpoints.is_empty());
    }

    #[test]
    fn bad_cidr_names_path_and_value() {
        assert_eq!(
            err(
                "  clusters:\n  - name: a\n  - name: b\n  - name: c\n    podCidrs: [10.0.0.0/33]\n"
            ),
            r#"spec.clusters[2].podCidrs[0]: "10.0.0.0/33" is not a valid CIDR (line 9, column 16)"#
        );
        assert_eq!(
            err("  clusters:\n  - name: a\n    serviceCidrs: [10.0.0.1/8]\n"),
            r#"spec.clusters[0].serviceCidrs[0]: "10.0.0.1/8" is not a valid CIDR: host bits are set (did you mean "10.0.0.0/8"?) (line 7, column 20)"#
        );
    }

    #[test]
    fn cluster_ca_certs_are_optional_inline_pem() {
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: a\n    caCerts: {{rootCert: r, caCert: c, certChain: ch}}\n  - name: b\n"
        ))
        .unwrap();
        let certs = doc.spec.clusters[0].ca_certs.as_ref().unwrap();
        assert_eq!(
            (
                certs.root_cert.as_str(),
                certs.ca_cert.as_str(),
                certs.cert_chain.as_str()
            ),
            ("r", "c", "ch")
        );
        assert_eq!(doc.spec.clusters[1].ca_certs, None);
        let json = serde_json::to_string(&doc).unwrap();
        assert!(json.contains(r#""caCerts":{"rootCert":"r","caCert":"c","certChain":"ch"}"#));
        assert_eq!(json.matches("caCerts").count(), 1);
        let e = err(
            "  clusters:\n  - name: a\n    caCerts: {rootCert: r, caCert: c, certChain: ch, caKey: k}\n",
        );
        assert!(e.contains("caKey"), "{e}");
    }

    #[test]
    fn bad_name() {
        let e = err("  clusters:\n  - name: cluster_1\n");
        assert!(
            e.starts_with("spec.clusters[0].name: cluster id \"cluster_1\" is invalid"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_suggests() {
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: a\n    podCidr: [10.0.0.0/8]\n"
        ));
        assert_eq!(
            doc.unwrap_err(),
            DocumentError::UnknownField {
                path: "spec.clusters[0]".into(),
                field: "podCidr".into(),
                suggestion: Some("podCidrs".into()),
                location: Some(Location { line: 7, column: 5 }),
            }
        );
        assert_eq!(
            err("  clusters:\n  - name: a\n    podCidr: [10.0.0.0/8]\n"),
            r#"spec.clusters[0]: unknown field "podCidr" (did you mean "podCidrs"?) (line 7, column 5)"#
        );
    }

    #[test]
    fn wrong_type_and_missing_field() {
        let e = err("  services:\n  - name: foo\n    namespace: ns\n    ports: [{port: http}]\n");
        assert_eq!(
            e,
            r#"spec.services[0].ports[0].port: "http" is not a valid u16 (line 8, column 20)"#
        );
        let e = err("  clusters:\n  - network: n1\n");
        assert_eq!(
            e,
            "spec.clusters[0]: missing field `name` (line 6, column 5)"
        );
        let e = MeshDocument::from_json(r#"{"apiVersion": 1}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "apiVersion: invalid type: integer `1`, expected a string (line 1, column 16)"
        );
    }

    #[test]
    fn scalars_are_read_as_the_field_wants() {
        // YAML 1.1 would make `y` and `on` booleans and `1234` a number: all are valid cluster ids.
        let doc = MeshDocument::from_yaml(&format!(
            "{HEAD}spec:\n  clusters:\n  - name: y\n  - name: 1234\n  - {{name: on, network: 10}}\n"
        ))
        .unwrap();
        let names: Vec<&str> = doc.spec.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["y", "1234", "on"]);
        assert_eq!(
            doc.spec.clusters[2].network.as_ref().unwrap().as_str(),
            "10"
        );
        assert_eq!(MeshDocument::from_yaml(&doc.to_yaml()).unwrap(), doc);
    }

    #[test]
    fn endpoint_address_forms() {
        let e = err(
            "  services:\n  - name: foo\n    namespace: ns\n    endpoints:\n    - {cluster: c, address: 10.0.0.300}\n",
        );
        assert_eq!(
            e,
            r#"spec.services[0].endpoints[0].address: "10.0.0.300" is not a valid IP address (line 9, column 29)"#
        );
        let e = err(
            "  services:\n  - name: foo\n    namespace: ns\n    endpoints:\n    - {cluster: c}\n",
        );
        assert_eq!(
            e,
            "spec.services[0].endpoints[0]: an endpoint needs `address` (or `addresses`) (line 9, column 7)"
        );
    }

    #[test]
    fn wrong_api_version() {
        let e =
            MeshDocument::from_yaml("apiVersion: v2\nkind: Mesh\nmetadata: {name: m}\nspec: {}\n")
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "apiVersion: \"v2\" is not a supported apiVersion (expected \"meshspan/v1alpha1\") (line 1, column 13)"
        );
    }

    #[test]
    fn syntax_error_is_typed() {
        assert!(matches!(
            MeshDocument::from_yaml("{").unwrap_err(),
            DocumentError::Syntax { format: "YAML", .. }
        ));
        assert!(matches!(
            MeshDocument::from_json("{").unwrap_err(),
            DocumentError::Syntax { format: "JSON", .. }
        ));
    }
}

#[cfg(test)]
mod destination_rule_tests {
    use super::*;

    const HEAD: &str = "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n";

    fn err(spec: &str) -> DocumentError {
        MeshDocument::from_yaml(&format!("{HEAD}{spec}")).unwrap_err()
    }

    fn invalid(e: &DocumentError) -> (&str, &str) {
        match e {
            DocumentError::Invalid { path, message, .. } => (path.as_str(), message.as_str()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn istio_rejections_name_the_path() {
        let e = err(
            "  destinationRules:\n  - host: a.b\n    trafficPolicy:\n      loadBalancer:\n        localityLbSetting:\n          distribute: [{from: 'us-east/*', to: {us-east/1a: 60, us-west: 30}}]\n",
        );
        assert_eq!(
            invalid(&e),
            (
                "spec.destinationRules[0].trafficPolicy.loadBalancer",
                "localityLbSetting.distribute[0].to: total locality weight 90 != 100"
            )
        );
        let e = err(
            "  destinationRules:\n  - host: a.b\n    subsets:\n    - name: v1\n      trafficPolicy:\n        loadBalancer: {localityLbSetting: {failover: [{from: r1, to: r1}]}}\n",
        );
        assert_eq!(
            invalid(&e),
            (
                "spec.destinationRules[0].subsets[0].trafficPolicy.loadBalancer",
                "localityLbSetting.failover[0]: locality lb failover settings must specify different regions"
            )
        );
        let e = err(
            "  meshConfig:\n    localityLbSetting: {distribute: [{from: 'us-*-east', to: {r: 100}}]}\n",
        );
        assert_eq!(
            invalid(&e),
            (
                "spec.meshConfig.localityLbSetting",
                "distribute: locality us-*-east wildcard '*' number can not exceed 1 and must be in the end"
            )
        );
        let e = err("  destinationRules:\n  - host: a.b\n    trafficPolicy: {}\n");
        assert_eq!(
            invalid(&e),
            (
                "spec.destinationRules[0].trafficPolicy",
                "traffic policy must have at least one field"
            )
        );
        let e = err("  destinationRules:\n  - host: '*.b'\n");
        assert!(invalid(&e).0 == "spec.destinationRules[0].host", "{e}");
        let e = err("  services:\n  - {name: a, namespace: b, trafficDistribution: PreferFar}\n");
        assert!(
            invalid(&e).0 == "spec.services[0].trafficDistribution",
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_suggest_istio_names() {
        let e = err(
            "  destinationRules:\n  - host: a.b\n    trafficPolicy:\n      outlierDetecton: {}\n",
        );
        assert_eq!(
            e,
            DocumentError::UnknownField {
                path: "spec.destinationRules[0].trafficPolicy".into(),
                field: "outlierDetecton".into(),
                suggestion: Some("outlierDetection".into()),
                location: Some(Location { line: 8, column: 7 }),
            }
        );
    }

    #[test]
    fn policy_round_trips() {
        let doc = MeshDocument::from_yaml(include_str!("../../../examples/failover.yaml")).unwrap();
        assert_eq!(doc.spec.destination_rules.len(), 1);
        assert_eq!(MeshDocument::from_yaml(&doc.to_yaml()).unwrap(), doc);
        assert_eq!(MeshDocument::from_json(&doc.to_json()).unwrap(), doc);
    }
}
