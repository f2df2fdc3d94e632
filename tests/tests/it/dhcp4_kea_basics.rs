//! The baseline of the differential tests (issue 16): with the config
//! subset our server always loaded, a plain client, clients reserved by
//! hardware address and by client identifier, a renewal, an INFORM and an
//! INIT-REBOOT REQUEST for a foreign address (NAK) get from ours the bytes
//! Kea 2.2 sends (RFC 2131 §4.3), a RELEASE none, and the lease files agree.

use std::net::Ipv4Addr;

use e2e::kea::message::{mac, ACK, DISCOVER, INFORM, NAK, RELEASE, REQUEST};
use e2e::kea::{fixture, same, Differential, Request, Server, Step, Topology};

/// What a typical Linux client asks for (dhclient's default list).
const PRL: &[u8] = &[1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42];

#[tokio::test]
async fn plain_reserved_renewing_releasing_inform_and_nak_match_kea_byte_for_byte() {
    let d = Differential::new(
        "basic",
        fixture("basic.json").unwrap(),
        Topology::lan().unwrap(),
    )
    .unwrap();
    let mut steps = Vec::new();
    steps.extend(Step::dora(
        "plain",
        Request::new(DISCOVER, 0x2001, mac(0, 1))
            .option(61, [1, 2, 0xd1, 0xf0, 0, 0, 1])
            .option(12, "plain-host")
            .prl(PRL),
    ));
    steps.extend(Step::dora(
        "by-mac",
        Request::new(DISCOVER, 0x2002, [2, 0xd1, 0xf0, 0, 0, 9]).prl(PRL),
    ));
    steps.extend(Step::dora(
        "by-client-id",
        Request::new(DISCOVER, 0x2003, mac(0, 3))
            .option(61, [1, 2, 0xd1, 0xf0, 0, 0, 8])
            .prl(PRL),
    ));
    steps.push(Step::send(
        "inform",
        Request::new(INFORM, 0x2004, mac(0, 4))
            .ciaddr(Ipv4Addr::new(192, 0, 2, 254))
            .prl(PRL),
    ));
    // RENEWING (RFC 2131 §4.3.2): ciaddr set, no server id, no broadcast
    // flag; the answer goes to ciaddr, the namespace's own address.
    let renewer = [2, 0xd1, 0xf0, 0, 0, 0x0e];
    steps.extend(Step::dora(
        "renewer",
        Request::new(DISCOVER, 0x2006, renewer).prl(PRL),
    ));
    steps.push(Step::send(
        "renew",
        Request::new(REQUEST, 0x2007, renewer)
            .ciaddr(Ipv4Addr::new(192, 0, 2, 254))
            .broadcast(false)
            .prl(PRL),
    ));
    steps.push(Step::send(
        "release",
        Request::new(RELEASE, 0x2008, mac(0, 1))
            .ciaddr(Ipv4Addr::new(192, 0, 2, 100))
            .broadcast(false)
            .option(54, [192, 0, 2, 1])
            .option(61, [1, 2, 0xd1, 0xf0, 0, 0, 1]),
    ));
    steps.push(Step::send(
        "foreign address",
        Request::new(REQUEST, 0x2005, mac(0, 5))
            .option(50, [10, 9, 9, 9])
            .prl(PRL),
    ));

    let kea = d.run(Server::Kea, &steps).await.unwrap();
    let plain = kea.reply("plain ack").unwrap();
    assert_eq!(plain.kind(), ACK, "{}", kea.dump());
    assert_eq!(
        plain.yiaddr,
        Ipv4Addr::new(192, 0, 2, 100),
        "{}",
        kea.dump()
    );
    assert_eq!(
        kea.reply("by-mac ack").unwrap().yiaddr,
        Ipv4Addr::new(192, 0, 2, 9)
    );
    assert_eq!(
        kea.reply("by-client-id ack").unwrap().yiaddr,
        Ipv4Addr::new(192, 0, 2, 8)
    );
    let inform = kea.reply("inform").unwrap();
    assert_eq!(inform.kind(), ACK, "{}", kea.dump());
    assert!(!inform.has(51), "no lease time in an INFORM's ACK");
    assert_eq!(kea.reply("foreign address").unwrap().kind(), NAK);
    let renew = kea.reply("renew").unwrap();
    assert_eq!(renew.kind(), ACK, "{}", kea.dump());
    assert_eq!(renew.yiaddr, Ipv4Addr::new(192, 0, 2, 254));
    assert!(kea.silent("release"), "no answer to a RELEASE");
    let released = kea.lease(Ipv4Addr::new(192, 0, 2, 100)).unwrap();
    assert_eq!(released.valid_lifetime(), "0", "{}", kea.dump());
    assert_eq!(released.client_id(), "01:02:d1:f0:00:00:01");
    assert_eq!(released.subnet_id(), "1");
    let renewed = kea.lease(Ipv4Addr::new(192, 0, 2, 254)).unwrap();
    assert_eq!(renewed.hostname(), "renewer");

    let ours = d.run(Server::Ours, &steps).await.unwrap();
    same(&kea, &ours).unwrap();
}
