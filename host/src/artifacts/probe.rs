//! Media facts (width, height, duration) read from a stored file's header,
//! for outputs whose plugin did not report them.
//!
//! Images go through `imagesize`, which reads a few header bytes. MP4 and
//! QuickTime files are read here: the answer sits in two fixed-layout boxes
//! (`mvhd` for the duration, the video track's `tkhd` for the size), found
//! by seeking over top-level boxes, so a 1 GiB video costs a few reads —
//! the MP4 crates parse sample tables too and want whole, well-formed
//! files, which vendor outputs need not be. This module must never fail a
//! generation: an unreadable header is simply "unknown".

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// What a header told us; `None` where it did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaInfo {
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// Milliseconds.
    pub duration_ms: Option<u32>,
}

/// Largest `moov` box read into memory (real ones are a few MiB at most).
const MAX_MOOV_BYTES: u64 = 64 << 20;

/// Probe the file at `path` of type `mime`.
pub fn probe(path: &Path, mime: &str) -> MediaInfo {
    let essence = mime.split(';').next().unwrap_or("").trim();
    let result = match essence {
        "video/mp4" | "video/quicktime" | "audio/mp4" => probe_mp4(path),
        m if m.starts_with("image/") => probe_image(path),
        _ => None,
    };
    result.unwrap_or_default()
}

fn probe_image(path: &Path) -> Option<MediaInfo> {
    let size = imagesize::size(path).ok()?;
    Some(MediaInfo {
        width: u32::try_from(size.width).ok(),
        height: u32::try_from(size.height).ok(),
        duration_ms: None,
    })
}

fn probe_mp4(path: &Path) -> Option<MediaInfo> {
    let mut file = std::fs::File::open(path).ok()?;
    let moov = read_top_level_box(&mut file, *b"moov")?;
    parse_moov(&moov)
}

/// The body of the first top-level box of `kind`, seeking over the others.
fn read_top_level_box(file: &mut std::fs::File, kind: [u8; 4]) -> Option<Vec<u8>> {
    let len = file.metadata().ok()?.len();
    let mut offset = 0u64;
    while offset + 8 <= len {
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8]).ok()?;
        let (size, header_len) = match u32::from_be_bytes(header[..4].try_into().ok()?) {
            0 => (len - offset, 8),
            1 => {
                file.read_exact(&mut header[8..16]).ok()?;
                (u64::from_be_bytes(header[8..16].try_into().ok()?), 16)
            }
            n => (u64::from(n), 8),
        };
        if size < header_len {
            return None;
        }
        if header[4..8] == kind {
            let body = size - header_len;
            if body > MAX_MOOV_BYTES {
                return None;
            }
            let mut out = vec![0u8; body as usize];
            file.read_exact(&mut out).ok()?;
            return Some(out);
        }
        offset = offset.checked_add(size)?;
    }
    None
}

/// Child boxes of a container body: (kind, body).
fn boxes(mut data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 8 {
            return None;
        }
        let size = u32::from_be_bytes(data[..4].try_into().ok()?) as u64;
        let kind: [u8; 4] = data[4..8].try_into().ok()?;
        let (header, size) = match size {
            0 => (8, data.len() as u64),
            1 if data.len() >= 16 => (16, u64::from_be_bytes(data[8..16].try_into().ok()?)),
            n => (8, n),
        };
        if size < header || size > data.len() as u64 {
            return None;
        }
        let body = &data[header as usize..size as usize];
        data = &data[size as usize..];
        Some((kind, body))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, body)| body)
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

fn parse_moov(moov: &[u8]) -> Option<MediaInfo> {
    let mut info = MediaInfo { duration_ms: child(moov, b"mvhd").and_then(mvhd_duration_ms), ..Default::default() };
    for (_, trak) in boxes(moov).filter(|(k, _)| k == b"trak") {
        let is_video = child(trak, b"mdia")
            .and_then(|mdia| child(mdia, b"hdlr"))
            .and_then(|hdlr| hdlr.get(8..12))
            .is_some_and(|handler| handler == b"vide");
        if let Some((w, h)) = child(trak, b"tkhd").and_then(tkhd_size).filter(|_| is_video) {
            info.width = Some(w);
            info.height = Some(h);
            break;
        }
    }
    Some(info)
}

/// `mvhd`: version 0 has 32-bit times, version 1 64-bit.
fn mvhd_duration_ms(mvhd: &[u8]) -> Option<u32> {
    let (timescale, duration) = match mvhd.first()? {
        0 => (be_u32(mvhd, 12)?, u64::from(be_u32(mvhd, 16)?)),
        1 => (be_u32(mvhd, 20)?, be_u64(mvhd, 24)?),
        _ => return None,
    };
    if timescale == 0 || duration == u64::from(u32::MAX) || duration == u64::MAX {
        return None;
    }
    u32::try_from(duration.checked_mul(1000)? / u64::from(timescale)).ok()
}

/// `tkhd`: width and height are 16.16 fixed point at the end of the box.
fn tkhd_size(tkhd: &[u8]) -> Option<(u32, u32)> {
    let at = match tkhd.first()? {
        0 => 76,
        1 => 88,
        _ => return None,
    };
    let (w, h) = (be_u32(tkhd, at)? >> 16, be_u32(tkhd, at + 4)? >> 16);
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn mp4(version: u8, width: u32, height: u32, timescale: u32, duration: u64, moov_last: bool) -> Vec<u8> {
        let mut mvhd = vec![version, 0, 0, 0];
        if version == 0 {
            [0u32, 0, timescale, duration as u32].iter().for_each(|v| mvhd.extend_from_slice(&v.to_be_bytes()));
        } else {
            mvhd.extend_from_slice(&[0u8; 16]);
            mvhd.extend_from_slice(&timescale.to_be_bytes());
            mvhd.extend_from_slice(&duration.to_be_bytes());
        }
        mvhd.extend_from_slice(&[0u8; 80]);
        let mut tkhd = vec![version, 0, 0, 3];
        tkhd.extend_from_slice(&vec![0u8; if version == 0 { 72 } else { 84 }]);
        tkhd.extend_from_slice(&(width << 16).to_be_bytes());
        tkhd.extend_from_slice(&(height << 16).to_be_bytes());
        let sound_trak = boxed(
            b"trak",
            &[boxed(b"tkhd", &[0u8; 84]), boxed(b"mdia", &boxed(b"hdlr", b"\0\0\0\0\0\0\0\0soun"))].concat(),
        );
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(b"vide");
        let video_trak = boxed(b"trak", &[boxed(b"tkhd", &tkhd), boxed(b"mdia", &boxed(b"hdlr", &hdlr))].concat());
        let moov = boxed(b"moov", &[boxed(b"mvhd", &mvhd), sound_trak, video_trak].concat());
        let ftyp = boxed(b"ftyp", b"isom\0\0\x02\0isom");
        let mdat = boxed(b"mdat", &[7u8; 4096]);
        if moov_last { [ftyp, mdat, moov].concat() } else { [ftyp, moov, mdat].concat() }
    }

    fn probe_bytes(bytes: &[u8], mime: &str) -> MediaInfo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        probe(&path, mime)
    }

    #[test]
    fn reads_duration_and_video_track_size_wherever_moov_sits() {
        for moov_last in [false, true] {
            let info = probe_bytes(&mp4(0, 1920, 1080, 600, 3000, moov_last), "video/mp4");
            assert_eq!(info, MediaInfo { width: Some(1920), height: Some(1080), duration_ms: Some(5000) });
        }
        let info = probe_bytes(&mp4(1, 720, 1280, 90_000, 900_000, false), "video/mp4");
        assert_eq!(info, MediaInfo { width: Some(720), height: Some(1280), duration_ms: Some(10_000) });
    }

    #[test]
    fn garbage_and_truncated_files_are_unknown_not_errors() {
        assert_eq!(probe_bytes(b"not a video at all", "video/mp4"), MediaInfo::default());
        // `moov` at the end, cut off: header unknown.
        let whole = mp4(0, 640, 480, 1000, 5000, true);
        for cut in [4, 20, 60, whole.len() / 2, whole.len() - 10] {
            let info = probe_bytes(&whole[..cut], "video/mp4");
            assert_eq!(info.width, None, "cut at {cut}");
        }
        assert_eq!(probe_bytes(&[0xff; 64], "image/png"), MediaInfo::default());
    }

    #[test]
    fn images_report_their_size() {
        // PNG signature and IHDR: all imagesize needs.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&3u32.to_be_bytes());
        png.extend_from_slice(&2u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(probe_bytes(&png, "image/png"), MediaInfo { width: Some(3), height: Some(2), duration_ms: None });
    }
}
