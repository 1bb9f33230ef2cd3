//! A SPDY/3.1 session over any byte stream, usable from both ends: the
//! server accepts peer-opened streams, the client opens them (both may do
//! both). One task reads and dispatches frames, one task writes them (the
//! header compressor needs wire order); control frames overtake data.
//!
//! Flow control: we advertise a receive window and return it with
//! WINDOW_UPDATE as the application consumes data. Our send side honours the
//! peer's windows only once the peer shows it does flow control (a SETTINGS
//! initial window or a WINDOW_UPDATE): spdystream (kubectl, containerd, the
//! kubelet upstream) never sends either and would otherwise stall us at 64 KiB.
//! Receive buffers are bounded per stream, so a peer that ignores windows is
//! slowed by TCP instead.

use super::frame::{self, FLAG_FIN, FLAG_UNIDIRECTIONAL, Frame, Headers};
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// The window we advertise for each stream we receive on.
pub const RECV_WINDOW: u32 = 256 * 1024;
/// Largest DATA frame we send.
const MAX_CHUNK: usize = 32 * 1024;
/// Frames buffered per stream before the reader waits for the application.
const STREAM_BUFFER: usize = 256;
/// How long `open` waits for SYN_REPLY (upstream's stream creation timeout).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

pub const RST_PROTOCOL_ERROR: u32 = 1;
pub const RST_REFUSED_STREAM: u32 = 3;
pub const RST_CANCEL: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("session closed")]
    Closed,
    #[error("stream reset by peer (status {0})")]
    Reset(u32),
    #[error("no reply to stream within {0:?}")]
    ReplyTimeout(Duration),
    #[error("stream already closed for writing")]
    WriteClosed,
}

struct Window {
    avail: AtomicI64,
    reset: AtomicBool,
    notify: Notify,
}

struct Entry {
    data_tx: Option<mpsc::Sender<Result<Bytes, SessionError>>>,
    reply_tx: Option<oneshot::Sender<Result<Headers, SessionError>>>,
    window: Arc<Window>,
    local_fin: bool,
    remote_fin: bool,
}

struct State {
    next_id: u32,
    streams: HashMap<u32, Entry>,
    initial_send_window: i64,
    closed: bool,
    last_peer_stream: u32,
}

struct Shared {
    ctrl: mpsc::UnboundedSender<Out>,
    data: mpsc::Sender<Out>,
    state: Mutex<State>,
    peer_flow_control: AtomicBool,
    window_updates_received: AtomicU64,
    done: watch::Sender<bool>,
}

enum Out {
    Frame(Frame),
    /// Write everything queued before this, then shut the write side down.
    Shutdown,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn send_ctrl(&self, f: Frame) {
        let _ = self.ctrl.send(Out::Frame(f));
    }
    fn mark_local_fin(&self, id: u32) {
        let mut st = self.lock();
        if let Some(e) = st.streams.get_mut(&id) {
            e.local_fin = true;
            if e.remote_fin {
                st.streams.remove(&id);
            }
        }
    }
}

/// A handle on the session; clone freely.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    role: Role,
}

/// Streams the peer opens, in order.
pub type Incoming = mpsc::Receiver<Stream>;

impl Session {
    /// Starts the session's reader and writer tasks on `io`.
    pub fn new<IO>(io: IO, role: Role) -> (Session, Incoming)
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (ctrl_tx, ctrl_rx) = mpsc::unbounded_channel();
        let (data_tx, data_rx) = mpsc::channel(64);
        let (done, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            ctrl: ctrl_tx,
            data: data_tx,
            state: Mutex::new(State {
                next_id: if role == Role::Client { 1 } else { 2 },
                streams: HashMap::new(),
                initial_send_window: frame::DEFAULT_WINDOW as i64,
                closed: false,
                last_peer_stream: 0,
            }),
            peer_flow_control: AtomicBool::new(false),
            window_updates_received: AtomicU64::new(0),
            done,
        });
        let (r, w) = tokio::io::split(io);
        let (in_tx, in_rx) = mpsc::channel(64);
        shared.send_ctrl(Frame::Settings {
            flags: 0,
            entries: vec![(0, frame::SETTINGS_INITIAL_WINDOW_SIZE, RECV_WINDOW)],
        });
        tokio::spawn(write_loop(w, ctrl_rx, data_rx));
        tokio::spawn(read_loop(r, shared.clone(), in_tx));
        (Session { shared, role }, in_rx)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Opens a stream and waits for the peer's SYN_REPLY.
    pub async fn open(&self, headers: Headers, fin: bool) -> Result<Stream, SessionError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let (data_tx, data_rx) = mpsc::channel(STREAM_BUFFER);
        let window;
        let id = {
            let mut st = self.shared.lock();
            if st.closed {
                return Err(SessionError::Closed);
            }
            let id = st.next_id;
            st.next_id += 2;
            window = Arc::new(Window {
                avail: AtomicI64::new(st.initial_send_window),
                reset: AtomicBool::new(false),
                notify: Notify::new(),
            });
            st.streams.insert(
                id,
                Entry {
                    data_tx: Some(data_tx),
                    reply_tx: Some(reply_tx),
                    window: window.clone(),
                    local_fin: fin,
                    remote_fin: false,
                },
            );
            id
        };
        self.shared.send_ctrl(Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            flags: if fin { FLAG_FIN } else { 0 },
            headers: headers.clone(),
        });
        match tokio::time::timeout(REPLY_TIMEOUT, reply_rx).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(_)) => return Err(SessionError::Closed),
            Err(_) => {
                self.shared.send_ctrl(Frame::RstStream {
                    stream_id: id,
                    status: RST_CANCEL,
                });
                self.shared.lock().streams.remove(&id);
                return Err(SessionError::ReplyTimeout(REPLY_TIMEOUT));
            }
        }
        Ok(Stream::build(
            id,
            headers,
            self.shared.clone(),
            data_rx,
            window,
            fin,
        ))
    }

    /// Sends GOAWAY after everything queued and shuts the write side down.
    pub async fn close(&self) {
        let last = self.shared.lock().last_peer_stream;
        let _ = self
            .shared
            .data
            .send(Out::Frame(Frame::GoAway {
                last_good_stream_id: last,
                status: 0,
            }))
            .await;
        let _ = self.shared.data.send(Out::Shutdown).await;
    }

    /// Resolves when the connection has ended (peer closed it or it failed).
    pub async fn closed(&self) {
        let mut rx = self.shared.done.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }

    /// WINDOW_UPDATE frames received so far (diagnostics and tests).
    pub fn window_updates_received(&self) -> u64 {
        self.shared.window_updates_received.load(Ordering::Relaxed)
    }
}

/// One SPDY stream: the headers it was opened with, a receive half and a send half.
pub struct Stream {
    id: u32,
    headers: Headers,
    pub reader: StreamReader,
    pub writer: StreamWriter,
}

impl Stream {
    fn build(
        id: u32,
        headers: Headers,
        shared: Arc<Shared>,
        rx: mpsc::Receiver<Result<Bytes, SessionError>>,
        window: Arc<Window>,
        local_fin: bool,
    ) -> Stream {
        Stream {
            id,
            headers,
            reader: StreamReader {
                id,
                rx,
                shared: shared.clone(),
                unacked: 0,
            },
            writer: StreamWriter {
                id,
                shared,
                window,
                fin_sent: local_fin,
            },
        }
    }
    pub fn id(&self) -> u32 {
        self.id
    }
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
    /// Accepts a peer-opened stream (SYN_REPLY).
    pub fn reply(&self, headers: Headers) {
        self.writer.shared.send_ctrl(Frame::SynReply {
            stream_id: self.id,
            flags: 0,
            headers,
        });
    }
    pub fn split(self) -> (StreamReader, StreamWriter) {
        (self.reader, self.writer)
    }
}

pub struct StreamReader {
    id: u32,
    rx: mpsc::Receiver<Result<Bytes, SessionError>>,
    shared: Arc<Shared>,
    unacked: u32,
}

impl StreamReader {
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The next chunk; `None` once the peer half-closed (FIN) or the session ended.
    pub async fn recv(&mut self) -> Option<Result<Bytes, SessionError>> {
        let item = self.rx.recv().await;
        if let Some(Ok(b)) = &item {
            self.unacked += b.len() as u32;
            if self.unacked >= RECV_WINDOW / 2 {
                self.shared.send_ctrl(Frame::WindowUpdate {
                    stream_id: self.id,
                    delta: self.unacked,
                });
                self.unacked = 0;
            }
        }
        item
    }
    /// Everything until FIN.
    pub async fn read_to_end(&mut self) -> Result<Vec<u8>, SessionError> {
        let mut out = Vec::new();
        while let Some(b) = self.recv().await {
            out.extend_from_slice(&b?);
        }
        Ok(out)
    }
}

pub struct StreamWriter {
    id: u32,
    shared: Arc<Shared>,
    window: Arc<Window>,
    fin_sent: bool,
}

impl StreamWriter {
    pub fn id(&self) -> u32 {
        self.id
    }
    /// Sends `data`, waiting for window when the peer does flow control.
    pub async fn write(&mut self, mut data: Bytes) -> Result<(), SessionError> {
        if self.fin_sent {
            return Err(SessionError::WriteClosed);
        }
        while !data.is_empty() {
            let mut n = data.len().min(MAX_CHUNK);
            if self.shared.peer_flow_control.load(Ordering::Acquire) {
                loop {
                    let notified = self.window.notify.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    if self.window.reset.load(Ordering::Acquire) {
                        return Err(SessionError::Reset(RST_CANCEL));
                    }
                    let avail = self.window.avail.load(Ordering::Acquire);
                    if avail > 0 {
                        n = n.min(avail as usize);
                        break;
                    }
                    if self.shared.lock().closed {
                        return Err(SessionError::Closed);
                    }
                    notified.await;
                }
            }
            self.window.avail.fetch_sub(n as i64, Ordering::AcqRel);
            let chunk = data.split_to(n);
            self.shared
                .data
                .send(Out::Frame(Frame::Data {
                    stream_id: self.id,
                    flags: 0,
                    data: chunk,
                }))
                .await
                .map_err(|_| SessionError::Closed)?;
        }
        Ok(())
    }
    /// Half-closes: an empty DATA frame with FIN.
    pub async fn close(&mut self) -> Result<(), SessionError> {
        if self.fin_sent {
            return Ok(());
        }
        self.fin_sent = true;
        self.shared.mark_local_fin(self.id);
        self.shared
            .data
            .send(Out::Frame(Frame::Data {
                stream_id: self.id,
                flags: FLAG_FIN,
                data: Bytes::new(),
            }))
            .await
            .map_err(|_| SessionError::Closed)
    }
    /// Aborts the stream in both directions.
    pub fn reset(&mut self, status: u32) {
        self.fin_sent = true;
        self.shared.send_ctrl(Frame::RstStream {
            stream_id: self.id,
            status,
        });
        self.shared.lock().streams.remove(&self.id);
    }
}

async fn write_loop<W: AsyncWrite>(
    w: W,
    mut ctrl: mpsc::UnboundedReceiver<Out>,
    mut data: mpsc::Receiver<Out>,
) {
    tokio::pin!(w);
    let mut enc = frame::HeaderEncoder::new();
    let mut buf = BytesMut::new();
    loop {
        let out = tokio::select! {
            biased;
            Some(o) = ctrl.recv() => o,
            Some(o) = data.recv() => o,
            else => break,
        };
        match out {
            Out::Frame(f) => {
                if let Err(e) = frame::encode(&f, &mut enc, &mut buf) {
                    tracing::warn!(error = %e, "spdy: cannot encode frame");
                    continue;
                }
                // Coalesce whatever else is already queued into one write.
                while buf.len() < 256 * 1024 {
                    let next = ctrl.try_recv().ok().or_else(|| data.try_recv().ok());
                    match next {
                        Some(Out::Frame(f)) => {
                            let _ = frame::encode(&f, &mut enc, &mut buf);
                        }
                        Some(Out::Shutdown) => {
                            let _ = w.write_all(&buf).await;
                            let _ = w.flush().await;
                            let _ = w.shutdown().await;
                            return;
                        }
                        None => break,
                    }
                }
                if w.write_all(&buf).await.is_err() || w.flush().await.is_err() {
                    break;
                }
                buf.clear();
            }
            Out::Shutdown => {
                let _ = w.shutdown().await;
                break;
            }
        }
    }
}

async fn read_loop<R: AsyncRead>(r: R, shared: Arc<Shared>, incoming: mpsc::Sender<Stream>) {
    tokio::pin!(r);
    let mut dec = frame::HeaderDecoder::new();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    'outer: loop {
        loop {
            match frame::decode(&mut buf, &mut dec) {
                Ok(Some(f)) => handle(f, &shared, &incoming).await,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "spdy: bad frame, closing session");
                    break 'outer;
                }
            }
        }
        match r.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // The connection is gone: end every stream.
    let mut st = shared.lock();
    st.closed = true;
    for (_, mut e) in st.streams.drain() {
        e.data_tx = None;
        if let Some(tx) = e.reply_tx.take() {
            let _ = tx.send(Err(SessionError::Closed));
        }
        e.window.notify.notify_waiters();
    }
    drop(st);
    shared.done.send_replace(true);
}

async fn handle(f: Frame, shared: &Arc<Shared>, incoming: &mpsc::Sender<Stream>) {
    match f {
        Frame::SynStream {
            stream_id,
            flags,
            headers,
            ..
        } => {
            let (data_tx, data_rx) = mpsc::channel(STREAM_BUFFER);
            let window = {
                let mut st = shared.lock();
                st.last_peer_stream = st.last_peer_stream.max(stream_id);
                let window = Arc::new(Window {
                    avail: AtomicI64::new(st.initial_send_window),
                    reset: AtomicBool::new(false),
                    notify: Notify::new(),
                });
                let remote_fin = flags & FLAG_FIN != 0;
                st.streams.insert(
                    stream_id,
                    Entry {
                        data_tx: (!remote_fin).then_some(data_tx),
                        reply_tx: None,
                        window: window.clone(),
                        local_fin: flags & FLAG_UNIDIRECTIONAL != 0,
                        remote_fin,
                    },
                );
                window
            };
            let local_fin = flags & FLAG_UNIDIRECTIONAL != 0;
            let s = Stream::build(
                stream_id,
                headers,
                shared.clone(),
                data_rx,
                window,
                local_fin,
            );
            if incoming.send(s).await.is_err() {
                shared.send_ctrl(Frame::RstStream {
                    stream_id,
                    status: RST_REFUSED_STREAM,
                });
                shared.lock().streams.remove(&stream_id);
            }
        }
        Frame::SynReply {
            stream_id,
            flags,
            headers,
        }
        | Frame::HeadersFrame {
            stream_id,
            flags,
            headers,
        } => {
            let mut st = shared.lock();
            if let Some(e) = st.streams.get_mut(&stream_id) {
                if let Some(tx) = e.reply_tx.take() {
                    let _ = tx.send(Ok(headers));
                }
                if flags & FLAG_FIN != 0 {
                    e.data_tx = None;
                    e.remote_fin = true;
                    if e.local_fin {
                        st.streams.remove(&stream_id);
                    }
                }
            }
        }
        Frame::Data {
            stream_id,
            flags,
            data,
        } => {
            let tx = shared
                .lock()
                .streams
                .get(&stream_id)
                .and_then(|e| e.data_tx.clone());
            if let Some(tx) = tx
                && !data.is_empty()
            {
                // The application stopped reading: keep the peer's window open anyway.
                let n = data.len() as u32;
                if tx.send(Ok(data)).await.is_err() {
                    shared.send_ctrl(Frame::WindowUpdate {
                        stream_id,
                        delta: n,
                    });
                }
            }
            if flags & FLAG_FIN != 0 {
                let mut st = shared.lock();
                if let Some(e) = st.streams.get_mut(&stream_id) {
                    e.data_tx = None;
                    e.remote_fin = true;
                    if e.local_fin {
                        st.streams.remove(&stream_id);
                    }
                }
            }
        }
        Frame::RstStream { stream_id, status } => {
            let e = shared.lock().streams.remove(&stream_id);
            if let Some(mut e) = e {
                if let Some(tx) = e.reply_tx.take() {
                    let _ = tx.send(Err(SessionError::Reset(status)));
                }
                if let Some(tx) = e.data_tx.take() {
                    let _ = tx.try_send(Err(SessionError::Reset(status)));
                }
                e.window.reset.store(true, Ordering::Release);
                e.window.notify.notify_waiters();
            }
        }
        Frame::Settings { entries, .. } => {
            for (_, id, value) in entries {
                if id == frame::SETTINGS_INITIAL_WINDOW_SIZE {
                    let mut st = shared.lock();
                    let delta = value as i64 - st.initial_send_window;
                    st.initial_send_window = value as i64;
                    for e in st.streams.values() {
                        e.window.avail.fetch_add(delta, Ordering::AcqRel);
                        e.window.notify.notify_waiters();
                    }
                    shared.peer_flow_control.store(true, Ordering::Release);
                }
            }
        }
        Frame::WindowUpdate { stream_id, delta } => {
            shared.peer_flow_control.store(true, Ordering::Release);
            shared
                .window_updates_received
                .fetch_add(1, Ordering::Relaxed);
            if let Some(e) = shared.lock().streams.get(&stream_id) {
                e.window.avail.fetch_add(delta as i64, Ordering::AcqRel);
                e.window.notify.notify_waiters();
            }
        }
        Frame::Ping { id } => shared.send_ctrl(Frame::Ping { id }),
        Frame::GoAway { .. } | Frame::Unknown { .. } => {}
    }
}
