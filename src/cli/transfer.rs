//! `footfall export` and `footfall import`: the same formats as the admin
//! API, from the command line, for backups, moving between stores and
//! bringing counts over from GoatCounter.
//!
//! An export goes to stdout in chunks (memory flat for any number of
//! calls); an import reads a file (or stdin, `-`) and adds it in one
//! transaction, or changes nothing and names the line. Exit codes: 0 done,
//! 2 bad arguments, 1 anything else (a refused file included).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use tokio::sync::mpsc;

use super::maintenance::existing_store;
use super::{init_logging, runtime, CliExit, Command};
use crate::config::{check_slug, Config};
use crate::owner::export::{export as run_export, Format};
use crate::owner::import::{import as run_import, Outcome, Source, Target};
use crate::store::{ExportFilter, Imported};
use crate::telemetry::chain;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportArgs {
    pub site: Option<String>,
    pub format: Format,
    pub calls: bool,
}

impl Default for ExportArgs {
    fn default() -> Self {
        Self {
            site: None,
            format: Format::Json,
            calls: false,
        }
    }
}

/// Where an import's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum From {
    /// A Footfall export, or a plain `path,day,count` CSV.
    #[default]
    Footfall,
    GoatCounter,
    /// The OxiTraffic 0.1 tables in the configured PostgreSQL database.
    OxiTraffic,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportArgs {
    /// `-` for stdin.
    pub file: Option<PathBuf>,
    pub from: From,
    pub site: Option<String>,
}

/// Takes `arg` (and the value after it) as an argument of the export or
/// import command being parsed; `None` when it is not one of theirs.
pub fn argument(
    command: &mut Option<Command>,
    arg: &OsString,
    rest: &mut impl Iterator<Item = OsString>,
) -> Option<Result<(), CliExit>> {
    let usage = |m: &str| Some(Err(CliExit::Usage(m.to_owned())));
    let mut value = |flag: &str| {
        rest.next()
            .and_then(|v| v.into_string().ok())
            .ok_or_else(|| CliExit::Usage(format!("{flag} needs a value")))
    };
    let text = arg.to_str();
    match (command, text) {
        (Some(Command::Export(args)), Some("--site")) => Some(value("--site").map(|s| args.site = Some(s))),
        (Some(Command::Export(args)), Some("--calls")) => {
            args.calls = true;
            Some(Ok(()))
        }
        (Some(Command::Export(args)), Some("--format")) => Some(value("--format").and_then(|f| {
            args.format = Format::parse(&f).ok_or_else(|| CliExit::Usage(format!("--format {f}: json or csv")))?;
            Ok(())
        })),
        (Some(Command::Import(args)), Some("--site")) => Some(value("--site").map(|s| args.site = Some(s))),
        (Some(Command::Import(args)), Some("--from")) => Some(value("--from").and_then(|f| {
            args.from = match f.as_str() {
                "goatcounter" => From::GoatCounter,
                "footfall" => From::Footfall,
                "oxitraffic" => From::OxiTraffic,
                _ => {
                    return Err(CliExit::Usage(format!(
                        "--from {f}: footfall, goatcounter or oxitraffic"
                    )))
                }
            };
            Ok(())
        })),
        (Some(Command::Import(args)), _) if args.file.is_none() && !text.is_some_and(|t| t.starts_with("--")) => {
            args.file = Some(PathBuf::from(arg));
            Some(Ok(()))
        }
        (Some(Command::Import(_) | Command::Export(_)), Some(flag))
            if flag.starts_with("--") && flag != "--data-dir" =>
        {
            usage(&format!("unexpected argument {flag}"))
        }
        _ => None,
    }
}

/// Writes the export to stdout.
pub fn export(config: &Config, args: &ExportArgs) -> ExitCode {
    init_logging(config);
    if let Some(Err(message)) = args.site.as_deref().map(check_slug) {
        eprintln!("footfall: export --site: {message}");
        return ExitCode::from(2);
    }
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let store = match existing_store(config).await {
            Ok(store) => store,
            Err((code, error)) => {
                eprintln!("footfall: export: {error}");
                return code;
            }
        };
        let filter = ExportFilter {
            site: args.site.clone(),
            calls: args.calls,
        };
        let (chunks_tx, mut chunks) = mpsc::channel(4);
        let exporting = tokio::spawn({
            let format = args.format;
            async move { run_export(&*store, filter, format, chunks_tx).await }
        });
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = chunks.recv().await {
            if let Err(error) = out.write_all(&chunk) {
                eprintln!("footfall: export: cannot write: {error}");
                return ExitCode::FAILURE;
            }
        }
        let flushed = out.flush();
        match (exporting.await, flushed) {
            (Ok(Ok(())), Ok(())) => ExitCode::SUCCESS,
            (Ok(Err(error)), _) => {
                eprintln!(
                    "footfall: export failed midway, the output is incomplete: {}",
                    chain(&error)
                );
                ExitCode::FAILURE
            }
            (Err(error), _) => {
                eprintln!("footfall: export failed: {error}");
                ExitCode::FAILURE
            }
            (_, Err(error)) => {
                eprintln!("footfall: export: cannot write: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Adds a file (or OxiTraffic's tables) to the store, all or nothing.
pub fn import(config: &Config, args: &ImportArgs) -> ExitCode {
    init_logging(config);
    let slug = args.site.clone().unwrap_or_else(|| config.default_site().slug.clone());
    let Some(site) = config.sites.iter().find(|s| s.slug == slug) else {
        eprintln!("footfall: import --site {slug}: no such site in the config");
        return ExitCode::from(2);
    };
    let target = Target {
        slug: site.slug.clone(),
        zone: site.zone.clone(),
        only: args.site.is_some(),
    };
    if args.from == From::OxiTraffic {
        if let Some(file) = &args.file {
            eprintln!(
                "footfall: import --from oxitraffic reads the configured database, not {}",
                file.display()
            );
            return ExitCode::from(2);
        }
        return super::oxitraffic::import(config, target);
    }
    let Some(file) = &args.file else {
        eprintln!(
            "footfall: usage: footfall import [--from footfall|goatcounter] [--site S] FILE (or - for stdin), \
             or footfall import --from oxitraffic [--site S]"
        );
        return ExitCode::from(2);
    };
    let input: Box<dyn BufRead + Send> = if file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(error) => {
                eprintln!("footfall: import: cannot open {}: {error}", file.display());
                return ExitCode::from(2);
            }
        }
    };
    let source = match args.from {
        From::GoatCounter => Source::GoatCounter,
        From::Footfall | From::OxiTraffic => Source::Footfall,
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let store = match existing_or_new_store(config).await {
            Ok(store) => store,
            Err((code, error)) => {
                eprintln!("footfall: import: {error}");
                return code;
            }
        };
        match run_import(store, input, source, target).await {
            Ok(outcome) => report(&outcome, &file.display().to_string()),
            Err(error) => {
                eprintln!("footfall: import failed, nothing was changed: {}", chain(&error));
                ExitCode::FAILURE
            }
        }
    })
}

/// Prints what an import did; exit 0 when it was committed.
pub(super) fn report(outcome: &Outcome, what: &str) -> ExitCode {
    match &outcome.imported {
        Imported::Done(_) => {
            let skipped = match outcome.skipped {
                0 => String::new(),
                n => format!(" ({n} rows skipped: events, bots, repeat views or paths that are not pages)"),
            };
            println!("{}{skipped}", outcome.imported);
            ExitCode::SUCCESS
        }
        Imported::Refused(_) => {
            eprintln!("footfall: import {what}: {}", outcome.imported);
            ExitCode::FAILURE
        }
    }
}

/// An import may start a new store (moving to another backend); the
/// SQLite file is made in the data directory, which must exist.
pub(super) async fn existing_or_new_store(
    config: &Config,
) -> Result<std::sync::Arc<dyn crate::store::Store>, (ExitCode, String)> {
    let store = crate::app::open_store(config).map_err(|e| (ExitCode::FAILURE, chain(&e)))?;
    store.migrate().await.map_err(|e| (ExitCode::FAILURE, chain(&e)))?;
    Ok(store)
}
