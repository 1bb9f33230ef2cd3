//! Timestamps as the API writes them: `Time` to the second, `MicroTime` to
//! the microsecond, both RFC 3339 in UTC.

use jiff::Timestamp;

/// `Time` (seconds precision), e.g. `2025-01-02T03:04:05Z`.
pub fn time(ts: Timestamp) -> String {
    format!("{}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// `MicroTime`, e.g. `2025-01-02T03:04:05.123456Z`.
pub fn micro_time(ts: Timestamp) -> String {
    let micros = ts.subsec_microsecond().max(0);
    format!("{}.{micros:06}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
}

pub fn now() -> String {
    time(Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seconds_and_micros() {
        let ts: Timestamp = "2025-01-02T03:04:05.123456789Z".parse().expect("ts");
        assert_eq!(time(ts), "2025-01-02T03:04:05Z");
        assert_eq!(micro_time(ts), "2025-01-02T03:04:05.123456Z");
    }
}
