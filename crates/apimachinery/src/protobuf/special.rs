//! Messages whose JSON form is not an object of their fields: times,
//! durations, quantities, int-or-string, raw JSON and embedded objects, the
//! string-list wrappers and the apiextensions schema unions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::decode::{bytes_of, decode as decode_message};
use super::schema::{Kind, Message, Special, message_at};
use super::wire::{self, Reader};
use super::{MAGIC, ProtobufError, decode_envelope};

/// The parts of a special message, by tag: last varint, concatenated bytes
/// (singular messages merge), and every bytes value (repeated fields).
#[derive(Default)]
struct Parts<'a> {
    varint: [Option<u64>; 4],
    bytes: [Option<Vec<u8>>; 4],
    list: [Vec<&'a [u8]>; 4],
}

fn parts<'a>(msg: &'static Message, raw: &'a [u8]) -> Result<Parts<'a>, ProtobufError> {
    let mut p = Parts::default();
    let mut reader = Reader::new(raw);
    while let Some((tag, value)) = reader.next_field()? {
        let (Some(field), Ok(i)) = (msg.field(tag), usize::try_from(tag)) else {
            continue;
        };
        if i >= 4 {
            continue;
        }
        match value {
            wire::Value::Varint(n) => p.varint[i] = Some(n),
            wire::Value::Bytes(b) => {
                p.list[i].push(b);
                p.bytes[i].get_or_insert_with(Vec::new).extend_from_slice(b);
            }
            v => {
                bytes_of(field, v)?;
            }
        }
    }
    Ok(p)
}

pub(crate) fn decode(
    msg: &'static Message,
    raw: &[u8],
    depth: usize,
) -> Result<Value, ProtobufError> {
    let p = parts(msg, raw)?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(match msg.special() {
        Special::None => decode_message(msg, raw, depth)?,
        // An empty Time is Go's zero time, whose JSON is null; upstream
        // drops nanos of Time (its JSON has whole seconds only).
        Special::Time if raw.is_empty() => Value::Null,
        Special::Time => Value::String(rfc3339(p.varint[1].unwrap_or(0) as i64, None)?),
        Special::MicroTime if raw.is_empty() => Value::Null,
        Special::MicroTime => {
            let nanos = p.varint[2].unwrap_or(0) as i64 as i32;
            Value::String(rfc3339(p.varint[1].unwrap_or(0) as i64, Some(nanos))?)
        }
        Special::Duration => Value::String(go_duration(p.varint[1].unwrap_or(0) as i64)),
        // The zero Quantity renders as "0".
        Special::Quantity => match p.bytes[1].as_deref() {
            Some(b) if !b.is_empty() => Value::String(text(b)),
            _ => Value::String("0".into()),
        },
        Special::IntOrString if p.varint[1] == Some(1) => {
            Value::String(p.bytes[3].as_deref().map(text).unwrap_or_default())
        }
        Special::IntOrString => Value::from(p.varint[2].unwrap_or(0) as i64 as i32),
        Special::RawExtension => raw_extension(p.bytes[1].as_deref().unwrap_or(&[]), depth)?,
        Special::RawJson => match p.bytes[1].as_deref() {
            None | Some([]) => Value::Null,
            Some(b) => serde_json::from_slice(b).map_err(|e| {
                ProtobufError::Malformed(format!("{} holds invalid JSON: {e}", msg.name()))
            })?,
        },
        Special::Items => Value::Array(p.list[1].iter().map(|b| Value::String(text(b))).collect()),
        Special::SchemaOrBool => match &p.bytes[2] {
            Some(b) => sub(msg, 2, b, depth)?,
            None => Value::Bool(p.varint[1].unwrap_or(0) != 0),
        },
        Special::SchemaOrArray if !p.list[2].is_empty() => Value::Array(
            p.list[2]
                .iter()
                .map(|b| sub(msg, 2, b, depth))
                .collect::<Result<_, _>>()?,
        ),
        Special::SchemaOrStringArray if !p.list[2].is_empty() => {
            Value::Array(p.list[2].iter().map(|b| Value::String(text(b))).collect())
        }
        Special::SchemaOrArray | Special::SchemaOrStringArray => match &p.bytes[1] {
            Some(b) => sub(msg, 1, b, depth)?,
            None => Value::Null,
        },
    })
}

/// Decodes field `tag` of a special message, which the table types as a
/// message (the JSONSchemaProps inside the schema unions).
fn sub(msg: &'static Message, tag: u32, raw: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    match msg.field(tag).map(|f| f.2) {
        Some(Kind::M(index)) => decode_message(message_at(index), raw, depth + 1),
        _ => Err(ProtobufError::Malformed(format!(
            "{} field {tag} is not a message",
            msg.name()
        ))),
    }
}

/// RawExtension holds the embedded object's own encoding: JSON from JSON
/// clients, a nested `k8s\0` envelope from protobuf ones.
fn raw_extension(raw: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    if raw.starts_with(MAGIC) {
        return decode_envelope(raw, depth + 1);
    }
    Ok(serde_json::from_slice(raw).unwrap_or_else(|_| Value::String(STANDARD.encode(raw))))
}

/// RFC 3339 in UTC: whole seconds for Time, six fractional digits for
/// MicroTime (`nanos` given), as upstream's JSON marshalers write them.
fn rfc3339(seconds: i64, nanos: Option<i32>) -> Result<String, ProtobufError> {
    let ts = jiff::Timestamp::new(seconds, nanos.unwrap_or(0).clamp(0, 999_999_999))
        .map_err(|e| ProtobufError::Malformed(format!("timestamp out of range: {e}")))?;
    let base = ts.strftime("%Y-%m-%dT%H:%M:%S");
    Ok(match nanos {
        None => format!("{base}Z"),
        Some(_) => format!("{base}.{:06}Z", ts.subsec_nanosecond() / 1000),
    })
}

/// Go's `time.Duration.String()`: `1h0m0s`, `1m30s`, `1.5s`, `250ms`, `0s`.
pub(crate) fn go_duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    if u == 0 {
        return "0s".into();
    }
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        return format!("{sign}{}{unit}", fraction(u, prec));
    }
    let secs = fraction(u % 60_000_000_000, 9);
    let minutes = u / 60_000_000_000;
    match (minutes / 60, minutes % 60) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

/// `v / 10^prec` with its fractional digits, trailing zeros trimmed.
fn fraction(v: u64, prec: u32) -> String {
    let scale = 10u64.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(250_000_000), "250ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(7), "7ns");
        assert_eq!(go_duration(-5_000_000_000), "-5s");
        assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn formats_times() {
        assert_eq!(
            rfc3339(1_704_164_705, None).ok(),
            Some("2024-01-02T03:05:05Z".into())
        );
        assert_eq!(
            rfc3339(1_704_164_705, Some(123_456_789)).ok(),
            Some("2024-01-02T03:05:05.123456Z".into())
        );
        assert!(rfc3339(i64::MAX, None).is_err());
    }
}
