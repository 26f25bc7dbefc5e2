//! Liveness and readiness probes for containers and load balancers.
//! Readiness answers a reason, never a secret or a connection string.

use hyper::StatusCode;

use super::{text, HttpResponse};
use crate::app::AppState;
use crate::error::HttpError;

/// 200 while the process serves.
pub fn live() -> HttpResponse {
    text(StatusCode::OK, "ok\n")
}

/// 200 once the store is migrated and answers a trivial query.
pub async fn ready(state: &AppState) -> Result<HttpResponse, HttpError> {
    state.check_ready()?;
    state.observe(state.store.ping().await)?;
    Ok(text(StatusCode::OK, "ready\n"))
}
