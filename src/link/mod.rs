//! Signed click-tracking links (`/go/<token>`): the keys that mint and open
//! them, and per site the bound on distinct links counted.
//!
//! - [`token`]: the token format, minting and the one validity check (pure).
//!
//! [`Links`] is built once from the config. A link is valid without any
//! registration (stateless like pytracking), so the store learns of a link
//! at its first counted click. What bounds the links a site counts: only
//! the holder of `link_secret` can mint one (a client cannot make up or vary
//! a token), and at most `max_links` distinct links are counted per site —
//! clicks of further links still redirect, are not counted, and the first
//! is logged. Holds no address and logs no token.

pub mod token;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use jiff::Timestamp;

use self::token::{LinkId, LinkKeys, MintError, Opened, Payload, TokenError};
use crate::config::Config;
use crate::count::filter::SiteFilter;
use crate::store::{SiteId, Store, StoreError};
use crate::sync::lock;

/// The link keys and each site's links at run time.
pub struct Links {
    /// `None` when `link_secret` is unset: nothing opens, nothing mints.
    keys: Option<LinkKeys>,
    public_url: Option<String>,
    max_links: usize,
    sites: HashMap<String, SiteLinks>,
}

/// One site's links.
pub struct SiteLinks {
    /// Ids of the links counted so far, up to `max_links`.
    known: Mutex<HashSet<LinkId>>,
    /// The site's filters without the `Referer` check: a link is followed
    /// from mail, chats and other sites' pages alike, and a click from
    /// elsewhere is still a click.
    pub filter: SiteFilter,
    /// Whether reaching `max_links` was logged.
    full_logged: AtomicBool,
}

/// Why a link cannot be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("links are off: set `link_secret` to mint them")]
    Off,
    #[error(transparent)]
    Mint(#[from] MintError),
}

impl Links {
    pub fn new(config: &Config) -> Self {
        let sites = config
            .sites
            .iter()
            .map(|site| {
                let filter = SiteFilter {
                    accept_origins: None,
                    ..site.filter.clone()
                };
                let links = SiteLinks {
                    known: Mutex::default(),
                    filter,
                    full_logged: AtomicBool::new(false),
                };
                (site.slug.clone(), links)
            })
            .collect();
        let Some(links) = &config.links else {
            return Self {
                keys: None,
                public_url: config.public_url.clone(),
                max_links: 0,
                sites,
            };
        };
        let previous: Vec<&[u8]> = links.previous.iter().map(|s| s.expose().as_bytes()).collect();
        Self {
            keys: Some(LinkKeys::new(
                links.secret.expose().as_bytes(),
                &previous,
                links.encrypt,
            )),
            public_url: config.public_url.clone(),
            max_links: links.max_links,
            sites,
        }
    }

    /// The links of the site `slug`.
    pub fn site(&self, slug: &str) -> Option<&SiteLinks> {
        self.sites.get(slug)
    }

    /// The link a token names, if valid at `now`.
    ///
    /// # Errors
    /// A [`TokenError`]; with links off every token is a bad signature.
    pub fn open(&self, token: &str, now: Timestamp) -> Result<Opened, TokenError> {
        self.keys.as_ref().ok_or(TokenError::BadSignature)?.open(token, now)
    }

    /// Mints a link: the URL to hand out (absolute under `public_url` when
    /// set) and the link's id.
    ///
    /// # Errors
    /// [`LinkError::Off`] without `link_secret`; a [`MintError`] naming a bad field.
    pub fn mint(&self, payload: &Payload) -> Result<(String, LinkId), LinkError> {
        let keys = self.keys.as_ref().ok_or(LinkError::Off)?;
        let mut nonce = [0; 24];
        getrandom::fill(&mut nonce).map_err(|_| MintError("the OS random generator failed".into()))?;
        let (token, id) = keys.mint(payload, nonce)?;
        let base = self.public_url.as_deref().unwrap_or("");
        Ok((format!("{base}/go/{token}"), id))
    }

    /// Loads the ids of the links each site has counted, so the bound holds across restarts.
    ///
    /// # Errors
    /// The store's error.
    pub async fn load(&self, store: &dyn Store, site_ids: &[(String, SiteId)]) -> Result<usize, StoreError> {
        let mut loaded = 0;
        for (slug, id) in site_ids {
            let Some(site) = self.sites.get(slug) else { continue };
            let ids = store.link_ids(*id).await?;
            loaded += ids.len();
            lock(&site.known).extend(ids.iter().filter_map(|i| LinkId::parse(i)));
        }
        Ok(loaded)
    }

    pub fn max_links(&self) -> usize {
        self.max_links
    }
}

impl SiteLinks {
    /// Whether a click of `id` may be counted: a known link, or a new one
    /// while the site has room (then it is known from now on).
    pub fn admit(&self, id: &LinkId, max_links: usize, slug: &str) -> bool {
        let mut known = lock(&self.known);
        if known.contains(id) {
            return true;
        }
        if known.len() < max_links {
            known.insert(id.clone());
            return true;
        }
        drop(known);
        if !self.full_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                site = slug,
                max_links,
                "max_links reached: clicks of further links are not counted"
            );
        }
        false
    }
}
