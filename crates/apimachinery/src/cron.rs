//! Cron schedules as CronJobs use them: robfig/cron's standard parser (five
//! fields with ranges, steps, names and `?`, the `@hourly`-style descriptors
//! and `@every <duration>`), and the next activation after an instant in an
//! IANA time zone. Validation errors carry robfig's wording, since the API
//! server reports them to users.
//!
//! Day-of-month and day-of-week combine as in cron: when either field is a
//! bare `*` or `?` both must match, otherwise either may. Civil times that a
//! daylight-saving jump skips never fire; civil times repeated when clocks go
//! back fire at both instants, as robfig's real-time stepping does.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};

const BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
/// How far ahead a schedule that never matches (`0 0 30 2 *`) is searched.
const SEARCH_YEARS: i16 = 5;

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Five cron fields, each a bit set of the values it matches.
    Fields {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        /// The field was `*` or `?` (so day matching is an AND).
        dom_star: bool,
        dow_star: bool,
    },
    /// `@every <duration>`: a constant delay, whole seconds, at least one.
    Every(SignedDuration),
}

fn names(field: usize) -> &'static [&'static str] {
    match field {
        3 => &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        4 => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        _ => &[],
    }
}

fn atoi(s: &str) -> Result<u32, String> {
    s.parse::<u32>().map_err(|_| {
        format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
    })
}

fn parse_num(s: &str, field: usize) -> Result<u32, String> {
    let base = if field == 3 { 1 } else { 0 };
    if let Some(i) = names(field).iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + base);
    }
    atoi(s)
}

/// One comma-separated part of a field: its bits and whether it was a star.
fn parse_range(expr: &str, field: usize) -> Result<(u64, bool), String> {
    let (min, max) = BOUNDS[field];
    let (range, step) = match expr.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (expr, None),
    };
    let mut star = false;
    let (start, end) = if range == "*" || range == "?" {
        star = true;
        (min, max)
    } else {
        match range.split_once('-') {
            Some((a, b)) => (parse_num(a, field)?, parse_num(b, field)?),
            None => {
                let n = parse_num(range, field)?;
                (n, if step.is_some() { max } else { n })
            }
        }
    };
    let step = match step {
        Some(s) => {
            let n = atoi(s)?;
            if n == 0 {
                return Err(format!("step of range should be a positive number: {expr}"));
            }
            // robfig drops the star meaning for `*/2`, but not for `*/1`.
            if n > 1 {
                star = false;
            }
            n
        }
        None => 1,
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    let bits = (start..=end)
        .step_by(step as usize)
        .fold(0u64, |b, v| b | (1 << v));
    Ok((bits, star))
}

fn parse_field(f: &str, field: usize) -> Result<(u64, bool), String> {
    let mut bits = 0;
    let mut star = false;
    for part in f.split(',') {
        let (b, s) = parse_range(part, field)?;
        bits |= b;
        star |= s;
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parse a schedule as upstream's `cron.ParseStandard` does.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        if let Some(d) = spec.strip_prefix('@') {
            let fields = match d {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                _ => {
                    if let Some(dur) = d.strip_prefix("every ") {
                        let parsed = crate::duration::parse_go_duration(dur).ok_or_else(|| {
                            format!(
                                "failed to parse duration {spec}: time: invalid duration {dur:?}"
                            )
                        })?;
                        let secs = parsed.as_secs().max(1);
                        return Ok(Schedule::Every(SignedDuration::from_secs(secs)));
                    }
                    return Err(format!("unrecognized descriptor: {spec}"));
                }
            };
            return Self::parse(fields);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            ));
        }
        let (minute, _) = parse_field(fields[0], 0)?;
        let (hour, _) = parse_field(fields[1], 1)?;
        let (dom, dom_star) = parse_field(fields[2], 2)?;
        let (month, _) = parse_field(fields[3], 3)?;
        let (dow, dow_star) = parse_field(fields[4], 4)?;
        Ok(Schedule::Fields {
            minute,
            hour,
            dom,
            month,
            dow,
            dom_star,
            dow_star,
        })
    }

    /// The first activation strictly after `after`, in time zone `tz`;
    /// `None` when nothing matches within five years.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Every(d) => {
                // Like robfig: the delay from `after`'s whole second.
                let whole = Timestamp::from_second(after.as_second()).ok()?;
                whole.checked_add(*d).ok()
            }
            Schedule::Fields { .. } => self.next_fields(after, tz),
        }
    }

    fn day_matches(&self, d: Date) -> bool {
        let Schedule::Fields {
            dom,
            dow,
            dom_star,
            dow_star,
            ..
        } = self
        else {
            return false;
        };
        let dom_ok = dom & (1 << d.day()) != 0;
        let dow_ok = dow & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if *dom_star || *dow_star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        }
    }

    /// The first matching civil minute at or after `from`.
    fn next_civil(&self, from: DateTime, limit: DateTime) -> Option<DateTime> {
        let Schedule::Fields {
            minute,
            hour,
            month,
            ..
        } = self
        else {
            return None;
        };
        let mut t = from;
        while t <= limit {
            if month & (1 << t.month()) == 0 {
                let first = t.date().first_of_month().checked_add(1.month()).ok()?;
                t = first.to_datetime(jiff::civil::Time::midnight());
            } else if !self.day_matches(t.date()) {
                t = t
                    .date()
                    .tomorrow()
                    .ok()?
                    .to_datetime(jiff::civil::Time::midnight());
            } else if hour & (1 << t.hour()) == 0 {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
            } else if minute & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
            } else {
                return Some(t);
            }
        }
        None
    }

    fn next_fields(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // A civil time a little before `after` may map, in a repeated hour,
        // to an instant after it; so search from three hours back and keep
        // the earliest instant past `after`.
        let start = tz
            .to_datetime(after)
            .checked_sub(3.hours())
            .ok()?
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?;
        let limit = start.checked_add(SEARCH_YEARS.years()).ok()?;
        let mut best: Option<Timestamp> = None;
        let mut t = start;
        while let Some(c) = self.next_civil(t, limit) {
            if let Some(b) = best
                && c > tz.to_datetime(b).checked_add(3.hours()).ok()?
            {
                break;
            }
            let instants = match tz.to_ambiguous_timestamp(c).offset() {
                AmbiguousOffset::Unambiguous { offset } => vec![offset.to_timestamp(c).ok()?],
                AmbiguousOffset::Gap { .. } => vec![],
                AmbiguousOffset::Fold { before, after } => {
                    vec![before.to_timestamp(c).ok()?, after.to_timestamp(c).ok()?]
                }
            };
            for i in instants {
                if i > after && best.is_none_or(|b| i < b) {
                    best = Some(i);
                }
            }
            t = c.checked_add(1.minute()).ok()?;
        }
        best
    }
}

/// Validate a cron schedule.
pub fn parse_schedule(spec: &str) -> Result<(), String> {
    Schedule::parse(spec).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(spec: &str, after: &str, tz: &str) -> String {
        let tz = TimeZone::get(tz).unwrap();
        Schedule::parse(spec)
            .unwrap()
            .next_after(ts(after), &tz)
            .unwrap()
            .to_string()
    }

    #[test]
    fn accepts_common_schedules() {
        for s in [
            "*/5 * * * *",
            "0 0 * * 0",
            "@hourly",
            "@every 1h30m",
            "15 3 1-15/2 JAN-jun mon,fri",
            "0 0 ? * *",
        ] {
            assert!(parse_schedule(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_bad_schedules() {
        assert_eq!(
            parse_schedule("* * *").unwrap_err(),
            "expected exactly 5 fields, found 3: [* * *]"
        );
        assert_eq!(
            parse_schedule("60 * * * *").unwrap_err(),
            "end of range (60) above maximum (59): 60"
        );
        assert!(parse_schedule("@sometimes").is_err());
        assert!(parse_schedule("@every soon").is_err());
        assert!(parse_schedule("x * * * *").is_err());
        assert!(parse_schedule("TZ=UTC 0 * * * *").is_err());
    }

    #[test]
    fn steps_ranges_and_names() {
        assert_eq!(
            next("*/15 * * * *", "2024-01-01T00:07:30Z", "UTC"),
            "2024-01-01T00:15:00Z"
        );
        assert_eq!(
            next("*/1 * * * *", "2024-01-01T00:15:00Z", "UTC"),
            "2024-01-01T00:16:00Z"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "2024-01-01T14:00:00Z", "UTC"),
            "2024-01-01T17:00:00Z"
        );
        assert_eq!(
            next("0 0 1 jun *", "2024-01-01T00:00:00Z", "UTC"),
            "2024-06-01T00:00:00Z"
        );
        // 2024-01-01 is a Monday.
        assert_eq!(
            next("30 6 * * FRI", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-05T06:30:00Z"
        );
    }

    #[test]
    fn descriptors() {
        assert_eq!(
            next("@hourly", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-01T01:00:00Z"
        );
        assert_eq!(
            next("@daily", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-02T00:00:00Z"
        );
        assert_eq!(
            next("@weekly", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-07T00:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2024-01-15T00:00:00Z", "UTC"),
            "2024-02-01T00:00:00Z"
        );
        assert_eq!(
            next("@yearly", "2024-01-01T00:00:00Z", "UTC"),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            next("@every 90s", "2024-01-01T00:00:00.5Z", "UTC"),
            "2024-01-01T00:01:30Z"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // Both restricted: either matches (the 13th, or any Friday).
        assert_eq!(
            next("0 0 13 * 5", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-05T00:00:00Z"
        );
        assert_eq!(
            next("0 0 13 * 5", "2024-01-12T00:00:00Z", "UTC"),
            "2024-01-13T00:00:00Z"
        );
        // Day-of-week a star: only the day of month counts.
        assert_eq!(
            next("0 0 13 * *", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-13T00:00:00Z"
        );
        // `*/2` is not a star: OR semantics with the weekday.
        assert_eq!(
            next("0 0 */2 * 1", "2024-01-01T00:00:01Z", "UTC"),
            "2024-01-03T00:00:00Z"
        );
        assert_eq!(
            Schedule::parse("0 0 30 2 *")
                .unwrap()
                .next_after(ts("2024-01-01T00:00:00Z"), &TimeZone::UTC),
            None
        );
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            next("0 9 * * *", "2024-01-01T00:00:00Z", "Asia/Tokyo"),
            "2024-01-02T00:00:00Z"
        );
        assert_eq!(
            next("0 9 * * *", "2024-01-01T00:00:00Z", "America/New_York"),
            "2024-01-01T14:00:00Z"
        );
        assert_eq!(
            next("30 5 * * *", "2024-01-01T00:00:00Z", "Asia/Kolkata"),
            "2024-01-02T00:00:00Z"
        );
    }

    #[test]
    fn daylight_saving() {
        // New York springs forward at 2024-03-10 02:00 local: 02:30 does not exist.
        assert_eq!(
            next("30 2 * * *", "2024-03-09T12:00:00Z", "America/New_York"),
            "2024-03-11T06:30:00Z"
        );
        // 03:00 EDT exists and is 07:00 UTC.
        assert_eq!(
            next("0 3 * * *", "2024-03-10T05:00:00Z", "America/New_York"),
            "2024-03-10T07:00:00Z"
        );
        // Falls back at 2024-11-03 02:00 EDT: 01:30 happens twice.
        assert_eq!(
            next("30 1 * * *", "2024-11-03T04:00:00Z", "America/New_York"),
            "2024-11-03T05:30:00Z"
        );
        assert_eq!(
            next("30 1 * * *", "2024-11-03T05:30:00Z", "America/New_York"),
            "2024-11-03T06:30:00Z"
        );
        assert_eq!(
            next("30 1 * * *", "2024-11-03T06:30:00Z", "America/New_York"),
            "2024-11-04T06:30:00Z"
        );
    }
}
