//! The JSON API for scripts and `curl`. Reads only; served from per-path
//! totals and per-day counts, never by scanning calls.

use super::{json, HttpResponse};
use crate::app::AppState;
use crate::error::HttpError;

/// `GET /api/counts`: `[{"path", "count"}]`, count descending, then path.
pub async fn counts(state: &AppState) -> Result<HttpResponse, HttpError> {
    if !state.is_ready() {
        return Err(HttpError::NotReady);
    }
    let counts = state
        .health
        .observe(state.store.counts().await)
        .map_err(|_| HttpError::StoreUnavailable)?;
    json(&counts)
}
