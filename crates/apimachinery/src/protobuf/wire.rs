//! The protobuf wire format, read-only: varints, fixed 32/64-bit values and
//! length-delimited fields. Nothing here knows about Kubernetes types.

use super::ProtobufError;

/// One field value as it sits on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl Value<'_> {
    pub(crate) fn wire_type(&self) -> u8 {
        match self {
            Value::Varint(_) => 0,
            Value::Fixed64(_) => 1,
            Value::Bytes(_) => 2,
            Value::Fixed32(_) => 5,
        }
    }
}

/// A cursor over a message's bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut out = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or(ProtobufError::Truncated)?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(ProtobufError::Malformed("varint overflows 64 bits".into()));
            }
            out |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(ProtobufError::Malformed(
            "varint longer than 10 bytes".into(),
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        let end = self.pos.checked_add(n).ok_or(ProtobufError::Truncated)?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(ProtobufError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    pub(crate) fn fixed32(&mut self) -> Result<u32, ProtobufError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// The next `(tag, value)`, or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, ProtobufError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3)
            .ok()
            .filter(|t| *t != 0)
            .ok_or_else(|| ProtobufError::Malformed(format!("invalid field tag {}", key >> 3)))?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(self.fixed64()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Truncated)?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(self.fixed32()?),
            // Groups (3, 4) are proto2 relics no Kubernetes type uses.
            w => {
                return Err(ProtobufError::Malformed(format!(
                    "unsupported wire type {w} for field {tag}"
                )));
            }
        };
        Ok(Some((tag, value)))
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_and_fields() {
        // field 1 varint 300, field 2 bytes "hi", field 3 fixed32, field 4 fixed64
        let buf = [
            0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0,
            0,
        ];
        let mut r = Reader::new(&buf);
        assert_eq!(r.next_field().ok().flatten(), Some((1, Value::Varint(300))));
        assert_eq!(
            r.next_field().ok().flatten(),
            Some((2, Value::Bytes(b"hi")))
        );
        assert_eq!(r.next_field().ok().flatten(), Some((3, Value::Fixed32(1))));
        assert_eq!(r.next_field().ok().flatten(), Some((4, Value::Fixed64(2))));
        assert_eq!(r.next_field().ok().flatten(), None);
    }

    #[test]
    fn rejects_truncation_and_bad_keys() {
        let mut r = Reader::new(&[0x12, 0x05, b'a']);
        assert!(matches!(r.next_field(), Err(ProtobufError::Truncated)));
        let mut r = Reader::new(&[0x08, 0x80]);
        assert!(matches!(r.next_field(), Err(ProtobufError::Truncated)));
        let mut r = Reader::new(&[0x00, 0x01]);
        assert!(matches!(r.next_field(), Err(ProtobufError::Malformed(_))));
        let mut r = Reader::new(&[0x0b]);
        assert!(matches!(r.next_field(), Err(ProtobufError::Malformed(_))));
        let mut r = Reader::new(&[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ]);
        assert!(matches!(r.next_field(), Err(ProtobufError::Malformed(_))));
    }
}
