//! The authorisation matrix: every endpoint, for every kind of caller, on the real
//! application. Each case runs on fresh users and tokens, so side effects (deleting,
//! revoking) cannot leak from one case into another.

use biscuit_auth::{Biscuit, macros::block};
use reqwest::{Client, Method, StatusCode};
use roster_domain::{Role, UserId};
use roster_persistence::Backend;
use roster_security::{BiscuitAuthority, SigningKeys, parse_private_key};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp};

roster_persistence::backend_tests!(every_endpoint_answers_every_caller_as_the_policy_says);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    MemberOnSelf,
    MemberOnOther,
    Admin,
    Expired,
    Revoked,
    Tampered,
    UnknownKey,
    ReadOnlyAdmin,
}

const CALLERS: [Caller; 9] = [
    Caller::Anonymous,
    Caller::MemberOnSelf,
    Caller::MemberOnOther,
    Caller::Admin,
    Caller::Expired,
    Caller::Revoked,
    Caller::Tampered,
    Caller::UnknownKey,
    Caller::ReadOnlyAdmin,
];

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    ListUsers,
    CreateUser,
    GetUser,
    ReplaceUser,
    DeleteUser,
    Me,
    ChangePassword,
    RevokeTokens,
    Logout,
    ListSessions,
    EndSession,
    ListAudit,
}

const ENDPOINTS: [Endpoint; 12] = [
    Endpoint::ListUsers,
    Endpoint::CreateUser,
    Endpoint::GetUser,
    Endpoint::ReplaceUser,
    Endpoint::DeleteUser,
    Endpoint::Me,
    Endpoint::ChangePassword,
    Endpoint::RevokeTokens,
    Endpoint::Logout,
    Endpoint::ListSessions,
    Endpoint::EndSession,
    Endpoint::ListAudit,
];

/// The expected status: the policy, written out.
fn expected(endpoint: Endpoint, caller: Caller) -> StatusCode {
    use Caller::{
        Admin, Anonymous, Expired, MemberOnOther, MemberOnSelf, ReadOnlyAdmin, Revoked, Tampered,
        UnknownKey,
    };
    use Endpoint::{
        ChangePassword, CreateUser, DeleteUser, EndSession, GetUser, ListAudit, ListSessions,
        ListUsers, Logout, Me, ReplaceUser, RevokeTokens,
    };
    let ok = |endpoint| match endpoint {
        CreateUser => StatusCode::CREATED,
        DeleteUser | ChangePassword | RevokeTokens | Logout | EndSession => StatusCode::NO_CONTENT,
        _ => StatusCode::OK,
    };
    match caller {
        Anonymous | Expired | Revoked | Tampered | UnknownKey => StatusCode::UNAUTHORIZED,
        Admin => ok(endpoint),
        MemberOnSelf => match endpoint {
            GetUser | ReplaceUser | Me | ChangePassword | Logout | ListSessions | EndSession => {
                ok(endpoint)
            }
            ListUsers | CreateUser | DeleteUser | RevokeTokens | ListAudit => StatusCode::FORBIDDEN,
        },
        MemberOnOther => match endpoint {
            Me | Logout => ok(endpoint),
            _ => StatusCode::FORBIDDEN,
        },
        // Attenuated with `check if operation("read")`: reads pass, writes do not;
        // logging out is not an authorised operation, just the token's own end.
        ReadOnlyAdmin => match endpoint {
            ListUsers | GetUser | Me | Logout | ListSessions | ListAudit => ok(endpoint),
            _ => StatusCode::FORBIDDEN,
        },
    }
}

struct Case {
    member_id: String,
    member_email: String,
    other_id: String,
    other_email: String,
}

async fn fresh_case(app: &TestApp, n: usize) -> Case {
    let member = app
        .created_user(&format!("member{n}@example.com"), "Member")
        .await;
    let other = app
        .created_user(&format!("other{n}@example.com"), "Other")
        .await;
    Case {
        member_id: member["id"].as_str().expect("id").to_owned(),
        member_email: format!("member{n}@example.com"),
        other_id: other["id"].as_str().expect("id").to_owned(),
        other_email: format!("other{n}@example.com"),
    }
}

/// The caller's client, and the user the request targets.
async fn client_for(app: &TestApp, caller: Caller, case: &Case) -> (Client, String, String) {
    let on_other = (case.other_id.clone(), case.other_email.clone());
    let (token, (target, email)) = match caller {
        Caller::Anonymous => {
            return (
                Client::new(),
                case.other_id.clone(),
                case.other_email.clone(),
            );
        }
        Caller::MemberOnSelf => (
            app.login(&case.member_email, PASSWORD).await,
            (case.member_id.clone(), case.member_email.clone()),
        ),
        Caller::MemberOnOther => (app.login(&case.member_email, PASSWORD).await, on_other),
        Caller::Admin => (app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, on_other),
        Caller::Expired => {
            let member = UserId::parse(&case.member_id).expect("id");
            (
                app.mint(
                    member,
                    Role::Admin,
                    chrono::Utc::now() - chrono::Duration::hours(1),
                ),
                on_other,
            )
        }
        Caller::Revoked => {
            let token = app.login(&case.member_email, PASSWORD).await;
            let revoked = TestApp::client_with(&token)
                .post(app.url("/api/v1/auth/revoke"))
                .send()
                .await
                .expect("revoke");
            assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
            (token, on_other)
        }
        Caller::Tampered => (
            tampered(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await),
            on_other,
        ),
        Caller::UnknownKey => (signed_by_a_stranger(), on_other),
        Caller::ReadOnlyAdmin => {
            let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
            (read_only(app, &token), on_other)
        }
    };
    (TestApp::client_with(&token), target, email)
}

/// `token` with one character in the middle changed.
fn tampered(token: String) -> String {
    let mut token = token.into_bytes();
    let middle = token.len() / 2;
    token[middle] = if token[middle] == b'A' { b'B' } else { b'A' };
    String::from_utf8(token).expect("ascii")
}

/// An administrator's token signed by a key the server does not know.
fn signed_by_a_stranger() -> String {
    let stranger = SigningKeys {
        current: biscuit_auth::KeyPair::new(),
        current_id: 1,
        previous: vec![],
    };
    let authority =
        BiscuitAuthority::new(stranger, std::time::Duration::from_secs(900)).expect("authority");
    let issued = roster_domain::ports::TokenAuthority::issue(
        &authority,
        UserId::generate(),
        Role::Admin,
        chrono::Utc::now(),
    );
    issued.expect("issue").token
}

/// `token` attenuated by its holder to reading only.
fn read_only(app: &TestApp, token: &str) -> String {
    let key =
        parse_private_key(app.settings.auth.private_key.as_deref().expect("key")).expect("key");
    let parsed = Biscuit::from_base64(token, key.public()).expect("parse");
    let read_only = parsed
        .append(block!(r#"check if operation("read");"#))
        .expect("attenuate");
    read_only.to_base64().expect("base64")
}

async fn call(
    app: &TestApp,
    client: &Client,
    endpoint: Endpoint,
    target: &str,
    email: &str,
    n: usize,
) -> StatusCode {
    let (method, path, body): (Method, String, Option<Value>) = match endpoint {
        Endpoint::ListUsers => (Method::GET, "/api/v1/users".to_owned(), None),
        Endpoint::CreateUser => (
            Method::POST,
            "/api/v1/users".to_owned(),
            Some(
                json!({ "email": format!("new{n}@example.com"), "name": "New", "password": PASSWORD }),
            ),
        ),
        Endpoint::GetUser => (Method::GET, format!("/api/v1/users/{target}"), None),
        Endpoint::ReplaceUser => (
            Method::PUT,
            format!("/api/v1/users/{target}"),
            Some(
                json!({ "email": email, "name": "Renamed", "role": "member", "status": "active" }),
            ),
        ),
        Endpoint::DeleteUser => (Method::DELETE, format!("/api/v1/users/{target}"), None),
        Endpoint::Me => (Method::GET, "/api/v1/users/me".to_owned(), None),
        Endpoint::ChangePassword => (
            Method::PUT,
            format!("/api/v1/users/{target}/password"),
            Some(
                json!({ "current_password": PASSWORD, "new_password": "a new and longer password" }),
            ),
        ),
        Endpoint::RevokeTokens => (
            Method::POST,
            format!("/api/v1/users/{target}/revoke-tokens"),
            None,
        ),
        Endpoint::Logout => (Method::POST, "/api/v1/auth/revoke".to_owned(), None),
        Endpoint::ListSessions => (
            Method::GET,
            format!("/api/v1/users/{target}/sessions"),
            None,
        ),
        Endpoint::EndSession => {
            // A session of the target's own: the refresh token starts with its id.
            let response = app.try_login(email, PASSWORD).await;
            let tokens: Value = response.json().await.expect("json");
            let refresh = tokens["refresh_token"].as_str().expect("refresh token");
            let session = &refresh[..26];
            (
                Method::DELETE,
                format!("/api/v1/users/{target}/sessions/{session}"),
                None,
            )
        }
        Endpoint::ListAudit => (Method::GET, format!("/api/v1/audit?target={target}"), None),
    };
    let mut request = client.request(method, app.url(&path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request").status()
}

async fn every_endpoint_answers_every_caller_as_the_policy_says(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut mismatches = Vec::new();
    let mut n = 0;
    for endpoint in ENDPOINTS {
        for caller in CALLERS {
            n += 1;
            let case = fresh_case(&app, n).await;
            let (client, target, email) = client_for(&app, caller, &case).await;
            let status = call(&app, &client, endpoint, &target, &email, n).await;
            if status != expected(endpoint, caller) {
                mismatches.push(format!(
                    "{endpoint:?} as {caller:?}: {status}, expected {}",
                    expected(endpoint, caller)
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {n} cases differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
