//! Kea's command channel: the JSON commands kea-shell, Stork, operators'
//! scripts and an HA partner send (`{"command", "arguments", "service"}`)
//! and Kea's answers (`{"result", "text", "arguments"}`), over a UNIX socket
//! ([`unix`]) and over HTTP as Kea's Control Agent serves them ([`http`]).
//!
//! Security: nothing listens unless configured; an HTTP listener off
//! loopback needs authentication (the configuration refuses it otherwise);
//! requests are bounded in size and time; only the lease commands change
//! leases.

mod commands;
pub mod http;
pub mod lease_json;
pub mod unix;

use serde_json::{json, Map, Value};

pub use commands::{Control, COMMANDS, EXIT_VALUE};

/// Kea's result codes.
pub mod result {
    /// The command succeeded.
    pub const SUCCESS: u32 = 0;
    /// It failed.
    pub const ERROR: u32 = 1;
    /// The command is not known.
    pub const UNSUPPORTED: u32 = 2;
    /// It succeeded and found nothing.
    pub const EMPTY: u32 = 3;
}

/// Largest command accepted, in bytes (a lease4-update of a big
/// user-context fits; a config-test of a large config fits).
pub const MAX_COMMAND: usize = 4 * 1024 * 1024;

/// One answer in Kea's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// [`result`] code.
    pub result: u32,
    /// What happened, in Kea's words (some answers have none).
    pub text: Option<String>,
    /// What the command returns, when it returns anything.
    pub arguments: Option<Value>,
}

impl Answer {
    /// A success with `text` and no arguments.
    pub fn ok(text: impl Into<String>) -> Answer {
        Answer::text(result::SUCCESS, text)
    }

    /// An answer with `result` and `text`, no arguments.
    pub fn text(result: u32, text: impl Into<String>) -> Answer {
        Answer {
            result,
            text: Some(text.into()),
            arguments: None,
        }
    }

    /// An answer carrying `arguments` with `text`.
    pub fn with(result: u32, text: impl Into<String>, arguments: Value) -> Answer {
        Answer {
            result,
            text: Some(text.into()),
            arguments: Some(arguments),
        }
    }

    /// A success that is only its arguments (status-get, config-get, ...).
    pub fn data(arguments: Value) -> Answer {
        Answer {
            result: result::SUCCESS,
            text: None,
            arguments: Some(arguments),
        }
    }

    /// A failure.
    pub fn error(text: impl Into<String>) -> Answer {
        Answer::text(result::ERROR, text)
    }

    /// An empty result (nothing found).
    pub fn empty(text: impl Into<String>) -> Answer {
        Answer::text(result::EMPTY, text)
    }

    /// The answer to a command nobody serves.
    pub fn unsupported(command: &str) -> Answer {
        Answer::text(
            result::UNSUPPORTED,
            format!("'{command}' command not supported."),
        )
    }

    /// The answer as Kea writes it.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("result".into(), json!(self.result));
        if let Some(text) = &self.text {
            map.insert("text".into(), json!(text));
        }
        if let Some(arguments) = &self.arguments {
            map.insert("arguments".into(), arguments.clone());
        }
        Value::Object(map)
    }
}

/// JSON as Kea writes it (Element::str): keys sorted, `{ "k": v, "l": w }`,
/// `[ a, b ]`, empty containers `{  }` and `[  ]`, so answers compare byte
/// for byte with Kea's and scripts that match on its text keep working.
pub fn kea_text(value: &Value) -> String {
    let mut out = String::new();
    write_kea(value, &mut out);
    out
}

fn write_kea(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_kea(item, out);
            }
            out.push_str(" ]");
        }
        Value::Object(map) => {
            out.push_str("{ ");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                if let Some(item) = map.get(key) {
                    write_kea(item, out);
                }
            }
            out.push_str(" }");
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A command as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Its name.
    pub command: String,
    /// Its arguments (a map), if any.
    pub arguments: Option<Map<String, Value>>,
    /// The daemons it is for (`service`), as the Control Agent routes it.
    pub service: Option<Vec<String>>,
}

impl Request {
    /// Reads a command from its JSON text; a malformed one gets Kea's answer.
    pub fn parse(text: &[u8]) -> Result<Request, Answer> {
        let value: Value = serde_json::from_slice(text)
            .map_err(|e| Answer::error(format!("invalid command: {e}")))?;
        Request::from_json(value)
    }

    /// Reads a command from parsed JSON.
    pub fn from_json(value: Value) -> Result<Request, Answer> {
        let Value::Object(mut map) = value else {
            return Err(Answer::error(
                "Error during command processing: Invalid command Element specified, expected map",
            ));
        };
        let command = match map.remove("command") {
            Some(Value::String(command)) => command,
            Some(_) => return Err(Answer::error(
                "Error during command processing: 'command' element in command message is not a string",
            )),
            None => return Err(Answer::error(
                "Error during command processing: Invalid answer specified, does not contain mandatory 'command'",
            )),
        };
        let arguments = match map.remove("arguments") {
            None => None,
            Some(Value::Object(arguments)) => Some(arguments),
            Some(_) => return Err(Answer::error("'arguments' argument must be a map")),
        };
        let service = match map.remove("service") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        _ => Err(Answer::error("service value must be a string")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err(Answer::error("service value must be a list")),
        };
        if let Some(key) = map.keys().find(|k| !matches!(k.as_str(), "remote-address")) {
            return Err(Answer::error(format!(
                "Error during command processing: Received command contains unsupported parameter '{key}'"
            )));
        }
        Ok(Request {
            command,
            arguments,
            service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_malformed_ones_get_keas_errors() {
        let request = Request::parse(
            br#"{"command":"lease4-get","arguments":{"ip-address":"192.0.2.1"},"service":["dhcp4"]}"#,
        );
        let Ok(request) = request else {
            panic!("{request:?}");
        };
        assert_eq!(request.command, "lease4-get");
        assert_eq!(request.service, Some(vec!["dhcp4".to_string()]));
        for (text, why) in [
            (&b"{"[..], "invalid command"),
            (b"[1]", "expected map"),
            (br#"{"arguments":{}}"#, "mandatory 'command'"),
            (br#"{"command":"x","arguments":[1]}"#, "must be a map"),
            (
                br#"{"command":"x","bogus":1}"#,
                "unsupported parameter 'bogus'",
            ),
        ] {
            match Request::parse(text) {
                Err(answer) => {
                    assert_eq!(answer.result, result::ERROR);
                    let text = answer.text.unwrap_or_default();
                    assert!(text.contains(why), "{why}: {text}");
                }
                Ok(request) => panic!("{request:?} accepted"),
            }
        }
    }

    #[test]
    fn answers_carry_arguments_only_when_there_are_some() {
        assert_eq!(
            Answer::ok("done").to_json(),
            json!({"result": 0, "text": "done"})
        );
        assert_eq!(
            Answer::with(3, "none", json!({"leases": []})).to_json(),
            json!({"result": 3, "text": "none", "arguments": {"leases": []}})
        );
    }

    #[test]
    fn answers_are_written_as_kea_writes_them() {
        let answer = Answer::with(0, "2 found", json!({"leases": [], "count": 0, "m": {}}));
        assert_eq!(
            kea_text(&answer.to_json()),
            r#"{ "arguments": { "count": 0, "leases": [  ], "m": {  } }, "result": 0, "text": "2 found" }"#
        );
        assert_eq!(
            kea_text(&json!([{"a": "x\"y"}, 1.5, null])),
            r#"[ { "a": "x\"y" }, 1.5, null ]"#
        );
    }
}
