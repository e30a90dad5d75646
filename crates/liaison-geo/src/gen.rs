//! Seeded workload generator for the deconfliction benchmark (Levant, roughly
//! lon 34–43, lat 29–38). Writes `sites.ndjson`, `zones.ndjson`,
//! `actives.ndjson` and `queries.ndjson` (one GeoJSON Feature per line).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::types::{Geometry, LonLat, Polygon};
use crate::validate::validate_geometry;

/// How many of each to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub sites: usize,
    pub zones: usize,
    pub actives: usize,
    pub queries: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            sites: 1_000_000,
            zones: 2_000,
            actives: 100_000,
            queries: 10_000,
        }
    }
}

impl Sizes {
    /// A smaller workload (100k sites, 500 zones, 10k actives, 500 queries).
    pub fn small() -> Self {
        Sizes {
            sites: 100_000,
            zones: 500,
            actives: 10_000,
            queries: 500,
        }
    }
}

const LON: (f64, f64) = (34.0, 43.0);
const LAT: (f64, f64) = (29.0, 38.0);
/// 2026-01-01T00:00:00Z: the workload's activities start within 30 days of it.
pub const T0: i64 = 1_767_225_600;

fn offset(c: LonLat, dist_m: f64, az: f64) -> LonLat {
    let dlat = dist_m * az.cos() / 111_000.0;
    let dlon = dist_m * az.sin() / (111_000.0 * c.lat.to_radians().cos());
    LonLat {
        lon: c.lon + dlon,
        lat: c.lat + dlat,
    }
}

fn uniform_point(rng: &mut ChaCha8Rng) -> LonLat {
    LonLat {
        lon: rng.gen_range(LON.0..LON.1),
        lat: rng.gen_range(LAT.0..LAT.1),
    }
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (rng.gen_range(lo.ln()..hi.ln())).exp()
}

/// A star-shaped polygon around `c` (counter-clockwise, closed), valid.
fn star(rng: &mut ChaCha8Rng, c: LonLat, n: usize, radius_m: f64) -> Polygon {
    loop {
        let mut ring = Vec::with_capacity(n + 1);
        for i in 0..n {
            let a = std::f64::consts::TAU * (i as f64 + rng.gen_range(0.1..0.9)) / n as f64;
            let r = radius_m * rng.gen_range(0.45..1.0);
            // Azimuth measured clockwise from north: use -a for a CCW ring.
            ring.push(round7(offset(c, r, std::f64::consts::FRAC_PI_2 - a)));
        }
        ring.push(ring[0]);
        let p = Polygon::new(ring);
        if validate_geometry(&Geometry::Polygon(p.clone())).is_ok() {
            return p;
        }
    }
}

fn round7(p: LonLat) -> LonLat {
    LonLat {
        lon: (p.lon * 1e7).round() / 1e7,
        lat: (p.lat * 1e7).round() / 1e7,
    }
}

fn fmt_pos(out: &mut String, p: LonLat) {
    use std::fmt::Write as _;
    let _ = write!(out, "[{:.7},{:.7}]", p.lon, p.lat);
}

fn fmt_ring(out: &mut String, ring: &[LonLat]) {
    out.push('[');
    for (i, p) in ring.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        fmt_pos(out, *p);
    }
    out.push(']');
}

fn fmt_geometry(out: &mut String, g: &Geometry) {
    match g {
        Geometry::Point(p) => {
            out.push_str("{\"type\":\"Point\",\"coordinates\":");
            fmt_pos(out, *p);
        }
        Geometry::LineString(l) => {
            out.push_str("{\"type\":\"LineString\",\"coordinates\":");
            fmt_ring(out, l);
        }
        Geometry::Polygon(p) => {
            out.push_str("{\"type\":\"Polygon\",\"coordinates\":[");
            for (i, r) in p.rings().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                fmt_ring(out, r);
            }
            out.push(']');
        }
        Geometry::MultiPolygon(ps) => {
            out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
            for (j, p) in ps.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('[');
                for (i, r) in p.rings().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    fmt_ring(out, r);
                }
                out.push(']');
            }
            out.push(']');
        }
    }
    out.push('}');
}

fn feature(id: usize, g: &Geometry, props: &str) -> String {
    let mut s = String::with_capacity(128);
    s.push_str("{\"type\":\"Feature\",\"id\":");
    s.push_str(&id.to_string());
    s.push_str(",\"geometry\":");
    fmt_geometry(&mut s, g);
    s.push_str(",\"properties\":");
    s.push_str(props);
    s.push_str("}\n");
    s
}

/// An activity-like feature (for actives and queries).
fn activity(rng: &mut ChaCha8Rng, id: usize, towns: &[LonLat]) -> String {
    let c = if rng.gen_bool(0.5) {
        let t = towns[rng.gen_range(0..towns.len())];
        round7(offset(
            t,
            rng.gen_range(0.0..15_000.0),
            rng.gen_range(0.0..std::f64::consts::TAU),
        ))
    } else {
        round7(uniform_point(rng))
    };
    let x: f64 = rng.gen_range(0.0..1.0);
    let (kind, g, buffer) = if x < 0.4 {
        let n = rng.gen_range(5..=40);
        let r = log_uniform(rng, 500.0, 8_000.0);
        ("polygon", Geometry::Polygon(star(rng, c, n, r)), 0.0)
    } else if x < 0.7 {
        (
            "circle",
            Geometry::Point(c),
            log_uniform(rng, 200.0, 5_000.0).round(),
        )
    } else {
        let n = rng.gen_range(2..=8);
        let mut line = vec![c];
        let mut az = rng.gen_range(0.0..std::f64::consts::TAU);
        for _ in 1..n {
            az += rng.gen_range(-0.8..0.8);
            let last = line[line.len() - 1];
            line.push(round7(offset(last, rng.gen_range(2_000.0..15_000.0), az)));
        }
        (
            "corridor",
            Geometry::LineString(line),
            log_uniform(rng, 100.0, 2_000.0).round(),
        )
    };
    let t_start = T0 + rng.gen_range(0..30 * 86_400);
    let t_end = t_start + rng.gen_range(3_600..48 * 3_600);
    let (alt_min, alt_max) = if rng.gen_bool(0.3) {
        (0.0, rng.gen_range(0.0..500.0_f64).round())
    } else {
        let lo = rng.gen_range(0.0..8_000.0_f64).round();
        (lo, lo + rng.gen_range(100.0..6_000.0_f64).round())
    };
    let party = rng.gen_range(1..=3);
    let props = format!(
        "{{\"kind\":\"{kind}\",\"buffer_m\":{buffer},\"t_start\":{t_start},\"t_end\":{t_end},\"alt_min_m\":{alt_min},\"alt_max_m\":{alt_max},\"party\":{party}}}"
    );
    feature(id, &g, &props)
}

/// Write the four workload files into `dir` (created if missing).
pub fn generate(dir: &Path, seed: u64, sizes: &Sizes) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let towns: Vec<LonLat> = (0..300).map(|_| uniform_point(&mut rng)).collect();

    let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join("sites.ndjson"))?);
    for id in 0..sizes.sites {
        let p = if rng.gen_bool(0.6) {
            let t = towns[rng.gen_range(0..towns.len())];
            let d = rng.gen_range(0.0..1.0_f64).powi(2) * 20_000.0;
            offset(t, d, rng.gen_range(0.0..std::f64::consts::TAU))
        } else {
            uniform_point(&mut rng)
        };
        let r = log_uniform(&mut rng, 50.0, 2_000.0).round();
        w.write_all(
            feature(
                id,
                &Geometry::Point(round7(p)),
                &format!("{{\"radius_m\":{r}}}"),
            )
            .as_bytes(),
        )?;
    }
    w.flush()?;

    let mut w = BufWriter::new(File::create(dir.join("zones.ndjson"))?);
    let kinds = ["polygon", "circle", "corridor"];
    for id in 0..sizes.zones {
        let c = round7(uniform_point(&mut rng));
        let n = rng.gen_range(8..=200);
        let r = log_uniform(&mut rng, 3_000.0, 25_000.0);
        let g = Geometry::Polygon(star(&mut rng, c, n, r));
        let status = ["agreed", "proposed", "disputed"][rng.gen_range(0..3)];
        let prohibited = kinds[rng.gen_range(0..3)];
        let alt_max = rng.gen_range(500.0..10_000.0_f64).round();
        let props = format!(
            "{{\"status\":\"{status}\",\"prohibited\":[\"{prohibited}\"],\"alt_min_m\":0,\"alt_max_m\":{alt_max}}}"
        );
        w.write_all(feature(id, &g, &props).as_bytes())?;
    }
    w.flush()?;

    let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join("actives.ndjson"))?);
    for id in 0..sizes.actives {
        w.write_all(activity(&mut rng, id, &towns).as_bytes())?;
    }
    w.flush()?;

    let mut w = BufWriter::new(File::create(dir.join("queries.ndjson"))?);
    for id in 0..sizes.queries {
        w.write_all(activity(&mut rng, id, &towns).as_bytes())?;
    }
    w.flush()
}
