//! Integration tests of the DNS wire helpers and the front end, through real
//! sockets on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod frontend_dot;
mod frontend_tcp;
mod frontend_udp;
mod support;
mod wire_layout;
mod wire_robustness;
