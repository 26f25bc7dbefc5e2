//! Each page's calls in a period, for the dashboard's page list, without
//! summing the same past days' per-day counts again on every request.
//!
//! A period splits into its past days (before today), whose per-page sums
//! are kept here, and today, read every time. Kept sums are used only while
//! the site's [`DaysToken`] over those days is the one read before they
//! were summed: every counted hit of one of those days adds to the site's
//! calls on it, and every owner change that moves or removes per-day counts
//! adds to the site's `days_changed`, so an equal token means equal sums,
//! on every replica. The token is read before the sums, so a change that
//! lands in between makes the next token differ (the sums are summed again),
//! never the reverse. Bounded: a few periods, each one count per page.
//! Reads through the store only; holds no SQL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Reads;
use crate::availability::Unavailable;
use crate::store::{DaysToken, PathId, SiteId};
use crate::sync::lock;
use crate::zone::DayNumber;

/// Periods kept: the dashboard's four links and a few `from`/`to` ranges.
const KEPT: usize = 8;

/// Per-page calls over a range of days, by page id.
pub type Counts = Arc<HashMap<PathId, u64>>;

struct Kept {
    site: SiteId,
    from: DayNumber,
    to: DayNumber,
    token: DaysToken,
    counts: Counts,
}

/// The kept sums, newest last.
#[derive(Default)]
pub struct PastDays(Mutex<Vec<Kept>>);

impl PastDays {
    fn get(&self, site: SiteId, from: DayNumber, to: DayNumber, token: DaysToken) -> Option<Counts> {
        lock(&self.0)
            .iter()
            .find(|k| (k.site, k.from, k.to, k.token) == (site, from, to, token))
            .map(|k| Arc::clone(&k.counts))
    }

    fn keep(&self, kept: Kept) {
        let mut all = lock(&self.0);
        all.retain(|k| (k.site, k.from, k.to) != (kept.site, kept.from, kept.to));
        if all.len() >= KEPT {
            all.remove(0);
        }
        all.push(kept);
    }
}

/// A period's calls per page: the kept past days and today's.
pub struct PeriodCounts {
    past: Counts,
    today: HashMap<PathId, u64>,
}

impl PeriodCounts {
    pub fn of(&self, id: PathId) -> u64 {
        self.past.get(&id).copied().unwrap_or(0) + self.today.get(&id).copied().unwrap_or(0)
    }
}

impl Reads {
    /// Each page's calls over `[from, to]` (the pages of `site` and maybe
    /// others, by id), with `today` the site's today.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn period_counts(
        &self,
        site: SiteId,
        (from, to): (DayNumber, DayNumber),
        today: DayNumber,
    ) -> Result<PeriodCounts, Unavailable> {
        let past_to = to.min(today.saturating_sub(1));
        let past = async {
            if from > past_to {
                return Ok(Counts::default());
            }
            let token = self.run(self.store.days_token(site, from, past_to)).await?;
            if let Some(counts) = self.past_days.get(site, from, past_to, token) {
                return Ok(counts);
            }
            let counts: Counts = Arc::new(
                self.run(self.store.period_counts(from, past_to))
                    .await?
                    .into_iter()
                    .collect(),
            );
            self.past_days.keep(Kept {
                site,
                from,
                to: past_to,
                token,
                counts: Arc::clone(&counts),
            });
            Ok(counts)
        };
        let today_counts = async {
            if to < today || from > today {
                return Ok(Vec::new());
            }
            self.run(self.store.period_counts(today, today)).await
        };
        let (past, today) = tokio::try_join!(past, today_counts)?;
        Ok(PeriodCounts {
            past,
            today: today.into_iter().collect(),
        })
    }
}
