use std::path::{Path, PathBuf};

use common::config::{ConfigErrorKind, ConfigWarning};

use super::{parse_str, Node, Value};
use crate::config::test_dir::TestDir;

fn parse(text: &str) -> (Node, Vec<ConfigWarning>) {
    let mut warnings = Vec::new();
    let node = parse_str(text, Path::new("/etc/kea/t.json"), &mut warnings)
        .unwrap_or_else(|e| panic!("{e}"));
    (node, warnings)
}

fn error(text: &str) -> String {
    let mut warnings = Vec::new();
    match parse_str(text, Path::new("/etc/kea/t.json"), &mut warnings) {
        Ok(node) => panic!("parsed: {node:?}"),
        Err(e) => e.to_string(),
    }
}

fn entries(node: &Node) -> Vec<(&str, u32, &Value)> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|e| (e.key.as_str(), e.location.line, &e.value.value))
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn comments_of_three_kinds_are_skipped_and_lines_kept() {
    let (node, warnings) =
        parse("# hash\n{ // slashes\n /* block\n spanning */ \"a\": \"x#y//z\",\n\"b\": 2 }");
    assert!(warnings.is_empty());
    assert_eq!(
        entries(&node),
        vec![
            ("a", 4, &Value::Str("x#y//z".into())),
            ("b", 5, &Value::Int(2))
        ]
    );
}

#[test]
fn numbers_as_keas_lexer_reads_them() {
    let (node, _) = parse("[.5, -1, 1e3, +2, 7., 12345678901]");
    let Value::List(items) = node.value else {
        panic!("not a list")
    };
    let values: Vec<Value> = items.into_iter().map(|n| n.value).collect();
    assert_eq!(
        values,
        vec![
            Value::Float(0.5),
            Value::Int(-1),
            Value::Float(1000.0),
            Value::Float(2.0),
            Value::Float(7.0),
            Value::Int(12_345_678_901)
        ]
    );
    assert!(error("[-]").contains("invalid number"));
}

#[test]
fn trailing_and_doubled_commas_warn_with_their_line() {
    let (node, warnings) = parse("{\"a\": [1, 2,\n],\n\"b\": 3,,\n\"c\": 4,\n}");
    assert_eq!(entries(&node).len(), 3);
    let lines: Vec<u32> = warnings.iter().map(|w| w.location.line).collect();
    assert_eq!(lines, vec![1, 3, 4]);
    assert!(warnings[0]
        .to_string()
        .starts_with("/etc/kea/t.json:1: ,: extraneous comma"));
}

#[test]
fn string_escapes_are_json_escapes() {
    let (node, _) = parse(r#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#);
    assert_eq!(node.value, Value::Str("a\"b\\c/d\né😀".into()));
    assert!(error(r#""\x""#).contains("bad escape"));
    assert!(error("\"open\n\"").contains("string not closed"));
}

#[test]
fn syntax_errors_name_file_and_line() {
    let message = error("{\n\"a\": 1\n\"b\": 2\n}");
    assert_eq!(
        message,
        "/etc/kea/t.json:3: syntax error: expected ',' or '}' in a map, found string \"b\""
    );
    assert!(error("{\"a\": True}").contains("lower case only"));
    assert!(error("/* never closed").contains("comment not closed"));
    assert!(error("{\"a\": 1} x").starts_with("/etc/kea/t.json:1: syntax error"));
    assert!(error("[[[[").contains("unexpected end"));
}

#[test]
fn a_duplicate_key_is_an_error_naming_both_places() {
    let message = error("{\"a\": 1,\n\"a\": 2}");
    assert!(message.starts_with("/etc/kea/t.json:2: syntax error: duplicate \"a\""));
    assert!(message.contains("previous at /etc/kea/t.json:1"));
}

#[test]
fn nesting_is_bounded() {
    let deep = "[".repeat(200);
    assert!(error(&deep).contains("nest deeper"));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[test]
fn include_resolves_beside_the_including_file_and_keeps_its_locations() {
    let dir = TestDir::new("json-include");
    std::fs::create_dir_all(dir.path().join("sub")).unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "sub/subnets.json",
        "\n\n{ \"id\": 7 },\n<?include \"more.json\"?>",
    );
    write(dir.path(), "sub/more.json", "{ \"id\": 8 }");
    let main = write(
        dir.path(),
        "main.json",
        "{ \"subnet4\": [\n<?include \"sub/subnets.json\"?>\n], \"x\": 1 }",
    );
    let mut warnings = Vec::new();
    let text = std::fs::read_to_string(&main).unwrap_or_else(|e| panic!("{e}"));
    let root = parse_str(&text, &main, &mut warnings).unwrap_or_else(|e| panic!("{e}"));
    let Value::Map(entries) = &root.value else {
        panic!("not a map")
    };
    let Value::List(subnets) = &entries[0].value.value else {
        panic!("not a list")
    };
    assert_eq!(subnets.len(), 2);
    assert_eq!(
        subnets[0].location.file.as_ref(),
        dir.path().join("sub/subnets.json")
    );
    assert_eq!(subnets[0].location.line, 3);
    assert_eq!(
        subnets[1].location.file.as_ref(),
        dir.path().join("sub/more.json")
    );
    assert_eq!(entries[1].location.file.as_ref(), main.as_path());
    assert_eq!(entries[1].location.line, 3);
}

#[test]
fn an_include_cycle_and_a_missing_include_are_errors_at_the_directive() {
    let dir = TestDir::new("json-cycle");
    write(dir.path(), "a.json", "[ 1,\n<?include \"b.json\"?> ]");
    write(dir.path(), "b.json", "2,\n <?include \"a.json\"?>");
    let a = dir.path().join("a.json");
    let text = std::fs::read_to_string(&a).unwrap_or_else(|e| panic!("{e}"));
    let mut warnings = Vec::new();
    let err = parse_str(&text, &a, &mut warnings)
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert!(matches!(err.kind, ConfigErrorKind::Invalid(_)));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "{}:2: <?include?>",
            dir.path().join("b.json").display()
        )),
        "{message}"
    );
    assert!(message.contains("include cycle"), "{message}");
    let missing = parse_str("[<?include \"nope.json\"?>]", &a, &mut warnings)
        .err()
        .unwrap_or_else(|| panic!("parsed"))
        .to_string();
    assert!(missing.contains("cannot open include file"), "{missing}");
}

#[test]
fn an_include_of_an_endless_file_is_refused_after_a_bounded_read() {
    let dir = TestDir::new("json-endless");
    let main = dir.path().join("kea.conf");
    let mut warnings = Vec::new();
    let message = parse_str("[ <?include \"/dev/zero\"?> ]", &main, &mut warnings)
        .err()
        .unwrap_or_else(|| panic!("parsed"))
        .to_string();
    assert!(
        message.contains("includes bring in more than 64 MiB"),
        "{message}"
    );
}
