//! Unix seconds as a UTC date, for messages: a report prints `2026-01-01T00:00:00Z`, not
//! `1767225600`.

/// `YYYY-MM-DDTHH:MM:SSZ` (ISO 8601, UTC) of unix seconds, proleptic Gregorian.
///
/// ```
/// assert_eq!(mesh_ca::utc_date(1_767_225_600), "2026-01-01T00:00:00Z");
/// ```
pub fn utc_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(utc_date(951_825_599), "2000-02-29T11:59:59Z");
        assert_eq!(utc_date(-1), "1969-12-31T23:59:59Z");
    }
}
