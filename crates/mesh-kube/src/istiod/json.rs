//! Reading Go-marshalled JSON with the path of every value: a field absent or `null` reads as Go's
//! zero value (what `encoding/json` writes for a nil map or slice), and the keys no reader asked
//! for are what the import lists as not read.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{DebugEndpoint, IstiodError};

/// The JSON type of `v`, as an error names it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `path` then `key`: `.key` for plain names, `["key"]` otherwise.
pub(super) fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{key:?}]")
    }
}

/// A JSON value and where it is.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub endpoint: DebugEndpoint,
    pub value: &'a Value,
}

impl<'a> At<'a> {
    /// A wrong-type error for the value at `path`.
    pub fn shape(&self, path: &str, expected: &'static str) -> IstiodError {
        IstiodError::Shape {
            endpoint: self.endpoint,
            path: path.to_owned(),
            expected,
            found: kind(self.value),
        }
    }

    /// An invalid-value error for the value at `path`.
    pub fn invalid(&self, path: &str, value: &str, message: impl Into<String>) -> IstiodError {
        IstiodError::Value {
            endpoint: self.endpoint,
            path: path.to_owned(),
            value: value.to_owned(),
            message: message.into(),
        }
    }

    /// The object at `path` (`null`: empty).
    pub fn object(self, path: &str) -> Result<Fields<'a>, IstiodError> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let map = match self.value {
            Value::Object(m) => m,
            Value::Null => EMPTY.get_or_init(Map::new),
            _ => return Err(self.shape(path, "an object")),
        };
        Ok(Fields {
            endpoint: self.endpoint,
            path: path.to_owned(),
            map,
            read: Vec::new(),
        })
    }

    /// The items of the list at `path` (`null`: none), each with its path.
    pub fn list(self, path: &str) -> Result<Vec<(String, At<'a>)>, IstiodError> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| {
                    (
                        format!("{path}[{i}]"),
                        At {
                            endpoint: self.endpoint,
                            value,
                        },
                    )
                })
                .collect()),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.shape(path, "a list")),
        }
    }

    /// The entries of the map at `path` (`null`: none), each with its path, in key order.
    pub fn entries(self, path: &str) -> Result<Vec<(&'a str, String, At<'a>)>, IstiodError> {
        let mut list = self.unsorted_entries(path)?;
        list.sort_by_key(|(k, _, _)| *k);
        Ok(list)
    }

    fn unsorted_entries(self, path: &str) -> Result<Vec<(&'a str, String, At<'a>)>, IstiodError> {
        match self.value {
            Value::Object(m) => Ok(m
                .iter()
                .map(|(k, value)| {
                    (
                        k.as_str(),
                        key_path(path, k),
                        At {
                            endpoint: self.endpoint,
                            value,
                        },
                    )
                })
                .collect()),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.shape(path, "an object")),
        }
    }
}

/// The fields of one JSON object, read by name; remembers which were read.
pub(super) struct Fields<'a> {
    endpoint: DebugEndpoint,
    path: String,
    map: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// The object's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of field `key`.
    pub fn path_of(&self, key: &str) -> String {
        key_path(&self.path, key)
    }

    /// Field `key` (marked read), `null` when absent.
    pub fn field(&mut self, key: &'static str) -> At<'a> {
        static NULL: Value = Value::Null;
        self.read.push(key);
        At {
            endpoint: self.endpoint,
            value: self.map.get(key).unwrap_or(&NULL),
        }
    }

    /// A string field; absent or `null`: `""`.
    pub fn string(&mut self, key: &'static str) -> Result<&'a str, IstiodError> {
        let at = self.field(key);
        match at.value {
            Value::String(s) => Ok(s),
            Value::Null => Ok(""),
            _ => Err(at.shape(&self.path_of(key), "a string")),
        }
    }

    /// An unsigned integer field that fits `T`; absent or `null`: 0.
    pub fn uint<T: TryFrom<u64> + Default>(&mut self, key: &'static str) -> Result<T, IstiodError> {
        let at = self.field(key);
        let path = self.path_of(key);
        match at.value {
            Value::Null => Ok(T::default()),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| T::try_from(n).ok())
                .ok_or_else(|| at.invalid(&path, &n.to_string(), "out of range")),
            _ => Err(at.shape(&path, "a number")),
        }
    }

    /// A list-of-strings field; absent or `null`: empty.
    pub fn strings(&mut self, key: &'static str) -> Result<Vec<(String, &'a str)>, IstiodError> {
        let path = self.path_of(key);
        self.field(key)
            .list(&path)?
            .into_iter()
            .map(|(p, at)| match at.value {
                Value::String(s) => Ok((p, s.as_str())),
                _ => Err(at.shape(&p, "a string")),
            })
            .collect()
    }

    /// A string-to-string map field (Go `map[string]string`); absent or `null`: empty.
    pub fn string_map(
        &mut self,
        key: &'static str,
    ) -> Result<BTreeMap<String, String>, IstiodError> {
        let path = self.path_of(key);
        self.field(key)
            .entries(&path)?
            .into_iter()
            .map(|(k, p, at)| match at.value {
                Value::String(s) => Ok((k.to_owned(), s.clone())),
                _ => Err(at.shape(&p, "a string")),
            })
            .collect()
    }

    /// The keys of a Go set (`map[string]struct{}`, marshalled as `{"k": {}}`); absent or
    /// `null`: empty.
    pub fn set(&mut self, key: &'static str) -> Result<Vec<&'a str>, IstiodError> {
        let path = self.path_of(key);
        Ok(self
            .field(key)
            .entries(&path)?
            .into_iter()
            .map(|(k, _, _)| k)
            .collect())
    }

    /// The fields present with a value other than Go's zero value that no reader asked for, sorted.
    pub fn unread(&self) -> Vec<&'a str> {
        let mut list: Vec<&'a str> = self
            .map
            .iter()
            .filter(|(k, v)| !self.read.contains(&k.as_str()) && !is_zero(v))
            .map(|(k, _)| k.as_str())
            .collect();
        // serde_json keeps the text's order when a crate turns `preserve_order` on.
        list.sort_unstable();
        list
    }
}

/// Whether `v` is what Go writes for a zero value (nothing to read in it).
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

/// The fields read and not modelled, per Go type: field → how many objects carried a value.
#[derive(Debug, Default)]
pub(super) struct Unread(pub BTreeMap<&'static str, BTreeMap<String, usize>>);

impl Unread {
    /// Counts `fields`' unread fields under `go_type`.
    pub fn count(&mut self, go_type: &'static str, fields: &Fields<'_>) {
        for f in fields.unread() {
            *self
                .0
                .entry(go_type)
                .or_default()
                .entry(f.to_owned())
                .or_default() += 1;
        }
    }
}

/// Parses `text` as JSON for `endpoint`.
pub(super) fn parse(endpoint: DebugEndpoint, text: &str) -> Result<Value, IstiodError> {
    serde_json::from_str(text).map_err(|e| IstiodError::Syntax {
        endpoint,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_are_not_plain_names() {
        assert_eq!(key_path("$", "Shards"), "$.Shards");
        assert_eq!(
            key_path("$", "reviews.bookinfo.svc.cluster.local"),
            "$[\"reviews.bookinfo.svc.cluster.local\"]"
        );
        assert_eq!(
            key_path("$.Shards", "Kubernetes/c1"),
            "$.Shards[\"Kubernetes/c1\"]"
        );
    }

    #[test]
    fn absent_and_null_read_as_zero_and_other_types_are_errors() {
        let v: Value = serde_json::json!({"a": null, "n": 7, "s": "x", "big": 70000});
        let at = At {
            endpoint: DebugEndpoint::Networkz,
            value: &v,
        };
        let mut f = at.object("$[0]").unwrap();
        assert_eq!(f.string("a").unwrap(), "");
        assert_eq!(f.string("missing").unwrap(), "");
        assert_eq!(f.uint::<u32>("n").unwrap(), 7);
        assert_eq!(
            f.uint::<u16>("big").unwrap_err(),
            IstiodError::Value {
                endpoint: DebugEndpoint::Networkz,
                path: "$[0].big".into(),
                value: "70000".into(),
                message: "out of range".into()
            }
        );
        assert_eq!(
            f.string("n").unwrap_err(),
            IstiodError::Shape {
                endpoint: DebugEndpoint::Networkz,
                path: "$[0].n".into(),
                expected: "a string",
                found: "a number"
            }
        );
        // `s` was not asked for.
        assert_eq!(f.unread(), ["s"]);
        let mut g = at.object("$").unwrap();
        g.string("s").unwrap();
        assert_eq!(
            g.unread(),
            ["big", "n"],
            "null is Go's zero value: not listed"
        );
    }
}
