//! The command line: arguments, logging setup, signals, exit codes, and the
//! `healthcheck` command (the slim container image has no curl).
//!
//! `link` mints a signed link (`link`).
//!
//! Exit codes: 0 after a clean shutdown, 2 for a bad command line or config
//! (one line on stderr naming the key and file), 1 for anything else at start.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::Config;

mod backup;
mod check;
mod link;
mod maintenance;
mod oxitraffic;
mod transfer;

const HELP: &str = "\
footfall — a privacy-preserving per-page hit counter

USAGE:
    footfall [--data-dir DIR] [COMMAND]

COMMANDS:
    serve          run the server (the default)
    healthcheck    request /healthz on the configured address; exit 0 if it answers 200, else 1
    check          validate the config, connect to the store and check each tracked
                   site's root; exit 0 when all is well, 1 with the causes otherwise
    rebuild-daily  recompute every site's per-day counts from the raw calls in its
                   time zone (after changing `timezone` or `utc_offset`)
    sites rename FROM TO
                   give the stored site FROM the slug TO with all its pages (e.g. after
                   moving from a single-site config: `sites rename default blog`);
                   refuses when TO already has pages
    export [--site S] [--format json|csv] [--calls]
                   write every site (or S) to stdout: pages, start counts, per-day
                   counts (visitors, proxied, filtered by reason) and, with --calls,
                   every call time; deterministic
    import [--from footfall|goatcounter] [--site S] FILE
                   add a Footfall export, a path,day,count CSV or (--from goatcounter)
                   GoatCounter's CSV export to the store, in one transaction; a
                   malformed file changes nothing and names the line. FILE - is stdin
    import --from oxitraffic [--site S]
                   copy every path and call of the OxiTraffic 0.1 tables in the
                   configured PostgreSQL database into the site; they stay untouched
    link URL [--site S] [--name NAME] [--meta key=value ...] [--expires WHEN]
                   print a signed /go/ link to URL counting on the site (needs
                   link_secret); WHEN is an RFC 3339 time or like 30d or 12h
    backup FILE    copy the live SQLite store to the new file FILE (while it counts)
    restore FILE   check the backup FILE and put it in place of the SQLite store,
                   keeping the replaced one as footfall.sqlite3.replaced; stop the
                   server first

OPTIONS:
    --data-dir DIR   directory holding config.yaml, the response image and the
                     embedded database [env: FOOTFALL_DATA_DIR] [default: ./data]
    -h, --help       print this help
    -V, --version    print the version

Every config key can also be set as FOOTFALL_<KEY> (nested keys joined by __,
e.g. FOOTFALL_DB__PASSWORD); FOOTFALL_<KEY>_FILE reads the value from a file.
The environment wins over config.yaml. See README.md for every key.
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    Healthcheck,
    Check,
    RebuildDaily,
    RenameSite { from: String, to: String },
    Export(transfer::ExportArgs),
    Import(transfer::ImportArgs),
    Backup(PathBuf),
    Restore(PathBuf),
    Link(link::LinkArgs),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub data_dir: PathBuf,
    pub command: Command,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CliExit {
    Help,
    Version,
    Usage(String),
}

impl Cli {
    /// Parses the arguments after the program name. `env_data_dir` is
    /// `FOOTFALL_DATA_DIR`, which the `--data-dir` flag overrides.
    ///
    /// # Errors
    /// [`CliExit`] for help, version, or a usage error.
    pub fn parse(args: impl IntoIterator<Item = OsString>, env_data_dir: Option<OsString>) -> Result<Self, CliExit> {
        let mut data_dir = env_data_dir.map_or_else(|| PathBuf::from("./data"), PathBuf::from);
        let mut command = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("-h" | "--help") => return Err(CliExit::Help),
                Some("-V" | "--version") => return Err(CliExit::Version),
                Some("--data-dir") => {
                    data_dir = args
                        .next()
                        .map(PathBuf::from)
                        .ok_or_else(|| CliExit::Usage("--data-dir needs a directory".into()))?;
                }
                Some(flag) if flag.starts_with("--data-dir=") => data_dir = PathBuf::from(&flag["--data-dir=".len()..]),
                Some("serve") if command.is_none() => command = Some(Command::Serve),
                Some("healthcheck") if command.is_none() => command = Some(Command::Healthcheck),
                Some("rebuild-daily") if command.is_none() => command = Some(Command::RebuildDaily),
                Some("check") if command.is_none() => command = Some(Command::Check),
                Some("export") if command.is_none() => command = Some(Command::Export(transfer::ExportArgs::default())),
                Some("import") if command.is_none() => command = Some(Command::Import(transfer::ImportArgs::default())),
                Some(word @ ("backup" | "restore")) if command.is_none() => {
                    let file = args
                        .next()
                        .map(PathBuf::from)
                        .ok_or_else(|| CliExit::Usage(format!("usage: footfall {word} FILE")))?;
                    command = Some(match word {
                        "backup" => Command::Backup(file),
                        _ => Command::Restore(file),
                    });
                }
                Some("link") if command.is_none() => command = Some(Command::Link(link::parse(&mut args)?)),
                Some("sites") if command.is_none() => {
                    let mut word = || args.next().and_then(|a| a.into_string().ok());
                    command = match (word().as_deref(), word(), word()) {
                        (Some("rename"), Some(from), Some(to)) => Some(Command::RenameSite { from, to }),
                        _ => return Err(CliExit::Usage("usage: footfall sites rename FROM TO".into())),
                    };
                }
                _ => match transfer::argument(&mut command, &arg, &mut args) {
                    Some(taken) => taken?,
                    None => return Err(CliExit::Usage(format!("unexpected argument {arg:?}"))),
                },
            }
        }
        Ok(Self {
            data_dir,
            command: command.unwrap_or(Command::Serve),
        })
    }
}

/// The whole program behind `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::parse(std::env::args_os().skip(1), std::env::var_os("FOOTFALL_DATA_DIR")) {
        Ok(cli) => cli,
        Err(CliExit::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(CliExit::Version) => {
            println!("footfall {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(CliExit::Usage(message)) => {
            eprintln!("footfall: {message} (see footfall --help)");
            return ExitCode::from(2);
        }
    };
    if !cli.data_dir.is_dir() {
        // A typo must not silently start a new, empty store ("all my counts are gone").
        eprintln!(
            "footfall: --data-dir {}: no such directory (create it first; a new store is only made in an existing directory)",
            cli.data_dir.display()
        );
        return ExitCode::from(2);
    }
    let env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())));
    let config = match Config::load(&cli.data_dir, env) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("footfall: config error: {error}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Healthcheck => healthcheck(config.socket_address),
        Command::Serve => serve(config),
        Command::Check => check::check(&config),
        Command::RebuildDaily => maintenance::rebuild_daily(&config),
        Command::RenameSite { from, to } => maintenance::rename_site(&config, &from, &to),
        Command::Export(args) => transfer::export(&config, &args),
        Command::Import(args) => transfer::import(&config, &args),
        Command::Backup(file) => backup::backup(&config, &file),
        Command::Restore(file) => backup::restore(&config, &file),
        Command::Link(args) => link::link(&config, &args),
    }
}

pub(crate) fn init_logging(config: &Config) {
    crate::telemetry::init(&config.log_level);
}

pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| eprintln!("footfall: cannot start the async runtime: {error}"))
        .ok()
}

fn serve(config: Config) -> ExitCode {
    init_logging(&config);
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let code = runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(config.socket_address).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!(
                    "footfall: cannot listen on {} (key `socket_address`): {error}",
                    config.socket_address
                );
                return ExitCode::FAILURE;
            }
        };
        match crate::app::run(config, listener, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("footfall: {}", crate::telemetry::chain(&error));
                ExitCode::FAILURE
            }
        }
    });
    // Dropping the runtime would wait for every blocking task, however long.
    runtime.shutdown_timeout(crate::app::TEARDOWN_TIMEOUT);
    code
}

/// Resolves on SIGTERM (container stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutting down: finishing requests and flushing hits");
}

/// `GET /healthz` on the configured address, on loopback when it listens on
/// all interfaces.
fn healthcheck(address: SocketAddr) -> ExitCode {
    let target = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port()),
        _ => address,
    };
    let timeout = Duration::from_secs(3);
    let answer = (|| -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&target, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 16];
        let n = stream.read(&mut head)?;
        Ok(String::from_utf8_lossy(&head[..n]).into_owned())
    })();
    match answer {
        Ok(head) if head.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(head) => {
            eprintln!(
                "footfall healthcheck: {target} answered {:?}",
                head.lines().next().unwrap_or("")
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("footfall healthcheck: {target}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<Cli, CliExit> {
        Cli::parse(args.iter().map(OsString::from), env.map(OsString::from))
    }

    #[test]
    fn defaults_to_serving_from_data() {
        assert_eq!(
            parse(&[], None),
            Ok(Cli {
                data_dir: "./data".into(),
                command: Command::Serve
            })
        );
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        assert_eq!(parse(&[], Some("/env")).unwrap().data_dir, PathBuf::from("/env"));
        assert_eq!(
            parse(&["--data-dir", "/flag"], Some("/env")).unwrap().data_dir,
            PathBuf::from("/flag")
        );
        assert_eq!(
            parse(&["--data-dir=/eq", "healthcheck"], None).unwrap().command,
            Command::Healthcheck
        );
    }

    #[test]
    fn export_and_import_take_their_flags_in_any_order() {
        let export = parse(
            &[
                "export",
                "--calls",
                "--data-dir",
                "/d",
                "--format",
                "csv",
                "--site",
                "blog",
            ],
            None,
        )
        .unwrap();
        assert_eq!(export.data_dir, PathBuf::from("/d"));
        assert_eq!(
            export.command,
            Command::Export(transfer::ExportArgs {
                site: Some("blog".into()),
                format: crate::owner::export::Format::Csv,
                calls: true
            })
        );
        let import = parse(&["import", "--from", "goatcounter", "hits.csv"], None).unwrap();
        assert_eq!(
            import.command,
            Command::Import(transfer::ImportArgs {
                file: Some("hits.csv".into()),
                from: transfer::From::GoatCounter,
                site: None
            })
        );
        for bad in [
            &["export", "--format", "xml"][..],
            &["import", "a", "b"],
            &["export", "--from", "x"],
            &["import", "--calls"],
        ] {
            assert!(matches!(parse(bad, None), Err(CliExit::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert!(matches!(parse(&["--data-dir"], None), Err(CliExit::Usage(_))));
        assert!(matches!(parse(&["frobnicate"], None), Err(CliExit::Usage(_))));
        assert_eq!(parse(&["--help"], None), Err(CliExit::Help));
    }
}
