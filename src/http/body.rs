//! Request bodies, which only the admin routes read: collected up to a
//! limit (beyond it, 413), and JSON parsed into typed values with errors
//! that name the field. Nothing here logs a body.

use std::error::Error;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::CONTENT_TYPE;
use hyper::HeaderMap;
use serde::de::DeserializeOwned;

use super::error::HttpError;

/// The largest JSON body an admin route takes: its requests are a few fields.
pub const JSON_LIMIT: usize = 64 * 1024;

/// The whole body, at most `limit` bytes.
///
/// # Errors
/// [`HttpError::TooLarge`] beyond the limit; [`HttpError::BadBody`] when the
/// client stops sending midway.
pub async fn collect<B>(body: B, limit: usize) -> Result<Bytes, HttpError>
where
    B: Body,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(HttpError::TooLarge(limit)),
        Err(_) => Err(HttpError::BadBody("the request body could not be read".into())),
    }
}

/// A JSON body (`Content-Type: application/json`) as `T`.
///
/// # Errors
/// [`HttpError::NotJson`] for another content type, [`HttpError::BadBody`]
/// naming the field for JSON that does not fit.
pub fn json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, HttpError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(HttpError::NotJson);
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body)).map_err(|error| {
        let at = error.path().to_string();
        let inner = error.into_inner();
        HttpError::BadBody(if at == "." {
            format!("the JSON body: {inner}")
        } else {
            format!("the JSON body, at `{at}`: {inner}")
        })
    })
}
