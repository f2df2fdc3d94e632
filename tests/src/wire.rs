//! DNS wire-format reading the harness's small servers share (the cluster-DNS
//! stub, the fake backend), which answer by hand-built replies.

/// The question of a one-question query: (lower-case dotted name, qtype, end
/// of the question section), or `None` when it is not one.
pub fn question(query: &[u8]) -> Option<(String, u16, usize)> {
    if query.len() < 12 || query[2] & 0x80 != 0 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = query.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let end = pos + 4;
    (query.len() >= end).then(|| (labels.join("."), qtype, end))
}
