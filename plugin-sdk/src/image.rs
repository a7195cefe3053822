//! Image facts read from a file's first bytes: its format (PNG, JPEG or
//! WebP, the formats image vendors send and take) and its pixel size.
//!
//! Image vendors answer with a file and little about it, and vendors that
//! take an image refuse other formats; an adapter reads both facts here
//! rather than trusting a label. The format comes from the file's signature
//! (the 8-byte PNG signature, a JPEG SOI marker, a RIFF `WEBP` header); the
//! size from the headers alone, through the `imagesize` crate (the host
//! probes with the same crate; no decoding, no I/O). Nothing here
//! allocates beyond an error message, and nothing panics on bad bytes.

use std::fmt;

/// An image format, as vendors name it in `output_format` options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
}

impl ImageFormat {
    /// Every format: PNG, JPEG, WebP.
    pub const ALL: [ImageFormat; 3] = [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp];

    /// The short name, which is also the MIME subtype and what OpenAI and
    /// Stability call it: `png`, `jpeg`, `webp`.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Webp => "webp",
        }
    }

    /// The format a short name ([`name`](Self::name)) names.
    pub fn from_name(name: &str) -> Option<ImageFormat> {
        ImageFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// The usual file extension: `png`, `jpg`, `webp`.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Webp => "webp",
        }
    }

    /// The format of `bytes`, from their signature; `None` for anything
    /// else (GIF, HEIC, text, a file cut before its signature ends).
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }
}

/// Why [`size`] could not read an image's pixel size, in the header
/// reader's words ("Could not decode image", "Hit end of file before
/// finding size", …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeError(String);

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SizeError {}

/// The `(width, height)` in pixels of a PNG, JPEG or WebP file, read from
/// its headers. Fails for other formats and for headers cut short or
/// corrupt.
pub fn size(bytes: &[u8]) -> Result<(u32, u32), SizeError> {
    // Checked here, not left to `imagesize`'s features: in a workspace
    // build they are unified with the host's, which reads more formats.
    if ImageFormat::sniff(bytes).is_none() {
        return Err(SizeError("not a PNG, JPEG or WebP file".into()));
    }
    let size = imagesize::blob_size(bytes).map_err(|e| SizeError(e.to_string()))?;
    let pixels = |n: usize| u32::try_from(n).map_err(|_| SizeError(format!("{n} pixels a side is not an image size")));
    Ok((pixels(size.width)?, pixels(size.height)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG's signature and IHDR: enough for its type and size.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        out
    }

    /// A JPEG's SOI, JFIF and SOF0 markers.
    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        out
    }

    /// An extended-format WebP (a `VP8X` header).
    fn webp(width: u32, height: u32) -> Vec<u8> {
        let mut chunk = b"VP8X".to_vec();
        chunk.extend_from_slice(&10u32.to_le_bytes());
        chunk.extend_from_slice(&[0x10, 0, 0, 0]);
        chunk.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        chunk.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4 + chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&chunk);
        out
    }

    #[test]
    fn formats_come_from_signatures() {
        assert_eq!(ImageFormat::sniff(&png(3, 2)), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::sniff(&jpeg(2, 5)), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::Webp));
        assert_eq!(ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xDB]), Some(ImageFormat::Jpeg), "four bytes are enough");
        assert_eq!(ImageFormat::sniff(b"GIF89a\x01\x00\x01\x00"), None);
        assert_eq!(ImageFormat::sniff(b"\x89PNG but not the rest"), None, "the whole PNG signature");
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WAVE"), None);
    }

    #[test]
    fn formats_are_named_as_vendors_name_them() {
        let table: Vec<_> = ImageFormat::ALL.iter().map(|f| (f.name(), f.mime(), f.extension())).collect();
        assert_eq!(table, [("png", "image/png", "png"), ("jpeg", "image/jpeg", "jpg"), ("webp", "image/webp", "webp")]);
        assert_eq!(ImageFormat::from_name("jpeg"), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::from_name("jpg"), None);
    }

    #[test]
    fn sizes_come_from_headers() {
        assert_eq!(size(&png(3, 2)), Ok((3, 2)));
        assert_eq!(size(&jpeg(2, 5)), Ok((2, 5)));
        assert_eq!(size(&webp(1024, 768)), Ok((1024, 768)));
        let cut = size(&png(3, 2)[..14]).unwrap_err();
        assert!(!cut.to_string().is_empty(), "{cut:?}");
        assert!(size(b"GIF89a\x01\x00\x01\x00\x00\x00\x00").is_err(), "GIF is not read");
    }
}
