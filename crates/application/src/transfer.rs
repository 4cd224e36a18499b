//! Users in bulk: [`TransferService`] imports rows made elsewhere (validated by the
//! same value objects as the API, written in batched transactions) and pages through
//! every user for an export.

mod plan;
mod report;
mod row;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use roster_domain::{
    Actor, ImportedUser, Operation, PasswordPolicy, Resource, User, UserId, UserIdGenerator,
    ports::{ImportWriteError, UserTransfer},
};

pub use report::{BatchReport, ImportOptions, RowOutcome, RowReport};
pub use row::{RawUser, RowError};

use crate::{Ports, UsersError};

/// How often a batch is planned again when the store changed under it.
const BATCH_ATTEMPTS: usize = 3;

/// The most rows one batch may hold: every row is a few bound parameters of one
/// multi-row `INSERT`, and SQLite allows 32,766 per statement.
pub const MAX_BATCH_ROWS: usize = 2_000;

/// The import and export use cases (administrators, and the command line).
#[derive(Clone)]
pub struct TransferService {
    ports: Ports,
    transfer: Arc<dyn UserTransfer>,
    policy: PasswordPolicy,
    /// New users' ids, neighbours within a millisecond (see [`UserIdGenerator`]).
    ids: Arc<Mutex<UserIdGenerator>>,
}

impl std::fmt::Debug for TransferService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferService").finish_non_exhaustive()
    }
}

impl TransferService {
    pub fn new(ports: Ports, transfer: Arc<dyn UserTransfer>, policy: PasswordPolicy) -> Self {
        Self {
            ports,
            transfer,
            policy,
            ids: Arc::default(),
        }
    }

    /// Whether `actor` may import (administrators, and the command line): asked before
    /// an upload is read, so that a refused one costs nothing.
    pub fn authorize_import(&self, actor: &Actor) -> Result<(), UsersError> {
        self.ports
            .authorizer
            .authorize(
                actor,
                &roster_domain::AccessRequest {
                    operation: Operation::Write,
                    resource: Resource::Users,
                    at: self.ports.clock.now(),
                },
            )
            .map_err(UsersError::from)
    }

    /// Imports one batch of rows (at most [`MAX_BATCH_ROWS`]): every valid row is
    /// created, updated or left as `options` say, in one transaction per run of rows
    /// that names no user twice (a second row for the same user is written after the
    /// first, as it would be by running them one by one). Invalid rows are reported,
    /// never written. Answers each row's outcome, in input order.
    #[tracing::instrument(name = "users.import", skip_all, fields(actor = %actor.label(), rows = i64::try_from(rows.len()).unwrap_or(i64::MAX), dry_run = options.dry_run))]
    pub async fn import_batch(
        &self,
        actor: &Actor,
        rows: Vec<RawUser>,
        options: ImportOptions,
    ) -> Result<BatchReport, UsersError> {
        self.authorize_import(actor)?;
        if rows.len() > MAX_BATCH_ROWS {
            return Err(UsersError::Unexpected(anyhow::anyhow!(
                "a batch holds at most {MAX_BATCH_ROWS} rows, not {}",
                rows.len()
            )));
        }
        let mut report = BatchReport::default();
        let mut run: Vec<ImportedUser> = Vec::new();
        let mut keys: HashSet<String> = HashSet::new();
        // Invalid rows wait with the run they follow, so that the report stays in
        // input order.
        let mut pending_invalid: Vec<(u64, RowError)> = Vec::new();
        for raw in rows {
            let line = raw.line;
            match raw.parse(
                self.policy,
                self.ports.hasher.as_ref(),
                self.ports.clock.now(),
            ) {
                Err(error) => pending_invalid.push((line, error)),
                Ok(user) => {
                    let user_keys = row::keys(&user);
                    if user_keys.iter().any(|key| keys.contains(key)) {
                        report.extend(
                            self.write_run(
                                actor,
                                std::mem::take(&mut run),
                                &mut pending_invalid,
                                options,
                            )
                            .await?,
                        );
                        keys.clear();
                    }
                    keys.extend(user_keys);
                    run.push(user);
                }
            }
        }
        report.extend(
            self.write_run(actor, run, &mut pending_invalid, options)
                .await?,
        );
        report.rows.sort_by_key(|row| row.line);
        Ok(report)
    }

    /// Plans and writes one run of rows naming distinct users, planning again when
    /// the store changed in between; the invalid rows seen so far are counted with it
    /// (in its audit entry).
    async fn write_run(
        &self,
        actor: &Actor,
        run: Vec<ImportedUser>,
        invalid: &mut Vec<(u64, RowError)>,
        options: ImportOptions,
    ) -> Result<BatchReport, UsersError> {
        let mut report = BatchReport::default();
        for (line, error) in invalid.drain(..) {
            report.push(line, RowOutcome::Invalid(error));
        }
        if run.is_empty() {
            return Ok(report);
        }
        for attempt in 1..=BATCH_ATTEMPTS {
            let (planned, batch) =
                plan::plan(&self.planner(), actor, &run, options, report.counts).await?;
            // A batch that changes nothing writes nothing, not even its audit entry:
            // running an import again leaves the database as it was.
            if options.dry_run || (batch.created.is_empty() && batch.updated.is_empty()) {
                report.extend(planned);
                return Ok(report);
            }
            match self.write(&batch).await {
                Ok(()) => {
                    for _ in &batch.created {
                        self.ports
                            .metrics
                            .user_changed(roster_domain::UserEventKind::Created);
                    }
                    for _ in &batch.updated {
                        self.ports
                            .metrics
                            .user_changed(roster_domain::UserEventKind::Updated);
                    }
                    report.extend(planned);
                    return Ok(report);
                }
                Err(ImportWriteError::Raced) if attempt < BATCH_ATTEMPTS => {
                    tracing::info!(
                        attempt,
                        "the users changed under an import batch; planning it again"
                    );
                }
                Err(ImportWriteError::Raced) => return Err(UsersError::Conflict),
                Err(ImportWriteError::Repository(e)) => return Err(e.into()),
            }
        }
        Err(UsersError::Conflict)
    }

    fn planner(&self) -> plan::Planner<'_> {
        plan::Planner {
            ports: &self.ports,
            transfer: self.transfer.as_ref(),
            ids: &self.ids,
        }
    }

    async fn write(&self, batch: &roster_domain::ImportBatch) -> Result<(), ImportWriteError> {
        self.transfer.write_batch(batch).await
    }

    /// Up to `limit` users in id order after `after`, with their password hashes
    /// (administrators, and the command line): a page of an export.
    #[tracing::instrument(name = "users.export", skip_all, fields(actor = %actor.label()))]
    pub async fn export_page(
        &self,
        actor: &Actor,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<User>, UsersError> {
        self.ports
            .authorizer
            .authorize(
                actor,
                &roster_domain::AccessRequest {
                    operation: Operation::Read,
                    resource: Resource::Users,
                    at: self.ports.clock.now(),
                },
            )
            .map_err(UsersError::from)?;
        Ok(self.transfer.page(after, limit).await?)
    }
}

#[cfg(test)]
mod tests;
