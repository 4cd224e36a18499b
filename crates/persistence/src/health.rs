//! Readiness checks on the database.

use async_trait::async_trait;
use diesel::{RunQueryDsl as _, sql_types::Integer};
use roster_domain::ports::{HealthCheck, HealthCheckError, RepositoryError};

use crate::database::Database;

/// Ready when a pooled connection answers `SELECT 1`.
#[derive(Debug, Clone)]
pub struct DatabaseReachable(pub Database);

#[async_trait]
impl HealthCheck for DatabaseReachable {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<(), HealthCheckError> {
        let answer = async {
            self.0
                .query("SELECT", "", move |conn| {
                    diesel::select(diesel::dsl::sql::<Integer>("1")).get_result::<i32>(conn)
                })
                .await
        };
        match answer.await {
            Ok(1) => Ok(()),
            Ok(other) => Err(HealthCheckError(format!("SELECT 1 answered {other}"))),
            Err(RepositoryError::Unavailable(e) | RepositoryError::Unexpected(e)) => {
                Err(HealthCheckError(format!("{e:#}")))
            }
        }
    }
}

/// Ready when every embedded migration is applied.
#[derive(Debug, Clone)]
pub struct MigrationsApplied(pub Database);

#[async_trait]
impl HealthCheck for MigrationsApplied {
    fn name(&self) -> &'static str {
        "migrations"
    }

    async fn check(&self) -> Result<(), HealthCheckError> {
        let status = self
            .0
            .migration_status()
            .await
            .map_err(|e| HealthCheckError(format!("{e:#}")))?;
        let pending: Vec<_> = status
            .into_iter()
            .filter(|m| !m.applied)
            .map(|m| m.name)
            .collect();
        if pending.is_empty() {
            Ok(())
        } else {
            Err(HealthCheckError(format!(
                "pending migrations: {}",
                pending.join(", ")
            )))
        }
    }
}
