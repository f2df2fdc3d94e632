//! One way to talk to Redis whatever its topology: one server through the
//! `redis` crate's connection manager (it reconnects by itself), the master a
//! set of Sentinels names (asked again on every reconnect, so a failover is
//! followed), or a Redis Cluster (slots and redirects handled by the crate).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};
use redis::{RedisError, RedisResult};

use crate::config::{CachedbConfig, RedisTopology};

/// How long one connection attempt may take (the crate's own, below our
/// per-operation timeout, which still bounds every query's wait).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A live connection, cheap to clone (each clone shares the same socket).
#[derive(Clone)]
pub enum Link {
    /// One server or a Sentinel-named master.
    Direct(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl Link {
    /// `GET key`: the value, or None when absent.
    pub async fn get(&self, key: &[u8]) -> RedisResult<Option<Vec<u8>>> {
        let mut command = redis::cmd("GET");
        command.arg(key);
        match self.clone() {
            Link::Direct(mut conn) => command.query_async(&mut conn).await,
            Link::Cluster(mut conn) => command.query_async(&mut conn).await,
        }
    }

    /// `SET key value [EX seconds]`.
    pub async fn set(&self, key: &[u8], value: &[u8], expire: Option<u64>) -> RedisResult<()> {
        let mut command = redis::cmd("SET");
        command.arg(key).arg(value);
        if let Some(seconds) = expire {
            command.arg("EX").arg(seconds.max(1));
        }
        match self.clone() {
            Link::Direct(mut conn) => command.query_async(&mut conn).await,
            Link::Cluster(mut conn) => command.query_async(&mut conn).await,
        }
    }

    /// `PING`, to learn whether Redis is back.
    pub async fn ping(&self) -> RedisResult<()> {
        let command = redis::cmd("PING");
        let reply: String = match self.clone() {
            Link::Direct(mut conn) => command.query_async(&mut conn).await?,
            Link::Cluster(mut conn) => command.query_async(&mut conn).await?,
        };
        if reply == "PONG" {
            Ok(())
        } else {
            Err(RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "PING was not answered PONG",
            )))
        }
    }
}

/// Makes [`Link`]s for the configured topology.
pub struct Connector {
    target: Target,
    timeout: Duration,
}

enum Target {
    Single(Client),
    Sentinel(tokio::sync::Mutex<SentinelClient>),
    Cluster(redis::cluster::ClusterClient),
}

impl Connector {
    /// Checks the endpoints; connects to nothing yet.
    pub fn new(config: &CachedbConfig) -> RedisResult<Self> {
        let mut settings = RedisConnectionInfo::default().set_db(i64::from(config.logical_db));
        if let Some(password) = &config.password {
            settings = settings.set_password(password);
        }
        let target = match &config.topology {
            RedisTopology::Single => {
                let addr = match &config.path {
                    Some(path) => ConnectionAddr::Unix(path.clone()),
                    None => ConnectionAddr::Tcp(config.host.clone(), config.port),
                };
                let info: ConnectionInfo =
                    addr.into_connection_info()?.set_redis_settings(settings);
                Target::Single(Client::open(info)?)
            }
            RedisTopology::Sentinel { sentinels, master } => {
                let node =
                    SentinelNodeConnectionInfo::default().set_redis_connection_info(settings);
                let client = SentinelClient::build(
                    sentinels.clone(),
                    master.clone(),
                    Some(node),
                    SentinelServerType::Master,
                )?;
                Target::Sentinel(tokio::sync::Mutex::new(client))
            }
            RedisTopology::Cluster { nodes } => {
                let mut builder = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(config.timeout)
                    .retries(1);
                if let Some(password) = &config.password {
                    builder = builder.password(password);
                }
                Target::Cluster(builder.build()?)
            }
        };
        Ok(Self {
            target,
            timeout: config.timeout,
        })
    }

    /// A new link: for Sentinel, to whichever server is master now.
    pub async fn connect(&self) -> RedisResult<Link> {
        match &self.target {
            Target::Single(client) => self.manager(client.clone()),
            Target::Sentinel(sentinel) => {
                let client = sentinel.lock().await.async_get_client().await?;
                self.manager(client)
            }
            Target::Cluster(client) => Ok(Link::Cluster(client.get_async_connection().await?)),
        }
    }

    /// True when a failed link should be replaced rather than reused: a
    /// Sentinel master may have moved, and a cluster link may never have formed.
    pub fn reconnects_on_recovery(&self) -> bool {
        !matches!(self.target, Target::Single(_))
    }

    fn manager(&self, client: Client) -> RedisResult<Link> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        Ok(Link::Direct(ConnectionManager::new_lazy_with_config(
            client, config,
        )?))
    }
}
