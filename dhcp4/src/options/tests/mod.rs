//! Option definitions and encoding against Kea 2.6: the expected bytes come
//! from Kea's own unit tests where they have one (cited), else from the Kea
//! code path named beside the test.

use super::table::{AGENT_SPACE, DOCSIS_SPACE, VENDOR_ENCAPSULATED_SPACE};
use super::DataType::{self, *};
use super::*;

mod definitions;
mod encoding;
mod kea_table;
mod served;

pub(super) fn spec(name: &str, data: &str) -> OptionDataSpec {
    OptionDataSpec {
        name: Some(name.to_string()),
        data: data.to_string(),
        ..OptionDataSpec::default()
    }
}

pub(super) fn encode(defs: &OptionDefs, name: &str, data: &str) -> Result<Vec<u8>, OptionError> {
    defs.encode(&spec(name, data)).map(|o| o.option.data)
}

pub(super) fn std_encode(name: &str, data: &str) -> Vec<u8> {
    match encode(&OptionDefs::standard(), name, data) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{name} = {data:?}: {e}"),
    }
}

pub(super) fn def(name: &str, code: u8, space: &str, data_type: DataType) -> OptionDef {
    OptionDef {
        name: name.to_string(),
        code,
        space: space.to_string(),
        data_type,
        record_types: Vec::new(),
        array: false,
        encapsulate: None,
    }
}

/// A sample value per type and the bytes Kea's `writeToBuffer` makes of it.
pub(super) fn sample(data_type: DataType) -> (&'static str, Vec<u8>) {
    match data_type {
        Binary => ("0a0B", vec![0x0a, 0x0b]),
        Boolean => ("true", vec![1]),
        Int8 => ("-2", vec![0xfe]),
        Int16 => ("-2", vec![0xff, 0xfe]),
        Int32 => ("-3600", (-3600i32).to_be_bytes().to_vec()),
        Uint8 => ("7", vec![7]),
        Uint16 => ("1500", vec![0x05, 0xdc]),
        Uint32 => ("86400", 86400u32.to_be_bytes().to_vec()),
        Ipv4Address => ("192.0.2.1", vec![192, 0, 2, 1]),
        Ipv6Address => ("2001:db8::1", {
            let mut v = vec![0x20, 0x01, 0x0d, 0xb8];
            v.extend_from_slice(&[0; 11]);
            v.push(1);
            v
        }),
        Ipv6Prefix => ("2001:db8::/32", vec![32, 0x20, 0x01, 0x0d, 0xb8]),
        Psid => ("8/4", vec![4, 0x80, 0x00]),
        DataType::String => ("text", b"text".to_vec()),
        Fqdn => ("Example.com", b"\x07Example\x03com\x00".to_vec()),
        Tuple => ("abc", b"\x03abc".to_vec()),
        Empty | Record | Internal => ("", Vec::new()),
    }
}
