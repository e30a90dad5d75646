//! Writing events: every value escaped, kept `<detail>` bytes written back unchanged.

use crate::model::{Detail, Element, Event};
use std::fmt::Write;

/// Characters XML 1.0 cannot carry at all (even as a character reference) become U+FFFD.
/// The parser never produces them; this keeps hand-built values from breaking the output.
fn legal(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
        _ => c,
    }
}

/// An attribute value between double quotes. Tabs and line breaks are written as
/// character references, because a parser normalises literal ones to spaces.
fn attr_value(out: &mut String, v: &str) {
    for c in v.chars().map(legal) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Character data. A carriage return is a reference, so line-end normalisation keeps it.
fn text(out: &mut String, v: &str) {
    for c in v.chars().map(legal) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn attr(out: &mut String, k: &str, v: &str) {
    out.push(' ');
    out.push_str(k);
    out.push_str("=\"");
    attr_value(out, v);
    out.push('"');
}

/// Shortest text that reads back as the same `f64` (`9999999.0`, `33.27`, `1e-7`).
fn num(x: f64) -> String {
    format!("{x:?}")
}

fn element(out: &mut String, name: &str, e: &Element) {
    out.push('<');
    out.push_str(name);
    for (k, v) in &e.attrs {
        attr(out, k, v);
    }
    if e.text.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        text(out, &e.text);
        let _ = write!(out, "</{name}>");
    }
}

fn detail(out: &mut String, d: &Detail) {
    out.push_str("<detail>");
    if let Some(c) = &d.contact {
        element(out, "contact", c);
    }
    if let Some(r) = &d.remarks {
        element(out, "remarks", r);
    }
    for l in &d.links {
        let point = match l.hae {
            Some(h) => format!("{},{},{}", num(l.lat), num(l.lon), num(h)),
            None => format!("{},{}", num(l.lat), num(l.lon)),
        };
        out.push_str("<link");
        attr(out, "point", &point);
        out.push_str("/>");
    }
    if let Some(e) = &d.ellipse {
        out.push_str("<shape><ellipse");
        attr(out, "major", &num(e.major));
        attr(out, "minor", &num(e.minor));
        attr(out, "angle", &num(e.angle));
        out.push_str("/></shape>");
    }
    if let Some(l) = &d.liaison {
        element(out, "liaison", l);
    }
    // Written back exactly as they came in.
    out.push_str(&d.kept);
    out.push_str("</detail>");
}

fn event_into(out: &mut String, e: &Event) {
    out.push_str("<event");
    attr(out, "version", "2.0");
    attr(out, "uid", &e.uid);
    attr(out, "type", &e.cot_type);
    attr(out, "time", &e.time);
    attr(out, "start", &e.start);
    attr(out, "stale", &e.stale);
    attr(out, "how", &e.how);
    for (k, v) in &e.extra {
        attr(out, k, v);
    }
    out.push_str("><point");
    let p = &e.point;
    attr(out, "lat", &num(p.lat));
    attr(out, "lon", &num(p.lon));
    attr(out, "hae", &num(p.hae));
    attr(out, "ce", &num(p.ce));
    attr(out, "le", &num(p.le));
    out.push_str("/>");
    if let Some(d) = &e.detail {
        detail(out, d);
    }
    out.push_str("</event>");
}

/// One `<event>` with an XML declaration, as a TAK client expects a single message.
pub fn render_event(e: &Event) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    event_into(&mut out, e);
    out.push('\n');
    out
}

/// What opens an `<events>` document: the XML declaration and the wrapper's start tag.
pub const DOCUMENT_HEAD: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<events>\n";

/// What closes an `<events>` document.
pub const DOCUMENT_TAIL: &str = "</events>\n";

/// One event as a line of an `<events>` document, for a writer that sends the document
/// a part at a time: `DOCUMENT_HEAD`, lines, `DOCUMENT_TAIL`.
pub fn document_line(out: &mut String, e: &Event) {
    event_into(out, e);
    out.push('\n');
}

/// Many events in an `<events>` wrapper, one per line.
pub fn render_document(events: &[Event]) -> String {
    let mut out = String::from(DOCUMENT_HEAD);
    for e in events {
        document_line(&mut out, e);
    }
    out.push_str(DOCUMENT_TAIL);
    out
}
