//! Adapts an operator's Kea `Dhcp4` file to a test namespace without
//! touching anything else in it: the `interfaces-config.interfaces` list
//! becomes the namespace's interface and `lease-database.name` the test's
//! own lease file. The file is edited as text (Kea's JSON has comments and
//! trailing commas, which a JSON library would refuse or drop), skipping
//! `//`, `#` and `/* */` comments and string contents while looking for keys.

use anyhow::{bail, Context as _};

/// Byte ranges of `text` that are code (neither comment nor string body),
/// as a per-byte mask.
fn code_mask(text: &[u8]) -> Vec<bool> {
    let mut mask = vec![true; text.len()];
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                // Mark the string's body (quotes stay code, to find keys).
                let start = i + 1;
                let mut j = start;
                while j < text.len() && text[j] != b'"' {
                    j += if text[j] == b'\\' { 2 } else { 1 };
                }
                for m in mask.iter_mut().take(j.min(text.len())).skip(start) {
                    *m = false;
                }
                i = j + 1;
            }
            b'#' => i = blank_until(&mut mask, i, text, b"\n"),
            b'/' if text.get(i + 1) == Some(&b'/') => i = blank_until(&mut mask, i, text, b"\n"),
            b'/' if text.get(i + 1) == Some(&b'*') => i = blank_until(&mut mask, i, text, b"*/"),
            _ => i += 1,
        }
    }
    mask
}

/// Marks `text[from..]` up to and including `end` as comment; returns the
/// index after it.
fn blank_until(mask: &mut [bool], from: usize, text: &[u8], end: &[u8]) -> usize {
    let stop = text[from..]
        .windows(end.len())
        .position(|w| w == end)
        .map_or(text.len(), |p| from + p + end.len());
    for m in &mut mask[from..stop] {
        *m = false;
    }
    stop
}

/// The index just after the `"key"` token (in code) and its `:`.
fn find_key(text: &[u8], mask: &[bool], key: &str, from: usize) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let needle = needle.as_bytes();
    let mut at = from;
    while at + needle.len() <= text.len() {
        let hit = text[at..].windows(needle.len()).position(|w| w == needle)? + at;
        if mask[hit] && mask[hit + needle.len() - 1] {
            let colon = next_code(text, mask, hit + needle.len())?;
            if text[colon] == b':' {
                return Some(colon + 1);
            }
        }
        at = hit + 1;
    }
    None
}

/// The index of the next code byte that is not white space.
fn next_code(text: &[u8], mask: &[bool], from: usize) -> Option<usize> {
    (from..text.len()).find(|&i| mask[i] && !text[i].is_ascii_whitespace())
}

/// The index of the bracket closing the one opened at `open`.
fn matching(text: &[u8], mask: &[bool], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in open..text.len() {
        if !mask[i] {
            continue;
        }
        match text[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` with the interface list set to `[ "interface" ]` and the memfile
/// lease file set to `lease_file` (added when the file names none).
pub fn adapt(text: &str, interface: &str, lease_file: &str) -> anyhow::Result<String> {
    let with_interface = set_interfaces(text, interface)?;
    set_lease_file(&with_interface, lease_file)
}

fn set_interfaces(text: &str, interface: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mask = code_mask(bytes);
    let config = find_key(bytes, &mask, "interfaces-config", 0)
        .context("no \"interfaces-config\" in the config")?;
    let list = find_key(bytes, &mask, "interfaces", config).context("no \"interfaces\" list")?;
    let open = next_code(bytes, &mask, list).context("\"interfaces\" has no value")?;
    if bytes[open] != b'[' {
        bail!("\"interfaces\" is not a list");
    }
    let close = matching(bytes, &mask, open).context("unclosed \"interfaces\" list")?;
    Ok(format!(
        "{}[ \"{interface}\" ]{}",
        &text[..open],
        &text[close + 1..]
    ))
}

fn set_lease_file(text: &str, lease_file: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mask = code_mask(bytes);
    let db = find_key(bytes, &mask, "lease-database", 0).context("no \"lease-database\"")?;
    let open = next_code(bytes, &mask, db).context("\"lease-database\" has no value")?;
    if bytes[open] != b'{' {
        bail!("\"lease-database\" is not an object");
    }
    let close = matching(bytes, &mask, open).context("unclosed \"lease-database\"")?;
    // A "name" directly inside the object (depth 1).
    let mut at = open + 1;
    while let Some(value) = find_key(bytes, &mask, "name", at).filter(|&v| v < close) {
        let depth = (open..value)
            .filter(|&i| mask[i])
            .fold(0i32, |d, i| match bytes[i] {
                b'{' | b'[' => d + 1,
                b'}' | b']' => d - 1,
                _ => d,
            });
        if depth == 1 {
            let start = next_code(bytes, &mask, value).context("\"name\" has no value")?;
            if bytes[start] != b'"' {
                bail!("lease-database \"name\" is not a string");
            }
            let end = (start + 1..close)
                .find(|&i| mask[i] && bytes[i] == b'"')
                .context("unclosed lease-database name")?;
            return Ok(format!(
                "{}\"{lease_file}\"{}",
                &text[..start],
                &text[end + 1..]
            ));
        }
        at = value;
    }
    let empty = next_code(bytes, &mask, open + 1) == Some(close);
    let comma = if empty { "" } else { "," };
    Ok(format!(
        "{} \"name\": \"{lease_file}\"{comma}{}",
        &text[..=open],
        &text[open + 1..]
    ))
}

#[cfg(test)]
mod tests {
    use super::adapt;

    #[test]
    fn the_interface_list_and_lease_name_change_and_nothing_else() {
        let text = r#"{ "Dhcp4": {
  // "interfaces": [ "commented" ]
  "interfaces-config": { "interfaces": [ ] }, # "lease-database": {}
  "lease-database": { "type": "memfile", /* "name": "x" */ "lfc-interval": 3600 },
  "option-data": [ { "name": "domain-name", "data": "a \"name\": b" } ]
} }"#;
        let out = adapt(text, "srv0", "/tmp/l.csv").unwrap();
        assert!(out.contains(r#""interfaces-config": { "interfaces": [ "srv0" ] }"#));
        assert!(out.contains(r#""lease-database": { "name": "/tmp/l.csv", "type": "memfile""#));
        assert!(out.contains(r#"// "interfaces": [ "commented" ]"#));
        assert!(out.contains(r#"/* "name": "x" */"#));
        assert!(out.contains(r#""data": "a \"name\": b""#));
    }

    #[test]
    fn an_existing_lease_file_name_is_replaced() {
        let text = r#"{"Dhcp4":{"interfaces-config":{"interfaces":["eth0","eth1"]},
"lease-database":{"type":"memfile","name":"/var/lib/kea/x.csv","persist":true}}}"#;
        let out = adapt(text, "srv0", "/tmp/l.csv").unwrap();
        assert!(out.contains(r#""interfaces":[ "srv0" ]"#), "{out}");
        assert!(out.contains(r#""name":"/tmp/l.csv","persist""#), "{out}");
        assert!(!out.contains("x.csv"));
    }
}
