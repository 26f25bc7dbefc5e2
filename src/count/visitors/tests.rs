//! The dedup set's rules: one count per (visitor, page) per window, keys that
//! change with the window, the bound, and shared windows' keys.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn page(p: &str) -> PagePath {
    PagePath::parse(p).unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn visitors(max: usize) -> Visitors {
    Visitors::new(Zone::utc(), 24, max, ts("2026-01-01T10:00:00Z"))
}

#[test]
fn the_second_visit_in_a_window_is_a_repeat() {
    let v = visitors(1000);
    let now = ts("2026-01-01T10:00:00Z");
    assert!(matches!(v.admit(now, ip("192.0.2.1"), &page("/a")), Admission::New(_)));
    assert_eq!(v.admit(now, ip("192.0.2.1"), &page("/a")), Admission::Repeat);
    assert!(matches!(v.admit(now, ip("192.0.2.1"), &page("/b")), Admission::New(_)));
    assert!(matches!(v.admit(now, ip("192.0.2.2"), &page("/a")), Admission::New(_)));
    assert_eq!(v.len(), 3);
}

#[test]
fn a_new_window_forgets_everyone_and_changes_the_key() {
    let v = visitors(1000);
    let before = v.window.read().unwrap().key;
    v.admit(ts("2026-01-01T23:59:59Z"), ip("192.0.2.1"), &page("/a"));
    let next_day = ts("2026-01-02T00:00:00Z");
    assert!(matches!(
        v.admit(next_day, ip("192.0.2.1"), &page("/a")),
        Admission::New(_)
    ));
    assert_ne!(v.window.read().unwrap().key, before);
    assert_eq!(v.len(), 1);
}

#[test]
fn ipv6_addresses_in_one_64_are_one_visitor() {
    let v = visitors(1000);
    let now = ts("2026-01-01T10:00:00Z");
    assert!(matches!(
        v.admit(now, ip("2001:db8:1:2::1"), &page("/a")),
        Admission::New(_)
    ));
    assert_eq!(v.admit(now, ip("2001:db8:1:2:ffff::9"), &page("/a")), Admission::Repeat);
    assert!(matches!(
        v.admit(now, ip("2001:db8:1:3::1"), &page("/a")),
        Admission::New(_)
    ));
}

#[test]
fn ipv4_mapped_ipv6_is_the_ipv4_visitor() {
    let v = visitors(1000);
    let now = ts("2026-01-01T10:00:00Z");
    v.admit(now, ip("192.0.2.7"), &page("/a"));
    assert_eq!(v.admit(now, ip("::ffff:192.0.2.7"), &page("/a")), Admission::Repeat);
}

#[test]
fn forgetting_lets_the_retry_count() {
    let v = visitors(1000);
    let now = ts("2026-01-01T10:00:00Z");
    let Admission::New(key) = v.admit(now, ip("192.0.2.1"), &page("/a")) else {
        panic!("first visit must be new");
    };
    v.forget(key);
    assert!(matches!(v.admit(now, ip("192.0.2.1"), &page("/a")), Admission::New(_)));
}

#[test]
fn at_the_cap_new_pairs_are_not_counted_and_known_ones_stay_repeats() {
    let v = visitors(SHARDS); // one pair per shard
    let now = ts("2026-01-01T10:00:00Z");
    let mut outcomes = Vec::new();
    for i in 0..2000u32 {
        let client = IpAddr::from(i.to_be_bytes());
        outcomes.push((client, v.admit(now, client, &page("/a"))));
    }
    assert_eq!(v.len(), SHARDS);
    assert!(outcomes.iter().any(|(_, a)| *a == Admission::Full));
    for (client, admission) in outcomes {
        if matches!(admission, Admission::New(_)) {
            assert_eq!(v.admit(now, client, &page("/a")), Admission::Repeat);
        }
    }
}

#[test]
fn shared_windows_need_a_key_from_outside_and_never_draw_one() {
    let v = Visitors::shared(Zone::utc(), 24, 1000);
    let now = ts("2026-01-01T10:00:00Z");
    assert_eq!(v.admit(now, ip("192.0.2.1"), &page("/a")), Admission::Unkeyed);
    let (start, end) = v.window_of(now);
    v.install(start, end, [7; 32], 42);
    let Admission::New(key) = v.admit(now, ip("192.0.2.1"), &page("/a")) else {
        panic!("first visit must be new");
    };
    let digest = key.shared_digest().unwrap();
    assert_eq!(digest.window, 42);
    assert_eq!(digest.value, visitor_hash(&[7; 32], ip("192.0.2.1"), b"/a") as i64);
    assert_eq!(v.admit(now, ip("192.0.2.1"), &page("/a")), Admission::Repeat);
    // A second install of the same window (another request got there
    // too) keeps the set; the next window needs its own key.
    v.install(start, end, [7; 32], 42);
    assert_eq!(v.admit(now, ip("192.0.2.1"), &page("/a")), Admission::Repeat);
    let tomorrow = ts("2026-01-02T00:00:00Z");
    assert_eq!(v.admit(tomorrow, ip("192.0.2.1"), &page("/a")), Admission::Unkeyed);
    let (start, end) = v.window_of(tomorrow);
    v.install(start, end, [8; 32], 43);
    assert_eq!(v.len(), 0);
    // A request that read the clock before the new window was installed.
    assert_eq!(v.admit(now, ip("192.0.2.9"), &page("/a")), Admission::Unkeyed);
    assert!(matches!(
        v.admit(tomorrow, ip("192.0.2.1"), &page("/a")),
        Admission::New(_)
    ));
}

#[test]
fn local_keys_have_no_shared_digest() {
    let v = visitors(1000);
    let Admission::New(key) = v.admit(ts("2026-01-01T10:00:00Z"), ip("192.0.2.1"), &page("/a")) else {
        panic!("first visit must be new");
    };
    assert_eq!(key.shared_digest(), None);
}

#[test]
fn the_hash_depends_on_key_client_and_path() {
    let k1 = [1u8; 32];
    let k2 = [2u8; 32];
    let h = visitor_hash(&k1, ip("192.0.2.1"), b"/a");
    assert_ne!(h, visitor_hash(&k2, ip("192.0.2.1"), b"/a"));
    assert_ne!(h, visitor_hash(&k1, ip("192.0.2.2"), b"/a"));
    assert_ne!(h, visitor_hash(&k1, ip("192.0.2.1"), b"/b"));
}
