//! The node-local interface, over rtnetlink: a link of its own (node-cache
//! makes a `dummy`; kernels without the dummy module can use `ifb`) holding
//! the agent's addresses, created when missing, brought up, and deleted on
//! shutdown so the fallback rules take over.

use std::net::IpAddr;

use futures_util::TryStreamExt as _;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoKind, LinkFlags, LinkMessage};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec};

/// The link type of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `dummy` (node-cache's choice).
    Dummy,
    /// `ifb` (where the kernel has no dummy module).
    Ifb,
}

impl LinkKind {
    /// The config spelling (the kernel's kind name).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Dummy => "dummy",
            LinkKind::Ifb => "ifb",
        }
    }

    /// Parses the config spelling.
    pub fn parse(text: &str) -> Option<LinkKind> {
        [LinkKind::Dummy, LinkKind::Ifb]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    fn info_kind(self) -> InfoKind {
        match self {
            LinkKind::Dummy => InfoKind::Dummy,
            LinkKind::Ifb => InfoKind::Ifb,
        }
    }
}

/// The interface the agent listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name (node-cache's default: `nodelocaldns`).
    pub name: String,
    /// Its link type.
    pub kind: LinkKind,
    /// The agent's addresses, each as a host address (/32 or /128).
    pub addrs: Vec<IpAddr>,
}

/// Why the interface could not be set up or removed.
#[derive(Debug, thiserror::Error)]
pub enum IfaceError {
    /// No netlink socket (no permission, or no netlink in this kernel).
    #[error("cannot open a netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    /// The kernel refused a request.
    #[error("interface {name}: {what}: {source}")]
    Request {
        /// The interface.
        name: String,
        /// What was asked.
        what: &'static str,
        /// The netlink error.
        #[source]
        source: rtnetlink::Error,
    },
}

/// What [`Interface::ensure`] had to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// The link was created.
    pub created: bool,
    /// It was down and was brought up.
    pub brought_up: bool,
    /// Addresses added.
    pub addrs_added: usize,
}

impl Repairs {
    /// True when anything had to be done.
    pub fn any(&self) -> bool {
        self.created || self.brought_up || self.addrs_added > 0
    }
}

impl Interface {
    /// Creates the link if missing, adds missing addresses, brings it up;
    /// idempotent, so it is also the checker's repair.
    pub async fn ensure(&self) -> Result<Repairs, IfaceError> {
        let handle = connect()?;
        let mut repairs = Repairs::default();
        let link = match self.find(&handle).await? {
            Some(link) => link,
            None => {
                let message =
                    LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(self.kind.info_kind())
                        .name(self.name.clone())
                        .build();
                handle
                    .link()
                    .add(message)
                    .execute()
                    .await
                    .map_err(self.failed("create"))?;
                repairs.created = true;
                self.find(&handle)
                    .await?
                    .ok_or_else(|| IfaceError::Request {
                        name: self.name.clone(),
                        what: "find after create",
                        source: rtnetlink::Error::RequestFailed,
                    })?
            }
        };
        let index = link.header.index;
        let present = self.addresses(&handle, index).await?;
        for addr in &self.addrs {
            if present.contains(addr) {
                continue;
            }
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            handle
                .address()
                .add(index, *addr, prefix)
                .execute()
                .await
                .map_err(self.failed("add address"))?;
            repairs.addrs_added += 1;
        }
        if !link.header.flags.contains(LinkFlags::Up) {
            handle
                .link()
                .set(LinkUnspec::new_with_index(index).up().build())
                .execute()
                .await
                .map_err(self.failed("bring up"))?;
            repairs.brought_up = !repairs.created;
        }
        Ok(repairs)
    }

    /// Deletes the link (and with it its addresses); false when it was not there.
    pub async fn remove(&self) -> Result<bool, IfaceError> {
        let handle = connect()?;
        let Some(link) = self.find(&handle).await? else {
            return Ok(false);
        };
        handle
            .link()
            .del(link.header.index)
            .execute()
            .await
            .map_err(self.failed("delete"))?;
        Ok(true)
    }

    /// The link by name, if it exists.
    async fn find(&self, handle: &Handle) -> Result<Option<LinkMessage>, IfaceError> {
        let mut links = handle.link().get().match_name(self.name.clone()).execute();
        match links.try_next().await {
            Ok(link) => Ok(link),
            // ENODEV: no such link.
            Err(rtnetlink::Error::NetlinkError(e))
                if e.code.map(|c| c.get()) == Some(-libc::ENODEV) =>
            {
                Ok(None)
            }
            Err(source) => Err(self.failed("look up")(source)),
        }
    }

    /// The addresses on link `index`.
    async fn addresses(&self, handle: &Handle, index: u32) -> Result<Vec<IpAddr>, IfaceError> {
        let mut stream = handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        while let Some(message) = stream
            .try_next()
            .await
            .map_err(self.failed("list addresses"))?
        {
            for attribute in message.attributes {
                if let AddressAttribute::Address(addr) | AddressAttribute::Local(addr) = attribute {
                    if !out.contains(&addr) {
                        out.push(addr);
                    }
                }
            }
        }
        Ok(out)
    }

    fn failed(&self, what: &'static str) -> impl Fn(rtnetlink::Error) -> IfaceError + '_ {
        move |source| IfaceError::Request {
            name: self.name.clone(),
            what,
            source,
        }
    }
}

/// A netlink connection whose I/O runs on a task of its own.
fn connect() -> Result<Handle, IfaceError> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(IfaceError::Socket)?;
    tokio::spawn(connection);
    Ok(handle)
}
