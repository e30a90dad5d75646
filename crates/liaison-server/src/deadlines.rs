//! The cell's clock at work: a background task that asks the core which deadlines have
//! passed and records an escalation for each. Deadlines themselves are data derived from
//! the record, so a restart loses none; this task only decides *when* to look.

use crate::app::App;
use liaison_api::ApiError;
use liaison_core::{Actor, Command};
use std::time::Duration;

/// Most escalations recorded per pass; the next pass takes the rest.
pub const PER_PASS: usize = 256;
/// How often the task looks even when no deadline is near (the clock may be moved by tests).
pub const POLL: Duration = Duration::from_millis(200);

/// Escalates everything due now. Returns how many escalations were recorded.
pub async fn tick(app: &App) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let due = {
            let now = app.shared.clock.now();
            let s = app.shared.state.read();
            !s.obligations.due(now, 1).is_empty()
        };
        if !due {
            return Ok(total);
        }
        let out = app
            .command(Actor::System, Command::EscalateDue { limit: PER_PASS })
            .await?;
        if out.seqs.is_empty() {
            return Ok(total);
        }
        total += out.seqs.len();
    }
}

/// How often idempotency keys past their window are forgotten.
const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs [`tick`] until the server shuts down, and forgets expired idempotency keys.
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut closing = app.shared.closing.subscribe();
        let mut forgot = None::<std::time::Instant>;
        loop {
            if *closing.borrow() {
                return;
            }
            if forgot.is_none_or(|t| t.elapsed() >= FORGET_EVERY) {
                let a = app.clone();
                let _ = tokio::task::spawn_blocking(move || crate::idempotency::forget_expired(&a))
                    .await;
                forgot = Some(std::time::Instant::now());
            }
            if let Err(e) = tick(&app).await {
                // A suspended cell refuses operational business, escalations included;
                // they fire when it resumes.
                if e.code != "cell_suspended" && e.code != "cell_pending_approval" {
                    tracing::warn!(error = %e, "escalation pass failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = closing.changed() => return,
            }
        }
    })
}
