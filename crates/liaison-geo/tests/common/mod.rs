#![allow(dead_code)]

use geographiclib_rs::{DirectGeodesic, Geodesic};
use liaison_geo::{Activity, AltBand, Area, Geometry, LonLat, Polygon, TimeWindow};
use rand::Rng;

pub fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat)
}

/// The point at geodesic distance `s` and azimuth `azi` (degrees) from `p`.
pub fn direct(p: LonLat, azi: f64, s: f64) -> LonLat {
    let (lat, lon): (f64, f64) = Geodesic::wgs84().direct(p.lat, p.lon, azi, s);
    ll(lon, lat)
}

/// A counter-clockwise star-shaped polygon around `c`.
pub fn star<R: Rng>(rng: &mut R, c: LonLat, n: usize, radius_m: f64) -> Polygon {
    let mut ring = Vec::with_capacity(n + 1);
    for i in 0..n {
        let a = 360.0 * (i as f64 + rng.gen_range(0.2..0.8)) / n as f64;
        let r = radius_m * rng.gen_range(0.5..1.0);
        // Azimuth clockwise from north; 90 - a runs counter-clockwise.
        ring.push(direct(c, 90.0 - a, r));
    }
    ring.push(ring[0]);
    Polygon::new(ring)
}

pub fn rect(w: f64, s: f64, e: f64, n: f64) -> Polygon {
    Polygon::new(vec![ll(w, s), ll(e, s), ll(e, n), ll(w, n), ll(w, s)])
}

pub fn act(
    id: u64,
    party: &str,
    kind: &str,
    area: Area,
    window: (i64, i64),
    alt: (f64, f64),
) -> Activity<u64> {
    Activity {
        id,
        party: party.to_string(),
        kind: kind.to_string(),
        area,
        alt: AltBand::new(alt.0, alt.1),
        window: TimeWindow::new(window.0, window.1),
    }
}

pub fn circle(c: LonLat, r: f64) -> Area {
    Area {
        geometry: Geometry::Point(c),
        buffer_m: r,
    }
}
