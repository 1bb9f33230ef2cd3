//! Go's duration syntax (`1h30m`, `1.5h`, `90s`, `300ms`), which upstream's
//! flags and cron `@every` use.

use jiff::SignedDuration;

/// Parse a Go duration (`1h30m`, `1.5h`, `90s`, `300ms`).
pub fn parse_go_duration(s: &str) -> Option<SignedDuration> {
    if s == "0" {
        return Some(SignedDuration::ZERO);
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        nanos += num * scale;
    }
    Some(SignedDuration::from_nanos(nanos as i64))
}

/// A non-negative Go duration as a `std::time::Duration`, for command-line
/// flags (`--node-monitor-grace-period 40s`).
pub fn parse_flag_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_go_duration(s)
        .ok_or_else(|| format!("invalid duration {s:?} (e.g. 40s, 1m30s, 500ms)"))?;
    std::time::Duration::try_from(d).map_err(|_| format!("duration {s:?} must not be negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_flag_duration("40s").unwrap().as_secs(), 40);
        assert_eq!(parse_flag_duration("1m30s").unwrap().as_secs(), 90);
        assert_eq!(parse_flag_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_flag_duration("forty").is_err());
        assert!(parse_flag_duration("-1s").is_err());
    }
}
