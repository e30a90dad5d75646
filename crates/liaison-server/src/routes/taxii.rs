//! A TAXII 2.1 server: discovery at `/taxii2/`, one API root per party at
//! `/taxii2/<party>/`, collections `submissions` (write), `inbox` (what was released to
//! the party) and, for the supervisor, `review`. Objects are served byte for byte as
//! sent; envelopes are assembled around their raw bytes.

use crate::app::App;
use crate::auth::{Caller, Conn, authenticate};
use crate::intel::{SubmitArgs, submit};
use crate::submission::check_signature;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use liaison_api::time;
use liaison_core::charter::{Connection, PartyRole};
use liaison_core::intel::Record;
use liaison_core::{Precedence, can_see};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

pub const MEDIA: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";
/// Largest envelope accepted, advertised as `max_content_length`.
pub const MAX_CONTENT: usize = 10 << 20;
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

pub struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

fn terr(status: StatusCode, title: &'static str, description: impl Into<String>) -> TaxiiError {
    TaxiiError {
        status,
        title,
        description: description.into(),
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"title": self.title, "description": self.description, "http_status": self.status.as_u16().to_string()});
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA));
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"liaison\", Bearer realm=\"liaison\""),
            );
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // As for the API's 413: the connection carries no further request.
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        r
    }
}

impl From<liaison_api::ApiError> for TaxiiError {
    fn from(e: liaison_api::ApiError) -> Self {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        TaxiiError {
            status,
            title: e.code,
            description: e.message,
        }
    }
}

type TResult<T> = Result<T, TaxiiError>;

fn taxii(status: StatusCode, body: String, headers: &[(&'static str, String)]) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA));
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

/// Authenticates and checks the Accept header.
fn caller(app: &App, headers: &HeaderMap, conn: &Connection) -> TResult<Caller> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let c = authenticate(app, auth, conn).map_err(|e| {
        if e.status == 403 {
            // The operator is known; its connection is not one its party admits.
            terr(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("{}: {}", e.code, e.message),
            )
        } else {
            terr(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "use HTTP Basic with your operator name and token, or a bearer token",
            )
        }
    })?;
    if let Some(a) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
        && !(a.contains("application/taxii+json")
            || a.contains("*/*")
            || a.contains("application/*"))
    {
        return Err(terr(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable",
            format!("this server speaks {MEDIA}"),
        ));
    }
    Ok(c)
}

/// An operator may use only its own party's root.
fn root_of(app: &App, headers: &HeaderMap, conn: &Connection, root: &str) -> TResult<Caller> {
    let c = caller(app, headers, conn)?;
    let exists = app
        .shared
        .state
        .read()
        .charter()
        .is_some_and(|ch| ch.party(root).is_some());
    if !exists {
        return Err(terr(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no API root {root}"),
        ));
    }
    if c.party != root {
        return Err(terr(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("{} may use only /taxii2/{}/", c.name, c.party),
        ));
    }
    Ok(c)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Coll {
    Submissions,
    Inbox,
    Review,
}

impl Coll {
    fn name(self) -> &'static str {
        match self {
            Coll::Submissions => "submissions",
            Coll::Inbox => "inbox",
            Coll::Review => "review",
        }
    }
}

fn collection_id(app: &App, party: &str, c: Coll) -> String {
    let ns = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        app.shared.ledger.read().origin().as_bytes(),
    );
    uuid::Uuid::new_v5(&ns, format!("{party}/{}", c.name()).as_bytes()).to_string()
}

fn collections_for(c: &Caller) -> Vec<Coll> {
    if c.party_role == PartyRole::Supervisor {
        vec![Coll::Review]
    } else {
        vec![Coll::Submissions, Coll::Inbox]
    }
}

fn find_collection(app: &App, c: &Caller, id: &str) -> TResult<Coll> {
    collections_for(c)
        .into_iter()
        .find(|k| collection_id(app, &c.party, *k) == id || k.name() == id)
        .ok_or_else(|| {
            terr(
                StatusCode::NOT_FOUND,
                "Not Found",
                format!("no collection {id} in this API root"),
            )
        })
}

fn collection_json(app: &App, party: &str, k: Coll) -> serde_json::Value {
    let (title, desc, write) = match k {
        Coll::Submissions => (
            "Submissions",
            "Everything this party submitted, in every state. POST here to submit: nothing reaches another party until the supervisor releases it.",
            true,
        ),
        Coll::Inbox => (
            "Inbox",
            "Everything released to this party, dated by its release.",
            false,
        ),
        Coll::Review => (
            "Review",
            "Every submission of every party, for the supervisor's decision.",
            false,
        ),
    };
    serde_json::json!({"id": collection_id(app, party, k), "title": title, "description": desc, "alias": k.name(), "can_read": true, "can_write": write, "media_types": [STIX_MEDIA]})
}

pub async fn discovery(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
) -> TResult<Response> {
    let c = caller(&app, &headers, &conn)?;
    let name = app
        .shared
        .state
        .read()
        .charter()
        .map(|ch| ch.name.clone())
        .unwrap_or_default();
    let body = serde_json::json!({"title": format!("{name}: intelligence sharing"), "description": "TAXII 2.1 under supervision: one API root per party.", "default": format!("/taxii2/{}/", c.party), "api_roots": [format!("/taxii2/{}/", c.party)]});
    Ok(taxii(StatusCode::OK, body.to_string(), &[]))
}

pub async fn api_root(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path(root): Path<String>,
) -> TResult<Response> {
    root_of(&app, &headers, &conn, &root)?;
    let body = serde_json::json!({"title": format!("API root of party {root}"), "versions": [MEDIA], "max_content_length": MAX_CONTENT});
    Ok(taxii(StatusCode::OK, body.to_string(), &[]))
}

pub async fn collections(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path(root): Path<String>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let list: Vec<serde_json::Value> = collections_for(&c)
        .into_iter()
        .map(|k| collection_json(&app, &c.party, k))
        .collect();
    Ok(taxii(
        StatusCode::OK,
        serde_json::json!({"collections": list}).to_string(),
        &[],
    ))
}

pub async fn collection(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid)): Path<(String, String)>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let k = find_collection(&app, &c, &cid)?;
    Ok(taxii(
        StatusCode::OK,
        collection_json(&app, &c.party, k).to_string(),
        &[],
    ))
}

pub async fn status(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, sid)): Path<(String, String)>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let id: u64 = sid.parse().map_err(|_| {
        terr(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no status {sid}"),
        )
    })?;
    let s = app.shared.state.read();
    let sub = s
        .intel
        .submissions
        .get(&id)
        .filter(|s| s.party == c.party)
        .ok_or_else(|| {
            terr(
                StatusCode::NOT_FOUND,
                "Not Found",
                format!("no status {sid}"),
            )
        })?;
    let successes: Vec<serde_json::Value> = sub
        .objects
        .iter()
        .map(|o| serde_json::json!({"id": o.id, "version": o.version}))
        .collect();
    let body = serde_json::json!({
        "id": sid, "status": "complete", "request_timestamp": time::format(sub.at),
        "total_count": successes.len(), "success_count": successes.len(), "successes": successes,
        "failure_count": 0, "pending_count": 0,
    });
    Ok(taxii(StatusCode::OK, body.to_string(), &[]))
}

/// The records of a collection the caller may read, in date-added order.
fn records(app: &App, c: &Caller, k: Coll) -> Vec<Record> {
    let s = app.shared.state.read();
    let viewer = c.viewer();
    let deleted = s
        .intel
        .deleted
        .get(&(c.party.clone(), k.name().to_string()));
    let gone = |r: &Record| {
        deleted.is_some_and(|d| {
            d.contains(&(r.object.id.clone(), r.object.version.clone()))
                || d.contains(&(r.object.id.clone(), String::new()))
        })
    };
    let base: Vec<Record> = match k {
        Coll::Submissions => s.intel.submitted.get(&c.party).cloned().unwrap_or_default(),
        Coll::Review => s.intel.review.clone(),
        Coll::Inbox => s
            .intel
            .inbox
            .get(&c.party)
            .map(|v| {
                v.iter()
                    .filter(|r| {
                        s.events
                            .get(r.seq as usize)
                            .is_some_and(|e| can_see(&viewer, e))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    };
    base.into_iter().filter(|r| !gone(r)).collect()
}

#[derive(Default)]
struct Filter {
    limit: usize,
    added_after: Option<i64>,
    next: Option<String>,
    ids: Option<BTreeSet<String>>,
    types: Option<BTreeSet<String>>,
    versions: Vec<String>,
    spec_versions: Option<BTreeSet<String>>,
}

fn bad(m: impl Into<String>) -> TaxiiError {
    terr(StatusCode::BAD_REQUEST, "Bad Request", m)
}

fn parse_filter(q: &HashMap<String, String>, allowed: &[&str]) -> TResult<Filter> {
    let mut f = Filter {
        limit: DEFAULT_LIMIT,
        ..Filter::default()
    };
    for (k, v) in q {
        if !allowed.contains(&k.as_str()) {
            return Err(bad(format!("unsupported parameter {k}")));
        }
        let list = || -> BTreeSet<String> {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        match k.as_str() {
            "limit" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| bad("limit must be a positive integer"))?;
                if n == 0 {
                    return Err(bad("limit must be a positive integer"));
                }
                f.limit = n.min(MAX_LIMIT);
            }
            "added_after" => {
                f.added_after = Some(
                    time::parse(v)
                        .map_err(|e| bad(format!("added_after: {e}")))?
                        .micros(),
                )
            }
            "next" => f.next = Some(v.clone()),
            "match[id]" => f.ids = Some(list()),
            "match[type]" => f.types = Some(list()),
            "match[spec_version]" => f.spec_versions = Some(list()),
            "match[version]" => {
                let l = list();
                for x in &l {
                    if !["first", "last", "all"].contains(&x.as_str()) && time::parse(x).is_err() {
                        return Err(bad(format!(
                            "match[version]: {x:?} is not first, last, all or a timestamp"
                        )));
                    }
                }
                f.versions = l.into_iter().collect();
            }
            _ => {}
        }
    }
    Ok(f)
}

fn version_micros(v: &str) -> i64 {
    time::parse(v).map(|t| t.micros()).unwrap_or(0)
}

/// Applies the filters and TAXII's version selection (default: the latest per object).
fn select(records: Vec<Record>, f: &Filter) -> Vec<Record> {
    let base: Vec<Record> = records
        .into_iter()
        .filter(|r| f.ids.as_ref().is_none_or(|s| s.contains(&r.object.id)))
        .filter(|r| {
            f.types
                .as_ref()
                .is_none_or(|s| s.contains(&r.object.r#type))
        })
        .filter(|r| {
            f.spec_versions
                .as_ref()
                .is_none_or(|s| s.contains(&r.object.spec_version))
        })
        .filter(|r| f.added_after.is_none_or(|a| r.date_added.micros() > a))
        .collect();
    let wants = |w: &str| f.versions.iter().any(|x| x == w);
    if wants("all") {
        return base;
    }
    let stamps: BTreeSet<i64> = f
        .versions
        .iter()
        .filter(|v| !["first", "last", "all"].contains(&v.as_str()))
        .map(|v| version_micros(v))
        .collect();
    let (first, last) = (wants("first"), wants("last") || f.versions.is_empty());
    let mut best_last: HashMap<&str, (i64, usize)> = HashMap::new();
    let mut best_first: HashMap<&str, (i64, usize)> = HashMap::new();
    for (i, r) in base.iter().enumerate() {
        let v = version_micros(&r.object.version);
        let e = best_last.entry(&r.object.id).or_insert((v, i));
        if v >= e.0 {
            *e = (v, i);
        }
        let e = best_first.entry(&r.object.id).or_insert((v, i));
        if v < e.0 {
            *e = (v, i);
        }
    }
    let keep: BTreeSet<usize> = base
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            let v = version_micros(&r.object.version);
            (last
                && best_last
                    .get(r.object.id.as_str())
                    .is_some_and(|b| b.1 == *i))
                || (first
                    && best_first
                        .get(r.object.id.as_str())
                        .is_some_and(|b| b.1 == *i))
                || stamps.contains(&v)
        })
        .map(|(i, _)| i)
        .collect();
    base.into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, r)| r)
        .collect()
}

fn filter_digest(q: &HashMap<String, String>) -> String {
    let mut keys: Vec<(&String, &String)> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "next" && k.as_str() != "limit")
        .collect();
    keys.sort();
    hex::encode(&Sha256::digest(format!("{keys:?}").as_bytes())[..8])
}

fn mac(app: &App, msg: &str) -> String {
    // Keyed by the log's private key: stable across restarts, unknown to clients.
    let key = Sha256::digest(
        format!(
            "liaison/taxii-next\n{}",
            app.shared.ledger.read().signer_clone().key_text()
        )
        .as_bytes(),
    );
    // HMAC takes keys of any length; if construction ever failed, no token would verify.
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
        return String::new();
    };
    m.update(msg.as_bytes());
    hex::encode(&m.finalize().into_bytes()[..12])
}

/// A collection view cached until the record next changes: paging through a large
/// collection then costs one selection, not one per page.
fn cached(
    app: &App,
    key: String,
    compute: impl FnOnce() -> Vec<Record>,
) -> std::sync::Arc<Vec<Record>> {
    let head = app.head();
    if let Some((h, v)) = app.shared.taxii_cache.lock().get(&key)
        && *h == head
    {
        return v.clone();
    }
    let v = std::sync::Arc::new(compute());
    let mut cache = app.shared.taxii_cache.lock();
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(key, (head, v.clone()));
    v
}

/// The filtered, version-selected records of a collection for one operator and one set of filters.
fn selected(
    app: &App,
    c: &Caller,
    k: Coll,
    f: &Filter,
    q: &HashMap<String, String>,
) -> std::sync::Arc<Vec<Record>> {
    cached(
        app,
        format!("{}\n{}\n{}", c.name, k.name(), filter_digest(q)),
        || select(records(app, c, k), f),
    )
}

/// All records of a collection for an operator.
fn records_cached(app: &App, c: &Caller, k: Coll) -> std::sync::Arc<Vec<Record>> {
    cached(app, format!("{}\n{}\n*", c.name, k.name()), || {
        records(app, c, k)
    })
}

/// The records of one object, through an id index built once per collection view.
fn records_of(app: &App, c: &Caller, k: Coll, id: &str) -> Vec<Record> {
    let head = app.head();
    let key = format!("{}\n{}", c.name, k.name());
    let hit = app
        .shared
        .taxii_ids
        .lock()
        .get(&key)
        .filter(|(h, _, _)| *h == head)
        .map(|(_, r, i)| (r.clone(), i.clone()));
    let (records, index) = match hit {
        Some(x) => x,
        None => {
            let records = records_cached(app, c, k);
            let mut index: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, r) in records.iter().enumerate() {
                index.entry(r.object.id.clone()).or_default().push(i);
            }
            let index = std::sync::Arc::new(index);
            let mut ids = app.shared.taxii_ids.lock();
            if ids.len() >= 64 {
                ids.clear();
            }
            ids.insert(key, (head, records.clone(), index.clone()));
            (records, index)
        }
    };
    index
        .get(id)
        .map(|pos| {
            pos.iter()
                .filter_map(|i| records.get(*i).cloned())
                .collect()
        })
        .unwrap_or_default()
}

fn page(
    app: &App,
    q: &HashMap<String, String>,
    f: &Filter,
    all: std::sync::Arc<Vec<Record>>,
) -> TResult<(Vec<Record>, bool, Option<String>)> {
    let digest = filter_digest(q);
    let start = match &f.next {
        None => 0,
        Some(t) => {
            let mut parts = t.splitn(3, '.');
            let (Some(off), Some(d), Some(m)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad("next is not a token this server issued"));
            };
            if d != digest || mac(app, &format!("{off}.{d}")) != m {
                return Err(bad(
                    "next is not a token this server issued for these filters",
                ));
            }
            off.parse::<usize>().map_err(|_| bad("next is malformed"))?
        }
    };
    let end = start.saturating_add(f.limit).min(all.len());
    let more = end < all.len();
    let next = more.then(|| {
        let body = format!("{end}.{digest}");
        format!("{body}.{}", mac(app, &body))
    });
    let items = all
        .get(start.min(all.len())..end)
        .map(<[Record]>::to_vec)
        .unwrap_or_default();
    Ok((items, more, next))
}

fn date_headers(items: &[Record]) -> Vec<(&'static str, String)> {
    match (items.first(), items.last()) {
        (Some(f), Some(l)) => vec![
            ("X-TAXII-Date-Added-First", time::format(f.date_added)),
            ("X-TAXII-Date-Added-Last", time::format(l.date_added)),
        ],
        _ => Vec::new(),
    }
}

fn envelope(items: &[Record], more: bool, next: Option<String>) -> String {
    if items.is_empty() && !more {
        return "{}".into();
    }
    let mut s = format!("{{\"more\":{more}");
    if let Some(n) = next {
        s.push_str(&format!(",\"next\":{}", serde_json::Value::String(n)));
    }
    if !items.is_empty() {
        s.push_str(",\"objects\":[");
        for (i, r) in items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&r.object.raw);
        }
        s.push(']');
    }
    s.push('}');
    s
}

const LIST_PARAMS: [&str; 7] = [
    "limit",
    "added_after",
    "next",
    "match[id]",
    "match[type]",
    "match[version]",
    "match[spec_version]",
];

pub async fn get_objects(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let k = find_collection(&app, &c, &cid)?;
    let f = parse_filter(&q, &LIST_PARAMS)?;
    let all = selected(&app, &c, k, &f, &q);
    let (items, more, next) = page(&app, &q, &f, all)?;
    Ok(taxii(
        StatusCode::OK,
        envelope(&items, more, next),
        &date_headers(&items),
    ))
}

pub async fn manifest(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let k = find_collection(&app, &c, &cid)?;
    let f = parse_filter(&q, &LIST_PARAMS)?;
    let all = selected(&app, &c, k, &f, &q);
    let (items, more, next) = page(&app, &q, &f, all)?;
    if items.is_empty() && !more {
        return Ok(taxii(StatusCode::OK, "{}".into(), &[]));
    }
    let objs: Vec<serde_json::Value> = items
        .iter()
        .map(|r| serde_json::json!({"id": r.object.id, "date_added": time::format(r.date_added), "version": if r.object.version.is_empty() { time::format(r.date_added) } else { r.object.version.clone() }, "media_type": STIX_MEDIA}))
        .collect();
    let mut body = serde_json::json!({"more": more, "objects": objs});
    if let Some(n) = next {
        body["next"] = serde_json::Value::String(n);
    }
    Ok(taxii(
        StatusCode::OK,
        body.to_string(),
        &date_headers(&items),
    ))
}

pub async fn get_object(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid, oid)): Path<(String, String, String)>,
    Query(mut q): Query<HashMap<String, String>>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let k = find_collection(&app, &c, &cid)?;
    let f = parse_filter(
        &q,
        &[
            "limit",
            "added_after",
            "next",
            "match[version]",
            "match[spec_version]",
        ],
    )?;
    let mut f = f;
    f.ids = Some([oid.clone()].into());
    q.insert("match[id]".into(), oid.clone());
    let all = select(records_of(&app, &c, k, &oid), &f);
    if all.is_empty() && f.next.is_none() {
        return Err(terr(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no object {oid} in this collection"),
        ));
    }
    let (items, more, next) = page(&app, &q, &f, std::sync::Arc::new(all))?;
    Ok(taxii(
        StatusCode::OK,
        envelope(&items, more, next),
        &date_headers(&items),
    ))
}

pub async fn versions(
    State(app): State<App>,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid, oid)): Path<(String, String, String)>,
    Query(mut q): Query<HashMap<String, String>>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let k = find_collection(&app, &c, &cid)?;
    let mut f = parse_filter(&q, &["limit", "added_after", "next", "match[spec_version]"])?;
    f.ids = Some([oid.clone()].into());
    f.versions = vec!["all".into()];
    q.insert("match[id]".into(), oid.clone());
    let all = select(records_of(&app, &c, k, &oid), &f);
    if all.is_empty() && f.next.is_none() {
        return Err(terr(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no object {oid} in this collection"),
        ));
    }
    let (items, more, next) = page(&app, &q, &f, std::sync::Arc::new(all))?;
    let vs: Vec<String> = items
        .iter()
        .map(|r| {
            if r.object.version.is_empty() {
                time::format(r.date_added)
            } else {
                r.object.version.clone()
            }
        })
        .collect();
    let mut body = serde_json::json!({"more": more, "versions": vs});
    if let Some(n) = next {
        body["next"] = serde_json::Value::String(n);
    }
    Ok(taxii(
        StatusCode::OK,
        body.to_string(),
        &date_headers(&items),
    ))
}

pub async fn delete_object(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid, oid)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> TResult<Response> {
    let c = root_of(&app, &headers, &conn, &root)?;
    let sig = check_signature(&app, &c, method.as_str(), &uri, &headers, &[])?;
    let k = find_collection(&app, &c, &cid)?;
    let f = parse_filter(&q, &["match[version]", "match[spec_version]"])?;
    let mut f = f;
    f.ids = Some([oid.clone()].into());
    if f.versions.is_empty() {
        f.versions = vec!["all".into()];
    }
    let hits = select(records_of(&app, &c, k, &oid), &f);
    if hits.is_empty() {
        return Err(terr(
            StatusCode::NOT_FOUND,
            "Not Found",
            format!("no object {oid} in this collection"),
        ));
    }
    // One decision for every version: one signature, one nonce.
    let commands = hits
        .into_iter()
        .map(|r| liaison_core::Command::DeleteIntelObject {
            collection: k.name().into(),
            object: oid.clone(),
            version: Some(r.object.version.clone()),
        })
        .collect();
    app.commands_signed(c.actor(), sig, commands).await?;
    Ok(taxii(StatusCode::OK, String::new(), &[]))
}

fn header_list(headers: &HeaderMap, name: &str) -> BTreeSet<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub async fn post_objects(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Conn(conn): Conn,
    Path((root, cid)): Path<(String, String)>,
    request: axum::extract::Request,
) -> TResult<Response> {
    // Credentials first: the body of a caller who is not one of the cell's operators
    // is never read (a body extractor in the signature would read it before this).
    let c = root_of(&app, &headers, &conn, &root)?;
    let body = <Bytes as axum::extract::FromRequest<App>>::from_request(request, &app).await;
    // Past the route's limit the body is refused unread: stated as every other
    // TAXII error is, not in axum's plain text.
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            terr(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                format!("max_content_length is {MAX_CONTENT}"),
            )
        } else {
            bad(e.body_text())
        }
    })?;
    let k = find_collection(&app, &c, &cid)?;
    if k != Coll::Submissions {
        return Err(terr(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("collection {} is read-only", k.name()),
        ));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/taxii+json") {
        return Err(terr(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            format!("send {MEDIA}"),
        ));
    }
    if body.len() > MAX_CONTENT {
        return Err(terr(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload Too Large",
            format!("max_content_length is {MAX_CONTENT}"),
        ));
    }
    let sig = check_signature(&app, &c, method.as_str(), &uri, &headers, &body)?;
    let text = std::str::from_utf8(&body).map_err(|_| bad("the body is not UTF-8"))?;
    let objects = liaison_stix::parse_envelope(text).map_err(|e| {
        terr(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid STIX",
            e.to_string(),
        )
    })?;
    let precedence = match headers
        .get("x-liaison-precedence")
        .and_then(|v| v.to_str().ok())
    {
        Some(p) => Precedence::ALL
            .into_iter()
            .find(|x| x.as_str() == p.to_ascii_lowercase())
            .ok_or_else(|| bad("X-Liaison-Precedence is flash, immediate, priority or routine"))?,
        None => Precedence::Routine,
    };
    let args = SubmitArgs {
        objects,
        recipients: header_list(&headers, "x-liaison-recipients"),
        recipient_operators: header_list(&headers, "x-liaison-recipient-operators"),
        precedence,
    };
    let (id, _, _) = submit(&app, &c, sig, args).await?;
    let s = app.shared.state.read();
    let sub = s.intel.submissions.get(&id).ok_or_else(|| {
        terr(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "submission missing",
        )
    })?;
    let successes: Vec<serde_json::Value> = sub
        .objects
        .iter()
        .map(|o| serde_json::json!({"id": o.id, "version": o.version}))
        .collect();
    let body = serde_json::json!({
        "id": id.to_string(), "status": "complete", "request_timestamp": time::format(sub.at),
        "total_count": successes.len(), "success_count": successes.len(), "successes": successes,
        "failure_count": 0, "pending_count": 0,
    });
    Ok(taxii(StatusCode::ACCEPTED, body.to_string(), &[]))
}

pub fn router() -> Router<App> {
    let mut r = Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2", get(discovery));
    // Every resource answers with and without its trailing slash (taxii2-client polls
    // status without one).
    for (p, m) in [
        ("/taxii2/{root}", get(api_root)),
        ("/taxii2/{root}/status/{id}", get(status)),
        ("/taxii2/{root}/collections", get(collections)),
        ("/taxii2/{root}/collections/{cid}", get(collection)),
        (
            "/taxii2/{root}/collections/{cid}/objects",
            get(get_objects).post(post_objects),
        ),
        ("/taxii2/{root}/collections/{cid}/manifest", get(manifest)),
        (
            "/taxii2/{root}/collections/{cid}/objects/{oid}",
            get(get_object).delete(delete_object),
        ),
        (
            "/taxii2/{root}/collections/{cid}/objects/{oid}/versions",
            get(versions),
        ),
    ] {
        r = r.route(p, m.clone()).route(&format!("{p}/"), m);
    }
    r
}
