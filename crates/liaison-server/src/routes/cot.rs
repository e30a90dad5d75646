//! Cursor-on-Target over HTTP: the current picture as CoT events for TAK clients, and
//! protected sites registered from CoT point events. The XML itself is `liaison-cot`'s;
//! this module maps sites, zones and notifications to events and back.

use crate::app::App;
use crate::auth::Caller;
use crate::deconfliction::{mgrs, to_shape};
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiQuery;
use crate::routes::deconfliction::Picture;
use crate::routes::receipt_of;
use crate::submission::XmlSubmission;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use liaison_api::ApiError;
use liaison_core::deconfliction::{
    MAX_COT_DETAIL, Notification, Shape, ShapeKind, Site, SiteCategory, Stance, Zone,
};
use liaison_core::{Command, Duration, Timestamp};
use liaison_cot::{Detail, Element, Ellipse, Event, LinkPoint, Point, UNKNOWN};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Sites and zones have no time window of their own; a TAK client drops them a day after
/// the export unless it is refreshed.
const PICTURE_STALE: Duration = Duration::from_hours(24);

/// CoT type of a protected site at a point: neutral, ground, installation.
const SITE_TYPE: &str = "a-n-G-I";

fn time(t: Timestamp) -> String {
    liaison_api::time::format(t)
}

/// One drawable piece of a shape: a point event, a circle, or a polyline/polygon.
struct Part {
    point: Point,
    links: Vec<LinkPoint>,
    ellipse: Option<Ellipse>,
    cot_type: &'static str,
}

fn link(p: &[f64; 2]) -> LinkPoint {
    LinkPoint {
        lat: p[1],
        lon: p[0],
        hae: None,
    }
}

/// The mean of a ring's distinct vertices: where a TAK client puts the shape's label.
fn centre(ring: &[[f64; 2]]) -> Point {
    let open = match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    };
    let n = open.len().max(1) as f64;
    let (lon, lat) = open
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
    Point::at(lat / n, lon / n)
}

/// Polygons as closed `u-d-f` outlines (exterior rings: a TAK drawing has no holes),
/// circles as `u-d-c-c` with an ellipse, corridors as their centre line.
fn parts(shape: &Shape) -> Vec<Part> {
    match shape.kind {
        ShapeKind::Polygon | ShapeKind::MultiPolygon => shape
            .coordinates
            .iter()
            .filter_map(|rings| rings.first())
            .map(|ring| Part {
                point: centre(ring),
                links: ring.iter().map(link).collect(),
                ellipse: None,
                cot_type: "u-d-f",
            })
            .collect(),
        ShapeKind::Circle => shape
            .anchor()
            .map(|c| Part {
                point: Point::at(c[1], c[0]),
                links: Vec::new(),
                ellipse: Some(Ellipse {
                    major: shape.buffer_m,
                    minor: shape.buffer_m,
                    angle: 0.0,
                }),
                cot_type: "u-d-c-c",
            })
            .into_iter()
            .collect(),
        ShapeKind::Corridor => shape
            .coordinates
            .first()
            .and_then(|p| p.first())
            .map(|line| Part {
                point: centre(line),
                links: line.iter().map(link).collect(),
                ellipse: None,
                cot_type: "u-d-f",
            })
            .into_iter()
            .collect(),
    }
}

/// `liaison-site-7`, and `liaison-site-7-2` for the second polygon of a multipolygon.
fn uid(kind: &str, id: u64, part: usize, parts: usize) -> String {
    if parts <= 1 || part == 0 {
        format!("liaison-{kind}-{id}")
    } else {
        format!("liaison-{kind}-{id}-{}", part + 1)
    }
}

fn remarks(text: String) -> Option<Element> {
    Some(Element {
        attrs: vec![("source".into(), "liaison".into())],
        text,
    })
}

fn names_text(s: &Site) -> String {
    s.names
        .iter()
        .map(|(lang, n)| format!("{lang}: {n}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn site_events(s: &Site, lapsed: bool, now: Timestamp) -> Vec<Event> {
    let callsign = s
        .names
        .get("en")
        .or_else(|| s.names.values().next())
        .cloned()
        .unwrap_or_default();
    let confirmed = s
        .confirmations
        .iter()
        .map(|(p, t)| format!("{p} {}", time(*t)))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "Protected site ({}), version {}. Names: {}. MGRS {}. {}Confirmed by {}{}.",
        s.category.as_str(),
        s.version,
        names_text(s),
        mgrs(&s.shape),
        if s.shape.kind == ShapeKind::Circle {
            format!("Radius {} m. ", s.shape.buffer_m)
        } else {
            String::new()
        },
        if confirmed.is_empty() {
            "nobody"
        } else {
            &confirmed
        },
        if lapsed { "; CONFIRMATION LAPSED" } else { "" },
    );
    let mut liaison = vec![
        ("kind".to_string(), "site".to_string()),
        ("site".into(), s.id.to_string()),
        ("version".into(), s.version.to_string()),
        ("category".into(), s.category.as_str().into()),
        (
            "confirmation".into(),
            if lapsed { "lapsed" } else { "current" }.into(),
        ),
        ("mgrs".into(), mgrs(&s.shape)),
    ];
    for (lang, n) in &s.names {
        liaison.push((format!("name_{lang}"), n.clone()));
    }
    let detail = |links: Vec<LinkPoint>, extra: Vec<(String, String)>| Detail {
        contact: Some(Element::with_attrs([("callsign", callsign.clone())])),
        remarks: remarks(text.clone()),
        links,
        ellipse: None,
        liaison: Some(Element {
            attrs: liaison.iter().cloned().chain(extra).collect(),
            text: String::new(),
        }),
        kept: s.cot_detail.clone().unwrap_or_default(),
    };
    let stale = time(now.plus(PICTURE_STALE));
    if s.shape.kind == ShapeKind::Circle {
        let Some(c) = s.shape.anchor() else {
            return Vec::new();
        };
        return vec![Event {
            uid: uid("site", s.id, 0, 1),
            cot_type: SITE_TYPE.into(),
            time: time(now),
            start: time(now),
            stale,
            how: "h-e".into(),
            extra: Vec::new(),
            point: Point::at(c[1], c[0]),
            detail: Some(detail(
                Vec::new(),
                vec![("radius_m".into(), s.shape.buffer_m.to_string())],
            )),
        }];
    }
    let ps = parts(&s.shape);
    let n = ps.len();
    ps.into_iter()
        .enumerate()
        .map(|(i, p)| Event {
            uid: uid("site", s.id, i, n),
            cot_type: p.cot_type.into(),
            time: time(now),
            start: time(now),
            stale: stale.clone(),
            how: "h-e".into(),
            extra: Vec::new(),
            point: p.point,
            detail: Some(detail(p.links, Vec::new())),
        })
        .collect()
}

pub(crate) fn zone_events(z: &Zone, members: &BTreeSet<String>, now: Timestamp) -> Vec<Event> {
    let status = z.status(members);
    let stances = z
        .stances
        .iter()
        .map(|(p, s)| {
            let s = match s {
                Stance::Proposed => "proposed",
                Stance::Accepted => "accepted",
                Stance::Disputed => "disputed",
            };
            format!("{p} {s}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut rules = Vec::new();
    if !z.rules.prohibited_kinds.is_empty() {
        rules.push(format!(
            "prohibited: {}",
            z.rules
                .prohibited_kinds
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match (z.rules.alt_min_m, z.rules.alt_max_m) {
        (None, None) => {}
        (a, b) => rules.push(format!(
            "altitude {}–{} m",
            a.map(|x| x.to_string()).unwrap_or_else(|| "any".into()),
            b.map(|x| x.to_string()).unwrap_or_else(|| "any".into())
        )),
    }
    if !z.rules.force_limits.is_empty() {
        rules.push(format!("force limits: {}", z.rules.force_limits.join("; ")));
    }
    let text = format!(
        "Zone {} ({}), {status} ({stances}), version {}. Rules: {}. MGRS {}.{}",
        z.name,
        z.kind.as_str(),
        z.version,
        if rules.is_empty() {
            "none".into()
        } else {
            rules.join("; ")
        },
        mgrs(&z.shape),
        if z.note.is_empty() {
            String::new()
        } else {
            format!(" {}", z.note)
        }
    );
    let ps = parts(&z.shape);
    let n = ps.len();
    ps.into_iter()
        .enumerate()
        .map(|(i, p)| Event {
            uid: uid("zone", z.id, i, n),
            cot_type: p.cot_type.into(),
            time: time(now),
            start: time(now),
            stale: time(now.plus(PICTURE_STALE)),
            how: "h-e".into(),
            extra: Vec::new(),
            point: p.point,
            detail: Some(Detail {
                contact: Some(Element::with_attrs([("callsign", z.name.clone())])),
                remarks: remarks(text.clone()),
                links: p.links,
                ellipse: p.ellipse,
                liaison: Some(Element::with_attrs([
                    ("kind", "zone".to_string()),
                    ("zone", z.id.to_string()),
                    ("version", z.version.to_string()),
                    ("zone_kind", z.kind.as_str().into()),
                    ("status", status.into()),
                ])),
                kept: String::new(),
            }),
        })
        .collect()
}

pub(crate) fn notification_events(n: &Notification, now: Timestamp) -> Vec<Event> {
    let count = |w: &str| n.conflicts.iter().filter(|c| c.with == w).count();
    let (sites, zones, activities) = (count("site"), count("zone"), count("activity"));
    let area = match n.shape.kind {
        ShapeKind::Circle => format!("radius {} m", n.shape.buffer_m),
        ShapeKind::Corridor => format!("corridor, half-width {} m", n.shape.buffer_m),
        _ => "polygon".into(),
    };
    let text = format!(
        "Activity notification {} by {}: {} ({area}), {}–{} m, {} to {}, precedence {}. Forces: {}. MGRS {}.{} Conflicts: {sites} sites, {zones} zones, {activities} activities.",
        n.id,
        n.party,
        n.kind,
        n.alt_min_m,
        n.alt_max_m,
        time(n.start),
        time(n.end),
        n.precedence.as_str(),
        if n.forces.is_empty() {
            "not stated"
        } else {
            &n.forces
        },
        mgrs(&n.shape),
        if n.late {
            " LATE: less notice than the charter's lead time."
        } else {
            ""
        },
    );
    let ps = parts(&n.shape);
    let count = ps.len();
    ps.into_iter()
        .enumerate()
        .map(|(i, p)| Event {
            uid: uid("activity", n.id, i, count),
            cot_type: p.cot_type.into(),
            time: time(now),
            start: time(n.start),
            stale: time(n.end),
            how: "h-e".into(),
            extra: Vec::new(),
            point: p.point,
            detail: Some(Detail {
                contact: Some(Element::with_attrs([(
                    "callsign",
                    format!("{} {} {}", n.party, n.kind, n.id),
                )])),
                remarks: remarks(text.clone()),
                links: p.links,
                ellipse: p.ellipse,
                liaison: Some(Element::with_attrs([
                    ("kind", "activity".to_string()),
                    ("notification", n.id.to_string()),
                    ("party", n.party.clone()),
                    ("activity", n.kind.clone()),
                    ("alt_min_m", n.alt_min_m.to_string()),
                    ("alt_max_m", n.alt_max_m.to_string()),
                    ("late", n.late.to_string()),
                    ("conflicts", n.conflicts.len().to_string()),
                ])),
                kept: String::new(),
            }),
        })
        .collect()
}

/// `GET /api/v1/deconfliction/export.cot`: the picture of `GET /api/v1/deconfliction/export`
/// as Cursor-on-Target events, for TAK clients.
#[utoipa::path(get, path = "/api/v1/deconfliction/export.cot", operation_id = "export_cot", tag = "deconfliction", security(("bearer" = [])),
    responses((status = 200, description = "An <events> document: protected sites (point events, or u-d-f outlines), zones (u-d-f) and the notifications the caller may read that are not withdrawn and not over (u-d-c-c circles, u-d-f polygons and corridors, start/stale = the time window); remarks carry category, names, MGRS, status and conflicts; a site imported from CoT carries its unread detail back byte for byte; sent as it is written, 2,000 items at a time, each chunk as the record stood when it was written", content_type = "application/xml", body = String)))]
pub async fn export(State(app): State<App>, caller: Caller) -> Response {
    crate::routes::deconfliction::stream_picture(app, caller.viewer(), Picture::Cot)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The category of every imported site without its own `<liaison category>`.
    category: Option<String>,
}

fn liaison_attr<'a>(d: Option<&'a Detail>, k: &str) -> Option<&'a str> {
    d.and_then(|d| d.liaison.as_ref()).and_then(|l| l.attr(k))
}

/// What a CoT point event registers: the site's names, category, circle and kept detail.
fn site_command(e: &Event, default_category: Option<&str>) -> Result<Command, String> {
    let d = e.detail.as_ref();
    if e.is_drawing() || d.is_some_and(|d| !d.links.is_empty() || d.ellipse.is_some()) {
        return Err(format!(
            "type {} is a drawn shape; only point events are registered as sites",
            e.cot_type
        ));
    }
    let category = liaison_attr(d, "category").or(default_category).ok_or(
        "no category: give <liaison category=\"…\"/> in the detail or ?category=… on the request",
    )?;
    let category = SiteCategory::parse(category).ok_or_else(|| {
        format!(
            "unknown category {category:?} (one of {})",
            SiteCategory::ALL.map(|c| c.as_str()).join(", ")
        )
    })?;
    let radius = match liaison_attr(d, "radius_m") {
        Some(r) => match r.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => x,
            _ => return Err(format!("liaison radius_m {r:?} is not a positive number")),
        },
        None if e.point.ce != UNKNOWN && e.point.ce > 0.0 => e.point.ce,
        None => {
            return Err(
                "no radius: give <liaison radius_m=\"…\"/> in the detail (the point's ce is unknown)"
                    .into(),
            );
        }
    };
    let mut names = std::collections::BTreeMap::new();
    for lang in ["en", "ar", "he"] {
        if let Some(n) = liaison_attr(d, &format!("name_{lang}")) {
            names.insert(lang.to_string(), n.to_string());
        }
    }
    if names.is_empty()
        && let Some(c) = d.and_then(Detail::callsign)
    {
        names.insert("en".into(), c.to_string());
    }
    if names.is_empty() {
        return Err(
            "no name: give <contact callsign=\"…\"/> or <liaison name_en=\"…\"/> in the detail"
                .into(),
        );
    }
    let site = match liaison_attr(d, "site") {
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| format!("liaison site {v:?} is not a site id"))?,
        ),
        None => None,
    };
    let kept = d.map(|d| d.kept.clone()).unwrap_or_default();
    if kept.len() > MAX_COT_DETAIL {
        return Err(format!(
            "{} bytes of unread detail; a site keeps at most {MAX_COT_DETAIL}",
            kept.len()
        ));
    }
    let area = liaison_geo::types::Area {
        geometry: liaison_geo::types::Geometry::Point(liaison_geo::types::LonLat::new(
            e.point.lon,
            e.point.lat,
        )),
        buffer_m: radius,
    };
    liaison_geo::validate::validate_area(&area).map_err(|p| p.to_string())?;
    Ok(Command::RegisterSite {
        site,
        names,
        category,
        shape: to_shape(&area),
        cot_detail: (!kept.is_empty()).then_some(kept),
    })
}

/// `POST /api/v1/sites/cot`: every point event of the body registered as a protected
/// site, in one decision (all or nothing).
#[utoipa::path(post, path = "/api/v1/sites/cot", operation_id = "import_sites_cot", tag = "deconfliction", security(("bearer" = [])),
    params(("category" = Option<String>, Query, description = "Category for events without <liaison category=\"…\"/>")),
    request_body(content = String, content_type = "application/xml", description = "One CoT <event> or an <events> wrapper of many. Per event: the point, a radius from <liaison radius_m> or else a known ce, names from <liaison name_en|name_ar|name_he> or <contact callsign>; every detail child Liaison does not read is kept byte for byte and written back by the CoT export"),
    responses((status = 200, description = "Registered (all or nothing): {ids, uids, count, receipt}", body = Object),
        (status = 413, description = "Body over the limit", body = liaison_api::ErrorBody),
        (status = 415, description = "Not application/xml", body = liaison_api::ErrorBody),
        (status = 422, description = "invalid_xml (malformed, DOCTYPE, entity, limits: line and byte named) or invalid_input (each bad event named by index and uid)", body = liaison_api::ErrorBody)))]
pub async fn import_sites(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    sub: XmlSubmission,
) -> HttpResult<Json<Value>> {
    let XmlSubmission {
        caller,
        body,
        signature,
    } = sub;
    let limits = liaison_cot::Limits {
        max_bytes: crate::MAX_BODY,
        ..liaison_cot::Limits::default()
    };
    let parsed = liaison_cot::parse_each(&body, &limits)
        .map_err(|e| HttpError(ApiError::new("invalid_xml", format!("CoT: {e}"))))?;
    if parsed.is_empty() {
        return Err(HttpError(ApiError::invalid("the document holds no events")));
    }
    let total = parsed.len();
    let mut commands = Vec::new();
    let mut uids = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in parsed.into_iter().enumerate() {
        match r.map_err(|e| e.to_string()).and_then(|e| {
            site_command(&e, q.category.as_deref())
                .map(|c| (e.uid.clone(), c))
                .map_err(|m| format!("event {i} (uid {:?}): {m}", e.uid))
        }) {
            Ok((u, c)) => {
                uids.push(u);
                commands.push(c);
            }
            Err(m) => errors.push(m),
        }
    }
    if !errors.is_empty() {
        return Err(HttpError(ApiError::invalid(format!(
            "{} of {total} events are invalid, nothing stored: {}",
            errors.len(),
            errors.join("; ")
        ))));
    }
    // One decision for the whole import, so it is recorded all or nothing.
    let outcome = app
        .commands_signed(caller.actor(), signature, commands)
        .await?;
    let receipt = receipt_of(&outcome)?;
    Ok(Json(json!({
        "ids": outcome.seqs, "uids": uids, "count": outcome.seqs.len(), "receipt": receipt,
    })))
}
