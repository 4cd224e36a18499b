use std::sync::{Arc, Mutex};

use chrono::Duration;
use mockall::predicate::eq;
use roster_domain::{
    Actor, ChangeRecord, EventId, UserChange, UserEvent, UserId,
    ports::{MockClock, MockEventOutbox, MockEventPublisher, PublishError},
};

use super::{EventRelay, RelayError, RelaySettings, RelayStep};
use crate::testing::{NOW, at};

const BATCH: usize = 3;

fn events(count: usize) -> Vec<UserEvent> {
    let record = ChangeRecord::new(&Actor::System, at(NOW), vec![UserChange::Created]);
    (0..count)
        .flat_map(|_| record.events(UserId::generate(), 1))
        .collect()
}

fn relay(outbox: MockEventOutbox, publisher: MockEventPublisher) -> EventRelay {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(NOW));
    EventRelay::new(
        Arc::new(outbox),
        Arc::new(publisher),
        Arc::new(clock),
        settings(),
    )
}

fn settings() -> RelaySettings {
    RelaySettings {
        holder: "instance-a".to_owned(),
        lease: Duration::seconds(15),
        batch: BATCH,
        retention: Duration::hours(1),
    }
}

/// A publisher whose destination acknowledges the first `delivered` events only.
fn failing_after(delivered: usize) -> MockEventPublisher {
    let mut publisher = MockEventPublisher::new();
    publisher.expect_publish().returning(move |_| {
        Err(PublishError {
            delivered,
            source: anyhow::anyhow!("timed out"),
        })
    });
    publisher
}

fn leased(outbox: &mut MockEventOutbox, granted: bool) {
    outbox
        .expect_lease()
        .with(
            eq("instance-a"),
            eq(at(NOW)),
            eq(at(NOW) + Duration::seconds(15)),
        )
        .times(1)
        .returning(move |_, _, _| Ok(granted));
}

#[tokio::test]
async fn without_the_lease_nothing_is_read_or_published() {
    let mut outbox = MockEventOutbox::new();
    leased(&mut outbox, false);
    outbox.expect_pending().never();
    let mut publisher = MockEventPublisher::new();
    publisher.expect_publish().never();
    let step = relay(outbox, publisher).step().await;
    assert!(matches!(step, Ok(RelayStep::Standby)), "{step:?}");
}

#[tokio::test]
async fn a_published_batch_is_marked_delivered_in_order() {
    let pending = events(BATCH);
    let ids: Vec<EventId> = pending.iter().map(|e| e.id).collect();
    let mut outbox = MockEventOutbox::new();
    leased(&mut outbox, true);
    let batch = pending.clone();
    outbox
        .expect_pending()
        .with(eq(BATCH))
        .returning(move |_| Ok(batch.clone()));
    outbox
        .expect_delivered()
        .withf(move |delivered, when| delivered == ids.as_slice() && *when == at(NOW))
        .times(1)
        .returning(|_, _| Ok(()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let mut publisher = MockEventPublisher::new();
    publisher
        .expect_publish()
        .times(1)
        .returning(move |events| {
            sink.lock().expect("lock").extend_from_slice(events);
            Ok(())
        });
    let step = relay(outbox, publisher).step().await;
    assert!(
        matches!(
            step,
            Ok(RelayStep::Delivered {
                events: BATCH,
                more: true
            })
        ),
        "{step:?}"
    );
    assert_eq!(*seen.lock().expect("lock"), pending);
}

#[tokio::test]
async fn a_failed_publication_marks_only_the_acknowledged_prefix() {
    let pending = events(BATCH);
    let first = vec![pending[0].id];
    let mut outbox = MockEventOutbox::new();
    leased(&mut outbox, true);
    outbox
        .expect_pending()
        .returning(move |_| Ok(pending.clone()));
    outbox
        .expect_delivered()
        .withf(move |delivered, _| delivered == first.as_slice())
        .times(1)
        .returning(|_, _| Ok(()));
    let step = relay(outbox, failing_after(1)).step().await;
    assert!(matches!(step, Err(RelayError::Publish(_))), "{step:?}");
}

#[tokio::test]
async fn a_failure_before_any_acknowledgement_marks_nothing() {
    let mut outbox = MockEventOutbox::new();
    leased(&mut outbox, true);
    outbox.expect_pending().returning(|_| Ok(events(1)));
    outbox.expect_delivered().never();
    let step = relay(outbox, failing_after(0)).step().await;
    assert!(matches!(step, Err(RelayError::Publish(_))), "{step:?}");
}

#[tokio::test]
async fn an_empty_outbox_is_idle_and_a_short_batch_says_no_more() {
    let mut outbox = MockEventOutbox::new();
    outbox.expect_lease().returning(|_, _, _| Ok(true));
    let mut calls = 0;
    outbox.expect_pending().returning(move |_| {
        calls += 1;
        Ok(if calls == 1 { Vec::new() } else { events(1) })
    });
    outbox.expect_delivered().returning(|_, _| Ok(()));
    let mut publisher = MockEventPublisher::new();
    publisher.expect_publish().returning(|_| Ok(()));
    let relay = relay(outbox, publisher);
    assert!(matches!(relay.step().await, Ok(RelayStep::Idle)));
    assert!(matches!(
        relay.step().await,
        Ok(RelayStep::Delivered {
            events: 1,
            more: false
        })
    ));
}

#[tokio::test]
async fn the_lease_is_renewed_once_half_of_it_has_run_not_at_every_step() {
    let mut outbox = MockEventOutbox::new();
    outbox.expect_pending().returning(|_| Ok(Vec::new()));
    // Taken at NOW for 15 s; NOW + 7 s is within the first half, NOW + 8 s is not.
    outbox
        .expect_lease()
        .withf(|_, now, _| *now == at(NOW) || *now == at(NOW + 8))
        .times(2)
        .returning(|_, _, _| Ok(true));
    let mut clock = MockClock::new();
    let mut times = vec![NOW, NOW, NOW + 7, NOW + 8].into_iter();
    clock
        .expect_now()
        .returning(move || at(times.next().unwrap_or(NOW + 8)));
    let relay = EventRelay::new(
        Arc::new(outbox),
        Arc::new(MockEventPublisher::new()),
        Arc::new(clock),
        settings(),
    );
    for _ in 0..4 {
        assert!(matches!(relay.step().await, Ok(RelayStep::Idle)));
    }
}

#[tokio::test]
async fn trimming_keeps_the_retention() {
    let mut outbox = MockEventOutbox::new();
    // Removed in bounded steps, until a step finds nothing.
    let mut steps = vec![3, 1, 0].into_iter();
    outbox
        .expect_trim()
        .with(eq(at(NOW) - Duration::hours(1)))
        .times(3)
        .returning(move |_| Ok(steps.next().unwrap_or_default()));
    let trimmed = relay(outbox, MockEventPublisher::new()).trim().await;
    assert_eq!(trimmed.ok(), Some(4));
}
