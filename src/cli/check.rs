//! `footfall check`: what an operator runs after editing the config. The
//! config is already validated when this runs (a bad one exits 2 first);
//! this connects to the store without changing it, requests each tracked
//! site's root, and prints the effective settings — never a secret.

use std::process::ExitCode;
use std::time::Instant;

use super::runtime;
use crate::config::{Config, Dedup, StoreConfig};
use crate::count::probe::Prober;
use crate::telemetry::chain;

/// Prints one line per check; exit 0 when all pass, 1 otherwise.
pub fn check(config: &Config) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let mut problems = Vec::new();
    print_settings(config);
    runtime.block_on(async {
        check_store(config, &mut problems).await;
        for site in &config.sites {
            check_site(site, &mut problems).await;
        }
    });
    if problems.is_empty() {
        println!("all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("{} problem(s):", problems.len());
        for problem in &problems {
            println!("  - {problem}");
        }
        ExitCode::FAILURE
    }
}

fn print_settings(config: &Config) {
    let file = config.config_file.as_ref().map_or_else(
        || "none (defaults and environment)".to_owned(),
        |f| f.display().to_string(),
    );
    println!("config file:      {file}");
    println!("listen on:        {}", config.socket_address);
    match &config.store {
        StoreConfig::Sqlite { file } => println!("store:            sqlite {}", file.display()),
        // The password is never printed.
        StoreConfig::Postgres(db) => println!(
            "store:            postgresql {}@{}:{}/{} (password {})",
            db.username,
            db.host,
            db.port,
            db.database,
            if db.password.expose().is_empty() {
                "not set"
            } else {
                "set"
            }
        ),
    }
    println!("trusted proxies:  {}", config.trusted_proxies);
    println!(
        "dedup window:     {} h, at most {} visitors per site",
        config.dedup_window_hours, config.max_visitors
    );
    // Whether a secret is set, never the secret.
    let dedup = match config.dedup {
        Dedup::Local => "local (this process's own visitor set)",
        Dedup::Shared { .. } => "shared through PostgreSQL (dedup_secret set)",
    };
    println!("dedup:            {dedup}");
    match config.metrics_address {
        Some(address) => println!("metrics:          /metrics on {address} only"),
        None => println!("metrics:          /metrics on the main listener"),
    }
    println!(
        "connections:      at most {}, request head within {:?}",
        config.connections.max_connections, config.connections.header_read_timeout
    );
    println!("log level:        {}", config.log_level);
    // Whether a token is set, never the token.
    let admin = if config.admin_token.is_some() {
        "on (admin_token set)"
    } else {
        "off"
    };
    println!("admin API:        {admin}");
    match config.retention.calls_days {
        Some(days) => println!("retention:        raw calls kept {days} days; per-day counts forever"),
        None => println!("retention:        raw calls kept forever"),
    }
    for site in &config.sites {
        let default = if std::ptr::eq(site, config.default_site()) {
            " (default)"
        } else {
            ""
        };
        let access = if site.access.public { "public" } else { "private" };
        println!(
            "site {}{default}: {access}, tracked {}, zone {}, max_paths {}, probes {}/s burst {}",
            site.slug,
            site.tracked_base_url.as_ref().map_or("(none)", |u| u.as_str()),
            site.zone.describe(),
            site.max_paths,
            site.probe.rate_per_second,
            site.probe.burst
        );
    }
}

async fn check_store(config: &Config, problems: &mut Vec<String>) {
    if let StoreConfig::Sqlite { file } = &config.store {
        if !file.exists() {
            println!("store:            no database file yet; `footfall serve` creates it");
            return;
        }
    }
    let store = match crate::app::open_store(config) {
        Ok(store) => store,
        Err(error) => return problems.push(format!("store: {}", chain(&error))),
    };
    let started = Instant::now();
    match store.schema_version().await {
        Ok(applied) => {
            let known = store.known_schema_version();
            println!(
                "store:            reachable in {} ms, schema version {applied} of {known}",
                started.elapsed().as_millis()
            );
            if applied > known {
                problems.push(format!(
                    "store: the schema is at version {applied}, newer than this footfall knows ({known}); upgrade footfall"
                ));
            } else if applied < known {
                println!(
                    "                  {} migration(s) pending; `footfall serve` applies them",
                    known - applied
                );
            }
        }
        Err(error) => problems.push(format!("store: {}", chain(&error))),
    }
}

async fn check_site(site: &crate::config::SiteConfig, problems: &mut Vec<String>) {
    let Some(base) = &site.tracked_base_url else {
        return;
    };
    let prober = match Prober::new(base.clone(), site.probe) {
        Ok(prober) => prober,
        Err(error) => return problems.push(format!("site {}: {}", site.slug, chain(&error))),
    };
    let check = prober.check_root().await;
    let millis = check.elapsed.as_millis();
    match &check.outcome {
        Ok((status, redirected, refused)) => {
            let via = redirected.as_ref().map(|to| format!(" via {to}")).unwrap_or_default();
            println!(
                "site {}:        {base} answered {status}{via} in {millis} ms",
                site.slug
            );
            if let Some(target) = refused {
                problems.push(format!(
                    "site {}: {base} redirects to {}; set tracked_base_url to that origin",
                    site.slug,
                    target.origin().ascii_serialization()
                ));
            } else if *status != reqwest::StatusCode::OK {
                problems.push(format!("site {}: {base} answered {status}, not 200", site.slug));
            }
        }
        Err(cause) => problems.push(format!("site {}: {base} is unreachable: {cause}", site.slug)),
    }
}
