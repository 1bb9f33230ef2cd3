//! Kubernetes `resource.Quantity`: parse (`100m`, `1.5Gi`, `2e3`), compare,
//! and print the canonical form upstream serializes (`1536Mi`, `500m`, `2k`).
//! Values are held as nano-units in an `i128`, rounded away from zero to the
//! nano, as upstream rounds sub-nano precision up.

use std::cmp::Ordering;
use std::fmt;

/// How a quantity was written, which decides how it is printed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Powers of 1024: `Ki`, `Mi`, … `Ei`.
    BinarySI,
    /// Powers of 1000: `n`, `u`, `m`, ``, `k`, `M`, … `E`.
    DecimalSI,
    /// Scientific: `1e3`, `12E-3`.
    DecimalExponent,
}

/// Why a string is not a quantity.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    #[error("unable to parse quantity's suffix")]
    Suffix,
    #[error("quantity is too large")]
    Overflow,
}

/// A parsed quantity.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

fn pow10(e: u32) -> Option<i128> {
    10i128.checked_pow(e)
}

/// Divide rounding away from zero.
fn div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d != 0 { q + n.signum() } else { q }
}

impl Quantity {
    /// Parse upstream's quantity syntax.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        let s = s.trim();
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (num, suffix) = rest.split_at(num_len);
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(QuantityError::Format);
        }
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 36 {
            return Err(QuantityError::Overflow);
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| QuantityError::Format)?
        };
        let frac = frac_part.len() as i64;
        let (format, bin_shift, dec_exp) = parse_suffix(suffix)?;
        // value = mantissa * 10^(dec_exp - frac) * 2^bin_shift; in nanos add 9.
        let mut n = mantissa
            .checked_mul(1i128 << bin_shift)
            .ok_or(QuantityError::Overflow)?;
        let e = dec_exp + 9 - frac;
        if e >= 0 {
            let p = pow10(e as u32).ok_or(QuantityError::Overflow)?;
            n = n.checked_mul(p).ok_or(QuantityError::Overflow)?;
        } else if -e > 38 {
            n = n.signum();
        } else {
            n = div_away(n, pow10((-e) as u32).ok_or(QuantityError::Overflow)?);
        }
        Ok(Quantity {
            nanos: if neg { -n } else { n },
            format,
        })
    }

    /// The value in milli-units, rounded up (upstream's `MilliValue`).
    pub fn to_millis(&self) -> i128 {
        div_away(self.nanos, 1_000_000)
    }

    /// The value in whole units, rounded up (upstream's `Value`).
    pub fn value(&self) -> i128 {
        div_away(self.nanos, NANO)
    }

    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }
}

/// (format, binary shift, decimal exponent) of a suffix.
fn parse_suffix(s: &str) -> Result<(Format, u32, i64), QuantityError> {
    let bin = |k: u32| Ok((Format::BinarySI, 10 * k, 0));
    let dec = |e: i64| Ok((Format::DecimalSI, 0, e));
    match s {
        "" => dec(0),
        "Ki" => bin(1),
        "Mi" => bin(2),
        "Gi" => bin(3),
        "Ti" => bin(4),
        "Pi" => bin(5),
        "Ei" => bin(6),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        _ => {
            let rest = s
                .strip_prefix('e')
                .or_else(|| s.strip_prefix('E'))
                .ok_or(QuantityError::Suffix)?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 3
            {
                return Err(QuantityError::Suffix);
            }
            let e: i64 = rest.parse().map_err(|_| QuantityError::Suffix)?;
            Ok((Format::DecimalExponent, 0, e))
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.abs();
        let mut format = self.format;
        if format == Format::BinarySI && (abs < 1024 * NANO || abs % NANO != 0) {
            format = Format::DecimalSI;
        }
        if format == Format::BinarySI {
            let mut v = abs / NANO;
            let mut k = 0;
            while k < 6 && v % 1024 == 0 {
                v /= 1024;
                k += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
            return write!(f, "{sign}{v}{suffix}");
        }
        // Largest exponent (multiple of 3, -9..=18) that keeps an integer mantissa.
        let mut exp: i64 = -9;
        let mut v = abs;
        while exp < 18 && v % 1000 == 0 {
            v /= 1000;
            exp += 3;
        }
        let suffix = if format == Format::DecimalExponent {
            if exp == 0 {
                String::new()
            } else {
                format!("e{exp}")
            }
        } else {
            match exp {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                _ => "E",
            }
            .to_string()
        };
        write!(f, "{sign}{v}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Quantity::parse(s).unwrap().to_string()
    }

    #[test]
    fn canonical_forms_match_upstream() {
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("1024"), "1024");
        assert_eq!(canon("1Ki"), "1Ki");
        assert_eq!(canon("1024Ki"), "1Mi");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("1E3"), "1e3");
        assert_eq!(canon("100M"), "100M");
        assert_eq!(canon("-250m"), "-250m");
        assert_eq!(canon("0.1n"), "1n");
        assert_eq!(canon("0Gi"), "0");
        assert_eq!(canon("1.5k"), "1500");
        assert_eq!(canon("12e6"), "12e6");
    }

    #[test]
    fn compare_and_convert() {
        let a = Quantity::parse("500m").unwrap();
        let b = Quantity::parse("0.5").unwrap();
        let c = Quantity::parse("1").unwrap();
        assert_eq!(a, b);
        assert!(a < c);
        assert_eq!(a.to_millis(), 500);
        assert_eq!(Quantity::parse("1Gi").unwrap().value(), 1 << 30);
        assert!((Quantity::parse("1.5").unwrap().as_f64() - 1.5).abs() < 1e-9);
        assert_eq!(Quantity::parse("1n").unwrap().to_millis(), 1);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Quantity::parse("abc"), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1K"), Err(QuantityError::Suffix));
        assert_eq!(Quantity::parse("1.2.3"), Err(QuantityError::Format));
        assert!(Quantity::parse("").is_err());
        assert!(Quantity::parse("1ee").is_err());
    }
}
