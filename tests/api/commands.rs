//! Typos that used to fail silently now stop with exit 2 and one line.

use crate::lifecycle::{exit_of, footfall};
use crate::ports::free_port;

#[test]
fn a_data_dir_that_does_not_exist_exits_2_instead_of_starting_an_empty_store() {
    let parent = tempfile::tempdir().expect("dir");
    let typo = parent.path().join("dtaa");
    let (code, stderr) = exit_of(&mut footfall(&typo));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("dtaa") && stderr.contains("no such directory"),
        "{stderr}"
    );
    assert!(!typo.exists(), "nothing was created");
}

#[test]
fn rebuild_daily_without_a_store_exits_2() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, stderr) = exit_of(footfall(dir.path()).arg("rebuild-daily"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no store at"), "{stderr}");
    assert!(!dir.path().join("footfall.sqlite3").exists(), "no empty store was made");
}

#[test]
fn an_unknown_log_level_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("config.yaml"), "log_level: verbose\n").expect("config");
    let (code, stderr) = exit_of(&mut footfall(dir.path()));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("log_level") && stderr.contains("verbose"), "{stderr}");
}

#[test]
fn each_sites_config_error_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    for (yaml, key) in [
        (
            "tracked_base_url: https://a.example\nsites: {blog: {}}\n",
            "tracked_base_url",
        ),
        ("sites: {blog: {}, docs: {}}\ndefault_site: shop\n", "default_site"),
        ("sites: {Blog: {}}\n", "sites.Blog"),
    ] {
        std::fs::write(dir.path().join("config.yaml"), yaml).expect("config");
        let (code, stderr) = exit_of(&mut footfall(dir.path()));
        assert_eq!(code, Some(2), "{yaml}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(key) && stderr.contains("config.yaml"), "{stderr}");
    }
}

#[test]
fn check_reports_the_store_and_the_settings_and_exits_0_when_all_is_well() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("config.yaml"), "timezone: Europe/Berlin\n").expect("config");
    let out = footfall(dir.path()).arg("check").output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("zone Europe/Berlin")
            && stdout.contains("dedup:            local")
            && stdout.contains("all checks passed"),
        "{stdout}"
    );
    assert!(!dir.path().join("footfall.sqlite3").exists(), "check changes nothing");
}

#[test]
fn check_names_an_unreachable_site_and_exits_1() {
    let dir = tempfile::tempdir().expect("dir");
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("tracked_base_url: http://{closed}\n"),
    )
    .expect("config");
    let out = footfall(dir.path()).arg("check").output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("is unreachable") && stdout.contains("1 problem"),
        "{stdout}"
    );
}
