//! SPDY/3 frame codec: the wire layout of every frame type (SPDY/3 spec §2.2,
//! §2.6) and the header-block compression that keeps one zlib stream per
//! direction for the whole session, primed with the SPDY/3 dictionary.

use super::dictionary::dictionary;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

pub const VERSION: u16 = 3;
pub const FLAG_FIN: u8 = 0x01;
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// SETTINGS id of the initial per-stream window.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u32 = 7;
/// The window every stream starts with before SETTINGS says otherwise.
pub const DEFAULT_WINDOW: u32 = 64 * 1024;
/// Frames longer than this are refused (the length field allows 16 MiB).
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame too short for its type")]
    Truncated,
    #[error("frame of {0} bytes is too long")]
    TooLong(usize),
    #[error("unsupported SPDY version {0}")]
    Version(u16),
    #[error("header block: {0}")]
    Headers(String),
}

/// A header block: lower-case names, values as sent (several values of one
/// name are NUL-separated on the wire and kept that way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a header; SPDY/3 requires lower-case names.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.push((name.to_ascii_lowercase(), value.into()));
        self
    }
    /// Case-insensitive lookup (Go peers canonicalise names when reading).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        stream_id: u32,
        associated_to: u32,
        priority: u8,
        flags: u8,
        headers: Headers,
    },
    SynReply {
        stream_id: u32,
        flags: u8,
        headers: Headers,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Settings {
        flags: u8,
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good_stream_id: u32,
        status: u32,
    },
    HeadersFrame {
        stream_id: u32,
        flags: u8,
        headers: Headers,
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    Data {
        stream_id: u32,
        flags: u8,
        data: Bytes,
    },
    /// A control frame type this codec does not know: skipped, as the spec asks.
    Unknown {
        frame_type: u16,
    },
}

/// Compresses outgoing header blocks; one per session direction.
pub struct HeaderEncoder {
    z: Compress,
}

impl Default for HeaderEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderEncoder {
    pub fn new() -> Self {
        let mut z = Compress::new(Compression::default(), true);
        // Cannot fail for a fresh zlib stream.
        let _ = z.set_dictionary(dictionary());
        Self { z }
    }

    fn encode(&mut self, headers: &Headers) -> Result<Vec<u8>, FrameError> {
        let mut raw = BytesMut::new();
        raw.put_u32(headers.0.len() as u32);
        for (n, v) in &headers.0 {
            raw.put_u32(n.len() as u32);
            raw.put_slice(n.as_bytes());
            raw.put_u32(v.len() as u32);
            raw.put_slice(v.as_bytes());
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input: &[u8] = &raw;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before = self.z.total_in();
            self.z
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| FrameError::Headers(e.to_string()))?;
            let used = (self.z.total_in() - before) as usize;
            input = &input[used..];
            // A sync flush is complete once input is consumed and room is left over.
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// Decompresses incoming header blocks; one per session direction.
pub struct HeaderDecoder {
    z: Decompress,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderDecoder {
    pub fn new() -> Self {
        Self {
            z: Decompress::new(true),
        }
    }

    fn decode(&mut self, mut input: &[u8]) -> Result<Headers, FrameError> {
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(256));
            }
            let before = self.z.total_in();
            match self
                .z
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
            {
                Ok(st) => {
                    let used = (self.z.total_in() - before) as usize;
                    input = &input[used..];
                    if matches!(st, Status::StreamEnd) {
                        return Err(FrameError::Headers("zlib stream ended".into()));
                    }
                    if input.is_empty() && out.len() < out.capacity() {
                        break;
                    }
                    if used == 0 && out.len() < out.capacity() {
                        break;
                    }
                }
                Err(e) if e.needs_dictionary().is_some() => {
                    let used = (self.z.total_in() - before) as usize;
                    input = &input[used..];
                    self.z
                        .set_dictionary(dictionary())
                        .map_err(|e| FrameError::Headers(e.to_string()))?;
                }
                Err(e) => return Err(FrameError::Headers(e.to_string())),
            }
            if out.len() > MAX_FRAME_LEN {
                return Err(FrameError::TooLong(out.len()));
            }
        }
        parse_header_block(&out)
    }
}

fn parse_header_block(mut b: &[u8]) -> Result<Headers, FrameError> {
    fn take<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], FrameError> {
        if b.len() < 4 {
            return Err(FrameError::Truncated);
        }
        let n = b.get_u32() as usize;
        if b.len() < n {
            return Err(FrameError::Truncated);
        }
        let (v, rest) = b.split_at(n);
        *b = rest;
        Ok(v)
    }
    if b.len() < 4 {
        return Err(FrameError::Truncated);
    }
    let count = b.get_u32() as usize;
    let mut h = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let n = take(&mut b)?;
        let v = take(&mut b)?;
        let n = String::from_utf8(n.to_vec()).map_err(|_| FrameError::Headers("name".into()))?;
        let v = String::from_utf8_lossy(v).into_owned();
        h.push((n, v));
    }
    Ok(Headers(h))
}

fn control(out: &mut BytesMut, ty: u16, flags: u8, body: &[u8]) {
    out.put_u16(0x8000 | VERSION);
    out.put_u16(ty);
    out.put_u32(((flags as u32) << 24) | body.len() as u32);
    out.put_slice(body);
}

/// Appends `frame`'s wire form to `out`.
pub fn encode(
    frame: &Frame,
    enc: &mut HeaderEncoder,
    out: &mut BytesMut,
) -> Result<(), FrameError> {
    let mut b = BytesMut::new();
    match frame {
        Frame::SynStream {
            stream_id,
            associated_to,
            priority,
            flags,
            headers,
        } => {
            b.put_u32(stream_id & 0x7fff_ffff);
            b.put_u32(associated_to & 0x7fff_ffff);
            b.put_u8((priority & 7) << 5);
            b.put_u8(0);
            b.put_slice(&enc.encode(headers)?);
            control(out, TYPE_SYN_STREAM, *flags, &b);
        }
        Frame::SynReply {
            stream_id,
            flags,
            headers,
        } => {
            b.put_u32(stream_id & 0x7fff_ffff);
            b.put_slice(&enc.encode(headers)?);
            control(out, TYPE_SYN_REPLY, *flags, &b);
        }
        Frame::HeadersFrame {
            stream_id,
            flags,
            headers,
        } => {
            b.put_u32(stream_id & 0x7fff_ffff);
            b.put_slice(&enc.encode(headers)?);
            control(out, TYPE_HEADERS, *flags, &b);
        }
        Frame::RstStream { stream_id, status } => {
            b.put_u32(stream_id & 0x7fff_ffff);
            b.put_u32(*status);
            control(out, TYPE_RST_STREAM, 0, &b);
        }
        Frame::Settings { flags, entries } => {
            b.put_u32(entries.len() as u32);
            for (f, id, v) in entries {
                b.put_u32(((*f as u32) << 24) | (id & 0x00ff_ffff));
                b.put_u32(*v);
            }
            control(out, TYPE_SETTINGS, *flags, &b);
        }
        Frame::Ping { id } => control(out, TYPE_PING, 0, &id.to_be_bytes()),
        Frame::GoAway {
            last_good_stream_id,
            status,
        } => {
            b.put_u32(last_good_stream_id & 0x7fff_ffff);
            b.put_u32(*status);
            control(out, TYPE_GOAWAY, 0, &b);
        }
        Frame::WindowUpdate { stream_id, delta } => {
            b.put_u32(stream_id & 0x7fff_ffff);
            b.put_u32(delta & 0x7fff_ffff);
            control(out, TYPE_WINDOW_UPDATE, 0, &b);
        }
        Frame::Data {
            stream_id,
            flags,
            data,
        } => {
            if data.len() >= 1 << 24 {
                return Err(FrameError::TooLong(data.len()));
            }
            out.put_u32(stream_id & 0x7fff_ffff);
            out.put_u32(((*flags as u32) << 24) | data.len() as u32);
            out.put_slice(data);
        }
        Frame::Unknown { .. } => {}
    }
    Ok(())
}

/// Decodes one frame from the front of `buf` if it is complete, consuming it.
pub fn decode(buf: &mut BytesMut, dec: &mut HeaderDecoder) -> Result<Option<Frame>, FrameError> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let len = (u32::from_be_bytes([0, buf[5], buf[6], buf[7]])) as usize;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLong(len));
    }
    if buf.len() < 8 + len {
        return Ok(None);
    }
    let mut head = buf.split_to(8);
    let mut body = buf.split_to(len);
    let w0 = head.get_u32();
    let flags = head.get_u8();
    if w0 & 0x8000_0000 == 0 {
        return Ok(Some(Frame::Data {
            stream_id: w0 & 0x7fff_ffff,
            flags,
            data: body.freeze(),
        }));
    }
    let version = ((w0 >> 16) & 0x7fff) as u16;
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let ty = (w0 & 0xffff) as u16;
    let need = |n: usize, b: &BytesMut| {
        if b.len() < n {
            Err(FrameError::Truncated)
        } else {
            Ok(())
        }
    };
    let frame = match ty {
        TYPE_SYN_STREAM => {
            need(10, &body)?;
            let stream_id = body.get_u32() & 0x7fff_ffff;
            let associated_to = body.get_u32() & 0x7fff_ffff;
            let priority = body.get_u8() >> 5;
            body.advance(1);
            let headers = dec.decode(&body)?;
            Frame::SynStream {
                stream_id,
                associated_to,
                priority,
                flags,
                headers,
            }
        }
        TYPE_SYN_REPLY | TYPE_HEADERS => {
            need(4, &body)?;
            let stream_id = body.get_u32() & 0x7fff_ffff;
            let headers = dec.decode(&body)?;
            if ty == TYPE_SYN_REPLY {
                Frame::SynReply {
                    stream_id,
                    flags,
                    headers,
                }
            } else {
                Frame::HeadersFrame {
                    stream_id,
                    flags,
                    headers,
                }
            }
        }
        TYPE_RST_STREAM => {
            need(8, &body)?;
            Frame::RstStream {
                stream_id: body.get_u32() & 0x7fff_ffff,
                status: body.get_u32(),
            }
        }
        TYPE_SETTINGS => {
            need(4, &body)?;
            let n = body.get_u32() as usize;
            need(n * 8, &body)?;
            let entries = (0..n)
                .map(|_| {
                    let w = body.get_u32();
                    ((w >> 24) as u8, w & 0x00ff_ffff, body.get_u32())
                })
                .collect();
            Frame::Settings { flags, entries }
        }
        TYPE_PING => {
            need(4, &body)?;
            Frame::Ping { id: body.get_u32() }
        }
        TYPE_GOAWAY => {
            need(4, &body)?;
            let last_good_stream_id = body.get_u32() & 0x7fff_ffff;
            let status = if body.len() >= 4 { body.get_u32() } else { 0 };
            Frame::GoAway {
                last_good_stream_id,
                status,
            }
        }
        TYPE_WINDOW_UPDATE => {
            need(8, &body)?;
            Frame::WindowUpdate {
                stream_id: body.get_u32() & 0x7fff_ffff,
                delta: body.get_u32() & 0x7fff_ffff,
            }
        }
        other => Frame::Unknown { frame_type: other },
    };
    Ok(Some(frame))
}
