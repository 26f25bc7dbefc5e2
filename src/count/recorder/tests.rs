//! The recorder against a scripted store: deadlines, the three outcomes,
//! settling, and ids deleted once confirmed.

use std::sync::Mutex;

use jiff::Timestamp;

use super::*;
use crate::count::path::PagePath;
use crate::count::traits::agent::Agent;
use crate::store::DimensionCount;
use crate::store::{
    BadgeFigures, DayTallies, PageTallies, PathCount, PathId, RenameOutcome, SiteId, SlotCount, StoreError,
    StoreFuture, Summary, Tallies,
};
use crate::zone::{DayNumber, Zone};

/// What the scripted store does with one `record` call.
#[derive(Clone, Copy)]
pub(super) enum Step {
    Hang,
    Refuse,
    Commit(Committed),
    /// Commits, leaving out the hits at these indexes (their digest was
    /// claimed by another replica).
    LeaveOut(&'static [usize]),
}

/// A store whose `record` follows a script and logs each call as
/// (id, hits, settled ids); once the script runs out it commits.
#[derive(Default)]
pub(super) struct Scripted {
    script: Mutex<VecDeque<Step>>,
    calls: Mutex<Vec<(BatchId, usize, Vec<BatchId>)>>,
    /// The tallies of each call, in order.
    tallies: Mutex<Vec<Vec<DayTallies>>>,
    /// The dimension counts of each call, in order.
    pub(super) dimensions: Mutex<Vec<Vec<DimensionCount>>>,
}

impl Scripted {
    pub(super) fn new(steps: &[Step]) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(steps.iter().copied().collect()),
            ..Self::default()
        })
    }

    pub(super) fn calls(&self) -> Vec<(BatchId, usize, Vec<BatchId>)> {
        self.calls.lock().unwrap().clone()
    }

    fn tallies(&self) -> Vec<Vec<DayTallies>> {
        self.tallies.lock().unwrap().clone()
    }
}

impl Store for Scripted {
    fn record<'a>(&'a self, batch: Batch<'a>) -> StoreFuture<'a, Recorded> {
        let call = (batch.id, batch.hits.len(), batch.settled.to_vec());
        self.calls.lock().unwrap().push(call);
        self.tallies.lock().unwrap().push(batch.tallies.to_vec());
        self.dimensions.lock().unwrap().push(batch.dimensions.rows.to_vec());
        let step = self.script.lock().unwrap().pop_front();
        Box::pin(async move {
            let (committed, uncounted) = match step.unwrap_or(Step::Commit(Committed::Now)) {
                Step::Hang => std::future::pending().await,
                Step::Refuse => return Err(StoreError::corrupt("refused")),
                Step::Commit(how) => (how, Vec::new()),
                Step::LeaveOut(indexes) => (Committed::Now, indexes.to_vec()),
            };
            Ok(Recorded { committed, uncounted })
        })
    }
    fn migrate(&self) -> StoreFuture<'_, ()> {
        unimplemented!()
    }
    fn paths(&self, _: SiteId) -> StoreFuture<'_, Vec<(PathId, String)>> {
        unimplemented!()
    }
    fn schema_version(&self) -> StoreFuture<'_, i64> {
        unimplemented!()
    }
    fn known_schema_version(&self) -> i64 {
        unimplemented!()
    }
    fn ensure_site<'a>(&'a self, _: &'a str) -> StoreFuture<'a, SiteId> {
        unimplemented!()
    }
    fn rename_site<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, RenameOutcome> {
        unimplemented!()
    }
    fn register_path<'a>(&'a self, _: SiteId, _: &'a PagePath) -> StoreFuture<'a, PathId> {
        unimplemented!()
    }
    fn counts(&self, _: SiteId) -> StoreFuture<'_, Vec<PathCount>> {
        unimplemented!()
    }
    fn ping(&self) -> StoreFuture<'_, ()> {
        unimplemented!()
    }
    fn counts_between(&self, _: SiteId, _: DayNumber, _: DayNumber) -> StoreFuture<'_, Vec<PathCount>> {
        unimplemented!()
    }
    fn page_rows(&self, _: SiteId) -> StoreFuture<'_, Vec<crate::store::PageRow>> {
        unimplemented!()
    }
    fn period_counts(&self, _: DayNumber, _: DayNumber) -> StoreFuture<'_, Vec<(PathId, u64)>> {
        unimplemented!()
    }
    fn days_token(&self, _: SiteId, _: DayNumber, _: DayNumber) -> StoreFuture<'_, crate::store::DaysToken> {
        unimplemented!()
    }
    fn site_daily(&self, _: SiteId, _: DayNumber, _: DayNumber) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        unimplemented!()
    }
    fn summary(&self, _: PathId) -> StoreFuture<'_, Summary> {
        unimplemented!()
    }
    fn first_and_last(&self, _: PathId, _: Timestamp, _: Timestamp) -> StoreFuture<'_, Option<(Timestamp, Timestamp)>> {
        unimplemented!()
    }
    fn daily(&self, _: PathId) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        unimplemented!()
    }
    fn calls(&self, _: PathId, _: Timestamp, _: Timestamp, _: usize) -> StoreFuture<'_, Vec<Timestamp>> {
        unimplemented!()
    }
    fn slots(&self, _: PathId, _: Timestamp, _: Timestamp) -> StoreFuture<'_, Vec<SlotCount>> {
        unimplemented!()
    }
    fn tallies_between(&self, _: SiteId, _: DayNumber, _: DayNumber) -> StoreFuture<'_, Vec<PageTallies>> {
        unimplemented!()
    }
    fn path_tallies(&self, _: PathId, _: DayNumber, _: DayNumber) -> StoreFuture<'_, Tallies> {
        unimplemented!()
    }
    fn badge_figures(&self, _: PathId, _: DayNumber) -> StoreFuture<'_, BadgeFigures> {
        unimplemented!()
    }
    fn rebuild_daily(&self, _: SiteId, _: Zone) -> StoreFuture<'_, u64> {
        unimplemented!()
    }
    fn shared_dedup(&self) -> Option<&dyn crate::store::SharedDedup> {
        None
    }
    fn connections_in_use(&self) -> Option<(usize, usize)> {
        None
    }

    fn dimension_counts(
        &self,
        _: crate::store::Scope,
        _: crate::store::Kind,
        _: DayNumber,
        _: DayNumber,
    ) -> StoreFuture<'_, Vec<crate::store::ValueCount>> {
        unimplemented!()
    }
}

/// The owner's calls are not the recorder's business.
impl crate::store::EventStore for Scripted {
    fn ensure_cursor<'a>(&'a self, _: &'a str) -> StoreFuture<'a, i64> {
        unimplemented!()
    }
    fn next_event<'a>(
        &'a self,
        _: SiteId,
        _: i64,
        _: &'a [String],
    ) -> StoreFuture<'a, Option<crate::store::StoredEvent>> {
        unimplemented!()
    }
    fn count_events<'a>(&'a self, _: SiteId, _: i64, _: &'a [String]) -> StoreFuture<'a, u64> {
        unimplemented!()
    }
    fn advance_cursor<'a>(&'a self, _: &'a str, _: i64, _: Option<&'a str>) -> StoreFuture<'a, ()> {
        unimplemented!()
    }
    fn failures<'a>(&'a self, _: &'a [String], _: usize) -> StoreFuture<'a, Vec<crate::store::FailedDelivery>> {
        unimplemented!()
    }
    fn report_link_clicks(&self, _: i64) -> StoreFuture<'_, u64> {
        unimplemented!()
    }
    fn insert_event_once<'a>(&'a self, _: SiteId, _: &'a str, _: &'a str, _: &'a str) -> StoreFuture<'a, bool> {
        unimplemented!()
    }
    fn recent_events(&self, _: SiteId, _: usize) -> StoreFuture<'_, Vec<crate::store::StoredEvent>> {
        unimplemented!()
    }
    fn prune_events(&self, _: Timestamp) -> StoreFuture<'_, u64> {
        unimplemented!()
    }
}

impl crate::store::LinkStore for Scripted {
    fn link_ids(&self, _: SiteId) -> StoreFuture<'_, Vec<String>> {
        unimplemented!()
    }
    fn links(&self, _: SiteId) -> StoreFuture<'_, Vec<crate::store::LinkRow>> {
        unimplemented!()
    }
    fn link_daily<'a>(&'a self, _: SiteId, _: &'a str) -> StoreFuture<'a, Option<Vec<(DayNumber, u64)>>> {
        unimplemented!()
    }
}

impl crate::store::OwnerStore for Scripted {
    fn page_id<'a>(&'a self, _: SiteId, _: &'a PagePath) -> StoreFuture<'a, Option<PathId>> {
        unimplemented!()
    }
    fn delete_page<'a>(&'a self, _: SiteId, _: &'a PagePath) -> StoreFuture<'a, Option<PathId>> {
        unimplemented!()
    }
    fn move_page<'a>(&'a self, _: SiteId, _: &'a PagePath, _: &'a PagePath) -> StoreFuture<'a, crate::store::PageMove> {
        unimplemented!()
    }
    fn sweep_page(&self, _: PathId, _: Option<PathId>) -> StoreFuture<'_, u64> {
        unimplemented!()
    }
    fn set_start_count<'a>(&'a self, _: SiteId, _: &'a PagePath, _: u64) -> StoreFuture<'a, Option<PathId>> {
        unimplemented!()
    }
    fn export(&self, _: crate::store::ExportFilter, _: crate::store::Records) -> StoreFuture<'_, ()> {
        unimplemented!()
    }
    fn import(&self, _: crate::store::Items) -> StoreFuture<'_, crate::store::Imported> {
        unimplemented!()
    }
    fn prune_calls(&self, _: Timestamp, _: u64) -> StoreFuture<'_, u64> {
        unimplemented!()
    }
    fn pruned_before(&self) -> StoreFuture<'_, Option<Timestamp>> {
        unimplemented!()
    }
}

pub(super) fn hit() -> Hit {
    Hit {
        path: 1,
        at: Timestamp::UNIX_EPOCH,
        day: 0,
    }
}

pub(super) fn traits() -> HitTraits {
    HitTraits {
        agent: Agent {
            browser: "Firefox",
            os: "Linux",
            device: "desktop",
        },
        country: None,
        referrer: None,
    }
}

pub(super) fn recorder(store: &Arc<Scripted>) -> Recorder {
    let store: Arc<dyn Store> = Arc::clone(store) as Arc<dyn Store>;
    Recorder::spawn(store, Arc::default(), Arc::default(), Vec::new(), 100).0
}

#[tokio::test]
async fn a_hung_commit_is_unknown_at_the_deadline_and_settled_later_under_its_id() {
    let store = Scripted::new(&[Step::Hang, Step::Commit(Committed::Earlier)]);
    let recorder = recorder(&store);
    let started = Instant::now();
    assert_eq!(recorder.record(hit(), traits()).await, Err(RecordError::Unknown));
    let waited = started.elapsed();
    assert!(
        waited >= DEADLINE && waited < DEADLINE + Duration::from_millis(500),
        "{waited:?}"
    );
    tokio::time::sleep(SETTLE_EVERY * 2).await;
    let calls = store.calls();
    assert!(calls.len() >= 2, "one attempt, then one settling: {calls:?}");
    assert_eq!(
        (calls[1].0, calls[1].1),
        (calls[0].0, 1),
        "the same batch under the same id"
    );
    assert!(
        calls[2..].iter().all(|(_, hits, _)| *hits == 0),
        "nothing else with hits (its labels may follow): {calls:?}"
    );
}

#[tokio::test]
async fn a_refused_commit_is_not_committed_and_not_tried_again() {
    let store = Scripted::new(&[Step::Refuse]);
    let recorder = recorder(&store);
    assert_eq!(recorder.record(hit(), traits()).await, Err(RecordError::NotCommitted));
    tokio::time::sleep(SETTLE_EVERY * 2).await;
    let calls = store.calls();
    assert_eq!(calls[0].1, 1, "the hit was tried once");
    assert!(
        calls.len() >= 2,
        "writes failing, an empty batch checks them: {calls:?}"
    );
    assert!(
        calls[1..].iter().all(|(_, hits, _)| *hits == 0),
        "only empty checks follow, never the refused hit: {calls:?}"
    );
}

#[tokio::test]
async fn ids_of_confirmed_batches_are_deleted_with_the_next_batch() {
    let store = Scripted::new(&[]);
    let recorder = recorder(&store);
    assert_eq!(recorder.record(hit(), traits()).await, Ok(()));
    assert_eq!(recorder.record(hit(), traits()).await, Ok(()));
    let calls = store.calls();
    assert_eq!(calls[0].2, Vec::<BatchId>::new());
    assert_eq!(calls[1].2, vec![calls[0].0]);
    assert_ne!(calls[0].0, calls[1].0);
}

#[tokio::test]
async fn a_hit_left_too_little_time_by_a_hung_batch_is_not_sent() {
    let store = Scripted::new(&[Step::Hang, Step::Hang, Step::Hang]);
    let recorder = recorder(&store);
    let first = tokio::spawn({
        let recorder = recorder.clone();
        async move { recorder.record(hit(), traits()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    // Queued behind the hung batch, with 100 ms of its 2 s left when that one gives up.
    assert_eq!(recorder.record(hit(), traits()).await, Err(RecordError::NotCommitted));
    assert!(started.elapsed() < DEADLINE, "answered within its own deadline");
    assert_eq!(first.await.unwrap(), Err(RecordError::Unknown));
    let first_id = store.calls()[0].0;
    assert!(
        store.calls().iter().all(|c| c.0 == first_id),
        "only the first batch was sent"
    );
}

fn bots(n: u64) -> Tallies {
    let mut t = Tallies::default();
    t.add(Tally::Bot, n);
    t
}

#[tokio::test]
async fn filtered_counts_go_out_alone_when_no_hits_come() {
    let store = Scripted::new(&[]);
    let recorder = recorder(&store);
    recorder.tally(7, 3, Tally::Bot);
    recorder.tally(7, 3, Tally::Bot);
    tokio::time::sleep(unsent::FLUSH_DELAY * 2).await;
    let expected = DayTallies {
        path: 7,
        day: 3,
        tallies: bots(2),
    };
    assert_eq!(store.tallies(), vec![vec![expected]]);
    assert_eq!(store.calls()[0].1, 0, "a batch without hits");
}

#[tokio::test]
async fn filtered_counts_ride_along_and_a_refused_batch_puts_them_back() {
    let store = Scripted::new(&[Step::Refuse]);
    let recorder = recorder(&store);
    recorder.tally(1, 0, Tally::Prefetch);
    assert_eq!(recorder.record(hit(), traits()).await, Err(RecordError::NotCommitted));
    recorder.tally(1, 0, Tally::Prefetch);
    assert_eq!(recorder.record(hit(), traits()).await, Ok(()));
    let tallies = store.tallies();
    assert_eq!(tallies.len(), 2, "no batch of their own: {tallies:?}");
    assert_eq!(tallies[0][0].tallies.prefetch, 1);
    assert_eq!(tallies[1][0].tallies.prefetch, 2, "the refused one again, once");
}

#[tokio::test]
async fn a_proxied_view_waits_for_its_commit_and_counts_in_its_series() {
    let store = Scripted::new(&[Step::Refuse]);
    let recorder = recorder(&store);
    assert_eq!(recorder.record_proxied(4, 9).await, Err(RecordError::NotCommitted));
    recorder.tally(4, 9, Tally::Bot);
    assert_eq!(recorder.record_proxied(4, 9).await, Ok(()));
    let mut both = bots(1);
    both.add(Tally::Proxied, 1);
    let committed = DayTallies {
        path: 4,
        day: 9,
        tallies: both,
    };
    assert_eq!(store.tallies()[1], vec![committed], "the refused view is not put back");
}
