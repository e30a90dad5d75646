//! The event as Liaison reads and writes it.

/// The CoT convention for an unknown height or error: `9999999.0`.
pub const UNKNOWN: f64 = 9_999_999.0;

/// `<point lat lon hae ce le/>`: WGS84 degrees, height above ellipsoid, circular and
/// linear error in metres ([`UNKNOWN`] when not known).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    pub hae: f64,
    pub ce: f64,
    pub le: f64,
}

impl Point {
    /// A point with unknown height and errors.
    pub fn at(lat: f64, lon: f64) -> Point {
        Point {
            lat,
            lon,
            hae: UNKNOWN,
            ce: UNKNOWN,
            le: UNKNOWN,
        }
    }
}

/// A simple `<detail>` child: attributes in source order and its text (no child elements).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Element {
    pub attrs: Vec<(String, String)>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn with_attrs<I, K, V>(attrs: I) -> Element
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Element {
            attrs: attrs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            text: String::new(),
        }
    }
}

/// `<link point="lat,lon[,hae]"/>`: a vertex of a drawn shape.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkPoint {
    pub lat: f64,
    pub lon: f64,
    pub hae: Option<f64>,
}

/// `<shape><ellipse major minor angle/></shape>`: semi-axes in metres, angle in degrees.
#[derive(Clone, Debug, PartialEq)]
pub struct Ellipse {
    pub major: f64,
    pub minor: f64,
    pub angle: f64,
}

/// `<detail>`: the children Liaison reads, and every other child as its exact bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    /// The first `<contact>` without child elements (`callsign`, `endpoint`, …).
    pub contact: Option<Element>,
    /// The first `<remarks>` without child elements.
    pub remarks: Option<Element>,
    /// `<link>`s whose only attribute is `point`, in order.
    pub links: Vec<LinkPoint>,
    /// The first `<shape>` that holds exactly one `<ellipse major minor angle/>`.
    pub ellipse: Option<Ellipse>,
    /// The first `<liaison .../>`: Liaison's own attributes (site id, category, radius).
    pub liaison: Option<Element>,
    /// Every other child, each exactly as it was in the source, in source order
    /// (whitespace and comments between children are not kept).
    pub kept: String,
}

impl Detail {
    pub fn callsign(&self) -> Option<&str> {
        self.contact.as_ref().and_then(|c| c.attr("callsign"))
    }

    pub fn is_empty(&self) -> bool {
        self.contact.is_none()
            && self.remarks.is_none()
            && self.links.is_empty()
            && self.ellipse.is_none()
            && self.liaison.is_none()
            && self.kept.is_empty()
    }
}

/// `<event version="2.0" uid type time start stale how>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub uid: String,
    /// The `type` attribute: a hierarchy such as `a-f-G-U-C` or `u-d-f`.
    pub cot_type: String,
    /// RFC 3339, validated.
    pub time: String,
    pub start: String,
    pub stale: String,
    /// `h-e` (entered by hand), `m-g` (GPS), …
    pub how: String,
    /// Other attributes of `<event>` (`access`, `qos`, `opex`, …) in source order.
    pub extra: Vec<(String, String)>,
    pub point: Point,
    /// `None` when the event has no `<detail>` element.
    pub detail: Option<Detail>,
}

impl Event {
    /// Whether the event is a drawn shape (`u-d-…`) rather than a thing at a point.
    pub fn is_drawing(&self) -> bool {
        self.cot_type.starts_with("u-d-")
    }
}
