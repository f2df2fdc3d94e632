//! Reply assembly as Kea 2.2's Dhcpv4Srv: options looked up through the
//! scopes in buildCfgOptionList's order (host, pool, subnet, shared
//! network, the client's classes in the order it joined them, global), the
//! requested and always-sent ones, the basic ones, boot fields from
//! setFixedFields, packed as LibDHCP::packOptions4 packs them (message type
//! first, then by code, relay agent information last; no padding).

use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;

use crate::config::model::BootFields;
use crate::options::{add_vendor_suboptions, vivso_header, ConfiguredOption, VendorOption};
use crate::wire::{Header, ReplyWriter};

use super::classes::Classifier;
use super::exchange::Exchange;
use super::lifetime;
use super::names::ClientName;
use super::request::Request;
use super::{code, Destination, Outcome, Received, Reply, Server};

/// Options Kea adds when configured, asked for or not (appendBasicOptions).
const BASIC: [u8; 4] = [
    code::ROUTERS,
    code::DNS_SERVERS,
    code::DOMAIN_NAME,
    code::SERVER_ID,
];

/// The boot fields of a reply, borrowed from the configuration.
struct Boot<'c> {
    next_server: Option<Ipv4Addr>,
    server_hostname: Option<&'c str>,
    boot_file_name: Option<&'c str>,
}

impl<'c> Boot<'c> {
    /// The fields `over` sets replace these.
    fn overlay(&mut self, over: &'c BootFields) {
        self.next_server = over.next_server.or(self.next_server);
        self.server_hostname = over.server_hostname.as_deref().or(self.server_hostname);
        self.boot_file_name = over.boot_file_name.as_deref().or(self.boot_file_name);
    }
}

/// The options of a reply being assembled, each code once.
struct Options<'a> {
    list: Vec<(u8, &'a [u8])>,
}

impl<'a> Options<'a> {
    fn has(&self, code: u8) -> bool {
        self.list.iter().any(|(c, _)| *c == code)
    }

    fn add(&mut self, code: u8, data: &'a [u8]) {
        if !self.has(code) {
            self.list.push((code, data));
        }
    }

    /// Writes them in packOptions4's order.
    fn write(mut self, writer: &mut ReplyWriter) {
        let rank = |code: u8| match code {
            code::MESSAGE_TYPE => (0, code),
            code::RELAY_AGENT => (2, code),
            _ => (1, code),
        };
        self.list.sort_by_key(|(code, _)| rank(*code));
        for (code, data) in self.list {
            writer.option(code, data);
        }
    }
}

/// The option scopes of a reply, most specific first.
struct Scopes<'c> {
    list: Vec<&'c [ConfiguredOption]>,
    /// The same scopes' `vendor-<enterprise>` options.
    vendor: Vec<&'c [VendorOption]>,
}

impl<'c> Scopes<'c> {
    /// The first configured instance of `code`.
    fn find(&self, code: u8) -> Option<&'c ConfiguredOption> {
        self.list
            .iter()
            .find_map(|scope| scope.iter().find(|o| o.code == code))
    }

    /// Whether a scope says never to send `code`.
    fn cancelled(&self, code: u8) -> bool {
        self.list
            .iter()
            .any(|scope| scope.iter().any(|o| o.code == code && o.never_send))
    }
}

impl Server {
    /// The valid lifetime for the client in subnet `s`: the first of its
    /// classes that sets one, else the subnet's, bounding option 51.
    pub(super) fn lifetime_for(
        &self,
        s: usize,
        set: &super::classes::ClassSet,
        request: &Request<'_>,
    ) -> u32 {
        let by_class = set.iter().find_map(|index| {
            let class = self.config.classes.get(self.classes.def(index)?)?;
            class.lifetime
        });
        let lifetime = by_class.or_else(|| self.config_of(s).map(|c| c.lifetime));
        lifetime.map_or(0, |l| lifetime::valid_lifetime(&l, request.lease_time))
    }

    /// The scopes Kea's buildCfgOptionList lists for a reply from subnet
    /// `s` giving `addr`.
    fn scopes(&self, cx: &Exchange<'_, '_>, s: usize, addr: Ipv4Addr) -> Scopes<'_> {
        let mut list: Vec<&[ConfiguredOption]> = Vec::with_capacity(8);
        let mut vendor: Vec<&[VendorOption]> = Vec::with_capacity(8);
        if let Some(host) = self.current_host(s, cx.hosts) {
            list.push(&host.options);
            vendor.push(&host.vendor_options);
        }
        let subnet = self.config_of(s);
        if let Some(subnet) = subnet {
            if !addr.is_unspecified() {
                let a = u32::from(addr);
                if let Some(pool) = subnet
                    .pools
                    .iter()
                    .find(|p| u32::from(p.first) <= a && a <= u32::from(p.last))
                {
                    list.push(&pool.options);
                    vendor.push(&pool.vendor_options);
                }
            }
            list.push(&subnet.options);
            vendor.push(&subnet.vendor_options);
            if let Some(network) = subnet
                .shared_network
                .and_then(|n| self.config.shared_networks.get(n))
            {
                list.push(&network.options);
                vendor.push(&network.vendor_options);
            }
        }
        for index in cx.set.iter() {
            if let Some(class) = self
                .classes
                .def(index)
                .and_then(|p| self.config.classes.get(p))
            {
                list.push(&class.options);
                vendor.push(&class.vendor_options);
            }
        }
        list.push(&self.config.options);
        vendor.push(&self.config.vendor_options);
        list.retain(|scope| !scope.is_empty());
        vendor.retain(|scope| !scope.is_empty());
        Scopes { list, vendor }
    }

    /// Kea's conditionallySetReservedClientClasses and requiredClassify for
    /// a reply from subnet `s` giving `addr`.
    fn late_classes(&self, cx: &mut Exchange<'_, '_>, s: usize, addr: Ipv4Addr) {
        let classifier = Classifier {
            config: &self.config,
            table: &self.classes,
        };
        let Some(subnet) = self.subnets.get(s) else {
            return;
        };
        if subnet.shared.is_some() && !self.current_host_is_global(s, cx.hosts) {
            if let Some(host) = self.current_host(s, cx.hosts) {
                classifier.reserved(cx.set, cx.packet, &host.client_classes, false);
            }
        }
        let network = subnet
            .shared
            .and_then(|n| self.networks.get(n))
            .map_or(&[][..], |n| &n.required[..]);
        let pool = self.config_of(s).and_then(|c| {
            let a = u32::from(addr);
            c.pools.iter().position(|p| {
                !addr.is_unspecified() && u32::from(p.first) <= a && a <= u32::from(p.last)
            })
        });
        let pool = pool
            .and_then(|p| subnet.pool_required.get(p))
            .map_or(&[][..], |r| &r[..]);
        classifier.required(cx.set, cx.packet, &[network, &subnet.required, pool]);
    }

    /// An OFFER or ACK from subnet `s` for `addr` (unspecified, with no
    /// lifetime, for an INFORM's ACK).
    pub(super) fn answer(
        &self,
        cx: &mut Exchange<'_, '_>,
        s: usize,
        kind: MessageType,
        addr: Ipv4Addr,
        lifetime: Option<u32>,
    ) -> Reply {
        self.late_classes(cx, s, addr);
        let request = cx.request;
        let message = request.message;
        let inform = request.kind == MessageType::Inform;
        let scopes = self.scopes(cx, s, addr);
        let selection = request.subnet_selection.map(|a| a.octets());
        let kind_byte = [u8::from(kind)];
        let mut options = Options {
            list: Vec::with_capacity(16),
        };
        options.add(code::MESSAGE_TYPE, &kind_byte);
        self.echoed(request, selection.as_ref(), &mut options);
        let name = lifetime.and_then(|_| self.client_name(s, cx, addr));
        match &name {
            Some(ClientName::Fqdn(data)) => options.add(code::CLIENT_FQDN, data),
            Some(ClientName::Hostname(text)) => options.add(code::HOST_NAME, text.as_bytes()),
            None => {}
        }
        let mask;
        let valid;
        let (t1, t2);
        if let Some(valid_lft) = lifetime {
            valid = valid_lft.to_be_bytes();
            options.add(code::LEASE_TIME, &valid);
            let prefix = self.config_of(s).map_or(0, |c| c.prefix_len);
            mask = super::prefix_mask(prefix).to_be_bytes();
            options.add(code::SUBNET_MASK, &mask);
            let timers = self.config_of(s).map(|c| c.timers);
            let (renew, rebind) =
                timers.map_or((None, None), |t| lifetime::tee_times(&t, valid_lft));
            t2 = rebind.map(u32::to_be_bytes);
            t1 = renew.map(u32::to_be_bytes);
            if let Some(t2) = &t2 {
                options.add(code::REBINDING_TIME, t2);
            }
            if let Some(t1) = &t1 {
                options.add(code::RENEWAL_TIME, t1);
            }
        }
        add_requested(&scopes, request, &mut options);
        let current = options
            .list
            .iter()
            .find(|(c, _)| *c == code::VIVSO)
            .map(|(_, d)| *d);
        let vivso = vendor_data(&scopes, request, current);
        if let Some(data) = &vivso {
            options.list.retain(|(c, _)| *c != code::VIVSO);
            options.add(code::VIVSO, data);
        }
        for code in BASIC {
            if options.has(code) || scopes.cancelled(code) {
                continue;
            }
            if let Some(option) = scopes.find(code) {
                options.add(code, &option.data);
            }
        }
        let server_id = cx.server_id.octets();
        options.add(code::SERVER_ID, &server_id);
        // An INFORM answered straight to its client (it has ciaddr, or came
        // unrelayed) leaves hops, giaddr and option 82 out (Kea's
        // processInform).
        let direct =
            inform && (!message.ciaddr().is_unspecified() || message.giaddr().is_unspecified());
        if direct {
            options.list.retain(|(c, _)| *c != code::RELAY_AGENT);
        }
        let boot = self.boot_fields(cx, s);
        pack(request, kind, addr, direct, &boot, options)
    }

    /// Options Kea copies from the request (copyDefaultOptions): the client
    /// id unless `echo-client-id` is false, relay agent information, subnet
    /// selection.
    fn echoed<'a>(
        &self,
        request: &Request<'a>,
        selection: Option<&'a [u8; 4]>,
        options: &mut Options<'a>,
    ) {
        if self.config.echo_client_id {
            if let Some(id) = request.client_id {
                options.add(code::CLIENT_ID, id);
            }
        }
        if let Some(relay) = request.relay_agent.filter(|r| !r.is_empty()) {
            options.add(code::RELAY_AGENT, relay);
        }
        if let Some(selection) = selection {
            options.add(code::SUBNET_SELECTION, selection);
        }
    }

    /// siaddr, sname and file: the subnet's (inheriting the global ones),
    /// overridden field by field by the first class that sets it, then by
    /// the host's (Kea's setFixedFields).
    fn boot_fields(&self, cx: &Exchange<'_, '_>, s: usize) -> Boot<'_> {
        let global = &self.config.boot;
        let subnet = self.config_of(s).map(|c| &c.boot);
        let mut boot = Boot {
            next_server: subnet.and_then(|b| b.next_server).or(global.next_server),
            server_hostname: subnet
                .and_then(|b| b.server_hostname.as_deref())
                .or(global.server_hostname.as_deref()),
            boot_file_name: subnet
                .and_then(|b| b.boot_file_name.as_deref())
                .or(global.boot_file_name.as_deref()),
        };
        let classes = cx
            .set
            .iter()
            .filter_map(|i| self.config.classes.get(self.classes.def(i)?));
        let (mut siaddr, mut sname, mut file) = (false, false, false);
        for class in classes {
            if !siaddr && class.boot.next_server.is_some() {
                boot.next_server = class.boot.next_server;
                siaddr = true;
            }
            if !sname && class.boot.server_hostname.is_some() {
                boot.server_hostname = class.boot.server_hostname.as_deref();
                sname = true;
            }
            if !file && class.boot.boot_file_name.is_some() {
                boot.boot_file_name = class.boot.boot_file_name.as_deref();
                file = true;
            }
        }
        if let Some(host) = self.current_host(s, cx.hosts) {
            boot.overlay(&host.boot);
        }
        boot
    }

    /// The ACK Kea gives an INFORM no subnet is found for: message type,
    /// server id and the echoed options only.
    pub(super) fn bare_inform_ack(&self, request: &Request<'_>, server_id: Ipv4Addr) -> Reply {
        let selection = request.subnet_selection.map(|a| a.octets());
        let kind = [u8::from(MessageType::Ack)];
        let mut options = Options {
            list: Vec::with_capacity(4),
        };
        options.add(code::MESSAGE_TYPE, &kind);
        self.echoed(request, selection.as_ref(), &mut options);
        let server_id = server_id.octets();
        options.add(code::SERVER_ID, &server_id);
        let message = request.message;
        let direct = !message.ciaddr().is_unspecified() || message.giaddr().is_unspecified();
        if direct {
            options.list.retain(|(c, _)| *c != code::RELAY_AGENT);
        }
        let boot = Boot {
            next_server: None,
            server_hostname: None,
            boot_file_name: None,
        };
        pack(
            request,
            MessageType::Ack,
            Ipv4Addr::UNSPECIFIED,
            direct,
            &boot,
            options,
        )
    }

    /// A NAK (Kea's: message type, server id, the echoed options; no
    /// message text).
    pub(super) fn nak(&self, request: &Request<'_>, server_id: Ipv4Addr) -> Outcome {
        let message = request.message;
        let selection = request.subnet_selection.map(|a| a.octets());
        let kind = [u8::from(MessageType::Nak)];
        let mut options = Options {
            list: Vec::with_capacity(4),
        };
        options.add(code::MESSAGE_TYPE, &kind);
        self.echoed(request, selection.as_ref(), &mut options);
        let server_id = server_id.octets();
        options.add(code::SERVER_ID, &server_id);
        let mut writer = ReplyWriter::new(&Header {
            htype: u8::from(message.htype()),
            hlen: message.hlen(),
            hops: message.hops(),
            xid: message.xid(),
            flags: u16::from(message.flags()),
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: message.giaddr(),
            chaddr: request.hwaddr,
            sname: &[],
            file: &[],
        });
        options.write(&mut writer);
        let giaddr = message.giaddr();
        let ciaddr = message.ciaddr();
        let to = if !giaddr.is_unspecified() {
            Destination::Relay(giaddr)
        } else if !ciaddr.is_unspecified() {
            Destination::Unicast(ciaddr)
        } else {
            Destination::Broadcast
        };
        Outcome {
            received: Received::Request,
            reply: Some(Reply {
                bytes: writer.finish(),
                to,
                kind: MessageType::Nak,
            }),
            changes: Vec::new(),
            allocation_failed: None,
            assigned: None,
        }
    }
}

/// Option 125 as Kea's appendRequestedVendorOptions makes it: for the
/// enterprise of the reply's option 125, else of the client's, the
/// sub-options the client asks for (DOCSIS's ORO, sub-option 1, for 4491)
/// and the always-send ones of that vendor's space, each from the first
/// scope that has it, added to the reply's option 125 or to a new one.
/// `None` when nothing is added.
fn vendor_data(
    scopes: &Scopes<'_>,
    request: &Request<'_>,
    current: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let enterprise = current
        .and_then(|d| <[u8; 4]>::try_from(d.get(..4)?).ok())
        .map(u32::from_be_bytes)
        .or_else(|| request.vendor_id())?;
    let vendor = || scopes.vendor.iter().flat_map(|scope| scope.iter());
    let mut codes: Vec<u8> = Vec::new();
    if enterprise == DOCSIS {
        codes.extend_from_slice(request.docsis_oro().unwrap_or_default());
    }
    codes.extend(
        vendor()
            .filter(|v| v.enterprise == enterprise && v.option.always_send)
            .map(|v| v.option.code),
    );
    let mut data = current.map_or_else(|| vivso_header(enterprise), <[u8]>::to_vec);
    let mut subs: Vec<(u8, Vec<u8>)> = Vec::new();
    for code in codes {
        if has_sub_option(&data, code) || subs.iter().any(|(c, _)| *c == code) {
            continue;
        }
        if let Some(v) = vendor().find(|v| v.enterprise == enterprise && v.option.code == code) {
            subs.push((code, v.option.data.clone()));
        }
    }
    if subs.is_empty() {
        return None;
    }
    add_vendor_suboptions(&mut data, subs);
    Some(data)
}

/// CableLabs' enterprise number (DOCSIS).
const DOCSIS: u32 = 4491;

/// Whether option 125 data (one enterprise block) carries sub-option `code`.
fn has_sub_option(data: &[u8], code: u8) -> bool {
    let mut rest = data.get(5..).unwrap_or_default();
    for _ in 0..rest.len() {
        let (Some(&c), Some(&len)) = (rest.first(), rest.get(1)) else {
            return false;
        };
        if c == code {
            return true;
        }
        rest = rest.get(2 + usize::from(len)..).unwrap_or_default();
    }
    false
}

/// Writes an OFFER or ACK: the header as Kea's copyDefaultFields and
/// setFixedFields fill it, then `options`.
fn pack(
    request: &Request<'_>,
    kind: MessageType,
    addr: Ipv4Addr,
    direct: bool,
    boot: &Boot<'_>,
    options: Options<'_>,
) -> Reply {
    let message = request.message;
    let inform = request.kind == MessageType::Inform;
    let mut flags = u16::from(message.flags());
    if inform && !message.giaddr().is_unspecified() && message.ciaddr().is_unspecified() {
        flags |= 0x8000;
    }
    let mut writer = ReplyWriter::new(&Header {
        htype: u8::from(message.htype()),
        hlen: message.hlen(),
        hops: if direct { 0 } else { message.hops() },
        xid: message.xid(),
        flags,
        ciaddr: if kind == MessageType::Ack {
            message.ciaddr()
        } else {
            Ipv4Addr::UNSPECIFIED
        },
        yiaddr: addr,
        siaddr: boot.next_server.unwrap_or(Ipv4Addr::UNSPECIFIED),
        giaddr: if direct {
            Ipv4Addr::UNSPECIFIED
        } else {
            message.giaddr()
        },
        chaddr: request.hwaddr,
        sname: boot.server_hostname.unwrap_or_default().as_bytes(),
        file: boot.boot_file_name.unwrap_or_default().as_bytes(),
    });
    options.write(&mut writer);
    Reply {
        bytes: writer.finish(),
        to: destination(request, addr, inform),
        kind,
    }
}

/// Adds what the client asked for (option 55) and what is always sent,
/// each from the first scope that has it, unless a scope cancels it
/// (appendRequestedOptions).
fn add_requested<'c>(scopes: &Scopes<'c>, request: &Request<'_>, options: &mut Options<'c>) {
    let always = scopes
        .list
        .iter()
        .flat_map(|scope| scope.iter())
        .filter(|o| o.always_send)
        .map(|o| o.code);
    let wanted = request.parameters.iter().copied().chain(always);
    for code in wanted {
        if options.has(code) || scopes.cancelled(code) {
            continue;
        }
        if let Some(option) = scopes.find(code) {
            options.add(code, &option.data);
        }
    }
}

/// Where an OFFER or ACK goes (Kea's adjustRemoteAddr, RFC 2131 §4.1).
fn destination(request: &Request<'_>, yiaddr: Ipv4Addr, inform: bool) -> Destination {
    let message = request.message;
    let giaddr = message.giaddr();
    let ciaddr = message.ciaddr();
    if inform && !ciaddr.is_unspecified() {
        return Destination::Unicast(ciaddr);
    }
    if !giaddr.is_unspecified() {
        return Destination::Relay(giaddr);
    }
    if !ciaddr.is_unspecified() {
        return Destination::Unicast(ciaddr);
    }
    if message.flags().broadcast() || inform || yiaddr.is_unspecified() {
        return Destination::Broadcast;
    }
    match <[u8; 6]>::try_from(request.hwaddr) {
        Ok(mac) if u8::from(message.htype()) == 1 => Destination::Hardware { addr: yiaddr, mac },
        _ => Destination::Broadcast,
    }
}
