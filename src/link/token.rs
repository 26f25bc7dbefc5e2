//! Link tokens: what `/go/<token>` carries, and the one check that decides
//! whether Footfall may redirect to it.
//!
//! A token is URL-safe base64 (no padding) of one of two layouts:
//! - signed: `0x01 ‖ payload ‖ mac`, where `mac` is the first 16 bytes of
//!   a blake3 keyed hash of `0x01 ‖ payload` under a key derived from
//!   `link_secret`;
//! - encrypted (`encrypt_links`): `0x02 ‖ nonce(24) ‖ XChaCha20-Poly1305(
//!   payload ‖ mac)` with the version byte as associated data, so the
//!   recipient cannot read the name or metadata; the inner MAC is checked
//!   after decryption as for a signed token.
//!
//! `payload` is compact JSON of [`Payload`] (metadata in key order), written
//! once when the link is minted; the MAC covers those exact bytes, so
//! nothing is re-serialized before it is checked. A link's identity in the
//! store ([`LinkId`]) is a digest of the payload, so one link minted twice
//! (signed or encrypted, under any secret) is one link.
//!
//! Pure: no I/O, no clock (the caller passes `now` and the nonce). Never an
//! open redirect: [`LinkKeys::open`] answers a destination only for a token
//! minted under one of the keys, unexpired, whose destination is http(s).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload as AeadPayload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

const SIGNED: u8 = 1;
const ENCRYPTED: u8 = 2;
const MAC_LEN: usize = 16;
const NONCE_LEN: usize = 24;
/// A token longer than this is refused before any work: an email link
/// stays far below it, and the check is cheap for a hostile one.
pub const MAX_TOKEN_CHARS: usize = 4096;
/// The longest destination accepted when minting.
pub const MAX_URL_BYTES: usize = 2048;
/// At most this many metadata entries, each key and value at most
/// [`MAX_META_BYTES`]: the token goes into emails and URLs.
pub const MAX_META_ENTRIES: usize = 16;
pub const MAX_META_BYTES: usize = 200;
/// The longest link name.
pub const MAX_NAME_CHARS: usize = 100;

/// What a link carries. Field names are short: they go into every token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The destination, an absolute http(s) URL.
    #[serde(rename = "u")]
    pub url: String,
    /// The slug of the site the link counts on.
    #[serde(rename = "s")]
    pub site: String,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "m", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// Unix seconds after which the link no longer redirects.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
}

/// How a link is named in the store and the API: 32 hex digits of a blake3
/// hash of its payload bytes. Not secret (it reveals nothing a reader of
/// `/api/links` does not see anyway) and not usable as a link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(String);

impl LinkId {
    fn of(payload: &[u8]) -> Self {
        let hash = blake3::Hasher::new_derive_key("footfall 2026 link id")
            .update(payload)
            .finalize();
        let mut hex = String::with_capacity(32);
        for byte in &hash.as_bytes()[..16] {
            hex.push_str(&format!("{byte:02x}"));
        }
        Self(hex)
    }

    /// A link id as written in a URL: exactly 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid link, as `/go` acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub id: LinkId,
    pub payload: Payload,
}

/// Why a token does not redirect. Every kind gets the same answer (400, no
/// `Location`); the kinds exist for the tests and nothing else tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a link token")]
    Malformed,
    #[error("the link's signature does not match")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
    #[error("the link's destination is not an http(s) URL")]
    BadDestination,
}

/// Why a link cannot be minted; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MintError(pub String);

/// The current key and the previous ones, derived from the secrets.
pub struct LinkKeys {
    /// The current key first: it mints; all of them open.
    keys: Vec<Key>,
    encrypt: bool,
}

struct Key {
    mac: [u8; 32],
    aead: XChaCha20Poly1305,
}

impl Key {
    fn derive(secret: &[u8]) -> Self {
        let mac = blake3::derive_key("footfall 2026 link signature", secret);
        let aead = XChaCha20Poly1305::new(&blake3::derive_key("footfall 2026 link encryption", secret).into());
        Self { mac, aead }
    }

    fn mac(&self, version: u8, payload: &[u8]) -> [u8; MAC_LEN] {
        let hash = blake3::Hasher::new_keyed(&self.mac)
            .update(&[version])
            .update(payload)
            .finalize();
        let mut mac = [0; MAC_LEN];
        mac.copy_from_slice(&hash.as_bytes()[..MAC_LEN]);
        mac
    }

    /// The payload of a signed body (`payload ‖ mac`), if the MAC is this key's.
    fn verify<'b>(&self, version: u8, body: &'b [u8]) -> Option<&'b [u8]> {
        let split = body.len().checked_sub(MAC_LEN)?;
        let (payload, mac) = body.split_at(split);
        // Constant time: blake3's Hash comparison does not exit early.
        (blake3::Hash::from(pad(mac)) == blake3::Hash::from(pad(&self.mac(version, payload)))).then_some(payload)
    }
}

/// A MAC widened to the 32 bytes `blake3::Hash` compares in constant time.
fn pad(mac: &[u8]) -> [u8; 32] {
    let mut wide = [0; 32];
    wide[..mac.len().min(32)].copy_from_slice(&mac[..mac.len().min(32)]);
    wide
}

impl LinkKeys {
    /// `current` mints and opens; each of `previous` only opens.
    pub fn new(current: &[u8], previous: &[&[u8]], encrypt: bool) -> Self {
        let keys = std::iter::once(current)
            .chain(previous.iter().copied())
            .map(Key::derive)
            .collect();
        Self { keys, encrypt }
    }

    /// The token for `payload`; `nonce` is 24 random bytes (used only when encrypting).
    ///
    /// # Errors
    /// A [`MintError`] naming what is wrong with the payload.
    pub fn mint(&self, payload: &Payload, nonce: [u8; NONCE_LEN]) -> Result<(String, LinkId), MintError> {
        check_payload(payload)?;
        let bytes = serde_json::to_vec(payload).map_err(|e| MintError(format!("cannot encode the link: {e}")))?;
        let key = &self.keys[0];
        let id = LinkId::of(&bytes);
        let token = if self.encrypt {
            let mut inner = bytes.clone();
            inner.extend_from_slice(&key.mac(ENCRYPTED, &bytes));
            let sealed = key
                .aead
                .encrypt(
                    XNonce::from_slice(&nonce),
                    AeadPayload {
                        msg: &inner,
                        aad: &[ENCRYPTED],
                    },
                )
                .map_err(|_| MintError("cannot encrypt the link".into()))?;
            let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
            out.push(ENCRYPTED);
            out.extend_from_slice(&nonce);
            out.extend_from_slice(&sealed);
            out
        } else {
            let mut out = Vec::with_capacity(1 + bytes.len() + MAC_LEN);
            out.push(SIGNED);
            out.extend_from_slice(&bytes);
            out.extend_from_slice(&key.mac(SIGNED, &bytes));
            out
        };
        let token = URL_SAFE_NO_PAD.encode(token);
        if token.len() > MAX_TOKEN_CHARS {
            return Err(MintError(format!(
                "the link would be {} characters long; at most {MAX_TOKEN_CHARS}",
                token.len()
            )));
        }
        Ok((token, id))
    }

    /// The link a token names, if it is valid at `now`.
    ///
    /// # Errors
    /// A [`TokenError`]; the caller answers every kind the same way.
    pub fn open(&self, token: &str, now: Timestamp) -> Result<Opened, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        // The strict engine refuses padding, the standard alphabet and
        // non-canonical trailing bits: a re-encoded token is not the token.
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
        let (&version, rest) = raw.split_first().ok_or(TokenError::Malformed)?;
        let payload = match version {
            SIGNED => self
                .keys
                .iter()
                .find_map(|key| key.verify(SIGNED, rest).map(<[u8]>::to_vec)),
            ENCRYPTED => {
                if rest.len() < NONCE_LEN {
                    return Err(TokenError::Malformed);
                }
                let (nonce, sealed) = rest.split_at(NONCE_LEN);
                self.keys.iter().find_map(|key| {
                    let inner = key
                        .aead
                        .decrypt(
                            XNonce::from_slice(nonce),
                            AeadPayload {
                                msg: sealed,
                                aad: &[ENCRYPTED],
                            },
                        )
                        .ok()?;
                    key.verify(ENCRYPTED, &inner).map(<[u8]>::to_vec)
                })
            }
            _ => return Err(TokenError::Malformed),
        }
        .ok_or(TokenError::BadSignature)?;
        // Signed by us, so well-formed unless written by another version.
        let decoded: Payload = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if decoded.expires.is_some_and(|e| now.as_second() >= e) {
            return Err(TokenError::Expired);
        }
        if !is_http_url(&decoded.url) {
            return Err(TokenError::BadDestination);
        }
        Ok(Opened {
            id: LinkId::of(&payload),
            payload: decoded,
        })
    }
}

/// Whether `url` is an absolute `http` or `https` URL with a host and
/// nothing a browser would read differently (no whitespace, no control
/// characters, no backslash, no credentials).
pub fn is_http_url(url: &str) -> bool {
    if url.len() > MAX_URL_BYTES || url.bytes().any(|b| b <= b' ' || b == b'\\' || b == 0x7f) {
        return false;
    }
    let Ok(parsed) = url.parse::<hyper::Uri>() else {
        return false;
    };
    let scheme_ok = matches!(parsed.scheme_str(), Some("http" | "https"));
    let authority = parsed.authority().map(|a| a.as_str()).unwrap_or("");
    scheme_ok && !authority.is_empty() && !authority.contains('@') && parsed.host().is_some_and(|h| !h.is_empty())
}

/// The host of a valid destination, as the API shows it.
pub fn host_of(url: &str) -> String {
    url.parse::<hyper::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

fn check_payload(payload: &Payload) -> Result<(), MintError> {
    if !is_http_url(&payload.url) {
        return Err(MintError(format!(
            "`url` must be an absolute http or https URL of at most {MAX_URL_BYTES} bytes, \
             without spaces, backslashes or credentials"
        )));
    }
    if let Some(name) = &payload.name {
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(MintError(format!(
                "`name` must be at most {MAX_NAME_CHARS} characters, without control characters"
            )));
        }
    }
    if payload.meta.len() > MAX_META_ENTRIES {
        return Err(MintError(format!("`meta` may have at most {MAX_META_ENTRIES} entries")));
    }
    if payload
        .meta
        .iter()
        .any(|(k, v)| k.is_empty() || k.len() > MAX_META_BYTES || v.len() > MAX_META_BYTES)
    {
        return Err(MintError(format!(
            "`meta` keys must be non-empty, keys and values at most {MAX_META_BYTES} bytes"
        )));
    }
    Ok(())
}

/// An expiry as the owner writes it: an RFC 3339 time, or `N` followed by
/// `d` (days) or `h` (hours) from `now`. Unix seconds.
///
/// # Errors
/// A [`MintError`] saying what is accepted.
pub fn parse_expiry(text: &str, now: Timestamp) -> Result<i64, MintError> {
    let bad = || {
        MintError(format!(
            "`expires`: `{text}` is neither an RFC 3339 time nor like 30d or 12h"
        ))
    };
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at.as_second());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        _ => None,
    }
    .filter(|s| (1..=3_650 * 86_400).contains(s))
    .ok_or_else(bad)?;
    Ok(now.as_second() + seconds)
}

#[cfg(test)]
mod tests;
