//! Table-driven decoding of one protobuf message into the JSON object a JSON
//! client would have sent: field names from the table, zero values of
//! non-pointer `omitempty` fields dropped (gogo always writes them), repeated
//! fields as arrays, maps as objects, inline structs merged into the parent.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Number, Value};

use super::ProtobufError;
use super::schema::{Field, INLINE, KEEP_ZERO, Kind, Message, REPEATED, Special, message_at};
use super::special;
use super::wire::{self, Reader};

/// Deepest message nesting accepted; recursive types (JSONSchemaProps) and
/// hostile input must not exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 200;

/// What has been read for one field so far.
enum Slot {
    Empty,
    One(Value),
    Many(Vec<Value>),
    /// A singular message: protobuf merges repeated occurrences, which is
    /// the same as parsing their concatenation.
    Msg(Vec<u8>),
    Map(Map<String, Value>),
}

/// Decodes `bytes` as `msg` into its JSON form.
pub(crate) fn decode(
    msg: &'static Message,
    bytes: &[u8],
    depth: usize,
) -> Result<Value, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep(MAX_DEPTH));
    }
    if msg.special() != Special::None {
        return special::decode(msg, bytes, depth);
    }
    let fields = msg.fields();
    let mut slots: Vec<Slot> = fields.iter().map(|_| Slot::Empty).collect();
    let mut reader = Reader::new(bytes);
    while let Some((tag, value)) = reader.next_field()? {
        // Unknown fields are skipped, as upstream's generated code does.
        let Ok(i) = fields.binary_search_by_key(&tag, |f| f.0) else {
            continue;
        };
        read_field(&fields[i], value, &mut slots[i], depth)?;
    }
    let mut out = Map::new();
    for (field, slot) in fields.iter().zip(slots) {
        match slot {
            Slot::Empty => {}
            Slot::One(v) => {
                if field.has(KEEP_ZERO) || !is_zero(&v) {
                    out.insert(field.1.to_owned(), v);
                }
            }
            Slot::Many(vs) => {
                out.insert(field.1.to_owned(), Value::Array(vs));
            }
            Slot::Map(m) => {
                out.insert(field.1.to_owned(), Value::Object(m));
            }
            Slot::Msg(raw) => {
                let Kind::M(index) = field.2 else { continue };
                let v = decode(message_at(index), &raw, depth + 1)?;
                match v {
                    Value::Object(inner) if field.has(INLINE) => out.extend(inner),
                    v => {
                        out.insert(field.1.to_owned(), v);
                    }
                }
            }
        }
    }
    Ok(Value::Object(out))
}

fn read_field(
    field: &Field,
    value: wire::Value<'_>,
    slot: &mut Slot,
    depth: usize,
) -> Result<(), ProtobufError> {
    match field.2 {
        Kind::M(index) if field.has(REPEATED) => {
            let v = decode(message_at(index), bytes_of(field, value)?, depth + 1)?;
            push(slot, v);
        }
        Kind::M(_) => {
            let raw = bytes_of(field, value)?;
            match slot {
                Slot::Msg(buf) => buf.extend_from_slice(raw),
                _ => *slot = Slot::Msg(raw.to_vec()),
            }
        }
        Kind::MapS | Kind::MapB | Kind::MapM(_) => {
            let (k, v) = map_entry(field, bytes_of(field, value)?, depth)?;
            if !matches!(slot, Slot::Map(_)) {
                *slot = Slot::Map(Map::new());
            }
            if let Slot::Map(m) = slot {
                m.insert(k, v);
            }
        }
        kind if field.has(REPEATED) => match value {
            // Packed encoding of a numeric list.
            wire::Value::Bytes(raw) if !matches!(kind, Kind::S | Kind::B) => {
                let mut r = Reader::new(raw);
                while !r.at_end() {
                    let item = match kind {
                        Kind::F64 => wire::Value::Fixed64(r.fixed64()?),
                        _ => wire::Value::Varint(r.varint()?),
                    };
                    push(slot, scalar(field, kind, item)?);
                }
            }
            _ => push(slot, scalar(field, kind, value)?),
        },
        kind => *slot = Slot::One(scalar(field, kind, value)?),
    }
    Ok(())
}

fn push(slot: &mut Slot, v: Value) {
    match slot {
        Slot::Many(vs) => vs.push(v),
        _ => *slot = Slot::Many(vec![v]),
    }
}

/// A map entry is a message {key = 1, value = 2}; both may be absent.
fn map_entry(field: &Field, raw: &[u8], depth: usize) -> Result<(String, Value), ProtobufError> {
    let mut key = String::new();
    let mut val: Option<Value> = None;
    let mut msg_bytes: Vec<u8> = Vec::new();
    let mut reader = Reader::new(raw);
    while let Some((tag, value)) = reader.next_field()? {
        match (tag, field.2) {
            (1, _) => key = string_of(field, value)?,
            (2, Kind::MapS) => val = Some(Value::String(string_of(field, value)?)),
            (2, Kind::MapB) => val = Some(Value::String(STANDARD.encode(bytes_of(field, value)?))),
            (2, _) => msg_bytes.extend_from_slice(bytes_of(field, value)?),
            _ => {}
        }
    }
    let val = match (val, field.2) {
        (Some(v), _) => v,
        (None, Kind::MapM(index)) => decode(message_at(index), &msg_bytes, depth + 1)?,
        (None, _) => Value::String(String::new()),
    };
    Ok((key, val))
}

fn mismatch(field: &Field, value: wire::Value<'_>) -> ProtobufError {
    ProtobufError::Malformed(format!(
        "field {:?} (tag {}) has wire type {}, which does not fit its type",
        field.1,
        field.0,
        value.wire_type()
    ))
}

pub(crate) fn bytes_of<'a>(
    field: &Field,
    value: wire::Value<'a>,
) -> Result<&'a [u8], ProtobufError> {
    match value {
        wire::Value::Bytes(b) => Ok(b),
        v => Err(mismatch(field, v)),
    }
}

/// Go strings may hold any bytes; its JSON encoder replaces invalid UTF-8
/// with U+FFFD, which is what a lossy conversion does too.
pub(crate) fn string_of(field: &Field, value: wire::Value<'_>) -> Result<String, ProtobufError> {
    Ok(String::from_utf8_lossy(bytes_of(field, value)?).into_owned())
}

fn scalar(field: &Field, kind: Kind, value: wire::Value<'_>) -> Result<Value, ProtobufError> {
    use wire::Value as W;
    Ok(match (kind, value) {
        (Kind::S, v) => Value::String(string_of(field, v)?),
        (Kind::B, W::Bytes(b)) => Value::String(STANDARD.encode(b)),
        (Kind::Bool, W::Varint(n)) => Value::Bool(n != 0),
        // Negative int32 values are sign-extended to 64 bits on the wire.
        (Kind::I32, W::Varint(n)) => Value::from(n as i64 as i32),
        (Kind::I64, W::Varint(n)) => Value::from(n as i64),
        (Kind::F64, W::Fixed64(n)) => float(field, f64::from_bits(n))?,
        (_, v) => return Err(mismatch(field, v)),
    })
}

fn float(field: &Field, f: f64) -> Result<Value, ProtobufError> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| {
        ProtobufError::Malformed(format!("field {:?} is not a finite number", field.1))
    })
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        _ => false,
    }
}
