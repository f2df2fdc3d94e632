//! Shared value parsers (filled in by the config work).
