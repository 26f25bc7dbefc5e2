//! Liveness and readiness probes for containers and load balancers.
//! Readiness answers a reason, never a secret or a connection string.

use hyper::StatusCode;

use super::error::HttpError;
use super::response::{text, HttpResponse};
use crate::state::AppState;

/// 200 while the process serves.
pub fn live() -> HttpResponse {
    text(StatusCode::OK, "ok\n")
}

/// 200 once the store is migrated, writes are not failing and a trivial
/// query answers within a second; else 503 with the reason.
pub async fn ready(state: &AppState) -> Result<HttpResponse, HttpError> {
    state.reads.readiness().await.map_err(HttpError::NotReadyBecause)?;
    Ok(text(StatusCode::OK, "ready\n"))
}
