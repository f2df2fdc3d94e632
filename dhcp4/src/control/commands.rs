//! The commands: each a named handler with Kea's arguments, answers and
//! texts (captured from Kea 2.2 and its lease_cmds hook).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::readiness::Readiness;
use common::shutdown::ShutdownTrigger;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::lease_json::{self, boolean, integer, string};
use super::{result, Answer, Request};
use crate::clock::{kea_timestamp, unix_now};
use crate::lease::Lease;
use crate::run::Shared;
use crate::server::{AdminError, Written};

/// Every command served, in Kea's (sorted) order: what `list-commands`
/// answers.
pub const COMMANDS: &[&str] = &[
    "build-report",
    "config-get",
    "config-reload",
    "config-set",
    "config-test",
    "config-write",
    "dhcp-disable",
    "dhcp-enable",
    "lease4-add",
    "lease4-del",
    "lease4-get",
    "lease4-get-all",
    "lease4-get-by-client-id",
    "lease4-get-by-hostname",
    "lease4-get-by-hw-address",
    "lease4-get-page",
    "lease4-update",
    "lease4-wipe",
    "leases-reclaim",
    "list-commands",
    "server-tag-get",
    "shutdown",
    "statistic-get",
    "statistic-get-all",
    "statistic-reset",
    "statistic-reset-all",
    "status-get",
    "version-get",
];

/// The process exit code a `shutdown` command asked for (Kea's
/// `exit-value`); `main` returns it.
pub static EXIT_VALUE: AtomicU8 = AtomicU8::new(0);

/// What the commands act on.
pub struct Control {
    shared: Arc<Shared>,
    /// The file the configuration came from (config-reload, config-write).
    source: Option<PathBuf>,
    started: Instant,
    reloaded: Mutex<Instant>,
    readiness: Readiness,
    stop: Arc<ShutdownTrigger>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The arguments map of `request`, or Kea's answer for its absence.
fn arguments<'a>(request: &'a Request, missing: &str) -> Result<&'a Map<String, Value>, Answer> {
    request
        .arguments
        .as_ref()
        .ok_or_else(|| Answer::error(missing))
}

/// `n` leases found, as the lease listing commands answer.
fn lease_list(leases: &[&Lease], extra: Option<(&str, Value)>) -> Answer {
    let mut args = Map::new();
    args.insert(
        "leases".into(),
        Value::Array(leases.iter().map(|l| lease_json::to_json(l)).collect()),
    );
    if let Some((key, value)) = extra {
        args.insert(key.into(), value);
    }
    let code = if leases.is_empty() {
        result::EMPTY
    } else {
        result::SUCCESS
    };
    Answer::with(
        code,
        format!("{} IPv4 lease(s) found.", leases.len()),
        Value::Object(args),
    )
}

impl Control {
    /// Commands over `shared`; `stop` ends the daemon (the `shutdown`
    /// command), `readiness` goes false first.
    pub(crate) fn new(
        shared: Arc<Shared>,
        source: Option<PathBuf>,
        readiness: Readiness,
        stop: Arc<ShutdownTrigger>,
    ) -> Control {
        Control {
            shared,
            source,
            started: Instant::now(),
            reloaded: Mutex::new(Instant::now()),
            readiness,
            stop,
        }
    }

    /// Runs one command addressed to this server.
    pub async fn execute(&self, request: &Request) -> Answer {
        match request.command.as_str() {
            "build-report" => Answer::ok(build_report()),
            "config-get" => self.config_get(),
            "config-reload" => self.config_reload().await,
            "config-set" => self.config_set(request).await,
            "config-test" => config_test(request).await,
            "config-write" => self.config_write(request),
            "dhcp-disable" => self.dhcp_disable(request),
            "dhcp-enable" => match origin(request) {
                Ok(origin) => {
                    self.shared.switch.set(origin, false, None);
                    Answer::ok("DHCP service successfully enabled")
                }
                Err(answer) => answer,
            },
            "lease4-add" => self.lease_write(request, false).await,
            "lease4-update" => self.lease_write(request, true).await,
            "lease4-del" => self.lease_del(request).await,
            "lease4-get" => self.lease_get(request),
            "lease4-get-all" => self.lease_get_all(request),
            "lease4-get-by-client-id" => self.lease_get_by(request, "client-id"),
            "lease4-get-by-hostname" => self.lease_get_by(request, "hostname"),
            "lease4-get-by-hw-address" => self.lease_get_by(request, "hw-address"),
            "lease4-get-page" => self.lease_get_page(request),
            "lease4-wipe" => self.lease_wipe(request).await,
            "leases-reclaim" => {
                crate::run::reclaim(&self.shared).await;
                Answer::ok("Reclamation of expired leases is complete.")
            }
            "list-commands" => {
                let mut names: Vec<&str> = COMMANDS.to_vec();
                if self.shared.ha.is_some() {
                    names.extend(crate::ha::commands::HA_COMMANDS);
                    names.sort_unstable();
                }
                Answer::data(json!(names))
            }
            "server-tag-get" => Answer::data(json!({"server-tag": ""})),
            "shutdown" => self.shutdown(request),
            "statistic-get" => self.statistic_get(request),
            "statistic-get-all" => self.statistic_get_all(),
            "statistic-reset" => self.statistic_reset(request),
            "statistic-reset-all" => {
                let stats = self.shared.server.lock().stats();
                self.shared.metrics.kea.reset_all(&stats);
                Answer::ok("All statistics reset to neutral values.")
            }
            "status-get" => self.status_get(),
            "version-get" => Answer::with(
                result::SUCCESS,
                env!("CARGO_PKG_VERSION"),
                json!({"extended": format!("{} (dhcp4, a Kea replacement)\nlinked with:\nrustls\nMemfile backend 2.1", env!("CARGO_PKG_VERSION"))}),
            ),
            other if other.starts_with("ha-") => match &self.shared.ha {
                Some(ha) => ha.command(&self.shared, request).await,
                None => Answer::unsupported(other),
            },
            other => Answer::unsupported(other),
        }
    }

    fn config_get(&self) -> Answer {
        let document = self.shared.server.lock().config().document.clone();
        let dhcp4 = document.get("Dhcp4").cloned().unwrap_or(Value::Null);
        Answer::data(json!({ "Dhcp4": dhcp4 }))
    }

    async fn config_reload(&self) -> Answer {
        let Some(path) = &self.source else {
            return Answer::error("Config reload failed: the configuration came from no file");
        };
        match crate::run::reload(&self.shared, path, "config-reload").await {
            Ok(()) => {
                *self.reloaded.lock() = Instant::now();
                Answer::ok("Configuration successful.")
            }
            Err(error) => Answer::error(format!("Config reload failed: {error}")),
        }
    }

    async fn config_set(&self, request: &Request) -> Answer {
        let config = match loaded_from_arguments(request).await {
            Ok(config) => config,
            Err(answer) => return answer,
        };
        crate::run::apply(
            &self.shared,
            &config,
            "config-set",
            "the command's arguments",
        );
        *self.reloaded.lock() = Instant::now();
        Answer::ok("Configuration successful.")
    }

    fn config_write(&self, request: &Request) -> Answer {
        let named = match request.arguments.as_ref().map(|a| string(a, "filename")) {
            Some(Err(_)) => return Answer::error("filename parameter must be a string"),
            Some(Ok(name)) => name.map(PathBuf::from),
            None => None,
        };
        let Some(target) = named.or_else(|| self.source.clone()) else {
            return Answer::error(
                "Unable to determine filename: the configuration came from no file",
            );
        };
        if let Err(why) = within_config_directory(self.source.as_deref(), &target) {
            return Answer::error(why);
        }
        let document = self.shared.server.lock().config().document.clone();
        let text = match serde_json::to_string_pretty(&*document) {
            Ok(text) => text + "\n",
            Err(error) => return Answer::error(format!("Error during write-config:{error}")),
        };
        match std::fs::write(&target, &text) {
            Ok(()) => Answer::with(
                result::SUCCESS,
                format!("Configuration written to {} successful", target.display()),
                json!({"filename": target.display().to_string(), "size": text.len()}),
            ),
            Err(_) => Answer::error(format!(
                "Error during write-config:Unable to open file {} for writing",
                target.display()
            )),
        }
    }

    fn dhcp_disable(&self, request: &Request) -> Answer {
        let period = match request.arguments.as_ref().map(|a| integer(a, "max-period")) {
            Some(Err(_)) => return Answer::error("'max-period' argument must be a number"),
            Some(Ok(Some(0))) => {
                return Answer::error("'max-period' must be positive integer value")
            }
            Some(Ok(period)) => period,
            None => None,
        };
        let origin = match origin(request) {
            Ok(origin) => origin,
            Err(answer) => return answer,
        };
        self.shared
            .switch
            .set(origin, true, period.map(Duration::from_secs));
        match period {
            Some(seconds) => Answer::ok(format!("DHCPv4 service disabled for {seconds} seconds")),
            None => Answer::ok("DHCPv4 service disabled"),
        }
    }

    fn shutdown(&self, request: &Request) -> Answer {
        let exit = match request.arguments.as_ref().map(|a| integer(a, "exit-value")) {
            Some(Err(_)) => return Answer::error("parameter 'exit-value' is not an integer"),
            Some(Ok(value)) => value.unwrap_or(0),
            None => 0,
        };
        EXIT_VALUE.store(u8::try_from(exit).unwrap_or(u8::MAX), Ordering::Relaxed);
        self.readiness.begin_shutdown();
        tracing::info!(exit, "shutdown command received");
        self.stop.fire();
        Answer::ok("Shutting down.")
    }

    fn status_get(&self) -> Answer {
        let mut args = Map::new();
        args.insert("pid".into(), json!(std::process::id()));
        args.insert("uptime".into(), json!(self.started.elapsed().as_secs()));
        args.insert(
            "reload".into(),
            json!(self.reloaded.lock().elapsed().as_secs()),
        );
        args.insert("multi-threading-enabled".into(), json!(false));
        args.insert("sockets".into(), json!({"status": "ready"}));
        if let Some(ha) = &self.shared.ha {
            args.insert("high-availability".into(), ha.status());
        }
        Answer::data(Value::Object(args))
    }

    fn statistic_get(&self, request: &Request) -> Answer {
        let name = match self.statistic_name(request) {
            Ok(name) => name,
            Err(answer) => return answer,
        };
        let stats = self.shared.server.lock().stats();
        let all = self.shared.metrics.kea.all(&stats);
        let mut args = Map::new();
        if let Some(sample) = all.get(name) {
            args.insert(name.to_string(), sample_json(sample.value, sample.at));
        }
        Answer::data(Value::Object(args))
    }

    fn statistic_get_all(&self) -> Answer {
        let stats = self.shared.server.lock().stats();
        let all = self.shared.metrics.kea.all(&stats);
        let args: Map<String, Value> = all
            .into_iter()
            .map(|(name, sample)| (name, sample_json(sample.value, sample.at)))
            .collect();
        Answer::data(Value::Object(args))
    }

    fn statistic_reset(&self, request: &Request) -> Answer {
        let name = match self.statistic_name(request) {
            Ok(name) => name,
            Err(answer) => return answer,
        };
        let stats = self.shared.server.lock().stats();
        if self.shared.metrics.kea.reset(name, &stats) {
            Answer::ok(format!("Statistic '{name}' reset."))
        } else {
            Answer::error(format!("No '{name}' statistic found"))
        }
    }

    fn statistic_name<'a>(&self, request: &'a Request) -> Result<&'a str, Answer> {
        let args = arguments(request, "Missing mandatory 'name' parameter.")?;
        match args.get("name") {
            None => Err(Answer::error("Missing mandatory 'name' parameter.")),
            Some(Value::String(name)) => Ok(name),
            Some(_) => Err(Answer::error("'name' parameter expected to be a string.")),
        }
    }

    /// Appends `changes` to the lease file and waits until they are durable.
    async fn persist(
        &self,
        pending: Option<crate::memfile::Pending>,
        count: usize,
    ) -> Result<(), Answer> {
        let Some(pending) = pending else {
            return Ok(());
        };
        let ok = pending.wait().await.is_ok();
        self.shared.metrics.lease_written(count, ok);
        if ok {
            Ok(())
        } else {
            Err(Answer::error(
                "the lease file could not be written: the change is in memory only",
            ))
        }
    }

    /// Queues `changes` for the lease file (under the server lock, so the
    /// file keeps the order of the changes).
    fn submit(&self, changes: &[Lease]) -> Option<crate::memfile::Pending> {
        match (&self.shared.leases, changes.is_empty()) {
            (Some(file), false) => Some(file.submit_append(changes)),
            _ => None,
        }
    }

    async fn lease_write(&self, request: &Request, replace: bool) -> Answer {
        let missing = if replace {
            "no parameters specified for lease4-update command"
        } else {
            "no parameters specified for the command"
        };
        let args = match arguments(request, missing) {
            Ok(args) => args,
            Err(answer) => return answer,
        };
        let force_create = match boolean(args, "force-create") {
            Ok(force) => force.unwrap_or(false),
            Err(why) => return Answer::error(why),
        };
        let now = unix_now();
        let (outcome, pending, count) = {
            let mut server = self.shared.server.lock();
            let lease = lease_json::from_json(args, now, |id, addr| {
                server.default_lifetime(id, addr).map_err(|e| e.to_string())
            });
            let lease = match lease {
                Ok(lease) => lease,
                Err(why) => return Answer::error(why),
            };
            match server.write_lease(lease, replace, force_create, now) {
                Ok((written, changes)) => {
                    let address = changes.last().map(|l| (l.address, l.subnet_id));
                    let pending = self.submit(&changes);
                    (Ok((written, address)), pending, changes.len())
                }
                Err(error) => (Err(error), None, 0),
            }
        };
        if let Err(answer) = self.persist(pending, count).await {
            return answer;
        }
        match outcome {
            Ok((Written::Added, Some((addr, subnet)))) if !replace => {
                Answer::ok(format!("Lease for address {addr}, subnet-id {subnet} added."))
            }
            Ok((Written::Added, _)) => Answer::ok("IPv4 lease added."),
            Ok((Written::Updated, _)) => Answer::ok("IPv4 lease updated."),
            Err(AdminError::Missing(addr)) => Answer::error(format!(
                "failed to update the lease with address {addr} either because the lease has been deleted or it has changed in the database, in both cases a retry might succeed"
            )),
            Err(error) => Answer::error(error.to_string()),
        }
    }

    async fn lease_del(&self, request: &Request) -> Answer {
        let args = match arguments(request, "Parameters missing or are not a map.") {
            Ok(args) => args,
            Err(answer) => return answer,
        };
        if let Err(why) = boolean(args, "update-ddns") {
            return Answer::error(why);
        }
        let (gone, pending) = {
            let mut server = self.shared.server.lock();
            let addr = match find_one(&server, args, "Delete") {
                Ok(Some(lease)) => lease.address,
                Ok(None) => return Answer::empty("IPv4 lease not found."),
                Err(answer) => return answer,
            };
            let gone = server.delete_lease(addr);
            let pending = gone
                .as_ref()
                .and_then(|g| self.submit(std::slice::from_ref(g)));
            (gone, pending)
        };
        if let Err(answer) = self.persist(pending, 1).await {
            return answer;
        }
        match gone {
            Some(_) => Answer::ok("IPv4 lease deleted."),
            None => Answer::empty("IPv4 lease not found."),
        }
    }

    fn lease_get(&self, request: &Request) -> Answer {
        let args = match arguments(request, "Parameters missing or are not a map.") {
            Ok(args) => args,
            Err(answer) => return answer,
        };
        let server = self.shared.server.lock();
        match find_one(&server, args, "Query") {
            Ok(Some(lease)) => Answer::with(
                result::SUCCESS,
                "IPv4 lease found.",
                lease_json::to_json(lease),
            ),
            Ok(None) => Answer::empty("Lease not found."),
            Err(answer) => answer,
        }
    }

    fn lease_get_all(&self, request: &Request) -> Answer {
        let subnets: Option<Vec<u32>> = match &request.arguments {
            None => None,
            Some(args) => match args.get("subnets") {
                None => return Answer::error("'subnets' parameter not specified"),
                Some(Value::Array(items)) => {
                    let ids: Option<Vec<u32>> = items
                        .iter()
                        .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                        .collect();
                    match ids {
                        Some(ids) => Some(ids),
                        None => return Answer::error("listed subnet identifiers must be numbers"),
                    }
                }
                Some(_) => return Answer::error("'subnets' parameter must be a list"),
            },
        };
        let server = self.shared.server.lock();
        let mut leases: Vec<&Lease> = server
            .entries()
            .filter(|l| {
                subnets
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&l.subnet_id))
            })
            .collect();
        leases.sort_by_key(|l| l.address);
        lease_list(&leases, None)
    }

    fn lease_get_by(&self, request: &Request, key: &str) -> Answer {
        let args = match arguments(request, "Command arguments missing or a not a map.") {
            Ok(args) => args,
            Err(answer) => return answer,
        };
        let wanted = match args.get(key) {
            None => return Answer::error(format!("'{key}' parameter not specified")),
            Some(Value::String(text)) => text,
            Some(_) => return Answer::error(format!("'{key}' parameter must be a string")),
        };
        if wanted.is_empty() {
            return Answer::error(format!("'{key}' parameter is empty"));
        }
        let bytes = match key {
            "hostname" => None,
            "client-id" => match lease_json::formatted_hex(wanted) {
                Ok(bytes) => Some(bytes),
                Err(why) => return Answer::error(why),
            },
            _ => match lease_json::colon_hex(wanted) {
                Ok(bytes) => Some(bytes),
                Err(why) => return Answer::error(why),
            },
        };
        let server = self.shared.server.lock();
        let mut leases: Vec<&Lease> = server
            .entries()
            .filter(|l| match key {
                "hostname" => l.hostname.eq_ignore_ascii_case(wanted),
                "client-id" => l.client_id.as_deref() == bytes.as_deref(),
                _ => Some(l.hwaddr.as_slice()) == bytes.as_deref(),
            })
            .collect();
        leases.sort_by_key(|l| l.address);
        lease_list(&leases, None)
    }

    fn lease_get_page(&self, request: &Request) -> Answer {
        let args = match arguments(
            request,
            "no parameters specified for the lease4-get-page command",
        ) {
            Ok(args) => args,
            Err(answer) => return answer,
        };
        let from = match args.get("from") {
            None => return Answer::error("'from' parameter not specified"),
            Some(Value::String(text)) if text == "start" => Ipv4Addr::UNSPECIFIED,
            Some(Value::String(text)) => match text.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(addr)) => addr,
                Ok(_) => {
                    return Answer::error(format!(
                        "'from' parameter value {text} is not an IPv4 address"
                    ))
                }
                Err(_) => return Answer::error(
                    "'from' parameter value is neither 'start' keyword nor a valid IPv4 address",
                ),
            },
            Some(_) => return Answer::error("'from' parameter must be a string"),
        };
        let limit = match args.get("limit") {
            None => return Answer::error("'limit' parameter not specified"),
            Some(value) => match value.as_u64() {
                Some(0) => return Answer::error("page size of retrieved leases must not be 0"),
                Some(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
                None => return Answer::error("'limit' parameter must be a number"),
            },
        };
        let server = self.shared.server.lock();
        let mut leases: Vec<&Lease> = server
            .entries()
            .filter(|l| from.is_unspecified() || l.address > from)
            .collect();
        // Under the server lock: select the page's leases in linear time
        // and sort only those (a sync pages through the whole table).
        if leases.len() > limit {
            leases.select_nth_unstable_by_key(limit, |l| l.address);
            leases.truncate(limit);
        }
        leases.sort_unstable_by_key(|l| l.address);
        let count = leases.len();
        lease_list(&leases, Some(("count", json!(count))))
    }

    async fn lease_wipe(&self, request: &Request) -> Answer {
        let subnet = match request.arguments.as_ref().map(|a| integer(a, "subnet-id")) {
            Some(Err(why)) => return Answer::error(why),
            Some(Ok(Some(id))) => match u32::try_from(id) {
                Ok(id) => Some(id),
                Err(_) => return Answer::error("'subnet-id' is out of range"),
            },
            _ => None,
        };
        let (gone, ids, pending) = {
            let mut server = self.shared.server.lock();
            let ids: Vec<u32> = match subnet {
                Some(id) => vec![id],
                None => server.stats().iter().map(|s| s.id).collect(),
            };
            let gone = server.wipe_leases(subnet);
            let pending = self.submit(&gone);
            (gone, ids, pending)
        };
        if let Err(answer) = self.persist(pending, gone.len()).await {
            return answer;
        }
        let ids: String = ids.iter().map(|id| format!(" {id}")).collect();
        let code = if gone.is_empty() {
            result::EMPTY
        } else {
            result::SUCCESS
        };
        Answer::text(
            code,
            format!("Deleted {} IPv4 lease(s) from subnet(s){ids}", gone.len()),
        )
    }
}

/// The `origin` of a dhcp-disable or dhcp-enable.
fn origin(request: &Request) -> Result<crate::run::Origin, Answer> {
    match request.arguments.as_ref().and_then(|a| a.get("origin")) {
        None => Ok(crate::run::Origin::User),
        Some(Value::String(o)) if o == "user" => Ok(crate::run::Origin::User),
        Some(Value::String(o)) if o == "ha-partner" => Ok(crate::run::Origin::Ha),
        Some(Value::String(o)) => Err(Answer::error(format!(
            "invalid value used for 'origin' parameter: {o}"
        ))),
        Some(_) => Err(Answer::error("'origin' argument must be a string")),
    }
}

/// The lease `args` names: by `ip-address`, or by `identifier-type` and
/// `identifier` in `subnet-id` (lease4-get, lease4-del).
/// `verb` names the command in Kea's refusal of a duid ("Query",
/// "Delete").
fn find_one<'a>(
    server: &'a crate::server::Server,
    args: &Map<String, Value>,
    verb: &str,
) -> Result<Option<&'a Lease>, Answer> {
    if args.contains_key("ip-address") {
        let addr = match args.get("ip-address") {
            Some(Value::String(text)) => match text.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(addr)) => addr,
                _ => {
                    return Err(Answer::error(format!(
                        "Invalid IPv4 address specified: {text}"
                    )))
                }
            },
            _ => return Err(Answer::error("'ip-address' is not a string.")),
        };
        return Ok(server.lease(addr).filter(|l| !l.is_deletion()));
    }
    let subnet = match args.get("subnet-id") {
        None => return Err(Answer::error("Mandatory 'subnet-id' parameter missing.")),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| Answer::error("'subnet-id' parameter is not integer."))?,
    };
    let kind =
        match args.get("identifier-type") {
            Some(Value::String(kind)) => kind.as_str(),
            _ => return Err(Answer::error(
                "No 'ip-address' provided and 'identifier-type' is either missing or not a string.",
            )),
        };
    let identifier = match args.get("identifier") {
        Some(Value::String(text)) => text,
        _ => {
            return Err(Answer::error(
                "No 'ip-address' provided and 'identifier' is either missing or not a string.",
            ))
        }
    };
    // Kea's order: the type, then the identifier as that type, then
    // whether v4 can query by it.
    let bytes = match kind {
        "hw-address" => lease_json::colon_hex(identifier),
        "client-id" | "duid" => lease_json::formatted_hex(identifier),
        other => {
            return Err(Answer::error(format!(
                "Incorrect identifier type: {other}, the only supported values are: address, hw-address, duid"
            )))
        }
    }
    .map_err(Answer::error)?;
    let found = server
        .entries()
        .filter(|l| l.subnet_id == subnet && !l.is_deletion());
    let mut found: Vec<&Lease> = match kind {
        "hw-address" => found.filter(|l| l.hwaddr == bytes).collect(),
        "client-id" => found
            .filter(|l| l.client_id.as_deref() == Some(bytes.as_slice()))
            .collect(),
        _ => {
            return Err(Answer::error(format!(
                "{verb} by duid is not allowed in v4."
            )))
        }
    };
    found.sort_by_key(|l| std::cmp::Reverse(l.expire));
    Ok(found.first().copied())
}

/// One statistic as Kea lists it: its samples, newest first.
fn sample_json(value: i64, at: SystemTime) -> Value {
    json!([[value, kea_timestamp(at)]])
}

/// The configuration in a config-test or config-set command, loaded.
async fn loaded_from_arguments(request: &Request) -> Result<crate::config::model::Config, Answer> {
    let Some(args) = &request.arguments else {
        return Err(Answer::error("Missing mandatory 'arguments' parameter."));
    };
    if !args.contains_key("Dhcp4") {
        return Err(Answer::error("Missing mandatory 'Dhcp4' parameter."));
    }
    let text = Value::Object(args.clone()).to_string();
    let loaded =
        tokio::task::spawn_blocking(move || crate::config::load_str(&text, Path::new("<wire>")))
            .await;
    match loaded {
        Ok(Ok((config, _))) => Ok(config),
        Ok(Err(error)) => Err(Answer::error(error.to_string())),
        Err(error) => Err(Answer::error(error.to_string())),
    }
}

async fn config_test(request: &Request) -> Answer {
    match loaded_from_arguments(request).await {
        Ok(_) => Answer::ok("Configuration seems sane. Control-socket, hook-libraries, and D2 configuration were sanity checked, but not applied."),
        Err(answer) => answer,
    }
}

/// config-write may write only beside the configuration file (Kea 2.6.3
/// closed the same hole: a command must not overwrite arbitrary files).
fn within_config_directory(source: Option<&Path>, target: &Path) -> Result<(), String> {
    let Some(dir) = source.and_then(Path::parent) else {
        return Err("config-write: the configuration came from no file, so there is no directory to write in".into());
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (Ok(dir), Ok(parent)) = (dir.canonicalize(), parent.canonicalize()) else {
        return Err(format!(
            "Error during write-config:Unable to open file {} for writing",
            target.display()
        ));
    };
    if parent == dir {
        Ok(())
    } else {
        Err(format!(
            "not allowed to write config into {}: path must be in {}",
            target.display(),
            dir.display()
        ))
    }
}

/// What `build-report` says.
fn build_report() -> String {
    format!(
        "dhcp4 {} (a Kea replacement)\nlease backend: memfile (Kea CSV, fsync before ACK)\ncommand channel: UNIX socket, HTTP, HTTPS\nhooks served natively: lease_cmds",
        env!("CARGO_PKG_VERSION")
    )
}
