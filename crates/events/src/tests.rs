use std::{
    io::Write,
    path::Path,
    sync::{Arc, Mutex},
};

use chrono::{TimeZone as _, Utc};
use roster_domain::{Actor, ChangeRecord, Role, Session, Status, UserChange, UserField, UserId};
use serde_json::Value;

use super::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One event of every type, by an administrator.
fn every_change() -> Vec<UserEvent> {
    let actor = Actor::User(Session::fake(UserId::generate(), Role::Admin));
    let at = Utc
        .with_ymd_and_hms(2026, 12, 1, 8, 0, 0)
        .single()
        .expect("a time");
    let changes = vec![
        UserChange::Created,
        UserChange::Updated {
            fields: vec![UserField::Email, UserField::Role],
        },
        UserChange::RoleChanged {
            from: Role::Member,
            to: Role::Admin,
        },
        UserChange::StatusChanged {
            from: Status::Active,
            to: Status::Disabled,
        },
        UserChange::PasswordChanged,
        UserChange::TokensRevoked,
        UserChange::Deleted,
    ];
    ChangeRecord::new(&actor, at, changes).events(UserId::generate(), 3)
}

#[tokio::test]
async fn the_log_has_one_line_per_event_with_its_id_type_user_and_actor() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || sink.clone())
        .finish();
    let events = every_change();

    let published = {
        let _guard = tracing::subscriber::set_default(subscriber);
        LoggingEventPublisher.publish(&events[..2]).await
    };

    assert!(published.is_ok());
    let output = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert_eq!(output.lines().count(), 2, "{output}");
    let first = output.lines().next().unwrap_or_default();
    assert!(
        first.contains("\"event_type\":\"dev.roster.user.created.v1\""),
        "{first}"
    );
    assert!(
        first.contains(&format!("\"event_id\":\"{}\"", events[0].id)),
        "{first}"
    );
    assert!(
        first.contains(&format!("\"user.id\":\"{}\"", events[0].user_id)),
        "{first}"
    );
    assert!(first.contains(&events[0].actor), "{first}");
}

/// docs/events/<type>.schema.json, parsed.
fn schema(kind: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/events")
        .join(format!("{kind}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a JSON schema")
}

#[test]
fn every_event_type_has_a_schema_and_every_event_passes_it() {
    for event in every_change() {
        let cloud = CloudEvent::of(&event, "/roster");
        let instance: Value = serde_json::from_slice(&cloud.to_bytes()).expect("JSON");
        let validator = jsonschema::validator_for(&schema(&cloud.kind)).expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}\n{instance}", cloud.kind);
    }
}

#[test]
fn the_schemas_refuse_what_an_event_must_never_carry() {
    let event = &every_change()[0];
    let mut instance: Value =
        serde_json::from_slice(&CloudEvent::of(event, "/roster").to_bytes()).expect("JSON");
    instance["data"]["email"] = Value::from("ada@example.com");
    let validator =
        jsonschema::validator_for(&schema("dev.roster.user.created.v1")).expect("a valid schema");
    assert!(
        !validator.is_valid(&instance),
        "personal data must not validate"
    );
    let mut wrong_type = instance.clone();
    wrong_type["data"]
        .as_object_mut()
        .expect("an object")
        .remove("email");
    wrong_type["type"] = Value::from("dev.roster.user.deleted.v1");
    assert!(
        !validator.is_valid(&wrong_type),
        "the type is fixed per schema"
    );
}

#[test]
fn a_cloud_event_has_the_required_attributes_and_no_secret() {
    let event = &every_change()[4];
    let cloud = CloudEvent::of(event, "/roster");
    let json: Value = serde_json::from_slice(&cloud.to_bytes()).expect("JSON");
    assert_eq!(json["specversion"], "1.0");
    assert_eq!(json["id"], event.id.to_string());
    assert_eq!(json["type"], "dev.roster.user.password_changed.v1");
    assert_eq!(json["subject"], event.user_id.to_string());
    assert_eq!(json["time"], "2026-12-01T08:00:00.000000Z");
    assert_eq!(json["data"]["version"], 3);
    let keys: Vec<&String> = json["data"].as_object().expect("data").keys().collect();
    assert_eq!(keys, ["actor", "user_id", "version"]);
}
