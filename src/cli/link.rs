//! `footfall link URL [--site S] [--name NAME] [--meta key=value ...]
//! [--expires WHEN]`: mints a signed link and prints it on stdout. Needs
//! only the config (`link_secret`), not the store or a running server.

use std::ffi::OsString;
use std::process::ExitCode;

use super::CliExit;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::link::Links;
use crate::owner::links::{mint, LinkRequest};

const USAGE: &str = "usage: footfall link URL [--site S] [--name NAME] [--meta key=value ...] [--expires WHEN]";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkArgs {
    pub site: Option<String>,
    pub url: String,
    pub name: Option<String>,
    pub meta: Vec<(String, String)>,
    pub expires: Option<String>,
}

/// Parses the arguments after `link`.
///
/// # Errors
/// [`CliExit::Usage`] naming what is wrong.
pub fn parse(args: &mut impl Iterator<Item = OsString>) -> Result<LinkArgs, CliExit> {
    let usage = |m: &str| CliExit::Usage(format!("{m}; {USAGE}"));
    let mut parsed = LinkArgs::default();
    let mut url = None;
    while let Some(arg) = args.next() {
        let arg = arg.into_string().map_err(|_| usage("arguments must be text"))?;
        let mut value = |flag: &str| {
            args.next()
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--site" => parsed.site = Some(value("--site")?),
            "--name" => parsed.name = Some(value("--name")?),
            "--expires" => parsed.expires = Some(value("--expires")?),
            "--meta" => {
                let pair = value("--meta")?;
                let (k, v) = pair.split_once('=').ok_or_else(|| usage("--meta takes key=value"))?;
                parsed.meta.push((k.to_owned(), v.to_owned()));
            }
            other if other.starts_with("--") => return Err(usage(&format!("unknown option {other}"))),
            other if url.is_none() => url = Some(other.to_owned()),
            other => return Err(usage(&format!("unexpected argument {other:?}"))),
        }
    }
    parsed.url = url.ok_or_else(|| usage("the destination URL is missing"))?;
    Ok(parsed)
}

/// Prints the link; exit 2 for a bad request or links being off.
pub fn link(config: &Config, args: &LinkArgs) -> ExitCode {
    let site = args.site.as_deref().unwrap_or(&config.default_site().slug);
    if !config.sites.iter().any(|s| s.slug == site) {
        eprintln!("footfall: link: no site `{site}` is configured");
        return ExitCode::from(2);
    }
    let request = LinkRequest {
        url: args.url.clone(),
        name: args.name.clone(),
        meta: args.meta.iter().cloned().collect(),
        expires: args.expires.clone(),
    };
    match mint(&Links::new(config), site, request, SystemClock.now()) {
        Ok((link, _)) => {
            println!("{link}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("footfall: link: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Result<LinkArgs, CliExit> {
        parse(&mut words.iter().map(OsString::from))
    }

    #[test]
    fn link_arguments_are_a_url_and_options() {
        let parsed = args(&[
            "https://example.com/",
            "--name",
            "dec",
            "--meta",
            "a=b=c",
            "--expires",
            "30d",
        ])
        .unwrap();
        assert_eq!(parsed.url, "https://example.com/");
        assert_eq!(parsed.meta, [("a".to_owned(), "b=c".to_owned())]);
        assert_eq!(
            (parsed.name.as_deref(), parsed.expires.as_deref()),
            (Some("dec"), Some("30d"))
        );
        for bad in [
            &[][..],
            &["--name"],
            &["u", "v"],
            &["u", "--meta", "novalue"],
            &["u", "--what", "x"],
        ] {
            assert!(matches!(args(bad), Err(CliExit::Usage(_))), "{bad:?}");
        }
    }
}
