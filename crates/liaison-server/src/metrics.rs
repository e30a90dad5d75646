//! What the server tells its operators about itself: Prometheus metrics and the access
//! log.
//!
//! Counters and histograms are kept as the server runs (the writer's batches, every
//! HTTP request); gauges are read from the cell when scraped (the write queue, open
//! streams, obligations, witnesses' lag), so they are never stale. The text is the
//! Prometheus exposition format 0.0.4, every family `liaison_*` with a HELP line.
//!
//! Who may read them is the core's rule (`liaison_core::can_read_metrics`); this module
//! never decides it. The access log names the route template, never the raw path or
//! its query, and never a body, a token or a header's value.

use crate::app::App;
use crate::error::HttpError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use liaison_api::ApiError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaxiiLabels {
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DutyLabel {
    duty: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartyLabel {
    party: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 100 µs to about 52 s, doubling.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

/// Counts from 1 to 8192, doubling: the write queue's capacity.
fn counts() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 14))
}

/// What the server counts as it runs. Cheap to update from any thread.
#[derive(Debug)]
pub struct Metrics {
    pub write_queue_depth: Histogram,
    pub write_batch_size: Histogram,
    pub write_commit: Histogram,
    pub store_append: Histogram,
    pub write_refusals: Family<CodeLabel, Counter>,
    pub events: Family<KindLabel, Counter>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: HistogramFamily<RouteLabels>,
    pub taxii_requests: Family<TaxiiLabels, Counter>,
    pub checks: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            write_queue_depth: counts(),
            write_batch_size: counts(),
            write_commit: seconds(),
            store_append: seconds(),
            write_refusals: Family::default(),
            events: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(seconds),
            taxii_requests: Family::default(),
            checks: Counter::default(),
        }
    }
}

/// The gauges, as read from the cell at one scrape.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub log_size: u64,
    pub write_queue_pending: u64,
    pub sse_streams_open: u64,
    pub store_failed: bool,
    /// Per duty: (open, overdue).
    pub obligations: Vec<(&'static str, u64, u64)>,
    /// Per party with a registered witness: entries past its latest cosignature.
    pub witness_lag: Vec<(String, u64)>,
    /// The replica's status, when the server keeps one.
    pub replica: Option<liaison_store::ReplicationStatus>,
}

fn gauge(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    g
}

impl Metrics {
    /// The exposition text: the running counters with the gauges of `snap`.
    pub fn render(&self, snap: &Snapshot) -> Result<String, std::fmt::Error> {
        let mut r = Registry::with_prefix("liaison");
        r.register(
            "log_size",
            "Entries in the log (events in the record)",
            gauge(snap.log_size),
        );
        r.register(
            "write_queue_pending",
            "Write requests waiting in the writer's queue now",
            gauge(snap.write_queue_pending),
        );
        r.register(
            "write_queue_depth",
            "Write requests waiting in the queue when the writer took a batch, that batch included",
            self.write_queue_depth.clone(),
        );
        r.register(
            "write_batch_size",
            "Write requests decided in one group commit",
            self.write_batch_size.clone(),
        );
        r.register_with_unit(
            "write_commit",
            "Time from the writer taking a batch to its commit: deciding, encoding, signing the checkpoint and the store's transaction",
            Unit::Seconds,
            self.write_commit.clone(),
        );
        r.register_with_unit(
            "store_append",
            "Time the store takes to commit one batch, its fsync included",
            Unit::Seconds,
            self.store_append.clone(),
        );
        r.register(
            "write_refusals",
            "Write requests the writer refused, by error code",
            self.write_refusals.clone(),
        );
        r.register(
            "events",
            "Events committed since the server started, by kind",
            self.events.clone(),
        );
        r.register(
            "store_failed",
            "1 once the store has failed and writes are refused until a restart, else 0",
            gauge(u64::from(snap.store_failed)),
        );
        r.register(
            "sse_streams_open",
            "Event streams (SSE) open now",
            gauge(snap.sse_streams_open),
        );
        let open = Family::<DutyLabel, Gauge>::default();
        let overdue = Family::<DutyLabel, Gauge>::default();
        for (duty, o, d) in &snap.obligations {
            let l = DutyLabel { duty };
            open.get_or_create(&l)
                .set(i64::try_from(*o).unwrap_or(i64::MAX));
            overdue
                .get_or_create(&l)
                .set(i64::try_from(*d).unwrap_or(i64::MAX));
        }
        r.register("obligations_open", "Open obligations, by duty", open);
        r.register(
            "obligations_overdue",
            "Open obligations past their first deadline, by duty",
            overdue,
        );
        let lag = Family::<PartyLabel, Gauge>::default();
        for (party, n) in &snap.witness_lag {
            lag.get_or_create(&PartyLabel {
                party: party.clone(),
            })
            .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        r.register(
            "witness_lag_entries",
            "Entries the log holds past the latest checkpoint each party's witness cosigned",
            lag,
        );
        if let Some(rep) = &snap.replica {
            r.register(
                "replica_up",
                "1 while the replica takes every write, 0 once it refused one (writes are then refused until it answers)",
                gauge(u64::from(rep.up)),
            );
            let failures = Counter::<u64>::default();
            failures.inc_by(rep.failures);
            r.register(
                "replica_failures",
                "Writes the replica did not take since the server started",
                failures,
            );
            // Replication is synchronous: an acknowledged event is on the replica, so
            // this is 0 unless the replica does not answer (then the log's size).
            let lag = snap.log_size.saturating_sub(rep.events.unwrap_or_default());
            r.register(
                "replica_lag_entries",
                "Entries the log holds that the replica does not (0 while it answers)",
                gauge(lag),
            );
        }
        r.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            self.http_requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (to the response head for a stream), by method and route template",
            Unit::Seconds,
            self.http_duration.clone(),
        );
        r.register(
            "taxii_requests",
            "TAXII 2.1 requests answered, by method and status",
            self.taxii_requests.clone(),
        );
        r.register(
            "deconfliction_checks",
            "Dry-run deconfliction checks answered",
            self.checks.clone(),
        );
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &r)?;
        Ok(out)
    }
}

/// Reads the gauges from the cell. The witnesses' cosignatures are in the store, so
/// this blocks: call it off the async threads.
pub fn snapshot(app: &App) -> Result<Snapshot, ApiError> {
    let shared = &app.shared;
    let obligations = {
        let now = shared.clock.now();
        let state = shared.state.read();
        state
            .obligations
            .tally(now)
            .into_iter()
            .map(|(duty, t)| (duty.as_str(), t.open, t.overdue))
            .collect()
    };
    Ok(Snapshot {
        log_size: app.head(),
        write_queue_pending: app.queued() as u64,
        sse_streams_open: shared.streams.lock().values().map(|n| *n as u64).sum(),
        store_failed: shared.is_failed(),
        obligations,
        witness_lag: crate::witnessing::lags(app)?,
        replica: shared.store.replication(),
    })
}

/// The exposition for `app`, as an HTTP answer.
pub async fn exposition(app: App) -> Response {
    let text = tokio::task::spawn_blocking(move || {
        let snap = snapshot(&app)?;
        app.shared
            .metrics
            .render(&snap)
            .map_err(|e| ApiError::internal(format!("rendering the metrics: {e}")))
    })
    .await;
    match text {
        Ok(Ok(text)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            text,
        )
            .into_response(),
        Ok(Err(e)) => HttpError(e).into_response(),
        Err(e) => {
            HttpError(ApiError::internal(format!("reading the metrics: {e}"))).into_response()
        }
    }
}

/// The address a connection came from, set on each of its requests by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

tokio::task_local! {
    static OPERATOR: Arc<OnceLock<String>>;
}

/// Notes the operator a request authenticated as, for its access-log line.
pub fn authenticated(operator: &str) {
    let _ = OPERATOR.try_with(|slot| slot.set(operator.to_string()));
}

/// Counts and logs every request: one access-log line (method, route template, status,
/// latency, the operator if it authenticated, the remote address), and a warning for a
/// failed authentication.
pub async fn access(State(app): State<App>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    let operator = Arc::new(OnceLock::new());
    let resp = OPERATOR.scope(operator.clone(), next.run(req)).await;
    let elapsed = start.elapsed();
    let status = resp.status();
    record(&app, &method, &route, status, elapsed);
    let remote = peer.map(|p| p.to_string()).unwrap_or_default();
    let operator = operator.get().map(String::as_str).unwrap_or("");
    tracing::info!(
        target: "liaison::access",
        method,
        route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        operator,
        remote,
        "request"
    );
    if status == StatusCode::UNAUTHORIZED {
        tracing::warn!(
            target: "liaison::auth",
            method,
            route,
            remote,
            "authentication failed"
        );
    }
    resp
}

fn record(app: &App, method: &str, route: &str, status: StatusCode, elapsed: Duration) {
    let m = &app.shared.metrics;
    m.http_requests
        .get_or_create(&RequestLabels {
            method: method.to_string(),
            route: route.to_string(),
            status: status.as_u16(),
        })
        .inc();
    m.http_duration
        .get_or_create(&RouteLabels {
            method: method.to_string(),
            route: route.to_string(),
        })
        .observe(elapsed.as_secs_f64());
    if route.starts_with("/taxii2") {
        m.taxii_requests
            .get_or_create(&TaxiiLabels {
                method: method.to_string(),
                status: status.as_u16(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_the_liaison_prefix() {
        let m = Metrics::default();
        m.events
            .get_or_create(&KindLabel {
                kind: "message_sent",
            })
            .inc();
        // A family without a series is not written at all: give each one.
        m.write_refusals
            .get_or_create(&CodeLabel {
                code: "forbidden".into(),
            })
            .inc();
        let route = || RouteLabels {
            method: "GET".into(),
            route: "/api/v1/messages/{id}".into(),
        };
        m.http_requests
            .get_or_create(&RequestLabels {
                method: route().method,
                route: route().route,
                status: 200,
            })
            .inc();
        m.http_duration.get_or_create(&route()).observe(0.01);
        m.taxii_requests
            .get_or_create(&TaxiiLabels {
                method: "GET".into(),
                status: 200,
            })
            .inc();
        let snap = Snapshot {
            obligations: vec![("acknowledge_message", 2, 1)],
            witness_lag: vec![("il".into(), 7)],
            ..Snapshot::default()
        };
        let text = m.render(&snap).expect("render");
        let mut families = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                families += 1;
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(name.starts_with("liaison_"), "{line}");
                assert!(
                    text.contains(&format!("# HELP {name} ")),
                    "{name} has no HELP"
                );
            } else if !line.starts_with('#') {
                assert!(line.starts_with("liaison_"), "{line}");
            }
        }
        assert_eq!(families, 17);
        assert!(text.contains("liaison_events_total{kind=\"message_sent\"} 1\n"));
        assert!(text.contains("liaison_obligations_overdue{duty=\"acknowledge_message\"} 1\n"));
        assert!(text.contains("liaison_witness_lag_entries{party=\"il\"} 7\n"));
    }
}
