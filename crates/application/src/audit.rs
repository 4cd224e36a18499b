//! Reading the audit log (administrators only).

use roster_domain::{Actor, AuditEntry, AuditId, AuditQuery, Operation, Resource};

use crate::{UserService, UsersError};

/// A page of the audit log, newest first, and where the next one starts.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// The last entry's id, when more entries follow.
    pub next: Option<AuditId>,
}

impl UserService {
    /// The entries that pass the filter, newest first (administrators only).
    #[tracing::instrument(name = "audit.list", skip_all, fields(actor = %actor.label(), page.size = i64::try_from(query.size.get()).unwrap_or_default()))]
    pub async fn audit(&self, actor: &Actor, query: &AuditQuery) -> Result<AuditPage, UsersError> {
        self.authorize(actor, Operation::Read, Resource::Audit)?;
        let size = query.size.get();
        // One entry more than shown tells whether a next page exists.
        let mut items = self.ports.audit.list(query, size + 1).await?;
        let next = if items.len() > size {
            items.truncate(size);
            items.last().map(|entry| entry.id)
        } else {
            None
        };
        Ok(AuditPage { items, next })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use roster_domain::{
        AuditAction, AuditOutcome, PageSize, PasswordPolicy, Principal, Provenance, Role, Session,
        UserId,
        ports::{AccessDenied, MockAuthorizer},
    };

    use crate::testing::Mocks;

    use super::*;

    fn service(mocks: Mocks) -> UserService {
        UserService::new(mocks.ports(), PasswordPolicy::default())
    }

    fn entry(seconds: i64) -> AuditEntry {
        let at = Utc::now() - chrono::Duration::seconds(seconds);
        AuditEntry {
            id: AuditId::at(at),
            at,
            last_at: at,
            attempts: 1,
            actor: Principal::user(UserId::generate()),
            action: AuditAction::UserCreated,
            target: Some(UserId::generate()),
            client: None,
            outcome: AuditOutcome::Success,
            provenance: Provenance::default(),
            fields: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_page_asks_for_one_more_entry_to_know_whether_another_follows() {
        let mut mocks = Mocks::new();
        mocks
            .audit
            .expect_list()
            .withf(|_, limit| *limit == 3)
            .returning(|_, _| Ok(vec![entry(1), entry(2), entry(3)]));
        let query = AuditQuery {
            size: PageSize::new(2).expect("size"),
            ..AuditQuery::default()
        };
        let admin = Actor::User(Session::fake(UserId::generate(), Role::Admin));
        let page = service(mocks).audit(&admin, &query).await.expect("a page");
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, Some(page.items[1].id));
    }

    #[tokio::test]
    async fn members_are_refused_before_the_log_is_read() {
        let mut mocks = Mocks::new();
        let mut authorizer = MockAuthorizer::new();
        authorizer
            .expect_authorize()
            .withf(|_, request| request.resource == Resource::Audit)
            .returning(|_, _| Err(AccessDenied::Forbidden));
        mocks.authorizer = authorizer;
        mocks.audit.expect_list().never();
        let member = Actor::User(Session::fake(UserId::generate(), Role::Member));
        let refused = service(mocks).audit(&member, &AuditQuery::default()).await;
        assert!(matches!(refused, Err(UsersError::Forbidden)), "{refused:?}");
    }
}
