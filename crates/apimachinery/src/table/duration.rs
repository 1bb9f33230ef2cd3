//! Upstream's `HumanDuration`: the short, rounded ages kubectl prints
//! (`5s`, `3m2s`, `4h`, `2d3h`, `45d`, `3y`).

use jiff::{SignedDuration, Timestamp};

const SECOND: i64 = 1_000_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// Formats a duration as upstream does. Durations a little negative (clock
/// skew under two seconds) print as `0s`; more negative ones as `<invalid>`.
pub fn human_duration(d: SignedDuration) -> String {
    // Go keeps durations in int64 nanoseconds, saturating far outside the
    // range; so do we.
    let nanos =
        i64::try_from(d.as_nanos()).unwrap_or(if d.is_negative() { i64::MIN } else { i64::MAX });
    let seconds = nanos / SECOND;
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / MINUTE;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / HOUR;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, dy);
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of a timestamp at `now`.
pub fn human_since(then: Timestamp, now: Timestamp) -> String {
    human_duration(now.duration_since(then))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> String {
        human_duration(SignedDuration::from_secs(s))
    }

    #[test]
    fn matches_upstream_table() {
        let cases = [
            (0, "0s"),
            (1, "1s"),
            (-1, "0s"),
            (-2, "<invalid>"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (9 * 60 + 59, "9m59s"),
            (10 * 60 + 5, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (4 * 3600 + 59, "4h"),
            (4 * 3600 + 30 * 60, "4h30m"),
            (8 * 3600 + 30 * 60, "8h"),
            (47 * 3600 + 59 * 60, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400 - 1, "7d23h"),
            (8 * 86400, "8d"),
            (45 * 86400, "45d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (3 * 365 * 86400, "3y"),
            (8 * 365 * 86400, "8y"),
            (20 * 365 * 86400 + 86400, "20y"),
        ];
        for (s, want) in cases {
            assert_eq!(secs(s), want, "{s}s");
        }
    }

    #[test]
    fn sub_second_parts_truncate() {
        assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
        assert_eq!(human_duration(SignedDuration::from_millis(-1999)), "0s");
        assert_eq!(
            human_duration(SignedDuration::from_millis(-2001)),
            "<invalid>"
        );
    }

    #[test]
    fn since_uses_now() {
        let then: Timestamp = "2024-01-01T00:00:00Z".parse().expect("ts");
        let now: Timestamp = "2024-01-01T00:05:00Z".parse().expect("ts");
        assert_eq!(human_since(then, now), "5m");
    }
}
