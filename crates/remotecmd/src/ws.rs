//! The WebSocket channel protocol of remotecommand (`v4.channel.k8s.io`,
//! `v5.channel.k8s.io`): every binary message starts with a channel byte.
//! v5 adds channel 255, "the peer closed channel N" (stdin EOF).

pub const CHANNEL_STDIN: u8 = 0;
pub const CHANNEL_STDOUT: u8 = 1;
pub const CHANNEL_STDERR: u8 = 2;
pub const CHANNEL_ERROR: u8 = 3;
pub const CHANNEL_RESIZE: u8 = 4;
pub const CHANNEL_CLOSE: u8 = 255;

/// Channel-protocol versions a server accepts, newest first.
pub const WS_PROTOCOLS: &[&str] = &[crate::remotecommand::V5, crate::remotecommand::V4];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsVersion {
    V4,
    V5,
}

impl WsVersion {
    pub fn from_protocol(p: &str) -> Option<Self> {
        match p {
            crate::remotecommand::V5 => Some(Self::V5),
            crate::remotecommand::V4 => Some(Self::V4),
            _ => None,
        }
    }
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelMessage<'a> {
    Data {
        channel: u8,
        data: &'a [u8],
    },
    /// v5: the peer will send nothing more on `channel`.
    Close {
        channel: u8,
    },
}

pub fn encode(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(data.len() + 1);
    m.push(channel);
    m.extend_from_slice(data);
    m
}

pub fn encode_close(channel: u8) -> Vec<u8> {
    vec![CHANNEL_CLOSE, channel]
}

/// Decodes a binary message; `None` for an empty one (carries no channel).
pub fn decode(msg: &[u8], version: WsVersion) -> Option<ChannelMessage<'_>> {
    let (&channel, data) = msg.split_first()?;
    if channel == CHANNEL_CLOSE && version == WsVersion::V5 {
        return Some(ChannelMessage::Close {
            channel: *data.first()?,
        });
    }
    Some(ChannelMessage::Data { channel, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_is_only_special_in_v5() {
        assert_eq!(
            decode(&[255, 0], WsVersion::V5),
            Some(ChannelMessage::Close { channel: 0 })
        );
        assert_eq!(
            decode(&[255, 0], WsVersion::V4),
            Some(ChannelMessage::Data {
                channel: 255,
                data: &[0]
            })
        );
        assert_eq!(decode(&[], WsVersion::V5), None);
    }
}
