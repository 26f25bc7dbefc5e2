//! Signed `/go/` links on both stores: minted by the admin API, followed
//! with a `302` and counted like page views (dedup, bots, prefetches,
//! ignored addresses); every invalid token is a `400` without `Location`,
//! so Footfall is never an open redirect; rotated secrets keep old links.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use footfall::link::token::{LinkKeys, Payload};

use crate::helpers::{both_stores, send, Store, TestApp, TestResponse};
use crate::requests::{ADMIN, ADMIN_KEY};

const SECRET: &str = "link-secret-for-the-tests-0123456789abcdef";
const OLD: &str = "an-older-link-secret-for-the-tests-0123456";
const DEST: &str = "https://example.com/download?file=a.tar.gz";
const CURL: &str = "curl/8.5.0";

async fn link_app(store: Store, extra: &[(&str, &str)]) -> TestApp {
    let secret = format!("'{SECRET}'");
    let mut keys = vec![ADMIN_KEY, ("link_secret", secret.as_str())];
    keys.extend_from_slice(extra);
    TestApp::spawn_with(store, &keys).await
}

/// Mints through the admin API; the `/go/…` path and the link's id.
async fn mint(app: &TestApp, body: Value) -> (String, String) {
    let response = app.admin(Method::POST, "/api/admin/links", Some(body)).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let minted: Value = serde_json::from_slice(&response.body).expect("JSON");
    let link = minted["link"].as_str().expect("link").to_owned();
    assert!(link.starts_with("/go/"), "{link}");
    (link, minted["id"].as_str().expect("id").to_owned())
}

async fn click(app: &TestApp, path: &str, ip: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("x-forwarded-for", ip)];
    all.extend_from_slice(headers);
    send(app.addr, Method::GET, path, &all).await
}

fn assert_redirects(response: &TestResponse, to: &str) {
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.text());
    assert_eq!(response.header("location"), to);
    assert_eq!(response.header("cache-control"), "no-store");
}

fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{what}: {}", response.text());
    assert!(response.headers.get("location").is_none(), "{what}: no redirect");
    assert!(response.header("content-type").starts_with("text/html"), "{what}");
    assert!(response.text().contains("not valid"), "{what}");
}

async fn links_of(app: &TestApp) -> Vec<Value> {
    let response = app.get("/api/links").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    serde_json::from_slice::<Vec<Value>>(&response.body).expect("JSON")
}

async fn total_of(app: &TestApp, id: &str) -> u64 {
    links_of(app)
        .await
        .iter()
        .find(|l| l["link"] == id)
        .map_or(0, |l| l["total"].as_u64().expect("total"))
}

fn token_with(secret: &str, payload: &Payload, encrypt: bool) -> String {
    LinkKeys::new(secret.as_bytes(), &[], encrypt)
        .mint(payload, [3; 24])
        .expect("mint")
        .0
}

fn payload(url: &str, expires: Option<i64>) -> Payload {
    Payload {
        url: url.into(),
        site: "default".into(),
        name: None,
        meta: Default::default(),
        expires,
    }
}

async fn a_minted_link_redirects_and_counts_per_link_and_day(store: Store) {
    for encrypt in ["false", "true"] {
        let app = link_app(store, &[("encrypt_links", encrypt)]).await;
        let body = json!({"url": DEST, "name": "tarball", "meta": {"campaign": "2026-12"}});
        let (link, id) = mint(&app, body.clone()).await;
        let (again, same) = mint(&app, body).await;
        assert_eq!(id, same, "the same link minted twice is one link");
        if encrypt == "true" {
            assert_ne!(link, again, "a fresh nonce each time");
            let raw = URL_SAFE_NO_PAD.decode(&link["/go/".len()..]).expect("base64");
            assert!(
                !String::from_utf8_lossy(&raw).contains("2026-12"),
                "metadata is not readable"
            );
        }
        assert_redirects(&click(&app, &link, "203.0.113.1", &[]).await, DEST);
        // The 302 came after the commit: the click is readable at once.
        let rows = links_of(&app).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0]["name"].as_str(), rows[0]["host"].as_str()),
            (Some("tarball"), Some("example.com"))
        );
        assert_eq!(
            (rows[0]["link"].as_str(), rows[0]["total"].as_u64()),
            (Some(id.as_str()), Some(1))
        );
        assert!(rows[0]["last"].as_str().is_some());
        let days: Vec<Value> = serde_json::from_slice(&app.get(&format!("/api/links/{id}")).await.body).expect("days");
        assert_eq!(days.len(), 1);
        assert_eq!(days[0]["count"], 1);
        let plot = app.get(&format!("/api/links/{id}/plot")).await;
        assert_eq!(plot.status, StatusCode::OK);
        assert!(plot.text().contains("<svg"));
        assert_eq!(
            app.get(&format!("/api/links/{}", "0".repeat(32))).await.status,
            StatusCode::NOT_FOUND
        );
        let dashboard = app.get("/").await.text();
        assert!(dashboard.contains("tarball (example.com)"), "{dashboard}");
        // HEAD answers the same redirect and counts nothing.
        let head = send(app.addr, Method::HEAD, &link, &[("x-forwarded-for", "203.0.113.2")]).await;
        assert_eq!(head.status, StatusCode::FOUND);
        assert_eq!(total_of(&app, &id).await, 1);
        // The link keeps counting across a restart.
        let mut app = app;
        app.restart().await;
        click(&app, &link, "203.0.113.3", &[]).await;
        assert_eq!(total_of(&app, &id).await, 2);
    }
}

async fn every_invalid_token_is_a_400_without_a_redirect(store: Store) {
    let app = link_app(store, &[]).await;
    let (link, _) = mint(&app, json!({"url": DEST})).await;
    let token = &link["/go/".len()..];
    let raw = URL_SAFE_NO_PAD.decode(token).expect("base64");
    for i in [0, 1, raw.len() / 2, raw.len() - 1] {
        let mut flipped = raw.clone();
        flipped[i] ^= 0x20;
        let bad = format!("/go/{}", URL_SAFE_NO_PAD.encode(&flipped));
        assert_refused(
            &click(&app, &bad, "203.0.113.1", &[]).await,
            &format!("byte {i} flipped"),
        );
    }
    let truncated = format!("/go/{}", &token[..token.len() - 3]);
    assert_refused(&click(&app, &truncated, "203.0.113.1", &[]).await, "truncated");
    let other = format!("/go/{}", token_with(OLD, &payload(DEST, None), false));
    assert_refused(&click(&app, &other, "203.0.113.1", &[]).await, "another secret");
    let re_encoded = format!("/go/{}", STANDARD_NO_PAD.encode(&raw).replace('/', "%2F"));
    if re_encoded != link {
        assert_refused(&click(&app, &re_encoded, "203.0.113.1", &[]).await, "re-encoded");
    }
    let padded = format!("/go/{token}%3D");
    assert_refused(&click(&app, &padded, "203.0.113.1", &[]).await, "padded");
    let expired = format!("/go/{}", token_with(SECRET, &payload(DEST, Some(1_000_000_000)), false));
    assert_refused(&click(&app, &expired, "203.0.113.1", &[]).await, "expired");
    // Signed with our secret (by hand: minting refuses it) for a javascript: URL.
    let evil = serde_json::to_vec(&json!({"u": "javascript:alert(1)", "s": "default"})).expect("JSON");
    let key = blake3::derive_key("footfall 2026 link signature", SECRET.as_bytes());
    let mut signed = vec![1u8];
    signed.extend_from_slice(&evil);
    let mac = blake3::Hasher::new_keyed(&key).update(&[1]).update(&evil).finalize();
    signed.extend_from_slice(&mac.as_bytes()[..16]);
    let evil = format!("/go/{}", URL_SAFE_NO_PAD.encode(&signed));
    assert_refused(&click(&app, &evil, "203.0.113.1", &[]).await, "javascript: destination");
    for junk in ["/go/", "/go", "/go/%00", "/go/a/b"] {
        assert_refused(&click(&app, junk, "203.0.113.1", &[]).await, junk);
    }
    // A token for a site this Footfall does not count.
    let mut elsewhere = payload(DEST, None);
    elsewhere.site = "nowhere".into();
    let elsewhere = format!("/go/{}", token_with(SECRET, &elsewhere, false));
    assert_refused(&click(&app, &elsewhere, "203.0.113.1", &[]).await, "unknown site");
    // Minting refuses what would not redirect.
    for bad in [
        json!({"url": "javascript:alert(1)"}),
        json!({"url": DEST, "expires": "2001-01-01T00:00:00Z"}),
    ] {
        let response = app.admin(Method::POST, "/api/admin/links", Some(bad)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
    }
    assert!(links_of(&app).await.is_empty(), "nothing was counted");
}

async fn a_rotated_secret_keeps_old_links_working(store: Store) {
    let old_link = format!("/go/{}", token_with(OLD, &payload(DEST, None), true));
    let previous = format!("['{OLD}']");
    let app = link_app(
        store,
        &[("encrypt_links", "true"), ("previous_link_secrets", &previous)],
    )
    .await;
    assert_redirects(&click(&app, &old_link, "203.0.113.1", &[]).await, DEST);
    let (new_link, id) = mint(&app, json!({"url": DEST})).await;
    assert_redirects(&click(&app, &new_link, "203.0.113.2", &[]).await, DEST);
    assert_eq!(total_of(&app, &id).await, 2, "the old and the new token are one link");
}

async fn clicks_are_counted_like_page_views(store: Store) {
    let app = link_app(store, &[("ignore_addresses", "[198.51.100.0/24]")]).await;
    let (link, id) = mint(&app, json!({"url": DEST})).await;
    let answers = [
        click(&app, &link, "203.0.113.1", &[]).await,
        click(&app, &link, "203.0.113.1", &[]).await,
        click(&app, &link, "203.0.113.2", &[("referer", "https://elsewhere.example/")]).await,
        click(&app, &link, "203.0.113.3", &[("user-agent", CURL)]).await,
        click(&app, &link, "203.0.113.4", &[("sec-purpose", "prefetch")]).await,
        click(&app, &link, "198.51.100.7", &[]).await,
    ];
    // A repeat, a bot, a prefetch and an ignored address get the same answer.
    for answer in &answers {
        assert_redirects(answer, DEST);
        assert_eq!(answer.body, answers[0].body);
    }
    assert_eq!(
        total_of(&app, &id).await,
        2,
        "one per visitor; bots, prefetches, ignored not counted"
    );
    // A page and a link are counted apart for the same visitor.
    assert_eq!(click(&app, "/call/a", "203.0.113.1", &[]).await.status, StatusCode::OK);
    assert_eq!(app.count_of("/a").await, Some(1));
}

async fn distinct_links_per_site_are_bounded(store: Store) {
    let app = link_app(store, &[("max_links", "1")]).await;
    let (first, a) = mint(&app, json!({"url": DEST})).await;
    let (second, b) = mint(&app, json!({"url": "https://example.com/other"})).await;
    click(&app, &first, "203.0.113.1", &[]).await;
    assert_redirects(
        &click(&app, &second, "203.0.113.1", &[]).await,
        "https://example.com/other",
    );
    assert_eq!((total_of(&app, &a).await, total_of(&app, &b).await), (1, 0));
    // The bound holds across a restart: the counted links are loaded.
    let mut app = app;
    app.restart().await;
    click(&app, &second, "203.0.113.2", &[]).await;
    click(&app, &first, "203.0.113.2", &[]).await;
    assert_eq!((total_of(&app, &a).await, total_of(&app, &b).await), (2, 0));
}

async fn a_private_sites_links_are_hidden_without_a_token(store: Store) {
    let app = link_app(store, &[("public", "false")]).await;
    let (link, _) = mint(&app, json!({"url": DEST})).await;
    assert_redirects(&click(&app, &link, "203.0.113.1", &[]).await, DEST);
    assert_eq!(app.get("/api/links").await.status, StatusCode::NOT_FOUND);
    let read = app.get_with_token("/api/links", ADMIN).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.text().contains("example.com"));
}

both_stores!(
    a_minted_link_redirects_and_counts_per_link_and_day,
    every_invalid_token_is_a_400_without_a_redirect,
    a_rotated_secret_keeps_old_links_working,
    clicks_are_counted_like_page_views,
    distinct_links_per_site_are_bounded,
    a_private_sites_links_are_hidden_without_a_token,
);

#[test]
fn footfall_link_prints_a_link_that_opens_and_refuses_without_a_secret() {
    let dir = tempfile::tempdir().expect("dir");
    let secret_file = dir.path().join("link_secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).expect("secret");
    std::fs::write(
        dir.path().join("config.yaml"),
        "public_url: https://count.example.com\n",
    )
    .expect("config");
    let out = crate::lifecycle::footfall(dir.path())
        .env("FOOTFALL_LINK_SECRET_FILE", &secret_file)
        .args([
            "link",
            DEST,
            "--name",
            "tarball",
            "--meta",
            "campaign=2026-12",
            "--expires",
            "30d",
        ])
        .output()
        .expect("run footfall link");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = String::from_utf8(out.stdout).expect("text");
    let token = link
        .trim_end()
        .strip_prefix("https://count.example.com/go/")
        .unwrap_or_else(|| panic!("{link}"));
    let now = std::time::SystemTime::UNIX_EPOCH.elapsed().expect("clock").as_secs() as i64;
    let now = jiff::Timestamp::from_second(now).expect("time");
    let opened = LinkKeys::new(SECRET.as_bytes(), &[], false)
        .open(token, now)
        .expect("it opens");
    assert_eq!(
        (opened.payload.url.as_str(), opened.payload.name.as_deref()),
        (DEST, Some("tarball"))
    );
    let expires = opened.payload.expires.expect("an expiry");
    assert!((expires - now.as_second() - 30 * 86_400).abs() < 60, "30 days from now");
    // Without a secret: exit 2, nothing printed.
    std::fs::write(dir.path().join("config.yaml"), "").expect("config");
    let (code, stderr) = crate::lifecycle::exit_of(crate::lifecycle::footfall(dir.path()).args(["link", DEST]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("link_secret"), "{stderr}");
}
