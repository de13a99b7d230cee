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
        let i = self.gaps.partition_point(|&(start, _)| start <= local_us);
        let &(start, end) = self.gaps.get(i.checked_sub(1)?)?;
        (local_us < end).then_some((start, end))
    }

    pub fn gaps(&self) -> usize {
        self.gaps.len()
    }
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
        assert_eq!(local_micros(1969, 12, 31, 23, 59, 59, 0), -1_000_000);
    }
}
