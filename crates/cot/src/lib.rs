//! Cursor-on-Target (CoT 2.0, the XML events TAK clients exchange): a strict parser, a
//! model and a renderer. Pure: no IO, no clock; the caller hands in bytes and gets bytes.
//!
//! What it must never do: expand an entity beyond the five XML predefines and character
//! references, accept a DTD, read past its limits, or change a `<detail>` child it does
//! not understand. Children it does not model are kept as their exact source bytes and
//! written back unchanged.
//!
//! The parser reads `<event>` or an `<events>` wrapper of many. XML-level problems
//! (malformed markup, a DOCTYPE, an unknown entity, a limit) refuse the whole document
//! with a [`ParseError`] naming the line, byte offset and problem; CoT-level problems of
//! one event (a missing `uid`, a latitude out of range, a bad time) are reported per event
//! ([`EventError`]), so a caller can list every bad event at once.

mod model;
mod parse;
mod render;
pub mod time;

pub use model::{Detail, Element, Ellipse, Event, LinkPoint, Point, UNKNOWN};
pub use parse::{EventError, Limits, ParseError, parse, parse_each};
pub use render::{DOCUMENT_HEAD, DOCUMENT_TAIL, document_line, render_document, render_event};
