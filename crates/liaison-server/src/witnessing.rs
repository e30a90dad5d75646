//! Party witnesses: registering their keys and accepting their cosignatures.
//!
//! A cosignature is accepted only if it verifies, with the witness key registered in the
//! record by the caller's party, over a checkpoint this log actually signed. A checkpoint
//! cosigned by every member party and the supervisor is final.

use crate::app::App;
use crate::auth::Caller;
use liaison_api::ApiError;
use liaison_api::wire::{CosignatureAccepted, CosignatureRequest, LogStatus};
use std::collections::BTreeMap;

/// Parties whose cosignature makes a checkpoint final: every member and the supervisor.
fn finalizers(app: &App) -> Vec<String> {
    let s = app.shared.state.read();
    s.charter()
        .map(|c| c.finalizers().map(|p| p.id.clone()).collect())
        .unwrap_or_default()
}

/// The latest checkpoint every finalizer cosigned, as its note with their
/// cosignatures, if it covers entry `index`.
pub fn final_checkpoint(app: &App, index: u64) -> Result<(u64, String), ApiError> {
    let parties = finalizers(app);
    let store = &app.shared.store;
    let internal = |e: liaison_store::StoreError| ApiError::internal(e.to_string());
    let size = store.cosigned_by_all(&parties).map_err(internal)?;
    let not_final = || {
        ApiError::new(
            "not_final",
            format!(
                "no checkpoint cosigned by the witnesses of {} covers event {index} yet",
                parties.join(", ")
            ),
        )
    };
    let size = size.filter(|s| *s > index).ok_or_else(not_final)?;
    let stored = store
        .checkpoint(size)
        .map_err(internal)?
        .ok_or_else(|| ApiError::internal(format!("cosigned checkpoint {size} is not stored")))?;
    let mut note = stored.note;
    for (party, line) in store.cosignatures(size).map_err(internal)? {
        if parties.contains(&party) {
            note.push_str(&line);
            note.push('\n');
        }
    }
    Ok((size, note))
}

pub fn accept(
    app: &App,
    caller: &Caller,
    req: CosignatureRequest,
) -> Result<CosignatureAccepted, ApiError> {
    let vkey = app
        .shared
        .state
        .read()
        .witnesses
        .get(&caller.party)
        .cloned()
        .ok_or_else(|| {
            ApiError::forbidden(format!(
                "party {:?} has no registered witness key",
                caller.party
            ))
        })?;
    let stored = app
        .shared
        .store
        .checkpoint(req.size)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| {
            ApiError::new(
                "invalid_state",
                format!("this log signed no checkpoint of size {}", req.size),
            )
        })?;
    let body = liaison_log::note::note_text(&stored.note)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    liaison_log::cosignature::verify_cosignature_line(&vkey, &body, req.cosignature.trim())
        .map_err(|e| {
            ApiError::new(
                "bad_signature",
                format!(
                    "the cosignature does not verify with {}'s witness key: {e}",
                    caller.party
                ),
            )
        })?;
    app.shared
        .store
        .add_cosignature(req.size, &caller.party, req.cosignature.trim())
        .map_err(|e| crate::error::store_error(&e))?;
    let cosigned_by: Vec<String> = app
        .shared
        .store
        .cosignatures(req.size)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    let is_final = finalizers(app).iter().all(|p| cosigned_by.contains(p));
    Ok(CosignatureAccepted {
        size: req.size,
        cosigned_by,
        r#final: is_final,
    })
}

/// How far each party's registered witness is behind the log: the entries committed
/// past the latest checkpoint it cosigned (all of them if it cosigned none), by party.
pub fn lags(app: &App) -> Result<Vec<(String, u64)>, ApiError> {
    let parties: Vec<String> = app.shared.state.read().witnesses.keys().cloned().collect();
    let head = app.head();
    let cosigned: BTreeMap<String, u64> = app
        .shared
        .store
        .latest_cosigned()
        .map_err(|e| ApiError::internal(e.to_string()))?
        .into_iter()
        .collect();
    Ok(parties
        .into_iter()
        .map(|p| {
            let lag = head.saturating_sub(cosigned.get(&p).copied().unwrap_or(0));
            (p, lag)
        })
        .collect())
}

pub fn status(app: &App) -> Result<LogStatus, ApiError> {
    let size = app.shared.ledger.read().size();
    let cosigned: BTreeMap<String, u64> = app
        .shared
        .store
        .latest_cosigned()
        .map_err(|e| ApiError::internal(e.to_string()))?
        .into_iter()
        .collect();
    // A checkpoint of size n cosigned by a witness implies it vouched for every smaller
    // prefix too, so the final size is the smallest of the finalizers' latest sizes.
    let final_size = finalizers(app)
        .iter()
        .map(|p| cosigned.get(p).copied().unwrap_or(0))
        .min()
        .unwrap_or(0);
    Ok(LogStatus {
        size,
        final_size,
        cosigned,
    })
}
