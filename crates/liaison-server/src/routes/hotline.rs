//! The hotline: send, list, read, acknowledge, translate, close emergencies; the
//! escalations and open obligations; attachments; heartbeats and channel health.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::extract::ApiQuery;
use crate::routes::{receipt_of, written};
use crate::submission::Submission;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use liaison_api::ApiError;
use liaison_api::hotline::{
    AckRequest, AttachmentStored, AttachmentWire, EscalationView, MessageSent, MessageView,
    ObligationView, PartyHealth, ReasonRequest, SendMessage, TranslationRequest,
};
use liaison_api::wire::Written;
use liaison_core::deadline::{Duty, ObligationKey};
use liaison_core::event::AuthorSignature;
use liaison_core::event::EventBody;
use liaison_core::hotline::AttachmentRef;
use liaison_core::{Command, Precedence, State as CoreState, can_see};
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use utoipa::IntoParams;

/// Largest attachment accepted.
pub const MAX_ATTACHMENT: usize = 8 << 20;

pub fn parse_precedence(s: &str) -> Result<Precedence, HttpError> {
    Precedence::ALL
        .into_iter()
        .find(|p| p.as_str() == s.to_ascii_lowercase())
        .ok_or_else(|| {
            HttpError(ApiError::invalid(format!(
                "precedence: {s:?} is not flash, immediate, priority or routine"
            )))
        })
}

/// Checks that each attachment was uploaded, and fills in its size.
pub fn resolve_attachments(
    app: &App,
    list: Vec<AttachmentWire>,
) -> Result<Vec<AttachmentRef>, HttpError> {
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        let blob = app
            .shared
            .store
            .get_blob(&a.sha256)
            .map_err(|e| HttpError(ApiError::internal(e.to_string())))?
            .ok_or_else(|| {
                HttpError(ApiError::invalid(format!(
                    "attachments: {} was not uploaded",
                    a.sha256
                )))
            })?;
        let mut r: AttachmentRef = a.into();
        r.size = blob.len() as u64;
        out.push(r);
    }
    Ok(out)
}

pub fn message_view(state: &CoreState, id: u64) -> Option<MessageView> {
    let m = state.hotline.messages.get(&id)?;
    Some(MessageView::new(m, |p| {
        state
            .obligations
            .get(&ObligationKey::new(
                Duty::AcknowledgeMessage,
                id.to_string(),
                p,
            ))
            .cloned()
    }))
}

fn visible_message(state: &CoreState, caller: &Caller, id: u64) -> Result<(), HttpError> {
    let e = state
        .events
        .get(id as usize)
        .filter(|e| matches!(e.body, EventBody::MessageSent { .. }));
    match e {
        Some(e) if can_see(&caller.viewer(), e) => Ok(()),
        _ => Err(HttpError(ApiError::not_found(format!("message {id}")))),
    }
}

#[utoipa::path(post, path = "/api/v1/messages", tag = "hotline", security(("bearer" = [])), request_body = SendMessage,
    responses((status = 200, description = "Sent; numbered on its channel", body = MessageSent),
              (status = 409, description = "Cell not active", body = liaison_api::ErrorBody),
              (status = 422, description = "Unknown party, bad precedence, too long", body = liaison_api::ErrorBody)))]
pub async fn send(
    State(app): State<App>,
    sub: Submission<SendMessage>,
) -> HttpResult<Json<MessageSent>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    let precedence = parse_precedence(&req.precedence)?;
    let attachments = resolve_attachments(&app, req.attachments)?;
    let to: BTreeSet<String> = req.to.into_iter().collect();
    let cmd = Command::SendMessage {
        to,
        precedence,
        subject: req.subject,
        body: req.body,
        language: req.language.unwrap_or_else(|| "en".into()),
        emergency: req.emergency,
        test: req.test,
        attachments,
    };
    let outcome = app.command_signed(caller.actor(), signature, cmd).await?;
    let id = *outcome
        .seqs
        .first()
        .ok_or_else(|| HttpError(ApiError::internal("no event recorded")))?;
    let (channel, seq) = {
        let s = app.shared.state.read();
        let m = s
            .hotline
            .messages
            .get(&id)
            .ok_or_else(|| HttpError(ApiError::internal("message missing")))?;
        (m.channel.clone(), m.channel_seq)
    };
    Ok(Json(MessageSent {
        id,
        channel,
        seq,
        receipt: receipt_of(&outcome)?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `inbox` (to the caller's party), `sent` (from it) or `all` (default).
    pub r#box: Option<String>,
    /// Only messages with an id greater than this.
    pub after: Option<u64>,
    /// At most this many (1-500, default 100).
    pub limit: Option<usize>,
    /// Only open emergencies.
    pub emergency: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/messages", tag = "hotline", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Messages the caller may read; fetching marks them delivered", body = [MessageView])))]
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> HttpResult<Json<Vec<MessageView>>> {
    let limit = crate::routes::page_limit(q.limit, 100, 500)?;
    let which = q.r#box.as_deref().unwrap_or("all");
    if !["inbox", "sent", "all"].contains(&which) {
        return Err(HttpError(ApiError::bad_request(
            "box must be inbox, sent or all",
        )));
    }
    let (views, undelivered) = {
        let s = app.shared.state.read();
        let viewer = caller.viewer();
        let mut views = Vec::new();
        let mut undelivered = Vec::new();
        for (id, m) in s.hotline.messages.range((
            q.after
                .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
            std::ops::Bound::Unbounded,
        )) {
            if views.len() >= limit {
                break;
            }
            let Some(e) = s.events.get(*id as usize) else {
                continue;
            };
            if !can_see(&viewer, e) {
                continue;
            }
            let mine = m.to.contains(&caller.party);
            let keep = match which {
                "inbox" => mine,
                "sent" => m.from == caller.party,
                _ => true,
            } && (q.emergency != Some(true) || m.emergency_open());
            if !keep {
                continue;
            }
            if mine
                && m.recipients
                    .get(&caller.party)
                    .is_some_and(|r| r.delivered_at.is_none())
            {
                undelivered.push(*id);
            }
            if let Some(v) = message_view(&s, *id) {
                views.push(v);
            }
        }
        (views, undelivered)
    };
    // The recipient's client fetched them: record delivery (best effort; a refusal such as
    // a suspended cell does not hide the messages).
    for id in undelivered {
        let _ = app
            .observe(caller.actor(), Command::MarkDelivered { message: id })
            .await;
    }
    Ok(Json(views))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "hotline", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Message id")),
    responses((status = 200, description = "The message and each recipient's state; fetched by a recipient's client, it is delivered (the server's observation), never read: a person says so with `POST /api/v1/messages/{id}/read`", body = MessageView),
              (status = 404, description = "No such message, or not visible", body = liaison_api::ErrorBody)))]
pub async fn show(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u64>,
) -> HttpResult<Json<MessageView>> {
    let undelivered = recipient_state(&app, &caller, id)?.is_some_and(|r| r.delivered_at.is_none());
    if undelivered {
        let _ = app
            .observe(caller.actor(), Command::MarkDelivered { message: id })
            .await;
    }
    view_of(&app, id)
}

/// The caller's party's state as a recipient of a message it may read (`None`: its
/// party is not a recipient); `404` when it may not read the message.
fn recipient_state(
    app: &App,
    caller: &Caller,
    id: u64,
) -> HttpResult<Option<liaison_core::hotline::RecipientState>> {
    let s = app.shared.state.read();
    visible_message(&s, caller, id)?;
    Ok(s.hotline
        .messages
        .get(&id)
        .and_then(|m| m.recipients.get(&caller.party))
        .cloned())
}

fn view_of(app: &App, id: u64) -> HttpResult<Json<MessageView>> {
    let s = app.shared.state.read();
    message_view(&s, id)
        .map(Json)
        .ok_or_else(|| HttpError(ApiError::not_found(format!("message {id}"))))
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/read", tag = "hotline", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Message id")),
    responses((status = 200, description = "A person of a recipient party opened the message: the operator's own statement (recorded once; later calls record nothing); the message as it now stands", body = MessageView),
              (status = 403, description = "The caller's party is not a recipient", body = liaison_api::ErrorBody),
              (status = 404, description = "No such message, or not visible", body = liaison_api::ErrorBody)))]
pub async fn read(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<IgnoredAny>,
) -> HttpResult<Json<MessageView>> {
    let Submission {
        caller, signature, ..
    } = sub;
    let unread = recipient_state(&app, &caller, id)?.map(|r| r.read_at.is_none());
    match unread {
        // Not a recipient: the core says so.
        None | Some(true) => {
            app.command_signed(caller.actor(), signature, Command::MarkRead { message: id })
                .await?;
        }
        Some(false) => {}
    }
    view_of(&app, id)
}

async fn message_command(
    app: &App,
    caller: &Caller,
    signature: Option<AuthorSignature>,
    id: u64,
    cmd: Command,
) -> HttpResult<Json<Written>> {
    {
        let s = app.shared.state.read();
        visible_message(&s, caller, id)?;
    }
    written(app.command_signed(caller.actor(), signature, cmd).await?)
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/ack", tag = "hotline", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Message id")), request_body = AckRequest,
    responses((status = 200, description = "Acknowledged", body = Written),
              (status = 403, description = "Not a recipient", body = liaison_api::ErrorBody),
              (status = 409, description = "Already acknowledged", body = liaison_api::ErrorBody)))]
pub async fn ack(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<AckRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    message_command(
        &app,
        &caller,
        signature,
        id,
        Command::AcknowledgeMessage {
            message: id,
            reply: req.reply,
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/translations", tag = "hotline", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Message id")), request_body = TranslationRequest,
    responses((status = 200, description = "Translation recorded beside the original, attributed", body = Written)))]
pub async fn translate(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<TranslationRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    message_command(
        &app,
        &caller,
        signature,
        id,
        Command::TranslateMessage {
            message: id,
            language: req.language,
            text: req.text,
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/close", tag = "hotline", security(("bearer" = [])),
    params(("id" = u64, Path, description = "Message id")), request_body = ReasonRequest,
    responses((status = 200, description = "Emergency cancelled by its author or closed by the supervisor", body = Written)))]
pub async fn close(
    State(app): State<App>,
    Path(id): Path<u64>,
    sub: Submission<ReasonRequest>,
) -> HttpResult<Json<Written>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    message_command(
        &app,
        &caller,
        signature,
        id,
        Command::CloseEmergency {
            message: id,
            reason: req.reason,
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EscalationQuery {
    /// Only escalations recorded after this sequence number.
    pub after: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/escalations", tag = "deadlines", security(("bearer" = [])), params(EscalationQuery),
    responses((status = 200, description = "Escalations the caller may see, oldest first (at most 1000)", body = [EscalationView])))]
pub async fn escalations(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EscalationQuery>,
) -> Json<Vec<EscalationView>> {
    let s = app.shared.state.read();
    let viewer = caller.viewer();
    let start = q.after.map_or(0, |a| {
        usize::try_from(a)
            .ok()
            .and_then(|a| a.checked_add(1))
            .unwrap_or(usize::MAX)
    });
    let out = s
        .events
        .iter()
        .skip(start)
        .filter(|e| can_see(&viewer, e))
        .filter_map(|e| match &e.body {
            EventBody::Escalated {
                duty,
                subject,
                party,
                level,
                due_at,
            } => Some(EscalationView {
                seq: e.seq,
                at: liaison_api::time::format(e.at),
                duty: duty.as_str().into(),
                subject: subject.clone(),
                party: party.clone(),
                level: *level,
                due_at: liaison_api::time::format(*due_at),
                about: String::new(),
                precedence: None,
            }),
            _ => None,
        })
        .take(1000)
        .map(|mut v: EscalationView| {
            (v.about, v.precedence) = about(&s, &viewer, &v.subject);
            v
        })
        .collect();
    Json(out)
}

/// What a deadline's subject is, for people, if `viewer` may read the event that made
/// it: `FLASH message #41 "Convoy at the crossing"`, `incident #12 airspace_violation`,
/// `notification #30 uav_flight`, `submission #7 TLP:AMBER`, `site change #9`; with the
/// subject's precedence where it has one.
fn about(s: &CoreState, viewer: &liaison_core::Viewer, subject: &str) -> (String, Option<String>) {
    let seq = subject
        .split('/')
        .next()
        .and_then(|n| n.parse::<usize>().ok());
    let Some(e) = seq
        .and_then(|i| s.events.get(i))
        .filter(|e| can_see(viewer, e))
    else {
        return (String::new(), None);
    };
    let n = e.seq;
    let (about, precedence) = match &e.body {
        EventBody::MessageSent {
            precedence,
            subject,
            ..
        } => (
            format!(
                "{} message #{n} {subject:?}",
                precedence.as_str().to_uppercase()
            ),
            Some(*precedence),
        ),
        EventBody::IncidentReported {
            category,
            precedence,
            ..
        } => (
            format!("incident #{n} {}", category.as_str()),
            Some(*precedence),
        ),
        EventBody::NotificationFiled {
            activity,
            precedence,
            ..
        } => (format!("notification #{n} {activity}"), Some(*precedence)),
        EventBody::IntelSubmitted {
            tlp, precedence, ..
        } => (
            format!("submission #{n} TLP:{}", tlp.to_uppercase()),
            Some(*precedence),
        ),
        EventBody::SiteChangeProposed { site, .. } => {
            (format!("change #{n} to site #{site}"), None)
        }
        EventBody::CommitmentMade {
            proposal,
            milestones,
            ..
        } => {
            let milestone = subject
                .split_once('/')
                .and_then(|(_, i)| i.parse::<usize>().ok())
                .and_then(|i| milestones.get(i))
                .map_or(String::new(), |m| format!(": {:?}", m.what));
            (
                format!("commitment #{n} on proposal #{proposal}{milestone}"),
                None,
            )
        }
        _ => (format!("event #{n} {}", e.kind()), None),
    };
    (about, precedence.map(|p| p.as_str().to_string()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ObligationQuery {
    /// Include met obligations too (default: only open ones).
    pub all: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/obligations", tag = "deadlines", security(("bearer" = [])), params(ObligationQuery),
    responses((status = 200, description = "Deadlines the caller's party owes or waits for (all, for the supervisor)", body = [ObligationView])))]
pub async fn obligations(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ObligationQuery>,
) -> Json<Vec<ObligationView>> {
    let s = app.shared.state.read();
    let all = q.all.unwrap_or(false);
    let viewer = caller.viewer();
    let out = s
        .obligations
        .all
        .values()
        .filter(|o| all || o.is_open())
        .filter(|o| {
            caller.is_supervisor_party()
                || o.key.party == caller.party
                || o.waiting.contains(&caller.party)
        })
        .filter(|o| liaison_core::can_read_obligation(&s, &viewer, o))
        .take(5000)
        .map(|o| {
            let mut v = ObligationView::from(o);
            (v.about, v.precedence) = about(&s, &viewer, &v.subject);
            v
        })
        .collect();
    Json(out)
}

#[utoipa::path(post, path = "/api/v1/attachments", tag = "hotline", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Stored by SHA-256; refer to it from a message or incident", body = AttachmentStored),
              (status = 413, description = "Larger than 8 MiB", body = liaison_api::ErrorBody)))]
pub async fn upload(
    State(app): State<App>,
    _caller: Caller,
    body: Bytes,
) -> HttpResult<Json<AttachmentStored>> {
    if body.len() > MAX_ATTACHMENT {
        return Err(HttpError(ApiError::new(
            "payload_too_large",
            format!("attachments are limited to {MAX_ATTACHMENT} bytes"),
        )));
    }
    if body.is_empty() {
        return Err(HttpError(ApiError::invalid("the attachment is empty")));
    }
    let key = hex::encode(Sha256::digest(&body));
    app.shared
        .store
        .put_blob(&key, &body)
        .map_err(|e| HttpError(crate::error::store_error(&e)))?;
    Ok(Json(AttachmentStored {
        sha256: key,
        size: body.len() as u64,
    }))
}

/// Whether an attachment is referenced by something the caller may read.
fn attachment_visible(s: &CoreState, caller: &Caller, key: &str) -> bool {
    let viewer = caller.viewer();
    let seen = |seq: u64| {
        s.events
            .get(seq as usize)
            .is_some_and(|e| can_see(&viewer, e))
    };
    s.hotline
        .messages
        .values()
        .any(|m| m.attachments.iter().any(|a| a.sha256 == key) && seen(m.id))
        || s.incidents.values().any(|i| {
            (i.attachments.iter().any(|a| a.sha256 == key) && seen(i.id))
                || i.accounts
                    .iter()
                    .any(|a| a.attachments.iter().any(|x| x.sha256 == key) && seen(a.seq))
        })
}

#[utoipa::path(get, path = "/api/v1/attachments/{sha256}", tag = "hotline", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "Hex SHA-256")),
    responses((status = 200, description = "The bytes, if a message or incident the caller may read refers to them"),
              (status = 404, description = "Unknown or not visible", body = liaison_api::ErrorBody)))]
pub async fn download(
    State(app): State<App>,
    caller: Caller,
    Path(key): Path<String>,
) -> HttpResult<impl IntoResponse> {
    let visible = attachment_visible(&app.shared.state.read(), &caller, &key);
    if !visible {
        return Err(HttpError(ApiError::not_found(format!("attachment {key}"))));
    }
    let bytes = app
        .shared
        .store
        .get_blob(&key)
        .map_err(|e| HttpError(ApiError::internal(e.to_string())))?
        .ok_or_else(|| HttpError(ApiError::not_found(format!("attachment {key}"))))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    Ok((headers, bytes))
}

#[utoipa::path(post, path = "/api/v1/heartbeat", tag = "hotline", security(("bearer" = [])),
    responses((status = 200, description = "The caller's party is reachable", body = [PartyHealth])))]
pub async fn heartbeat(State(app): State<App>, caller: Caller) -> Json<Vec<PartyHealth>> {
    let now = app.shared.clock.now();
    app.shared
        .heartbeats
        .lock()
        .insert(caller.party.clone(), now);
    Json(health_of(&app))
}

#[utoipa::path(get, path = "/api/v1/channel-health", tag = "hotline", security(("bearer" = [])),
    responses((status = 200, description = "Each party: reachable, and its last heartbeat", body = [PartyHealth])))]
pub async fn channel_health(State(app): State<App>, _caller: Caller) -> Json<Vec<PartyHealth>> {
    Json(health_of(&app))
}

pub fn health_of(app: &App) -> Vec<PartyHealth> {
    let now = app.shared.clock.now();
    let s = app.shared.state.read();
    let Some(c) = s.charter() else {
        return Vec::new();
    };
    let timeout = c.settings.heartbeat_timeout;
    // The parties whose clients hold the live feed open now.
    let connected: std::collections::BTreeSet<&str> = app
        .shared
        .streams
        .lock()
        .iter()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(op, _)| s.operator(op).map(|o| o.spec.party.as_str()))
        .collect();
    let beats = app.shared.heartbeats.lock();
    c.parties
        .iter()
        .map(|p| {
            let last = beats.get(&p.id).copied();
            let connected = connected.contains(p.id.as_str());
            PartyHealth {
                party: p.id.clone(),
                reachable: connected || last.is_some_and(|t| now.since(t) <= timeout),
                connected,
                last_heartbeat: last.map(liaison_api::time::format),
            }
        })
        .collect()
}
