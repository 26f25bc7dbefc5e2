//! Adopting an OxiTraffic 0.1.x database: every path and call of its tables
//! (in `public`, beside Footfall's own schema) added to a Footfall site in
//! one transaction. Paths gain their leading `/`; each call counts on its
//! day in the site's zone; paths that are not valid Footfall pages are
//! skipped and counted. OxiTraffic's tables are only read.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::import::{Outcome, Target};
use crate::count::path::PagePath;
use crate::store::{ImportError, Item, OxiRow, PostgresStore, Store, StoreError};
use crate::telemetry::chain;

/// Rows and items in flight between reading, converting and writing.
const IN_FLIGHT: usize = 1024;

/// A path as OxiTraffic stored it (`blog/post`, `""` for the root) as a page.
fn page(stored: &str) -> Option<PagePath> {
    PagePath::from_decoded(&format!("/{stored}")).ok()
}

/// Copies OxiTraffic's paths and calls into `target`, all or nothing.
///
/// # Errors
/// The store's error while writing; an error while reading OxiTraffic's
/// tables refuses the import instead ([`crate::store::Imported::Refused`]).
pub async fn import(source: Arc<PostgresStore>, target: Target) -> Result<Outcome, StoreError> {
    let (items_tx, items) = mpsc::channel(IN_FLIGHT);
    let store: Arc<dyn Store> = Arc::clone(&source) as Arc<dyn Store>;
    let feeding = async move {
        let (rows_tx, mut rows) = mpsc::channel(IN_FLIGHT);
        let converting = async {
            let mut skipped = 0;
            while let Some(row) = rows.recv().await {
                let (stored, at) = match row {
                    OxiRow::Path(path) => (path, None),
                    OxiRow::Call { path, at } => (path, Some(at)),
                };
                let Some(path) = page(&stored) else {
                    skipped += 1;
                    continue;
                };
                let site = target.slug.clone();
                let item = match at {
                    None => Item::Page {
                        site,
                        path,
                        offset: 0,
                        first: None,
                        last: None,
                    },
                    Some(at) => Item::Hit {
                        site,
                        path,
                        at,
                        day: target.zone.day_of(at),
                    },
                };
                if items_tx.send(Ok(item)).await.is_err() {
                    break;
                }
            }
            skipped
        };
        let (read, skipped) = tokio::join!(source.read_oxitraffic(rows_tx), converting);
        if let Err(error) = read {
            // Half of OxiTraffic's data must not be committed as if it were all.
            let refusal = ImportError {
                line: 0,
                message: format!("reading OxiTraffic's tables failed: {}", chain(&error)),
            };
            let _ = items_tx.send(Err(refusal)).await;
        }
        skipped
    };
    let (skipped, imported) = tokio::join!(feeding, store.import(items));
    Ok(Outcome {
        imported: imported?,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oxitraffic_paths_gain_their_slash_and_invalid_ones_are_none() {
        let as_page = |stored: &str| page(stored).map(|p| p.as_str().to_owned());
        assert_eq!(as_page("").as_deref(), Some("/"));
        assert_eq!(as_page("blog/post-1").as_deref(), Some("/blog/post-1"));
        assert_eq!(as_page("a b/50%").as_deref(), Some("/a b/50%"));
        assert_eq!(as_page("x/../y"), None);
        assert_eq!(as_page("tab\there"), None);
    }
}
