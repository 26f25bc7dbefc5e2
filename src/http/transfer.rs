//! The admin routes that move data in and out: `GET /api/admin/export`
//! (streamed JSON Lines or CSV) and `POST /api/admin/import` (the same
//! formats, a plain `path,day,count` CSV, or GoatCounter's CSV export).
//!
//! Without the `/s/{site}/` prefix an export covers every site; with it,
//! that site, and an import may name that site only. Translates to the
//! use-cases in `owner` and back; the admin check happened in `admin`.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Body;
use serde::Serialize;
use tokio::sync::mpsc;

use super::body;
use super::error::HttpError;
use super::response::{self, json, ChunkError, Chunks, HttpResponse};
use super::SiteRoute;
use crate::owner::export::{export as run_export, Format};
use crate::owner::import::{import as run_import, Source, Target};
use crate::read::query::QueryError;
use crate::state::AppState;
use crate::store::{ExportFilter, ImportReport, Imported};
use crate::telemetry::chain;

/// The largest import sent over HTTP; larger files go through `footfall import`.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

fn bad(name: &str, message: impl Into<String>) -> HttpError {
    HttpError::BadParameter(QueryError {
        name: name.to_owned(),
        message: message.into(),
    })
}

/// The `name=value` pairs of a query, each name allowed at most once.
fn params<'q>(query: Option<&'q str>, names: &[&str]) -> Result<Vec<(&'q str, &'q str)>, HttpError> {
    let mut seen = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !names.contains(&name) {
            return Err(bad(name, format!("unknown; this endpoint takes {}", names.join(", "))));
        }
        if seen.iter().any(|(n, _)| *n == name) {
            return Err(bad(name, "given twice"));
        }
        seen.push((name, value));
    }
    Ok(seen)
}

/// `GET /api/admin/export?format=json|csv&calls=1`, streamed.
pub fn export(state: &AppState, at: &SiteRoute<'_>, query: Option<&str>) -> Result<HttpResponse, HttpError> {
    state.availability.check_ready()?;
    let (mut format, mut calls) = (Format::Json, false);
    for (name, value) in params(query, &["format", "calls"])? {
        match name {
            "format" => format = Format::parse(value).ok_or_else(|| bad(name, "is json or csv"))?,
            _ => {
                calls = match value {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    _ => return Err(bad(name, "is 1 or 0")),
                }
            }
        }
    }
    let site = (!at.base.is_empty()).then(|| at.site.config.slug.clone());
    tracing::info!(site = site.as_deref().unwrap_or("(all)"), calls, "the owner exported");
    let filter = ExportFilter { site, calls };
    let store = Arc::clone(&state.store);
    let (body_tx, body) = Chunks::channel(4);
    tokio::spawn(async move {
        let (chunks_tx, mut chunks) = mpsc::channel::<Bytes>(4);
        let forwarding = async {
            while let Some(chunk) = chunks.recv().await {
                if body_tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
        };
        let (exported, ()) = tokio::join!(run_export(&*store, filter, format, chunks_tx), forwarding);
        if let Err(error) = exported {
            tracing::error!(error = %chain(&error), "an export failed midway; the download is cut off");
            let _ = body_tx.send(Err(ChunkError)).await;
        }
    });
    Ok(response::download(format.content_type(), format.file_name(), body))
}

#[derive(Serialize)]
struct ImportAnswer {
    #[serde(flatten)]
    report: ImportReport,
    skipped: u64,
}

/// `POST /api/admin/import[?from=goatcounter]`: adds the file in the body,
/// all or nothing.
pub async fn import<B>(
    state: &AppState,
    at: &SiteRoute<'_>,
    query: Option<&str>,
    request_body: B,
) -> Result<HttpResponse, HttpError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    state.availability.check_ready()?;
    let mut source = Source::Footfall;
    for (_, value) in params(query, &["from"])? {
        source = match value {
            "goatcounter" => Source::GoatCounter,
            "footfall" => Source::Footfall,
            _ => return Err(bad("from", "is footfall or goatcounter")),
        };
    }
    let file = body::collect(request_body, IMPORT_LIMIT).await?;
    let target = Target {
        slug: at.site.config.slug.clone(),
        zone: at.site.config.zone.clone(),
        only: !at.base.is_empty(),
    };
    let outcome = run_import(Arc::clone(&state.store), Cursor::new(file), source, target)
        .await
        .map_err(|error| {
            tracing::error!(error = %chain(&error), "an import failed; nothing was changed");
            HttpError::StoreUnavailable
        })?;
    match outcome.imported {
        Imported::Refused(refused) => Err(HttpError::BadBody(format!("nothing was imported: {refused}"))),
        Imported::Done(report) => {
            tracing::info!(
                site = %at.site.config.slug,
                "the owner imported: {}",
                Imported::Done(report.clone())
            );
            // The registries learn of the pages the import added.
            for site in &state.sites {
                if let Err(error) = site.registry.load(&site.config.slug).await {
                    tracing::warn!(error = %chain(&error), "reloading pages after an import failed");
                }
            }
            json(&ImportAnswer {
                report,
                skipped: outcome.skipped,
            })
        }
    }
}
