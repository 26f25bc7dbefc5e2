//! The numbered schema migrations of both backends (embedded from
//! `sql/<backend>/`) and the one rule for which of them a database still
//! needs. Each backend applies the plan in its own transaction; nothing here
//! touches a database.

use super::StoreError;

/// A numbered migration from `sql/<backend>/`.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../sql/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../sql/postgres/0002_daily_counts_by_day.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../../sql/postgres/0003_recorded_batches.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../../sql/postgres/0004_sites.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../../sql/postgres/0005_daily_tallies.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../../sql/postgres/0006_page_management.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("../../sql/postgres/0007_retention.sql"),
    },
    Migration {
        version: 8,
        sql: include_str!("../../sql/postgres/0008_shared_dedup.sql"),
    },
    Migration {
        version: 9,
        sql: include_str!("../../sql/postgres/0009_call_times.sql"),
    },
    Migration {
        version: 10,
        sql: include_str!("../../sql/postgres/0010_links.sql"),
    },
    Migration {
        version: 11,
        sql: include_str!("../../sql/postgres/0011_events.sql"),
    },
    Migration {
        version: 12,
        sql: include_str!("../../sql/postgres/0012_dimensions.sql"),
    },
    Migration {
        version: 13,
        sql: include_str!("../../sql/postgres/0013_site_days.sql"),
    },
    Migration {
        version: 14,
        sql: include_str!("../../sql/postgres/0014_site_dimensions.sql"),
    },
    Migration {
        version: 15,
        sql: include_str!("../../sql/postgres/0015_open_days.sql"),
    },
    Migration {
        version: 16,
        sql: include_str!("../../sql/postgres/0016_open_runs.sql"),
    },
];

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../sql/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../sql/sqlite/0002_recorded_batches.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../../sql/sqlite/0003_sites.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../../sql/sqlite/0004_daily_tallies.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../../sql/sqlite/0005_page_management.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../../sql/sqlite/0006_retention.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("../../sql/sqlite/0007_call_times.sql"),
    },
    Migration {
        version: 8,
        sql: include_str!("../../sql/sqlite/0008_links.sql"),
    },
    Migration {
        version: 9,
        sql: include_str!("../../sql/sqlite/0009_events.sql"),
    },
    Migration {
        version: 10,
        sql: include_str!("../../sql/sqlite/0010_dimensions.sql"),
    },
    Migration {
        version: 11,
        sql: include_str!("../../sql/sqlite/0011_site_days.sql"),
    },
    Migration {
        version: 12,
        sql: include_str!("../../sql/sqlite/0012_site_dimensions.sql"),
    },
    Migration {
        version: 13,
        sql: include_str!("../../sql/sqlite/0013_call_times_in_write_order.sql"),
    },
    Migration {
        version: 14,
        sql: include_str!("../../sql/sqlite/0014_day_counts.sql"),
    },
    Migration {
        version: 15,
        sql: include_str!("../../sql/sqlite/0015_call_rows.sql"),
    },
];

/// The migrations still to apply to a database whose newest applied
/// migration is `newest_applied` (0 for a new database), oldest first.
///
/// # Errors
/// [`StoreError::SchemaTooNew`] when the database was migrated by a newer
/// footfall: this one must not write to a schema it does not know.
pub fn plan(newest_applied: i64, known: &[Migration]) -> Result<&[Migration], StoreError> {
    let newest_known = known.last().map_or(0, |m| m.version);
    if newest_applied > newest_known {
        return Err(StoreError::SchemaTooNew {
            found: newest_applied,
            known: newest_known,
        });
    }
    let applied = known.partition_point(|m| m.version <= newest_applied);
    Ok(&known[applied..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(migrations: &[Migration]) -> Vec<i64> {
        migrations.iter().map(|m| m.version).collect()
    }

    #[test]
    fn a_new_database_gets_every_migration_and_a_current_one_none() {
        for known in [POSTGRES, SQLITE] {
            let newest = known.len() as i64;
            assert_eq!(versions(plan(0, known).unwrap()), (1..=newest).collect::<Vec<_>>());
            assert_eq!(versions(plan(1, known).unwrap()), (2..=newest).collect::<Vec<_>>());
            assert!(plan(newest, known).unwrap().is_empty());
        }
    }

    #[test]
    fn a_schema_newer_than_known_is_refused() {
        let newest = SQLITE.len() as i64;
        assert!(matches!(
            plan(newest + 1, SQLITE),
            Err(StoreError::SchemaTooNew { found, known }) if found == newest + 1 && known == newest
        ));
    }

    /// Every file in `sql/<backend>/` is embedded, in order, numbered from 1
    /// without gaps, so a new file cannot be forgotten here.
    #[test]
    fn each_backend_embeds_every_numbered_file_in_order() {
        for (dir, migrations) in [("postgres", POSTGRES), ("sqlite", SQLITE)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql").join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let numbers: Vec<i64> = files.iter().map(|f| f[..4].parse().unwrap()).collect();
            assert_eq!(
                numbers,
                (1..=files.len() as i64).collect::<Vec<_>>(),
                "{dir}: {files:?}"
            );
            assert_eq!(versions(migrations), numbers, "{dir}");
            for (file, migration) in files.iter().zip(migrations.iter()) {
                assert_eq!(
                    std::fs::read_to_string(path.join(file)).unwrap(),
                    migration.sql,
                    "{file}"
                );
            }
        }
    }
}
