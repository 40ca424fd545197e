//! Particle's timestamps: ISO 8601 in UTC with milliseconds and `Z` (`2026-11-28T10:00:00.123Z`),
//! converted from and to milliseconds since the Unix epoch without a calendar library.

/// `epoch_ms` as Particle writes `published_at`.
pub fn iso8601_millis(epoch_ms: u64) -> String {
    let days = (epoch_ms / 86_400_000) as i64;
    let ms_of_day = epoch_ms % 86_400_000;
    let (year, month, day) = civil_from_days(days);
    let (hours, minutes) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (seconds, millis) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}Z")
}

/// Milliseconds since the epoch of a UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub fn parse_iso8601_millis(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.split(':').map(|part| part.parse::<u64>().ok());
    let (hours, minutes, seconds) = (hms.next()??, hms.next()??, hms.next()??);
    if date.next().is_some()
        || hms.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hours > 23
        || minutes > 59
        || seconds > 60
        || fraction.is_empty()
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let millis: u64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    Some(days * 86_400_000 + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601_millis(1_485_983_285_763),
            "2017-02-01T21:08:05.763Z"
        );
        assert_eq!(iso8601_millis(951_782_400_001), "2000-02-29T00:00:00.001Z");
        assert_eq!(
            iso8601_millis(1_796_083_199_999),
            "2026-11-30T23:59:59.999Z"
        );
    }

    #[test]
    fn parses_what_it_formats_across_leap_years() {
        for ms in (0..4_000_000_000_000u64).step_by(86_399_997_123) {
            assert_eq!(parse_iso8601_millis(&iso8601_millis(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso8601_millis("2017-02-01T21:08:05Z"),
            Some(1_485_983_285_000)
        );
        assert_eq!(
            parse_iso8601_millis("2017-02-01T21:08:05.7Z"),
            Some(1_485_983_285_700)
        );
    }

    #[test]
    fn rejects_what_is_not_a_utc_timestamp() {
        for text in [
            "",
            "2017-02-01T21:08:05.763",
            "2017-02-01 21:08:05Z",
            "2017-13-01T21:08:05Z",
            "2017-02-01T24:00:00Z",
            "2017-02-01T21:08:05.Z",
            "2017-02-01T21:08:05.7x3Z",
            "2017-02-01T21:08Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_iso8601_millis(text), None, "{text:?}");
        }
    }
}
