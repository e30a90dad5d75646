//! TAXII 2.1 collection-query primitives: timestamps, filters, version selection,
//! pagination with signed `next` tokens, and the resource types.
//!
//! Semantics chosen here (the spec leaves them open):
//! - Version selection (`match[version]`, default `last`; `all` on the versions and
//!   delete endpoints) and the default `match[spec_version]` (the newest spec version of
//!   each object) look at every version of an object in the collection; `added_after`
//!   and `next` then cut the selected records by `date_added`. A new version added
//!   after a client's last poll is therefore seen by an `added_after` poll, and an old
//!   version added late is not mistaken for the latest.
//! - Ties: `last` is the greatest version, then the latest added; `first` the least
//!   version, then the earliest added. Exactly one record per id either way.
//! - SCOs have no version of their own: their version is their `date_added`.
//! - `limit` is a ceiling, clamped to [`Limits::max`]; 0, negative or non-numeric → 400.
//! - `next` is an opaque, HMAC-SHA256-signed position (date added, sequence) plus a
//!   digest of the filters and a caller-chosen scope (collection and endpoint). Forged,
//!   altered, or reused with other filters → 400. Tokens do not expire: a position
//!   stays meaningful in an append-only collection. `limit` may change between pages.
//! - `more` is exact: it is true only if another matching record exists, and then
//!   `next` is always present (taxii2-client loops forever otherwise).
//! - Unknown parameters, and filters the endpoint does not support, are refused (400).

use crate::object::{StixObject, valid_id, valid_type_name};
use crate::time::{self, Nanos};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

pub use crate::time::{format_micros, parse_micros};

/// Media type of every TAXII 2.1 request and response body.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// Media type of STIX 2.1 content, advertised by collections.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Why a query is refused: always HTTP 400, except [`QueryErrorCode::IndexOutOfDate`]
/// (a bug of the caller: 500).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryErrorCode {
    UnknownParameter,
    UnsupportedParameter,
    RepeatedParameter,
    InvalidParameter,
    InvalidLimit,
    InvalidTimestamp,
    InvalidNext,
    NextFilterMismatch,
    IndexOutOfDate,
}

impl QueryErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryErrorCode::UnknownParameter => "unknown_parameter",
            QueryErrorCode::UnsupportedParameter => "unsupported_parameter",
            QueryErrorCode::RepeatedParameter => "repeated_parameter",
            QueryErrorCode::InvalidParameter => "invalid_parameter",
            QueryErrorCode::InvalidLimit => "invalid_limit",
            QueryErrorCode::InvalidTimestamp => "invalid_timestamp",
            QueryErrorCode::InvalidNext => "invalid_next",
            QueryErrorCode::NextFilterMismatch => "next_filter_mismatch",
            QueryErrorCode::IndexOutOfDate => "index_out_of_date",
        }
    }

    /// The HTTP status to answer with.
    pub fn http_status(self) -> u16 {
        match self {
            QueryErrorCode::IndexOutOfDate => 500,
            _ => 400,
        }
    }
}

impl std::fmt::Display for QueryErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{parameter}: {message} [{code}]")]
pub struct QueryError {
    pub code: QueryErrorCode,
    pub parameter: String,
    pub message: String,
}

fn qerr(code: QueryErrorCode, parameter: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        code,
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// Which TAXII endpoint a query is for: decides the filters allowed and the default
/// version selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET …/objects/`
    Objects,
    /// `GET …/manifest/`
    Manifest,
    /// `GET …/objects/{id}/`
    Object,
    /// `GET …/objects/{id}/versions/`
    Versions,
    /// `DELETE …/objects/{id}/`
    DeleteObject,
}

impl Endpoint {
    fn allows(self, key: &str) -> bool {
        let paged = ["added_after", "limit", "next"].contains(&key);
        match self {
            Endpoint::Objects | Endpoint::Manifest => {
                paged
                    || [
                        "match[id]",
                        "match[type]",
                        "match[version]",
                        "match[spec_version]",
                    ]
                    .contains(&key)
            }
            Endpoint::Object => paged || ["match[version]", "match[spec_version]"].contains(&key),
            Endpoint::Versions => paged || key == "match[spec_version]",
            Endpoint::DeleteObject => ["match[version]", "match[spec_version]"].contains(&key),
        }
    }

    fn default_versions(self) -> VersionFilter {
        match self {
            Endpoint::Versions | Endpoint::DeleteObject => VersionFilter {
                all: true,
                ..VersionFilter::default()
            },
            _ => VersionFilter {
                last: true,
                ..VersionFilter::default()
            },
        }
    }
}

const KNOWN: [&str; 7] = [
    "added_after",
    "limit",
    "next",
    "match[id]",
    "match[type]",
    "match[version]",
    "match[spec_version]",
];

/// Page sizes: the default when `limit` is absent, and the ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub default: usize,
    pub max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default: 1000,
            max: 1000,
        }
    }
}

/// `match[version]`: the union of the values given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionFilter {
    pub first: bool,
    pub last: bool,
    pub all: bool,
    /// Exact versions, as instants (so `…00.1Z` equals `…00.100Z`).
    pub at: BTreeSet<Nanos>,
}

/// A parsed collection query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Exclusive lower bound on `date_added`, in microseconds.
    pub added_after: Option<i64>,
    pub limit: usize,
    pub next: Option<String>,
    /// `match[id]` (for the per-object endpoints the caller puts the path's id here).
    pub ids: BTreeSet<String>,
    pub types: BTreeSet<String>,
    pub versions: VersionFilter,
    /// Explicit `match[spec_version]`; empty means "the newest per object".
    pub spec_versions: BTreeSet<String>,
}

fn split<'a>(key: &str, value: &'a str) -> Result<Vec<&'a str>, QueryError> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(qerr(
            QueryErrorCode::InvalidParameter,
            key,
            "empty value in a comma-separated list",
        ));
    }
    Ok(parts)
}

impl Query {
    /// Parses query parameters (`key`, `value` pairs, already percent-decoded).
    /// `match[…]` may repeat (values are joined); the others may not.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        endpoint: Endpoint,
        limits: Limits,
    ) -> Result<Query, QueryError> {
        let mut q = Query {
            added_after: None,
            limit: limits.default.clamp(1, limits.max.max(1)),
            next: None,
            ids: BTreeSet::new(),
            types: BTreeSet::new(),
            versions: VersionFilter::default(),
            spec_versions: BTreeSet::new(),
        };
        let mut seen = BTreeSet::new();
        let mut any_version = false;
        for (k, v) in params {
            if !KNOWN.contains(&k) {
                return Err(qerr(
                    QueryErrorCode::UnknownParameter,
                    k,
                    "not a TAXII 2.1 parameter",
                ));
            }
            if !endpoint.allows(k) {
                return Err(qerr(
                    QueryErrorCode::UnsupportedParameter,
                    k,
                    "not supported on this endpoint",
                ));
            }
            if !seen.insert(k) && !k.starts_with("match[") {
                return Err(qerr(QueryErrorCode::RepeatedParameter, k, "given twice"));
            }
            match k {
                "added_after" => {
                    q.added_after = Some(time::parse_micros(v).ok_or_else(|| {
                        qerr(
                            QueryErrorCode::InvalidTimestamp,
                            k,
                            "must be a timestamp like 2026-01-10T08:00:00.000000Z",
                        )
                    })?);
                }
                "limit" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        qerr(
                            QueryErrorCode::InvalidLimit,
                            k,
                            "must be a positive integer",
                        )
                    })?;
                    if n < 1 {
                        return Err(qerr(
                            QueryErrorCode::InvalidLimit,
                            k,
                            "must be a positive integer",
                        ));
                    }
                    q.limit = usize::try_from(n)
                        .unwrap_or(usize::MAX)
                        .min(limits.max.max(1));
                }
                "next" => {
                    if v.is_empty() {
                        return Err(qerr(QueryErrorCode::InvalidNext, k, "empty"));
                    }
                    q.next = Some(v.to_string());
                }
                "match[id]" => {
                    for p in split(k, v)? {
                        if valid_id(p).is_none() {
                            return Err(qerr(
                                QueryErrorCode::InvalidParameter,
                                k,
                                format!("{p:?} is not a STIX id"),
                            ));
                        }
                        q.ids.insert(p.to_string());
                    }
                }
                "match[type]" => {
                    for p in split(k, v)? {
                        if !valid_type_name(p) {
                            return Err(qerr(
                                QueryErrorCode::InvalidParameter,
                                k,
                                format!("{p:?} is not a STIX type"),
                            ));
                        }
                        q.types.insert(p.to_string());
                    }
                }
                "match[version]" => {
                    any_version = true;
                    for p in split(k, v)? {
                        match p {
                            "first" => q.versions.first = true,
                            "last" => q.versions.last = true,
                            "all" => q.versions.all = true,
                            t => {
                                let n = time::parse_nanos(t).ok_or_else(|| {
                                    qerr(
                                        QueryErrorCode::InvalidParameter,
                                        k,
                                        format!("{t:?} is not first, last, all or a timestamp"),
                                    )
                                })?;
                                q.versions.at.insert(n);
                            }
                        }
                    }
                }
                "match[spec_version]" => {
                    for p in split(k, v)? {
                        if spec_rank(p).is_none() {
                            return Err(qerr(
                                QueryErrorCode::InvalidParameter,
                                k,
                                format!("{p:?} is not a spec version like 2.1"),
                            ));
                        }
                        q.spec_versions.insert(p.to_string());
                    }
                }
                _ => {}
            }
        }
        if !any_version {
            q.versions = endpoint.default_versions();
        }
        Ok(q)
    }

    /// The digest a `next` token is bound to: every filter except `limit` and `next`,
    /// and the caller's `scope` (say, API root, collection and endpoint).
    pub fn digest(&self, scope: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"liaison/taxii-filter/1\n");
        h.update((scope.len() as u64).to_be_bytes());
        h.update(scope.as_bytes());
        match self.added_after {
            Some(a) => h.update(format!("\nadded_after={a}")),
            None => h.update(b"\nadded_after="),
        }
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        h.update(format!("\nid={}", join(&self.ids)));
        h.update(format!("\ntype={}", join(&self.types)));
        h.update(format!("\nspec_version={}", join(&self.spec_versions)));
        let v = &self.versions;
        let at: Vec<String> = v.at.iter().map(Nanos::to_string).collect();
        h.update(format!(
            "\nversion={}{}{}:{}",
            u8::from(v.first),
            u8::from(v.last),
            u8::from(v.all),
            at.join(",")
        ));
        h.finalize().into()
    }
}

fn spec_rank(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    let ok = |x: &str| !x.is_empty() && x.len() <= 4 && x.bytes().all(|c| c.is_ascii_digit());
    if !ok(a) || !ok(b) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// What paging needs to know of a stored record. Records are passed as a slice sorted
/// by (`date_added`, `seq`), `seq` unique.
pub trait Record {
    /// When the object entered this collection, in microseconds since the epoch.
    fn date_added(&self) -> i64;
    /// A unique, increasing tiebreak (e.g. the event sequence that added it).
    fn seq(&self) -> u64;
    fn id(&self) -> &str;
    fn stix_type(&self) -> &str;
    /// `modified`, `created`, or empty (SCOs).
    fn version(&self) -> &str;
    fn spec_version(&self) -> &str;
}

impl<T: Record + ?Sized> Record for &T {
    fn date_added(&self) -> i64 {
        (**self).date_added()
    }
    fn seq(&self) -> u64 {
        (**self).seq()
    }
    fn id(&self) -> &str {
        (**self).id()
    }
    fn stix_type(&self) -> &str {
        (**self).stix_type()
    }
    fn version(&self) -> &str {
        (**self).version()
    }
    fn spec_version(&self) -> &str {
        (**self).spec_version()
    }
}

impl<T: Record + ?Sized> Record for std::sync::Arc<T> {
    fn date_added(&self) -> i64 {
        (**self).date_added()
    }
    fn seq(&self) -> u64 {
        (**self).seq()
    }
    fn id(&self) -> &str {
        (**self).id()
    }
    fn stix_type(&self) -> &str {
        (**self).stix_type()
    }
    fn version(&self) -> &str {
        (**self).version()
    }
    fn spec_version(&self) -> &str {
        (**self).spec_version()
    }
}

/// A validated object in a collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub date_added: i64,
    pub seq: u64,
    pub object: StixObject,
}

impl Record for Entry {
    fn date_added(&self) -> i64 {
        self.date_added
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn id(&self) -> &str {
        &self.object.id
    }
    fn stix_type(&self) -> &str {
        &self.object.r#type
    }
    fn version(&self) -> &str {
        &self.object.version
    }
    fn spec_version(&self) -> &str {
        &self.object.spec_version
    }
}

/// The version key of a record: its version as an instant, or its date added.
fn version_key<R: Record>(r: &R) -> Nanos {
    time::parse_nanos(r.version()).unwrap_or(Nanos::from(r.date_added()) * 1000)
}

#[derive(Clone, Debug)]
struct Slot {
    pos: usize,
    version: Nanos,
    spec: (u32, u32),
}

/// The versions of each id in a record slice, by position. Build once and [`extend`]
/// as the (append-only) slice grows; rebuild after removals.
///
/// [`extend`]: VersionIndex::extend
#[derive(Clone, Debug, Default)]
pub struct VersionIndex {
    by_id: HashMap<String, Vec<Slot>>,
    len: usize,
}

impl VersionIndex {
    pub fn build<R: Record>(records: &[R]) -> Self {
        let mut ix = VersionIndex::default();
        ix.extend(records);
        ix
    }

    /// Indexes `records[self.len()..]`.
    pub fn extend<R: Record>(&mut self, records: &[R]) {
        for (pos, r) in records.iter().enumerate().skip(self.len) {
            self.by_id
                .entry(r.id().to_string())
                .or_default()
                .push(Slot {
                    pos,
                    version: version_key(r),
                    spec: spec_rank(r.spec_version()).unwrap_or((2, 1)),
                });
        }
        self.len = self.len.max(records.len());
    }

    /// How many records are indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the record at `pos` passes `match[spec_version]` and `match[version]`.
    fn selected(&self, id: &str, pos: usize, q: &Query) -> bool {
        let Some(slots) = self.by_id.get(id) else {
            return false;
        };
        let Some(me) = slots.iter().find(|s| s.pos == pos) else {
            return false;
        };
        let wanted: Vec<&Slot> = if q.spec_versions.is_empty() {
            let newest = slots.iter().map(|s| s.spec).max();
            slots.iter().filter(|s| Some(s.spec) == newest).collect()
        } else {
            slots
                .iter()
                .filter(|s| q.spec_versions.iter().any(|v| spec_rank(v) == Some(s.spec)))
                .collect()
        };
        if !wanted.iter().any(|s| s.pos == pos) {
            return false;
        }
        let v = &q.versions;
        if v.all || v.at.contains(&me.version) {
            return true;
        }
        let mine = Some((me.version, pos));
        (v.last && wanted.iter().map(|s| (s.version, s.pos)).max() == mine)
            || (v.first && wanted.iter().map(|s| (s.version, s.pos)).min() == mine)
    }
}

/// One page of results.
#[derive(Debug)]
pub struct Page<'a, R> {
    pub items: Vec<&'a R>,
    /// Whether more matching records follow.
    pub more: bool,
    /// Present exactly when `more` is.
    pub next: Option<String>,
}

impl<R: Record> Page<'_, R> {
    /// `X-TAXII-Date-Added-First`; `None` for an empty page (omit the header).
    pub fn date_added_first(&self) -> Option<String> {
        self.items
            .first()
            .and_then(|r| format_micros(r.date_added()))
    }

    /// `X-TAXII-Date-Added-Last`; `None` for an empty page (omit the header).
    pub fn date_added_last(&self) -> Option<String> {
        self.items
            .last()
            .and_then(|r| format_micros(r.date_added()))
    }
}

type HmacSha256 = Hmac<Sha256>;
const TOKEN_VERSION: u8 = 1;
const TOKEN_BODY: usize = 1 + 8 + 8 + 16;
const TOKEN_LEN: usize = TOKEN_BODY + 32;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

/// Encodes a signed position: after (`date_added`, `seq`), for the filters `digest`.
pub fn encode_next(key: &[u8], digest: &[u8; 32], date_added: i64, seq: u64) -> String {
    let mut b = Vec::with_capacity(TOKEN_LEN);
    b.push(TOKEN_VERSION);
    b.extend_from_slice(&date_added.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&digest[..16]);
    let mut m = mac(key);
    m.update(&b);
    b.extend_from_slice(&m.finalize().into_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Checks and decodes a `next` token: the position after which to resume.
pub fn decode_next(key: &[u8], digest: &[u8; 32], token: &str) -> Result<(i64, u64), QueryError> {
    let forged = || {
        qerr(
            QueryErrorCode::InvalidNext,
            "next",
            "not a token this server issued",
        )
    };
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| forged())?;
    if b.len() != TOKEN_LEN || b[0] != TOKEN_VERSION {
        return Err(forged());
    }
    let (body, tag) = b.split_at(TOKEN_BODY);
    let mut m = mac(key);
    m.update(body);
    m.verify_slice(tag).map_err(|_| forged())?;
    if body[17..33] != digest[..16] {
        return Err(qerr(
            QueryErrorCode::NextFilterMismatch,
            "next",
            "issued for other filters or another collection; start again without next",
        ));
    }
    let mut da = [0u8; 8];
    da.copy_from_slice(&body[1..9]);
    let mut sq = [0u8; 8];
    sq.copy_from_slice(&body[9..17]);
    Ok((i64::from_be_bytes(da), u64::from_be_bytes(sq)))
}

/// One page of `records` (sorted by (`date_added`, `seq`)) matching `query`.
/// `index` must cover exactly `records`; `scope` names the collection and endpoint
/// (it binds `next` tokens); `key` signs them.
///
/// Cost: two binary searches for the start, then a walk that stops after `limit + 1`
/// matches (with `match[id]`, only that id's versions are visited).
pub fn page<'a, R: Record>(
    records: &'a [R],
    index: &VersionIndex,
    query: &Query,
    scope: &str,
    key: &[u8],
) -> Result<Page<'a, R>, QueryError> {
    if index.len() != records.len() {
        return Err(qerr(
            QueryErrorCode::IndexOutOfDate,
            "",
            "the version index does not cover the records",
        ));
    }
    let digest = query.digest(scope);
    let mut start = 0;
    if let Some(a) = query.added_after {
        start = records.partition_point(|r| r.date_added() <= a);
    }
    if let Some(tok) = &query.next {
        let pos = decode_next(key, &digest, tok)?;
        start = start.max(records.partition_point(|r| (r.date_added(), r.seq()) <= pos));
    }
    let limit = query.limit.max(1);
    let mut items: Vec<&R> = Vec::with_capacity(limit.min(records.len()));
    let mut more = false;
    let mut visit = |p: usize| -> bool {
        let Some(r) = records.get(p) else {
            return true;
        };
        if !query.types.is_empty() && !query.types.contains(r.stix_type()) {
            return true;
        }
        if !query.ids.is_empty() && !query.ids.contains(r.id()) {
            return true;
        }
        if !index.selected(r.id(), p, query) {
            return true;
        }
        if items.len() == limit {
            more = true;
            return false;
        }
        items.push(r);
        true
    };
    if query.ids.is_empty() {
        for p in start..records.len() {
            if !visit(p) {
                break;
            }
        }
    } else {
        let mut positions: Vec<usize> = query
            .ids
            .iter()
            .filter_map(|id| index.by_id.get(id))
            .flatten()
            .map(|s| s.pos)
            .filter(|p| *p >= start)
            .collect();
        positions.sort_unstable();
        positions.dedup();
        for p in positions {
            if !visit(p) {
                break;
            }
        }
    }
    let next = if more {
        items
            .last()
            .map(|r| encode_next(key, &digest, r.date_added(), r.seq()))
    } else {
        None
    };
    Ok(Page {
        more: next.is_some(),
        items,
        next,
    })
}

fn is_false(b: &Option<bool>) -> bool {
    b.is_none()
}

/// `{more?, next?, objects?}` for a page: an empty last page is `{}`.
fn paging(empty: bool, more: bool, next: Option<String>) -> (Option<bool>, Option<String>) {
    if empty && !more {
        (None, None)
    } else {
        (Some(more && next.is_some()), if more { next } else { None })
    }
}

/// An envelope, objects kept as their raw JSON.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Envelope<'a> {
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<&'a RawValue>,
}

impl<'a> Envelope<'a> {
    pub fn new(objects: Vec<&'a RawValue>, more: bool, next: Option<String>) -> Self {
        let (more, next) = paging(objects.is_empty(), more, next);
        Envelope {
            more,
            next,
            objects,
        }
    }
}

/// Writes an envelope around stored object texts without re-parsing them (they were
/// validated on the way in). An empty last page is `{}`.
pub fn envelope_json<'s>(
    objects: impl IntoIterator<Item = &'s str>,
    more: bool,
    next: Option<&str>,
) -> String {
    let mut body = String::from("{");
    let mut objs = objects.into_iter().peekable();
    let empty = objs.peek().is_none();
    let (more, next) = paging(empty, more, next.map(str::to_string));
    let mut sep = "";
    if let Some(m) = more {
        body.push_str(if m { "\"more\":true" } else { "\"more\":false" });
        sep = ",";
    }
    if let Some(n) = next {
        body.push_str(sep);
        body.push_str("\"next\":");
        body.push_str(&serde_json::Value::String(n).to_string());
        sep = ",";
    }
    if !empty {
        body.push_str(sep);
        body.push_str("\"objects\":[");
        for (i, o) in objs.enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(o);
        }
        body.push(']');
    }
    body.push('}');
    body
}

/// A manifest entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRecord {
    pub id: String,
    pub date_added: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

impl ManifestRecord {
    /// The entry for a record; SCOs' version is their date added. `None` only for a
    /// date outside the representable range.
    pub fn of<R: Record>(r: &R) -> Option<ManifestRecord> {
        let date_added = format_micros(r.date_added())?;
        let version = if r.version().is_empty() {
            date_added.clone()
        } else {
            r.version().to_string()
        };
        Some(ManifestRecord {
            id: r.id().to_string(),
            date_added,
            version,
            media_type: Some(STIX_MEDIA_TYPE.to_string()),
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ManifestRecord>,
}

impl Manifest {
    pub fn new(objects: Vec<ManifestRecord>, more: bool, next: Option<String>) -> Self {
        let (more, next) = paging(objects.is_empty(), more, next);
        Manifest {
            more,
            next,
            objects,
        }
    }
}

/// The versions resource of one object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

impl Versions {
    pub fn new(versions: Vec<String>, more: bool, next: Option<String>) -> Self {
        let (more, next) = paging(versions.is_empty(), more, next);
        Versions {
            more,
            next,
            versions,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    Complete,
    Pending,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDetails {
    pub id: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The status of a POST: counts always equal the list lengths, and total = the sum
/// (taxii2-client checks both).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: StatusKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timestamp: Option<String>,
    pub total_count: u64,
    pub success_count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<StatusDetails>,
    pub failure_count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StatusDetails>,
    pub pending_count: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pendings: Vec<StatusDetails>,
}

impl Status {
    pub fn new(
        id: String,
        request_timestamp: Option<String>,
        successes: Vec<StatusDetails>,
        failures: Vec<StatusDetails>,
        pendings: Vec<StatusDetails>,
    ) -> Status {
        let n = |v: &Vec<StatusDetails>| v.len() as u64;
        Status {
            id,
            status: if pendings.is_empty() {
                StatusKind::Complete
            } else {
                StatusKind::Pending
            },
            request_timestamp,
            total_count: n(&successes) + n(&failures) + n(&pendings),
            success_count: n(&successes),
            failure_count: n(&failures),
            pending_count: n(&pendings),
            successes,
            failures,
            pendings,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_roots: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRoot {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub versions: Vec<String>,
    pub max_content_length: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub can_read: bool,
    pub can_write: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collections {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<Collection>,
}

/// The TAXII error message. `http_status` is a string in TAXII 2.1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorResource {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<&QueryError> for ErrorResource {
    fn from(e: &QueryError) -> Self {
        ErrorResource {
            title: "Invalid query".into(),
            description: Some(e.to_string()),
            error_code: Some(e.code.as_str().into()),
            http_status: Some(e.code.http_status().to_string()),
            ..ErrorResource::default()
        }
    }
}

impl From<&crate::StixError> for ErrorResource {
    fn from(e: &crate::StixError) -> Self {
        let mut details = serde_json::Map::new();
        details.insert("object".into(), e.object.clone().into());
        details.insert("property".into(), e.property.clone().into());
        ErrorResource {
            title: "Invalid STIX".into(),
            description: Some(e.to_string()),
            error_code: Some(e.code.as_str().into()),
            http_status: Some("422".into()),
            details: Some(details),
            ..ErrorResource::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct R {
        da: i64,
        seq: u64,
        id: String,
        t: String,
        v: String,
        spec: String,
    }

    impl Record for R {
        fn date_added(&self) -> i64 {
            self.da
        }
        fn seq(&self) -> u64 {
            self.seq
        }
        fn id(&self) -> &str {
            &self.id
        }
        fn stix_type(&self) -> &str {
            &self.t
        }
        fn version(&self) -> &str {
            &self.v
        }
        fn spec_version(&self) -> &str {
            &self.spec
        }
    }

    const KEY: &[u8] = b"test key";
    const T0: i64 = 1_768_032_000_000_000;

    fn id_of(t: &str, n: u32) -> String {
        format!("{t}--00000000-0000-4000-8000-{n:012}")
    }

    fn ver(m: i64) -> String {
        time::format_millis(T0 + m * 1000).unwrap_or_default()
    }

    fn q(params: &[(&str, &str)]) -> Result<Query, QueryError> {
        Query::parse(params.iter().copied(), Endpoint::Objects, Limits::default())
    }

    #[test]
    fn parses_filters() {
        let query = q(&[
            ("added_after", "2026-01-10T08:00:00.000000Z"),
            ("limit", "5000"),
            ("match[type]", "indicator,report"),
            ("match[type]", "note"),
            ("match[id]", &id_of("indicator", 1)),
            ("match[version]", "first,2026-01-10T08:00:00.1Z"),
            ("match[spec_version]", "2.1"),
        ])
        .expect("valid");
        assert_eq!(query.limit, 1000, "clamped to the maximum");
        assert_eq!(query.types.len(), 3);
        assert!(query.versions.first && !query.versions.last);
        assert_eq!(
            query.versions.at.iter().next().copied(),
            time::parse_nanos("2026-01-10T08:00:00.100Z")
        );
        assert_eq!(
            query.added_after,
            time::parse_micros("2026-01-10T08:00:00Z")
        );
        let d = q(&[]).expect("valid");
        assert!(d.versions.last && d.limit == 1000);
        let v = Query::parse([], Endpoint::Versions, Limits::default()).expect("valid");
        assert!(v.versions.all);
    }

    #[test]
    fn refuses_bad_filters() {
        use QueryErrorCode::*;
        for (params, code) in [
            (vec![("limit", "0")], InvalidLimit),
            (vec![("limit", "-3")], InvalidLimit),
            (vec![("limit", "abc")], InvalidLimit),
            (vec![("limit", "1e3")], InvalidLimit),
            (vec![("limit", "5"), ("limit", "6")], RepeatedParameter),
            (vec![("added_after", "yesterday")], InvalidTimestamp),
            (
                vec![("added_after", "2026-01-10T08:00:00+02:00")],
                InvalidTimestamp,
            ),
            (vec![("match[id]", "indicator--nope")], InvalidParameter),
            (vec![("match[type]", "Indicator")], InvalidParameter),
            (vec![("match[type]", "indicator,")], InvalidParameter),
            (vec![("match[version]", "newest")], InvalidParameter),
            (vec![("match[spec_version]", "two")], InvalidParameter),
            (vec![("match[foo]", "x")], UnknownParameter),
            (vec![("page", "2")], UnknownParameter),
            (vec![("next", "")], InvalidNext),
        ] {
            let e = Query::parse(params.iter().copied(), Endpoint::Objects, Limits::default())
                .expect_err(&format!("{params:?}"));
            assert_eq!(e.code, code, "{params:?}");
            assert_eq!(e.code.http_status(), 400);
        }
        let e = Query::parse(
            [("match[type]", "x-a")],
            Endpoint::Versions,
            Limits::default(),
        )
        .expect_err("unsupported");
        assert_eq!(e.code, QueryErrorCode::UnsupportedParameter);
        let e = Query::parse([("limit", "3")], Endpoint::DeleteObject, Limits::default())
            .expect_err("unsupported");
        assert_eq!(e.code, QueryErrorCode::UnsupportedParameter);
    }

    /// Three versions of one indicator, one report, an SCO, added in that order.
    fn sample() -> Vec<R> {
        let mk = |da: i64, seq: u64, t: &str, n: u32, v: &str| R {
            da: T0 + da,
            seq,
            id: id_of(t, n),
            t: t.into(),
            v: v.into(),
            spec: "2.1".into(),
        };
        vec![
            mk(0, 0, "indicator", 1, &ver(2)),
            mk(0, 1, "report", 2, &ver(0)),
            mk(5, 2, "indicator", 1, &ver(1)),
            mk(7, 3, "ipv4-addr", 3, ""),
            mk(9, 4, "indicator", 1, &ver(3)),
        ]
    }

    fn ids(p: &Page<'_, R>) -> Vec<u64> {
        p.items.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn version_selection() {
        let recs = sample();
        let ix = VersionIndex::build(&recs);
        let run = |params: &[(&str, &str)]| {
            let query = q(params).expect("valid");
            ids(&page(&recs, &ix, &query, "c", KEY).expect("page"))
        };
        assert_eq!(run(&[]), vec![1, 3, 4]);
        assert_eq!(run(&[("match[version]", "first")]), vec![1, 2, 3]);
        assert_eq!(run(&[("match[version]", "all")]), vec![0, 1, 2, 3, 4]);
        assert_eq!(run(&[("match[version]", "first,last")]), vec![1, 2, 3, 4]);
        let v2 = ver(2);
        assert_eq!(run(&[("match[version]", &v2)]), vec![0]);
        assert_eq!(run(&[("match[type]", "indicator,ipv4-addr")]), vec![3, 4]);
        assert_eq!(
            run(&[
                ("match[id]", &id_of("indicator", 1)),
                ("match[version]", "all")
            ]),
            vec![0, 2, 4]
        );
        let after = format_micros(T0 + 5).unwrap_or_default();
        assert_eq!(
            run(&[("added_after", &after), ("match[version]", "all")]),
            vec![3, 4]
        );
        assert_eq!(run(&[("match[spec_version]", "2.0")]), Vec::<u64>::new());
        let page = page(&recs, &ix, &q(&[]).expect("valid"), "c", KEY).expect("page");
        assert_eq!(page.date_added_first(), format_micros(T0));
        assert_eq!(page.date_added_last(), format_micros(T0 + 9));
        let m = ManifestRecord::of(page.items[1]).expect("in range");
        assert_eq!(
            m.version, m.date_added,
            "an SCO's version is its date added"
        );
    }

    #[test]
    fn next_tokens_are_signed_and_bound_to_filters() {
        let recs = sample();
        let ix = VersionIndex::build(&recs);
        let mut query = q(&[("limit", "1"), ("match[version]", "all")]).expect("valid");
        let p1 = page(&recs, &ix, &query, "c", KEY).expect("page");
        assert!(p1.more);
        let tok = p1.next.clone().expect("next when more");
        query.next = Some(tok.clone());
        assert_eq!(
            ids(&page(&recs, &ix, &query, "c", KEY).expect("page 2")),
            vec![1]
        );
        // Another key, another scope, other filters, altered bytes, garbage.
        let e = page(&recs, &ix, &query, "c", b"other key").expect_err("key");
        assert_eq!(e.code, QueryErrorCode::InvalidNext);
        let e = page(&recs, &ix, &query, "other collection", KEY).expect_err("scope");
        assert_eq!(e.code, QueryErrorCode::NextFilterMismatch);
        let mut other = query.clone();
        other.types.insert("report".into());
        assert_eq!(
            page(&recs, &ix, &other, "c", KEY)
                .expect_err("filters")
                .code,
            QueryErrorCode::NextFilterMismatch
        );
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&tok)
            .expect("b64");
        bytes[8] ^= 1;
        query.next = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            page(&recs, &ix, &query, "c", KEY)
                .expect_err("altered")
                .code,
            QueryErrorCode::InvalidNext
        );
        for junk in ["x", "!!!", "AAAA"] {
            query.next = Some(junk.into());
            assert_eq!(
                page(&recs, &ix, &query, "c", KEY).expect_err(junk).code,
                QueryErrorCode::InvalidNext
            );
        }
        // A different limit keeps the token valid.
        query.next = Some(tok);
        query.limit = 10;
        let rest = page(&recs, &ix, &query, "c", KEY).expect("rest");
        assert_eq!(ids(&rest), vec![1, 2, 3, 4]);
        assert!(!rest.more && rest.next.is_none());
        let stale = VersionIndex::build(&recs[..2]);
        assert_eq!(
            page(&recs, &stale, &query, "c", KEY)
                .expect_err("stale")
                .code,
            QueryErrorCode::IndexOutOfDate
        );
    }

    /// The obvious implementation: filter everything, then select versions.
    fn reference(recs: &[R], query: &Query) -> Vec<u64> {
        recs.iter()
            .enumerate()
            .filter(|(_, r)| query.types.is_empty() || query.types.contains(&r.t))
            .filter(|(_, r)| query.ids.is_empty() || query.ids.contains(&r.id))
            .filter(|(i, r)| {
                let versions: Vec<(Nanos, usize)> = recs
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| x.id == r.id)
                    .map(|(j, x)| (version_key(x), j))
                    .collect();
                let me = (version_key(*r), *i);
                let v = &query.versions;
                v.all
                    || v.at.contains(&me.0)
                    || (v.last && versions.iter().max() == Some(&me))
                    || (v.first && versions.iter().min() == Some(&me))
            })
            .filter(|(_, r)| query.added_after.is_none_or(|a| r.da > a))
            .map(|(_, r)| r.seq)
            .collect()
    }

    fn records() -> impl Strategy<Value = Vec<R>> {
        proptest::collection::vec((0i64..4, 0u32..6, 0usize..3, 0i64..5), 0..60).prop_map(|v| {
            let mut da = T0;
            v.into_iter()
                .enumerate()
                .map(|(i, (step, n, t, version))| {
                    da += step;
                    let t = ["indicator", "report", "ipv4-addr"][t];
                    R {
                        da,
                        seq: i as u64,
                        id: id_of(t, n),
                        t: t.into(),
                        v: if t == "ipv4-addr" {
                            String::new()
                        } else {
                            ver(version)
                        },
                        spec: "2.1".into(),
                    }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn paging_yields_every_match_once_in_order(
            recs in records(),
            limit in 1usize..8,
            version in 0usize..5,
            types in proptest::collection::btree_set(0usize..3, 0..3),
            one_id in proptest::option::of(0u32..6),
            after in proptest::option::of(0i64..40),
        ) {
            let ix = VersionIndex::build(&recs);
            let mut params: Vec<(String, String)> = vec![("limit".into(), limit.to_string())];
            let vsel = ["last", "first", "all", "first,last", ""][version];
            if !vsel.is_empty() {
                params.push(("match[version]".into(), vsel.into()));
            }
            let names: Vec<&str> = types.iter().map(|t| ["indicator", "report", "ipv4-addr"][*t]).collect();
            if !names.is_empty() {
                params.push(("match[type]".into(), names.join(",")));
            }
            if let Some(n) = one_id {
                params.push(("match[id]".into(), format!("{},{}", id_of("indicator", n), id_of("report", n))));
            }
            if let Some(a) = after {
                params.push(("added_after".into(), format_micros(T0 + a).unwrap_or_default()));
            }
            let mut query = Query::parse(
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                Endpoint::Objects,
                Limits { default: 100, max: 100 },
            ).expect("valid");
            let expected = reference(&recs, &query);
            let mut got = Vec::new();
            let mut pages = 0;
            loop {
                let p = page(&recs, &ix, &query, "scope", KEY).expect("page");
                prop_assert!(p.items.len() <= limit);
                prop_assert_eq!(p.more, p.next.is_some());
                got.extend(ids(&p));
                pages += 1;
                prop_assert!(pages <= recs.len() + 2);
                match p.next {
                    Some(n) => {
                        prop_assert_eq!(p.items.len(), limit);
                        query.next = Some(n);
                    }
                    None => break,
                }
            }
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_hundred_thousand_objects_page_quickly() {
        let n = 100_000u32;
        let recs: Vec<R> = (0..n)
            .map(|i| R {
                da: T0 + i64::from(i / 3),
                seq: u64::from(i),
                id: id_of("indicator", i % 90_000),
                t: "indicator".into(),
                v: ver(i64::from(i)),
                spec: "2.1".into(),
            })
            .collect();
        let ix = VersionIndex::build(&recs);
        let mut query = q(&[("limit", "1000")]).expect("valid");
        let mut count = 0;
        let mut pages = 0;
        loop {
            let p = page(&recs, &ix, &query, "c", KEY).expect("page");
            count += p.items.len();
            pages += 1;
            match p.next {
                Some(t) => query.next = Some(t),
                None => break,
            }
        }
        assert_eq!(count, 90_000, "one (latest) version per id");
        assert_eq!(pages, 90);
        // An incremental poll touches only the tail.
        let after = format_micros(T0 + i64::from(n / 3) - 2).unwrap_or_default();
        let tail = q(&[("added_after", &after)]).expect("valid");
        assert_eq!(
            page(&recs, &ix, &tail, "c", KEY).expect("page").items.len(),
            4
        );
    }

    #[test]
    fn resources_omit_empty_lists() {
        assert_eq!(
            serde_json::to_string(&Envelope::new(vec![], false, None)).expect("json"),
            "{}"
        );
        assert_eq!(envelope_json(std::iter::empty(), false, None), "{}");
        let raw = r#"{"type":"x-a", "id" : "x-a--00000000-0000-4000-8000-000000000001"}"#;
        let body = envelope_json([raw], true, Some("tok"));
        assert_eq!(
            body,
            format!(r#"{{"more":true,"next":"tok","objects":[{raw}]}}"#)
        );
        let parsed: Envelope<'_> = serde_json::from_str(&body).expect("json");
        assert_eq!(parsed.objects[0].get(), raw);
        assert_eq!(serde_json::to_string(&parsed).expect("json"), body);
        assert_eq!(
            envelope_json([raw], false, None),
            format!(r#"{{"more":false,"objects":[{raw}]}}"#)
        );
        assert_eq!(
            serde_json::to_string(&Manifest::new(vec![], false, None)).expect("json"),
            "{}"
        );
        assert_eq!(
            serde_json::to_string(&Versions::new(vec!["v".into()], false, None)).expect("json"),
            r#"{"more":false,"versions":["v"]}"#
        );
        assert_eq!(
            serde_json::to_string(&Collections::default()).expect("json"),
            "{}"
        );
        let d = StatusDetails {
            id: "x".into(),
            version: "v".into(),
            message: None,
        };
        let s = Status::new("s".into(), None, vec![d.clone(), d], vec![], vec![]);
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"{"id":"s","status":"complete","total_count":2,"success_count":2,"successes":[{"id":"x","version":"v"},{"id":"x","version":"v"}],"failure_count":0,"pending_count":0}"#
        );
        let e = ErrorResource::from(&qerr(QueryErrorCode::InvalidLimit, "limit", "no"));
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["http_status"], "400");
        assert!(v.get("details").is_none());
    }
}
