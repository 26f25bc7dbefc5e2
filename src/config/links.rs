//! The link keys: `link_secret`, `previous_link_secrets`, `encrypt_links`,
//! `public_url` and `max_links` — what signs `/go/` links, what still
//! opens old ones, and how many distinct links a site counts.
//!
//! Owns their validation only; the tokens themselves are `link::token`.
//! Never puts a secret in an error.

use super::{ConfigError, Secret, Sources};

/// A link secret needs at least this many bytes: it keys a MAC.
pub const MIN_LINK_SECRET_BYTES: usize = 32;

/// The validated link settings; `None` in [`super::Config`] when
/// `link_secret` is unset (then `/go/` answers 400 and minting is refused).
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub secret: Secret,
    /// Secrets links were signed with before: they still open, never mint.
    pub previous: Vec<Secret>,
    /// Encrypt the payload too, so a recipient cannot read name and metadata.
    pub encrypt: bool,
    /// Distinct links counted per site at most; clicks of further links
    /// still redirect but are not counted.
    pub max_links: usize,
}

/// The raw keys, as [`super::raw::RawConfig`] holds them.
pub(super) struct RawLinks {
    pub(super) link_secret: Option<Secret>,
    pub(super) previous_link_secrets: Vec<Secret>,
    pub(super) encrypt_links: bool,
    pub(super) public_url: Option<String>,
    pub(super) max_links: usize,
}

/// The link settings and `public_url` (`https://count.example.com`, no
/// trailing slash: minted links and the feed's own link are absolute under
/// it; `None` makes them relative).
///
/// # Errors
/// A [`ConfigError`] naming the key; never the secret.
pub(super) fn validate_links(
    raw: RawLinks,
    src: &Sources,
) -> Result<(Option<LinkConfig>, Option<String>), ConfigError> {
    let public_url = raw
        .public_url
        .map(|url| check_public_url(&url).map_err(|m| src.error("public_url", m)))
        .transpose()?;
    if raw.max_links == 0 {
        return Err(src.error("max_links", "must be at least 1"));
    }
    let Some(secret) = raw.link_secret else {
        if !raw.previous_link_secrets.is_empty() {
            return Err(src.error("previous_link_secrets", "needs `link_secret`"));
        }
        if raw.encrypt_links {
            return Err(src.error("encrypt_links", "needs `link_secret`"));
        }
        return Ok((None, public_url));
    };
    check_secret("link_secret", &secret, src)?;
    for (i, previous) in raw.previous_link_secrets.iter().enumerate() {
        check_secret(&format!("previous_link_secrets[{i}]"), previous, src)?;
    }
    let links = LinkConfig {
        secret,
        previous: raw.previous_link_secrets,
        encrypt: raw.encrypt_links,
        max_links: raw.max_links,
    };
    Ok((Some(links), public_url))
}

fn check_secret(key: &str, secret: &Secret, src: &Sources) -> Result<(), ConfigError> {
    let bytes = secret.expose().len();
    if bytes < MIN_LINK_SECRET_BYTES {
        return Err(src.error(
            key,
            format!(
                "a link secret needs at least {MIN_LINK_SECRET_BYTES} bytes (this one has {bytes}); \
                 make one with `head -c 32 /dev/urandom | base64`"
            ),
        ));
    }
    Ok(())
}

/// `https://count.example.com` or with a path prefix; no query or fragment.
fn check_public_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let parsed: hyper::Uri = trimmed.parse().map_err(|_| format!("`{url}` is not a URL"))?;
    let ok = matches!(parsed.scheme_str(), Some("http" | "https"))
        && parsed.host().is_some_and(|h| !h.is_empty())
        && parsed.query().is_none()
        && !trimmed.contains(['#', '@']);
    if ok {
        Ok(trimmed.to_owned())
    } else {
        Err(format!(
            "`{url}` must be an http(s) URL like https://count.example.com, without query or credentials"
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{dir_with, env, load_err};
    use crate::config::Config;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn links_are_off_without_a_secret_and_on_with_one() {
        let config = Config::load(dir_with("").path(), env(&[])).unwrap();
        assert!(config.links.is_none());
        let yaml = format!(
            "link_secret: '{SECRET}'\nprevious_link_secrets: ['{SECRET}x']\nencrypt_links: true\n\
             public_url: https://count.example.com/\n"
        );
        let config = Config::load(dir_with(&yaml).path(), env(&[])).unwrap();
        let links = config.links.as_ref().unwrap();
        assert!(links.encrypt && links.previous.len() == 1 && links.max_links == 10_000);
        assert_eq!(config.public_url.as_deref(), Some("https://count.example.com"));
        assert!(!format!("{config:?}").contains(SECRET));
    }

    #[test]
    fn bad_link_keys_exit_naming_the_key_and_never_the_secret() {
        let e = load_err("link_secret: short\n", &[]);
        assert!(
            e.contains("key `link_secret`") && e.contains("32 bytes") && !e.contains("short\n"),
            "{e}"
        );
        let e = load_err("", &[("FOOTFALL_LINK_SECRET", "tiny-secret")]);
        assert!(
            e.starts_with("FOOTFALL_LINK_SECRET: key `link_secret`") && !e.contains("tiny-secret"),
            "{e}"
        );
        let e = load_err(&format!("link_secret: '{SECRET}'\nprevious_link_secrets: [abc]\n"), &[]);
        assert!(e.contains("previous_link_secrets[0]"), "{e}");
        let e = load_err("encrypt_links: true\n", &[]);
        assert!(e.contains("encrypt_links") && e.contains("link_secret"), "{e}");
        let e = load_err("public_url: ftp://x\n", &[]);
        assert!(e.contains("public_url"), "{e}");
        let e = load_err("max_links: 0\n", &[]);
        assert!(e.contains("max_links"), "{e}");
    }

    #[test]
    fn the_link_secret_is_read_from_a_file() {
        let dir = dir_with("");
        let file = dir.path().join("link_secret");
        std::fs::write(&file, format!("{SECRET}\n")).unwrap();
        let config = Config::load(
            dir.path(),
            env(&[("FOOTFALL_LINK_SECRET_FILE", file.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(config.links.unwrap().secret.expose(), SECRET);
    }
}
