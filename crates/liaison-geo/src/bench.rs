//! The benchmark: read a workload written by [`crate::workload::generate`], build the
//! engine, run every query single-threaded, write one line per query
//! `{"id": q, "sites": [...], "zones": [...], "actives": [...]}` (ids sorted).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use crate::engine::Engine;
use crate::types::{
    Activity, AltBand, Area, Geometry, LonLat, Polygon, Site, TimeWindow, Zone, ZoneRules,
    ZoneStatus,
};

/// Benchmark figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Reading and parsing the four files.
    pub load_s: f64,
    /// Validating, preparing and indexing (R-tree bulk load).
    pub index_s: f64,
    pub queries: usize,
    pub queries_per_second: f64,
    /// Peak resident set size of the process (VmHWM), MiB.
    pub peak_rss_mb: f64,
    pub sites: usize,
    pub zones: usize,
    pub actives: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("io error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file} line {line}: {msg}")]
    Parse {
        file: String,
        line: usize,
        msg: String,
    },
    #[error("invalid workload: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum GeomIn {
    Point([f64; 2]),
    LineString(Vec<[f64; 2]>),
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PropsIn {
    radius_m: Option<f64>,
    buffer_m: Option<f64>,
    kind: Option<String>,
    t_start: Option<i64>,
    t_end: Option<i64>,
    alt_min_m: Option<f64>,
    alt_max_m: Option<f64>,
    party: Option<i64>,
    status: Option<String>,
    prohibited: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct FeatIn {
    id: u64,
    geometry: GeomIn,
    #[serde(default)]
    properties: PropsIn,
}

fn ll(p: [f64; 2]) -> LonLat {
    LonLat {
        lon: p[0],
        lat: p[1],
    }
}

fn ring(r: Vec<[f64; 2]>) -> Vec<LonLat> {
    r.into_iter().map(ll).collect()
}

fn poly(rings: Vec<Vec<[f64; 2]>>) -> Polygon {
    let mut it = rings.into_iter();
    let exterior = it.next().map(ring).unwrap_or_default();
    Polygon {
        exterior,
        holes: it.map(ring).collect(),
    }
}

fn geometry(g: GeomIn) -> Geometry {
    match g {
        GeomIn::Point(p) => Geometry::Point(ll(p)),
        GeomIn::LineString(l) => Geometry::LineString(ring(l)),
        GeomIn::Polygon(p) => Geometry::Polygon(poly(p)),
        GeomIn::MultiPolygon(ps) => Geometry::MultiPolygon(ps.into_iter().map(poly).collect()),
    }
}

enum RangeError {
    Io(std::io::Error),
    /// The failing line's offset in the file, and the problem.
    Parse(u64, String),
}

/// Parses the lines that start in `range` of the file (a line crossing its end
/// included), through a small buffer. An error carries the failing line's offset.
fn parse_range<T>(
    path: &Path,
    range: std::ops::Range<u64>,
    f: &(impl Fn(FeatIn) -> T + Sync),
) -> Result<Vec<T>, RangeError> {
    use std::io::{BufRead, BufReader, Seek, SeekFrom};
    let io = RangeError::Io;
    let mut file = File::open(path).map_err(io)?;
    let mut pos = range.start.saturating_sub(1);
    file.seek(SeekFrom::Start(pos)).map_err(io)?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(512);
    if range.start > 0 {
        // The line in progress at the start belongs to the range before.
        pos += r.read_until(b'\n', &mut line).map_err(io)? as u64;
    }
    let mut out = Vec::with_capacity(((range.end - range.start) / 128) as usize);
    while pos < range.end {
        line.clear();
        let got = r.read_until(b'\n', &mut line).map_err(io)?;
        if got == 0 {
            break;
        }
        let at = pos;
        pos += got as u64;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let feat: FeatIn =
            serde_json::from_slice(&line).map_err(|e| RangeError::Parse(at, e.to_string()))?;
        out.push(f(feat));
    }
    Ok(out)
}

/// Reads a file of newline-delimited features, parsing it on every core (each
/// thread its own part of the file, the results kept in order).
fn read_ndjson<T: Send>(path: &Path, f: impl Fn(FeatIn) -> T + Sync) -> Result<Vec<T>, BenchError> {
    let name = path.display().to_string();
    let io = |source| BenchError::Io {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let parts = if len < 1 << 20 { 1 } else { threads };
    let ranges: Vec<std::ops::Range<u64>> = (0..parts)
        .map(|k| len * k / parts..len * (k + 1) / parts)
        .collect();
    let f = &f;
    let results: Vec<Result<Vec<T>, RangeError>> = std::thread::scope(|sc| {
        crate::join_all(
            ranges
                .iter()
                .map(|r| sc.spawn(move || parse_range(path, r.clone(), f)))
                .collect(),
        )
    });
    let total = results.iter().map(|r| r.as_ref().map_or(0, Vec::len)).sum();
    let mut out = Vec::with_capacity(total);
    for r in results {
        match r {
            Ok(v) => out.extend(v),
            Err(RangeError::Io(e)) => return Err(io(e)),
            Err(RangeError::Parse(at, msg)) => {
                // Only now count the lines before the failing one.
                let bytes = std::fs::read(path).map_err(io)?;
                let end = (at as usize).min(bytes.len());
                let line = memchr::memchr_iter(b'\n', &bytes[..end]).count() + 1;
                return Err(BenchError::Parse {
                    file: name,
                    line,
                    msg,
                });
            }
        }
    }
    Ok(out)
}

fn activity(f: FeatIn, id: u64) -> Activity<u64> {
    let p = f.properties;
    Activity {
        id,
        party: p.party.unwrap_or(0).to_string(),
        kind: p.kind.unwrap_or_default(),
        area: Area {
            geometry: geometry(f.geometry),
            buffer_m: p.buffer_m.unwrap_or(0.0),
        },
        alt: AltBand {
            min_m: p.alt_min_m.unwrap_or(0.0),
            max_m: p.alt_max_m.unwrap_or(0.0),
        },
        window: TimeWindow {
            start: p.t_start.unwrap_or(0),
            end: p.t_end.unwrap_or(0),
        },
    }
}

/// The parsed workload.
pub struct Workload {
    pub sites: Vec<Site<u64>>,
    pub zones: Vec<Zone<u64>>,
    pub actives: Vec<Activity<u64>>,
    /// Queries with their file ids; the activities carry ids disjoint from actives'.
    pub queries: Vec<(u64, Activity<u64>)>,
}

/// Query activities get ids with the top bit set, so they never equal an active's.
const QUERY_BIT: u64 = 1 << 63;

/// Read the four files of a workload.
pub fn load(dir: &Path) -> Result<Workload, BenchError> {
    let sites = read_ndjson(&dir.join("sites.ndjson"), |f| Site {
        id: f.id,
        area: Area {
            geometry: geometry(f.geometry),
            buffer_m: f.properties.radius_m.unwrap_or(0.0),
        },
    })?;
    let zones = read_ndjson(&dir.join("zones.ndjson"), |f| {
        let p = f.properties;
        let status = match p.status.as_deref() {
            Some("agreed") => ZoneStatus::Agreed,
            Some("disputed") => ZoneStatus::Disputed,
            _ => ZoneStatus::Proposed,
        };
        let altitude = match (p.alt_min_m, p.alt_max_m) {
            (None, None) => None,
            (lo, hi) => Some(AltBand {
                min_m: lo.unwrap_or(f64::NEG_INFINITY),
                max_m: hi.unwrap_or(f64::INFINITY),
            }),
        };
        Zone {
            id: f.id,
            geometry: geometry(f.geometry),
            status,
            rules: ZoneRules {
                prohibited_kinds: p.prohibited.unwrap_or_default(),
                altitude,
                force_limits: Vec::new(),
            },
            waivers: Vec::new(),
        }
    })?;
    let actives = read_ndjson(&dir.join("actives.ndjson"), |f| {
        let id = f.id;
        activity(f, id)
    })?;
    let queries = read_ndjson(&dir.join("queries.ndjson"), |f| {
        let id = f.id;
        (id, activity(f, id | QUERY_BIT))
    })?;
    Ok(Workload {
        sites,
        zones,
        actives,
        queries,
    })
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), 0 if unknown.
pub fn peak_rss_mb() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn push_ids(out: &mut String, ids: impl Iterator<Item = u64>) {
    use std::fmt::Write as _;
    out.push('[');
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
    out.push(']');
}

/// Run the benchmark on the workload in `workload_dir`, writing results to `out_path`.
pub fn run(workload_dir: &Path, out_path: &Path) -> Result<Figures, BenchError> {
    let t = Instant::now();
    let w = load(workload_dir)?;
    let load_s = t.elapsed().as_secs_f64();
    let (ns, nz, na) = (w.sites.len(), w.zones.len(), w.actives.len());

    let t = Instant::now();
    let engine = Engine::build(w.sites, w.zones, w.actives)
        .map_err(|e| BenchError::Invalid(e.to_string()))?;
    let index_s = t.elapsed().as_secs_f64();

    let mut text = String::with_capacity(w.queries.len() * 64);
    let t = Instant::now();
    for (qid, q) in &w.queries {
        let c = engine
            .check(q)
            .map_err(|e| BenchError::Invalid(format!("query {qid}: {e}")))?;
        text.push_str("{\"id\":");
        text.push_str(&qid.to_string());
        text.push_str(",\"sites\":");
        push_ids(&mut text, c.sites.iter().map(|h| h.id));
        text.push_str(",\"zones\":");
        push_ids(&mut text, c.zones.iter().map(|h| h.id));
        text.push_str(",\"actives\":");
        push_ids(&mut text, c.actives.iter().map(|h| h.id));
        text.push_str("}\n");
    }
    let secs = t.elapsed().as_secs_f64();
    let path = out_path.display().to_string();
    let io = |source| BenchError::Io {
        path: path.clone(),
        source,
    };
    let mut out = BufWriter::new(File::create(out_path).map_err(io)?);
    out.write_all(text.as_bytes()).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(Figures {
        load_s,
        index_s,
        queries: w.queries.len(),
        queries_per_second: if secs > 0.0 {
            w.queries.len() as f64 / secs
        } else {
            0.0
        },
        peak_rss_mb: peak_rss_mb(),
        sites: ns,
        zones: nz,
        actives: na,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites_file(dir: &Path, n: usize, bad: Option<usize>) -> std::path::PathBuf {
        let mut text = String::new();
        for i in 0..n {
            if Some(i) == bad {
                text.push_str("{\"type\":\"Feature\",\"id\":oops}\n");
            } else {
                text.push_str(&format!(
                    "{{\"type\":\"Feature\",\"id\":{i},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[35.{i:07},33.5]}},\"properties\":{{\"radius_m\":{}}}}}\n",
                    i % 1000
                ));
                if i % 1000 == 7 {
                    text.push('\n');
                }
            }
        }
        let path = dir.join("sites.ndjson");
        std::fs::write(&path, text).expect("write");
        path
    }

    /// The file is parsed in parts on every core: every line once, in order.
    #[test]
    fn a_large_file_is_read_whole_and_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let path = sites_file(dir.path(), 30_000, None);
        assert!(std::fs::metadata(&path).expect("len").len() > 2 << 20);
        let ids = read_ndjson(&path, |f| f.id).expect("read");
        assert_eq!(ids, (0..30_000).collect::<Vec<u64>>());
    }

    /// A bad line in a later part is reported with its line number in the whole file.
    #[test]
    fn a_bad_line_is_named_by_its_number_in_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = sites_file(dir.path(), 30_000, Some(25_000));
        match read_ndjson(&path, |f| f.id) {
            // 25,000 lines before it, and one blank line per thousand.
            Err(BenchError::Parse { line, .. }) => assert_eq!(line, 25_000 + 25 + 1),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a bad line was accepted"),
        }
    }
}
