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

/// Probe an output held in memory (what [`probe`] reads from a file).
pub fn probe_bytes(bytes: &[u8], mime: &str) -> MediaInfo {
    let essence = mime.split(';').next().unwrap_or("").trim();
    let result = match essence {
        "video/mp4" | "video/quicktime" | "audio/mp4" => child(bytes, b"moov").and_then(parse_moov),
        m if m.starts_with("image/") => imagesize::blob_size(bytes).ok().map(|size| MediaInfo {
            width: u32::try_from(size.width).ok(),
            height: u32::try_from(size.height).ok(),
            duration_ms: None,
        }),
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
    // `offset` may lie far past the end (a box may claim any 64-bit size).
    while len.saturating_sub(offset) >= 8 {
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

    /// What the file probe reads; the in-memory probe must read the same.
    fn probed(bytes: &[u8], mime: &str) -> MediaInfo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let from_file = probe(&path, mime);
        assert_eq!(from_file, probe_bytes(bytes, mime), "file and memory probes agree");
        from_file
    }

    #[test]
    fn reads_duration_and_video_track_size_wherever_moov_sits() {
        for moov_last in [false, true] {
            let info = probed(&mp4(0, 1920, 1080, 600, 3000, moov_last), "video/mp4");
            assert_eq!(info, MediaInfo { width: Some(1920), height: Some(1080), duration_ms: Some(5000) });
        }
        let info = probed(&mp4(1, 720, 1280, 90_000, 900_000, false), "video/mp4");
        assert_eq!(info, MediaInfo { width: Some(720), height: Some(1280), duration_ms: Some(10_000) });
    }

    #[test]
    fn garbage_and_truncated_files_are_unknown_not_errors() {
        assert_eq!(probed(b"not a video at all", "video/mp4"), MediaInfo::default());
        // `moov` at the end, cut off: header unknown.
        let whole = mp4(0, 640, 480, 1000, 5000, true);
        for cut in [4, 20, 60, whole.len() / 2, whole.len() - 10] {
            let info = probed(&whole[..cut], "video/mp4");
            assert_eq!(info.width, None, "cut at {cut}");
        }
        assert_eq!(probed(&[0xff; 64], "image/png"), MediaInfo::default());
    }

    #[test]
    fn images_report_their_size() {
        // PNG signature and IHDR: all imagesize needs.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&3u32.to_be_bytes());
        png.extend_from_slice(&2u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(probed(&png, "image/png"), MediaInfo { width: Some(3), height: Some(2), duration_ms: None });
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn config(cases: u32) -> ProptestConfig {
            ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
        }

        /// How a generated box states its size.
        #[derive(Debug, Clone)]
        enum Size {
            /// The 32-bit size of header and body.
            Exact,
            /// 0: "to the end of the enclosing data".
            Zero,
            /// 1, then the exact 64-bit size.
            Large,
            /// Any 32-bit size (0 and 1 included).
            Claim32(u32),
            /// 1, then any 64-bit size (near `u64::MAX` included).
            Claim64(u64),
        }

        #[derive(Debug, Clone)]
        enum Body {
            Bytes(Vec<u8>),
            Children(Vec<Mp4Box>),
        }

        #[derive(Debug, Clone)]
        struct Mp4Box {
            kind: [u8; 4],
            size: Size,
            body: Body,
        }

        fn encode(b: &Mp4Box) -> Vec<u8> {
            let body = match &b.body {
                Body::Bytes(bytes) => bytes.clone(),
                Body::Children(children) => children.iter().flat_map(encode).collect(),
            };
            let mut out = Vec::new();
            match b.size {
                Size::Exact => out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes()),
                Size::Zero => out.extend_from_slice(&0u32.to_be_bytes()),
                Size::Claim32(n) => out.extend_from_slice(&n.to_be_bytes()),
                Size::Large | Size::Claim64(_) => out.extend_from_slice(&1u32.to_be_bytes()),
            }
            out.extend_from_slice(&b.kind);
            match b.size {
                Size::Large => out.extend_from_slice(&((body.len() + 16) as u64).to_be_bytes()),
                Size::Claim64(n) => out.extend_from_slice(&n.to_be_bytes()),
                _ => {}
            }
            out.extend_from_slice(&body);
            out
        }

        fn size() -> impl Strategy<Value = Size> {
            prop_oneof![
                6 => Just(Size::Exact),
                1 => Just(Size::Zero),
                1 => Just(Size::Large),
                1 => prop_oneof![any::<u32>(), 0..64u32].prop_map(Size::Claim32),
                1 => prop_oneof![any::<u64>(), 0..64u64, u64::MAX - 64..=u64::MAX, (1u64 << 32)..(1 << 40)]
                    .prop_map(Size::Claim64),
            ]
        }

        /// `mvhd`/`tkhd` bodies of any version with random fields, `hdlr`
        /// bodies naming a handler, or random bytes.
        fn leaf_body(kind: [u8; 4]) -> BoxedStrategy<Vec<u8>> {
            let random = prop::collection::vec(any::<u8>(), 0..128);
            match &kind {
                b"mvhd" => prop_oneof![
                    random,
                    (0..3u8, any::<u32>(), any::<u64>(), 0..120usize).prop_map(
                        |(version, timescale, duration, len)| {
                            let mut body = vec![version, 0, 0, 0];
                            body.extend_from_slice(&[0u8; 16]);
                            body.truncate(if version == 0 { 12 } else { 20 });
                            body.extend_from_slice(&timescale.to_be_bytes());
                            if version == 0 {
                                body.extend_from_slice(&(duration as u32).to_be_bytes());
                            } else {
                                body.extend_from_slice(&duration.to_be_bytes());
                            }
                            body.resize(len.max(body.len()), 0);
                            body
                        }
                    ),
                ]
                .boxed(),
                b"tkhd" => prop_oneof![
                    random,
                    (0..3u8, any::<u32>(), any::<u32>(), 0..8usize).prop_map(|(version, w, h, cut)| {
                        let mut body = vec![version, 0, 0, 3];
                        body.resize(if version == 0 { 76 } else { 88 }, 0);
                        body.extend_from_slice(&w.to_be_bytes());
                        body.extend_from_slice(&h.to_be_bytes());
                        body.truncate(body.len() - cut);
                        body
                    }),
                ]
                .boxed(),
                b"hdlr" => prop_oneof![
                    random,
                    prop::sample::select(vec![*b"vide", *b"soun", *b"text"]).prop_map(|handler| {
                        let mut body = vec![0u8; 8];
                        body.extend_from_slice(&handler);
                        body
                    }),
                ]
                .boxed(),
                _ => random.boxed(),
            }
        }

        /// A box tree: leaves (`mvhd`, `tkhd`, `hdlr`, media data, random
        /// kinds) inside containers (`moov`, `trak`, `mdia`, random kinds),
        /// every box with a random size encoding.
        fn mp4_box() -> impl Strategy<Value = Mp4Box> {
            let leaf_kind = prop_oneof![
                prop::sample::select(vec![*b"mvhd", *b"tkhd", *b"hdlr", *b"mdat", *b"ftyp", *b"free"]),
                any::<[u8; 4]>(),
            ];
            let leaf = (leaf_kind, size())
                .prop_flat_map(|(kind, size)| leaf_body(kind).prop_map(move |bytes| (kind, size.clone(), bytes)))
                .prop_map(|(kind, size, bytes)| Mp4Box { kind, size, body: Body::Bytes(bytes) });
            leaf.prop_recursive(4, 32, 5, |inner| {
                let container_kind = prop_oneof![
                    4 => prop::sample::select(vec![*b"moov", *b"trak", *b"mdia"]),
                    1 => any::<[u8; 4]>(),
                ];
                (container_kind, size(), prop::collection::vec(inner, 0..5)).prop_map(|(kind, size, children)| Mp4Box {
                    kind,
                    size,
                    body: Body::Children(children),
                })
            })
        }

        /// Mimes `probe` is asked about, handled or not.
        fn mime() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "image/png",
                    "image/jpeg",
                    "image/webp",
                    "image/gif",
                    "image/avif",
                    "image/heic",
                    "image/bmp",
                    "image/tiff",
                    "image/x-icon",
                    "image/svg+xml",
                    "video/mp4",
                    "video/quicktime",
                    "video/mp4; codecs=\"avc1\"",
                    "audio/mp4",
                    "audio/mpeg",
                    "audio/wav",
                    "audio/ogg",
                    "video/webm",
                    "application/octet-stream",
                    "",
                ])
                .prop_map(str::to_string),
                ".{0,20}",
            ]
        }

        /// Magic numbers that lead the header readers past their first check.
        fn magic() -> impl Strategy<Value = Vec<u8>> {
            prop::sample::select(vec![
                b"".to_vec(),
                b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec(),
                b"\xff\xd8\xff".to_vec(),
                b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec(),
                b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
                b"RIFF\0\0\0\0WEBPVP8L".to_vec(),
                b"RIFF\0\0\0\0WEBPVP8X".to_vec(),
                b"RIFF\0\0\0\0WAVEfmt ".to_vec(),
                b"GIF89a".to_vec(),
                b"BM".to_vec(),
                b"II*\0".to_vec(),
                b"MM\0*".to_vec(),
                b"\0\0\x01\0".to_vec(),
                b"\0\0\0\x1cftypavif".to_vec(),
                b"\0\0\0\x18ftypheic".to_vec(),
                b"\0\0\0\x18ftypisom".to_vec(),
                b"ID3\x04\0".to_vec(),
                b"\x1aE\xdf\xa3".to_vec(),
            ])
        }

        /// What a well-formed movie must report.
        #[derive(Debug, Clone)]
        struct Movie {
            version: u8,
            width: u32,
            height: u32,
            timescale: u32,
            duration: u64,
            sound_traks: usize,
            junk: Vec<([u8; 4], Vec<u8>)>,
            moov_at: usize,
            large: [bool; 3],
            zero_last: bool,
        }

        fn movie() -> impl Strategy<Value = Movie> {
            let junk_kind = prop::sample::select(vec![*b"free", *b"skip", *b"udta", *b"mdat", *b"wide", *b"uuid"]);
            (
                0..2u8,
                1..=0xffffu32,
                1..=0xffffu32,
                1..=100_000u32,
                prop_oneof![0..10_000_000u64, 0..u64::from(u32::MAX - 1)],
                0..3usize,
                prop::collection::vec((junk_kind, prop::collection::vec(any::<u8>(), 0..64)), 0..4),
                any::<prop::sample::Index>(),
                any::<[bool; 3]>(),
                any::<bool>(),
            )
                .prop_map(
                    |(version, width, height, timescale, duration, sound_traks, junk, at, large, zero_last)| {
                        let moov_at = at.index(junk.len() + 1);
                        Movie {
                            version,
                            width,
                            height,
                            timescale,
                            duration,
                            sound_traks,
                            junk,
                            moov_at,
                            large,
                            zero_last,
                        }
                    },
                )
        }

        fn leaf(kind: &[u8; 4], body: Vec<u8>, large: bool) -> Mp4Box {
            let size = if large { Size::Large } else { Size::Exact };
            Mp4Box { kind: *kind, size, body: Body::Bytes(body) }
        }

        fn container(kind: &[u8; 4], children: Vec<Mp4Box>, large: bool) -> Mp4Box {
            let size = if large { Size::Large } else { Size::Exact };
            Mp4Box { kind: *kind, size, body: Body::Children(children) }
        }

        fn movie_bytes(m: &Movie) -> Vec<u8> {
            let mut mvhd = vec![m.version, 0, 0, 0];
            mvhd.resize(if m.version == 0 { 12 } else { 20 }, 0);
            mvhd.extend_from_slice(&m.timescale.to_be_bytes());
            if m.version == 0 {
                mvhd.extend_from_slice(&(m.duration as u32).to_be_bytes());
            } else {
                mvhd.extend_from_slice(&m.duration.to_be_bytes());
            }
            mvhd.extend_from_slice(&[0u8; 80]);
            let mut tkhd = vec![m.version, 0, 0, 3];
            tkhd.resize(if m.version == 0 { 76 } else { 88 }, 0);
            tkhd.extend_from_slice(&(m.width << 16).to_be_bytes());
            tkhd.extend_from_slice(&(m.height << 16).to_be_bytes());
            let trak = |handler: &[u8; 4], tkhd: Vec<u8>| {
                let mut hdlr = vec![0u8; 8];
                hdlr.extend_from_slice(handler);
                let mdia = container(b"mdia", vec![leaf(b"hdlr", hdlr, m.large[2])], m.large[1]);
                container(b"trak", vec![leaf(b"tkhd", tkhd, m.large[0]), mdia], m.large[1])
            };
            let mut children = vec![leaf(b"udta", vec![1, 2, 3], m.large[0]), leaf(b"mvhd", mvhd, m.large[2])];
            for _ in 0..m.sound_traks {
                let mut sound = tkhd.clone();
                let at = sound.len() - 8;
                sound[at..].copy_from_slice(&[0, 2, 0, 0, 0, 3, 0, 0]);
                children.push(trak(b"soun", sound));
            }
            children.push(trak(b"vide", tkhd));
            let moov = container(b"moov", children, m.large[0]);
            let mut top: Vec<Mp4Box> = m.junk.iter().map(|(kind, body)| leaf(kind, body.clone(), m.large[1])).collect();
            top.insert(m.moov_at, moov);
            if m.zero_last {
                top.last_mut().expect("moov is there").size = Size::Zero;
            }
            [leaf(b"ftyp", b"isom\0\0\x02\0isom".to_vec(), false)].iter().chain(&top).flat_map(encode).collect()
        }

        proptest! {
            #![proptest_config(config(128))]

            /// Any bytes, behind any magic number, probed as any type: no
            /// panic, and types other than images and MP4 are always unknown.
            #[test]
            fn any_file_is_probed(magic in magic(), tail in prop::collection::vec(any::<u8>(), 0..1024), mime in mime()) {
                let bytes = [magic, tail].concat();
                let info = probed(&bytes, &mime);
                let essence = mime.split(';').next().unwrap_or("").trim();
                let handled = essence.starts_with("image/") || ["video/mp4", "video/quicktime", "audio/mp4"].contains(&essence);
                if !handled {
                    prop_assert_eq!(info, MediaInfo::default());
                }
                if essence.starts_with("image/") {
                    prop_assert_eq!(info.duration_ms, None);
                }
            }

            /// Any tree of MP4 boxes (sizes exact, 0, 64-bit, too large or
            /// absurd; nested `moov`/`trak`/`mdia` with random `mvhd`, `tkhd`
            /// and `hdlr` contents), whole or cut short: no panic.
            #[test]
            fn any_box_tree_is_probed(boxes in prop::collection::vec(mp4_box(), 0..5), cut in any::<prop::sample::Index>()) {
                let bytes: Vec<u8> = boxes.iter().flat_map(encode).collect();
                let info = probed(&bytes, "video/mp4");
                prop_assert!(info.width.is_some() == info.height.is_some());
                probed(&bytes[..cut.index(bytes.len() + 1)], "video/quicktime");
            }

            /// A top-level box whose 64-bit size reaches (or nearly reaches)
            /// `u64::MAX`, after any well-formed boxes: unknown, no panic (the
            /// next box's offset must not overflow).
            #[test]
            fn huge_top_level_sizes_are_unknown(
                prefix in prop::collection::vec((prop::sample::select(vec![*b"ftyp", *b"free", *b"mdat"]), prop::collection::vec(any::<u8>(), 0..32)), 0..3),
                relative in any::<bool>(),
                claim in prop_oneof![any::<u64>(), u64::MAX - 64..=u64::MAX],
                delta in 0..16u64,
                kind in prop::sample::select(vec![*b"mdat", *b"moov", *b"free"]),
                tail in prop::collection::vec(any::<u8>(), 0..32),
            ) {
                let mut bytes: Vec<u8> = prefix.iter().flat_map(|(kind, body)| encode(&leaf(kind, body.clone(), false))).collect();
                let size = if relative { u64::MAX - bytes.len() as u64 - delta } else { claim };
                bytes.extend_from_slice(&encode(&Mp4Box { kind, size: Size::Claim64(size), body: Body::Bytes(tail) }));
                let info = probed(&bytes, "video/mp4");
                prop_assert_eq!(info, MediaInfo::default());
            }

            /// A well-formed movie reports its video track's size and its
            /// duration, wherever `moov` sits among other boxes, whichever
            /// size encodings are used and however many sound tracks come first.
            #[test]
            fn well_formed_movies_report_size_and_duration(m in movie()) {
                let info = probed(&movie_bytes(&m), "video/mp4");
                let sentinel = m.version == 0 && m.duration == u64::from(u32::MAX);
                let duration_ms = (!sentinel)
                    .then(|| u32::try_from(m.duration * 1000 / u64::from(m.timescale)).ok())
                    .flatten();
                prop_assert_eq!(info, MediaInfo { width: Some(m.width), height: Some(m.height), duration_ms });
            }

            /// A PNG header of any size reports that size.
            #[test]
            fn png_headers_report_their_size(width in 1..=u32::MAX >> 1, height in 1..=u32::MAX >> 1) {
                let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
                png.extend_from_slice(&width.to_be_bytes());
                png.extend_from_slice(&height.to_be_bytes());
                png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
                prop_assert_eq!(probed(&png, "image/png"), MediaInfo { width: Some(width), height: Some(height), duration_ms: None });
            }
        }
    }
}
