//! Sanctions lists over HTTP: the supervisor's list loads (parsed before anything is
//! kept, the files stored by SHA-256, every open proposal re-screened in the writer),
//! the lists in force, and the dry-run check of a name, which records nothing.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{HttpError, HttpResult};
use crate::routes::cooperation::receipt_for;
use crate::submission::Submission;
use axum::Json;
use axum::extract::State;
use base64::Engine;
use liaison_api::ApiError;
use liaison_api::cooperation::{
    CheckAnswer, CheckRequest, ListLoadRequest, ListLoaded, ListView, ListsView, MatchView,
};
use liaison_core::cooperation::{
    CoopCommand, CounterpartyKind, ListFile, MAX_LIST_FILE_BYTES, MAX_LIST_FILES, MAX_NAME,
};
use liaison_core::event::EventBody;
use liaison_core::{Command, DomainError};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest list-load body: three files at their limit, in base64, and the JSON
/// around them.
pub const MAX_LIST_BODY: usize = 3 * (MAX_LIST_FILE_BYTES as usize) * 4 / 3 + 64 * 1024;

fn list_invalid(m: impl Into<String>) -> HttpError {
    HttpError(ApiError::new("list_file_invalid", m))
}

/// `POST /api/v1/screening/lists`: the supervisor loads a list. The files are parsed
/// first: a file not in the format claimed, truncated, or stating another publication
/// date is refused naming the file and line, and nothing is kept or recorded.
#[utoipa::path(post, path = "/api/v1/screening/lists", tag = "screening", security(("bearer" = [])), request_body = ListLoadRequest,
    responses((status = 200, description = "Loaded: it replaces the earlier list of its source; open proposals newly matched are listed", body = ListLoaded),
              (status = 403, description = "Only the supervisor loads lists", body = liaison_api::ErrorBody),
              (status = 422, description = "list_file_invalid: the file and line, and why", body = liaison_api::ErrorBody)))]
pub async fn load(
    State(app): State<App>,
    sub: Submission<ListLoadRequest>,
) -> HttpResult<Json<ListLoaded>> {
    let Submission {
        caller,
        body: req,
        signature,
    } = sub;
    // Said before the work of parsing: only the supervisor loads lists (the writer
    // decides it again against the state it records on).
    if !caller.core_actor().is_supervisor() {
        return Err(HttpError(ApiError::new(
            "forbidden",
            "only an operator of the supervising party with role supervisor may load a sanctions list",
        )));
    }
    if req.files.is_empty() || req.files.len() > MAX_LIST_FILES {
        return Err(list_invalid(format!(
            "a list load holds 1 to {MAX_LIST_FILES} files"
        )));
    }
    let mut files = Vec::with_capacity(req.files.len());
    for f in &req.files {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(f.content_base64.trim())
            .map_err(|e| list_invalid(format!("{}: content_base64 is not base64: {e}", f.name)))?;
        if bytes.len() as u64 > MAX_LIST_FILE_BYTES {
            return Err(HttpError(ApiError::new(
                "payload_too_large",
                format!("{}: larger than {MAX_LIST_FILE_BYTES} bytes", f.name),
            )));
        }
        files.push((f.name.clone(), bytes));
    }
    let (format, published) = (req.format.clone(), req.published.clone());
    let parsed = tokio::task::spawn_blocking(move || {
        let list = crate::screening::parse_load(&format, published.as_deref(), &files);
        (list, files)
    })
    .await
    .map_err(|e| HttpError(ApiError::internal(e.to_string())))?;
    let (list, files) = parsed;
    let list = Arc::new(list.map_err(list_invalid)?);
    // Kept by content before the load is recorded: a load that fails leaves only
    // unreferenced bytes, and a restart rebuilds the screener from these.
    let mut meta = Vec::with_capacity(files.len());
    for (name, bytes) in &files {
        let sha = hex::encode(Sha256::digest(bytes));
        app.shared
            .store
            .put_blob(&sha, bytes)
            .map_err(|e| HttpError(crate::error::store_error(&e)))?;
        meta.push(ListFile {
            name: name.clone(),
            sha256: sha,
            size: bytes.len() as u64,
        });
    }
    let (edge, actor, format) = (app.clone(), caller.core_actor(), req.format.clone());
    let decider: crate::writer::Decider = Box::new(move |s, now| {
        let screener = edge
            .shared
            .screeners
            .with_list(edge.shared.store.as_ref(), s, list.clone(), &meta)
            .map_err(|m| DomainError::InvalidState(format!("screening: {m}")))?;
        let screened = crate::screening::rescreen(&screener, s);
        let cmd = CoopCommand::LoadList {
            source: list.source.clone(),
            format,
            published: list.published.clone(),
            files: meta,
            entries: list.entries.len() as u64,
            screened,
        };
        liaison_core::decide(s, &actor, &Command::Cooperation(cmd), now)
    });
    let out = app.submit(caller.actor(), signature, decider).await?;
    let id = *out
        .seqs
        .first()
        .ok_or_else(|| HttpError(ApiError::internal("no list load recorded")))?;
    let s = app.shared.state.read();
    let mut new_matches = BTreeMap::new();
    for seq in &out.seqs {
        if let Some(EventBody::ScreeningMatched { proposal, hits }) =
            s.events.get(*seq as usize).map(|e| &e.body)
        {
            new_matches.insert(*proposal, hits.len());
        }
    }
    let list = s
        .cooperation
        .lists
        .values()
        .find(|l| l.seq == id)
        .map(ListView::from)
        .ok_or_else(|| HttpError(ApiError::internal("list missing")))?;
    drop(s);
    Ok(Json(ListLoaded {
        list,
        new_matches,
        receipt: receipt_for(&app, id)?,
    }))
}

/// `GET /api/v1/screening/lists`
#[utoipa::path(get, path = "/api/v1/screening/lists", tag = "screening", security(("bearer" = [])),
    responses((status = 200, description = "The lists in force, one per source", body = ListsView)))]
pub async fn lists(State(app): State<App>, _caller: Caller) -> Json<ListsView> {
    let s = app.shared.state.read();
    Json(ListsView {
        lists: s.cooperation.lists.values().map(ListView::from).collect(),
    })
}

/// `POST /api/v1/screening/check`: a name against the lists in force, recording nothing.
#[utoipa::path(post, path = "/api/v1/screening/check", tag = "screening", security(("bearer" = [])), request_body = CheckRequest,
    responses((status = 200, description = "The matches, best first; nothing recorded", body = CheckAnswer),
              (status = 403, description = "Observers do not check names", body = liaison_api::ErrorBody),
              (status = 409, description = "no_lists: no list is loaded yet", body = liaison_api::ErrorBody)))]
pub async fn check(
    State(app): State<App>,
    sub: Submission<CheckRequest>,
) -> HttpResult<Json<CheckAnswer>> {
    let (caller, req) = (sub.caller, sub.body);
    if !liaison_core::visibility::can_check_names(&caller.viewer()) {
        return Err(HttpError(ApiError::new(
            "forbidden",
            "observer parties do not check names against the sanctions lists",
        )));
    }
    if req.name.trim().is_empty() {
        return Err(HttpError(ApiError::invalid("name: must not be empty")));
    }
    if req.name.len() > MAX_NAME {
        return Err(HttpError(ApiError::invalid(format!(
            "name: at most {MAX_NAME} bytes"
        ))));
    }
    let kind = match req.kind.as_deref() {
        None => None,
        Some(k) => Some(CounterpartyKind::parse(k).ok_or_else(|| {
            HttpError(ApiError::invalid(format!(
                "kind: {k:?} is not person or organisation"
            )))
        })?),
    };
    let (screener, lists) = {
        let s = app.shared.state.read();
        if s.cooperation.lists.is_empty() {
            return Err(HttpError(ApiError::new(
                "no_lists",
                "no sanctions list is loaded yet",
            )));
        }
        let lists: BTreeMap<String, Option<String>> = s
            .cooperation
            .lists
            .values()
            .map(|l| (l.source.clone(), l.published.clone()))
            .collect();
        let in_force = liaison_core::cooperation::Cooperation {
            lists: s.cooperation.lists.clone(),
            ..Default::default()
        };
        (in_force, lists)
    };
    // Built, when no screener is kept for these lists (after a restart), without
    // holding the state: the writer goes on meanwhile.
    let (a, in_force) = (app.clone(), screener);
    let screener = tokio::task::spawn_blocking(move || {
        a.shared
            .screeners
            .for_lists(a.shared.store.as_ref(), &in_force)
    })
    .await
    .map_err(|e| HttpError(ApiError::internal(e.to_string())))?
    .map_err(|m| HttpError(ApiError::internal(format!("screening: {m}"))))?;
    let names = [req.name.as_str()];
    let q = liaison_screening::Query {
        kind: kind.map(crate::screening::kind),
        names: &names,
        country: req.country.as_deref(),
    };
    let matches = screener
        .screen(&q)
        .into_iter()
        .map(|m| {
            let mut v = MatchView::of_hit(&crate::screening::hit(0, m), &req.name);
            v.counterparty_index = None;
            v
        })
        .collect();
    Ok(Json(CheckAnswer { matches, lists }))
}
