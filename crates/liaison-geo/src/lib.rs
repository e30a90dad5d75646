//! liaison-geo: geometry validation, geodesy, spatial indexes and the
//! deconfliction conflict engine. Pure: no IO except in [`workload`] and [`bench`],
//! which work on files passed in.
//!
//! Semantics follow PostGIS `geography`: polygon edges are great-circle arcs,
//! distances are geodesic on WGS84 (closest points found on the sphere, then
//! measured on the ellipsoid with geographiclib), a point inside a polygon is
//! at distance 0. Work happens in a local frame per query (no UTM zones), so
//! the UTM 36/37 boundary and the antimeridian are non-events.
//!
//! - [`types`]: plain domain structs (no serde).
//! - [`validate`] and [`geojson`]: input checks with errors naming the feature.
//! - [`engine::Engine`]: sites, zones and active notifications in spatial indexes;
//!   `check(&self, &Activity)` returns [`types::Conflicts`].
//! - [`mgrs`]: UTM / MGRS.
//! - [`workload`] and [`bench`]: the seeded workload and the benchmark.

pub mod bench;
pub mod engine;
/// `gen` is a reserved word in edition 2024: `liaison_geo::r#gen` or `liaison_geo::workload`.
pub use r#gen as workload;
pub mod r#gen;
pub mod geojson;
pub mod mgrs;
pub mod sphere;
pub mod types;
pub mod validate;

/// Waits for scoped threads in order, their results in the same order; a thread's
/// panic goes on in the caller.
pub(crate) fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| match h.join() {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e),
        })
        .collect()
}

pub use engine::{BuildError, Category, Engine, Repack, area_distance, breaches};
pub use sphere::geodesic_distance;
pub use types::*;
pub use validate::{FeatureError, Problem};
