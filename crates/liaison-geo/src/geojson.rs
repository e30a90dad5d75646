//! GeoJSON (RFC 7946) input: features to validated geometries, with errors
//! that name the feature (index and id) and the problem.

use serde_json::{Map, Value};

use crate::types::{Area, Geometry, LonLat, Polygon};
use crate::validate::{FeatureError, Problem, validate_area, validate_geometry};

/// A parsed, validated feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Feature {
    pub index: usize,
    pub id: Option<String>,
    pub geometry: Geometry,
    pub properties: Map<String, Value>,
}

fn malformed(s: impl Into<String>) -> Problem {
    Problem::Malformed(s.into())
}

fn position(v: &Value) -> Result<LonLat, Problem> {
    let a = v
        .as_array()
        .ok_or_else(|| malformed("a position must be an array of numbers"))?;
    if a.len() < 2 {
        return Err(malformed("a position needs at least 2 numbers [lon, lat]"));
    }
    let num = |x: &Value| {
        x.as_f64()
            .ok_or_else(|| malformed("a position must be an array of numbers"))
    };
    Ok(LonLat {
        lon: num(&a[0])?,
        lat: num(&a[1])?,
    })
}

fn positions(v: &Value) -> Result<Vec<LonLat>, Problem> {
    v.as_array()
        .ok_or_else(|| malformed("expected an array of positions"))?
        .iter()
        .map(position)
        .collect()
}

fn polygon(v: &Value) -> Result<Polygon, Problem> {
    let rings = v
        .as_array()
        .ok_or_else(|| malformed("polygon coordinates must be an array of rings"))?;
    let mut it = rings.iter();
    let exterior = match it.next() {
        Some(r) => positions(r)?,
        None => return Err(Problem::Empty),
    };
    let holes = it.map(positions).collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon { exterior, holes })
}

/// Parse a GeoJSON geometry object (Point, LineString, Polygon, MultiPolygon)
/// without validating it.
pub fn parse_geometry(v: &Value) -> Result<Geometry, Problem> {
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("geometry without a type"))?;
    let c = v
        .get("coordinates")
        .ok_or_else(|| malformed("geometry without coordinates"))?;
    match ty {
        "Point" => {
            if c.as_array().is_some_and(|a| a.is_empty()) {
                return Err(Problem::Empty);
            }
            Ok(Geometry::Point(position(c)?))
        }
        "LineString" => Ok(Geometry::LineString(positions(c)?)),
        "Polygon" => Ok(Geometry::Polygon(polygon(c)?)),
        "MultiPolygon" => Ok(Geometry::MultiPolygon(
            c.as_array()
                .ok_or_else(|| malformed("multipolygon coordinates must be an array of polygons"))?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
        )),
        other => Err(malformed(format!("unsupported geometry type {other:?}"))),
    }
}

fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parse and validate one feature; `index` is its position in the input.
pub fn parse_feature(v: &Value, index: usize) -> Result<Feature, FeatureError> {
    let id = id_of(v);
    let err = |problem| FeatureError {
        index,
        id: id.clone(),
        problem,
    };
    let g = match v.get("geometry") {
        Some(Value::Null) | None => return Err(err(Problem::Empty)),
        Some(g) => g,
    };
    let geometry = parse_geometry(g).map_err(err)?;
    validate_geometry(&geometry).map_err(err)?;
    let properties = match v.get("properties") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    Ok(Feature {
        index,
        id,
        geometry,
        properties,
    })
}

/// Parse a FeatureCollection (or a single Feature), validating every feature.
pub fn parse_features(v: &Value) -> Result<Vec<Feature>, FeatureError> {
    match v.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let fs = v
                .get("features")
                .and_then(Value::as_array)
                .ok_or(FeatureError {
                    index: 0,
                    id: None,
                    problem: malformed("FeatureCollection without features"),
                })?;
            fs.iter()
                .enumerate()
                .map(|(i, f)| parse_feature(f, i))
                .collect()
        }
        _ => Ok(vec![parse_feature(v, 0)?]),
    }
}

impl Feature {
    /// The feature as an area, its buffer read from the numeric property
    /// `buffer_key` (0 when absent), validated.
    pub fn area(&self, buffer_key: &str) -> Result<Area, FeatureError> {
        let buffer_m = self
            .properties
            .get(buffer_key)
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let area = Area {
            geometry: self.geometry.clone(),
            buffer_m,
        };
        validate_area(&area).map_err(|problem| FeatureError {
            index: self.index,
            id: self.id.clone(),
            problem,
        })?;
        Ok(area)
    }
}
