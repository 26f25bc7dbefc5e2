//! Typos that used to fail silently now stop with exit 2 and one line.

use crate::lifecycle::{exit_of, footfall};

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
