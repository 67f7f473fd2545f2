//! A Matroska stream of raw RGBA frames, each with its own timestamp: the one input ffmpeg
//! reads from a pipe that carries per-frame times, so variable-frame-rate video keeps its
//! timing through the encoder. (Raw video and y4m have no timestamps; Matroska stores raw
//! RGB only as RGBA, `V_UNCOMPRESSED` with colour space `RGBA`.)
//!
//! Every element is written with an 8-byte size, the segment with "unknown size" (a live
//! stream), and one cluster per frame, so nothing is ever patched after it is written.

use std::io::{self, Write};

/// Timestamps are in microseconds (a timestamp scale of 1000 ns).
const TIMESTAMP_SCALE_NS: u64 = 1000;

const EBML: &[u8] = &[0x1a, 0x45, 0xdf, 0xa3];
const EBML_VERSION: &[u8] = &[0x42, 0x86];
const EBML_READ_VERSION: &[u8] = &[0x42, 0xf7];
const EBML_MAX_ID_LENGTH: &[u8] = &[0x42, 0xf2];
const EBML_MAX_SIZE_LENGTH: &[u8] = &[0x42, 0xf3];
const DOC_TYPE: &[u8] = &[0x42, 0x82];
const DOC_TYPE_VERSION: &[u8] = &[0x42, 0x87];
const DOC_TYPE_READ_VERSION: &[u8] = &[0x42, 0x85];
const SEGMENT: &[u8] = &[0x18, 0x53, 0x80, 0x67];
const INFO: &[u8] = &[0x15, 0x49, 0xa9, 0x66];
const TIMESTAMP_SCALE: &[u8] = &[0x2a, 0xd7, 0xb1];
const TRACKS: &[u8] = &[0x16, 0x54, 0xae, 0x6b];
const TRACK_ENTRY: &[u8] = &[0xae];
const TRACK_NUMBER: &[u8] = &[0xd7];
const TRACK_UID: &[u8] = &[0x73, 0xc5];
const TRACK_TYPE: &[u8] = &[0x83];
const CODEC_ID: &[u8] = &[0x86];
const VIDEO: &[u8] = &[0xe0];
const PIXEL_WIDTH: &[u8] = &[0xb0];
const PIXEL_HEIGHT: &[u8] = &[0xba];
const COLOUR_SPACE: &[u8] = &[0x2e, 0xb5, 0x24];
const CLUSTER: &[u8] = &[0x1f, 0x43, 0xb6, 0x75];
const CLUSTER_TIMESTAMP: &[u8] = &[0xe7];
const SIMPLE_BLOCK: &[u8] = &[0xa3];
/// "Unknown size": the segment runs to the end of the stream.
const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
/// A SimpleBlock's header: track 1 (as an EBML number), time 0 relative to its cluster,
/// flags "keyframe".
const BLOCK_HEADER: [u8; 4] = [0x81, 0, 0, 0x80];

fn size(len: usize) -> [u8; 8] {
    let mut bytes = (len as u64).to_be_bytes();
    bytes[0] = 0x01; // an 8-byte EBML size: 7 bytes of length follow the marker
    bytes
}

fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
    [id, &size(body.len()), body].concat()
}

fn unsigned(id: &[u8], value: u64) -> Vec<u8> {
    element(id, &value.to_be_bytes())
}

/// Writes frames of one size as a Matroska video stream.
pub struct RawVideoWriter<W: Write> {
    out: W,
    width: usize,
    height: usize,
    /// One frame's block, reused: header, then RGBA.
    block: Vec<u8>,
}

impl<W: Write> RawVideoWriter<W> {
    /// Writes the stream's header.
    pub fn new(mut out: W, width: usize, height: usize) -> io::Result<Self> {
        let header = [
            unsigned(EBML_VERSION, 1),
            unsigned(EBML_READ_VERSION, 1),
            unsigned(EBML_MAX_ID_LENGTH, 4),
            unsigned(EBML_MAX_SIZE_LENGTH, 8),
            element(DOC_TYPE, b"matroska"),
            unsigned(DOC_TYPE_VERSION, 4),
            unsigned(DOC_TYPE_READ_VERSION, 2),
        ]
        .concat();
        let video = [
            unsigned(PIXEL_WIDTH, width as u64),
            unsigned(PIXEL_HEIGHT, height as u64),
            element(COLOUR_SPACE, b"RGBA"),
        ]
        .concat();
        let track = [
            unsigned(TRACK_NUMBER, 1),
            unsigned(TRACK_UID, 1),
            unsigned(TRACK_TYPE, 1), // video
            element(CODEC_ID, b"V_UNCOMPRESSED"),
            element(VIDEO, &video),
        ]
        .concat();
        out.write_all(&element(EBML, &header))?;
        out.write_all(SEGMENT)?;
        out.write_all(&UNKNOWN_SIZE)?;
        out.write_all(&element(
            INFO,
            &unsigned(TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS),
        ))?;
        out.write_all(&element(TRACKS, &element(TRACK_ENTRY, &track)))?;
        Ok(Self {
            out,
            width,
            height,
            block: Vec::new(),
        })
    }

    /// Writes one frame of packed 8-bit RGB shown at `time_us` microseconds.
    pub fn write_frame(&mut self, time_us: u64, rgb: &[u8]) -> io::Result<()> {
        assert_eq!(rgb.len(), self.width * self.height * 3, "one RGB frame");
        self.block.clear();
        self.block.extend_from_slice(&BLOCK_HEADER);
        for px in rgb.chunks_exact(3) {
            self.block.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
        let timestamp = unsigned(CLUSTER_TIMESTAMP, time_us);
        let block_head = [SIMPLE_BLOCK, &size(self.block.len())].concat();
        self.out.write_all(CLUSTER)?;
        self.out
            .write_all(&size(timestamp.len() + block_head.len() + self.block.len()))?;
        self.out.write_all(&timestamp)?;
        self.out.write_all(&block_head)?;
        self.out.write_all(&self.block)
    }

    /// The stream, to close it.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_eight_byte_ebml_numbers() {
        assert_eq!(size(5), [0x01, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(size(0x0102_0304), [0x01, 0, 0, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_frame_is_a_cluster_with_its_time_and_rgba() {
        let mut writer = RawVideoWriter::new(Vec::new(), 2, 1).unwrap();
        let header_len = writer.out.len();
        writer.write_frame(40_000, &[1, 2, 3, 4, 5, 6]).unwrap();
        let frame = &writer.into_inner()[header_len..];
        assert_eq!(&frame[..4], CLUSTER);
        let timestamp = &frame[12..12 + 17];
        assert_eq!(timestamp[0], 0xe7);
        assert_eq!(
            u64::from_be_bytes(timestamp[9..].try_into().unwrap()),
            40_000
        );
        assert_eq!(
            &frame[frame.len() - 12..],
            [0x81, 0, 0, 0x80, 1, 2, 3, 255, 4, 5, 6, 255]
        );
    }
}
