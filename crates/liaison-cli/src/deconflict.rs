//! Client commands for deconfliction: sites, zones, notifications and the dry-run check.

use crate::choices::{ExportFormat, NotificationAnswer, ProposalAnswer, SiteCategory, Stance};
use crate::output::{json, receipt_line};
use anyhow::{Context, bail};
use clap::Subcommand;
use liaison_api::wire::Written;
use liaison_client::Client;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Clone)]
pub enum DeconflictCmd {
    /// Check a GeoJSON Feature (or each of a FeatureCollection) against sites, zones and
    /// other parties' activity; files nothing.
    Check {
        /// A GeoJSON Feature or FeatureCollection.
        file: PathBuf,
    },
    /// File an activity notification (a GeoJSON Feature, or a FeatureCollection of them
    /// filed together) and print the conflicts of each.
    Notify {
        /// A GeoJSON Feature or FeatureCollection of activities.
        file: PathBuf,
    },
    /// Acknowledge or object to another party's notification.
    Answer {
        /// The notification's number.
        id: u64,
        /// Your answer.
        answer: NotificationAnswer,
        /// Words that go with the answer (the reason for an objection).
        #[arg(long, default_value = "")]
        text: String,
    },
    /// Withdraw your party's notification: no longer checked against, no answer owed.
    Withdraw {
        /// The notification's number.
        id: u64,
        /// Why: kept in the record.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List notifications you may read.
    List,
    /// Conflicts found for you.
    Conflicts,
    /// Export the current picture as GeoJSON, or as Cursor-on-Target XML for TAK clients.
    Export {
        /// The form to export in.
        #[arg(long, default_value_t = ExportFormat::Geojson)]
        format: ExportFormat,
        /// Where to write it; standard output without.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Clone)]
pub enum SiteCmd {
    /// Import protected sites from a GeoJSON FeatureCollection, with progress and a per-feature error report.
    Import {
        /// A GeoJSON FeatureCollection of sites (or one Feature).
        file: PathBuf,
        /// Sites sent per request; a batch with an invalid feature stores nothing.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Import protected sites from Cursor-on-Target point events (one <event> or <events>), all or nothing.
    ImportCot {
        /// The Cursor-on-Target XML file.
        file: PathBuf,
        /// Category for events without <liaison category="…"/> in their detail.
        #[arg(long)]
        category: Option<SiteCategory>,
    },
    /// List every protected site, a page at a time.
    List,
    /// Show one protected site, with its MGRS and earlier versions.
    Show {
        /// The site's number.
        id: u64,
    },
    /// Confirm that a site is still as registered (its confirmation lapses otherwise).
    Confirm {
        /// The site's number.
        id: u64,
    },
    /// Propose a new version of another party's site (a GeoJSON Feature); its
    /// registrant accepts or rejects it.
    Propose {
        /// The site's number.
        id: u64,
        /// The new version: a GeoJSON Feature.
        file: PathBuf,
    },
    /// Accept or reject a proposed change to a site your party registered.
    Answer {
        /// The proposal's number.
        proposal: u64,
        /// Your answer.
        answer: ProposalAnswer,
        /// Words that go with the answer (the reason for an objection).
        #[arg(long, default_value = "")]
        text: String,
    },
}

#[derive(Subcommand, Clone)]
pub enum ZoneCmd {
    /// Propose a zone (a GeoJSON Feature).
    Propose {
        /// The new version: a GeoJSON Feature.
        file: PathBuf,
    },
    /// Accept or dispute a zone.
    Stance {
        /// The zone's number.
        id: u64,
        /// Your party's stance.
        stance: Stance,
    },
    /// List what you may read.
    List,
}

fn read(file: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// The most features, and about the most bytes, one dry-run check is sent: the
/// server takes up to `MAX_NOTICES` features in a body of up to 2 MiB.
const CHECK_FEATURES: usize = liaison_core::deconfliction::MAX_NOTICES;
const CHECK_BYTES: usize = 1 << 20;

/// Checks `v`, a Feature or a FeatureCollection of any size: a collection larger
/// than one check takes is sent in parts, and the answers are put together in its
/// order, as one check's would be (a dry run files nothing, so parts lose nothing).
fn check(c: &Client, v: Value) -> anyhow::Result<Value> {
    let features = match v["features"].as_array() {
        Some(f) if v["type"] == "FeatureCollection" => f,
        _ => return Ok(c.post("/api/v1/deconfliction/check", &v)?),
    };
    let parts = parts(features, CHECK_FEATURES, CHECK_BYTES);
    if parts.len() <= 1 {
        return Ok(c.post("/api/v1/deconfliction/check", &v)?);
    }
    let mut checks = Vec::with_capacity(features.len());
    let mut from = 0;
    for part in parts {
        let body = serde_json::json!({"type": "FeatureCollection", "features": part});
        let r: Value = c
            .post("/api/v1/deconfliction/check", &body)
            .with_context(|| {
                format!(
                    "checking features {from}..{} (the server numbers them from 0 in this part)",
                    from + part.len()
                )
            })?;
        let answers = r["checks"]
            .as_array()
            .filter(|a| a.len() == part.len())
            .context("the server's answer has not one check per feature")?;
        checks.extend(answers.iter().cloned());
        from += part.len();
    }
    Ok(serde_json::json!({"checks": checks}))
}

/// `features` cut, in order, into parts of at most `most` features each and, where
/// a feature alone is not larger, of at most about `bytes` bytes of JSON.
fn parts(features: &[Value], most: usize, bytes: usize) -> Vec<&[Value]> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, f) in features.iter().enumerate() {
        let n = serde_json::to_vec(f).map_or(0, |b| b.len()) + 1;
        if i > start && (i - start == most || size + n > bytes) {
            out.push(&features[start..i]);
            (start, size) = (i, 0);
        }
        size += n;
    }
    if start < features.len() {
        out.push(&features[start..]);
    }
    out
}

/// The conflicts a page of `GET /api/v1/conflicts` holds unless asked (the server's
/// most): a shorter page is the last.
const CONFLICTS_PAGE: usize = 5_000;

/// The features a listing asks for a page (the server's most).
const FEATURES_PAGE: usize = 10_000;

/// Every feature of a paged GeoJSON listing, page after page as the server gives
/// them (`next_after`).
fn every_page(c: &Client, path: &str) -> anyhow::Result<Vec<Value>> {
    let mut features = Vec::new();
    let mut at = format!("{path}?limit={FEATURES_PAGE}");
    loop {
        let mut page: Value = c.get(&at)?;
        if let Some(f) = page["features"].as_array_mut() {
            features.append(f);
        }
        match page["next_after"].as_u64() {
            Some(after) => at = format!("{path}?limit={FEATURES_PAGE}&after={after}"),
            None => return Ok(features),
        }
    }
}

/// A check's or a filing's site conflicts are shown with each site's MGRS, looked up
/// one site at a time when there are at most this many (an officer reads a few back
/// over the line; a bulk answer of hundreds is for the `--json` output).
const SITE_MGRS_LOOKUPS: usize = 10;

/// The MGRS of a GeoJSON geometry's first position, where Liaison anchors an area's
/// MGRS (its first vertex, or the point of a circle), worked out here.
fn area_mgrs(feature: &Value) -> Option<String> {
    geometry_mgrs(&feature["geometry"])
}

/// The MGRS of a GeoJSON geometry's first position (a point's, or a ring's first
/// vertex).
pub fn geometry_mgrs(geometry: &Value) -> Option<String> {
    let mut at = &geometry["coordinates"];
    while at[0].is_array() {
        at = &at[0];
    }
    let p = liaison_geo::types::LonLat::new(at[0].as_f64()?, at[1].as_f64()?);
    liaison_geo::mgrs::to_mgrs(p).ok()
}

/// Each feature of a file, as it was checked or filed: a FeatureCollection's in order.
fn file_features(v: &Value) -> Vec<&Value> {
    match v["features"].as_array() {
        Some(all) if v["type"] == "FeatureCollection" => all.iter().collect(),
        _ => vec![v],
    }
}

fn print_area(feature: Option<&Value>) {
    if let Some(m) = feature.and_then(area_mgrs) {
        println!("  area at MGRS {m}");
    }
}

fn print_conflicts(c: &Client, found: &Value) {
    let sites = found["sites"].as_array().map_or(0, Vec::len);
    let site_mgrs = |id: &Value| -> Option<String> {
        if sites > SITE_MGRS_LOOKUPS {
            return None;
        }
        let site: Value = c.get(&format!("/api/v1/sites/{}", id.as_u64()?)).ok()?;
        site["properties"]["mgrs"].as_str().map(str::to_string)
    };
    let mut any = false;
    for k in ["sites", "zones", "activities"] {
        for x in found[k].as_array().into_iter().flatten() {
            any = true;
            let at = match k {
                "sites" => site_mgrs(&x["id"]).map(|m| format!("  (site at MGRS {m})")),
                _ => None,
            };
            println!(
                "  {:<9} {:<10} #{:<6} {}{}",
                x["severity"].as_str().unwrap_or("").to_uppercase(),
                k.trim_end_matches('s'),
                x["id"],
                x["reason"].as_str().unwrap_or(""),
                at.unwrap_or_default()
            );
        }
    }
    if !any {
        println!("  no conflicts");
    }
}

pub fn run(c: &Client, cmd: DeconflictCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        DeconflictCmd::Check { file } => {
            let body = read(&file)?;
            let v = check(c, body.clone())?;
            if as_json {
                return json(&v);
            }
            let features = file_features(&body);
            // A FeatureCollection is checked feature by feature, answered in its order.
            match v["checks"].as_array() {
                Some(all) => {
                    for (k, one) in all.iter().enumerate() {
                        println!("feature {k}:");
                        print_area(features.get(k).copied());
                        print_conflicts(c, one);
                    }
                }
                None => {
                    print_area(features.first().copied());
                    print_conflicts(c, &v);
                }
            }
            Ok(())
        }
        DeconflictCmd::Notify { file } => {
            let body = read(&file)?;
            let v: Value = c.post("/api/v1/notifications", &body)?;
            if as_json {
                return json(&v);
            }
            let features = file_features(&body);
            // A FeatureCollection is filed together and answered in its order.
            let each = match v["notifications"].as_array() {
                Some(all) => all.clone(),
                None => vec![v],
            };
            for (k, n) in each.iter().enumerate() {
                println!(
                    "notification {} filed{}",
                    n["id"],
                    if n["late"] == true {
                        " (LATE: less notice than the charter's lead time)"
                    } else {
                        ""
                    }
                );
                print_area(features.get(k).copied());
                print_conflicts(c, &n["conflicts"]);
            }
            Ok(())
        }
        DeconflictCmd::Answer { id, answer, text } => {
            let w: Written = c.post(
                &format!("/api/v1/notifications/{id}/answer"),
                &serde_json::json!({"answer": answer.as_str(), "text": text}),
            )?;
            if as_json {
                return json(&w);
            }
            println!("answered; {}", receipt_line(&w.receipt));
            Ok(())
        }
        DeconflictCmd::Withdraw { id, reason } => {
            let w: Written = c.post(
                &format!("/api/v1/notifications/{id}/withdraw"),
                &serde_json::json!({ "reason": reason }),
            )?;
            if as_json {
                return json(&w);
            }
            println!("withdrawn; {}", receipt_line(&w.receipt));
            Ok(())
        }
        DeconflictCmd::List => {
            let features = every_page(c, "/api/v1/notifications")?;
            if as_json {
                return json(
                    &serde_json::json!({"type": "FeatureCollection", "features": features}),
                );
            }
            crate::output::none_if_empty(&features, "notifications");
            for f in &features {
                let p = &f["properties"];
                println!(
                    "#{:<6} {} {:<20} {} → {}  {}  MGRS {}{}",
                    f["id"],
                    p["party"].as_str().unwrap_or(""),
                    p["activity"].as_str().unwrap_or(""),
                    p["start"].as_str().unwrap_or(""),
                    p["end"].as_str().unwrap_or(""),
                    p["forces"].as_str().unwrap_or(""),
                    p["mgrs"].as_str().unwrap_or(""),
                    if p["late"] == true { "  LATE" } else { "" }
                );
            }
            Ok(())
        }
        DeconflictCmd::Conflicts => {
            // Page after page: each after the last one's `seq`, until a short one.
            let mut all: Vec<Value> = Vec::new();
            loop {
                let path = match all.last().and_then(|x| x["seq"].as_u64()) {
                    Some(after) => format!("/api/v1/conflicts?after={after}"),
                    None => "/api/v1/conflicts".to_string(),
                };
                let page: Vec<Value> = c.get(&path)?;
                let full = page.len() == CONFLICTS_PAGE;
                all.extend(page);
                if !full {
                    break;
                }
            }
            if as_json {
                return json(&all);
            }
            for x in &all {
                println!(
                    "{}  notification {} by {}: {} {}",
                    x["at"].as_str().unwrap_or(""),
                    x["notification"],
                    x["filed_by"].as_str().unwrap_or(""),
                    x["severity"].as_str().unwrap_or("").to_uppercase(),
                    x["reason"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        DeconflictCmd::Export { format, out } => {
            let (bytes, what) = if format == ExportFormat::Cot {
                let b = c.get_bytes("/api/v1/deconfliction/export.cot")?;
                let n = String::from_utf8_lossy(&b).matches("<event ").count();
                (b, format!("{n} CoT events"))
            } else {
                let v: Value = c.get("/api/v1/deconfliction/export")?;
                let n = v["features"].as_array().map(|a| a.len()).unwrap_or(0);
                (serde_json::to_vec_pretty(&v)?, format!("{n} features"))
            };
            match out {
                Some(out) => {
                    std::fs::write(&out, &bytes)
                        .with_context(|| format!("cannot write {}", out.display()))?;
                    println!("{what} written to {}", out.display());
                }
                None => std::io::stdout().write_all(&bytes)?,
            }
            Ok(())
        }
    }
}

pub fn site(c: &Client, cmd: SiteCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        SiteCmd::Import { file, batch } => {
            let v = read(&file)?;
            let features = v["features"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![v.clone()]);
            let total = features.len();
            let mut done = 0usize;
            let mut failed = Vec::new();
            let bar = crate::progress::bar(total as u64, "sites");
            for (i, chunk) in features.chunks(batch.max(1)).enumerate() {
                let fc = serde_json::json!({"type": "FeatureCollection", "features": chunk});
                match c.post::<_, Value>("/api/v1/sites", &fc) {
                    Ok(_) => done += chunk.len(),
                    Err(e) => failed.push(format!(
                        "features {}..{}: {e}",
                        i * batch,
                        i * batch + chunk.len()
                    )),
                }
                bar.inc(chunk.len() as u64);
                bar.set_message(format!("{done} imported"));
            }
            bar.finish_and_clear();
            for f in &failed {
                println!("not imported: {f}");
            }
            println!("{done} of {total} sites imported");
            if !failed.is_empty() {
                bail!(
                    "{} batch(es) had invalid features; nothing from those batches was stored",
                    failed.len()
                );
            }
            Ok(())
        }
        SiteCmd::ImportCot { file, category } => {
            let body =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let path = match category {
                Some(cat) => format!("/api/v1/sites/cot?category={cat}"),
                None => "/api/v1/sites/cot".to_string(),
            };
            let v: Value = c.post_raw(&path, "application/xml", &[], body)?;
            if as_json {
                return json(&v);
            }
            let ids = v["ids"].as_array().cloned().unwrap_or_default();
            let uids = v["uids"].as_array().cloned().unwrap_or_default();
            for (id, uid) in ids.iter().zip(&uids) {
                println!("site #{id} from {}", uid.as_str().unwrap_or(""));
            }
            println!("{} sites imported", v["count"]);
            Ok(())
        }
        SiteCmd::List => {
            let features = every_page(c, "/api/v1/sites")?;
            if as_json {
                return json(
                    &serde_json::json!({"type": "FeatureCollection", "features": features}),
                );
            }
            crate::output::none_if_empty(&features, "protected sites");
            for f in &features {
                print_site(f);
            }
            Ok(())
        }
        SiteCmd::Show { id } => {
            let f: Value = c.get(&format!("/api/v1/sites/{id}"))?;
            if as_json {
                return json(&f);
            }
            print_site(&f);
            for v in f["properties"]["versions"].as_array().into_iter().flatten() {
                println!(
                    "  earlier v{}  r={} m  MGRS {}  registered {}",
                    v["version"],
                    v["radius_m"],
                    v["mgrs"].as_str().unwrap_or(""),
                    v["registered_at"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        SiteCmd::Confirm { id } => {
            let w: Written = c.post(
                &format!("/api/v1/sites/{id}/confirm"),
                &serde_json::json!({}),
            )?;
            println!("confirmed; {}", receipt_line(&w.receipt));
            Ok(())
        }
        SiteCmd::Propose { id, file } => {
            let w: Written = c.post(&format!("/api/v1/sites/{id}/proposals"), &read(&file)?)?;
            let proposal = w.seqs.first().copied().unwrap_or_default();
            println!(
                "proposed as proposal {proposal}; the registrant accepts or rejects it; {}",
                receipt_line(&w.receipt)
            );
            Ok(())
        }
        SiteCmd::Answer {
            proposal,
            answer,
            text,
        } => {
            let accept = answer == ProposalAnswer::Accept;
            let w: Written = c.post(
                &format!("/api/v1/sites/proposals/{proposal}/answer"),
                &serde_json::json!({ "accept": accept, "text": text }),
            )?;
            let what = if accept { "accepted" } else { "rejected" };
            println!("{what}; {}", receipt_line(&w.receipt));
            Ok(())
        }
    }
}

/// One line for a protected site: id, version, category, name, radius, MGRS, and
/// whether its confirmation has lapsed.
fn print_site(f: &Value) {
    let p = &f["properties"];
    let name = p["names"]["en"]
        .as_str()
        .or_else(|| {
            p["names"]
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(Value::as_str)
        })
        .unwrap_or("");
    println!(
        "#{:<6} v{} {:<20} {:<28} r={} m  MGRS {}{}",
        f["id"],
        p["version"],
        p["category"].as_str().unwrap_or(""),
        name,
        p["radius_m"],
        p["mgrs"].as_str().unwrap_or(""),
        if p["confirmation_lapsed"] == true {
            "  CONFIRMATION LAPSED"
        } else {
            ""
        }
    );
}

pub fn zone(c: &Client, cmd: ZoneCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        ZoneCmd::Propose { file } => {
            let w: Written = c.post("/api/v1/zones", &read(&file)?)?;
            println!(
                "zone {} proposed; {}",
                w.seqs.first().copied().unwrap_or_default(),
                receipt_line(&w.receipt)
            );
            Ok(())
        }
        ZoneCmd::Stance { id, stance } => {
            let w: Written = c.post(
                &format!("/api/v1/zones/{id}/stance"),
                &serde_json::json!({"stance": stance.as_str()}),
            )?;
            println!("recorded; {}", receipt_line(&w.receipt));
            Ok(())
        }
        ZoneCmd::List => {
            let v: Value = c.get("/api/v1/zones")?;
            if as_json {
                return json(&v);
            }
            crate::output::none_if_empty(
                v["features"].as_array().map_or(&[][..], Vec::as_slice),
                "zones",
            );
            for f in v["features"].as_array().into_iter().flatten() {
                let p = &f["properties"];
                println!(
                    "#{:<6} {:<20} {:<10} {}",
                    f["id"],
                    p["zone_kind"].as_str().unwrap_or(""),
                    p["status"].as_str().unwrap_or(""),
                    p["name"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parts;
    use serde_json::{Value, json};

    #[test]
    fn parts_keep_every_feature_in_order_within_both_limits() {
        let feature = |k: usize, pad: usize| json!({"k": k, "pad": "x".repeat(pad)});
        for (n, pad, most, bytes) in [
            (0, 0, 500, 1 << 20),
            (1, 10, 500, 1 << 20),
            (1_203, 10, 500, 1 << 20),
            (1_000, 10, 500, 1 << 20),
            (50, 3_000, 500, 10_000),
            (5, 50_000, 500, 10_000),
        ] {
            let fs: Vec<Value> = (0..n).map(|k| feature(k, pad)).collect();
            let ps = parts(&fs, most, bytes);
            let joined: Vec<&Value> = ps.iter().flat_map(|p| p.iter()).collect();
            assert_eq!(joined, fs.iter().collect::<Vec<_>>(), "{n} features");
            for p in &ps {
                assert!(!p.is_empty() && p.len() <= most);
                let size: usize = p.iter().map(|f| f.to_string().len() + 1).sum();
                assert!(p.len() == 1 || size <= bytes, "{size} bytes in {}", p.len());
            }
            if pad == 10 {
                assert_eq!(ps.len(), n.div_ceil(most), "{n} small features");
            }
        }
    }
}
