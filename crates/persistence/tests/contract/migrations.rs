//! The embedded migrations on each backend.

use roster_persistence::{Backend, Database, DatabaseSettings, testing::TestDatabase};

roster_persistence::backend_tests!(
    migrations_apply_revert_and_reapply,
    migrating_twice_applies_nothing_new
);

async fn migrations_apply_revert_and_reapply(backend: Backend) {
    let Some(test_database) = TestDatabase::of(backend) else {
        return;
    };
    let database = Database::connect(&test_database.settings())
        .await
        .expect("pool");

    let before = database.migration_status().await.expect("status");
    assert!(
        !before.is_empty() && before.iter().all(|m| !m.applied),
        "{before:?}"
    );

    let applied = database.run_migrations().await.expect("run");
    assert_eq!(applied.len(), before.len());
    assert!(
        database
            .migration_status()
            .await
            .expect("status")
            .iter()
            .all(|m| m.applied)
    );

    let reverted = database.revert_last_migration().await.expect("revert");
    assert_eq!(reverted.as_deref(), applied.last().map(String::as_str));
    let after_revert = database.migration_status().await.expect("status");
    assert_eq!(after_revert.last().map(|m| m.applied), Some(false));

    assert_eq!(database.run_migrations().await.expect("run").len(), 1);
    database.close();
}

async fn migrating_twice_applies_nothing_new(backend: Backend) {
    let Some(test_database) = TestDatabase::of(backend) else {
        return;
    };
    let settings = DatabaseSettings {
        max_connections: 4,
        ..test_database.settings()
    };
    let database = Database::connect(&settings).await.expect("pool");

    // Replicas starting together: all migrate at once, each migration applies once.
    let runs = migrate_concurrently(&database).await;
    let applied: usize = runs.iter().map(Vec::len).sum();
    let known = database.migration_status().await.expect("status").len();
    assert_eq!(
        applied, known,
        "every migration is applied exactly once: {runs:?}"
    );
    assert!(database.run_migrations().await.expect("run").is_empty());
    database.close();
}

async fn migrate_concurrently(database: &Database) -> Vec<Vec<String>> {
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let database = database.clone();
            tokio::spawn(async move { database.run_migrations().await })
        })
        .collect();
    let mut runs = Vec::new();
    for task in tasks {
        runs.push(task.await.expect("task").expect("migrate"));
    }
    runs
}
