//! The record as the caller may see it: a page API and a Server-Sent Events stream.
//! Both filter through `liaison_core::visibility`, the one place that decides.

use crate::app::App;
use crate::app::Shared;
use crate::auth::{Acting, Caller};
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiQuery;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::BytesMut;
use futures::Stream;
use liaison_api::ApiError;
use liaison_api::wire::{EventView, EventsPage};
use liaison_core::event::EventBody;
use liaison_core::{Command, Event, State as CoreState, Viewer, can_see};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use utoipa::IntoParams;

/// Most events one page or one SSE burst carries.
pub const MAX_PAGE: usize = 1000;
/// Most events one request scans while looking for visible ones, so a caller who may
/// read little cannot make the server walk the whole record at once.
pub const MAX_SCAN: usize = 50_000;
/// Most event streams one operator may hold open at once; the next one is refused
/// (`too_many_streams`) until one of them ends.
pub const MAX_STREAMS_PER_OPERATOR: usize = 8;

/// One of an operator's open streams, counted while it lives.
pub struct StreamSlot {
    shared: Arc<Shared>,
    operator: String,
}

impl StreamSlot {
    /// Takes one of `operator`'s stream slots, or says that all are in use.
    pub fn take(shared: &Arc<Shared>, operator: &str) -> Result<StreamSlot, ApiError> {
        let mut open = shared.streams.lock();
        let n = open.entry(operator.to_string()).or_insert(0);
        if *n >= MAX_STREAMS_PER_OPERATOR {
            return Err(ApiError::new(
                "too_many_streams",
                format!(
                    "operator {operator} already has {MAX_STREAMS_PER_OPERATOR} event streams open; close one first"
                ),
            ));
        }
        *n += 1;
        Ok(StreamSlot {
            shared: shared.clone(),
            operator: operator.to_string(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.shared.streams.lock();
        if let Some(n) = open.get_mut(&self.operator) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.operator);
            }
        }
    }
}

/// Whose stream it is: the operator as authenticated, and its slot. The stream ends as
/// soon as the operator no longer stands (disabled, suspended, token rotated).
pub struct Holder {
    pub acting: Acting,
    pub slot: StreamSlot,
}

impl Holder {
    /// Whether the token the stream was opened with still belongs to the same active
    /// operator. The credentials index is refreshed before the head moves, so a stream
    /// woken by the commit of a change sees it.
    fn stands(&self, shared: &Shared) -> bool {
        let Some(hash) = &self.acting.token_hash else {
            return true;
        };
        shared
            .credentials
            .read()
            .get(hash)
            .is_some_and(|c| c.core_actor() == self.acting.actor)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// Return events with a sequence number greater than this; omit to start at 0.
    pub after: Option<u64>,
    /// At most this many events (1-1000, default 100).
    pub limit: Option<usize>,
}

/// Visible events after `cursor` (inclusive start), and where scanning stopped.
pub fn visible_from(
    state: &CoreState,
    viewer: &Viewer,
    start: u64,
    limit: usize,
) -> (Vec<Arc<Event>>, u64) {
    let len = state.events.len();
    let mut i = usize::try_from(start).unwrap_or(usize::MAX).min(len);
    let stop = i.saturating_add(MAX_SCAN).min(len);
    let mut out = Vec::new();
    while i < stop && out.len() < limit {
        let e = &state.events[i];
        if can_see(viewer, e) {
            out.push(e.clone());
        }
        i += 1;
    }
    (out, i as u64)
}

#[utoipa::path(get, path = "/api/v1/events/page", tag = "events", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Events the caller may read, in order", body = EventsPage)))]
pub async fn page(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> HttpResult<Json<EventsPage>> {
    let limit = crate::routes::page_limit(q.limit, 100, MAX_PAGE)?;
    let start = q.after.map(|a| a.saturating_add(1)).unwrap_or(0);
    let state = app.shared.state.read();
    let (events, scanned_to) = visible_from(&state, &caller.viewer(), start, limit);
    let next_after = (scanned_to < state.next_seq()).then(|| scanned_to.saturating_sub(1));
    Ok(Json(EventsPage {
        events: events.iter().map(|e| EventView::from(e.as_ref())).collect(),
        next_after,
    }))
}

#[utoipa::path(get, path = "/api/v1/events/{seq}", tag = "events", security(("bearer" = [])),
    params(("seq" = u64, Path, description = "Sequence number")),
    responses((status = 200, description = "The event", body = EventView),
              (status = 404, description = "No such event, or not visible to the caller", body = liaison_api::ErrorBody)))]
pub async fn one(
    State(app): State<App>,
    caller: Caller,
    Path(seq): Path<u64>,
) -> HttpResult<Json<EventView>> {
    let state = app.shared.state.read();
    let e = usize::try_from(seq)
        .ok()
        .and_then(|i| state.events.get(i))
        .filter(|e| can_see(&caller.viewer(), e))
        .ok_or_else(|| HttpError(ApiError::not_found(format!("event {seq}"))))?;
    Ok(Json(EventView::from(e.as_ref())))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StreamQuery {
    /// Start after this sequence number. `Last-Event-ID` takes precedence; without
    /// either, the stream starts with the next new event.
    pub after: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])), params(StreamQuery),
    responses((status = 200, description = "text/event-stream: one SSE event per record event the caller may read; `id:` is its sequence number, `event:` its kind, `data:` the EventView JSON. The stream ends when its operator is disabled or its token rotated."),
              (status = 429, description = "The operator already holds 8 open event streams (`too_many_streams`)", body = liaison_api::ErrorBody)))]
pub async fn stream(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> HttpResult<Response> {
    let last_id = match headers
        .get("last-event-id")
        .map(|v| v.to_str().map(|s| s.trim().parse::<u64>()))
    {
        None => None,
        Some(Ok(Ok(n))) => Some(n),
        Some(_) => {
            return Err(HttpError(ApiError::bad_request(
                "Last-Event-ID must be a sequence number",
            )));
        }
    };
    let start = match last_id.or(q.after) {
        Some(a) => a.saturating_add(1),
        None => app.head(),
    };
    let viewer = caller.viewer();
    let holder = Holder {
        acting: caller.actor(),
        slot: StreamSlot::take(&app.shared, &caller.name).map_err(HttpError)?,
    };
    let body = Body::from_stream(event_stream(app, viewer, start, Some(holder)));
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

/// A comment line that keeps idle connections (and proxies) open.
const KEEP_ALIVE: &[u8] = b":keep-alive\n\n";
const KEEP_ALIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// A committed event and its SSE frame, rendered once at commit and shared by every
/// stream.
pub struct Frame {
    pub event: Arc<Event>,
    pub sse: Bytes,
}

impl Frame {
    pub fn of(event: &Arc<Event>) -> Frame {
        Frame::with_payload(event, &liaison_api::codec::payload_bytes(event))
    }

    /// The frame of an event whose payload the writer has just serialized.
    pub fn with_payload(event: &Arc<Event>, payload: &[u8]) -> Frame {
        Frame {
            event: event.clone(),
            sse: Bytes::from(liaison_api::codec::sse_frame(event, payload)),
        }
    }
}

/// Follows the record from `start`: re-reads committed events each time the head moves,
/// so a slow client loses nothing (it resumes where it is) and never gets one twice.
/// A wake-up sends all newly visible frames as one chunk. Streams read only the list of
/// committed frames, never the state, so a write batch waiting on its fsync does not
/// delay the delivery of the batch before it. A stream with a holder ends when the
/// holder no longer stands, before it sends anything more or records a delivery.
pub fn event_stream(
    app: App,
    viewer: Viewer,
    start: u64,
    actor: Option<Holder>,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let head = app.shared.head.subscribe();
    let closing = app.shared.closing.subscribe();
    futures::stream::unfold(
        (app, viewer, start, head, closing, actor),
        |(app, viewer, mut cursor, mut head, mut closing, actor)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                if actor.as_ref().is_some_and(|h| !h.stands(&app.shared)) {
                    return None;
                }
                let mut pushed = Vec::new();
                let (chunk, scanned_to) = {
                    let frames = app.shared.rendered.read();
                    let len = frames.len();
                    let mut i = usize::try_from(cursor).unwrap_or(usize::MAX).min(len);
                    let stop = i.saturating_add(MAX_SCAN).min(len);
                    let (mut buf, mut count) = (BytesMut::new(), 0);
                    while i < stop && count < MAX_PAGE {
                        let f = &frames[i];
                        if can_see(&viewer, &f.event) {
                            buf.extend_from_slice(&f.sse);
                            count += 1;
                            if let EventBody::MessageSent { to, .. } = &f.event.body
                                && to.contains(&viewer.party)
                            {
                                pushed.push(f.event.seq);
                            }
                        }
                        i += 1;
                    }
                    (buf.freeze(), i as u64)
                };
                cursor = scanned_to;
                if !chunk.is_empty() {
                    if let Some(holder) = &actor {
                        mark_pushed(&app, &viewer, &holder.acting, pushed);
                    }
                    return Some((Ok(chunk), (app, viewer, cursor, head, closing, actor)));
                }
                if cursor < app.head() {
                    continue;
                }
                tokio::select! {
                    r = head.changed() => if r.is_err() { return None; },
                    _ = closing.changed() => return None,
                    _ = tokio::time::sleep(KEEP_ALIVE_EVERY) => {
                        return Some((Ok(Bytes::from_static(KEEP_ALIVE)), (app, viewer, cursor, head, closing, actor)));
                    }
                }
            }
        },
    )
}

/// How long pushed deliveries of one party gather before they are recorded together:
/// short enough that senders see them at once, long enough that a party with many
/// connected clients and a busy channel adds a few events a second, not one per burst.
pub const DELIVERY_GATHER: std::time::Duration = std::time::Duration::from_millis(25);

/// Pushed deliveries waiting to be recorded.
#[derive(Default)]
pub struct PushedDeliveries {
    /// (message, party) pairs queued or being recorded, so many clients of one party
    /// record one delivery.
    marked: std::collections::HashSet<(u64, String)>,
    /// Per party: the operator whose stream pushed first, and the messages gathered.
    queued: std::collections::HashMap<String, (Acting, Vec<u64>)>,
}

/// Messages pushed to a recipient's connected client count as delivered. Only the first
/// push per message and party is recorded, however many clients the party has, and the
/// pushes of `DELIVERY_GATHER` are recorded by one command. The recording runs beside
/// the stream, never in its way.
fn mark_pushed(app: &App, viewer: &Viewer, actor: &Acting, pushed: Vec<u64>) {
    if pushed.is_empty() {
        return;
    }
    let party = viewer.party.clone();
    let mut d = app.shared.delivering.lock();
    let PushedDeliveries { marked, queued } = &mut *d;
    let fresh: Vec<u64> = pushed
        .into_iter()
        .filter(|id| marked.insert((*id, party.clone())))
        .collect();
    if fresh.is_empty() {
        return;
    }
    match queued.entry(party.clone()) {
        std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().1.extend(fresh),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert((actor.clone(), fresh));
            let app = app.clone();
            tokio::spawn(async move {
                tokio::time::sleep(DELIVERY_GATHER).await;
                record_pushed(&app, &party).await;
            });
        }
    }
}

/// Records a party's gathered pushes (those not delivered meanwhile by a fetch).
async fn record_pushed(app: &App, party: &str) {
    let Some((actor, ids)) = app.shared.delivering.lock().queued.remove(party) else {
        return;
    };
    let undelivered: Vec<u64> = {
        let s = app.shared.state.read();
        ids.iter()
            .copied()
            .filter(|id| {
                s.hotline
                    .messages
                    .get(id)
                    .and_then(|m| m.recipients.get(party))
                    .is_some_and(|r| r.delivered_at.is_none())
            })
            .collect()
    };
    for chunk in undelivered.chunks(1000) {
        let _ = app
            .observe(
                actor.clone(),
                Command::MarkDeliveredMany {
                    messages: chunk.to_vec(),
                },
            )
            .await;
    }
    let mut d = app.shared.delivering.lock();
    for id in ids {
        d.marked.remove(&(id, party.to_string()));
    }
}
