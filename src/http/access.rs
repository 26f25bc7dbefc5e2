//! Who may read what: the bearer token a request carries, and which routes
//! a private site hides without one.
//!
//! A token is only ever taken from `Authorization: Bearer <token>`, never
//! from the query string (which ends up in proxy logs and browser history).
//! Nothing here logs; the token is compared in `owner::auth`, never shown.

use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

use super::under;
use crate::count::Site;
use crate::state::AppState;

/// The token of an `Authorization: Bearer <token>` header; `None` when
/// there is none or it is malformed (another scheme, no token, not text,
/// the header twice), which is then treated exactly like no token.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// Whether the request may read `site`'s counts (always, for a public site).
pub fn may_read(state: &AppState, site: &Site, headers: &HeaderMap) -> bool {
    state.tokens.may_read(&site.config, bearer(headers))
}

/// The routes that show a site's counts: a private site answers them with
/// 404 unless the request carries a token for it. Every route is one except
/// those that count (`/call`, `/badge`, `/go`, and `/count.js`, which only
/// calls `/call`: they keep counting), the admin API
/// (its own token check) and the process-wide ones; so a read route added
/// later is private from the start.
pub fn is_read_route(path: &str) -> bool {
    let open = ["/call", "/badge", "/go", "/api/admin"]
        .iter()
        .any(|prefix| under(path, prefix).is_some())
        || matches!(path, "/healthz" | "/readyz" | "/api/sites" | "/count.js");
    !open
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn only_a_well_formed_bearer_header_carries_a_token() {
        assert_eq!(bearer(&with(&["Bearer abc"])), Some("abc"));
        assert_eq!(bearer(&with(&["bearer  abc"])), Some("abc"));
        for malformed in [
            &[][..],
            &["Basic abc"],
            &["Bearer"],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearerabc"],
            &["Bearer abc", "Bearer abc"],
        ] {
            assert_eq!(bearer(&with(malformed)), None, "{malformed:?}");
        }
    }

    #[test]
    fn the_pages_charts_and_api_of_a_site_are_read_routes_and_counting_is_not() {
        for read in [
            "/",
            "/plot/a",
            "/api/counts",
            "/api/counts/a",
            "/api/history/a",
            "/api/history",
            "/api/plot/a",
            "/api/filtered",
            "/api/links",
            "/api/links/0123",
            "/api/dimensions",
            "/api/dimensions/a",
            "/plotx",
            "/dashboard",
        ] {
            assert!(is_read_route(read), "{read}");
        }
        for other in [
            "/call/a",
            "/badge/a",
            "/go/token",
            "/healthz",
            "/readyz",
            "/api/sites",
            "/api/admin/pages",
            "/count.js",
        ] {
            assert!(!is_read_route(other), "{other}");
        }
    }
}
