//! Managing pages, the owner's use-cases behind `/api/admin/pages`:
//! register a page without a probe, remove one with its whole history,
//! rename or merge one into another, set a start count.
//!
//! Each change is one store transaction; then the site's registry follows
//! it, and the change is logged at info. Hits on their way to a page while
//! it is removed or merged away are swept up shortly after (see
//! [`SWEEP_AFTER`]). Knows nothing of HTTP.

use std::sync::Arc;
use std::time::Duration;

use crate::availability::Unavailable;
use crate::count::path::PagePath;
use crate::count::recorder::DEADLINE;
use crate::count::Site;
use crate::state::AppState;
use crate::store::{PageMove, PathId, Store, StoreError};
use crate::telemetry::chain;

/// A hit resolved to a page's id just before the page was removed reaches
/// the store within the recorder's deadline; a second look after this
/// finds it.
const SWEEP_AFTER: Duration = Duration::from_secs(DEADLINE.as_secs() + 1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("this site has no such page")]
    NoSuchPage,
    #[error("`from` and `to` are the same page")]
    SamePage,
}

/// Whether a registration made the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    New,
    Existing,
}

/// What a rename did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    Renamed,
    Merged,
}

fn store_failed(what: &'static str) -> impl Fn(StoreError) -> PageError {
    move |error| {
        tracing::error!(error = %chain(&error), "{what} failed");
        PageError::Unavailable(Unavailable::StoreDown)
    }
}

/// Registers `path` on `site` without asking the tracked site (a newsletter,
/// a page behind a login).
///
/// # Errors
/// [`PageError::Unavailable`] when the store is not ready or fails.
pub async fn register(state: &AppState, site: &Site, path: &PagePath) -> Result<Registered, PageError> {
    state.availability.check_ready()?;
    let site_id = site.registry.site_id()?;
    let failed = store_failed("registering a page");
    if let Some(id) = state.store.page_id(site_id, path).await.map_err(&failed)? {
        site.registry.remember(path.clone(), id);
        return Ok(Registered::Existing);
    }
    let id = state.store.register_path(site_id, path).await.map_err(failed)?;
    site.registry.remember(path.clone(), id);
    tracing::info!(site = %site.config.slug, %path, "the owner registered a page");
    Ok(Registered::New)
}

/// Removes `path` from `site` with all its calls and per-day counts
/// (visitors, proxied views and filtered hits).
///
/// # Errors
/// [`PageError::NoSuchPage`], or [`PageError::Unavailable`].
pub async fn remove(state: &AppState, site: &Site, path: &PagePath) -> Result<(), PageError> {
    state.availability.check_ready()?;
    let site_id = site.registry.site_id()?;
    let removed = state
        .store
        .delete_page(site_id, path)
        .await
        .map_err(store_failed("removing a page"))?;
    let id = removed.ok_or(PageError::NoSuchPage)?;
    site.registry.forget(path);
    sweep_later(&state.store, id, None);
    tracing::info!(site = %site.config.slug, %path, "the owner removed a page and its history");
    Ok(())
}

/// Renames `from` to `to` on `site`, or merges it into `to` when that exists.
///
/// # Errors
/// [`PageError::SamePage`], [`PageError::NoSuchPage`], or [`PageError::Unavailable`].
pub async fn rename(state: &AppState, site: &Site, from: &PagePath, to: &PagePath) -> Result<Moved, PageError> {
    if from == to {
        return Err(PageError::SamePage);
    }
    state.availability.check_ready()?;
    let site_id = site.registry.site_id()?;
    let moved = state
        .store
        .move_page(site_id, from, to)
        .await
        .map_err(store_failed("renaming a page"))?;
    let slug = &site.config.slug;
    match moved {
        PageMove::NoSuchPage => Err(PageError::NoSuchPage),
        PageMove::Renamed { id } => {
            site.registry.forget(from);
            site.registry.remember(to.clone(), id);
            tracing::info!(site = %slug, %from, %to, "the owner renamed a page");
            Ok(Moved::Renamed)
        }
        PageMove::Merged { from: from_id, into } => {
            site.registry.forget(from);
            site.registry.remember(to.clone(), into);
            sweep_later(&state.store, from_id, Some(into));
            tracing::info!(site = %slug, %from, into = %to, "the owner merged a page into another");
            Ok(Moved::Merged)
        }
    }
}

/// Sets the count `path` carried over from another service.
///
/// # Errors
/// [`PageError::NoSuchPage`], or [`PageError::Unavailable`].
pub async fn set_offset(state: &AppState, site: &Site, path: &PagePath, count: u64) -> Result<(), PageError> {
    state.availability.check_ready()?;
    let site_id = site.registry.site_id()?;
    state
        .store
        .set_start_count(site_id, path, count)
        .await
        .map_err(store_failed("setting a start count"))?
        .ok_or(PageError::NoSuchPage)?;
    tracing::info!(site = %site.config.slug, %path, count, "the owner set a page's start count");
    Ok(())
}

/// Sweeps up, after [`SWEEP_AFTER`], hits that reached a removed page id.
fn sweep_later(store: &Arc<dyn Store>, removed: PathId, into: Option<PathId>) {
    let store = Arc::clone(store);
    tokio::spawn(async move {
        tokio::time::sleep(SWEEP_AFTER).await;
        match store.sweep_page(removed, into).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "hits that arrived during a page change were swept up"),
            Err(error) => tracing::warn!(error = %chain(&error), "sweeping up after a page change failed"),
        }
    });
}
