//! `multipart/form-data` bodies (RFC 7578) built in memory, for vendors
//! that take uploads or forms instead of JSON.
//!
//! The host's `http.send` takes a finished body, so a form is encoded
//! whole: text fields and files of a few MiB at most. This module owns the
//! encoding; sending it is [`crate::http::Request::body`] with the
//! [`Encoded::content_type`] it gives.
//!
//! Why not a crate: the encoders on crates.io either stream through
//! `futures`/`hyper` types (`common-multipart-rfc7578`, `mpart-async`,
//! `multipart`) or draw a random boundary through `rand` 0.8 and an old
//! `base64` (`form-data-builder`), none of which a sandboxed
//! `wasm32-wasip2` guest needs. This one is deterministic instead: the
//! boundary is the first of a fixed sequence that occurs in no part, so
//! the same form always encodes to the same bytes (and tests can say so).
//!
//! Names and file names are escaped as RFC 7578 §2 and the HTML standard
//! do (`"` → `%22`, CR → `%0D`, LF → `%0A`). Nothing here can fail.
//!
//! ```ignore
//! let form = multipart::Form::new().text("prompt", "a fox").file("image", "in.png", "image/png", bytes).encode();
//! http::post(url).body(form.body, &form.content_type).send()?;
//! ```

/// One field of a form.
#[derive(Clone, Debug, PartialEq)]
struct Part {
    name: String,
    /// `Some` for a file part (`filename="…"` and its own content type).
    file: Option<(String, String)>,
    body: Vec<u8>,
}

/// A form under construction; [`Form::encode`] gives the body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    parts: Vec<Part>,
}

/// An encoded form: the `Content-Type` header to send and the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// `multipart/form-data; boundary=…`.
    pub content_type: String,
    /// The whole body, closing boundary included.
    pub body: Vec<u8>,
}

/// Boundaries are this prefix plus a counter (RFC 2046 allows up to 70
/// characters from a safe set; this uses letters, digits and `-`).
const BOUNDARY_PREFIX: &str = "doitong-form-boundary-";

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Form::default()
    }

    /// Add a text field (UTF-8, sent as is).
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parts.push(Part { name: name.to_string(), file: None, body: value.into().into_bytes() });
        self
    }

    /// Add a file field.
    pub fn file(mut self, name: &str, filename: &str, content_type: &str, bytes: Vec<u8>) -> Self {
        let file = Some((filename.to_string(), content_type.to_string()));
        self.parts.push(Part { name: name.to_string(), file, body: bytes });
        self
    }

    /// The text value of field `name`, if it is a text field (for tests
    /// and logs; a form is small).
    pub fn text_value(&self, name: &str) -> Option<&str> {
        self.parts.iter().find(|p| p.name == name && p.file.is_none()).and_then(|p| std::str::from_utf8(&p.body).ok())
    }

    /// Names of the fields, in order.
    pub fn names(&self) -> Vec<&str> {
        self.parts.iter().map(|p| p.name.as_str()).collect()
    }

    /// The body and its content type.
    pub fn encode(self) -> Encoded {
        let boundary = self.boundary();
        let size: usize = self.parts.iter().map(|p| p.body.len() + p.name.len() + boundary.len() + 128).sum();
        let mut body = Vec::with_capacity(size + boundary.len() + 8);
        for part in &self.parts {
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
            body.extend_from_slice(escape(&part.name).as_bytes());
            body.push(b'"');
            if let Some((filename, content_type)) = &part.file {
                body.extend_from_slice(b"; filename=\"");
                body.extend_from_slice(escape(filename).as_bytes());
                body.extend_from_slice(b"\"\r\nContent-Type: ");
                body.extend_from_slice(content_type.as_bytes());
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        Encoded { content_type: format!("multipart/form-data; boundary={boundary}"), body }
    }

    /// The first boundary of the sequence that no part contains.
    fn boundary(&self) -> String {
        (0u64..)
            .map(|n| format!("{BOUNDARY_PREFIX}{n:016x}"))
            .find(|candidate| !self.parts.iter().any(|p| contains(&p.body, candidate.as_bytes())))
            .expect("some boundary occurs in no part")
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// A name or file name as a quoted-string parameter value.
fn escape(value: &str) -> String {
    value.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_file_parts_encode_as_rfc_7578_says() {
        let form = Form::new().text("prompt", "a fox").file("image", "in.png", "image/png", vec![0x89, b'P', 0, 1]);
        assert_eq!(form.names(), ["prompt", "image"]);
        assert_eq!(form.text_value("prompt"), Some("a fox"));
        assert_eq!(form.text_value("image"), None, "a file is not a text field");
        let encoded = form.encode();
        let boundary = "doitong-form-boundary-0000000000000000";
        assert_eq!(encoded.content_type, format!("multipart/form-data; boundary={boundary}"));
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na fox\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"in.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(&[0x89, b'P', 0, 1]);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(encoded.body, expected);
    }

    #[test]
    fn the_boundary_never_occurs_in_a_part() {
        let first = "doitong-form-boundary-0000000000000000";
        let second = "doitong-form-boundary-0000000000000001";
        let tricky = format!("text that quotes --{first} on purpose");
        let encoded = Form::new().text("prompt", tricky.clone()).encode();
        assert!(encoded.content_type.ends_with(second), "{}", encoded.content_type);
        let text = String::from_utf8(encoded.body).unwrap();
        assert!(text.contains(&tricky));
        assert_eq!(text.matches(&format!("--{second}")).count(), 2, "one part, one closing line");
    }

    #[test]
    fn names_are_escaped_and_empty_forms_close() {
        let encoded = Form::new().file("a\"b", "x\r\ny.png", "image/png", Vec::new()).encode();
        let text = String::from_utf8(encoded.body).unwrap();
        assert!(text.contains("name=\"a%22b\"; filename=\"x%0D%0Ay.png\""), "{text}");
        let empty = Form::new().encode();
        assert_eq!(empty.body, b"--doitong-form-boundary-0000000000000000--\r\n");
    }

    #[test]
    fn one_file_part_with_its_name_and_type() {
        let form = || Form::new().file("file", "speech.wav", "audio/wav", b"RIFF....".to_vec());
        let encoded = form().encode();
        let boundary = encoded.content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\n\
             Content-Type: audio/wav\r\n\r\nRIFF....\r\n--{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8(encoded.body).unwrap(), expected);
        assert_eq!(form().encode().content_type, encoded.content_type);
    }

    #[test]
    fn the_boundary_never_occurs_in_a_file() {
        let file = b"...doitong-form-boundary-0000000000000000...doitong-form-boundary-0000000000000001...".to_vec();
        let encoded = Form::new().file("file", "a.bin", "application/octet-stream", file).encode();
        assert!(encoded.content_type.ends_with("doitong-form-boundary-0000000000000002"), "{}", encoded.content_type);
        let plain = Form::new().file("file", "a.bin", "application/octet-stream", b"plain".to_vec()).encode();
        assert!(plain.content_type.ends_with("doitong-form-boundary-0000000000000000"), "{}", plain.content_type);
    }

    #[test]
    fn the_same_form_encodes_to_the_same_bytes() {
        let form = || Form::new().text("seed", "42").text("output_format", "png");
        assert_eq!(form().encode(), form().encode());
    }
}
