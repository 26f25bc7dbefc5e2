//! What a counted visitor is described by, for the dimension aggregates:
//! browser, operating system and device from the `User-Agent` ([`agent`]),
//! country from a local GeoIP database ([`country`]), and the referrer host
//! `/count.js` reports ([`referrer`]).
//!
//! Called only for a hit that counts — never for a repeat or a filtered
//! hit — and it adds no I/O: the user agent's answer is cached, the GeoIP
//! file is in memory. What comes out is a few short labels; the address,
//! the user agent and the referrer URL are dropped here, and the labels are
//! summed per page and day by the recorder, never stored per visitor.

pub mod agent;
pub mod country;
pub mod referrer;

use std::net::IpAddr;
use std::sync::Arc;

use self::agent::{Agent, AgentParser, PatternError};
use self::country::{Country, GeoIp};
use self::referrer::{host_of, referrer_of, Referrer};
use super::filter::Signals;
use crate::config::SiteConfig;
use crate::store::{agent_value, Kind};

/// One counted hit's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitTraits {
    pub agent: Agent,
    /// `None` without a GeoIP database, or when it does not place the address.
    pub country: Option<Country>,
    /// `None` for a hit that did not come through `/count.js`.
    pub referrer: Option<Referrer>,
}

impl HitTraits {
    /// The rows the hit adds one to: its agent (browser, OS and device in
    /// one value), and its country and referrer when it has them.
    pub fn labels(&self) -> impl Iterator<Item = (Kind, String)> + '_ {
        let agent = agent_value(self.agent.browser, self.agent.os, self.agent.device);
        [
            Some((Kind::Agent, agent)),
            self.country.as_ref().map(|c| (Kind::Country, c.as_str().to_owned())),
            self.referrer.as_ref().map(|r| (Kind::Referrer, r.as_str().to_owned())),
        ]
        .into_iter()
        .flatten()
    }
}

/// Describes counted hits; built once per process.
pub struct Describer {
    agents: AgentParser,
    geoip: Option<Arc<GeoIp>>,
}

impl Describer {
    /// # Errors
    /// [`PatternError`] if the vendored user-agent patterns do not compile.
    pub fn new(geoip: Option<Arc<GeoIp>>) -> Result<Self, PatternError> {
        Ok(Self {
            agents: AgentParser::new()?,
            geoip,
        })
    }

    /// The labels of a counted hit by `client` on `site`; `query` is the
    /// `/call` URL's query, where `/count.js` puts the referrer host.
    pub fn describe(&self, signals: &Signals<'_>, query: Option<&str>, client: IpAddr, site: &SiteConfig) -> HitTraits {
        let agent = self
            .agents
            .agent(std::str::from_utf8(signals.user_agent()).unwrap_or(""));
        let country = self.geoip.as_ref().and_then(|geo| geo.country(client));
        // The site's own hosts: its tracked_base_url, the origins it accepts,
        // and the page the script ran on (this request's `Referer`), so
        // `(internal)` works without a tracked_base_url.
        let referrer = referrer_of(query, |host| {
            site.tracked_base_url
                .iter()
                .map(|url| url.as_str())
                .chain(site.filter.accept_origins.iter().flatten().map(String::as_str))
                .chain(signals.referer().and_then(|r| std::str::from_utf8(r).ok()))
                .any(|url| host_of(url).as_deref() == Some(host))
        });
        HitTraits {
            agent,
            country,
            referrer,
        }
    }
}
