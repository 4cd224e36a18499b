//! Liveness (`/health`) and readiness (`/ready`).

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use actix_web::{HttpResponse, web};
use futures_util::future::join_all;
use roster_domain::ports::HealthCheck;
use serde::Serialize;
use utoipa::ToSchema;

/// What decides readiness: the dependency checks, and whether shutdown has begun.
#[derive(Clone)]
pub struct Readiness {
    checks: Vec<Arc<dyn HealthCheck>>,
    timeout: Duration,
    draining: Arc<AtomicBool>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.checks.iter().map(|c| c.name()).collect();
        f.debug_struct("Readiness")
            .field("checks", &names)
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

impl Readiness {
    pub fn new(checks: Vec<Arc<dyn HealthCheck>>, timeout: Duration) -> Self {
        Self {
            checks,
            timeout,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on `/ready` answers 503, so load balancers stop sending traffic.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// How a failed check reports: `down` makes the service not ready; `degraded` (a
/// check that is not critical, such as the event relay) leaves it ready.
fn down(check: &dyn HealthCheck) -> &'static str {
    if check.critical() { "down" } else { "degraded" }
}

/// Whether the service can serve requests, and each check's state.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Readiness)]
pub(crate) struct Report {
    /// `ready`; `degraded` (still ready: 200) when a check that is not critical
    /// fails; `not_ready`; or `draining` once shutdown has begun.
    #[schema(value_type = String, example = "ready")]
    status: &'static str,
    #[schema(value_type = BTreeMap<String, CheckReport>)]
    checks: BTreeMap<&'static str, CheckReport>,
}

/// One readiness check.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckReport {
    /// `up`, `down`, or `degraded` (failing, but not critical to readiness).
    #[schema(value_type = String, example = "up")]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The liveness body.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: String,
}

/// 200 while the process serves requests; checks nothing else.
#[utoipa::path(
    get, path = "/health", operation_id = "health", tag = "probes",
    summary = "Liveness: 200 while the process serves requests",
    responses((status = 200, description = "Alive", body = Health)),
)]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 when every check passes; otherwise 503 naming what failed.
#[utoipa::path(
    get, path = "/ready", operation_id = "ready", tag = "probes",
    summary = "Readiness: 200 when the database is reachable and migrated",
    responses(
        (status = 200, description = "Ready", body = Report),
        (status = 503, description = "Not ready, or draining for shutdown", body = Report),
    ),
)]
pub(crate) async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    if readiness.is_draining() {
        let report = Report {
            status: "draining",
            checks: BTreeMap::new(),
        };
        return HttpResponse::ServiceUnavailable().json(report);
    }
    let results = join_all(readiness.checks.iter().map(|check| async {
        let outcome = match tokio::time::timeout(readiness.timeout, check.check()).await {
            Ok(Ok(())) => CheckReport {
                status: "up",
                error: None,
            },
            // The cause (a host name, a driver's message) stays in the log: the probe
            // is anonymous.
            Ok(Err(e)) => {
                tracing::warn!(check = check.name(), error = %e, "readiness check failed");
                CheckReport {
                    status: down(check.as_ref()),
                    error: Some("failed (the cause is in the log)".to_owned()),
                }
            }
            Err(_) => CheckReport {
                status: down(check.as_ref()),
                error: Some(format!("no answer within {:?}", readiness.timeout)),
            },
        };
        (check.name(), outcome)
    }))
    .await;
    let ready = results.iter().all(|(_, report)| report.status != "down");
    let degraded = results
        .iter()
        .any(|(_, report)| report.status == "degraded");
    let report = Report {
        status: match (ready, degraded) {
            (false, _) => "not_ready",
            (true, true) => "degraded",
            (true, false) => "ready",
        },
        checks: results.into_iter().collect(),
    };
    if ready {
        HttpResponse::Ok().json(report)
    } else {
        tracing::warn!(report = ?report, "not ready");
        HttpResponse::ServiceUnavailable().json(report)
    }
}
