//! A parser for the standard 5-field cron syntax and the `@hourly`-style
//! descriptors, as the CronJob validation accepts (robfig/cron's standard
//! parser). Returns the parser's error text on failure.

fn names(field: usize) -> &'static [&'static str] {
    match field {
        3 => &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        4 => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        _ => &[],
    }
}

const BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

fn parse_num(s: &str, field: usize) -> Result<u32, String> {
    let base = if field == 3 { 1 } else { 0 };
    if let Some(i) = names(field).iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + base);
    }
    s.parse::<u32>().map_err(|_| {
        format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
    })
}

fn parse_range(expr: &str, field: usize) -> Result<(), String> {
    let (min, max) = BOUNDS[field];
    let (range, step) = match expr.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (expr, None),
    };
    let (start, end) = if range == "*" || range == "?" {
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
    if let Some(s) = step {
        let n = s.parse::<u32>().map_err(|_| {
            format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
        })?;
        if n == 0 {
            return Err(format!("step of range should be a positive number: {expr}"));
        }
    }
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
    Ok(())
}

/// Validate a cron schedule.
pub fn parse_schedule(spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    if let Some(d) = spec.strip_prefix('@') {
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {spec}")),
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (i, f) in fields.iter().enumerate() {
        for part in f.split(',') {
            parse_range(part, i)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_schedules() {
        for s in [
            "*/5 * * * *",
            "0 0 * * 0",
            "@hourly",
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
        assert!(parse_schedule("x * * * *").is_err());
    }
}
