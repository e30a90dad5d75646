//! A strict reader of small XML documents into a tree, over quick-xml: no DTD, no
//! entities beyond the five predefined ones, UTF-8 only, nesting limited. Errors name the
//! line.

use crate::ParseError;
use crate::limits::MAX_XML_DEPTH;
use quick_xml::events::Event as X;
use quick_xml::reader::Reader;

#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    pub line: u64,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The trimmed text of a child, when it has some.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn line_of(input: &[u8], offset: u64) -> u64 {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(input.len());
    1 + input[..end].iter().filter(|b| **b == b'\n').count() as u64
}

fn legal_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The document's root element.
pub(crate) fn read(file: &str, input: &[u8]) -> Result<Element, ParseError> {
    let err = |at: u64, m: String| ParseError::new(file, Some(line_of(input, at)), m);
    if std::str::from_utf8(input).is_err() {
        let valid = match std::str::from_utf8(input) {
            Err(e) => e.valid_up_to(),
            Ok(_) => 0,
        };
        return Err(err(valid as u64, "not UTF-8 text".to_string()));
    }
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.check_comments = true;
    config.check_end_names = true;
    config.trim_text(false);
    config.expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut first = true;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let pos = reader.error_position();
            if usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX) >= input.len() {
                err(
                    pos,
                    format!("the file ends inside markup: truncated? ({e})"),
                )
            } else {
                err(pos, format!("malformed XML: {e}"))
            }
        })?;
        let was_first = first;
        first = false;
        match event {
            X::Decl(d) if was_first => {
                if let Some(Ok(enc)) = d.encoding()
                    && !enc.eq_ignore_ascii_case(b"utf-8")
                {
                    return Err(err(at, "only UTF-8 is accepted".into()));
                }
            }
            X::Decl(_) => {
                return Err(err(
                    at,
                    "an XML declaration is only allowed at the very start".into(),
                ));
            }
            X::DocType(_) => {
                return Err(err(
                    at,
                    "a DOCTYPE is not accepted (entity declarations are how XXE attacks begin)"
                        .into(),
                ));
            }
            X::PI(_) => return Err(err(at, "processing instructions are not accepted".into())),
            X::Comment(_) => {}
            X::Start(s) => {
                if root.is_some() {
                    return Err(err(at, "a second root element".into()));
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(err(
                        at,
                        format!("elements are nested deeper than {MAX_XML_DEPTH} levels"),
                    ));
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for a in s.attributes() {
                    let a = a.map_err(|e| err(at, format!("malformed attribute: {e}")))?;
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| err(at, format!("attribute {key}: {e}")))?;
                    attrs.push((key, value.into_owned()));
                }
                stack.push(Element {
                    name,
                    attrs,
                    line: line_of(input, at),
                    ..Element::default()
                });
            }
            X::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(err(at, "a closing tag without its opening tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            // `expand_empty_elements` reads every `<a/>` as a start and an end.
            X::Empty(_) => return Err(err(at, "an empty element was not expanded".into())),
            X::Text(t) => {
                let Some(top) = stack.last_mut() else {
                    if t.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Err(err(at, "text outside the root element".into()));
                };
                let text = t
                    .xml10_content()
                    .map_err(|e| err(at, format!("text: {e}")))?;
                top.text.push_str(&text);
            }
            X::CData(c) => {
                let Some(top) = stack.last_mut() else {
                    return Err(err(at, "text outside the root element".into()));
                };
                top.text.push_str(&String::from_utf8_lossy(c.as_ref()));
            }
            X::GeneralRef(r) => {
                let Some(top) = stack.last_mut() else {
                    return Err(err(at, "text outside the root element".into()));
                };
                let c = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) if legal_char(c) => c,
                        _ => {
                            return Err(err(
                                at,
                                "a malformed or illegal character reference".into(),
                            ));
                        }
                    }
                } else {
                    match r.as_ref() {
                        b"lt" => '<',
                        b"gt" => '>',
                        b"amp" => '&',
                        b"quot" => '"',
                        b"apos" => '\'',
                        other => {
                            return Err(err(
                                at,
                                format!(
                                    "entity &{}; is not accepted: only the five predefined ones are",
                                    String::from_utf8_lossy(&other[..other.len().min(64)])
                                ),
                            ));
                        }
                    }
                };
                top.text.push(c);
            }
            X::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            input.len() as u64,
            format!(
                "the file ends inside <{}> (opened on line {}): truncated?",
                open.name, open.line
            ),
        ));
    }
    root.ok_or_else(|| ParseError::new(file, None, "no XML element in the file"))
}
