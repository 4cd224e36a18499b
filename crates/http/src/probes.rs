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

#[derive(Debug, Serialize)]
struct Report {
    status: &'static str,
    checks: BTreeMap<&'static str, CheckReport>,
}

#[derive(Debug, Serialize)]
struct CheckReport {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// 200 while the process serves requests; checks nothing else.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 when every check passes; otherwise 503 naming what failed.
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
            Ok(Err(e)) => CheckReport {
                status: "down",
                error: Some(e.to_string()),
            },
            Err(_) => CheckReport {
                status: "down",
                error: Some(format!("no answer within {:?}", readiness.timeout)),
            },
        };
        (check.name(), outcome)
    }))
    .await;
    let ready = results.iter().all(|(_, report)| report.error.is_none());
    let report = Report {
        status: if ready { "ready" } else { "not_ready" },
        checks: results.into_iter().collect(),
    };
    if ready {
        HttpResponse::Ok().json(report)
    } else {
        tracing::warn!(report = ?report, "not ready");
        HttpResponse::ServiceUnavailable().json(report)
    }
}
