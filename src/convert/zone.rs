//! `run.source_timezone`: its name, and the local times its daylight-saving changes skip.
//! Postgres reads such a time (2024-03-10 02:30 in America/New_York) with the offset from
//! before the change, so two different source values can land on one instant; the
//! converter refuses them instead. Ambiguous times (the repeated hour in autumn) exist
//! and are left to Postgres's documented rule (standard time).

/// A source zone and the local-time ranges it skips, as microseconds since
/// 1970-01-01 00:00 local time, half-open and sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceZone {
    pub name: String,
    gaps: Vec<(i64, i64)>,
}

impl SourceZone {
    pub fn new(name: impl Into<String>, mut gaps: Vec<(i64, i64)>) -> SourceZone {
        gaps.sort_unstable();
        SourceZone {
            name: name.into(),
            gaps,
        }
    }

    /// The skipped range holding `local_us`, if any.
    pub fn gap_at(&self, local_us: i64) -> Option<(i64, i64)> {
        // The gaps are known up to 2200; after that Postgres repeats the zone's last
        // yearly rule, so a later year has the gaps of a scanned year with the same
        // calendar (the same weekday on January 1, leap or not).
        let shift = match year_of(local_us.div_euclid(MICROS_PER_DAY)) {
            y if y >= SCANNED_UNTIL_YEAR => {
                let first = days_from_civil(y, 1, 1);
                let same = (SCANNED_UNTIL_YEAR - 28..SCANNED_UNTIL_YEAR).find(|&s| {
                    is_leap(s) == is_leap(y)
                        && (days_from_civil(s, 1, 1) - first).rem_euclid(7) == 0
                })?;
                (first - days_from_civil(same, 1, 1)) * MICROS_PER_DAY
            }
            _ => 0,
        };
        let at = local_us - shift;
        let i = self.gaps.partition_point(|&(start, _)| start <= at);
        let &(start, end) = self.gaps.get(i.checked_sub(1)?)?;
        (at < end).then_some((start + shift, end + shift))
    }

    pub fn gaps(&self) -> usize {
        self.gaps.len()
    }
}

/// The gaps are scanned up to 2200-01-01 (`commands::zone_gaps`).
const SCANNED_UNTIL_YEAR: i64 = 2200;
const MICROS_PER_DAY: i64 = 86_400_000_000;

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// The year of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
fn year_of(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// Microseconds since 1970-01-01 00:00 of a calendar date and time (no zone).
pub fn local_micros(y: u16, m: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> i64 {
    let days = days_from_civil(i64::from(y), i64::from(m), i64::from(d));
    ((days * 86_400 + i64::from(h) * 3_600 + i64::from(mi) * 60 + i64::from(s)) * 1_000_000)
        + i64::from(us)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_half_open() {
        let start = local_micros(2024, 3, 10, 2, 0, 0, 0);
        let end = local_micros(2024, 3, 10, 3, 0, 0, 0);
        let z = SourceZone::new("America/New_York", vec![(end + 10, end + 20), (start, end)]);
        assert_eq!(z.gap_at(start - 1), None);
        assert_eq!(z.gap_at(start), Some((start, end)));
        assert_eq!(
            z.gap_at(local_micros(2024, 3, 10, 2, 30, 0, 0)),
            Some((start, end))
        );
        assert_eq!(z.gap_at(end - 1), Some((start, end)));
        assert_eq!(z.gap_at(end), None);
        assert_eq!(z.gap_at(end + 15), Some((end + 10, end + 20)));
        assert_eq!(local_micros(1970, 1, 1, 0, 0, 0, 1), 1);
        for (y, m, d) in [
            (1970, 1, 1),
            (1969, 12, 31),
            (2000, 2, 29),
            (2200, 1, 1),
            (9999, 12, 31),
        ] {
            assert_eq!(year_of(days_from_civil(y, m, d)), y);
        }
        assert_eq!(local_micros(1969, 12, 31, 23, 59, 59, 0), -1_000_000);
    }

    /// After 2200 a year has the gaps of the scanned year with its calendar.
    #[test]
    fn years_after_the_scan_take_the_gaps_of_a_year_with_their_calendar() {
        // Sunday is 3 days after a Thursday (1970-01-01).
        let second_sunday = |y: i64| {
            let first = days_from_civil(y, 3, 1);
            8 + (3 - first).rem_euclid(7) as u8
        };
        let gap = |y: i64| {
            let d = second_sunday(y);
            (
                local_micros(y as u16, 3, d, 2, 0, 0, 0),
                local_micros(y as u16, 3, d, 3, 0, 0, 0),
            )
        };
        // America/New_York's rule, as the scan finds it in the years before 2200.
        let z = SourceZone::new("America/New_York", (2100..2200).map(gap).collect());
        for (y, sunday) in [(2201, 8), (2400, 12), (2401, 11), (9999, 14), (2199, 10)] {
            assert_eq!(second_sunday(y), sunday, "{y}");
            let at = |d: u8, h: u8| z.gap_at(local_micros(y as u16, 3, d, h, 30, 0, 0));
            assert_eq!(at(sunday, 2), Some(gap(y)), "{y}");
            assert_eq!(at(sunday, 1), None, "{y}");
            assert_eq!(at(sunday, 3), None, "{y}");
            assert_eq!(at(sunday - 7, 2), None, "{y}");
            assert_eq!(at(sunday + 7, 2), None, "{y}");
        }
    }
}
