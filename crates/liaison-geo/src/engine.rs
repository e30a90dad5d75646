//! The deconfliction engine: sites, zones and active notifications in R-trees
//! of (antimeridian-split) bounding boxes, each box expanded by the item's own
//! buffer; a query expands its own boxes by its buffer, so two items can be
//! within the sum of their buffers only if some boxes intersect. Candidates are
//! then refined exactly (see [`crate::sphere`]).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{
    AABB, Envelope, ParentNode, RStarInsertionStrategy, RTree, RTreeNode, RTreeObject, RTreeParams,
};

use crate::sphere::{BBox, Shape, bboxes, point_bboxes, within};
use crate::types::{
    ActiveHit, Activity, Area, Breach, Conflicts, Rule, Severity, Site, SiteHit, TimeWindow, Zone,
    ZoneHit, ZoneStatus,
};
use crate::validate::{Problem, validate_activity, validate_site, validate_zone};

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Wider nodes than rstar's default (6): fewer levels, faster queries on a
/// bulk-loaded tree of a million boxes.
struct Params;
impl RTreeParams for Params {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

type Tree = RTree<Entry, Params>;

fn entry(b: &BBox, slot: u32) -> Entry {
    GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), slot)
}

/// Morton (Z-order) key of a box's centre.
fn morton(b: &BBox) -> u64 {
    let x = (((b[0] + b[2]) * 0.5 + 180.0) / 360.0 * 65535.0) as u64 & 0xffff;
    let y = (((b[1] + b[3]) * 0.5 + 90.0) / 180.0 * 65535.0) as u64 & 0xffff;
    let spread = |mut v: u64| {
        v = (v | (v << 8)) & 0x00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333;
        (v | (v << 1)) & 0x5555_5555
    };
    spread(x) | (spread(y) << 1)
}

/// A small multiplicative hasher (FxHash) for the id maps: ids are not
/// adversarial hash-flooding input here, and SipHash dominated index building.
#[derive(Clone, Copy, Default)]
struct FxBuild;

impl BuildHasher for FxBuild {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}

struct Fx(u64);

impl Fx {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Bounding boxes of one item: almost always one, two across the antimeridian.
#[derive(Clone, Debug)]
enum Boxes {
    One(BBox),
    Many(Box<[BBox]>),
}

impl Boxes {
    fn new(v: Vec<BBox>) -> Boxes {
        if v.len() == 1 {
            Boxes::One(v[0])
        } else {
            Boxes::Many(v.into_boxed_slice())
        }
    }
    fn as_slice(&self) -> &[BBox] {
        match self {
            Boxes::One(b) => std::slice::from_ref(b),
            Boxes::Many(v) => v,
        }
    }
}

struct Slot<K, T> {
    id: K,
    shape: Shape,
    buffer_m: f64,
    boxes: Boxes,
    data: T,
}

/// What a query touches for every candidate, kept apart from the rest so that
/// candidates pack densely in cache.
struct Hot<K> {
    id: K,
    shape: Shape,
    buffer_m: f64,
}

struct Cold<T> {
    boxes: Boxes,
    data: T,
}

/// One category of items with its R-tree.
struct Layer<K, T> {
    hot: Vec<Option<Hot<K>>>,
    cold: Vec<Option<Cold<T>>>,
    free: Vec<u32>,
    by_id: HashMap<K, u32, FxBuild>,
    tree: Tree,
    /// Items with more than one box (across the antimeridian): a query may
    /// meet such an item through two of its boxes.
    multi: usize,
}

impl<K: Clone + Eq + Hash, T> Layer<K, T> {
    fn new() -> Self {
        Layer {
            hot: Vec::new(),
            cold: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::with_hasher(FxBuild),
            tree: RTree::new_with_params(),
            multi: 0,
        }
    }

    /// Build from prepared items (later duplicates replace earlier ones).
    fn bulk(mut items: Vec<Slot<K, T>>) -> Self
    where
        K: Ord + Send + Sync,
    {
        // A later item with the same id replaces an earlier one.
        let mut ids: Vec<(K, u32)> = (0..items.len() as u32)
            .zip(items.iter())
            .map(|(k, s)| (s.id.clone(), k))
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0].0 == w[1].0) {
            let mut lose = vec![false; items.len()];
            for w in ids.windows(2) {
                if w[0].0 == w[1].0 {
                    lose[w[0].1 as usize] = true;
                }
            }
            let mut k = 0;
            items.retain(|_| {
                k += 1;
                !lose[k - 1]
            });
        }
        drop(ids);
        let multi = items
            .iter()
            .filter(|s| s.boxes.as_slice().len() > 1)
            .count();
        // Store items in spatial (Morton) order so that a query's candidates
        // sit close together in memory.
        items.sort_by_cached_key(|s| morton(&s.boxes.as_slice()[0]));
        let pairs: Vec<(K, u32)> = items
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i as u32))
            .collect();
        let mut entries = Vec::with_capacity(items.len());
        for (i, s) in items.iter().enumerate() {
            for b in s.boxes.as_slice() {
                entries.push(entry(b, i as u32));
            }
        }
        let build_map = move || {
            let mut m: HashMap<K, u32, FxBuild> =
                HashMap::with_capacity_and_hasher(pairs.len(), FxBuild);
            m.extend(pairs);
            m
        };
        // The id map and the R-tree are independent: build them side by side.
        let (by_id, tree) = if entries.len() > 50_000 {
            std::thread::scope(|sc| {
                let h = sc.spawn(build_map);
                let tree = RTree::bulk_load_with_params(entries);
                match h.join() {
                    Ok(m) => (m, tree),
                    Err(e) => std::panic::resume_unwind(e),
                }
            })
        } else {
            (build_map(), RTree::bulk_load_with_params(entries))
        };
        let (hot, cold) = items
            .into_iter()
            .map(|s| {
                let Slot {
                    id,
                    shape,
                    buffer_m,
                    boxes,
                    data,
                } = s;
                (
                    Some(Hot {
                        id,
                        shape,
                        buffer_m,
                    }),
                    Some(Cold { boxes, data }),
                )
            })
            .unzip();
        Layer {
            hot,
            cold,
            free: Vec::new(),
            by_id,
            tree,
            multi,
        }
    }

    fn remove(&mut self, id: &K) -> Option<T> {
        let i = self.by_id.remove(id)?;
        self.hot[i as usize].take()?;
        let cold = self.cold[i as usize].take()?;
        for b in cold.boxes.as_slice() {
            self.tree.remove(&entry(b, i));
        }
        if cold.boxes.as_slice().len() > 1 {
            self.multi -= 1;
        }
        self.free.push(i);
        Some(cold.data)
    }

    fn insert(&mut self, slot: Slot<K, T>) -> Option<T> {
        let old = self.remove(&slot.id);
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.hot.push(None);
                self.cold.push(None);
                (self.hot.len() - 1) as u32
            }
        };
        for b in slot.boxes.as_slice() {
            self.tree.insert(entry(b, i));
        }
        if slot.boxes.as_slice().len() > 1 {
            self.multi += 1;
        }
        self.by_id.insert(slot.id.clone(), i);
        self.hot[i as usize] = Some(Hot {
            id: slot.id,
            shape: slot.shape,
            buffer_m: slot.buffer_m,
        });
        self.cold[i as usize] = Some(Cold {
            boxes: slot.boxes,
            data: slot.data,
        });
        old
    }

    fn get(&self, id: &K) -> Option<&T> {
        let i = *self.by_id.get(id)?;
        self.cold[i as usize].as_ref().map(|c| &c.data)
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Slots whose boxes intersect any of `qboxes`, deduplicated: an item box
    /// is taken for the first query box it meets, so only items with several
    /// boxes (rare) need sorting out.
    fn candidates(&self, qboxes: &[AABB<[f64; 2]>], out: &mut Vec<u32>) {
        out.clear();
        if self.tree.size() == 0 {
            return;
        }
        let root = self.tree.root();
        for (k, env) in qboxes.iter().enumerate() {
            if root.envelope().intersects(env) {
                visit(root, env, &qboxes[..k], out);
            }
        }
        if self.multi > 0 {
            out.sort_unstable();
            out.dedup();
        }
    }

    fn hot(&self, i: u32) -> Option<&Hot<K>> {
        self.hot.get(i as usize).and_then(Option::as_ref)
    }

    fn slot(&self, i: u32) -> Option<(&Hot<K>, &T)> {
        let h = self.hot(i)?;
        let c = self.cold.get(i as usize).and_then(Option::as_ref)?;
        Some((h, &c.data))
    }
}

/// Depth-first search of the tree (a tight loop, faster than rstar's generic
/// iterator for the many-candidates case).
/// Leaves meeting an earlier query box (`seen`) were already taken.
fn visit(
    node: &ParentNode<Entry>,
    env: &AABB<[f64; 2]>,
    seen: &[AABB<[f64; 2]>],
    out: &mut Vec<u32>,
) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(e) => {
                let b = e.envelope();
                if b.intersects(env) && !seen.iter().any(|s| b.intersects(s)) {
                    out.push(e.data);
                }
            }
            RTreeNode::Parent(p) => {
                if p.envelope().intersects(env) {
                    visit(p, env, seen, out);
                }
            }
        }
    }
}

fn prepare<K, T>(
    id: K,
    geometry: impl Fn(&T) -> &crate::types::Geometry,
    buffer_m: f64,
    data: T,
) -> Result<Slot<K, T>, Problem> {
    let g = geometry(&data);
    let shape = Shape::new(g).ok_or(Problem::TooLarge { polygon: 0 })?;
    let boxes = match g {
        crate::types::Geometry::Point(p) => match point_bboxes(*p, buffer_m) {
            (b, 1) => Boxes::One(b[0]),
            (b, _) => Boxes::Many(Box::new(b)),
        },
        _ => Boxes::new(bboxes(g, buffer_m)),
    };
    Ok(Slot {
        id,
        shape,
        buffer_m,
        boxes,
        data,
    })
}

/// Maps `f` over `items` on every core, keeping their order; the error of the earliest
/// failing item wins, as if they had been mapped one after another.
fn par_map<T: Send, U: Send, E: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Result<U, E> + Sync,
) -> Result<Vec<U>, E> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 10_000 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    loop {
        let c: Vec<T> = rest.by_ref().take(per).collect();
        if c.is_empty() {
            break;
        }
        chunks.push(c);
    }
    let f = &f;
    let parts: Vec<Result<Vec<U>, E>> = std::thread::scope(|sc| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| sc.spawn(move || c.into_iter().map(f).collect::<Result<Vec<U>, E>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

fn site_geom<K>(s: &Site<K>) -> &crate::types::Geometry {
    &s.area.geometry
}
fn zone_geom<K>(z: &Zone<K>) -> &crate::types::Geometry {
    &z.geometry
}
fn act_geom<K>(a: &Activity<K>) -> &crate::types::Geometry {
    &a.area.geometry
}

/// Boxes to search for a query: one per segment for a line (a long diagonal
/// corridor's single box would be mostly empty), else the geometry's boxes.
fn query_boxes(g: &crate::types::Geometry, buffer_m: f64) -> Vec<BBox> {
    match g {
        crate::types::Geometry::LineString(l) if l.len() > 2 => l
            .windows(2)
            .flat_map(|w| bboxes(&crate::types::Geometry::LineString(w.to_vec()), buffer_m))
            .collect(),
        _ => bboxes(g, buffer_m),
    }
}

/// Which kind of item an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Site,
    Zone,
    Active,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::Site => "site",
            Category::Zone => "zone",
            Category::Active => "active notification",
        })
    }
}

/// An invalid item given to [`Engine::build`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{category} {id:?}: {problem}")]
pub struct BuildError<K: fmt::Debug> {
    pub category: Category,
    pub id: K,
    pub problem: Problem,
}

/// The conflict engine. `check` takes `&self`: share it behind a read lock
/// (or an `Arc`) and query from many threads.
pub struct Engine<K> {
    sites: Layer<K, Site<K>>,
    zones: Layer<K, Zone<K>>,
    actives: Layer<K, Activity<K>>,
}

impl<K: Clone + Eq + Hash + Ord + fmt::Debug + Send + Sync> Default for Engine<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + Ord + fmt::Debug + Send + Sync> Engine<K> {
    pub fn new() -> Self {
        Engine {
            sites: Layer::new(),
            zones: Layer::new(),
            actives: Layer::new(),
        }
    }

    /// Validate and index everything at once (bulk-loaded R-trees). A later
    /// item with the same id replaces an earlier one.
    pub fn build(
        sites: impl IntoIterator<Item = Site<K>>,
        zones: impl IntoIterator<Item = Zone<K>>,
        actives: impl IntoIterator<Item = Activity<K>>,
    ) -> Result<Self, BuildError<K>> {
        let err = |category, id: &K, problem| BuildError {
            category,
            id: id.clone(),
            problem,
        };
        // Validation and preparation (unit vectors, boxes, slabs) run on every core;
        // so do the three layers' bulk loads, side by side.
        let s = par_map(sites.into_iter().collect(), |site: Site<K>| {
            validate_site(&site).map_err(|p| err(Category::Site, &site.id, p))?;
            let (id, b) = (site.id.clone(), site.area.buffer_m);
            prepare(id.clone(), site_geom, b, site).map_err(|p| err(Category::Site, &id, p))
        })?;
        let z = par_map(zones.into_iter().collect(), |zone: Zone<K>| {
            validate_zone(&zone).map_err(|p| err(Category::Zone, &zone.id, p))?;
            let id = zone.id.clone();
            prepare(id.clone(), zone_geom, 0.0, zone).map_err(|p| err(Category::Zone, &id, p))
        })?;
        let a = par_map(actives.into_iter().collect(), |act: Activity<K>| {
            validate_activity(&act).map_err(|p| err(Category::Active, &act.id, p))?;
            let (id, b) = (act.id.clone(), act.area.buffer_m);
            prepare(id.clone(), act_geom, b, act).map_err(|p| err(Category::Active, &id, p))
        })?;
        let (sites, (zones, actives)) = std::thread::scope(|sc| {
            let rest = sc.spawn(move || (Layer::bulk(z), Layer::bulk(a)));
            let sites = Layer::bulk(s);
            match rest.join() {
                Ok(r) => (sites, r),
                Err(e) => std::panic::resume_unwind(e),
            }
        });
        Ok(Engine {
            sites,
            zones,
            actives,
        })
    }

    /// Add or replace a site; returns the replaced one.
    pub fn insert_site(&mut self, site: Site<K>) -> Result<Option<Site<K>>, Problem> {
        validate_site(&site)?;
        let b = site.area.buffer_m;
        let slot = prepare(site.id.clone(), site_geom, b, site)?;
        Ok(self.sites.insert(slot))
    }
    pub fn remove_site(&mut self, id: &K) -> Option<Site<K>> {
        self.sites.remove(id)
    }
    pub fn site(&self, id: &K) -> Option<&Site<K>> {
        self.sites.get(id)
    }

    /// Add or replace a zone; returns the replaced one.
    pub fn insert_zone(&mut self, zone: Zone<K>) -> Result<Option<Zone<K>>, Problem> {
        validate_zone(&zone)?;
        let slot = prepare(zone.id.clone(), zone_geom, 0.0, zone)?;
        Ok(self.zones.insert(slot))
    }
    pub fn remove_zone(&mut self, id: &K) -> Option<Zone<K>> {
        self.zones.remove(id)
    }
    pub fn zone(&self, id: &K) -> Option<&Zone<K>> {
        self.zones.get(id)
    }

    /// Add or replace an active notification; returns the replaced one.
    pub fn insert_active(&mut self, act: Activity<K>) -> Result<Option<Activity<K>>, Problem> {
        validate_activity(&act)?;
        let b = act.area.buffer_m;
        let slot = prepare(act.id.clone(), act_geom, b, act)?;
        Ok(self.actives.insert(slot))
    }
    pub fn remove_active(&mut self, id: &K) -> Option<Activity<K>> {
        self.actives.remove(id)
    }
    pub fn active(&self, id: &K) -> Option<&Activity<K>> {
        self.actives.get(id)
    }

    /// Numbers of sites, zones and active notifications.
    pub fn len(&self) -> (usize, usize, usize) {
        (self.sites.len(), self.zones.len(), self.actives.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0, 0)
    }

    /// Everything `act` conflicts with: sites within reach (distance ≤ site
    /// radius + activity buffer), zones it touches (with broken rules and
    /// severity), and other parties' actives overlapping in space (distance ≤
    /// sum of buffers), time (half-open) and altitude (closed). An active with
    /// the same id as `act` is skipped. Each list is sorted by id.
    pub fn check(&self, act: &Activity<K>) -> Result<Conflicts<K>, Problem> {
        validate_activity(act)?;
        let shape = Shape::new(&act.area.geometry).ok_or(Problem::TooLarge { polygon: 0 })?;
        let qboxes: Vec<AABB<[f64; 2]>> = query_boxes(&act.area.geometry, act.area.buffer_m)
            .iter()
            .map(|q| AABB::from_corners([q[0], q[1]], [q[2], q[3]]))
            .collect();
        let buf = act.area.buffer_m;
        let mut out = Conflicts::default();
        let mut cand = Vec::new();

        self.sites.candidates(&qboxes, &mut cand);
        for &i in &cand {
            let Some(s) = self.sites.hot(i) else {
                continue;
            };
            let thr = s.buffer_m + buf;
            if let Some(d) = within(&s.shape, &shape, thr) {
                out.sites.push(SiteHit {
                    id: s.id.clone(),
                    distance_m: d,
                    threshold_m: thr,
                });
            }
        }

        self.zones.candidates(&qboxes, &mut cand);
        for &i in &cand {
            let Some((z, zd)) = self.zones.slot(i) else {
                continue;
            };
            let thr = buf + z.buffer_m;
            if let Some(d) = within(&z.shape, &shape, thr) {
                let breaches = breaches(zd, act);
                let severity = (!breaches.is_empty()).then_some(match zd.status {
                    ZoneStatus::Agreed => Severity::Violation,
                    ZoneStatus::Proposed | ZoneStatus::Disputed => Severity::Warning,
                });
                out.zones.push(ZoneHit {
                    id: z.id.clone(),
                    distance_m: d,
                    threshold_m: thr,
                    breaches,
                    severity,
                    force_limits: zd.rules.force_limits.clone(),
                });
            }
        }

        self.actives.candidates(&qboxes, &mut cand);
        for &i in &cand {
            let Some((o, other)) = self.actives.slot(i) else {
                continue;
            };
            // The cheap tests first: most candidates are elsewhere in time.
            let Some(window) = other.window.overlap(&act.window) else {
                continue;
            };
            let Some(alt) = other.alt.overlap(&act.alt) else {
                continue;
            };
            if other.id == act.id || other.party == act.party {
                continue;
            }
            let thr = o.buffer_m + buf;
            if let Some(d) = within(&o.shape, &shape, thr) {
                out.actives.push(ActiveHit {
                    id: o.id.clone(),
                    party: other.party.clone(),
                    distance_m: d,
                    threshold_m: thr,
                    window,
                    alt,
                });
            }
        }
        out.sites.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        out.zones.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        out.actives.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// Geodesic distance between two areas' geometries (PostGIS geography
/// semantics: 0 when they intersect), ignoring buffers.
pub fn area_distance(a: &Area, b: &Area) -> Result<f64, Problem> {
    let sa = Shape::new(&a.geometry).ok_or(Problem::TooLarge { polygon: 0 })?;
    let sb = Shape::new(&b.geometry).ok_or(Problem::TooLarge { polygon: 0 })?;
    Ok(crate::sphere::distance(&sa, &sb))
}

/// Whether the applicable waivers of `zone` cover `act`'s whole window for `rule`.
fn waived<K>(zone: &Zone<K>, rule: Rule, act: &Activity<K>) -> bool {
    let mut ws: Vec<TimeWindow> = zone
        .waivers
        .iter()
        .filter(|w| w.rules.contains(&rule) && (w.kinds.is_empty() || w.kinds.contains(&act.kind)))
        .map(|w| w.window)
        .collect();
    ws.sort();
    let mut t = act.window.start;
    for w in ws {
        if w.start > t {
            break;
        }
        t = t.max(w.end);
        if t >= act.window.end {
            return true;
        }
    }
    t >= act.window.end
}

/// The rules of `zone` that `act` breaks, after waivers.
pub fn breaches<K>(zone: &Zone<K>, act: &Activity<K>) -> Vec<Breach> {
    let mut out = Vec::new();
    if zone.rules.prohibited_kinds.contains(&act.kind) && !waived(zone, Rule::ProhibitedKind, act) {
        out.push(Breach::ProhibitedKind {
            kind: act.kind.clone(),
        });
    }
    if let Some(limit) = zone.rules.altitude
        && !act.alt.within(&limit)
        && !waived(zone, Rule::Altitude, act)
    {
        out.push(Breach::Altitude {
            activity: act.alt,
            limit,
        });
    }
    out
}
