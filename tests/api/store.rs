//! The store contract, checked on both backends: migrations are idempotent
//! and safe from two processes at once.

use footfall::config::Config;

use crate::helpers::{on_both_stores, TestApp};

on_both_stores! {
    async fn migrations_run_twice_and_concurrently_without_harm(store: Store) {
        let app = TestApp::spawn(store).await;
        app.get_as("/call/a", "203.0.113.1").await;
        let config = Config::load(app.dir.path(), Vec::new()).expect("config");
        // Separate stores with their own connections, racing like separate processes.
        let racing: Vec<_> = (0..3)
            .map(|_| {
                let store = footfall::app::open_store(&config).expect("open");
                tokio::spawn(async move { store.migrate().await })
            })
            .collect();
        for migration in racing {
            migration.await.expect("task").expect("migrate");
        }
        assert_eq!(app.count_of("/a").await, Some(1), "data survives re-running migrations");
    }
}
