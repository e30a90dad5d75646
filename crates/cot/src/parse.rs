//! The strict parser. It walks quick-xml's events over the input slice, so every
//! position it reports is a byte offset into what the caller sent.

use crate::model::{Detail, Element, Ellipse, Event, LinkPoint, Point};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, BytesText, Event as X};
use quick_xml::reader::Reader;
use std::fmt;

/// Limits on what the parser reads. Every one is checked before the work it bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The whole document.
    pub max_bytes: usize,
    /// Element nesting, counting `<events>` and `<event>` (`<events><event><detail><x>` is 4).
    pub max_depth: usize,
    pub max_events: usize,
    /// One attribute value, in source bytes.
    pub max_attr_len: usize,
    /// Attributes on one element.
    pub max_attrs: usize,
    /// An element or attribute name.
    pub max_name_len: usize,
    /// The content of one `<detail>`, in source bytes.
    pub max_detail_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 2 * 1024 * 1024,
            max_depth: 16,
            max_events: 10_000,
            max_attr_len: 4096,
            max_attrs: 64,
            max_name_len: 256,
            max_detail_bytes: 64 * 1024,
        }
    }
}

/// The document as a whole is refused: malformed XML, a DOCTYPE, an unknown entity, a
/// limit. Nothing in it should be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of `offset`.
    pub line: usize,
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
    pub problem: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, byte {}: {}",
            self.line, self.offset, self.problem
        )
    }
}

impl std::error::Error for ParseError {}

/// One event is well-formed XML but not a valid CoT event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    /// 0-based position of the event in the document.
    pub index: usize,
    /// The event's `uid`, when it has one.
    pub uid: Option<String>,
    pub line: usize,
    pub offset: usize,
    pub problem: String,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event {}", self.index)?;
        if let Some(u) = &self.uid {
            write!(f, " (uid {u:?})")?;
        }
        write!(
            f,
            ", line {}, byte {}: {}",
            self.line, self.offset, self.problem
        )
    }
}

impl std::error::Error for EventError {}

/// Every event of the document, each parsed or with its problem.
pub fn parse_each(
    input: &[u8],
    limits: &Limits,
) -> Result<Vec<Result<Event, EventError>>, ParseError> {
    precheck(input, limits)?;
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.check_comments = true;
    config.check_end_names = true;
    config.trim_text(false);
    config.expand_empty_elements = false;
    let mut p = P {
        r: reader,
        input,
        lim: limits,
        depth: 0,
    };
    p.document()
}

/// The events of the document, or the first problem (an event's problem is reported at
/// its position, naming the event).
pub fn parse(input: &[u8], limits: &Limits) -> Result<Vec<Event>, ParseError> {
    parse_each(input, limits)?
        .into_iter()
        .map(|r| {
            r.map_err(|e| ParseError {
                line: e.line,
                offset: e.offset,
                problem: e.to_string(),
            })
        })
        .collect()
}

fn line_of(input: &[u8], offset: usize) -> usize {
    input[..offset.min(input.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn error(input: &[u8], offset: usize, problem: impl Into<String>) -> ParseError {
    ParseError {
        line: line_of(input, offset),
        offset,
        problem: problem.into(),
    }
}

/// Size, UTF-8 and characters XML 1.0 forbids, before any markup is read.
fn precheck(input: &[u8], lim: &Limits) -> Result<(), ParseError> {
    if input.len() > lim.max_bytes {
        return Err(error(
            input,
            lim.max_bytes,
            format!(
                "the document is {} bytes; at most {} are accepted",
                input.len(),
                lim.max_bytes
            ),
        ));
    }
    if let Err(e) = std::str::from_utf8(input) {
        return Err(error(input, e.valid_up_to(), "the document is not UTF-8"));
    }
    if let Some(i) = input
        .iter()
        .position(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    {
        return Err(error(
            input,
            i,
            format!("control character 0x{:02x} is not allowed in XML", input[i]),
        ));
    }
    Ok(())
}

fn legal_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// An element inside `<detail>`, captured whole so it can be classified.
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
    /// Comments or CDATA sections inside: not a simple element.
    other: bool,
}

impl Node {
    fn simple(&self) -> bool {
        self.children.is_empty() && !self.other
    }
    fn blank(&self) -> bool {
        self.simple() && self.text.trim().is_empty()
    }
}

/// An event-level problem: where and what.
type Problem = (usize, String);

struct P<'a, 'l> {
    r: Reader<&'a [u8]>,
    input: &'a [u8],
    lim: &'l Limits,
    depth: usize,
}

impl<'a> P<'a, '_> {
    fn err(&self, at: usize, problem: impl Into<String>) -> ParseError {
        error(self.input, at, problem)
    }

    fn pos(&self) -> usize {
        usize::try_from(self.r.buffer_position()).unwrap_or(usize::MAX)
    }

    /// The next XML event and the offset where it starts.
    fn next(&mut self) -> Result<(usize, X<'a>), ParseError> {
        let at = self.pos();
        match self.r.read_event() {
            Ok(e) => Ok((at, e)),
            Err(e) => {
                let pos = usize::try_from(self.r.error_position()).unwrap_or(at);
                Err(self.err(pos, format!("malformed XML: {e}")))
            }
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > self.lim.max_depth {
            return Err(self.err(
                at,
                format!(
                    "elements are nested deeper than {} levels",
                    self.lim.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn name(&self, at: usize, s: &BytesStart<'_>) -> Result<String, ParseError> {
        let n = s.name();
        let n = n.as_ref();
        if n.len() > self.lim.max_name_len {
            return Err(self.err(
                at,
                format!(
                    "an element name is longer than {} bytes",
                    self.lim.max_name_len
                ),
            ));
        }
        // The input was checked to be UTF-8 and names split at ASCII bytes.
        Ok(String::from_utf8_lossy(n).into_owned())
    }

    fn attrs(&self, at: usize, s: &BytesStart<'_>) -> Result<Vec<(String, String)>, ParseError> {
        let mut out = Vec::new();
        for a in s.attributes() {
            let a = a.map_err(|e| self.err(at, format!("malformed attribute: {e}")))?;
            if out.len() == self.lim.max_attrs {
                return Err(self.err(
                    at,
                    format!("an element has more than {} attributes", self.lim.max_attrs),
                ));
            }
            let key = a.key.as_ref();
            if key.len() > self.lim.max_name_len {
                return Err(self.err(
                    at,
                    format!(
                        "an attribute name is longer than {} bytes",
                        self.lim.max_name_len
                    ),
                ));
            }
            let key = String::from_utf8_lossy(key).into_owned();
            if a.value.len() > self.lim.max_attr_len {
                return Err(self.err(
                    at,
                    format!(
                        "attribute {key} is longer than {} bytes",
                        self.lim.max_attr_len
                    ),
                ));
            }
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.err(at, format!("attribute {key}: {e}")))?;
            if let Some(c) = value.chars().find(|c| !legal_char(*c)) {
                return Err(self.err(
                    at,
                    format!(
                        "attribute {key} refers to character U+{:04X}, which XML 1.0 does not allow",
                        u32::from(c)
                    ),
                ));
            }
            out.push((key, value.into_owned()));
        }
        Ok(out)
    }

    fn text(&self, at: usize, t: &BytesText<'_>) -> Result<String, ParseError> {
        t.xml10_content()
            .map(|c| c.into_owned())
            .map_err(|e| self.err(at, format!("text: {e}")))
    }

    /// `&name;` or `&#n;`: only the five predefined entities and character references.
    fn reference(&self, at: usize, r: &BytesRef<'_>) -> Result<char, ParseError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) if legal_char(c) => Ok(c),
                Ok(Some(c)) => Err(self.err(
                    at,
                    format!(
                        "character reference to U+{:04X}, which XML 1.0 does not allow",
                        u32::from(c)
                    ),
                )),
                _ => Err(self.err(at, "malformed character reference")),
            };
        }
        let name = String::from_utf8_lossy(r.as_ref()).into_owned();
        match name.as_str() {
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "amp" => Ok('&'),
            "quot" => Ok('"'),
            "apos" => Ok('\''),
            _ => Err(self.err(
                at,
                format!(
                    "entity &{}; is not accepted: only &lt; &gt; &amp; &quot; &apos; and character references are",
                    name.chars().take(64).collect::<String>()
                ),
            )),
        }
    }

    /// Markup that is refused wherever it appears.
    fn refused(&self, at: usize, e: &X<'_>) -> Option<ParseError> {
        match e {
            X::DocType(_) => Some(self.err(
                at,
                "a DOCTYPE is not accepted: CoT needs no DTD, and entity declarations are how XXE and entity-expansion attacks begin",
            )),
            X::PI(_) => Some(self.err(at, "processing instructions are not accepted")),
            X::Decl(_) => Some(self.err(
                at,
                "an XML declaration is only allowed at the very start of the document",
            )),
            X::Eof => Some(self.err(at, "the document ends before every element is closed")),
            _ => None,
        }
    }

    fn document(&mut self) -> Result<Vec<Result<Event, EventError>>, ParseError> {
        let mut out = Vec::new();
        let mut root = false;
        let mut first = true;
        loop {
            let (at, e) = self.next()?;
            match e {
                X::Decl(d) if first => {
                    let v = d
                        .version()
                        .map_err(|e| self.err(at, format!("XML declaration: {e}")))?;
                    if v.as_ref() != b"1.0" {
                        return Err(self.err(at, "only XML version 1.0 is accepted"));
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| self.err(at, format!("XML declaration: {e}")))?;
                        if !enc.eq_ignore_ascii_case(b"utf-8") {
                            return Err(self.err(at, "only UTF-8 is accepted"));
                        }
                    }
                }
                X::Eof => break,
                X::Comment(_) => {}
                X::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                X::Text(_) | X::GeneralRef(_) | X::CData(_) => {
                    return Err(self.err(at, "text outside the root element"));
                }
                X::Start(s) | X::Empty(s) if root => {
                    let name = self.name(at, &s)?;
                    return Err(self.err(
                        at,
                        format!("a second root element <{name}>: send one <event> or one <events>"),
                    ));
                }
                X::Start(s) => {
                    let name = self.name(at, &s)?;
                    root = true;
                    self.enter(at)?;
                    match name.as_str() {
                        "events" => {
                            self.attrs(at, &s)?;
                            self.wrapper(&mut out)?;
                        }
                        "event" => {
                            let e = self.event(at, &s, 0)?;
                            out.push(e);
                        }
                        _ => {
                            return Err(self.err(
                                at,
                                format!("the root element is <{name}>: send <event> or <events>"),
                            ));
                        }
                    }
                    self.depth -= 1;
                }
                X::Empty(s) => {
                    let name = self.name(at, &s)?;
                    root = true;
                    match name.as_str() {
                        "events" => {
                            self.attrs(at, &s)?;
                        }
                        "event" => {
                            let attrs = self.attrs(at, &s)?;
                            out.push(Err(event_error(
                                self.input,
                                0,
                                &attrs,
                                at,
                                "an event needs a <point>",
                            )));
                        }
                        _ => {
                            return Err(self.err(
                                at,
                                format!("the root element is <{name}>: send <event> or <events>"),
                            ));
                        }
                    }
                }
                other => {
                    if let Some(e) = self.refused(at, &other) {
                        return Err(e);
                    }
                }
            }
            first = false;
        }
        if !root {
            return Err(self.err(self.input.len(), "no <event> or <events> element"));
        }
        Ok(out)
    }

    fn wrapper(&mut self, out: &mut Vec<Result<Event, EventError>>) -> Result<(), ParseError> {
        loop {
            let (at, e) = self.next()?;
            let empty = matches!(e, X::Empty(_));
            match e {
                X::End(_) => return Ok(()),
                X::Comment(_) => {}
                X::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                X::Text(_) | X::GeneralRef(_) | X::CData(_) => {
                    return Err(
                        self.err(at, "text inside <events>: it holds only <event> elements")
                    );
                }
                X::Start(s) | X::Empty(s) => {
                    let name = self.name(at, &s)?;
                    if name != "event" {
                        return Err(self.err(
                            at,
                            format!("<events> holds only <event> elements, not <{name}>"),
                        ));
                    }
                    if out.len() == self.lim.max_events {
                        return Err(self.err(
                            at,
                            format!("more than {} events in one document", self.lim.max_events),
                        ));
                    }
                    let index = out.len();
                    if empty {
                        let attrs = self.attrs(at, &s)?;
                        out.push(Err(event_error(
                            self.input,
                            index,
                            &attrs,
                            at,
                            "an event needs a <point>",
                        )));
                    } else {
                        self.enter(at)?;
                        let ev = self.event(at, &s, index)?;
                        self.depth -= 1;
                        out.push(ev);
                    }
                }
                other => {
                    if let Some(e) = self.refused(at, &other) {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Consumes an element's content up to its end tag, checking it all the same.
    fn skip(&mut self) -> Result<(), ParseError> {
        loop {
            let (at, e) = self.next()?;
            match e {
                X::End(_) => return Ok(()),
                X::Start(s) => {
                    self.name(at, &s)?;
                    self.attrs(at, &s)?;
                    self.enter(at)?;
                    self.skip()?;
                    self.depth -= 1;
                }
                X::Empty(s) => {
                    self.name(at, &s)?;
                    self.attrs(at, &s)?;
                    self.enter(at)?;
                    self.depth -= 1;
                }
                X::Text(t) => {
                    self.text(at, &t)?;
                }
                X::GeneralRef(r) => {
                    self.reference(at, &r)?;
                }
                X::Comment(_) | X::CData(_) => {}
                other => {
                    if let Some(e) = self.refused(at, &other) {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// An `<event>` whose start tag has been read (depth already entered).
    fn event(
        &mut self,
        at: usize,
        start: &BytesStart<'_>,
        index: usize,
    ) -> Result<Result<Event, EventError>, ParseError> {
        let attrs = self.attrs(at, start)?;
        let mut problem: Option<Problem> = None;
        let note = |p: &mut Option<Problem>, at: usize, m: String| {
            if p.is_none() {
                *p = Some((at, m));
            }
        };
        let mut point: Option<(usize, Vec<(String, String)>)> = None;
        let mut detail: Option<Detail> = None;
        loop {
            let (at2, e) = self.next()?;
            let empty = matches!(e, X::Empty(_));
            match e {
                X::End(_) => break,
                X::Comment(_) => {}
                X::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                X::Text(t) => {
                    self.text(at2, &t)?;
                    note(&mut problem, at2, "text inside <event>".into());
                }
                X::GeneralRef(r) => {
                    self.reference(at2, &r)?;
                    note(&mut problem, at2, "text inside <event>".into());
                }
                X::CData(_) => note(&mut problem, at2, "CDATA inside <event>".into()),
                X::Start(s) | X::Empty(s) => {
                    let name = self.name(at2, &s)?;
                    self.enter(at2)?;
                    match name.as_str() {
                        "point" => {
                            let a = self.attrs(at2, &s)?;
                            if !empty {
                                self.point_content(&mut problem)?;
                            }
                            if point.is_some() {
                                note(&mut problem, at2, "more than one <point>".into());
                            } else {
                                point = Some((at2, a));
                            }
                        }
                        "detail" => {
                            self.attrs(at2, &s)?;
                            let d = if empty {
                                Ok(Detail::default())
                            } else {
                                self.detail(at2)?
                            };
                            match d {
                                Ok(_) if detail.is_some() => {
                                    note(&mut problem, at2, "more than one <detail>".into())
                                }
                                Ok(d) => detail = Some(d),
                                Err((a, m)) => note(&mut problem, a, m),
                            }
                        }
                        _ => {
                            self.attrs(at2, &s)?;
                            if !empty {
                                self.skip()?;
                            }
                            note(
                                &mut problem,
                                at2,
                                format!("an event holds <point> and <detail>, not <{name}>"),
                            );
                        }
                    }
                    self.depth -= 1;
                }
                other => {
                    if let Some(e) = self.refused(at2, &other) {
                        return Err(e);
                    }
                }
            }
        }
        if let Some((a, m)) = problem {
            return Ok(Err(event_error(self.input, index, &attrs, a, m)));
        }
        let uid = attrs_uid(&attrs);
        Ok(build(attrs, point, detail, at)
            .map_err(|(a, m)| event_error(self.input, index, &uid, a, m)))
    }

    /// `<point ...>` with content: only whitespace and comments are allowed.
    fn point_content(&mut self, problem: &mut Option<Problem>) -> Result<(), ParseError> {
        loop {
            let (at, e) = self.next()?;
            match e {
                X::End(_) => return Ok(()),
                X::Comment(_) => {}
                X::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                X::Start(s) => {
                    self.name(at, &s)?;
                    self.attrs(at, &s)?;
                    self.enter(at)?;
                    self.skip()?;
                    self.depth -= 1;
                    problem.get_or_insert((at, "<point> has no child elements".into()));
                }
                X::Empty(s) => {
                    self.name(at, &s)?;
                    self.attrs(at, &s)?;
                    problem.get_or_insert((at, "<point> has no child elements".into()));
                }
                X::Text(t) => {
                    self.text(at, &t)?;
                    problem.get_or_insert((at, "<point> holds no text".into()));
                }
                X::GeneralRef(r) => {
                    self.reference(at, &r)?;
                    problem.get_or_insert((at, "<point> holds no text".into()));
                }
                X::CData(_) => {
                    problem.get_or_insert((at, "<point> holds no text".into()));
                }
                other => {
                    if let Some(e) = self.refused(at, &other) {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// An element inside `<detail>` (depth already entered), captured whole.
    fn node(&mut self, at: usize, s: &BytesStart<'_>, empty: bool) -> Result<Node, ParseError> {
        let mut n = Node {
            name: self.name(at, s)?,
            attrs: self.attrs(at, s)?,
            children: Vec::new(),
            text: String::new(),
            other: false,
        };
        if empty {
            return Ok(n);
        }
        loop {
            let (at2, e) = self.next()?;
            let empty = matches!(e, X::Empty(_));
            match e {
                X::End(_) => return Ok(n),
                X::Start(c) | X::Empty(c) => {
                    self.enter(at2)?;
                    n.children.push(self.node(at2, &c, empty)?);
                    self.depth -= 1;
                }
                X::Text(t) => n.text.push_str(&self.text(at2, &t)?),
                X::GeneralRef(r) => n.text.push(self.reference(at2, &r)?),
                X::CData(_) | X::Comment(_) => n.other = true,
                other => {
                    if let Some(e) = self.refused(at2, &other) {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// The content of `<detail>`: known children parsed, the rest kept byte for byte.
    fn detail(&mut self, at: usize) -> Result<Result<Detail, Problem>, ParseError> {
        let content_start = self.pos();
        let mut d = Detail::default();
        let mut problem: Option<Problem> = None;
        loop {
            let (at2, e) = self.next()?;
            let empty = matches!(e, X::Empty(_));
            if at2 - content_start > self.lim.max_detail_bytes {
                return Err(self.err(
                    at,
                    format!(
                        "a <detail> is longer than {} bytes",
                        self.lim.max_detail_bytes
                    ),
                ));
            }
            match e {
                X::End(_) => break,
                X::Comment(_) => {}
                X::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                X::Text(t) => {
                    self.text(at2, &t)?;
                    problem.get_or_insert((at2, "text directly inside <detail>".into()));
                }
                X::GeneralRef(r) => {
                    self.reference(at2, &r)?;
                    problem.get_or_insert((at2, "text directly inside <detail>".into()));
                }
                X::CData(_) => {
                    problem.get_or_insert((at2, "CDATA directly inside <detail>".into()));
                }
                X::Start(s) | X::Empty(s) => {
                    self.enter(at2)?;
                    let node = self.node(at2, &s, empty)?;
                    self.depth -= 1;
                    let end = self.pos();
                    if let Err(m) = classify(&mut d, node, &self.input[at2..end]) {
                        problem.get_or_insert((at2, m));
                    }
                }
                other => {
                    if let Some(e) = self.refused(at2, &other) {
                        return Err(e);
                    }
                }
            }
        }
        Ok(match problem {
            Some(p) => Err(p),
            None => Ok(d),
        })
    }
}

fn attrs_uid(attrs: &[(String, String)]) -> Vec<(String, String)> {
    attrs.iter().filter(|(k, _)| k == "uid").cloned().collect()
}

fn event_error(
    input: &[u8],
    index: usize,
    attrs: &[(String, String)],
    at: usize,
    problem: impl Into<String>,
) -> EventError {
    EventError {
        index,
        uid: attrs
            .iter()
            .find(|(k, _)| k == "uid")
            .map(|(_, v)| v.chars().take(256).collect()),
        line: line_of(input, at),
        offset: at,
        problem: problem.into(),
    }
}

fn number(what: &str, v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{what} {v:?} is not a number")),
    }
}

fn check_lat_lon(what: &str, lat: f64, lon: f64) -> Result<(), String> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!("{what}: latitude {lat} is outside -90..90"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("{what}: longitude {lon} is outside -180..180"));
    }
    Ok(())
}

/// Sorts one `<detail>` child into the known fields or the kept bytes.
fn classify(d: &mut Detail, n: Node, source: &[u8]) -> Result<(), String> {
    let only = |names: &[&str]| n.attrs.iter().all(|(k, _)| names.contains(&k.as_str()));
    match n.name.as_str() {
        "contact" if d.contact.is_none() && n.blank() => {
            d.contact = Some(Element {
                attrs: n.attrs,
                text: String::new(),
            });
            return Ok(());
        }
        "remarks" if d.remarks.is_none() && n.simple() => {
            d.remarks = Some(Element {
                attrs: n.attrs,
                text: n.text,
            });
            return Ok(());
        }
        "link" if n.blank() && n.attrs.len() == 1 && only(&["point"]) => {
            let v = &n.attrs[0].1;
            let parts: Vec<&str> = v.split(',').collect();
            if parts.len() != 2 && parts.len() != 3 {
                return Err(format!("link point {v:?} is not lat,lon or lat,lon,hae"));
            }
            let lat = number("link point latitude", parts[0])?;
            let lon = number("link point longitude", parts[1])?;
            check_lat_lon("link point", lat, lon)?;
            let hae = match parts.get(2) {
                Some(h) => Some(number("link point height", h)?),
                None => None,
            };
            d.links.push(LinkPoint { lat, lon, hae });
            return Ok(());
        }
        "shape"
            if d.ellipse.is_none()
                && n.attrs.is_empty()
                && n.text.trim().is_empty()
                && !n.other
                && n.children.len() == 1
                && n.children[0].name == "ellipse"
                && n.children[0].blank()
                && n.children[0].attrs.len() == 3
                && n.children[0]
                    .attrs
                    .iter()
                    .all(|(k, _)| matches!(k.as_str(), "major" | "minor" | "angle")) =>
        {
            let e = &n.children[0];
            let get = |k: &str| {
                let v = e
                    .attrs
                    .iter()
                    .find(|(a, _)| a == k)
                    .map(|(_, v)| v.as_str());
                number(&format!("ellipse {k}"), v.unwrap_or(""))
            };
            let (major, minor, angle) = (get("major")?, get("minor")?, get("angle")?);
            if major < 0.0 || minor < 0.0 {
                return Err("an ellipse's axes are not negative".into());
            }
            d.ellipse = Some(Ellipse {
                major,
                minor,
                angle,
            });
            return Ok(());
        }
        "liaison" if d.liaison.is_none() && n.blank() => {
            d.liaison = Some(Element {
                attrs: n.attrs,
                text: String::new(),
            });
            return Ok(());
        }
        _ => {}
    }
    // The input is UTF-8 and the span runs from '<' to '>', so this is exact.
    d.kept.push_str(&String::from_utf8_lossy(source));
    Ok(())
}

/// `[A-Za-z0-9]` parts joined by single hyphens (dots allowed inside parts).
fn hierarchy(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        })
}

fn build(
    attrs: Vec<(String, String)>,
    point: Option<(usize, Vec<(String, String)>)>,
    detail: Option<Detail>,
    at: usize,
) -> Result<Event, Problem> {
    let get = |k: &str| {
        attrs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| (at, format!("<event> has no {k} attribute")))
    };
    let version = get("version")?;
    if version != "2.0" {
        return Err((at, format!("version {version:?}: only CoT 2.0 is read")));
    }
    let uid = get("uid")?;
    if uid.is_empty() || uid.chars().count() > 256 || uid.chars().any(char::is_whitespace) {
        return Err((at, "uid is 1-256 characters without spaces".into()));
    }
    let cot_type = get("type")?;
    if !hierarchy(&cot_type, 100) {
        return Err((
            at,
            format!("type {cot_type:?} is not a CoT type such as a-f-G-U-C or u-d-f"),
        ));
    }
    let how = get("how")?;
    if !hierarchy(&how, 32) {
        return Err((
            at,
            format!("how {how:?} is not a CoT how such as h-e or m-g"),
        ));
    }
    let mut times = Vec::new();
    for k in ["time", "start", "stale"] {
        let v = get(k)?;
        let t = crate::time::parse_micros(&v).map_err(|m| (at, format!("{k}: {m}")))?;
        times.push((v, t));
    }
    if times[2].1 < times[1].1 {
        return Err((at, "stale is before start".into()));
    }
    let mut it = times.into_iter().map(|(v, _)| v);
    let (time, start, stale) = (
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
    );
    let (pat, pattrs) = point.ok_or_else(|| (at, "an event needs a <point>".to_string()))?;
    let pget = |k: &str| -> Result<f64, Problem> {
        let v = pattrs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| (pat, format!("<point> has no {k} attribute")))?;
        number(&format!("point {k}"), v).map_err(|m| (pat, m))
    };
    if let Some((k, _)) = pattrs
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "lat" | "lon" | "hae" | "ce" | "le"))
    {
        return Err((pat, format!("<point> has no attribute {k}")));
    }
    let point = Point {
        lat: pget("lat")?,
        lon: pget("lon")?,
        hae: pget("hae")?,
        ce: pget("ce")?,
        le: pget("le")?,
    };
    check_lat_lon("point", point.lat, point.lon).map_err(|m| (pat, m))?;
    if point.ce < 0.0 || point.le < 0.0 {
        return Err((pat, "point ce and le are not negative".into()));
    }
    let extra = attrs
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "version" | "uid" | "type" | "how" | "time" | "start" | "stale"
            )
        })
        .cloned()
        .collect();
    Ok(Event {
        uid,
        cot_type,
        time,
        start,
        stale,
        how,
        extra,
        point,
        detail,
    })
}
