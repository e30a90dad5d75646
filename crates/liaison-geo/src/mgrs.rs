//! UTM and MGRS on WGS84 (Krüger series to n⁴, sub-millimetre within a zone).
//!
//! MGRS references are given at 1 m precision, truncated (not rounded), as the
//! convention requires: `36SYB5815984679`. Polar regions (UPS, beyond 80°S /
//! 84°N) are not supported and return an error.

use crate::types::LonLat;

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const K0: f64 = 0.9996;
const E0: f64 = 500_000.0;
const N0_SOUTH: f64 = 10_000_000.0;

const BANDS: &[u8] = b"CDEFGHJKLMNPQRSTUVWX";
const ROWS: &[u8] = b"ABCDEFGHJKLMNPQRSTUV";
const COLS: [&[u8]; 3] = [b"ABCDEFGH", b"JKLMNPQR", b"STUVWXYZ"];

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MgrsError {
    #[error("latitude {0} is outside UTM (80°S to 84°N); UPS is not supported")]
    Polar(f64),
    #[error("coordinates out of range or not a number")]
    OutOfRange,
    #[error("malformed MGRS reference {0:?}")]
    Malformed(String),
}

/// A UTM position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Utm {
    pub zone: u8,
    pub north: bool,
    pub easting: f64,
    pub northing: f64,
}

struct Series {
    a_rect: f64,
    alpha: [f64; 4],
    beta: [f64; 4],
    delta: [f64; 4],
    e: f64,
}

fn series() -> Series {
    let n = F / (2.0 - F);
    let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
    Series {
        a_rect: A / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0),
        alpha: [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49561.0 * n4 / 161280.0,
        ],
        beta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161280.0,
        ],
        delta: [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0,
            4279.0 * n4 / 630.0,
        ],
        e: (F * (2.0 - F)).sqrt(),
    }
}

/// The standard UTM zone of a position, with the Norway and Svalbard exceptions.
pub fn utm_zone(p: LonLat) -> u8 {
    let lon = if p.lon >= 180.0 { -180.0 } else { p.lon };
    let mut zone = (((lon + 180.0) / 6.0).floor() as i32 + 1).clamp(1, 60) as u8;
    if (56.0..64.0).contains(&p.lat) && (3.0..12.0).contains(&lon) {
        zone = 32;
    }
    if (72.0..=84.0).contains(&p.lat) && (0.0..42.0).contains(&lon) {
        zone = match lon {
            l if l < 9.0 => 31,
            l if l < 21.0 => 33,
            l if l < 33.0 => 35,
            _ => 37,
        };
    }
    zone
}

fn check(p: LonLat) -> Result<(), MgrsError> {
    if !(p.lon.is_finite() && p.lat.is_finite()) || p.lon.abs() > 180.0 || p.lat.abs() > 90.0 {
        return Err(MgrsError::OutOfRange);
    }
    if !(-80.0..=84.0).contains(&p.lat) {
        return Err(MgrsError::Polar(p.lat));
    }
    Ok(())
}

/// UTM coordinates of `p` in its standard zone.
pub fn to_utm(p: LonLat) -> Result<Utm, MgrsError> {
    check(p)?;
    Ok(to_utm_zone(p, utm_zone(p)))
}

/// UTM coordinates of `p` forced into `zone` (valid a few degrees beyond it).
pub fn to_utm_zone(p: LonLat, zone: u8) -> Utm {
    let s = series();
    let lon0 = (zone as f64 - 1.0) * 6.0 - 180.0 + 3.0;
    let mut dlon = p.lon - lon0;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let phi = p.lat.to_radians();
    let lam = dlon.to_radians();
    let sphi = phi.sin();
    let t = (sphi.atanh() - s.e * (s.e * sphi).atanh()).sinh();
    let xi_p = t.atan2(lam.cos());
    let eta_p = (lam.sin() / (1.0 + t * t).sqrt()).atanh();
    let mut x = eta_p;
    let mut y = xi_p;
    for (j, a) in s.alpha.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        x += a * (k * xi_p).cos() * (k * eta_p).sinh();
        y += a * (k * xi_p).sin() * (k * eta_p).cosh();
    }
    let easting = E0 + K0 * s.a_rect * x;
    let mut northing = K0 * s.a_rect * y;
    let north = p.lat >= 0.0;
    if !north {
        northing += N0_SOUTH;
    }
    Utm {
        zone,
        north,
        easting,
        northing,
    }
}

/// Inverse UTM.
pub fn from_utm(u: Utm) -> LonLat {
    let s = series();
    let lon0 = (u.zone as f64 - 1.0) * 6.0 - 180.0 + 3.0;
    let n = if u.north {
        u.northing
    } else {
        u.northing - N0_SOUTH
    };
    let xi = n / (K0 * s.a_rect);
    let eta = (u.easting - E0) / (K0 * s.a_rect);
    let mut xi_p = xi;
    let mut eta_p = eta;
    for (j, b) in s.beta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi_p -= b * (k * xi).sin() * (k * eta).cosh();
        eta_p -= b * (k * xi).cos() * (k * eta).sinh();
    }
    let chi = (xi_p.sin() / eta_p.cosh()).asin();
    let mut phi = chi;
    for (j, d) in s.delta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        phi += d * (k * chi).sin();
    }
    let lam = eta_p.sinh().atan2(xi_p.cos());
    let mut lon = lon0 + lam.to_degrees();
    if lon > 180.0 {
        lon -= 360.0;
    } else if lon < -180.0 {
        lon += 360.0;
    }
    LonLat {
        lon,
        lat: phi.to_degrees(),
    }
}

fn band_letter(lat: f64) -> u8 {
    let i = (((lat + 80.0) / 8.0).floor() as i32).clamp(0, 19) as usize;
    BANDS[i]
}

/// MGRS reference of `p` at 1 m precision, e.g. `36SYB5815984679`.
pub fn to_mgrs(p: LonLat) -> Result<String, MgrsError> {
    let u = to_utm(p)?;
    let set = ((u.zone as usize) - 1) % 3;
    let col = (u.easting / 100_000.0).floor() as i64;
    let col_letter = COLS[set]
        .get((col - 1).clamp(0, 7) as usize)
        .copied()
        .ok_or(MgrsError::OutOfRange)?;
    let row_off = if u.zone.is_multiple_of(2) { 5 } else { 0 };
    let row = ((u.northing / 100_000.0).floor() as i64 + row_off).rem_euclid(20) as usize;
    let e = (u.easting.floor() as i64).rem_euclid(100_000);
    let n = (u.northing.floor() as i64).rem_euclid(100_000);
    Ok(format!(
        "{:02}{}{}{}{:05}{:05}",
        u.zone,
        band_letter(p.lat) as char,
        col_letter as char,
        ROWS[row] as char,
        e,
        n
    ))
}

/// Parse an MGRS reference (any even number of digits, 0 to 10) to the centre
/// of the square it names.
pub fn from_mgrs(s: &str) -> Result<LonLat, MgrsError> {
    let bad = || MgrsError::Malformed(s.to_string());
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = t.as_bytes();
    let zlen = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&zlen) || b.len() < zlen + 3 {
        return Err(bad());
    }
    let zone: u8 = t[..zlen].parse().map_err(|_| bad())?;
    if !(1..=60).contains(&zone) {
        return Err(bad());
    }
    let band = b[zlen];
    let band_i = BANDS.iter().position(|&c| c == band).ok_or_else(bad)?;
    let set = ((zone as usize) - 1) % 3;
    let col = COLS[set]
        .iter()
        .position(|&c| c == b[zlen + 1])
        .ok_or_else(bad)? as f64
        + 1.0;
    let row_off = if zone.is_multiple_of(2) { 5 } else { 0 };
    let row_i = ROWS
        .iter()
        .position(|&c| c == b[zlen + 2])
        .ok_or_else(bad)? as i64;
    let digits = &t[zlen + 3..];
    if !digits.len().is_multiple_of(2)
        || digits.len() > 10
        || !digits.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let h = digits.len() / 2;
    let scale = 10f64.powi(5 - h as i32);
    let (e, n) = if h == 0 {
        (0.0, 0.0)
    } else {
        (
            digits[..h].parse::<f64>().map_err(|_| bad())? * scale,
            digits[h..].parse::<f64>().map_err(|_| bad())? * scale,
        )
    };
    let easting = col * 100_000.0 + e + scale / 2.0;
    let row_n = ((row_i - row_off).rem_euclid(20)) as f64 * 100_000.0 + n + scale / 2.0;
    let north = band_i >= 10;
    // The band's southern edge fixes the 2,000 km cycle (a band is < 1,000 km tall).
    let band_lat = -80.0 + 8.0 * band_i as f64;
    let lon0 = (zone as f64 - 1.0) * 6.0 - 180.0 + 3.0;
    let min_n = to_utm_zone(
        LonLat {
            lon: lon0,
            lat: band_lat,
        },
        zone,
    )
    .northing;
    let min_n = if north == (band_lat >= 0.0) {
        min_n
    } else {
        min_n - N0_SOUTH
    };
    let mut northing = row_n;
    while northing < min_n - 150_000.0 {
        northing += 2_000_000.0;
    }
    Ok(from_utm(Utm {
        zone,
        north,
        easting,
        northing,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::geodesic_distance;

    // Places (GeoNames coordinates) and their MGRS references as computed by an
    // independent implementation (npm mgrs 2.2.0).
    const KNOWN: &[(&str, f64, f64, &str)] = &[
        ("Majdal Shams", 33.27029, 35.7716, "36SYB5815984679"),
        ("Al Qunaytirah", 33.12595, 35.82461, "36SYB6353168801"),
        ("Katzrin", 32.99194, 35.69139, "36SYB5147953611"),
        ("As-Suwayda", 32.70896, 36.56951, "37SBS7218221635"),
        ("Jaramana", 33.4862, 36.34614, "37SBT5342108341"),
    ];

    #[test]
    fn known_levant_references() {
        for (name, lat, lon, want) in KNOWN {
            let got = to_mgrs(LonLat::new(*lon, *lat)).unwrap_or_default();
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn zone_boundary_36_37() {
        let w = to_mgrs(LonLat::new(35.999_999, 33.0)).unwrap_or_default();
        let e = to_mgrs(LonLat::new(36.0, 33.0)).unwrap_or_default();
        assert!(w.starts_with("36S"), "{w}");
        assert!(e.starts_with("37S"), "{e}");
    }

    #[test]
    fn exceptions_and_bands() {
        assert_eq!(utm_zone(LonLat::new(5.0, 60.0)), 32); // Norway
        assert_eq!(utm_zone(LonLat::new(10.0, 78.0)), 33); // Svalbard
        assert_eq!(utm_zone(LonLat::new(-180.0, 0.0)), 1);
        assert_eq!(utm_zone(LonLat::new(180.0, 0.0)), 1);
        assert_eq!(band_letter(-80.0), b'C');
        assert_eq!(band_letter(83.9), b'X');
        assert_eq!(band_letter(0.0), b'N');
        assert!(matches!(
            to_mgrs(LonLat::new(0.0, 85.0)),
            Err(MgrsError::Polar(_))
        ));
        assert!(to_mgrs(LonLat::new(f64::NAN, 0.0)).is_err());
    }

    #[test]
    fn round_trip_within_one_metre() {
        let mut lat = -79.5;
        while lat < 84.0 {
            let mut lon = -179.7;
            while lon < 180.0 {
                let p = LonLat::new(lon, lat);
                let m = to_mgrs(p).unwrap_or_default();
                let q = from_mgrs(&m).unwrap_or(LonLat::new(0.0, 0.0));
                let d = geodesic_distance(p, q);
                assert!(d < 1.0, "{p:?} -> {m} -> {q:?}: {d} m");
                lon += 7.3;
            }
            lat += 3.1;
        }
    }

    #[test]
    fn utm_known_value() {
        // Origin of zone 31N at the equator and central meridian.
        let u = to_utm(LonLat::new(3.0, 0.0)).unwrap_or(Utm {
            zone: 0,
            north: false,
            easting: 0.0,
            northing: 0.0,
        });
        assert_eq!(u.zone, 31);
        assert!((u.easting - 500_000.0).abs() < 1e-6 && u.northing.abs() < 1e-6);
        // Symmetric about the central meridian; the inverse recovers the point.
        let e = to_utm_zone(LonLat::new(4.0, 10.0), 31);
        let w = to_utm_zone(LonLat::new(2.0, 10.0), 31);
        assert!((e.easting + w.easting - 1_000_000.0).abs() < 1e-6);
        let back = from_utm(e);
        assert!((back.lon - 4.0).abs() < 1e-9 && (back.lat - 10.0).abs() < 1e-9);
    }
}
