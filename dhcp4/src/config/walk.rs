//! Typed reads of the located JSON tree: each getter names the key path and
//! the line in its error, so section code reads like the schema it checks.

use std::net::Ipv4Addr;

use common::config::{ConfigError, ConfigWarning, Location};

use super::json::{Entry, Node, Value};

/// The loader's running state: the warnings gathered so far.
#[derive(Debug, Default)]
pub(crate) struct Loader {
    /// Named warnings, in file order.
    pub warnings: Vec<ConfigWarning>,
    /// `ip-reservations-unique` is false: hosts may share a reserved address.
    pub shared_reserved_ips: bool,
}

impl Loader {
    /// Records a warning about `key` at `location`.
    pub fn warn(&mut self, location: &Location, key: &str, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            location: location.clone(),
            key: key.to_string(),
            message: message.into(),
        });
    }
}

/// A JSON object being read: its entries and its key path.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    /// The key path of the object (`Dhcp4.subnet4[0]`).
    pub path: &'a str,
    /// Where the object starts.
    pub location: &'a Location,
    /// Its entries.
    pub entries: &'a [Entry],
}

impl<'a> Obj<'a> {
    /// `node` as an object at `path`.
    pub fn new(node: &'a Node, path: &'a str) -> Result<Obj<'a>, ConfigError> {
        match &node.value {
            Value::Map(entries) => Ok(Obj {
                path,
                location: &node.location,
                entries,
            }),
            other => Err(expected(node, path, "a map", other)),
        }
    }

    /// The entry `key`, if written.
    pub fn get(&self, key: &str) -> Option<&'a Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The path of `key` in this object.
    pub fn key(&self, key: &str) -> String {
        join(self.path, key)
    }

    /// `key` as a string, if written.
    pub fn str(&self, key: &str) -> Result<Option<&'a str>, ConfigError> {
        self.get(key)
            .map(|e| string(&e.value, &self.key(key)))
            .transpose()
    }

    /// `key` as a string that may not be empty.
    pub fn required_str(&self, key: &str) -> Result<&'a str, ConfigError> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ConfigError::invalid(
                self.get(key).map_or(self.location, |e| &e.location),
                self.key(key),
                "required and may not be empty",
            )),
        }
    }

    /// `key` as a boolean, if written.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.get(key)
            .map(|e| boolean(&e.value, &self.key(key)))
            .transpose()
    }

    /// `key` as a whole number from 0 to 4294967295, if written.
    pub fn u32(&self, key: &str) -> Result<Option<u32>, ConfigError> {
        self.get(key)
            .map(|e| uint32(&e.value, &self.key(key)))
            .transpose()
    }

    /// `key` as a real number, if written (integers are accepted).
    pub fn f64(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.get(key)
            .map(|e| match e.value.value {
                Value::Float(f) => Ok(f),
                Value::Int(n) => Ok(n as f64),
                ref other => Err(expected(&e.value, &self.key(key), "a number", other)),
            })
            .transpose()
    }

    /// `key` as a list, if written.
    pub fn list(&self, key: &str) -> Result<Option<&'a [Node]>, ConfigError> {
        self.get(key)
            .map(|e| list(&e.value, &self.key(key)))
            .transpose()
    }

    /// Calls `each` with every map of the list `key` (none when absent), as
    /// an object at its own path (`key[i]`).
    pub fn each_map(
        &self,
        key: &str,
        mut each: impl FnMut(&Obj<'_>) -> Result<(), ConfigError>,
    ) -> Result<(), ConfigError> {
        let path = self.key(key);
        for (i, node) in self.list(key)?.unwrap_or_default().iter().enumerate() {
            let at = index(&path, i);
            each(&Obj::new(node, &at)?)?;
        }
        Ok(())
    }

    /// `key` as a list of strings; empty when absent.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        let path = self.key(key);
        let Some(items) = self.list(key)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, n)| string(n, &index(&path, i)).map(str::to_string))
            .collect()
    }

    /// `key` as an IPv4 address; an empty string counts as absent (Kea's
    /// no-op value for `next-server`).
    pub fn ipv4(&self, key: &str) -> Result<Option<Ipv4Addr>, ConfigError> {
        match self.str(key)? {
            None | Some("") => Ok(None),
            Some(text) => ipv4(text, self.loc(key), &self.key(key)).map(Some),
        }
    }

    /// Where `key` is written, or the object when it is not.
    pub fn loc(&self, key: &str) -> &'a Location {
        self.get(key).map_or(self.location, |e| &e.location)
    }
}

/// `parent.key`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

fn expected(node: &Node, path: &str, what: &str, found: &Value) -> ConfigError {
    ConfigError::invalid(
        &node.location,
        path,
        format!("expected {what}, found {}", found.kind()),
    )
}

/// `node` as a string.
pub(crate) fn string<'a>(node: &'a Node, path: &str) -> Result<&'a str, ConfigError> {
    match &node.value {
        Value::Str(s) => Ok(s),
        other => Err(expected(node, path, "a string", other)),
    }
}

/// `node` as a boolean.
pub(crate) fn boolean(node: &Node, path: &str) -> Result<bool, ConfigError> {
    match node.value {
        Value::Bool(b) => Ok(b),
        ref other => Err(expected(node, path, "true or false", other)),
    }
}

/// `node` as a whole number from 0 to 4294967295.
pub(crate) fn uint32(node: &Node, path: &str) -> Result<u32, ConfigError> {
    match node.value {
        Value::Int(n) => u32::try_from(n).map_err(|_| {
            ConfigError::invalid(
                &node.location,
                path,
                format!("{n} is outside 0 to 4294967295"),
            )
        }),
        ref other => Err(expected(node, path, "a whole number", other)),
    }
}

/// `node` as a list.
pub(crate) fn list<'a>(node: &'a Node, path: &str) -> Result<&'a [Node], ConfigError> {
    match &node.value {
        Value::List(items) => Ok(items),
        other => Err(expected(node, path, "a list", other)),
    }
}

/// `text` as an IPv4 address.
pub(crate) fn ipv4(text: &str, at: &Location, path: &str) -> Result<Ipv4Addr, ConfigError> {
    text.trim()
        .parse()
        .map_err(|_| ConfigError::invalid(at, path, format!("{text:?} is not an IPv4 address")))
}

/// Hex as Kea writes identifiers and binary data: `01:02:0a`, `01 02 0a`,
/// `01020a`, `0x01020a` (an odd digit count gets a leading zero, as Kea's
/// `decodeFormattedHexString`).
pub(crate) fn hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let separated = text.contains(':') || text.contains(' ');
    if separated {
        let sep = if text.contains(':') { ':' } else { ' ' };
        return text
            .split(sep)
            .map(|group| match group.len() {
                1 | 2 => u8::from_str_radix(group, 16).ok(),
                _ => None,
            })
            .collect();
    }
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    padded
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn hex_in_every_spelling_kea_reads() {
        assert_eq!(hex("01:0a:ff"), Some(vec![1, 10, 255]));
        assert_eq!(hex("1:a:ff"), Some(vec![1, 10, 255]));
        assert_eq!(hex("01 0a ff"), Some(vec![1, 10, 255]));
        assert_eq!(hex("010aff"), Some(vec![1, 10, 255]));
        assert_eq!(hex("0x10aff"), Some(vec![1, 10, 255]));
        assert_eq!(hex("01::02"), None);
        assert_eq!(hex("zz"), None);
        assert_eq!(hex(""), None);
    }
}
