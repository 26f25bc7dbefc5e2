//! The visitor's country from a local MaxMind-format database
//! (`geoip_database`: GeoLite2 Country or City, DB-IP Lite, or any `.mmdb`
//! with `country.iso_code`). The file is read into memory once at start;
//! a lookup is a walk of that memory, with no network access ever. The
//! address is looked up and dropped: only the two-letter code leaves here.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;

/// A loaded country database.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GeoIp({})", self.reader.metadata().database_type)
    }
}

/// An ISO 3166-1 alpha-2 code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country([u8; 2]);

impl Country {
    pub fn as_str(&self) -> &str {
        // Built only from two ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// The only part of a record read: the rest is skipped without decoding.
#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Iso<'a>>,
}

#[derive(serde::Deserialize)]
struct Iso<'a> {
    iso_code: Option<&'a str>,
}

impl GeoIp {
    /// Reads and checks the database at `file`.
    ///
    /// # Errors
    /// A message naming what is wrong (unreadable, not a MaxMind database).
    pub fn open(file: &Path) -> Result<Self, String> {
        let reader = Reader::open_readfile(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        Ok(Self { reader })
    }

    /// The country of `address`, if the database has one for it.
    pub fn country(&self, address: IpAddr) -> Option<Country> {
        let found = self.reader.lookup(address).ok()?;
        let record: Record<'_> = found.decode().ok()??;
        let code = record.country?.iso_code?.as_bytes();
        match code {
            &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> GeoIp {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb");
        GeoIp::open(&file).unwrap()
    }

    #[test]
    fn the_test_database_places_its_networks_and_nothing_else() {
        let geo = fixture();
        let at = |a: &str| geo.country(a.parse().unwrap()).map(|c| c.as_str().to_owned());
        assert_eq!(at("81.2.69.160").as_deref(), Some("GB"));
        assert_eq!(at("2001:db8:1::5").as_deref(), Some("DE"));
        assert_eq!(at("127.0.0.1"), None);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_with_its_name() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), b"not a database").unwrap();
        let error = GeoIp::open(file.path()).unwrap_err();
        assert!(error.contains(&file.path().display().to_string()), "{error}");
    }
}
