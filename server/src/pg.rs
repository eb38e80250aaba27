//! The Postgres wire protocol (`eddy server --pg-listen`): psql, psycopg and other Postgres
//! clients run statements through the same engine, sessions of push queries and users as
//! the REST API. The protocol itself (framing, startup, md5 authentication, cancel
//! requests) is the `pgwire` crate's; this module owns the listener and the handlers.
//!
//! Statements run as `/ksql` and `/query` run them ([`execute`]); results are encoded by
//! [`values`]; `$n` parameters of prepared statements become quoted literals
//! ([`parameters`]); [`protocol`] answers the simple and extended query messages.

mod execute;
mod parameters;
mod protocol;
mod values;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::Sink;
use pgwire::api::auth::cleartext::CleartextPasswordAuthStartupHandler;
use pgwire::api::auth::md5pass::{Md5PasswordAuthStartupHandler, hash_md5_password};
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::{ClientInfo, ConnectionManager, PgWireServerHandlers};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::task::{JoinHandle, JoinSet};

use self::protocol::QueryHandler;
use crate::credential::Credential;
use crate::http::AppState;
use crate::{Result, ServerError};

/// The version Eddy reports as `server_version`: clients such as psql read features from
/// it, and Eddy speaks the protocol of Postgres 14 and later.
const SERVER_VERSION: &str = "14.0 (Eddy)";

/// Binds `addr` and serves Postgres clients until the server's shutdown signal; stopping
/// closes every connection.
pub(crate) async fn start(
    state: Arc<AppState>,
    addr: SocketAddr,
) -> Result<(SocketAddr, JoinHandle<()>)> {
    let io_error = |error| ServerError::Exec(executor::ExecError::Io(error));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(io_error)?;
    let local_addr = listener.local_addr().map_err(io_error)?;
    let handlers = Arc::new(Handlers::new(Arc::clone(&state)));
    let shutdown = state.shutdown.clone();
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => {
                        if let Err(error) = socket.set_nodelay(true) {
                            tracing::debug!("cannot set TCP_NODELAY: {error}");
                        }
                        let handlers = Arc::clone(&handlers);
                        connections.spawn(async move {
                            if let Err(error) =
                                pgwire::tokio::process_socket(socket, None, handlers).await
                            {
                                tracing::debug!("a Postgres connection failed: {error}");
                            }
                        });
                    }
                    Err(error) => tracing::warn!("cannot accept a Postgres connection: {error}"),
                },
                // Finished connections are reaped as they end.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = crate::http::shutdown_requested(shutdown.clone()) => break,
            }
        }
        // Dropping the set aborts the open connections; their queries stop with them.
        connections.shutdown().await;
    });
    Ok((local_addr, task))
}

/// The handlers of every connection.
struct Handlers {
    query: Arc<QueryHandler>,
    startup: Arc<Startup>,
    cancel: Arc<DefaultCancelHandler>,
}

impl Handlers {
    fn new(state: Arc<AppState>) -> Self {
        let manager = Arc::new(ConnectionManager::new());
        let startup = match &state.config.users {
            Some(users) => {
                let mut parameters = DefaultServerParameterProvider::default();
                parameters.server_version = SERVER_VERSION.into();
                let users = Users(users.clone());
                // md5 needs every password in the clear; hashed ones are checked as sent
                // (cleartext authentication: use it with TLS or on a trusted network).
                if users
                    .0
                    .values()
                    .all(|credential| credential.plain().is_some())
                {
                    Startup::Password(
                        Md5PasswordAuthStartupHandler::new(Arc::new(users), Arc::new(parameters))
                            .with_connection_manager(Arc::clone(&manager)),
                    )
                } else {
                    Startup::Cleartext(
                        CleartextPasswordAuthStartupHandler::new(users, Arc::new(parameters))
                            .with_connection_manager(Arc::clone(&manager)),
                    )
                }
            }
            None => Startup::Trust(Trust {
                manager: Arc::clone(&manager),
            }),
        };
        Self {
            query: Arc::new(QueryHandler::new(state)),
            startup: Arc::new(startup),
            cancel: Arc::new(DefaultCancelHandler::new(manager)),
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        Arc::clone(&self.query)
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        Arc::clone(&self.query)
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::clone(&self.cancel)
    }
}

/// Without users every client is trusted; with users a password is required (md5, or
/// cleartext when some password is stored hashed).
enum Startup {
    Trust(Trust),
    Password(Md5PasswordAuthStartupHandler<Users, DefaultServerParameterProvider>),
    Cleartext(CleartextPasswordAuthStartupHandler<Users, Arc<DefaultServerParameterProvider>>),
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Trust(trust) => trust.on_startup(client, message).await,
            Startup::Password(password) => password.on_startup(client, message).await,
            Startup::Cleartext(password) => password.on_startup(client, message).await,
        }
    }
}

/// Startup without authentication; the connection is registered for cancel requests.
struct Trust {
    manager: Arc<ConnectionManager>,
}

impl NoopStartupHandler for Trust {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(Arc::clone(&self.manager))
    }
}

/// The server's users (`--auth-file`), as md5 authentication asks for them.
struct Users(BTreeMap<String, Credential>);

impl Debug for Users {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the passwords.
        formatter.debug_list().entries(self.0.keys()).finish()
    }
}

#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        let salt: [u8; 4] = rand_salt();
        // An unknown user gets a password no client can send, so it fails like a wrong one.
        let hashed = match self.0.get(user) {
            Some(credential) => match credential.plain() {
                Some(password) => hash_md5_password(user, password, &salt),
                None => String::from("hashed password"),
            },
            None => String::from("unknown user"),
        };
        Ok(Password::new(Some(salt.to_vec()), hashed.into_bytes()))
    }

    async fn verify_password(
        &self,
        login: &LoginInfo,
        presented_password: &[u8],
    ) -> PgWireResult<Option<()>> {
        let user = login.user().unwrap_or_default().to_owned();
        let credential = self.0.get(&user).cloned();
        let password = String::from_utf8_lossy(presented_password).into_owned();
        let verified = match credential {
            Some(credential) => tokio::task::spawn_blocking(move || credential.verify(&password))
                .await
                .unwrap_or(false),
            None => false,
        };
        if verified {
            Ok(None)
        } else {
            Err(PgWireError::InvalidPassword(user))
        }
    }
}

/// A fresh md5 salt: the bytes of a random hasher seed (std's `RandomState` is seeded from
/// the operating system's random source).
fn rand_salt() -> [u8; 4] {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(0),
    );
    let bytes = hasher.finish().to_le_bytes();
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}
