//! Event-publishing adapters for the domain's
//! [`EventPublisher`](roster_domain::ports::EventPublisher) port.

use async_trait::async_trait;
use roster_domain::{
    UserEvent,
    ports::{EventPublisher, PublishError},
};

/// Publishes each event as one structured log line (target `roster::events`): ids,
/// kind, actor and time, never personal data. Useful until a durable outbox exists,
/// and always as an audit trail. (The use cases count changes through the
/// `BusinessMetrics` port.)
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingEventPublisher;

#[async_trait]
impl EventPublisher for LoggingEventPublisher {
    async fn publish(&self, event: &UserEvent) -> Result<(), PublishError> {
        tracing::info!(
            target: "roster::events",
            kind = event.kind.as_str(),
            user.id = %event.user_id,
            actor = %event.actor.label(),
            occurred_at = %event.occurred_at.to_rfc3339(),
            "domain event"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    use roster_domain::{
        Actor, Session, UserEventKind, UserId, ports::Clock as _, ports::SystemClock,
    };

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

    #[tokio::test]
    async fn logs_one_line_with_the_ids_kind_and_actor() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || sink.clone())
            .finish();
        let user_id = UserId::generate();
        let actor_id = UserId::generate();
        let event = UserEvent {
            kind: UserEventKind::Created,
            user_id,
            actor: Actor::User(Session::fake(actor_id, roster_domain::Role::Admin)),
            occurred_at: SystemClock.now(),
        };

        let published = {
            let _guard = tracing::subscriber::set_default(subscriber);
            LoggingEventPublisher.publish(&event).await
        };

        assert!(published.is_ok());
        let output = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(output.lines().count(), 1, "{output}");
        assert!(output.contains("\"kind\":\"user.created\""), "{output}");
        assert!(
            output.contains(&format!("\"user.id\":\"{user_id}\"")),
            "{output}"
        );
        assert!(output.contains(&format!("user:{actor_id}")), "{output}");
    }
}
