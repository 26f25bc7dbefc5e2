//! The recorder's label sums against the scripted store: they wait, ride
//! with a later batch, are retried under its id, put back when it fails,
//! left out for hits another replica counted, and flushed on shutdown.

use super::tests::{hit, recorder, traits, Scripted, Step};
use super::*;
use crate::count::shared::SharedDigest;
use crate::count::traits::referrer::Referrer;
use crate::store::{agent_value, DimensionCount, Kind};

/// The label rows of each `record` call that carried any, as (kind, value, count).
fn sent(store: &Scripted) -> Vec<Vec<(Kind, String, u64)>> {
    store
        .dimensions
        .lock()
        .unwrap()
        .iter()
        .filter(|rows| !rows.is_empty())
        .map(|rows: &Vec<DimensionCount>| rows.iter().map(|r| (r.kind, r.value.clone(), r.count)).collect())
        .collect()
}

fn firefox(count: u64) -> (Kind, String, u64) {
    (Kind::Agent, agent_value("Firefox", "Linux", "desktop"), count)
}

fn with_referrer(host: &str) -> HitTraits {
    HitTraits {
        referrer: Some(Referrer::Host(host.into())),
        ..traits()
    }
}

#[tokio::test]
async fn labels_wait_then_ride_with_a_later_batch_and_are_retried_under_its_id() {
    // The hits commit; the batch carrying their labels hangs, then turns
    // out to have been committed: it is settled under its own id.
    let store = Scripted::new(&[
        Step::Commit(Committed::Now),
        Step::Hang,
        Step::Commit(Committed::Earlier),
    ]);
    let recorder = recorder(&store);
    let (a, b) = tokio::join!(
        recorder.record(hit(), traits()),
        recorder.record(hit(), with_referrer("news.example"))
    );
    assert_eq!((a, b), (Ok(()), Ok(())));
    assert_eq!(sent(&store), Vec::<Vec<_>>::new(), "not with the hits' own batch");
    tokio::time::sleep(labels::DELAY + DEADLINE + SETTLE_EVERY * 2).await;
    let expected = vec![firefox(2), (Kind::Referrer, "news.example".to_owned(), 1)];
    assert_eq!(sent(&store), vec![expected.clone(), expected], "sent, then settled");
    let calls = store.calls();
    assert_eq!(calls[1].0, calls[2].0, "the same id: {calls:?}");
    assert_eq!(calls.len(), 3, "nothing after the settling: {calls:?}");
}

#[tokio::test]
async fn a_refused_batch_puts_its_label_sums_back_and_they_go_once() {
    let store = Scripted::new(&[Step::Commit(Committed::Now), Step::Refuse]);
    let recorder = recorder(&store);
    assert_eq!(recorder.record(hit(), traits()).await, Ok(()));
    tokio::time::sleep(labels::DELAY * 3 + SETTLE_EVERY).await;
    assert_eq!(
        sent(&store),
        vec![vec![firefox(1)], vec![firefox(1)]],
        "refused, then again once"
    );
}

#[tokio::test]
async fn hits_another_replica_counted_add_no_labels() {
    // Shared dedup: the store says the second hit's digest was claimed
    // before; an unknown batch settled as committed earlier leaves out every
    // hit with a digest (whether it counted here is not known).
    let store = Scripted::new(&[
        Step::LeaveOut(&[1]),
        Step::Commit(Committed::Now),
        Step::Hang,
        Step::Commit(Committed::Earlier),
    ]);
    let recorder = recorder(&store);
    let digest = |value| SharedDigest { window: 1, value };
    let (a, b) = tokio::join!(
        recorder.record_shared(hit(), digest(1), with_referrer("a.example")),
        recorder.record_shared(hit(), digest(2), with_referrer("b.example"))
    );
    assert_eq!((a, b), (Ok(()), Ok(())), "the same answer either way");
    // Their label sums go out (the second step) before the third hit hangs.
    tokio::time::sleep(labels::DELAY + SETTLE_EVERY / 2).await;
    assert_eq!(
        recorder
            .record_shared(hit(), digest(3), with_referrer("c.example"))
            .await,
        Err(RecordError::Unknown)
    );
    tokio::time::sleep(labels::DELAY + SETTLE_EVERY * 2).await;
    assert_eq!(
        sent(&store),
        vec![vec![firefox(1), (Kind::Referrer, "a.example".to_owned(), 1)]],
        "only the claimed hit's labels"
    );
}

#[tokio::test]
async fn shutting_down_writes_every_label_sum() {
    let store = Scripted::new(&[]);
    let (recorder, handle) = {
        let store: Arc<dyn Store> = Arc::clone(&store) as Arc<dyn Store>;
        Recorder::spawn(store, Arc::default(), Arc::default(), Vec::new(), 100)
    };
    assert_eq!(recorder.record(hit(), traits()).await, Ok(()));
    handle.shut_down(Duration::from_secs(5)).await;
    assert_eq!(sent(&store), vec![vec![firefox(1)]], "without waiting for their delay");
}
