//! Shared pieces of the data-plane tests (`dataplane_*.rs`): the DoT
//! certificate the lb's Secret would hold, and starting a cluster.

use std::path::PathBuf;

use e2e::dataplane::{Cluster, Dhcp, Spec};

use crate::resolver_support::scratch_dir;

/// The name in the lb's self-signed certificate (what a DoT client checks).
pub const DOT_NAME: &str = "dns.noc-poc.example";

/// A self-signed certificate for [`DOT_NAME`], as `k8s/scripts/tls-cert.sh`
/// makes for the `lb-tls` Secret: (certificate, key); the certificate is its
/// own CA for kdig's `+tls-ca`.
pub fn dot_secret() -> (PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec![DOT_NAME.to_string()]).unwrap();
    let dir = scratch_dir("dataplane-tls");
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&crt, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    (crt, key)
}

/// A cluster with `resolvers` resolver pods up and DoT on, without DHCP.
pub async fn cluster(resolvers: usize) -> Cluster {
    cluster_with_dhcp(resolvers, Dhcp::Off, 0).await
}

/// A cluster with `resolvers` resolver pods up, DoT on, dhcp4 wired as
/// `dhcp` says, and `dhcp_clients` client namespaces on the LAN.
pub async fn cluster_with_dhcp(resolvers: usize, dhcp: Dhcp, dhcp_clients: usize) -> Cluster {
    let spec = Spec {
        resolvers,
        dhcp,
        dhcp_clients,
        tls: Some(dot_secret()),
    };
    match Cluster::start(spec).await {
        Ok(cluster) => cluster,
        Err(e) => panic!("starting the data plane: {e:#}"),
    }
}
