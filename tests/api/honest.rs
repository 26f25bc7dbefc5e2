//! Honest counts on both stores, with real requests: bots, prefetches,
//! ignored addresses and foreign embeds are filtered with one reason each
//! and counted exactly as aggregates; image proxies count in their own
//! series at most once per page per interval; browsers count; and no
//! response tells a counted hit from a repeat or a filtered one.

use hyper::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{both_stores, send, send_bare, Store, TestApp, TestResponse};

pub const CAMO: &str = "github-camo (876de43e)";
pub const GMAIL: &str = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const CURL: &str = "curl/8.5.0";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const HEADLESS: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36";

/// Desktop and mobile Firefox, Chrome and Safari.
const BROWSERS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Android 14; Mobile; rv:131.0) Gecko/131.0 Firefox/131.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
];

/// The app with its tracked site, an ignored range and a friendly origin.
async fn honest_app(store: Store) -> TestApp {
    TestApp::spawn_with(
        store,
        &[
            ("ignore_addresses", "[198.51.100.0/24]"),
            ("also_accept_origins", "['https://friend.example']"),
        ],
    )
    .await
}

/// A GET of `path` as visitor `ip` (through the trusted proxy) with `headers`.
pub async fn hit(app: &TestApp, path: &str, ip: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("x-forwarded-for", ip)];
    all.extend_from_slice(headers);
    let response = send(app.addr, Method::GET, path, &all).await;
    assert_eq!(response.status, StatusCode::OK, "{path} as {ip}: {}", response.text());
    response
}

/// The JSON of a read that must succeed.
pub async fn json_at(app: &TestApp, url: &str) -> Value {
    let response = app.get(url).await;
    assert_eq!(response.status, StatusCode::OK, "{url}: {}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

fn filtered(bot: u64, prefetch: u64, ignored: u64, foreign_embed: u64) -> Value {
    json!({"bot": bot, "prefetch": prefetch, "ignored": ignored, "foreign_embed": foreign_embed})
}

async fn each_reason_is_filtered_with_a_real_request_and_counted_exactly(store: Store) {
    let app = honest_app(store).await;
    let ip = |i: u32| format!("203.0.113.{i}");
    // Bots: curl, Googlebot, a headless browser, an empty and a missing user agent.
    for (i, agent) in [CURL, GOOGLEBOT, HEADLESS, ""].into_iter().enumerate() {
        hit(&app, "/call/a", &ip(i as u32), &[("user-agent", agent)]).await;
    }
    let bare = send_bare(app.addr, Method::GET, "/call/a", &[("x-forwarded-for", "203.0.113.4")]).await;
    assert_eq!(bare.status, StatusCode::OK);
    // Each prefetch header, from a browser.
    for (i, header) in [
        ("sec-purpose", "prefetch"),
        ("sec-purpose", "prefetch;prerender"),
        ("purpose", "prefetch"),
        ("x-purpose", "preview"),
        ("x-moz", "prefetch"),
    ]
    .into_iter()
    .enumerate()
    {
        hit(&app, "/call/a", &ip(10 + i as u32), &[header]).await;
    }
    // An ignored address, as the trusted proxy reports it.
    hit(&app, "/call/a", "198.51.100.9", &[]).await;
    // Referers: another origin is filtered; ours, a friend's and none count.
    hit(
        &app,
        "/call/a",
        &ip(20),
        &[("referer", "https://elsewhere.example/page")],
    )
    .await;
    let ours = format!("{}/a", app.site.base_url());
    hit(&app, "/call/a", &ip(21), &[("referer", &ours)]).await;
    hit(&app, "/call/a", &ip(22), &[("referer", "https://friend.example/links")]).await;
    hit(&app, "/call/a", &ip(23), &[]).await;
    // Repeats of filtered pairs are repeats: they change nothing.
    hit(&app, "/call/a", &ip(0), &[("user-agent", CURL)]).await;
    hit(&app, "/call/a", "198.51.100.9", &[]).await;
    // A counted hit commits every filtered count queued before it.
    hit(&app, "/call/b", &ip(24), &[]).await;

    let a = json_at(&app, "/api/counts/a").await;
    assert_eq!((&a["count"], &a["proxied"]), (&json!(3), &json!(0)), "{a}");
    assert_eq!(a["filtered"], filtered(5, 5, 1, 1), "{a}");
    assert_eq!(json_at(&app, "/api/counts/a?days=1").await, a, "all of it today");
    let yesterday = json_at(&app, "/api/counts/a?from=2000-01-01&to=2000-01-02").await;
    assert_eq!(yesterday["filtered"], filtered(0, 0, 0, 0));
    assert_eq!(
        json_at(&app, "/api/filtered?days=1").await,
        json!([{"path": "/a", "proxied": 0, "filtered": filtered(5, 5, 1, 1)}]),
        "/b has nothing filtered, so it is left out"
    );
    // One aggregate row per page and day, never a row per request.
    let rows = app.stored_i64("SELECT count(*) FROM daily_tallies").await;
    assert_eq!(rows, 1);
    assert_eq!(app.stored_calls().await, 4);
}

async fn browsers_count_as_visitors(store: Store) {
    let app = honest_app(store).await;
    for (i, agent) in BROWSERS.into_iter().enumerate() {
        hit(&app, "/call/a", &format!("203.0.113.{i}"), &[("user-agent", agent)]).await;
    }
    let a = json_at(&app, "/api/counts/a").await;
    assert_eq!(a["count"], 6, "{a}");
    assert_eq!(a["filtered"], filtered(0, 0, 0, 0));
}

async fn image_proxies_count_in_their_own_series_once_per_interval(store: Store) {
    let app = TestApp::spawn_with(store, &[("proxied_min_interval_seconds", "3")]).await;
    let camo = [("user-agent", CAMO)];
    let gmail = [("user-agent", GMAIL)];
    for _ in 0..3 {
        let response = hit(&app, "/call/readme", "140.82.115.1", &camo).await;
        assert_eq!(
            response.header("cache-control"),
            "no-cache, no-store",
            "the proxy must ask again"
        );
    }
    hit(&app, "/call/readme", "140.82.115.2", &camo).await; // another Camo address, same interval
    hit(&app, "/call/mail", "66.249.84.1", &gmail).await;
    hit(&app, "/call/mail", "66.249.84.1", &gmail).await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    hit(&app, "/call/readme", "140.82.115.1", &camo).await;
    // A proxy skips visitor dedup: the same address as a browser is a visitor.
    let browser = hit(&app, "/call/readme", "140.82.115.1", &[]).await;
    assert_eq!(browser.header("cache-control"), "private, max-age=86400");

    let readme = json_at(&app, "/api/counts/readme").await;
    assert_eq!(
        (&readme["count"], &readme["proxied"]),
        (&json!(1), &json!(2)),
        "{readme}"
    );
    assert_eq!(readme["filtered"], filtered(0, 0, 0, 0), "a proxy is not a bot");
    assert_eq!(json_at(&app, "/api/counts/mail").await["proxied"], 1);
    assert_eq!(
        json_at(&app, "/api/filtered").await,
        json!([
            {"path": "/mail", "proxied": 1, "filtered": filtered(0, 0, 0, 0)},
            {"path": "/readme", "proxied": 2, "filtered": filtered(0, 0, 0, 0)},
        ])
    );
}

/// Headers without `date`, which differs by the second.
fn without_date(response: &TestResponse) -> HeaderMap {
    let mut headers = response.headers.clone();
    headers.remove("date");
    headers
}

fn assert_identical(name: &str, responses: &[TestResponse]) {
    for other in &responses[1..] {
        assert_eq!(other.status, responses[0].status, "{name}");
        assert_eq!(without_date(other), without_date(&responses[0]), "{name}");
        assert_eq!(other.body, responses[0].body, "{name}");
    }
}

async fn counted_repeated_and_filtered_hits_get_identical_responses(store: Store) {
    let app = honest_app(store).await;
    let me = "203.0.113.50";
    let prefetch = [("purpose", "prefetch")];
    let call = [
        hit(&app, "/call/a", me, &[]).await,
        hit(&app, "/call/a", me, &[]).await,
        hit(&app, "/call/b", me, &prefetch).await,
        hit(&app, "/call/c", me, &[("referer", "https://elsewhere.example/")]).await,
    ];
    assert_identical("/call", &call);
    // Badges show a page's count, so the pages start level: /x at 1, /y at 2.
    hit(&app, "/call/x", "192.0.2.1", &[]).await;
    hit(&app, "/call/y", "192.0.2.1", &[]).await;
    hit(&app, "/call/y", "192.0.2.2", &[]).await;
    let badge = [
        hit(&app, "/badge/x", me, &[]).await,
        hit(&app, "/badge/x", me, &[]).await,
        hit(&app, "/badge/y", me, &prefetch).await,
    ];
    assert!(badge[0].text().contains("views: 2"), "{}", badge[0].text());
    assert_identical("/badge", &badge);
    let a = json_at(&app, "/api/counts/b").await;
    assert_eq!(a["filtered"]["prefetch"], 1, "the prefetch was filtered: {a}");
}

async fn referer_checks_can_be_turned_off_and_sites_ignore_their_own_addresses(store: Store) {
    let docs = crate::site::TrackedSite::start().await;
    let sites = format!(
        "{{blog: {{tracked_base_url: '{}', check_referer: false}}, docs: {{tracked_base_url: '{}', ignore_addresses: [192.0.2.0/24]}}}}",
        docs.base_url(),
        docs.base_url()
    );
    let app = TestApp::spawn_with(
        store,
        &[
            ("tracked_base_url", ""),
            ("sites", &sites),
            ("default_site", "blog"),
            ("ignore_addresses", "[198.51.100.1]"),
        ],
    )
    .await;
    let elsewhere = [("referer", "https://elsewhere.example/")];
    for site in ["blog", "docs"] {
        let url = format!("/s/{site}/call/a");
        hit(&app, &url, "203.0.113.1", &elsewhere).await;
        hit(&app, &url, "192.0.2.7", &[]).await;
        hit(&app, &url, "198.51.100.1", &[]).await;
        hit(&app, &format!("/s/{site}/call/z"), "203.0.113.9", &[]).await; // commits the rest
    }
    let blog = json_at(&app, "/s/blog/api/counts/a").await;
    assert_eq!(
        (&blog["count"], &blog["filtered"]),
        (&json!(2), &filtered(0, 0, 1, 0)),
        "{blog}"
    );
    let docs = json_at(&app, "/s/docs/api/counts/a").await;
    assert_eq!(
        (&docs["count"], &docs["filtered"]),
        (&json!(0), &filtered(0, 0, 2, 1)),
        "{docs}"
    );
}

both_stores!(
    each_reason_is_filtered_with_a_real_request_and_counted_exactly,
    browsers_count_as_visitors,
    image_proxies_count_in_their_own_series_once_per_interval,
    counted_repeated_and_filtered_hits_get_identical_responses,
    referer_checks_can_be_turned_off_and_sites_ignore_their_own_addresses,
);
