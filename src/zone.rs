//! The configured time zone: which calendar day a call belongs to, and where
//! dedup windows start. A fixed `utc_offset` and an IANA `timezone` are both a
//! [`Zone`], so nothing else needs to know which one was configured.
//!
//! Pure: callers pass the instant; nothing here reads the clock.

use jiff::{civil::Date, tz::TimeZone, SignedDuration, Timestamp};

/// Days are numbered from 1970-01-01 (day 0) in every store, so the stores
/// need no date type and the number sorts and subtracts like a date.
pub type DayNumber = i32;

const EPOCH_DAY: Date = Date::constant(1970, 1, 1);

#[derive(Clone, Debug)]
pub struct Zone(TimeZone);

#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    #[error("the offset {hours}h {minutes}min is out of range (-25h..=25h, minutes -59..=59 with the sign of hours)")]
    OffsetOutOfRange { hours: i8, minutes: i8 },
    #[error("unknown time zone {0:?} (expected an IANA name such as Europe/Berlin)")]
    UnknownZone(String),
}

impl Zone {
    pub fn utc() -> Self {
        Self(TimeZone::UTC)
    }

    /// A fixed offset from UTC, as OxiTraffic's `utc_offset: {hours, minutes}`.
    ///
    /// # Errors
    /// When the offset is out of range or the signs of hours and minutes differ.
    pub fn fixed(hours: i8, minutes: i8) -> Result<Self, ZoneError> {
        let out_of_range = || ZoneError::OffsetOutOfRange { hours, minutes };
        if minutes.abs() > 59 || (hours != 0 && minutes != 0 && hours.signum() != minutes.signum()) {
            return Err(out_of_range());
        }
        let seconds = i32::from(hours) * 3600 + i32::from(minutes) * 60;
        let offset = jiff::tz::Offset::from_seconds(seconds).map_err(|_| out_of_range())?;
        Ok(Self(TimeZone::fixed(offset)))
    }

    /// An IANA zone from the time zone database compiled into the binary, so
    /// it works in a container without /usr/share/zoneinfo.
    ///
    /// # Errors
    /// When the name is not in the database.
    pub fn named(name: &str) -> Result<Self, ZoneError> {
        TimeZone::get(name)
            .map(Self)
            .map_err(|_| ZoneError::UnknownZone(name.to_owned()))
    }

    /// The zone as configured: an IANA name, or `UTC+02:00` for an offset.
    pub fn describe(&self) -> String {
        match self.0.iana_name() {
            Some(name) => name.to_owned(),
            None => format!("UTC{}", self.0.to_offset(Timestamp::UNIX_EPOCH)),
        }
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.0
    }

    pub fn date_of(&self, at: Timestamp) -> Date {
        // No Zoned (and no clone of the zone's shared data): this runs for every new hit.
        self.0.to_datetime(at).date()
    }

    pub fn day_of(&self, at: Timestamp) -> DayNumber {
        day_number(self.date_of(at))
    }

    /// The first instant of `date` in this zone (not always 00:00 where
    /// daylight saving skips midnight).
    pub fn start_of(&self, date: Date) -> Timestamp {
        date.to_zoned(self.0.clone())
            .and_then(|z| z.start_of_day())
            .map(|z| z.timestamp())
            // Only dates near the ends of jiff's range fail; they cannot come from a clock.
            .unwrap_or(Timestamp::MAX)
    }

    /// The start of the local hour containing `at`.
    pub fn hour_start(&self, at: Timestamp) -> Timestamp {
        let local = at.to_zoned(self.0.clone());
        let into_hour = i64::from(local.minute()) * 60 + i64::from(local.second());
        at.checked_sub(SignedDuration::from_secs(into_hour))
            .unwrap_or(at)
            .round(jiff::Unit::Second)
            .unwrap_or(at)
    }

    /// `at` as RFC 3339 with this zone's offset at that instant, e.g.
    /// `2026-03-01T10:00:00+01:00` (fractions of a second only when present).
    pub fn rfc3339(&self, at: Timestamp) -> String {
        at.display_with_offset(self.0.to_offset(at)).to_string()
    }

    /// The dedup window containing `now`: `[start, end)`. Windows whose
    /// length divides 24 h start at local midnight (so a 24 h window is a
    /// calendar day, like Plausible's daily salt); other lengths are counted
    /// from the Unix epoch.
    pub fn window_containing(&self, now: Timestamp, hours: u32) -> (Timestamp, Timestamp) {
        let length = SignedDuration::from_hours(i64::from(hours.max(1)));
        if 24 % hours.max(1) == 0 {
            let date = self.date_of(now);
            let day_start = self.start_of(date);
            let next_day = date.tomorrow().map(|d| self.start_of(d)).unwrap_or(Timestamp::MAX);
            let index = now.duration_since(day_start).as_secs() / length.as_secs();
            let start = add(day_start, length * index as i32);
            (start, add(start, length).min(next_day))
        } else {
            let secs = length.as_secs();
            let start = now.as_second().div_euclid(secs) * secs;
            let start = Timestamp::from_second(start).unwrap_or(Timestamp::MIN);
            (start, add(start, length))
        }
    }
}

fn add(at: Timestamp, duration: SignedDuration) -> Timestamp {
    at.checked_add(duration).unwrap_or(Timestamp::MAX)
}

pub fn day_number(date: Date) -> DayNumber {
    // A civil date span fits i32 days by construction (jiff's range is ±9999 years).
    (date.duration_since(EPOCH_DAY).as_secs() / 86_400) as DayNumber
}

pub fn date_of_day(day: DayNumber) -> Date {
    EPOCH_DAY
        .checked_add(jiff::Span::new().days(i64::from(day)))
        .unwrap_or(EPOCH_DAY)
}

/// A range's days as numbers, with open ends closed by the given defaults.
pub fn day_bounds(from: Option<Date>, to: Option<Date>, first: DayNumber, today: DayNumber) -> (DayNumber, DayNumber) {
    (from.map_or(first, day_number), to.map_or(today, day_number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn day_numbers_round_trip() {
        for (date, n) in [
            ("1970-01-01", 0),
            ("1970-01-02", 1),
            ("1969-12-31", -1),
            ("2026-11-21", 20_778),
        ] {
            let date: Date = date.parse().unwrap();
            assert_eq!(day_number(date), n);
            assert_eq!(date_of_day(n), date);
        }
    }

    #[test]
    fn zones_describe_themselves() {
        assert_eq!(Zone::named("Europe/Berlin").unwrap().describe(), "Europe/Berlin");
        assert_eq!(Zone::fixed(5, 30).unwrap().describe(), "UTC+05:30");
        assert_eq!(Zone::utc().describe(), "UTC");
    }

    #[test]
    fn fixed_offsets_shift_the_day() {
        let plus2 = Zone::fixed(2, 0).unwrap();
        assert_eq!(plus2.date_of(ts("2026-03-01T22:30:00Z")).to_string(), "2026-03-02");
        let minus = Zone::fixed(-5, -30).unwrap();
        assert_eq!(minus.date_of(ts("2026-03-02T05:00:00Z")).to_string(), "2026-03-01");
        assert!(Zone::fixed(2, -30).is_err());
        assert!(Zone::fixed(1, 60).is_err());
        assert!(Zone::fixed(26, 0).is_err());
    }

    #[test]
    fn named_zones_follow_daylight_saving() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // Winter: UTC+1, summer: UTC+2.
        assert_eq!(
            berlin.start_of("2026-01-15".parse().unwrap()),
            ts("2026-01-14T23:00:00Z")
        );
        assert_eq!(
            berlin.start_of("2026-07-15".parse().unwrap()),
            ts("2026-07-14T22:00:00Z")
        );
        assert!(Zone::named("Mars/Olympus_Mons").is_err());
    }

    #[test]
    fn daily_windows_are_local_calendar_days() {
        let plus2 = Zone::fixed(2, 0).unwrap();
        let (start, end) = plus2.window_containing(ts("2026-03-01T23:00:00Z"), 24);
        assert_eq!(start, ts("2026-03-01T22:00:00Z"));
        assert_eq!(end, ts("2026-03-02T22:00:00Z"));
    }

    #[test]
    fn divisor_windows_start_at_midnight() {
        let utc = Zone::utc();
        let (start, end) = utc.window_containing(ts("2026-03-01T13:59:59Z"), 6);
        assert_eq!((start, end), (ts("2026-03-01T12:00:00Z"), ts("2026-03-01T18:00:00Z")));
    }

    #[test]
    fn a_short_dst_day_ends_its_last_window_at_the_next_midnight() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        // 2026-03-29 has 23 hours in Berlin.
        let (start, end) = berlin.window_containing(ts("2026-03-29T12:00:00Z"), 24);
        assert_eq!(start, ts("2026-03-28T23:00:00Z"));
        assert_eq!(end, ts("2026-03-29T22:00:00Z"));
    }

    #[test]
    fn other_lengths_count_from_the_epoch() {
        let (start, end) = Zone::fixed(3, 0)
            .unwrap()
            .window_containing(ts("1970-01-02T12:00:00Z"), 36);
        assert_eq!((start, end), (ts("1970-01-02T12:00:00Z"), ts("1970-01-04T00:00:00Z")));
    }

    #[test]
    fn times_are_written_in_the_zone() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let at: Timestamp = "2026-07-01T10:00:00Z".parse().unwrap();
        assert_eq!(berlin.rfc3339(at), "2026-07-01T12:00:00+02:00");
        assert_eq!(Zone::utc().rfc3339(at), "2026-07-01T10:00:00+00:00");
        let precise: Timestamp = "2026-07-01T10:00:00.123456Z".parse().unwrap();
        assert_eq!(Zone::utc().rfc3339(precise), "2026-07-01T10:00:00.123456+00:00");
    }
}
