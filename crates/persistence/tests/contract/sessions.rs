//! Sessions and refresh tokens: rotation, reuse detection, expiry, and every way a
//! session ends, with the access tokens minted from it.

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use roster_domain::{
    AuditAction, AuditEntry, AuditFilter, AuditNote, AuditQuery, Provenance, RefreshDigest,
    RefreshGrant, Refreshed, Role, Session, SessionEnd, SessionId, Standing, Status, TokenId, User,
    UserSession,
    ports::{
        AuditLog as _, Clock as _, RevocationStore, SessionStore, SystemClock, UserRepository,
    },
};
use roster_persistence::{Backend, DieselAuditLog, DieselRevocationStore, DieselSessionStore};

use crate::{Context, record, revocation, user};

roster_persistence::backend_tests!(
    a_current_refresh_token_rotates_once,
    a_spent_refresh_token_ends_the_session_and_its_access_tokens,
    one_token_refreshed_twice_at_once_succeeds_once_and_ends_the_session,
    idle_and_expired_sessions_refuse_their_refresh_tokens,
    revoking_a_users_tokens_or_disabling_them_ends_their_sessions,
    the_oldest_sessions_beyond_the_cap_are_superseded,
    a_session_is_ended_by_its_own_user_only,
    sessions_of_a_deleted_user_go_with_it_and_ended_ones_are_purged,
);

const IDLE: Duration = Duration::hours(1);

/// Who ends a session, for the audit log.
fn by() -> AuditNote {
    AuditNote {
        actor: "anonymous".parse().expect("a principal"),
        client: Some("192.0.2.9".to_owned()),
        provenance: Provenance {
            request_id: Some("req-session".to_owned()),
            trace_id: None,
        },
    }
}

struct Fixture {
    ctx: Context,
    sessions: DieselSessionStore,
    revocations: DieselRevocationStore,
    user: User,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let ctx = Context::new(backend).await?;
    let sessions = DieselSessionStore::new(ctx.database.clone());
    let revocations = DieselRevocationStore::new(ctx.database.clone());
    let user = user("ada@example.com");
    ctx.users.insert(&user, &record()).await.expect("insert");
    Some(Fixture {
        ctx,
        sessions,
        revocations,
        user,
    })
}

fn now() -> DateTime<Utc> {
    SystemClock.now().trunc_subsecs(6)
}

/// A digest as the security adapter makes them: 64 hexadecimal characters.
fn digest(seed: u8) -> RefreshDigest {
    RefreshDigest::new(format!("{seed:02x}").repeat(32))
}

fn grant(seed: u8, at: DateTime<Utc>) -> RefreshGrant {
    RefreshGrant {
        digest: digest(seed),
        issued_at: at,
        access_token_id: TokenId::generate(),
        access_expires_at: at + Duration::minutes(15),
    }
}

fn session_for(user: &User, at: DateTime<Utc>) -> UserSession {
    UserSession {
        id: SessionId::generate(),
        user_id: user.id,
        created_at: at,
        last_used_at: at,
        expires_at: at + Duration::days(1),
        client_address: "2001:db8::7".parse().expect("address"),
        user_agent: Some("curl/8.5".to_owned()),
    }
}

/// The access token recorded with `grant`, as an authenticated request presents it.
fn access_of(user: &User, grant: &RefreshGrant) -> Session {
    Session {
        token_id: grant.access_token_id,
        issued_at: grant.issued_at,
        expires_at: grant.access_expires_at,
        ..Session::fake(user.id, Role::Member)
    }
}

impl Fixture {
    async fn start(&self, at: DateTime<Utc>, seed: u8, cap: usize) -> (UserSession, RefreshGrant) {
        let session = session_for(&self.user, at);
        let first = grant(seed, at);
        self.sessions
            .start(&session, &first, cap)
            .await
            .expect("start");
        (session, first)
    }

    async fn refresh(&self, presented: u8, next: &RefreshGrant) -> Refreshed {
        let at = next.issued_at;
        self.sessions
            .refresh(&digest(presented), next, at, at - IDLE, &by())
            .await
            .expect("refresh")
    }

    /// The audit log's entries of `action`.
    async fn audited(&self, action: AuditAction) -> Vec<AuditEntry> {
        let query = AuditQuery {
            filter: AuditFilter {
                action: Some(action),
                ..AuditFilter::default()
            },
            ..AuditQuery::default()
        };
        DieselAuditLog::new(self.ctx.database.clone())
            .list(&query, 50)
            .await
            .expect("the audit log")
    }

    async fn stands(&self, access: &Session) -> bool {
        self.revocations.standing(access).await.expect("standing") != Standing::Void
    }

    async fn active(&self, at: DateTime<Utc>) -> Vec<SessionId> {
        self.sessions
            .list(self.user.id, at, at - IDLE)
            .await
            .expect("list")
            .into_iter()
            .map(|s| s.id)
            .collect()
    }
}

async fn a_current_refresh_token_rotates_once(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now();
    let (session, _) = f.start(t0, 1, 10).await;
    let listed = f
        .sessions
        .list(f.user.id, t0, t0 - IDLE)
        .await
        .expect("list");
    assert_eq!(listed, std::slice::from_ref(&session));
    // A token from no session (or from before sessions existed) names none.
    assert_eq!(
        f.sessions
            .session_of(TokenId::generate())
            .await
            .expect("lookup"),
        None
    );

    let second = grant(2, t0 + Duration::minutes(10));
    let Refreshed::Rotated {
        session: used,
        role,
    } = f.refresh(1, &second).await
    else {
        panic!("the current token is refused");
    };
    assert_eq!((used.id, role), (session.id, Role::Member));
    assert_eq!(used.last_used_at, second.issued_at);
    assert_eq!(
        f.sessions
            .session_of(second.access_token_id)
            .await
            .expect("lookup"),
        Some(session.id)
    );
    let third = grant(3, t0 + Duration::minutes(20));
    assert!(matches!(
        f.refresh(2, &third).await,
        Refreshed::Rotated { .. }
    ));
    // An unknown token is no token.
    let stray = grant(4, t0 + Duration::minutes(21));
    assert_eq!(f.refresh(9, &stray).await, Refreshed::Invalid);
    assert_eq!(f.active(third.issued_at).await, [session.id]);
}

async fn a_spent_refresh_token_ends_the_session_and_its_access_tokens(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now();
    let (session, first) = f.start(t0, 1, 10).await;
    let second = grant(2, t0 + Duration::minutes(1));
    assert!(matches!(
        f.refresh(1, &second).await,
        Refreshed::Rotated { .. }
    ));
    assert!(f.stands(&access_of(&f.user, &second)).await);

    // The first token again (a thief, or the owner after the thief): the session ends.
    let replay = grant(3, t0 + Duration::minutes(2));
    assert_eq!(
        f.refresh(1, &replay).await,
        Refreshed::Reused {
            session: session.id,
            user_id: f.user.id
        }
    );
    assert!(!f.stands(&access_of(&f.user, &first)).await);
    assert!(!f.stands(&access_of(&f.user, &second)).await);
    let later = grant(4, t0 + Duration::minutes(3));
    assert_eq!(f.refresh(2, &later).await, Refreshed::Invalid);
    assert_eq!(f.refresh(3, &later).await, Refreshed::Invalid);
    assert!(f.active(later.issued_at).await.is_empty());
}

async fn one_token_refreshed_twice_at_once_succeeds_once_and_ends_the_session(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now();
    f.start(t0, 1, 10).await;
    let (a, b, presented) = (grant(2, t0), grant(3, t0), digest(1));
    let from = by();
    let (one, two) = tokio::join!(
        f.sessions.refresh(&presented, &a, t0, t0 - IDLE, &from),
        f.sessions.refresh(&presented, &b, t0, t0 - IDLE, &from),
    );
    let outcomes = [one.expect("first"), two.expect("second")];
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Refreshed::Rotated { .. }))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Refreshed::Reused { .. }))
        .count();
    assert_eq!((rotated, reused), (1, 1), "{outcomes:?}");
    let audited = f.audited(AuditAction::RefreshTokenReused).await;
    assert_eq!(
        audited.len(),
        1,
        "the reuse, in its transaction: {audited:?}"
    );
    assert_eq!(audited[0].target, Some(f.user.id));
    assert_eq!(audited[0].client.as_deref(), Some("192.0.2.9"));
    // Two holders of one token: neither new token works any more.
    let next = grant(4, t0 + Duration::seconds(1));
    assert_eq!(f.refresh(2, &next).await, Refreshed::Invalid);
    assert_eq!(f.refresh(3, &next).await, Refreshed::Invalid);
}

async fn idle_and_expired_sessions_refuse_their_refresh_tokens(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now() - Duration::days(2);
    f.start(t0, 1, 10).await;
    // Used within the idle timeout, again and again: fine.
    let mut presented = 1;
    let mut at = t0;
    for seed in 2..6 {
        at += IDLE - Duration::minutes(1);
        assert!(matches!(
            f.refresh(presented, &grant(seed, at)).await,
            Refreshed::Rotated { .. }
        ));
        presented = seed;
    }
    // Idle for longer than the timeout: over, and no longer listed.
    let idle = grant(10, at + IDLE + Duration::seconds(1));
    assert!(f.active(idle.issued_at).await.is_empty());
    assert_eq!(f.refresh(presented, &idle).await, Refreshed::Invalid);

    // However often used, a session ends a day after its login.
    let t1 = now() - Duration::days(1) - Duration::minutes(30);
    f.start(t1, 20, 10).await;
    let mut presented = 20;
    let mut at = t1;
    for seed in 21..25 {
        at += Duration::minutes(10);
        assert!(matches!(
            f.refresh(presented, &grant(seed, at)).await,
            Refreshed::Rotated { .. }
        ));
        presented = seed;
    }
    let past_end = grant(30, t1 + Duration::days(1) + Duration::seconds(1));
    assert_eq!(f.refresh(presented, &past_end).await, Refreshed::Invalid);
}

async fn revoking_a_users_tokens_or_disabling_them_ends_their_sessions(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now() - Duration::minutes(5);
    let (_, first) = f.start(t0, 1, 10).await;
    let revoked = revocation();
    f.revocations
        .revoke_all(f.user.id, revoked.before, revoked.until, &record())
        .await
        .expect("revoke all");
    assert!(f.active(now()).await.is_empty());
    assert_eq!(f.refresh(1, &grant(2, now())).await, Refreshed::Invalid);
    assert!(!f.stands(&access_of(&f.user, &first)).await);

    // A new login, then the user is disabled (which revokes their tokens with it).
    let t1 = now() + Duration::seconds(1);
    f.start(t1, 3, 10).await;
    assert_eq!(f.active(t1).await.len(), 1);
    let stored = f
        .ctx
        .users
        .find(f.user.id)
        .await
        .expect("find")
        .expect("user");
    let disabled = User {
        status: Status::Disabled,
        ..stored
    };
    let revoke = roster_domain::TokenRevocation {
        before: t1 + Duration::seconds(1),
        until: t1 + Duration::minutes(16),
    };
    f.ctx
        .users
        .update(&disabled, Some(revoke), &record())
        .await
        .expect("disable");
    assert!(f.active(t1).await.is_empty());
    assert_eq!(
        f.refresh(3, &grant(4, t1 + Duration::seconds(2))).await,
        Refreshed::Invalid
    );
}

async fn the_oldest_sessions_beyond_the_cap_are_superseded(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now();
    let (oldest, oldest_grant) = f.start(t0, 1, 2).await;
    let (middle, _) = f.start(t0 + Duration::seconds(1), 2, 2).await;
    let (newest, _) = f.start(t0 + Duration::seconds(2), 3, 2).await;
    let at = t0 + Duration::seconds(3);
    assert_eq!(f.active(at).await, [newest.id, middle.id]);
    assert!(!f.stands(&access_of(&f.user, &oldest_grant)).await);
    assert_eq!(f.refresh(1, &grant(4, at)).await, Refreshed::Invalid);
    assert_ne!(oldest.id, newest.id);
}

async fn a_session_is_ended_by_its_own_user_only(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now();
    let (session, first) = f.start(t0, 1, 10).await;
    let stranger = user("grace@example.com");
    f.ctx
        .users
        .insert(&stranger, &record())
        .await
        .expect("insert");
    assert!(
        !f.sessions
            .end(stranger.id, session.id, SessionEnd::Ended, t0, &by())
            .await
            .expect("end")
    );
    assert_eq!(f.active(t0).await, [session.id]);
    assert!(
        f.sessions
            .end(f.user.id, session.id, SessionEnd::Ended, t0, &by())
            .await
            .expect("end")
    );
    assert!(!f.stands(&access_of(&f.user, &first)).await);
    // Ended already: nothing more to end.
    assert!(
        !f.sessions
            .end(f.user.id, session.id, SessionEnd::Ended, t0, &by())
            .await
            .expect("end")
    );
    assert_eq!(f.refresh(1, &grant(2, t0)).await, Refreshed::Invalid);
    let audited = f.audited(AuditAction::SessionEnded).await;
    assert_eq!(audited.len(), 1, "the one ending: {audited:?}");
    assert_eq!(audited[0].provenance, by().provenance);
}

async fn sessions_of_a_deleted_user_go_with_it_and_ended_ones_are_purged(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let t0 = now() - Duration::hours(2);
    let (ended, _) = f.start(t0, 1, 10).await;
    f.start(t0, 2, 10).await;
    f.sessions
        .end(f.user.id, ended.id, SessionEnd::LoggedOut, t0, &by())
        .await
        .expect("end");
    assert_eq!(
        f.sessions
            .purge(t0 + Duration::hours(1))
            .await
            .expect("purge"),
        1
    );
    assert_eq!(f.active(t0).await.len(), 1);

    f.ctx
        .users
        .delete(f.user.id, None, revocation(), &record())
        .await
        .expect("delete");
    assert!(f.active(t0).await.is_empty());
    assert_eq!(f.refresh(2, &grant(3, t0)).await, Refreshed::Invalid);
}
