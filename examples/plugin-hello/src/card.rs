//! The card: a prompt set as an SVG image.
//!
//! Everything here is pure (no host calls, no clock), so it is unit-tested
//! natively with `cargo test -p doitong-plugin-hello`.
//!
//! The drawing is laid out once in an 800 × 418 coordinate space (the
//! `viewBox`); the requested size only changes the `width` and `height`
//! attributes, so a wider card is the same card, scaled.

use std::fmt::Write as _;

/// Width of the drawing's coordinate space, and the default card width in pixels.
pub const BASE_WIDTH: u32 = 800;
/// Height of the drawing's coordinate space, and the default card height in pixels.
pub const BASE_HEIGHT: u32 = 418;
/// Characters per line: at 36-unit bold type an average character is about
/// 21 units wide, so 28 of them fill the 664 units between the text's left
/// edge and the right margin with a little room for wide letters.
pub const CHARS_PER_LINE: usize = 28;
/// Lines that fit between the top margin and the footer; longer text ends in `…`.
pub const MAX_LINES: usize = 5;

/// Font size of the prompt, in drawing units.
const FONT_SIZE: u32 = 36;
/// Distance between baselines, in drawing units.
const LINE_HEIGHT: u32 = 48;
/// Left edge of the text, in drawing units.
const TEXT_X: u32 = 88;
/// Baseline of the first line, in drawing units.
const FIRST_BASELINE: u32 = 100;
/// Baseline of the footer, in drawing units.
const FOOTER_BASELINE: u32 = 370;
/// Fonts tried in order; every SVG viewer has the generic last one.
const FONT_FAMILY: &str = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif";

/// The card's colour scheme, the `theme` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Dark text on white (the default).
    Light,
    /// Light text on slate.
    Dark,
}

/// The colours of one theme, as CSS hex strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Card background.
    pub background: &'static str,
    /// The prompt.
    pub text: &'static str,
    /// The bar left of the text.
    pub accent: &'static str,
    /// The footer.
    pub muted: &'static str,
}

impl Theme {
    /// Every theme, in the order the offering lists them.
    pub const ALL: [Theme; 2] = [Theme::Light, Theme::Dark];

    /// The option value naming this theme.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The theme an option value names, if any.
    pub fn parse(name: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its colours.
    pub fn palette(self) -> Palette {
        match self {
            Theme::Light => Palette { background: "#ffffff", text: "#1f2933", accent: "#6c5ce7", muted: "#7b8794" },
            Theme::Dark => Palette { background: "#1f2933", text: "#f5f7fa", accent: "#a29bfe", muted: "#9aa5b1" },
        }
    }
}

/// A rendered card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The SVG document, UTF-8.
    pub svg: String,
    /// Pixels.
    pub width: u32,
    /// Pixels: `width * 418 / 800`, rounded down.
    pub height: u32,
}

/// The card height for a width, keeping the 800:418 shape (rounded down).
pub fn height_for(width: u32) -> u32 {
    width * BASE_HEIGHT / BASE_WIDTH
}

/// Render `text` on a card `width` pixels wide.
///
/// The text is wrapped at word boundaries ([`wrap`]) and escaped for XML
/// ([`escape`]); the full prompt is also the SVG's `<title>`, for screen
/// readers and for text the card had to cut.
pub fn render(text: &str, theme: Theme, width: u32) -> Card {
    let height = height_for(width);
    let colours = theme.palette();
    let lines = wrap(text, CHARS_PER_LINE, MAX_LINES);
    let bar_height = (lines.len().max(1) as u32 - 1) * LINE_HEIGHT + FONT_SIZE + 16;

    let mut svg = String::with_capacity(1024 + text.len() * 2);
    svg.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {BASE_WIDTH} {BASE_HEIGHT}\" role=\"img\">"
    );
    let _ = writeln!(svg, "  <title>{}</title>", escape(text.trim()));
    let _ = writeln!(
        svg,
        "  <rect width=\"{BASE_WIDTH}\" height=\"{BASE_HEIGHT}\" rx=\"24\" fill=\"{}\"/>",
        colours.background
    );
    let _ = writeln!(
        svg,
        "  <rect x=\"56\" y=\"{}\" width=\"8\" height=\"{bar_height}\" rx=\"4\" fill=\"{}\"/>",
        FIRST_BASELINE - FONT_SIZE,
        colours.accent
    );
    let _ = writeln!(
        svg,
        "  <g font-family=\"{FONT_FAMILY}\" font-size=\"{FONT_SIZE}\" font-weight=\"600\" fill=\"{}\">",
        colours.text
    );
    for (i, line) in lines.iter().enumerate() {
        let y = FIRST_BASELINE + i as u32 * LINE_HEIGHT;
        let _ = writeln!(svg, "    <text x=\"{TEXT_X}\" y=\"{y}\">{}</text>", escape(line));
    }
    svg.push_str("  </g>\n");
    let _ = writeln!(
        svg,
        "  <text x=\"{TEXT_X}\" y=\"{FOOTER_BASELINE}\" font-family=\"{FONT_FAMILY}\" font-size=\"20\" fill=\"{}\">\
         hello-card · Example Corp</text>",
        colours.muted
    );
    svg.push_str("</svg>\n");
    Card { svg, width, height }
}

/// Escape `text` for XML element content and attribute values: `&`, `<`,
/// `>`, `"` and `'` become entities, and characters XML 1.0 forbids (most
/// C0 controls, U+FFFE, U+FFFF) are dropped, since no entity can carry them.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if allowed_in_xml(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// The XML 1.0 `Char` production (Rust `char`s are never surrogates).
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Break `text` into at most `max_lines` lines of at most `max_chars`
/// characters.
///
/// Lines break between words; runs of whitespace collapse to one space;
/// a line break in the text starts a new line (blank lines are dropped);
/// a word longer than a line is cut across lines. When the text needs more
/// than `max_lines`, the last line kept ends in `…`. Lengths count Unicode
/// scalar values, so very wide scripts may still overflow the card.
pub fn wrap(text: &str, max_chars: usize, max_lines: usize) -> Vec<String> {
    let max_chars = max_chars.max(2);
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        let mut len = 0;
        for word in paragraph.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            if len > 0 && len + 1 + word.len() <= max_chars {
                line.push(' ');
                line.extend(&word);
                len += 1 + word.len();
                continue;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > max_chars {
                lines.push(word.drain(..max_chars).collect());
            }
            line = word.iter().collect();
            len = word.len();
        }
        if len > 0 {
            lines.push(line);
        }
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = format!("{}…", shorten_for_ellipsis(last, max_chars));
        }
    }
    lines
}

/// `line` cut so that one more character fits in `max_chars`: unchanged if
/// it already does, else cut before its last word (or mid-word if it is one).
fn shorten_for_ellipsis(line: &str, max_chars: usize) -> String {
    if line.chars().count() < max_chars {
        return line.to_string();
    }
    let cut: String = line.chars().take(max_chars - 1).collect();
    match cut.rfind(' ') {
        Some(space) if space > 0 => cut[..space].trim_end().to_string(),
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape(r#"<script>&"'"#), "&lt;script&gt;&amp;&quot;&apos;");
        assert_eq!(escape("a\u{0}b\u{7}c\u{FFFE}d\te"), "abcd\te");
        assert_eq!(escape("café 🦊"), "café 🦊");
    }

    #[test]
    fn hostile_prompt_cannot_inject_markup() {
        let prompt = r#"</text><script>alert('x')</script><text a="b"> & more"#;
        let card = render(prompt, Theme::Light, 800);
        assert!(!card.svg.contains("<script"), "{}", card.svg);
        assert!(card.svg.contains("&lt;script&gt;"));
        assert!(card.svg.contains("&apos;x&apos;"));
        // Every `<` left in the document starts one of our own elements.
        for tag in card.svg.split('<').skip(1) {
            let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric() || "?/".contains(*c)).collect();
            assert!(
                ["?xml", "svg", "title", "rect", "g", "text", "/title", "/g", "/text", "/svg"].contains(&name.as_str()),
                "unexpected tag {name:?}"
            );
        }
    }

    #[test]
    fn size_follows_width() {
        for (width, height) in [(800, 418), (1200, 627), (200, 104), (2000, 1045), (1000, 522)] {
            assert_eq!(height_for(width), height, "width {width}");
            let card = render("hello", Theme::Light, width);
            assert_eq!((card.width, card.height), (width, height));
            assert!(card.svg.contains(&format!("width=\"{width}\" height=\"{height}\" viewBox=\"0 0 800 418\"")));
        }
    }

    #[test]
    fn themes_use_their_palette() {
        assert_eq!(Theme::parse("light"), Some(Theme::Light));
        assert_eq!(Theme::parse("dark"), Some(Theme::Dark));
        assert_eq!(Theme::parse("Dark"), None);
        let light = render("hello", Theme::Light, 800).svg;
        let dark = render("hello", Theme::Dark, 800).svg;
        assert!(light.contains("rx=\"24\" fill=\"#ffffff\"") && light.contains("fill=\"#1f2933\">"));
        assert!(dark.contains("rx=\"24\" fill=\"#1f2933\"") && dark.contains("fill=\"#f5f7fa\">"));
        assert_ne!(Theme::Light.palette(), Theme::Dark.palette());
    }

    #[test]
    fn wraps_at_word_boundaries() {
        let lines = wrap("A red fox trots across fresh snow at dawn, looking for breakfast", 30, 5);
        assert_eq!(lines, ["A red fox trots across fresh", "snow at dawn, looking for", "breakfast"]);
        assert!(lines.iter().all(|l| l.chars().count() <= 30));
    }

    #[test]
    fn wrap_collapses_whitespace_and_keeps_line_breaks() {
        assert_eq!(wrap("  one   two\t three  ", 30, 5), ["one two three"]);
        assert_eq!(wrap("first line\n\n\nsecond line\r\nthird", 30, 5), ["first line", "second line", "third"]);
        assert!(wrap(" \n\t ", 30, 5).is_empty());
    }

    #[test]
    fn wrap_cuts_long_words_and_counts_characters() {
        assert_eq!(wrap("abcdefghij", 4, 5), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("go supercalifragilistic", 10, 5), ["go", "supercalif", "ragilistic"]);
        assert_eq!(wrap("ééé ééé", 3, 5), ["ééé", "ééé"]);
    }

    #[test]
    fn wrap_ends_overflow_with_an_ellipsis() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 9, 3);
        assert_eq!(lines, ["one two", "three", "four…"]);
        let lines = wrap(&"word ".repeat(200), CHARS_PER_LINE, MAX_LINES);
        assert_eq!(lines.len(), MAX_LINES);
        assert!(lines.last().unwrap().ends_with('…'));
        assert!(lines.iter().all(|l| l.chars().count() <= CHARS_PER_LINE));
    }

    #[test]
    fn card_has_one_text_element_per_line_and_the_full_title() {
        let text = "A red fox trots across fresh snow at dawn, looking for breakfast";
        let svg = render(text, Theme::Dark, 800).svg;
        assert_eq!(svg.matches("<text x=\"88\" y=").count(), 3 + 1, "three lines and the footer");
        assert!(svg.contains(&format!("<title>{text}</title>")));
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    }
}
