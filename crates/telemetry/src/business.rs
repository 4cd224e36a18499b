//! [`OpenTelemetryBusinessMetrics`]: the domain's `BusinessMetrics` port as
//! OpenTelemetry counters (and so Prometheus series).

use opentelemetry::{
    KeyValue,
    metrics::{Counter, Meter},
};
use roster_domain::{
    UserEventKind,
    ports::{BusinessMetrics, LoginOutcome, RevocationScope},
};

/// `roster.auth.logins` (by `outcome`), `roster.auth.tokens.revoked` (by `scope`),
/// and `roster.users.created`, `.updated` and `.deleted`.
#[derive(Debug, Clone)]
pub struct OpenTelemetryBusinessMetrics {
    logins: Counter<u64>,
    revocations: Counter<u64>,
    created: Counter<u64>,
    updated: Counter<u64>,
    deleted: Counter<u64>,
}

impl OpenTelemetryBusinessMetrics {
    pub fn new(meter: &Meter) -> Self {
        let counter = |name: &'static str, unit: &'static str, description: &'static str| {
            meter
                .u64_counter(name)
                .with_unit(unit)
                .with_description(description)
                .build()
        };
        Self {
            logins: counter(
                "roster.auth.logins",
                "{login}",
                "Login attempts, by outcome",
            ),
            revocations: counter(
                "roster.auth.tokens.revoked",
                "{revocation}",
                "Token revocations, by scope",
            ),
            created: counter("roster.users.created", "{user}", "Users created"),
            updated: counter("roster.users.updated", "{user}", "User updates"),
            deleted: counter("roster.users.deleted", "{user}", "Users deleted"),
        }
    }
}

impl BusinessMetrics for OpenTelemetryBusinessMetrics {
    fn login(&self, outcome: LoginOutcome) {
        self.logins
            .add(1, &[KeyValue::new("outcome", outcome.as_str())]);
    }

    fn tokens_revoked(&self, scope: RevocationScope) {
        self.revocations
            .add(1, &[KeyValue::new("scope", scope.as_str())]);
    }

    fn user_changed(&self, kind: UserEventKind) {
        let counter = match kind {
            UserEventKind::Created => &self.created,
            UserEventKind::Updated => &self.updated,
            UserEventKind::Deleted => &self.deleted,
        };
        counter.add(1, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metrics;

    #[test]
    fn counts_appear_in_the_prometheus_text() {
        let metrics = Metrics::local().expect("metrics");
        let business = OpenTelemetryBusinessMetrics::new(&metrics.meter());
        business.user_changed(UserEventKind::Created);
        business.user_changed(UserEventKind::Created);
        business.user_changed(UserEventKind::Deleted);
        business.login(LoginOutcome::Failed);
        business.login(LoginOutcome::Succeeded);
        business.tokens_revoked(RevocationScope::Token);

        let text = metrics.render().expect("rendered");
        let has = |prefix: &str, parts: &[&str]| {
            text.lines().any(|line| {
                line.starts_with(prefix) && parts.iter().all(|part| line.contains(part))
            })
        };
        assert!(
            text.lines()
                .any(|line| line.starts_with("roster_users_created_total{") && line.ends_with(" 2")),
            "{text}"
        );
        assert!(has("roster_users_deleted_total{", &[" 1"]), "{text}");
        assert!(
            !has("roster_users_updated_total{", &[]),
            "never counted: {text}"
        );
        assert!(
            has("roster_auth_logins_total{", &["outcome=\"failed\"", " 1"]),
            "{text}"
        );
        assert!(
            has(
                "roster_auth_logins_total{",
                &["outcome=\"succeeded\"", " 1"]
            ),
            "{text}"
        );
        assert!(
            has(
                "roster_auth_tokens_revoked_total{",
                &["scope=\"token\"", " 1"]
            ),
            "{text}"
        );
    }
}
