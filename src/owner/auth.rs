//! Tokens: who may use the admin routes (the `admin_token`) and who may read
//! a private site (the admin token or one of the site's `read_tokens`).
//!
//! Tokens are compared as blake3 hashes under a key drawn at start, with a
//! constant-time equality and no early exit: neither the length nor any
//! prefix of a configured token shows in how long a check takes. Holds the
//! hashes only; must never log or return a token.

use std::collections::HashMap;

use crate::config::{Config, SiteConfig};

pub struct Tokens {
    key: [u8; 32],
    admin: Option<blake3::Hash>,
    /// Each private site's read tokens, by slug.
    readers: HashMap<String, Vec<blake3::Hash>>,
}

impl Tokens {
    pub fn new(config: &Config) -> Self {
        let key = comparison_key();
        let hash = |token: &str| blake3::keyed_hash(&key, token.as_bytes());
        Self {
            admin: config.admin_token.as_ref().map(|t| hash(t.expose())),
            readers: config
                .sites
                .iter()
                .map(|site| {
                    let tokens = site.access.read_tokens.iter().map(|t| hash(t.expose())).collect();
                    (site.slug.clone(), tokens)
                })
                .collect(),
            key,
        }
    }

    /// Whether an admin token is configured at all (else the admin routes are 404).
    pub fn admin_enabled(&self) -> bool {
        self.admin.is_some()
    }

    /// Whether `presented` is the admin token.
    pub fn is_admin(&self, presented: Option<&str>) -> bool {
        match (presented, &self.admin) {
            (Some(token), Some(admin)) => self.hash(token) == *admin,
            _ => false,
        }
    }

    /// Whether `presented` may read `site`: always for a public site; for a
    /// private one, the admin token or one of the site's read tokens.
    pub fn may_read(&self, site: &SiteConfig, presented: Option<&str>) -> bool {
        if site.access.public {
            return true;
        }
        let Some(token) = presented else { return false };
        let hash = self.hash(token);
        let readers = self.readers.get(&site.slug).map_or(&[][..], Vec::as_slice);
        // Every comparison runs (`|`, not `||`), so the time taken does not
        // say which token, if any, matched.
        let admin = self.admin.is_some_and(|admin| admin == hash);
        readers
            .iter()
            .fold(admin, |matched, reader| matched | (*reader == hash))
    }

    fn hash(&self, token: &str) -> blake3::Hash {
        blake3::keyed_hash(&self.key, token.as_bytes())
    }
}

/// A random key, so hashes of tokens mean nothing outside this process. The
/// OS generator does not fail on the Linux versions we support; should it,
/// a fixed key still gives constant-time comparisons of equal-length hashes.
fn comparison_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    if getrandom::fill(&mut key).is_err() {
        tracing::warn!("the OS random generator failed; tokens are compared under a fixed key");
        key = blake3::derive_key("footfall token comparison", b"");
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "admin-token-0123456789abcdef-0123456789";
    const READER: &str = "reader-token-0123456789abcdef-012345678";

    fn config(yaml: &str) -> Config {
        let dir = crate::config::tests::dir_with(yaml);
        Config::load(dir.path(), Vec::new()).unwrap()
    }

    #[test]
    fn only_the_exact_admin_token_is_admin() {
        let tokens = Tokens::new(&config(&format!("admin_token: {ADMIN}\n")));
        assert!(tokens.admin_enabled());
        assert!(tokens.is_admin(Some(ADMIN)));
        for wrong in [
            None,
            Some(""),
            Some(&ADMIN[1..]),
            Some("x"),
            Some(&*format!("{ADMIN}x")),
        ] {
            assert!(!tokens.is_admin(wrong), "{wrong:?}");
        }
        let off = Tokens::new(&config(""));
        assert!(!off.admin_enabled() && !off.is_admin(Some(ADMIN)));
    }

    #[test]
    fn a_private_site_is_read_with_its_own_token_or_the_admin_token() {
        let yaml = format!(
            "admin_token: {ADMIN}\nsites:\n  blog:\n    public: false\n    read_tokens: [{READER}]\n  \
             docs:\n    public: false\n  open: {{}}\ndefault_site: blog\n"
        );
        let config = config(&yaml);
        let tokens = Tokens::new(&config);
        let (blog, docs, open) = (&config.sites[0], &config.sites[1], &config.sites[2]);
        assert!(tokens.may_read(blog, Some(READER)) && tokens.may_read(blog, Some(ADMIN)));
        assert!(!tokens.may_read(blog, None) && !tokens.may_read(blog, Some("nope")));
        assert!(
            !tokens.may_read(docs, Some(READER)),
            "a read token reads its own site only"
        );
        assert!(tokens.may_read(docs, Some(ADMIN)));
        assert!(tokens.may_read(open, None), "public sites need no token");
        assert!(!tokens.is_admin(Some(READER)), "a read token is not an admin token");
    }
}
