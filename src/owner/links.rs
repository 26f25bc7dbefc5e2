//! Minting a link, the owner's use-case behind `POST /api/admin/links` and
//! `footfall link`: the request's fields become a signed [`Payload`]. Logs
//! the link's id and host at info (never the token, whose metadata may be
//! private when encrypted).

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::link::token::{host_of, parse_expiry, LinkId, MintError, Payload};
use crate::link::{LinkError, Links};

/// What the owner asks for.
#[derive(Debug, Clone, Default)]
pub struct LinkRequest {
    pub url: String,
    pub name: Option<String>,
    pub meta: BTreeMap<String, String>,
    /// An RFC 3339 time, or like `30d` / `12h` from now.
    pub expires: Option<String>,
}

/// Mints a link counting on the site `slug`: the URL to hand out and its id.
///
/// # Errors
/// [`LinkError::Off`] without `link_secret`; a [`MintError`] naming a bad field.
pub fn mint(links: &Links, slug: &str, request: LinkRequest, now: Timestamp) -> Result<(String, LinkId), LinkError> {
    let expires = request.expires.map(|e| parse_expiry(&e, now)).transpose()?;
    if expires.is_some_and(|e| e <= now.as_second()) {
        return Err(MintError("`expires` is in the past".into()).into());
    }
    let payload = Payload {
        url: request.url,
        site: slug.to_owned(),
        name: request.name,
        meta: request.meta,
        expires,
    };
    let (url, id) = links.mint(&payload)?;
    tracing::info!(
        site = slug,
        link = id.as_str(),
        host = host_of(&payload.url),
        "link minted"
    );
    Ok((url, id))
}
