//! Reading a container's CRI log file for a client: the CRI line format
//! (`<RFC3339Nano time> <stdout|stderr> <P|F> <text>`, `P` fragments joined
//! into one line), tailLines, since, stream selection, timestamps and
//! limitBytes, and following the file (across rotation) until the
//! container exits or the client goes away.
//!
//! Only the current file is read, as upstream: rotated files (`0.log.1`,
//! `*.gz`) are not. Output timestamps are written in UTC.

use bytes::Bytes;
use jiff::Timestamp;
use std::collections::VecDeque;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::sync::mpsc;

/// Which of the container's streams the client wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamSel {
    #[default]
    All,
    Stdout,
    Stderr,
}

/// The client's options, already validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub tail_lines: Option<u64>,
    pub since: Option<Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<u64>,
    pub follow: bool,
    pub stream: StreamSel,
}

/// One line of a CRI log file.
#[derive(Debug, PartialEq, Eq)]
pub struct CriLine<'a> {
    pub time: Timestamp,
    pub stdout: bool,
    /// `P`: the runtime split a long line; the rest follows in later lines.
    pub partial: bool,
    pub text: &'a [u8],
}

/// Parse one line (without its newline). `None` for a malformed line,
/// which readers skip as upstream does.
pub fn parse_line(line: &[u8]) -> Option<CriLine<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let stdout = match parts.next()? {
        b"stdout" => true,
        b"stderr" => false,
        _ => return None,
    };
    // Tags are `:`-separated; the first is P (partial) or F (full).
    let tags = parts.next()?;
    let partial = tags.split(|b| *b == b':').next() == Some(b"P");
    Some(CriLine {
        time,
        stdout,
        partial,
        text: parts.next().unwrap_or_default(),
    })
}

/// `2026-11-22T10:00:00.123456789Z`: upstream's RFC3339NanoFixed, in UTC.
pub fn format_time(t: Timestamp) -> String {
    format!(
        "{}.{:09}Z",
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        t.subsec_nanosecond()
    )
}

fn stream_index(stdout: bool) -> usize {
    if stdout { 0 } else { 1 }
}

/// Turns CRI lines into the text the client gets.
pub struct Formatter {
    opts: LogOptions,
    /// Per stream: the first fragment's time and the text so far of a line
    /// still being assembled from `P` fragments.
    pending: [Option<(Timestamp, Vec<u8>)>; 2],
    written: u64,
}

impl Formatter {
    pub fn new(opts: LogOptions) -> Self {
        Formatter {
            opts,
            pending: [None, None],
            written: 0,
        }
    }

    /// Whether limitBytes has been reached: nothing more will be written.
    pub fn done(&self) -> bool {
        self.opts.limit_bytes.is_some_and(|l| self.written >= l)
    }

    /// Feed one raw line (without its newline); append what it completes to `out`.
    pub fn push(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let Some(line) = parse_line(raw) else {
            tracing::debug!("skipping a malformed CRI log line");
            return;
        };
        let slot = &mut self.pending[stream_index(line.stdout)];
        if line.partial {
            slot.get_or_insert_with(|| (line.time, Vec::new()))
                .1
                .extend_from_slice(line.text);
            return;
        }
        let (time, mut text) = slot.take().unwrap_or((line.time, Vec::new()));
        text.extend_from_slice(line.text);
        text.push(b'\n');
        self.write(line.stdout, time, &text, out);
    }

    /// The end of the read: lines still missing their final fragment are
    /// written as they are.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        for (i, stdout) in [(0, true), (1, false)] {
            if let Some((time, text)) = self.pending[i].take() {
                self.write(stdout, time, &text, out);
            }
        }
    }

    fn write(&mut self, stdout: bool, time: Timestamp, text: &[u8], out: &mut Vec<u8>) {
        let wanted = match self.opts.stream {
            StreamSel::All => true,
            StreamSel::Stdout => stdout,
            StreamSel::Stderr => !stdout,
        };
        if !wanted || self.done() || self.opts.since.is_some_and(|s| time < s) {
            return;
        }
        let mut line = Vec::with_capacity(text.len() + 32);
        if self.opts.timestamps {
            line.extend_from_slice(format_time(time).as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(text);
        if let Some(limit) = self.opts.limit_bytes {
            line.truncate((limit - self.written) as usize);
        }
        self.written += line.len() as u64;
        out.extend_from_slice(&line);
    }
}

/// The byte offset where the last `n` lines of the selected stream(s)
/// start (a line made of fragments starts at its first fragment).
pub async fn tail_offset(path: &Path, n: u64, sel: StreamSel) -> std::io::Result<u64> {
    if n == 0 {
        return Ok(tokio::fs::metadata(path).await?.len());
    }
    let mut reader = BufReader::new(tokio::fs::File::open(path).await?);
    let mut starts: VecDeque<u64> = VecDeque::new();
    let mut in_partial = [false, false];
    let (mut offset, mut buf) = (0u64, Vec::new());
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).await?;
        if read == 0 {
            break;
        }
        if let Some(line) = parse_line(trim_newline(&buf)) {
            let i = stream_index(line.stdout);
            let selected = match sel {
                StreamSel::All => true,
                StreamSel::Stdout => line.stdout,
                StreamSel::Stderr => !line.stdout,
            };
            if selected && !in_partial[i] {
                starts.push_back(offset);
                if starts.len() as u64 > n {
                    starts.pop_front();
                }
            }
            in_partial[i] = line.partial;
        }
        offset += read as u64;
    }
    Ok(starts.front().copied().unwrap_or(offset))
}

fn trim_newline(buf: &[u8]) -> &[u8] {
    buf.strip_suffix(b"\n").unwrap_or(buf)
}

/// How often a followed file is checked for new lines at its end.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
/// Every this many idle polls, ask whether the container still runs.
const RUNNING_CHECK_EVERY: u32 = 5;
/// Output is sent to the client in chunks of at most about this size.
const CHUNK: usize = 32 * 1024;

/// Read `path` from `start` and send the client's text to `tx`. With
/// `follow`, keep reading new lines (reopening the file when the runtime
/// rotates it) until `running()` says the container has exited, or the
/// receiver is dropped (the client went away).
pub async fn send_log<F, Fut>(
    path: PathBuf,
    start: u64,
    opts: LogOptions,
    tx: mpsc::Sender<Bytes>,
    mut running: F,
) -> std::io::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let follow = opts.follow;
    let mut fmt = Formatter::new(opts);
    let mut file = tokio::fs::File::open(&path).await?;
    let mut inode = file.metadata().await?.ino();
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let mut reader = BufReader::new(file);
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    let mut idle_polls = 0u32;
    let mut exited = false;
    loop {
        // Read everything there is now.
        loop {
            let read = reader.read_until(b'\n', &mut buf).await?;
            if read == 0 || !buf.ends_with(b"\n") {
                // End of file, perhaps in the middle of a line the runtime
                // is still writing: keep the start for the next round.
                break;
            }
            fmt.push(trim_newline(&buf), &mut out);
            buf.clear();
            if out.len() >= CHUNK
                && tx
                    .send(Bytes::from(std::mem::take(&mut out)))
                    .await
                    .is_err()
            {
                return Ok(());
            }
            if fmt.done() {
                break;
            }
        }
        if !follow || exited || fmt.done() {
            fmt.finish(&mut out);
            if !out.is_empty() {
                let _ = tx.send(Bytes::from(out)).await;
            }
            return Ok(());
        }
        if !out.is_empty()
            && tx
                .send(Bytes::from(std::mem::take(&mut out)))
                .await
                .is_err()
        {
            return Ok(());
        }
        // At the end: a rotated file means the rest is in a new one.
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.ino() != inode || meta.len() < reader.stream_position().await? => {
                match tokio::fs::File::open(&path).await {
                    Ok(f) => {
                        inode = f.metadata().await?.ino();
                        reader = BufReader::new(f);
                        buf.clear();
                        continue;
                    }
                    Err(e) => tracing::debug!("reopening {}: {e}", path.display()),
                }
            }
            // Between the runtime's rename and its new file.
            _ => {}
        }
        idle_polls += 1;
        if idle_polls.is_multiple_of(RUNNING_CHECK_EVERY) && !running().await {
            // One last read for what the container wrote before it exited.
            exited = true;
            continue;
        }
        tokio::select! {
            _ = tx.closed() => return Ok(()),
            _ = tokio::time::sleep(FOLLOW_POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cri_lines() {
        let l = parse_line(b"2026-11-22T10:00:00.123456789Z stdout F hello world").unwrap();
        assert_eq!(l.time, ts("2026-11-22T10:00:00.123456789Z"));
        assert!(l.stdout && !l.partial);
        assert_eq!(l.text, b"hello world");
        let l = parse_line(b"2026-11-22T11:00:00.5+01:00 stderr P:x part").unwrap();
        assert_eq!(l.time, ts("2026-11-22T10:00:00.5Z"));
        assert!(!l.stdout && l.partial);
        assert_eq!(
            parse_line(b"2026-11-22T10:00:00Z stdout F").unwrap().text,
            b""
        );
        assert!(parse_line(b"garbage").is_none());
        assert!(parse_line(b"2026-11-22T10:00:00Z stdin F x").is_none());
    }

    #[test]
    fn formats_fixed_nanoseconds() {
        assert_eq!(
            format_time(ts("2026-11-22T10:00:00.5Z")),
            "2026-11-22T10:00:00.500000000Z"
        );
    }

    fn run(opts: LogOptions, lines: &[&str]) -> String {
        let mut f = Formatter::new(opts);
        let mut out = Vec::new();
        for l in lines {
            f.push(l.as_bytes(), &mut out);
        }
        f.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    const LINES: &[&str] = &[
        "2026-11-22T10:00:01Z stdout P hel",
        "2026-11-22T10:00:02Z stderr F oops",
        "2026-11-22T10:00:03Z stdout F lo",
        "2026-11-22T10:00:04Z stdout F bye",
    ];

    #[test]
    fn joins_fragments_and_filters() {
        assert_eq!(run(LogOptions::default(), LINES), "oops\nhello\nbye\n");
        let stdout = LogOptions {
            stream: StreamSel::Stdout,
            timestamps: true,
            ..Default::default()
        };
        assert_eq!(
            run(stdout, LINES),
            "2026-11-22T10:00:01.000000000Z hello\n2026-11-22T10:00:04.000000000Z bye\n"
        );
        let since = LogOptions {
            since: Some(ts("2026-11-22T10:00:02Z")),
            ..Default::default()
        };
        assert_eq!(run(since, LINES), "oops\nbye\n");
        let limit = LogOptions {
            limit_bytes: Some(7),
            ..Default::default()
        };
        assert_eq!(run(limit, LINES), "oops\nhe");
        // An unfinished line is written at the end of the read.
        assert_eq!(run(LogOptions::default(), &LINES[..1]), "hel");
    }

    #[tokio::test]
    async fn tail_counts_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, LINES.join("\n") + "\n").unwrap();
        let off = |n, sel| tail_offset(&path, n, sel);
        let from = |o: u64| std::fs::read_to_string(&path).unwrap()[o as usize..].to_string();
        assert!(from(off(2, StreamSel::All).await.unwrap()).starts_with("2026-11-22T10:00:02Z"));
        // The joined stdout line starts at its first fragment.
        assert_eq!(off(2, StreamSel::Stdout).await.unwrap(), 0);
        assert_eq!(off(0, StreamSel::All).await.unwrap(), from(0).len() as u64);
        assert_eq!(off(10, StreamSel::All).await.unwrap(), 0);
    }
}
