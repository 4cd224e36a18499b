//! The PostgreSQL side of cache consistency: writes announce themselves with
//! `pg_notify` inside their own transaction (so only committed changes are announced,
//! and only once committed), and each instance keeps one connection that `LISTEN`s
//! and turns every announcement into an invalidation.
//!
//! The listener polls its connection every [`POLL`] (libpq reads what has arrived
//! without blocking) and confirms it with a `SELECT 1` every [`PING`]; each
//! confirmation keeps the caches trusted for [`TRUST_WINDOW`](super::TRUST_WINDOW).
//! A failed poll or ping, or a ping that hangs, lets the trust lapse: reads go to the
//! database until a new connection is listening, which flushes everything first.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use diesel::{Connection as _, PgConnection, QueryResult, RunQueryDsl as _, sql_types::Text};

use super::Caches;
use crate::connection::DbConnection;

/// The notification channel.
pub(crate) const CHANNEL: &str = "roster_cache";

const POLL: Duration = Duration::from_millis(20);
const PING: Duration = Duration::from_millis(250);
const RECONNECT: Duration = Duration::from_secs(1);

/// Announces a change to every instance, inside the caller's transaction. Nothing on
/// SQLite, whose server is the only process that serves from its caches.
pub(crate) fn announce(conn: &mut DbConnection, payload: &str) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(pg)?;
    }
    Ok(())
}

/// The listening thread; it stops when [`Listener::stop`] is called.
#[derive(Debug)]
pub(crate) struct Listener {
    stop: Arc<AtomicBool>,
}

impl Listener {
    /// Starts listening on `url` (a libpq URL or connection string) for `caches`.
    pub(crate) fn start(url: &str, caches: Caches) -> anyhow::Result<Self> {
        let url = named(url);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::Builder::new()
            .name("roster-cache-listener".to_owned())
            .spawn(move || run(&url, &caches, &stopped))?;
        Ok(Self { stop })
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The application name the listener's connection shows in `pg_stat_activity`.
pub(crate) const APPLICATION_NAME: &str = "roster-cache-listener";

fn named(url: &str) -> String {
    if url.contains("application_name=") {
        url.to_owned()
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}application_name={APPLICATION_NAME}")
    } else {
        format!("{url} application_name={APPLICATION_NAME}")
    }
}

fn run(url: &str, caches: &Caches, stop: &AtomicBool) {
    let mut announced_loss = false;
    while !stop.load(Ordering::SeqCst) {
        match listen(url) {
            Ok(conn) => {
                tracing::info!("cache listener connected: caches in use");
                announced_loss = false;
                serve(conn, caches, stop);
                caches.distrust();
                if !stop.load(Ordering::SeqCst) {
                    tracing::warn!("cache listener lost its connection: caches bypassed");
                }
            }
            Err(error) if !announced_loss => {
                tracing::warn!(%error, "cache listener cannot connect: caches bypassed");
                announced_loss = true;
            }
            Err(_) => {}
        }
        let resume = Instant::now() + RECONNECT;
        while Instant::now() < resume && !stop.load(Ordering::SeqCst) {
            thread::sleep(POLL);
        }
    }
}

fn listen(url: &str) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::establish(url)?;
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    Ok(conn)
}

/// Until the connection fails or the listener stops. Everything is flushed first:
/// changes made before `LISTEN` were not announced to this connection.
fn serve(mut conn: PgConnection, caches: &Caches, stop: &AtomicBool) {
    caches.flush();
    let mut confirmed: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        if confirmed.is_none_or(|at| at.elapsed() >= PING) {
            let at = Instant::now();
            if diesel::sql_query("SELECT 1").execute(&mut conn).is_err() {
                return;
            }
            // Whatever was committed before the ping has arrived with its answer.
            if !drain(&mut conn, caches) {
                return;
            }
            caches.confirm(at);
            confirmed = Some(at);
        } else if !drain(&mut conn, caches) {
            return;
        }
        thread::sleep(POLL);
    }
}

/// Applies every notification that has arrived; `false` if the connection failed.
fn drain(conn: &mut PgConnection, caches: &Caches) -> bool {
    for notification in conn.notifications_iter() {
        match notification {
            Ok(notification) => caches.apply(&notification.payload),
            Err(_) => return false,
        }
    }
    true
}
