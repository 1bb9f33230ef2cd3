//! SPDY/3 frame codec: every frame type round-trips, header blocks share one
//! compression context per direction, and the dictionary is really used.

use bytes::{Bytes, BytesMut};
use remotecmd::spdy::frame::{self, FLAG_FIN, Frame, HeaderDecoder, HeaderEncoder, Headers};

fn round_trip(frames: &[Frame]) -> Vec<Frame> {
    let mut enc = HeaderEncoder::new();
    let mut dec = HeaderDecoder::new();
    let mut wire = BytesMut::new();
    for f in frames {
        frame::encode(f, &mut enc, &mut wire).unwrap();
    }
    let mut out = Vec::new();
    // Feed the wire a few bytes at a time: frames must only decode once complete.
    let mut buf = BytesMut::new();
    for chunk in wire.chunks(7) {
        buf.extend_from_slice(chunk);
        while let Some(f) = frame::decode(&mut buf, &mut dec).unwrap() {
            out.push(f);
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn all_frame_types_round_trip() {
    let h = Headers::new()
        .with("streamType", "stdout")
        .with("port", "8080");
    let frames = vec![
        Frame::SynStream {
            stream_id: 1,
            associated_to: 0,
            priority: 3,
            flags: 0,
            headers: h.clone(),
        },
        Frame::SynReply {
            stream_id: 1,
            flags: 0,
            headers: Headers::new(),
        },
        Frame::SynStream {
            stream_id: 3,
            associated_to: 0,
            priority: 0,
            flags: FLAG_FIN,
            headers: h.clone(),
        },
        Frame::Data {
            stream_id: 1,
            flags: 0,
            data: Bytes::from_static(b"hello"),
        },
        Frame::Data {
            stream_id: 1,
            flags: FLAG_FIN,
            data: Bytes::new(),
        },
        Frame::RstStream {
            stream_id: 3,
            status: 5,
        },
        Frame::Settings {
            flags: 0,
            entries: vec![(0, frame::SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)],
        },
        Frame::Ping { id: 7 },
        Frame::GoAway {
            last_good_stream_id: 3,
            status: 0,
        },
        Frame::HeadersFrame {
            stream_id: 1,
            flags: 0,
            headers: h.clone(),
        },
        Frame::WindowUpdate {
            stream_id: 1,
            delta: 65536,
        },
    ];
    // Names go on the wire in lower case, as SPDY/3 requires.
    assert_eq!(h.0[0].0, "streamtype");
    assert_eq!(round_trip(&frames), frames);
}

#[test]
fn header_lookup_ignores_case() {
    let h = Headers::new().with("requestID", "4");
    assert_eq!(h.get("requestid"), Some("4"));
    assert_eq!(h.get("RequestID"), Some("4"));
}

#[test]
fn header_compression_uses_the_dictionary_and_shares_context() {
    let mut enc = HeaderEncoder::new();
    let h = Headers::new()
        .with("content-type", "text/plain")
        .with("user-agent", "kubectl");
    let f = Frame::SynReply {
        stream_id: 1,
        flags: 0,
        headers: h,
    };
    let mut first = BytesMut::new();
    frame::encode(&f, &mut enc, &mut first).unwrap();
    let mut second = BytesMut::new();
    frame::encode(&f, &mut enc, &mut second).unwrap();
    // The second block refers back to the first in the shared zlib window.
    assert!(
        second.len() < first.len(),
        "{} !< {}",
        second.len(),
        first.len()
    );
    // The zlib header announces a preset dictionary (FDICT bit).
    let zlib = &first[12..];
    assert_eq!(zlib[1] & 0x20, 0x20);
    // A decoder without the dictionary could not read it; ours can.
    let mut dec = HeaderDecoder::new();
    let mut wire = first.clone();
    wire.extend_from_slice(&second);
    assert_eq!(frame::decode(&mut wire, &mut dec).unwrap(), Some(f.clone()));
    assert_eq!(frame::decode(&mut wire, &mut dec).unwrap(), Some(f));
}

#[test]
fn control_frames_of_unknown_type_are_skipped() {
    let mut wire = BytesMut::from(&[0x80, 0x03, 0x00, 0x0a, 0, 0, 0, 2, 0xaa, 0xbb][..]);
    let mut dec = HeaderDecoder::new();
    assert_eq!(
        frame::decode(&mut wire, &mut dec).unwrap(),
        Some(Frame::Unknown { frame_type: 10 })
    );
    assert!(wire.is_empty());
}

#[test]
fn wrong_version_is_an_error() {
    let mut wire = BytesMut::from(&[0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1][..]);
    assert!(frame::decode(&mut wire, &mut HeaderDecoder::new()).is_err());
}
