//! How numbers are written for people, in one place so the chart, the
//! badge and the pages agree. Pure.

/// Formats a count for humans in at most about six characters.
///
/// Below 10,000 the exact number with thousands separators (`9,999`); from
/// there one decimal with a suffix k, M, B or T (`12.3k`, `1.2M`, `2.5B`).
/// Rounding is half-up on the decimal, and a value that would round to
/// `1000.0` of one unit moves to the next (`999_950` → `1.0M`), so the mantissa
/// always stays below 1000 until T, which has no successor.
pub fn format_count(count: u64) -> String {
    if count < 10_000 {
        return group_thousands(count);
    }
    const SUFFIXES: [&str; 4] = ["k", "M", "B", "T"];
    let count = u128::from(count);
    let mut unit: u128 = 1_000;
    let mut index = 0;
    // Pick the largest unit not above the count, then check the rounding.
    while index + 1 < SUFFIXES.len() && count >= unit * 1_000 {
        unit *= 1_000;
        index += 1;
    }
    let mut tenths = (count * 10 + unit / 2) / unit;
    if tenths >= 10_000 && index + 1 < SUFFIXES.len() {
        unit *= 1_000;
        index += 1;
        tenths = (count * 10 + unit / 2) / unit;
    }
    format!("{}.{}{}", tenths / 10, tenths % 10, SUFFIXES[index])
}

/// `1234567` → `"1,234,567"`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_exact_with_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(1_234), "1,234");
        assert_eq!(format_count(9_999), "9,999");
    }

    #[test]
    fn large_counts_get_one_decimal_and_a_suffix() {
        assert_eq!(format_count(10_000), "10.0k");
        assert_eq!(format_count(12_345), "12.3k");
        assert_eq!(format_count(12_350), "12.4k");
        assert_eq!(format_count(999_949), "999.9k");
        assert_eq!(format_count(1_234_567), "1.2M");
        assert_eq!(format_count(2_500_000_000), "2.5B");
        assert_eq!(format_count(7_000_000_000_000), "7.0T");
    }

    #[test]
    fn rounding_never_shows_a_thousand_of_a_unit() {
        assert_eq!(format_count(99_949), "99.9k");
        assert_eq!(format_count(99_950), "100.0k");
        assert_eq!(format_count(999_950), "1.0M");
        assert_eq!(format_count(999_999), "1.0M");
        assert_eq!(format_count(999_950_000), "1.0B");
        assert_eq!(format_count(999_950_000_000), "1.0T");
    }

    #[test]
    fn the_largest_count_stays_in_trillions() {
        assert_eq!(format_count(u64::MAX), "18446744.1T");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }
}
