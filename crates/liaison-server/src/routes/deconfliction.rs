//! Deconfliction over HTTP: protected sites, zones (stances, waivers), activity
//! notifications checked the moment they are filed, the dry-run check, conflicts, and
//! the current picture as GeoJSON. Bodies are GeoJSON Features (or FeatureCollections
//! for bulk) whose `properties` carry the fields.

use crate::app::App;
use crate::auth::Caller;
use crate::deconfliction::{
    activity, describe, find, find_named, geometry_json, mgrs, to_shape, write_answer, zone_name,
};
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiQuery;
use crate::routes::hotline::parse_precedence;
use crate::routes::{receipt_of, written};
use crate::submission::{JsonSubmission, Submission, json_body};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use liaison_api::ApiError;
use liaison_api::wire::Written;
use liaison_core::deconfliction::{Conflict, Shape, SiteCategory, Stance, ZoneKind, ZoneRules};
use liaison_core::event::EventBody;
use liaison_core::{Command, DomainError, Precedence, can_see};
use liaison_geo::types::{Activity, Geometry, LonLat};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn invalid(m: impl Into<String>) -> HttpError {
    HttpError(ApiError::invalid(m))
}

fn features(body: &Value) -> Result<Vec<liaison_geo::geojson::Feature>, HttpError> {
    liaison_geo::geojson::parse_features(body).map_err(|e| invalid(format!("GeoJSON: {e}")))
}

fn prop_str(f: &liaison_geo::geojson::Feature, k: &str) -> Option<String> {
    f.properties
        .get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn prop_f64(f: &liaison_geo::geojson::Feature, k: &str) -> Option<f64> {
    f.properties.get(k).and_then(Value::as_f64)
}

fn feature_err(f: &liaison_geo::geojson::Feature, m: impl std::fmt::Display) -> String {
    format!(
        "feature {}{}: {m}",
        f.index,
        f.id.as_ref().map(|i| format!(" ({i})")).unwrap_or_default()
    )
}

/// A feature's area: a Point needs `radius_m`, a LineString `half_width_m` (or `buffer_m`).
fn area_of(f: &liaison_geo::geojson::Feature) -> Result<Shape, String> {
    let key = match f.geometry {
        liaison_geo::types::Geometry::Point(_) => ["radius_m", "buffer_m"],
        liaison_geo::types::Geometry::LineString(_) => ["half_width_m", "buffer_m"],
        _ => ["buffer_m", "buffer_m"],
    };
    let k = if f.properties.contains_key(key[0]) {
        key[0]
    } else {
        key[1]
    };
    let area = f.area(k).map_err(|e| e.to_string())?;
    Ok(to_shape(&area))
}

fn site_json(
    s: &liaison_core::deconfliction::Site,
    reconfirm: liaison_core::Duration,
    now: liaison_core::Timestamp,
) -> Value {
    json!({
        "type": "Feature", "id": s.id, "geometry": geometry_json(&s.shape),
        "properties": {
            "kind": "protected_site", "category": s.category.as_str(), "names": s.names, "version": s.version,
            "radius_m": s.shape.buffer_m, "mgrs": mgrs(&s.shape), "registered_by": s.registered_by,
            "registered_at": liaison_api::time::format(s.registered_at),
            "confirmed_by": s.confirmations.iter().map(|(p, t)| (p.clone(), liaison_api::time::format(*t))).collect::<BTreeMap<_, _>>(),
            "confirmation_lapsed": confirmation_lapsed(s, reconfirm, now),
            "previous_versions": s.history.len(),
        }
    })
}

/// Whether a site's last confirmation is older than the charter's `site_reconfirm`.
fn confirmation_lapsed(
    s: &liaison_core::deconfliction::Site,
    reconfirm: liaison_core::Duration,
    now: liaison_core::Timestamp,
) -> bool {
    now.since(s.last_confirmed()) > reconfirm
}

/// Whether a caller may read a notification: what `GET /api/v1/notifications` and both
/// exports show.
fn visible(
    s: &liaison_core::State,
    viewer: &liaison_core::Viewer,
    n: &liaison_core::deconfliction::Notification,
) -> bool {
    liaison_core::can_read_notification(s, viewer, n.id)
}

/// Keeps of a check's hits only the activities `viewer` may read (sites and zones
/// are everyone's): another party's activity is told only to a caller that could
/// list its notification.
fn readable(
    s: &liaison_core::State,
    viewer: &liaison_core::Viewer,
    found: &mut liaison_geo::types::Conflicts<u64>,
) {
    found
        .actives
        .retain(|h| liaison_core::can_read_notification(s, viewer, h.id));
}

fn zone_json(z: &liaison_core::deconfliction::Zone, members: &BTreeSet<String>) -> Value {
    json!({
        "type": "Feature", "id": z.id, "geometry": geometry_json(&z.shape),
        "properties": {
            "kind": "zone", "zone_kind": z.kind.as_str(), "name": z.name, "version": z.version, "status": z.status(members),
            "stances": z.stances.iter().map(|(p, s)| (p.clone(), match s { Stance::Proposed => "proposed", Stance::Accepted => "accepted", Stance::Disputed => "disputed" })).collect::<BTreeMap<_, _>>(),
            "prohibited_kinds": z.rules.prohibited_kinds, "alt_min_m": z.rules.alt_min_m, "alt_max_m": z.rules.alt_max_m,
            "force_limits": z.rules.force_limits, "note": z.note, "mgrs": mgrs(&z.shape),
            "waivers": z.waivers.iter().map(|w| json!({"id": w.id, "granted_by": w.granted_by, "rules": w.rules, "kinds": w.kinds,
                "start": liaison_api::time::format(w.start), "end": liaison_api::time::format(w.end), "text": w.text,
                "approved": w.approved_at.is_some()})).collect::<Vec<_>>(),
            "proposed_by": z.proposed_by,
            "pending": z.pending.as_ref().map(|p| pending_zone_json(p, members)),
        }
    })
}

/// A proposed new version of an agreed zone (not in force until every member accepts it).
fn pending_zone_json(
    p: &liaison_core::deconfliction::PendingZone,
    members: &BTreeSet<String>,
) -> Value {
    json!({
        "version": p.version, "name": p.name, "zone_kind": p.kind.as_str(), "geometry": geometry_json(&p.shape),
        "status": p.status(members), "proposed_by": p.proposed_by,
        "stances": p.stances.iter().map(|(p, s)| (p.clone(), match s { Stance::Proposed => "proposed", Stance::Accepted => "accepted", Stance::Disputed => "disputed" })).collect::<BTreeMap<_, _>>(),
        "prohibited_kinds": p.rules.prohibited_kinds, "alt_min_m": p.rules.alt_min_m, "alt_max_m": p.rules.alt_max_m,
        "force_limits": p.rules.force_limits, "note": p.note,
    })
}

fn notification_json(n: &liaison_core::deconfliction::Notification) -> Value {
    json!({
        "type": "Feature", "id": n.id, "geometry": geometry_json(&n.shape),
        "properties": {
            "kind": "activity", "activity": n.kind, "party": n.party, "operator": n.operator, "buffer_m": n.shape.buffer_m,
            "alt_min_m": n.alt_min_m, "alt_max_m": n.alt_max_m, "start": liaison_api::time::format(n.start), "end": liaison_api::time::format(n.end),
            "forces": n.forces, "precedence": n.precedence.as_str(), "filed_at": liaison_api::time::format(n.filed_at), "late": n.late,
            "mgrs": mgrs(&n.shape), "conflicts": grouped(&n.conflicts),
            "answers": n.answers.iter().map(|(p, (a, t, at))| (p.clone(), json!({"answer": a, "text": t, "at": liaison_api::time::format(*at)}))).collect::<BTreeMap<_, _>>(),
        }
    })
}

/// `{"sites": [...], "zones": [...], "activities": [...]}`
pub fn grouped(c: &[Conflict]) -> Value {
    serde_json::to_value(Grouped(c)).unwrap_or(Value::Null)
}

/// The grouped conflicts, serialized straight from the list (no `Value` per
/// conflict): the check path answers with this.
pub struct Grouped<C>(pub C);

impl<C: AsRef<[Conflict]>> serde::Serialize for Grouped<C> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        for (key, with) in [
            ("sites", "site"),
            ("zones", "zone"),
            ("activities", "activity"),
        ] {
            m.serialize_entry(key, &OfKind(self.0.as_ref(), with))?;
        }
        m.end()
    }
}

/// The conflicts with one kind of item.
struct OfKind<'a>(&'a [Conflict], &'static str);

impl serde::Serialize for OfKind<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            id: u64,
            party: &'a str,
            reason: &'a str,
            severity: &'a str,
            distance_m: f64,
            threshold_m: f64,
        }
        s.collect_seq(self.0.iter().filter(|x| x.with == self.1).map(|x| Out {
            id: x.target,
            party: &x.party,
            reason: &x.reason,
            severity: &x.severity,
            distance_m: x.distance_m,
            threshold_m: x.threshold_m,
        }))
    }
}

fn names_of(f: &liaison_geo::geojson::Feature) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    if let Some(Value::Object(m)) = f.properties.get("names") {
        for (k, v) in m {
            if let Some(s) = v.as_str() {
                names.insert(k.clone(), s.to_string());
            }
        }
    }
    for (k, lang) in [
        ("name", "en"),
        ("name_en", "en"),
        ("name_ar", "ar"),
        ("name_he", "he"),
    ] {
        if let Some(s) = prop_str(f, k) {
            names.entry(lang.to_string()).or_insert(s);
        }
    }
    names
}

/// A site version's names, category and area, from a Feature's properties.
#[allow(clippy::type_complexity)]
fn site_version_of(
    f: &liaison_geo::geojson::Feature,
) -> Result<
    (
        BTreeMap<String, String>,
        SiteCategory,
        liaison_core::deconfliction::Shape,
    ),
    String,
> {
    let category = prop_str(f, "category").ok_or("properties.category is missing")?;
    let category =
        SiteCategory::parse(&category).ok_or_else(|| format!("unknown category {category:?}"))?;
    let names = names_of(f);
    if names.is_empty() {
        return Err("give properties.name or properties.names {en, ar, he}".into());
    }
    let shape = area_of(f)?;
    if shape.kind == liaison_core::deconfliction::ShapeKind::Corridor {
        return Err("a site is a Point with radius_m or a Polygon".into());
    }
    Ok((names, category, shape))
}

/// `POST /api/v1/sites/{id}/proposals`: a party other than the registrant proposes a
/// new version of a site; the registrant accepts or rejects it.
#[utoipa::path(post, path = "/api/v1/sites/{id}/proposals", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Site id")),
    request_body(content = Object, description = "One GeoJSON Feature, as for registering a site: the proposed version"),
    responses((status = 200, description = "Proposed; the proposal's id is the first of `seqs`", body = Written),
              (status = 409, description = "The caller's party registered the site: it publishes a new version instead", body = liaison_api::ErrorBody)))]
pub async fn propose_site_change(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<Value>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let fs = features(&body)?;
    let [f] = &fs[..] else {
        return Err(invalid("send one Feature: the proposed version"));
    };
    let (names, category, shape) = site_version_of(f).map_err(|m| invalid(feature_err(f, m)))?;
    let cmd = Command::ProposeSiteChange {
        site: id,
        names,
        category,
        shape,
        cot_detail: None,
    };
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalAnswer {
    /// True to accept (the proposed version is recorded), false to reject.
    accept: bool,
    #[serde(default)]
    text: String,
}

/// `POST /api/v1/sites/proposals/{id}/answer`: the registrant's answer.
#[utoipa::path(post, path = "/api/v1/sites/proposals/{id}/answer", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Proposal id")),
    request_body = ProposalAnswer,
    responses((status = 200, description = "Answered; when accepted, the new version is recorded with it", body = Written),
              (status = 403, description = "Only the site's registrant answers", body = liaison_api::ErrorBody)))]
pub async fn answer_site_change(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<ProposalAnswer>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let cmd = Command::AnswerSiteChange {
        proposal: id,
        accept: body.accept,
        text: body.text,
    };
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/notifications/{id}/withdraw`: the filer withdraws its notification.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/withdraw", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Notification id")),
    request_body = WithdrawBody,
    responses((status = 200, description = "Withdrawn: no longer checked against, no answer owed", body = Written),
              (status = 403, description = "Only the filing party withdraws", body = liaison_api::ErrorBody)))]
pub async fn withdraw(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<WithdrawBody>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let cmd = Command::WithdrawNotification {
        notification: id,
        reason: body.reason,
    };
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

/// `POST /api/v1/sites`: one Feature, or a FeatureCollection for bulk import. Every
/// feature is checked first; if any is invalid, nothing is stored and the answer lists
/// each bad feature and its problem.
#[utoipa::path(post, path = "/api/v1/sites", tag = "deconfliction", security(("bearer" = [])), request_body(content = Object, description = "A GeoJSON Feature or FeatureCollection: properties category, radius_m (Point), name or names {en, ar, he}"),
    responses((status = 200, description = "Registered (all or nothing)", body = Object), (status = 422, description = "Invalid features, each named with its problem", body = liaison_api::ErrorBody)))]
pub async fn register_sites(
    State(app): State<App>,
    sub: Submission<Value>,
) -> HttpResult<Json<Value>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let fs = features(&body)?;
    let mut commands = Vec::new();
    let mut errors = Vec::new();
    for f in &fs {
        let r = site_version_of(f).map(|(names, category, shape)| Command::RegisterSite {
            site: f.properties.get("site").and_then(Value::as_u64),
            names,
            category,
            shape,
            cot_detail: None,
        });
        match r {
            Ok(c) => commands.push(c),
            Err(m) => errors.push(json!({"feature": f.index, "id": f.id, "problem": m})),
        }
    }
    if !errors.is_empty() {
        let msg = errors
            .iter()
            .map(|e| {
                format!(
                    "feature {}: {}",
                    e["feature"],
                    e["problem"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(invalid(format!(
            "{} of {} features are invalid, nothing stored: {msg}",
            errors.len(),
            fs.len()
        )));
    }
    // One decision for the whole import, so it is recorded all or nothing.
    let outcome = app
        .commands_signed(caller.actor(), signature, commands)
        .await?;
    let receipt = receipt_of(&outcome)?;
    Ok(Json(
        json!({"ids": outcome.seqs, "count": outcome.seqs.len(), "receipt": receipt}),
    ))
}

/// The most sites a page of `GET /api/v1/sites` holds, and how many unless asked.
pub const MAX_SITES_PAGE: usize = 10_000;
pub const SITES_PAGE: usize = 1_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items with an id greater than this; omit to start at the first.
    pub after: Option<u64>,
    /// At most this many items (1-10000, default 1000).
    pub limit: Option<usize>,
}

fn site_reconfirm(s: &liaison_core::State) -> liaison_core::Duration {
    s.charter()
        .map(|c| c.settings.site_reconfirm)
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/sites", tag = "deconfliction", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of protected sites in id order, as a GeoJSON FeatureCollection, with MGRS and confirmation status; `next_after`, when present, is the `after` of the next page", body = Object),
              (status = 400, description = "A limit outside 1-10000", body = liaison_api::ErrorBody)))]
pub async fn list_sites(
    State(app): State<App>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> HttpResult<Json<Value>> {
    let limit = crate::routes::page_limit(q.limit, SITES_PAGE, MAX_SITES_PAGE)?;
    let s = app.shared.state.read();
    let (reconfirm, now) = (site_reconfirm(&s), app.shared.clock.now());
    let sites = s.deconfliction.sites.range(after(q.after));
    Ok(Json(feature_page(sites, limit, |x| {
        Some(site_json(x, reconfirm, now))
    })))
}

/// The keys after `after` (all without it).
fn after(after: Option<u64>) -> (std::ops::Bound<u64>, std::ops::Bound<u64>) {
    let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
    (from, std::ops::Bound::Unbounded)
}

/// A page of GeoJSON Features: the first `limit` items of `items` (in key order) that
/// `feature` makes one of, with the next page's `after` (`next_after`, the last key)
/// while more remain.
fn feature_page<'a, T: 'a>(
    items: impl Iterator<Item = (&'a u64, &'a T)>,
    limit: usize,
    feature: impl Fn(&T) -> Option<Value>,
) -> Value {
    let mut items = items.filter_map(|(k, x)| Some((*k, feature(x)?)));
    let (mut features, mut last) = (Vec::new(), None);
    for (k, f) in items.by_ref().take(limit) {
        features.push(f);
        last = Some(k);
    }
    let mut out = json!({"type": "FeatureCollection", "features": features});
    if items.next().is_some() {
        out["next_after"] = json!(last);
    }
    out
}

#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Site id")),
    responses((status = 200, description = "The protected site as a GeoJSON Feature, with MGRS, confirmation status and its earlier versions (each with its shape, MGRS and when it was registered)", body = Object),
              (status = 404, description = "No such site", body = liaison_api::ErrorBody)))]
pub async fn get_site(
    State(app): State<App>,
    _caller: Caller,
    Path(id): Path<u64>,
) -> HttpResult<Json<Value>> {
    let s = app.shared.state.read();
    let site = s
        .deconfliction
        .sites
        .get(&id)
        .ok_or_else(|| HttpError(ApiError::not_found(format!("site {id}"))))?;
    let mut out = site_json(site, site_reconfirm(&s), app.shared.clock.now());
    out["properties"]["versions"] = site
        .history
        .iter()
        .map(|(version, shape, at)| {
            json!({"version": version, "geometry": geometry_json(shape), "radius_m": shape.buffer_m,
                   "mgrs": mgrs(shape), "registered_at": liaison_api::time::format(*at)})
        })
        .collect();
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/sites/{id}/confirm", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Site id")),
    responses((status = 200, description = "Confirmed", body = Written)))]
pub async fn confirm_site(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<serde::de::IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(caller.actor(), signature, Command::ConfirmSite { site: id })
            .await?,
    )
}

#[utoipa::path(post, path = "/api/v1/zones", tag = "deconfliction", security(("bearer" = [])), request_body(content = Object, description = "A GeoJSON Feature (Polygon or MultiPolygon): properties name, zone_kind, prohibited_kinds, alt_min_m, alt_max_m, force_limits, note"),
    responses((status = 200, description = "Proposed", body = Written)))]
pub async fn register_zone(
    State(app): State<App>,
    sub: Submission<Value>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let fs = features(&body)?;
    let f = fs.first().ok_or_else(|| invalid("send one Feature"))?;
    let kind = prop_str(f, "zone_kind")
        .or_else(|| prop_str(f, "kind"))
        .unwrap_or_else(|| "other".into());
    let kind = ZoneKind::parse(&kind)
        .ok_or_else(|| invalid(feature_err(f, format!("unknown zone kind {kind:?}"))))?;
    let shape = area_of(f).map_err(|m| invalid(feature_err(f, m)))?;
    let list = |k: &str| -> Vec<String> {
        f.properties
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rules = ZoneRules {
        prohibited_kinds: list("prohibited_kinds").into_iter().collect(),
        alt_min_m: prop_f64(f, "alt_min_m"),
        alt_max_m: prop_f64(f, "alt_max_m"),
        force_limits: list("force_limits"),
    };
    let cmd = Command::RegisterZone {
        zone: f.properties.get("zone").and_then(Value::as_u64),
        name: prop_str(f, "name").unwrap_or_default(),
        kind,
        shape,
        rules,
        note: prop_str(f, "note").unwrap_or_default(),
    };
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[utoipa::path(get, path = "/api/v1/zones", tag = "deconfliction", security(("bearer" = [])),
    responses((status = 200, description = "Zones with stances, status and waivers, as GeoJSON", body = Object)))]
pub async fn list_zones(State(app): State<App>, _caller: Caller) -> Json<Value> {
    let s = app.shared.state.read();
    let members = liaison_core::deconfliction::members(&s);
    let features: Vec<Value> = s
        .deconfliction
        .zones
        .values()
        .map(|z| zone_json(z, &members))
        .collect();
    Json(json!({"type": "FeatureCollection", "features": features}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StanceBody {
    /// `accepted` or `disputed`.
    stance: String,
}

#[utoipa::path(post, path = "/api/v1/zones/{id}/stance", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Zone id")), request_body = Object,
    responses((status = 200, description = "Accepted or disputed", body = Written)))]
pub async fn zone_stance(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<StanceBody>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let stance = match body.stance.as_str() {
        "accepted" | "accept" => Stance::Accepted,
        "disputed" | "dispute" => Stance::Disputed,
        s => {
            return Err(invalid(format!(
                "stance: {s:?} is not accepted or disputed"
            )));
        }
    };
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::TakeZoneStance { zone: id, stance },
        )
        .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverBody {
    rules: Vec<String>,
    kinds: Vec<String>,
    start: String,
    end: String,
    #[serde(default)]
    text: String,
}

#[utoipa::path(post, path = "/api/v1/zones/{id}/waivers", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Zone id")), request_body = Object,
    responses((status = 200, description = "Granted; takes effect when the supervisor approves", body = Written)))]
pub async fn grant_waiver(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<WaiverBody>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let start =
        liaison_api::time::parse(&body.start).map_err(|m| invalid(format!("start: {m}")))?;
    let end = liaison_api::time::parse(&body.end).map_err(|m| invalid(format!("end: {m}")))?;
    let cmd = Command::GrantWaiver {
        zone: id,
        rules: body.rules.into_iter().collect(),
        kinds: body.kinds.into_iter().collect(),
        start,
        end,
        text: body.text,
    };
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[utoipa::path(post, path = "/api/v1/waivers/{id}/approve", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Waiver id")),
    responses((status = 200, description = "Approved", body = Written)))]
pub async fn approve_waiver(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<serde::de::IgnoredAny>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller, signature, ..
    } = sub;
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::ApproveWaiver { waiver: id },
        )
        .await?,
    )
}

struct Notice {
    kind: String,
    shape: Shape,
    alt: (f64, f64),
    start: liaison_core::Timestamp,
    end: liaison_core::Timestamp,
    forces: String,
    precedence: Precedence,
    amends: Option<u64>,
}

/// The notices of a Feature or of a FeatureCollection (every feature valid, or none).
fn notices(body: &Value) -> Result<Vec<Notice>, HttpError> {
    let fs = features(body)?;
    if fs.is_empty() {
        return Err(invalid("send one Feature, or a FeatureCollection of them"));
    }
    if fs.len() > liaison_core::deconfliction::MAX_NOTICES {
        return Err(invalid(format!(
            "this FeatureCollection holds {} features: at most {} notifications at once",
            fs.len(),
            liaison_core::deconfliction::MAX_NOTICES
        )));
    }
    fs.iter().map(notice_of).collect()
}

fn notice_of(f: &liaison_geo::geojson::Feature) -> Result<Notice, HttpError> {
    let e = |m: String| invalid(feature_err(f, m));
    let kind = prop_str(f, "kind")
        .or_else(|| prop_str(f, "activity"))
        .ok_or_else(|| e("properties.kind is missing".into()))?;
    let shape = area_of(f).map_err(e)?;
    let time = |k: &str| -> Result<liaison_core::Timestamp, HttpError> {
        let v = prop_str(f, k)
            .ok_or_else(|| invalid(feature_err(f, format!("properties.{k} is missing"))))?;
        liaison_api::time::parse(&v).map_err(|m| invalid(feature_err(f, format!("{k}: {m}"))))
    };
    let (start, end) = (time("start")?, time("end")?);
    if end <= start {
        return Err(invalid(feature_err(
            f,
            "the time window ends before it starts",
        )));
    }
    let alt = (
        prop_f64(f, "alt_min_m").unwrap_or(0.0),
        prop_f64(f, "alt_max_m").unwrap_or(0.0),
    );
    if alt.0 > alt.1 {
        return Err(invalid(feature_err(f, "the altitude band is upside down")));
    }
    let precedence = match prop_str(f, "precedence") {
        Some(p) => parse_precedence(&p)?,
        None => Precedence::Priority,
    };
    Ok(Notice {
        kind,
        shape,
        alt,
        start,
        end,
        forces: prop_str(f, "forces").unwrap_or_default(),
        precedence,
        amends: f.properties.get("amends").and_then(Value::as_u64),
    })
}

/// A notice as `party`'s activity (id 0: not filed).
fn activity_of(party: &str, n: &Notice) -> Activity<u64> {
    let window = (n.start.micros() / 1_000_000, n.end.micros() / 1_000_000);
    activity(0, party, &n.kind, &n.shape, n.alt, window)
}

/// `POST /api/v1/notifications`: filed, checked at once, answered with its conflicts.
#[utoipa::path(post, path = "/api/v1/notifications", tag = "deconfliction", security(("bearer" = [])), request_body(content = Object, description = "A GeoJSON Feature: Polygon, Point with radius_m, or LineString with half_width_m; properties kind, alt_min_m, alt_max_m, start, end, forces, precedence. Or a FeatureCollection of up to 500 of them, filed together: all or none"),
    responses((status = 200, description = "{id, late, receipt, conflicts: {sites, zones, activities}}; for a FeatureCollection {notifications: [...]} in its order", body = Object), (status = 422, description = "Invalid GeoJSON, naming the feature and the problem", body = liaison_api::ErrorBody)))]
pub async fn file(State(app): State<App>, sub: Submission<Value>) -> HttpResult<Json<Value>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let bulk = body.get("type").and_then(Value::as_str) == Some("FeatureCollection");
    let filed: Vec<(Notice, Activity<u64>)> = notices(&body)?
        .into_iter()
        .map(|n| {
            let act = activity_of(&caller.party, &n);
            (n, act)
        })
        .collect();
    // The check runs in the writer, against the state the notifications are decided
    // on: a notification committed in the same batch as these is seen, never missed.
    // (A party's own notifications never conflict with each other.)
    let (engine, actor) = (app.clone(), caller.core_actor());
    let decider: crate::writer::Decider = Box::new(move |s, now| {
        let mut cmds = Vec::with_capacity(filed.len());
        for (n, act) in filed {
            let found = find(&engine.shared.geo.read(), s, &act)
                .map_err(|m| DomainError::invalid("area", m))?;
            cmds.push(Command::FileNotification {
                kind: n.kind,
                shape: n.shape,
                alt_min_m: n.alt.0,
                alt_max_m: n.alt.1,
                start: n.start,
                end: n.end,
                forces: n.forces,
                precedence: n.precedence,
                conflicts: describe(s, found, act.area.buffer_m),
                amends: n.amends,
            });
        }
        let cmd = match cmds.len() {
            1 => cmds.remove(0),
            _ => Command::FileNotifications { notices: cmds },
        };
        liaison_core::decide(s, &actor, &cmd, now)
    });
    let out = app.submit(caller.actor(), signature, decider).await?;
    // Each notification's own event, with its conflicts as recorded.
    let each: Vec<(u64, bool, Vec<Conflict>)> = {
        let s = app.shared.state.read();
        out.seqs
            .iter()
            .filter_map(|id| {
                let n = s.deconfliction.notifications.get(id)?;
                Some((*id, n.late, n.conflicts.clone()))
            })
            .collect()
    };
    let mut answers = Vec::with_capacity(each.len());
    for (id, late, found) in each {
        // The receipt is for the notification itself, not the conflict events after it.
        let rows = app
            .shared
            .store
            .read_events(id, 1)
            .map_err(|e| HttpError(ApiError::internal(e.to_string())))?;
        let row = rows
            .first()
            .ok_or_else(|| HttpError(ApiError::internal("notification missing")))?;
        let receipt = app
            .shared
            .ledger
            .read()
            .receipt(id, &row.entry)
            .map_err(|e| HttpError(ApiError::internal(e)))?;
        answers.push(
            json!({"id": id, "late": late, "conflicts": grouped(&found), "receipt": receipt}),
        );
    }
    if bulk {
        return Ok(Json(json!({ "notifications": answers })));
    }
    answers
        .pop()
        .map(Json)
        .ok_or_else(|| HttpError(ApiError::internal("no notification recorded")))
}

/// The largest check answer whose write waits for the other waiting checks (see
/// `check`): one loopback segment.
const DEFER_ANSWERS_UP_TO: usize = 64 * 1024;

/// `POST /api/v1/deconfliction/check`: the same answer, nothing filed. A
/// FeatureCollection of up to 500 is checked feature by feature (each against the
/// record, not against the others) and answered `{"checks": [...]}` in its order; a
/// bad feature refuses the whole collection, naming it.
#[utoipa::path(post, path = "/api/v1/deconfliction/check", tag = "deconfliction", security(("bearer" = [])), request_body(content = Object, description = "A GeoJSON Feature, as for POST /api/v1/notifications, or a FeatureCollection of up to 500 of them"),
    responses((status = 200, description = "{sites, zones, activities}; for a FeatureCollection {checks: [...]} in its order; nothing filed", body = Object), (status = 422, description = "Invalid GeoJSON, naming the feature and the problem", body = liaison_api::ErrorBody)))]
pub async fn check(State(app): State<App>, sub: JsonSubmission) -> HttpResult<Response> {
    let json = check_answer(&app, &sub.caller.viewer(), &sub.body)?;
    app.shared.metrics.checks.inc();
    // A single check's answer is written once the checks of the other requests already
    // waiting have run (the task yields until the runtime next polls for I/O), as
    // Redis writes its replies: under load the answers go out back to back, so a
    // client on this machine is woken once for several of them instead of once each
    // (its wake-up is paid on this thread, by the loopback's send), and an idle server
    // answers as soon as before. A large answer (a bulk check's) goes at once: it is
    // sent in many segments anyway, and holding it back left the client idle while
    // the others were checked. Measured in docs/benchmarks.md.
    if json.len() <= DEFER_ANSWERS_UP_TO {
        tokio::task::yield_now().await;
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The dry-run check of `body` as `party`'s activity: the answer's JSON. The common
/// form of body goes straight into the engine and the answer straight from its hits;
/// any other body (and every error, so that it is stated as everywhere else) the
/// general way, to the same answer. Another party's activity is reported only where
/// `viewer` may read its notification (`readable`).
/// The charter's area of interest holds for a dry-run check as for a filed
/// notification: a position outside it (most often latitude and longitude swapped) is
/// refused with the same error.
fn in_area(app: &App, acts: &[Activity<u64>]) -> HttpResult<()> {
    let s = app.shared.state.read();
    let Some(charter) = s
        .charter()
        .filter(|c| c.settings.area_of_interest.is_some())
    else {
        return Ok(());
    };
    let ring = |r: &[LonLat]| -> Result<(), liaison_core::DomainError> {
        r.iter()
            .try_for_each(|p| charter.check_position("geometry", [p.lon, p.lat]))
    };
    for act in acts {
        match &act.area.geometry {
            Geometry::Point(p) => ring(std::slice::from_ref(p)),
            Geometry::LineString(l) => ring(l),
            Geometry::Polygon(p) => p.rings().try_for_each(|r| ring(r)),
            Geometry::MultiPolygon(ps) => {
                ps.iter().flat_map(|p| p.rings()).try_for_each(|r| ring(r))
            }
        }
        .map_err(|e| HttpError(ApiError::from(e)))?;
    }
    Ok(())
}

pub fn check_answer(app: &App, viewer: &liaison_core::Viewer, body: &[u8]) -> HttpResult<Vec<u8>> {
    let party = viewer.party.as_str();
    let internal = |e: serde_json::Error| HttpError(ApiError::internal(e.to_string()));
    // Only a body that is UTF-8 throughout, as the general parser requires: the
    // one-pass parser does not read the members it skips as strings, so their UTF-8
    // would go unchecked (found by the differential fuzz test below).
    let text = std::str::from_utf8(body).ok();
    // A collection is tried as one only if it could be (a single Feature read as a
    // collection is scanned to its end before it fails).
    let collection = text.filter(|t| t.contains("\"FeatureCollection\""));
    if let Some(acts) = collection.and_then(|t| fast::activities(party, t)) {
        in_area(app, &acts)?;
        if let Ok(out) = checks_answer(app, viewer, &acts) {
            return Ok(out);
        }
    }
    if let Some(act) = text.and_then(|t| fast::activity(party, t)) {
        in_area(app, std::slice::from_ref(&act))?;
        let s = app.shared.state.read();
        let model = app.shared.geo.read();
        if let Ok((mut found, labels)) = find_named(&model, &s, &act) {
            readable(&s, viewer, &mut found);
            let mut out = Vec::new();
            write_answer(&mut out, &found, act.area.buffer_m, &labels, |h| {
                zone_name(&s, h)
            });
            return Ok(out);
        }
    }
    let body = json_body::<Value>(body)?;
    let acts: Vec<Activity<u64>> = notices(&body)?
        .iter()
        .map(|n| activity_of(party, n))
        .collect();
    in_area(app, &acts)?;
    if body.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        let s = app.shared.state.read();
        let model = app.shared.geo.read();
        let mut found = find(&model, &s, &acts[0]).map_err(invalid)?;
        readable(&s, viewer, &mut found);
        return serde_json::to_vec(&Grouped(describe(&s, found, acts[0].area.buffer_m)))
            .map_err(internal);
    }
    checks_answer(app, viewer, &acts)
}

/// A bulk check's answer, `{"checks": [...]}`: each activity's, in order. The record
/// is locked for one activity at a time, so that a check of 500 (some 20 ms on a
/// million sites) never holds off the writer, and every reader queued behind it,
/// for the whole collection: each answer is the record's as it stood when that
/// activity was checked.
fn checks_answer(
    app: &App,
    viewer: &liaison_core::Viewer,
    acts: &[Activity<u64>],
) -> HttpResult<Vec<u8>> {
    let mut out = b"{\"checks\":[".to_vec();
    for (k, act) in acts.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        let s = app.shared.state.read();
        let model = app.shared.geo.read();
        let (mut found, labels) =
            find_named(&model, &s, act).map_err(|m| invalid(format!("feature {k}: {m}")))?;
        readable(&s, viewer, &mut found);
        write_answer(&mut out, &found, act.area.buffer_m, &labels, |h| {
            zone_name(&s, h)
        });
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// The dry-run check's body parsed in one pass, with no `serde_json::Value` and no
/// validation of its own (the engine validates the area, once): a single Feature
/// whose strings need no unescaping and whose members have the types the general
/// parser reads. `None` is not an error, only "take the general way", which gives
/// the same answer for the same body, or the error.
mod fast {
    use liaison_geo::types::{Activity, AltBand, Area, Geometry, LonLat, Polygon, TimeWindow};
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    struct Feature<'a> {
        #[serde(rename = "type", borrow)]
        ty: &'a str,
        geometry: Geom,
        #[serde(borrow)]
        properties: Props<'a>,
    }

    #[derive(Deserialize)]
    #[serde(tag = "type", content = "coordinates")]
    enum Geom {
        Point([f64; 2]),
        LineString(Vec<[f64; 2]>),
        Polygon(Vec<Vec<[f64; 2]>>),
        MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
    }

    /// A member that is present, even as `null`, is `Some`.
    fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
        Ok(Some(Option::<f64>::deserialize(d)?))
    }

    #[derive(Deserialize)]
    struct Props<'a> {
        #[serde(borrow, default)]
        kind: Option<&'a str>,
        #[serde(borrow, default)]
        activity: Option<&'a str>,
        #[serde(borrow, default)]
        start: Option<&'a str>,
        #[serde(borrow, default)]
        end: Option<&'a str>,
        #[serde(default)]
        alt_min_m: Option<f64>,
        #[serde(default)]
        alt_max_m: Option<f64>,
        #[serde(default, deserialize_with = "present")]
        radius_m: Option<Option<f64>>,
        #[serde(default, deserialize_with = "present")]
        half_width_m: Option<Option<f64>>,
        #[serde(default, deserialize_with = "present")]
        buffer_m: Option<Option<f64>>,
        #[serde(borrow, default)]
        precedence: Option<&'a str>,
    }

    fn ring(r: Vec<[f64; 2]>) -> Vec<LonLat> {
        r.into_iter().map(|p| LonLat::new(p[0], p[1])).collect()
    }

    fn polygon(rings: Vec<Vec<[f64; 2]>>) -> Option<Polygon> {
        let mut it = rings.into_iter();
        let exterior = ring(it.next()?);
        Some(Polygon {
            exterior,
            holes: it.map(ring).collect(),
        })
    }

    /// The caller's activity the body describes (id 0: not filed).
    pub fn activity(party: &str, body: &str) -> Option<Activity<u64>> {
        of_feature(party, serde_json::from_str(body).ok()?)
    }

    #[derive(Deserialize)]
    struct Collection<'a> {
        #[serde(rename = "type", borrow)]
        ty: &'a str,
        #[serde(borrow)]
        features: Vec<Feature<'a>>,
    }

    /// The activities of a FeatureCollection of 1 to `MAX_NOTICES` features, each
    /// taken as `activity` takes a Feature; `None` if any is not.
    pub fn activities(party: &str, body: &str) -> Option<Vec<Activity<u64>>> {
        let c: Collection = serde_json::from_str(body).ok()?;
        let n = c.features.len();
        if c.ty != "FeatureCollection" || n == 0 || n > liaison_core::deconfliction::MAX_NOTICES {
            return None;
        }
        c.features
            .into_iter()
            .map(|f| of_feature(party, f))
            .collect()
    }

    fn of_feature(party: &str, f: Feature) -> Option<Activity<u64>> {
        if f.ty != "Feature" {
            return None;
        }
        let p = f.properties;
        let kind = p.kind.or(p.activity)?;
        let secs = |t: Option<&str>| -> Option<i64> {
            Some(liaison_api::time::parse(t?).ok()?.micros() / 1_000_000)
        };
        let (start, end) = (secs(p.start)?, secs(p.end)?);
        let alt = (p.alt_min_m.unwrap_or(0.0), p.alt_max_m.unwrap_or(0.0));
        // Ends before it starts, upside down, or an unknown precedence: the general
        // way says so.
        if end <= start || alt.0 > alt.1 {
            return None;
        }
        if let Some(pr) = p.precedence {
            crate::routes::hotline::parse_precedence(pr).ok()?;
        }
        let buffer = |own: Option<Option<f64>>| match own {
            Some(v) => v.unwrap_or(0.0),
            None => p.buffer_m.flatten().unwrap_or(0.0),
        };
        let (geometry, buffer_m) = match f.geometry {
            Geom::Point(q) => (Geometry::Point(LonLat::new(q[0], q[1])), buffer(p.radius_m)),
            Geom::LineString(l) => (Geometry::LineString(ring(l)), buffer(p.half_width_m)),
            Geom::Polygon(rings) => (Geometry::Polygon(polygon(rings)?), buffer(None)),
            Geom::MultiPolygon(ps) => (
                Geometry::MultiPolygon(ps.into_iter().map(polygon).collect::<Option<_>>()?),
                buffer(None),
            ),
        };
        Some(Activity {
            id: 0,
            party: party.to_string(),
            kind: kind.to_string(),
            area: Area { geometry, buffer_m },
            alt: AltBand::new(alt.0, alt.1),
            window: TimeWindow::new(start, end),
        })
    }
}

/// The most notifications a page of `GET /api/v1/notifications` holds, and how many
/// unless asked.
pub const MAX_NOTIFICATIONS_PAGE: usize = 10_000;
pub const NOTIFICATIONS_PAGE: usize = 1_000;

#[utoipa::path(get, path = "/api/v1/notifications", tag = "deconfliction", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of the notifications the caller may read, in id order, as a GeoJSON FeatureCollection; `next_after`, when present, is the `after` of the next page", body = Object),
              (status = 400, description = "A limit outside 1-10000", body = liaison_api::ErrorBody)))]
pub async fn list_notifications(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> HttpResult<Json<Value>> {
    let limit = crate::routes::page_limit(q.limit, NOTIFICATIONS_PAGE, MAX_NOTIFICATIONS_PAGE)?;
    let s = app.shared.state.read();
    let viewer = caller.viewer();
    let all = s.deconfliction.notifications.range(after(q.after));
    Ok(Json(feature_page(all, limit, |n| {
        visible(&s, &viewer, n).then(|| notification_json(n))
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// `acknowledge` or `object`.
    answer: String,
    #[serde(default)]
    text: String,
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/answer", tag = "deconfliction", security(("bearer" = [])), params(("id" = u64, Path, description = "Notification id")), request_body = Object,
    responses((status = 200, description = "Acknowledged or objected", body = Written)))]
pub async fn answer(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<AnswerBody>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body,
        signature,
    } = sub;
    let visible = {
        let s = app.shared.state.read();
        s.events.get(id as usize).is_some_and(|e| {
            matches!(e.body, EventBody::NotificationFiled { .. }) && can_see(&caller.viewer(), e)
        })
    };
    if !visible {
        return Err(HttpError(ApiError::not_found(format!("notification {id}"))));
    }
    let objection = match body.answer.as_str() {
        "acknowledge" | "ack" => false,
        "object" => true,
        a => {
            return Err(invalid(format!(
                "answer: {a:?} is not acknowledge or object"
            )));
        }
    };
    written(
        app.command_signed(
            caller.actor(),
            signature,
            Command::AnswerNotification {
                notification: id,
                objection,
                text: body.text,
            },
        )
        .await?,
    )
}

/// The most conflicts a page of `GET /api/v1/conflicts` holds, and how many unless asked.
pub const MAX_CONFLICTS_PAGE: usize = 5_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictsQuery {
    /// Conflicts recorded after this sequence number; omit to start at the first.
    pub after: Option<u64>,
    /// At most this many conflicts (1-5000, default 5000).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/conflicts", tag = "deconfliction", security(("bearer" = [])), params(ConflictsQuery),
    responses((status = 200, description = "The conflicts the caller may see, in the record's order, a page at a time: the next page is `after` the last one's `seq`, and a page shorter than the limit is the last", body = Object),
              (status = 400, description = "A limit outside 1-5000", body = liaison_api::ErrorBody)))]
pub async fn list_conflicts(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ConflictsQuery>,
) -> HttpResult<Json<Value>> {
    let limit = crate::routes::page_limit(q.limit, MAX_CONFLICTS_PAGE, MAX_CONFLICTS_PAGE)?;
    let s = app.shared.state.read();
    let viewer = caller.viewer();
    let out: Vec<Value> = s
        .deconfliction
        .conflicts_for(&viewer, q.after)
        .filter_map(|seq| s.events.get(usize::try_from(seq).ok()?))
        .filter(|e| can_see(&viewer, e))
        .filter_map(|e| match &e.body {
            EventBody::ConflictDetected { notification, conflict } => Some(json!({
                "seq": e.seq, "at": liaison_api::time::format(e.at), "notification": notification, "filed_by": e.author.party,
                "with": conflict.with, "id": conflict.target, "party": conflict.party, "reason": conflict.reason, "severity": conflict.severity,
            })),
            _ => None,
        })
        .take(limit)
        .collect();
    Ok(Json(json!(out)))
}

/// Features an export writes under one read lock of the state: a million-site export
/// neither holds off the writer for its whole length nor builds the picture in
/// memory before sending it.
pub const EXPORT_CHUNK: usize = 2_000;

/// What an export is writing: each kind of item in id order, from the one after
/// `after`.
#[derive(Clone, Copy)]
enum Exporting {
    Sites,
    Zones,
    Notifications,
    End,
}

/// The two forms of the picture: a GeoJSON FeatureCollection, or an `<events>`
/// document of Cursor-on-Target events for TAK clients.
#[derive(Clone, Copy)]
pub(crate) enum Picture {
    GeoJson,
    Cot,
}

impl Picture {
    fn content_type(self) -> &'static str {
        match self {
            Picture::GeoJson => "application/json",
            Picture::Cot => "application/xml; charset=utf-8",
        }
    }

    fn head(self) -> &'static [u8] {
        match self {
            Picture::GeoJson => b"{\"type\":\"FeatureCollection\",\"features\":[",
            Picture::Cot => liaison_cot::DOCUMENT_HEAD.as_bytes(),
        }
    }

    fn tail(self) -> &'static [u8] {
        match self {
            Picture::GeoJson => b"]}",
            Picture::Cot => liaison_cot::DOCUMENT_TAIL.as_bytes(),
        }
    }
}

/// The current picture: sites, zones and the notifications the caller may read.
#[utoipa::path(get, path = "/api/v1/deconfliction/export", tag = "deconfliction", security(("bearer" = [])),
    responses((status = 200, description = "The current picture as a GeoJSON FeatureCollection: sites, zones and the notifications the caller may read, each in id order; sent as it is written, a chunk of features at a time, each chunk as the record stood when it was written", body = Object)))]
pub async fn export(State(app): State<App>, caller: Caller) -> Response {
    stream_picture(app, caller.viewer(), Picture::GeoJson)
}

/// The picture in `form`, sent as it is written: `EXPORT_CHUNK` items a read lock.
pub(crate) fn stream_picture(app: App, viewer: liaison_core::Viewer, form: Picture) -> Response {
    let start = (Exporting::Sites, None, false);
    let chunks = futures::stream::unfold(Some(start), move |at| {
        let (app, viewer) = (app.clone(), viewer.clone());
        async move {
            let (part, after, wrote) = at?;
            let mut out = Vec::new();
            if matches!(part, Exporting::Sites) && after.is_none() {
                out.extend_from_slice(form.head());
            }
            let next = export_chunk(&app, &viewer, form, (part, after, wrote), &mut out);
            Some((
                Ok::<_, std::convert::Infallible>(bytes::Bytes::from(out)),
                next,
            ))
        }
    });
    (
        [(header::CONTENT_TYPE, form.content_type())],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// Writes up to `EXPORT_CHUNK` items of `part` after `after` into `out` (in GeoJSON a
/// comma before each feature but the export's first, `wrote` saying whether one was
/// written) and answers where the next chunk starts, or `None` once the export is closed.
fn export_chunk(
    app: &App,
    viewer: &liaison_core::Viewer,
    form: Picture,
    (part, after, mut wrote): (Exporting, Option<u64>, bool),
    out: &mut Vec<u8>,
) -> Option<(Exporting, Option<u64>, bool)> {
    let s = app.shared.state.read();
    let d = &s.deconfliction;
    let from = self::after(after);
    let now = app.shared.clock.now();
    let (taken, last) = match part {
        Exporting::Sites => {
            let reconfirm = site_reconfirm(&s);
            let site = |x: &_, out: &mut _, wrote: &mut _| match form {
                Picture::GeoJson => feature_into(&site_json(x, reconfirm, now), out, wrote),
                Picture::Cot => {
                    let lapsed = confirmation_lapsed(x, reconfirm, now);
                    events_into(&crate::routes::cot::site_events(x, lapsed, now), out)
                }
            };
            write_items(d.sites.range(from), site, out, &mut wrote)
        }
        Exporting::Zones => {
            let members = liaison_core::deconfliction::members(&s);
            let zone = |z: &_, out: &mut _, wrote: &mut _| match form {
                Picture::GeoJson => feature_into(&zone_json(z, &members), out, wrote),
                Picture::Cot => {
                    events_into(&crate::routes::cot::zone_events(z, &members, now), out)
                }
            };
            write_items(d.zones.range(from), zone, out, &mut wrote)
        }
        Exporting::Notifications => {
            let notification =
                |n: &liaison_core::deconfliction::Notification, out: &mut _, wrote: &mut _| {
                    if !visible(&s, viewer, n) {
                        return;
                    }
                    match form {
                        Picture::GeoJson => feature_into(&notification_json(n), out, wrote),
                        // TAK shows what is on now or ahead: its picture leaves out the
                        // withdrawn and what is over.
                        Picture::Cot if n.withdrawn || n.end <= now => {}
                        Picture::Cot => {
                            events_into(&crate::routes::cot::notification_events(n, now), out)
                        }
                    }
                };
            write_items(d.notifications.range(from), notification, out, &mut wrote)
        }
        Exporting::End => {
            out.extend_from_slice(form.tail());
            return None;
        }
    };
    if taken == EXPORT_CHUNK {
        return Some((part, last, wrote));
    }
    let following = match part {
        Exporting::Sites => Exporting::Zones,
        Exporting::Zones => Exporting::Notifications,
        Exporting::Notifications | Exporting::End => Exporting::End,
    };
    Some((following, None, wrote))
}

/// A GeoJSON feature, after a comma once one has been written (`wrote`).
fn feature_into(f: &Value, out: &mut Vec<u8>, wrote: &mut bool) {
    if *wrote {
        out.push(b',');
    }
    // A `Value` always serializes.
    let _ = serde_json::to_writer(&mut *out, f);
    *wrote = true;
}

/// CoT events, a line each.
fn events_into(events: &[liaison_cot::Event], out: &mut Vec<u8>) {
    let mut lines = String::new();
    for e in events {
        liaison_cot::document_line(&mut lines, e);
    }
    out.extend_from_slice(lines.as_bytes());
}

/// Writes what `write` makes of the first `EXPORT_CHUNK` of `items` into `out`;
/// answers how many items were taken and the last one's key.
fn write_items<'a, T: 'a>(
    items: impl Iterator<Item = (&'a u64, &'a T)>,
    write: impl Fn(&T, &mut Vec<u8>, &mut bool),
    out: &mut Vec<u8>,
    wrote: &mut bool,
) -> (usize, Option<u64>) {
    let (mut taken, mut last) = (0, None);
    for (k, x) in items.take(EXPORT_CHUNK) {
        (taken, last) = (taken + 1, Some(*k));
        write(x, out, wrote);
    }
    (taken, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(with: &str, target: u64, distance_m: f64) -> Conflict {
        Conflict {
            with: with.into(),
            target,
            party: if with == "zone" {
                String::new()
            } else {
                "sy".into()
            },
            reason: format!("reason \"{target}\" in words"),
            severity: "warning".into(),
            distance_m,
            threshold_m: 1500.0,
        }
    }

    #[test]
    fn grouped_answer_is_the_documented_shape() {
        let c = vec![
            conflict("site", 3, 12.5),
            conflict("zone", 9, 0.0),
            conflict("activity", 4, f64::NAN),
            conflict("site", 1, 1499.25),
        ];
        // The form the answer has always had, built value by value.
        let one = |x: &Conflict| json!({"id": x.target, "party": x.party, "reason": x.reason, "severity": x.severity, "distance_m": x.distance_m, "threshold_m": x.threshold_m});
        let want = json!({"sites": [one(&c[0]), one(&c[3])], "zones": [one(&c[1])], "activities": [one(&c[2])]});
        let text = serde_json::to_string(&Grouped(&c)).expect("serialize");
        assert_eq!(text, want.to_string());
        assert_eq!(grouped(&c), want);
        assert_eq!(
            serde_json::to_string(&Grouped(Vec::new())).expect("serialize"),
            r#"{"sites":[],"zones":[],"activities":[]}"#
        );
    }

    const PROPS: &str = r#""kind":"air_patrol","start":"2026-12-01T10:00:00Z","end":"2026-12-01T12:00:00Z","alt_min_m":100,"alt_max_m":900.5"#;

    /// Bodies of every form the one-pass parser takes.
    fn taken_bodies() -> Vec<String> {
        let props = PROPS;
        let square = "[[[35.8,33.1],[35.9,33.1],[35.9,33.2],[35.8,33.2],[35.8,33.1]]]";
        vec![
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"Polygon","coordinates":{square}}},"properties":{{{props},"precedence":"flash"}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","id":"n1","geometry":{{"type":"Point","coordinates":[35.8,33.1]}},"properties":{{{props},"radius_m":2500,"forces":"two aircraft"}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[35.8,33.1]}},"properties":{{{props},"radius_m":2500,"buffer_m":50}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[35.8,33.1]}},"properties":{{{props},"buffer_m":50}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"LineString","coordinates":[[35.8,33.1],[35.9,33.3]]}},"properties":{{{props},"half_width_m":300}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"LineString","coordinates":[[35.8,33.1],[35.9,33.3]]}},"properties":{{{props},"buffer_m":300}}}}"#
            ),
            format!(
                r#"{{"type":"Feature","geometry":{{"type":"MultiPolygon","coordinates":[{square},{square}]}},"properties":{{{props},"buffer_m":10}}}}"#
            ),
            r#"{"properties":{"activity":"exercise","start":"2026-12-01T10:00:00Z","end":"2026-12-01T11:00:00Z","radius_m":100},"geometry":{"coordinates":[35.8,33.1],"type":"Point"},"type":"Feature"}"#.to_string(),
        ]
    }

    /// What the general path makes of `body`: its activities, or its refusal.
    fn general(body: &[u8]) -> Option<Vec<Activity<u64>>> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let ns = notices(&value).ok()?;
        Some(ns.iter().map(|n| activity_of("il", n)).collect())
    }

    proptest::proptest! {
        /// Fuzzing the one-pass parser against the general one: a body of a taken form
        /// with bytes deleted, inserted or replaced (the JSON's own punctuation, digits,
        /// escapes, letters), alone or as one of a collection, never panics, and
        /// whatever the one-pass parser takes, the general parser takes too, as the
        /// same activities; the rest it leaves to the general parser.
        #[test]
        fn the_fast_check_parser_never_takes_what_the_general_one_would_not(
            base in 0usize..8,
            in_collection in proptest::bool::ANY,
            edits in proptest::collection::vec(
                (0usize..400, 0u8..3, proptest::sample::select(b"{}[],:\"0123456789.-+eE \\uatnrfl\x00\x7f\xc3\xa9".to_vec())),
                1..5,
            ),
        ) {
            let mut body = taken_bodies()[base].clone().into_bytes();
            for (at, op, b) in edits {
                let at = at % (body.len() + 1);
                match op {
                    0 if at < body.len() => { body.remove(at); }
                    1 => body.insert(at, b),
                    _ if at < body.len() => body[at] = b,
                    _ => body.push(b),
                }
            }
            if in_collection {
                let mut c = br#"{"type":"FeatureCollection","features":["#.to_vec();
                c.extend_from_slice(taken_bodies()[0].as_bytes());
                c.push(b',');
                c.extend_from_slice(&body);
                c.extend_from_slice(b"]}");
                body = c;
            }
            // The one-pass parser leaves the geometry's validity to the engine, whose
            // refusal sends the body to the general path too (`check_answer`).
            let engine = crate::deconfliction::GeoEngine::labelled();
            let valid = |acts: &[Activity<u64>]| acts.iter().all(|a| engine.check(a).is_ok());
            // As `check_answer` does: only a body that is UTF-8 throughout.
            let utf8 = std::str::from_utf8(&body).ok();
            let text = String::from_utf8_lossy(&body).into_owned();
            for taken in [
                utf8.and_then(|t| fast::activity("il", t)).map(|a| vec![a]),
                utf8.and_then(|t| fast::activities("il", t)),
            ]
            .into_iter()
            .flatten()
            {
                if valid(&taken) {
                    proptest::prop_assert_eq!(general(&body), Some(taken), "{}", text);
                } else {
                    proptest::prop_assert_eq!(general(&body), None, "{}", text);
                }
            }
        }
    }

    /// The check's one-pass parser takes a body only when it means what the general
    /// parser makes of it, and otherwise leaves it to the general parser.
    #[test]
    fn the_fast_check_parser_agrees_with_the_general_one() {
        let props = PROPS;
        let taken = taken_bodies();
        let left = [
            format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{{"type":"Point","coordinates":[35.8,33.1]}},"properties":{{{props}}}}}]}}"#),
            format!(r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[35.8,33.1,250]}},"properties":{{{props}}}}}"#),
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[35.8,33.1]},"properties":{"kind":"air\\u005fpatrol","start":"2026-12-01T10:00:00Z","end":"2026-12-01T12:00:00Z"}}"#.to_string(),
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[35.8,33.1]},"properties":{"kind":7,"activity":"exercise","start":"2026-12-01T10:00:00Z","end":"2026-12-01T12:00:00Z"}}"#.to_string(),
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[35.8,33.1]},"properties":{"kind":"exercise","start":"2026-12-01T12:00:00Z","end":"2026-12-01T10:00:00Z"}}"#.to_string(),
            format!(r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[35.8,33.1]}},"properties":{{{props},"precedence":"whenever"}}}}"#),
            format!(r#"{{"type":"Feature","geometry":{{"type":"Polygon","coordinates":[]}},"properties":{{{props}}}}}"#),
            format!(r#"{{"type":"Feature","geometry":null,"properties":{{{props}}}}}"#),
            format!(r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[35.8,33.1]}},"properties":{{{props},"radius_m":"2500"}}}}"#),
        ];
        // A collection of the bodies taken is taken whole, each as it is alone; one
        // that holds a body left to the general parser is left whole.
        let all = format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            taken.join(",")
        );
        let each: Vec<Activity<u64>> = taken
            .iter()
            .filter_map(|b| fast::activity("il", b))
            .collect();
        assert_eq!(fast::activities("il", &all), Some(each));
        let general: Vec<Activity<u64>> = notices(&serde_json::from_str(&all).expect("json"))
            .map(|ns| ns.iter().map(|n| activity_of("il", n)).collect())
            .unwrap_or_else(|e| panic!("{all}: {:?}", e.0));
        assert_eq!(fast::activities("il", &all), Some(general));
        for bad in left.iter().filter(|b| b.contains(r#""type":"Feature","#)) {
            let mixed = format!(
                r#"{{"type":"FeatureCollection","features":[{},{bad}]}}"#,
                taken[0]
            );
            assert!(fast::activities("il", &mixed).is_none(), "{mixed}");
        }
        assert!(fast::activities("il", &taken[0]).is_none());
        assert!(fast::activities("il", r#"{"type":"FeatureCollection","features":[]}"#).is_none());
        for body in &taken {
            let fast = fast::activity("il", body).unwrap_or_else(|| panic!("not taken: {body}"));
            let value: Value = serde_json::from_str(body).expect("json");
            let general = notices(&value)
                .map(|n| activity_of("il", &n[0]))
                .unwrap_or_else(|e| panic!("{body}: {:?}", e.0));
            assert_eq!(fast, general, "{body}");
        }
        for body in &left {
            assert!(fast::activity("il", body).is_none(), "taken: {body}");
        }
    }
}
