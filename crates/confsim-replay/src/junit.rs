//! JUnit XML for CI systems: one test case per journal, a `failure` (the first divergence)
//! for a journal that diverged and an `error` for one that could not be replayed. The format is
//! small enough to write by hand; what matters is the escaping, since messages quote journal
//! content (agent ids and bodies exactly as clients sent them) and file names.

use crate::corpus::{Replayed, Summary};
use std::fmt::Write as _;

/// The JUnit XML document for a replayed corpus.
pub fn junit(replayed: &[Replayed], summary: &Summary) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\"",
        summary.journals,
        summary.diverged,
        summary.invalid,
        summary.wall_time_ms / 1000.0
    );
    let _ = writeln!(x, "<testsuites name=\"confsim replay\" {counts}>");
    let _ = writeln!(
        x,
        "  <testsuite name=\"confsim replay\" {counts} skipped=\"0\">"
    );
    for r in replayed {
        let name = r.journal.display().to_string();
        let time = r.result.as_ref().map_or(0.0, |o| o.wall_time_ms / 1000.0);
        let _ = write!(
            x,
            "    <testcase classname=\"confsim.replay\" name=\"{}\" time=\"{time:.3}\">",
            attr(&name)
        );
        match &r.result {
            Ok(outcome) => match &outcome.first_divergence {
                None => {
                    let _ = write!(
                        x,
                        "\n      <system-out>{}</system-out>\n    ",
                        text(&outcome.verdict_line())
                    );
                }
                Some(d) => {
                    let _ = write!(
                        x,
                        "\n      <failure type=\"divergence\" message=\"{}\">{}</failure>\n    ",
                        attr(&format!(
                            "diverged at {} ({} further differences)",
                            d.summary(),
                            outcome.further_differences
                        )),
                        text(&outcome.human())
                    );
                }
            },
            Err(error) => {
                let _ = write!(
                    x,
                    "\n      <error type=\"invalid journal\" message=\"{}\"/>\n    ",
                    attr(&error.to_string())
                );
            }
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Whether XML 1.0 allows the character at all (even as a reference).
fn is_xml_char(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A parser normalizes white space in attribute values and `\r` everywhere;
            // references keep them as they were.
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            // Characters XML cannot carry at all (most control characters) are written as
            // visible escapes instead of making the document invalid.
            c if !is_xml_char(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn attr(s: &str) -> String {
    escape(s, true)
}

fn text(s: &str) -> String {
    escape(s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_control_characters_are_escaped() {
        assert_eq!(
            attr("a<b & \"c\" 'd'\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&#10;\\u{0001}"
        );
        assert_eq!(text("x\ny\r"), "x\ny&#13;");
    }
}
