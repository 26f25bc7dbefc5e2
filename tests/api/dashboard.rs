//! The site overview on both stores: the site-wide history API, the
//! dashboard's period figures and comparison, and its page list searched,
//! sorted and paged.

use hyper::StatusCode;
use serde_json::{json, Value};

use hyper::Method;

use crate::helpers::{both_stores, Store, TestApp};
use crate::requests::ADMIN_KEY;

/// December 2024 has 4 calls, the first week of January 2025 has 6, over
/// three pages; /c is only called in December.
const CALLS: &[(&str, &str)] = &[
    ("/c", "2024-12-26T10:00:00Z"),
    ("/c", "2024-12-27T10:00:00Z"),
    ("/c", "2024-12-31T10:00:00Z"),
    ("/a", "2024-12-31T11:00:00Z"),
    ("/a", "2025-01-01T10:00:00Z"),
    ("/a", "2025-01-01T11:00:00Z"),
    ("/a", "2025-01-03T09:00:00Z"),
    ("/b", "2025-01-03T10:00:00Z"),
    ("/b", "2025-01-05T10:00:00Z"),
    ("/a", "2025-01-07T23:00:00Z"),
];

async fn get_json(app: &TestApp, url: &str) -> Value {
    let response = app.get(url).await;
    assert_eq!(response.status, StatusCode::OK, "{url}: {}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

async fn the_site_history_sums_every_page_per_bucket(store: Store) {
    let mut app = TestApp::spawn(store).await;
    app.seed(CALLS).await;
    assert_eq!(
        get_json(&app, "/api/history?bucket=day&from=2024-12-31&to=2025-01-03").await,
        json!([
            {"start": "2024-12-31T00:00:00+00:00", "count": 2},
            {"start": "2025-01-01T00:00:00+00:00", "count": 2},
            {"start": "2025-01-02T00:00:00+00:00", "count": 0},
            {"start": "2025-01-03T00:00:00+00:00", "count": 2},
        ])
    );
    // Day is the default bucket; without a start, the first day with calls.
    let days = get_json(&app, "/api/history?to=2024-12-27").await;
    assert_eq!(
        days,
        json!([
            {"start": "2024-12-26T00:00:00+00:00", "count": 1},
            {"start": "2024-12-27T00:00:00+00:00", "count": 1},
        ])
    );
    assert_eq!(
        get_json(&app, "/api/history?bucket=month&from=2024-12-01&to=2025-01-31").await,
        json!([
            {"start": "2024-12-01T00:00:00+00:00", "count": 4},
            {"start": "2025-01-01T00:00:00+00:00", "count": 6},
        ])
    );
    let hour = app.get("/api/history?bucket=hour").await;
    assert_eq!(hour.status, StatusCode::BAD_REQUEST);
    // `/api/history/` is still the page `/`, which was never called.
    assert_eq!(app.get("/api/history/").await.status, StatusCode::NOT_FOUND);
}

async fn the_dashboard_compares_a_period_with_the_one_before(store: Store) {
    let mut app = TestApp::spawn(store).await;
    app.seed(CALLS).await;
    let page = app.get("/?from=2025-01-01&to=2025-01-07").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    for expected in [
        // 6 calls against the 4 of 2024-12-25 … 2024-12-31.
        "<dt>Calls in period</dt><dd>6<small>2025-01-01 – 2025-01-07</small>",
        "<dt>Change</dt><dd>+50%<small>vs 4 in the 7 days before</small>",
        "<dt>Daily average</dt><dd>0.9<small>over 7 days</small>",
        "<dt>Pages called</dt><dd>2<small>of 3 pages</small>",
        // The top pages of the period, /c not among them.
        "<h2>Top pages</h2><ol class=\"ranked\"><li style=\"--share:100%\"><a href=\"/plot/a\">/a</a><span>4</span></li>\
         <li style=\"--share:50%\"><a href=\"/plot/b\">/b</a><span>2</span></li></ol>",
        "<span aria-current=\"page\">2025-01-01 – 2025-01-07</span>",
        // The site chart, a bar per day with its title.
        "<title>2025-01-03: 2 calls</title>",
    ] {
        assert!(html.contains(expected), "missing {expected} in {html}");
    }
    let all = app.get("/?period=all").await.text();
    assert!(
        all.contains("<dt>Calls in period</dt><dd>10<small>2024-12-26 – "),
        "{all}"
    );
    assert!(all.contains("<dt>Change</dt><dd>–<small>no earlier period</small>"));
    assert!(all.contains("<a href=\"/?period=all\" aria-current=\"page\">All</a>"));
    assert!(app
        .get("/?days=30")
        .await
        .text()
        .contains("<a href=\"/?days=30\" aria-current=\"page\">30 days</a>"));
    for bad in ["/?days=0", "/?page=0", "/?sort=size", "/?period=all&days=7"] {
        assert_eq!(app.get(bad).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let long = format!("/?q={}", "x".repeat(201));
    assert_eq!(app.get(&long).await.status, StatusCode::BAD_REQUEST);
}

/// The paths in the dashboard's page table, in order.
fn listed(html: &str) -> Vec<String> {
    let table = &html[html.find("<tbody>").expect("a table")..];
    table
        .split("<tr><td><a href=\"")
        .skip(1)
        .filter_map(|row| {
            let start = row.find('>')? + 1;
            let end = row.find("</a>")?;
            Some(row[start..end].to_owned())
        })
        .collect()
}

async fn the_page_list_is_searched_sorted_and_paged(store: Store) {
    let mut app = TestApp::spawn(store).await;
    // 120 pages: /p/000 … /p/119, page i called (i % 7) + 1 times on
    // 2025-01-0(1 + i % 3); /p/i is called last at 10:00 + i minutes.
    let mut times = Vec::new();
    for i in 0..120 {
        for n in 0..(i % 7) + 1 {
            times.push((
                format!("/p/{i:03}"),
                format!("2025-01-0{}T{:02}:{:02}:{:02}Z", 1 + i % 3, 10 + i / 60, i % 60, n),
            ));
        }
    }
    let calls: Vec<(&str, &str)> = times.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    app.seed(&calls).await;
    let range = "from=2025-01-01&to=2025-01-01";

    let first = app.get(&format!("/?{range}&sort=name")).await.text();
    let names = listed(&first);
    assert_eq!(names.len(), 50);
    assert_eq!((names[0].as_str(), names[49].as_str()), ("/p/000", "/p/049"));
    assert!(first.contains("<span>1–50 of 120 pages</span>"), "{first}");
    assert!(first.contains("href=\"/?from=2025-01-01&amp;to=2025-01-01&amp;sort=name&amp;page=2\" rel=\"next\""));
    let third = app.get(&format!("/?{range}&sort=name&page=3")).await.text();
    assert_eq!(listed(&third).len(), 20);
    assert!(third.contains("<span>101–120 of 120 pages</span>"));
    assert!(!third.contains("rel=\"next\""));

    // In the period (2025-01-01) only every third page was called; the
    // most-called of them first, ties by path.
    let period = listed(&app.get(&format!("/?{range}")).await.text());
    assert_eq!(&period[..3], ["/p/006", "/p/027", "/p/048"]);
    let total = listed(&app.get(&format!("/?{range}&sort=total")).await.text());
    assert_eq!(&total[..2], ["/p/006", "/p/013"]);
    let last = listed(&app.get(&format!("/?{range}&sort=last")).await.text());
    // The last calls are on 2025-01-03, pages i % 3 == 2, latest minute first.
    assert_eq!(&last[..2], ["/p/119", "/p/116"]);

    // Search: a substring of the path, kept by the sort and paging links.
    let found = app.get(&format!("/?{range}&sort=name&q=%2Fp%2F11")).await.text();
    assert_eq!(
        listed(&found),
        ["/p/110", "/p/111", "/p/112", "/p/113", "/p/114", "/p/115", "/p/116", "/p/117", "/p/118", "/p/119"]
    );
    assert!(found.contains("value=\"/p/11\""));
    assert!(found.contains("<th aria-sort=\"ascending\"><a href=\"/?from=2025-01-01&amp;to=2025-01-01&amp;q=%2Fp%2F11&amp;sort=name\">Page</a></th>"), "{found}");
    let none = app.get("/?q=%3Cnothing%3E").await.text();
    assert!(none.contains("No page matches.") && none.contains("value=\"&lt;nothing&gt;\""));
}

/// The site's days in the seed's range, as counts.
async fn site_days(app: &TestApp) -> Vec<u64> {
    let days = get_json(app, "/api/history?from=2024-12-26&to=2025-01-07").await;
    days.as_array()
        .expect("an array")
        .iter()
        .map(|d| d["count"].as_u64().expect("a count"))
        .collect()
}

async fn the_site_history_follows_merges_removals_and_new_calls(store: Store) {
    let mut app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    app.seed(CALLS).await;
    // From 2024-12-26: /c on the 26th, 27th and 31st, /a on the 31st, then January.
    assert_eq!(site_days(&app).await, [1, 1, 0, 0, 0, 2, 2, 0, 2, 0, 1, 0, 1]);
    // A merge moves calls between pages of the site: its days stay.
    let merged = app.rename_page("/b", "/a").await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text());
    assert_eq!(site_days(&app).await, [1, 1, 0, 0, 0, 2, 2, 0, 2, 0, 1, 0, 1]);
    // Removing a page takes its days away.
    let removed = app.admin(Method::DELETE, "/api/admin/pages/c", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    assert_eq!(site_days(&app).await, [0, 0, 0, 0, 0, 1, 2, 0, 2, 0, 1, 0, 1]);
    // A counted call adds to today.
    assert_eq!(app.get_as("/call/a", "203.0.113.9").await.status, StatusCode::OK);
    let today = get_json(&app, "/api/history?days=1").await;
    assert_eq!(today[0]["count"], 1, "{today}");
}

/// The past days' per-page sums are kept between requests: an owner's
/// change in the same process must show at once.
async fn the_page_list_follows_a_merge_and_a_removal_at_once(store: Store) {
    let mut app = TestApp::spawn_with(store, &[ADMIN_KEY]).await;
    app.seed(CALLS).await;
    let top = |html: &str| {
        html[html.find("<h2>Top pages</h2>").expect("top pages")..]
            .split("</ol>")
            .next()
            .unwrap_or("")
            .to_owned()
    };
    let week = "/?from=2025-01-01&to=2025-01-07";
    let first = app.get(week).await.text();
    assert!(
        top(&first).contains("/a</a><span>4</span>") && top(&first).contains("/b</a><span>2</span>"),
        "{first}"
    );
    // Twice: the second answer comes from the kept sums, and is the same.
    assert_eq!(top(&app.get(week).await.text()), top(&first));
    let merged = app.rename_page("/b", "/a").await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text());
    let after = app.get(week).await.text();
    assert!(
        top(&after).contains("/a</a><span>6</span>") && !top(&after).contains("/b</a>"),
        "{after}"
    );
    let removed = app.admin(Method::DELETE, "/api/admin/pages/a", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    let gone = app.get(week).await.text();
    assert!(
        gone.contains("<dt>Pages called</dt><dd>0<small>of 1 pages</small>"),
        "{gone}"
    );
}

both_stores!(
    the_page_list_follows_a_merge_and_a_removal_at_once,
    the_site_history_follows_merges_removals_and_new_calls,
    the_site_history_sums_every_page_per_bucket,
    the_dashboard_compares_a_period_with_the_one_before,
    the_page_list_is_searched_sorted_and_paged
);
