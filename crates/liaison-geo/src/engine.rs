//! The deconfliction engine: sites, zones and active notifications in R-trees
//! of (antimeridian-split) bounding boxes, each box expanded by the item's own
//! buffer; a query expands its own boxes by its buffer, so two items can be
//! within the sum of their buffers only if some boxes intersect. Candidates are
//! then refined exactly (see [`crate::sphere`]).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, ParentNode, RStarInsertionStrategy, RTree, RTreeNode, RTreeObject, RTreeParams};

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

/// Position of `(x, y)` (each in `0..2^16`) along a Hilbert curve: items close on
/// the curve are close on the ground, so runs of it make tight tree nodes.
fn hilbert(mut x: u32, mut y: u32) -> u64 {
    const N: u32 = 1 << 16;
    let mut d = 0u64;
    let mut s = N / 2;
    while s > 0 {
        let rx = u32::from(x & s != 0);
        let ry = u32::from(y & s != 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = N - 1 - x;
                y = N - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// Hilbert keys of box centres, on a 2^16 grid over the centres' own extent.
fn hilbert_keys(boxes: impl Iterator<Item = BBox> + Clone) -> Vec<u64> {
    let centre = |b: &BBox| ((b[0] + b[2]) * 0.5, (b[1] + b[3]) * 0.5);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for b in boxes.clone() {
        let (x, y) = centre(&b);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let cell = |v: f64, lo: f64, hi: f64| {
        if hi > lo {
            (((v - lo) / (hi - lo)) * 65535.0).clamp(0.0, 65535.0) as u32
        } else {
            0
        }
    };
    boxes
        .map(|b| {
            let (x, y) = centre(&b);
            hilbert(cell(x, x0, x1), cell(y, y0, y1))
        })
        .collect()
}

#[inline]
fn meets(a: &BBox, b: &BBox) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// Children per node of the packed tree.
const FANOUT: usize = 16;

/// Items outside the packed tree (or empty slots in it) that never call for a repack.
const REPACK_MIN: usize = 1024;

/// Slots made for a layer of `n` packed items: twice what it can take before it is
/// due for a repack (`REPACK_MIN`, or an eighth), so that no insert until then, nor a
/// group commit's worth after it, grows its arrays or its id map (a copy or rehash
/// of a million entries, under the caller's exclusive borrow). Capacity not used
/// costs address space, not memory: pages are mapped when first written.
fn room(n: usize) -> usize {
    n + 2 * REPACK_MIN.max(n / 8)
}

/// `n` empty slots, with `room` for more.
fn empty_slots<X>(n: usize) -> Vec<Option<X>> {
    let mut v = Vec::with_capacity(room(n));
    v.resize_with(n, || None);
    v
}

/// A box in single precision, rounded outwards: it contains the box it was made
/// from, so that it meets every box that one meets (and a few more, within a metre
/// or two, which the exact test then drops). Half the memory of a `BBox`: a node's
/// sixteen children are four cache lines.
type Box32 = [f32; 4];

/// The largest `f32` not above `x`.
fn down(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) <= x || f.is_nan() || f == f32::NEG_INFINITY {
        f
    } else if f == 0.0 {
        -f32::from_bits(1)
    } else if f > 0.0 {
        f32::from_bits(f.to_bits() - 1)
    } else {
        f32::from_bits(f.to_bits() + 1)
    }
}

/// The smallest `f32` not below `x`.
fn up(x: f64) -> f32 {
    -down(-x)
}

fn narrow(b: &BBox) -> Box32 {
    [down(b[0]), down(b[1]), up(b[2]), up(b[3])]
}

#[inline]
fn meets32(a: &Box32, b: &Box32) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// A static R-tree packed bottom-up from boxes in Hilbert order (built in linear
/// time after the sort, no pointers): `levels[0]` holds the leaves, leaf `i` being
/// slot `i`; node `j` of level `k + 1` bounds nodes `j * FANOUT ..` of level `k`;
/// the top level has at most `FANOUT` nodes.
#[derive(Default)]
struct Packed {
    levels: Vec<Level>,
}

/// One level's boxes, a coordinate per array: a node's sixteen children are tested
/// against a query box at once, without a branch per child.
struct Level {
    lo_x: Vec<f32>,
    lo_y: Vec<f32>,
    hi_x: Vec<f32>,
    hi_y: Vec<f32>,
}

impl Level {
    fn new(boxes: &[Box32]) -> Level {
        let coord = |k: usize| boxes.iter().map(|b| b[k]).collect();
        Level {
            lo_x: coord(0),
            lo_y: coord(1),
            hi_x: coord(2),
            hi_y: coord(3),
        }
    }

    fn len(&self) -> usize {
        self.lo_x.len()
    }

    fn bbox(&self, i: usize) -> Box32 {
        [self.lo_x[i], self.lo_y[i], self.hi_x[i], self.hi_y[i]]
    }

    /// Bit `j` set when box `from + j` (of at most `FANOUT`) meets `e`.
    fn meeting(&self, from: usize, to: usize, e: &Box32) -> u32 {
        let (a, b) = (&self.lo_x[from..to], &self.lo_y[from..to]);
        let (c, d) = (&self.hi_x[from..to], &self.hi_y[from..to]);
        let test = |j: usize| {
            u32::from((a[j] <= e[2]) & (e[0] <= c[j]) & (b[j] <= e[3]) & (e[1] <= d[j])) << j
        };
        // A whole node in a loop of constant length, which the compiler unrolls into
        // vector compares; the last node of a level may be shorter.
        if to - from == FANOUT {
            (0..FANOUT).fold(0, |m, j| m | test(j))
        } else {
            (0..to - from).fold(0, |m, j| m | test(j))
        }
    }
}

impl Packed {
    fn new(leaves: Vec<BBox>) -> Packed {
        if leaves.is_empty() {
            return Packed::default();
        }
        let mut levels = vec![leaves.iter().map(narrow).collect::<Vec<Box32>>()];
        drop(leaves);
        while let Some(below) = levels.last().filter(|l| l.len() > FANOUT) {
            let up = below
                .chunks(FANOUT)
                .map(|c| {
                    c.iter().fold(c[0], |u, b| {
                        [
                            u[0].min(b[0]),
                            u[1].min(b[1]),
                            u[2].max(b[2]),
                            u[3].max(b[3]),
                        ]
                    })
                })
                .collect();
            levels.push(up);
        }
        Packed {
            levels: levels.iter().map(|l| Level::new(l)).collect(),
        }
    }

    fn len(&self) -> usize {
        self.levels.first().map_or(0, Level::len)
    }

    /// Pushes the leaves meeting `env` but none of `seen` (boxes `narrow`ed).
    fn search(&self, env: &Box32, seen: &[Box32], out: &mut Vec<u32>) {
        if let Some(top) = self.levels.last() {
            self.visit(self.levels.len() - 1, 0, top.len(), env, seen, out);
        }
    }

    /// Visits nodes `from..to` (at most `FANOUT`) of `level`.
    fn visit(
        &self,
        level: usize,
        from: usize,
        to: usize,
        env: &Box32,
        seen: &[Box32],
        out: &mut Vec<u32>,
    ) {
        let l = &self.levels[level];
        let mut m = l.meeting(from, to, env);
        while m != 0 {
            let i = from + m.trailing_zeros() as usize;
            m &= m - 1;
            if level == 0 {
                let b = l.bbox(i);
                if !seen.iter().any(|s| meets32(&b, s)) {
                    out.push(i as u32);
                }
            } else {
                let lo = i * FANOUT;
                let below = self.levels[level - 1].len();
                self.visit(level - 1, lo, (lo + FANOUT).min(below), env, seen, out);
            }
        }
    }
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

/// The item first (`repr(C)`): a site's label, at the start of its entry, then
/// rarely straddles two cache lines.
#[repr(C)]
struct Cold<T> {
    data: T,
    boxes: Boxes,
}

/// One category of items with its indexes: the items given at build time in a
/// packed tree (slot `i` is leaf `i`), those inserted since in an R-tree. A removed
/// packed item leaves its leaf behind, pointing at an empty slot that is skipped and
/// never reused.
struct Layer<K, T> {
    hot: Vec<Option<Hot<K>>>,
    cold: Vec<Option<Cold<T>>>,
    free: Vec<u32>,
    by_id: HashMap<K, u32, FxBuild>,
    packed: Packed,
    /// Boxes of items inserted after the build, and the second boxes of packed
    /// items that have several.
    tree: Tree,
    /// Items with more than one box (across the antimeridian): a query may
    /// meet such an item through two of its boxes.
    multi: usize,
    /// Empty slots of the packed tree (its removed items).
    dead: usize,
    /// Inserts and removals leave repacking to the caller ([`Layer::plan`] and
    /// [`Layer::put`]) instead of repacking in line.
    deferred: bool,
    /// Counts changes: a plan made of another version is refused.
    version: u64,
}

/// A layer's repack computed under a shared borrow, beside its queries
/// ([`Layer::plan`]): the live slots in Hilbert order, the indexes over that order,
/// and the new slot arrays, allocated and written once, for [`Layer::put`] to move
/// the items into.
struct Plan<K, T> {
    version: u64,
    /// New slot `j` takes the item of old slot `order[j]`.
    order: Vec<u32>,
    hot: Vec<Option<Hot<K>>>,
    cold: Vec<Option<Cold<T>>>,
    /// Taken when the plan is put in place.
    indexes: Option<Indexes<K>>,
    /// The layer as it was before the plan was put in place.
    spent: Option<Layer<K, T>>,
}

/// The indexes over a layer's slots.
struct Indexes<K> {
    by_id: HashMap<K, u32, FxBuild>,
    packed: Packed,
    tree: Tree,
    multi: usize,
}

/// The indexes over `n` slots, slot `j` holding the item `id(j)` with the boxes
/// `boxes(j)` (none, for an empty slot): the packed tree of the first boxes (an empty
/// slot's leaf is never a candidate), the R-tree of the others (an item across the
/// antimeridian has two), the id map.
fn indexes<'a, K>(
    n: usize,
    id: impl Fn(usize) -> Option<&'a K> + Sync,
    boxes: impl Fn(usize) -> &'a [BBox] + Sync,
) -> Indexes<K>
where
    K: 'a + Clone + Eq + Hash + Send + Sync,
{
    let leaves: Vec<BBox> = (0..n)
        .map(|j| boxes(j).first().copied().unwrap_or([0.0; 4]))
        .collect();
    let extra: Vec<Entry> = (0..n)
        .flat_map(|j| boxes(j).iter().skip(1).map(move |b| entry(b, j as u32)))
        .collect();
    let multi = (0..n).filter(|&j| boxes(j).len() > 1).count();
    // The id map and the packed tree are independent: build them side by side.
    let build_map = || {
        let mut m: HashMap<K, u32, FxBuild> = HashMap::with_capacity_and_hasher(room(n), FxBuild);
        m.extend((0..n).filter_map(|j| Some((id(j)?.clone(), j as u32))));
        m
    };
    let (by_id, packed) = if n > 50_000 {
        std::thread::scope(|sc| {
            let h = sc.spawn(build_map);
            let packed = Packed::new(leaves);
            match h.join() {
                Ok(m) => (m, packed),
                Err(e) => std::panic::resume_unwind(e),
            }
        })
    } else {
        (build_map(), Packed::new(leaves))
    };
    Indexes {
        by_id,
        packed,
        tree: RTree::bulk_load_with_params(extra),
        multi,
    }
}

impl<K: Clone + Eq + Hash, T> Layer<K, T> {
    fn new() -> Self {
        Layer {
            hot: Vec::new(),
            cold: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::with_hasher(FxBuild),
            packed: Packed::default(),
            tree: RTree::new_with_params(),
            multi: 0,
            dead: 0,
            deferred: false,
            version: 0,
        }
    }

    /// Validates, prepares and indexes `items` (a later item with the same id
    /// replaces an earlier one) on every core. Items are put in Hilbert order first,
    /// then prepared straight into their slots, so that a million of them are moved
    /// as few times as possible. On invalid items, the error of the earliest in
    /// `items` is returned, as if they had been inserted one after another.
    fn build(
        mut items: Vec<T>,
        item: &(impl Fn(&T) -> (&K, &crate::types::Geometry) + Sync),
        prep: &(impl Fn(T) -> Result<Slot<K, T>, (K, Problem)> + Sync),
        check: &(impl Fn(&T) -> Result<(), Problem> + Sync),
    ) -> Result<Self, (K, Problem)>
    where
        K: Ord + Send + Sync,
        T: Send + Sync,
    {
        // Positions in `items` (before duplicates are dropped) of the invalid items.
        let mut failed: Option<(usize, K, Problem)> = None;
        let mut fail = |at: usize, id: K, p: Problem| {
            if failed.as_ref().is_none_or(|f| at < f.0) {
                failed = Some((at, id, p));
            }
        };
        // Positions in `items` of the items kept.
        let mut at: Vec<u32> = (0..items.len() as u32).collect();
        let mut ids: Vec<(&K, u32)> = items.iter().map(|t| item(t).0).zip(0u32..).collect();
        ids.sort_unstable();
        let mut lose = vec![false; items.len()];
        let mut lost = false;
        for w in ids.windows(2) {
            if w[0].0 == w[1].0 {
                lose[w[0].1 as usize] = true;
                lost = true;
            }
        }
        drop(ids);
        if lost {
            // A replaced item must still have been valid (rare: check it here).
            for (k, t) in items.iter().enumerate() {
                if lose[k]
                    && let Err(p) = check(t)
                {
                    fail(k, item(t).0.clone(), p);
                }
            }
            let mut k = 0;
            items.retain(|_| {
                k += 1;
                !lose[k - 1]
            });
            let mut k = 0;
            at.retain(|_| {
                k += 1;
                !lose[k - 1]
            });
        }
        drop(lose);
        // Hilbert order of the geometries' centres: the packed tree's leaves are the
        // slots themselves, and a query's candidates sit close together in memory.
        let mut order: Vec<(u64, u32)> = hilbert_keys(items.iter().map(|t| rough_box(item(t).1)))
            .into_iter()
            .zip(0u32..)
            .collect();
        order.sort_unstable();
        let at: Vec<u32> = order.iter().map(|&(_, i)| at[i as usize]).collect();
        let mut src: Vec<Option<T>> = items.into_iter().map(Some).collect();
        let mut src: Vec<Option<T>> = order.iter().map(|&(_, i)| src[i as usize].take()).collect();
        drop(order);
        let n = src.len();
        let mut hot: Vec<Option<Hot<K>>> = empty_slots(n);
        let mut cold: Vec<Option<Cold<T>>> = empty_slots(n);
        let threads = if n < 10_000 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let per = n.div_ceil(threads).max(1);
        let fill = |src: &mut [Option<T>],
                    hot: &mut [Option<Hot<K>>],
                    cold: &mut [Option<Cold<T>>],
                    at: &[u32]| {
            let mut first: Option<(usize, K, Problem)> = None;
            for (j, t) in src.iter_mut().enumerate() {
                let Some(t) = t.take() else { continue };
                match prep(t) {
                    Ok(s) => {
                        hot[j] = Some(Hot {
                            id: s.id,
                            shape: s.shape,
                            buffer_m: s.buffer_m,
                        });
                        cold[j] = Some(Cold {
                            boxes: s.boxes,
                            data: s.data,
                        });
                    }
                    Err((id, p)) => {
                        let k = at[j] as usize;
                        if first.as_ref().is_none_or(|f| k < f.0) {
                            first = Some((k, id, p));
                        }
                    }
                }
            }
            first
        };
        let firsts: Vec<Option<(usize, K, Problem)>> = std::thread::scope(|sc| {
            let hs: Vec<_> = src
                .chunks_mut(per)
                .zip(hot.chunks_mut(per))
                .zip(cold.chunks_mut(per))
                .zip(at.chunks(per))
                .map(|(((s, h), c), a)| {
                    let fill = &fill;
                    sc.spawn(move || fill(s, h, c, a))
                })
                .collect();
            crate::join_all(hs)
        });
        drop(src);
        for (k, id, p) in firsts.into_iter().flatten() {
            fail(k, id, p);
        }
        if let Some((_, id, p)) = failed {
            return Err((id, p));
        }
        Ok(Layer::index(hot, cold))
    }

    /// Indexes items already in their slots (in Hilbert order): slot `i` is leaf `i`
    /// of the packed tree; items' second boxes (across the antimeridian) go to the
    /// R-tree. The slot arrays come with `room` for the next items (`empty_slots`).
    fn index(hot: Vec<Option<Hot<K>>>, cold: Vec<Option<Cold<T>>>) -> Self
    where
        K: Send + Sync,
        T: Send + Sync,
    {
        let ix = indexes(
            hot.len(),
            |j| hot[j].as_ref().map(|h| &h.id),
            |j| cold[j].as_ref().map_or(&[][..], |c| c.boxes.as_slice()),
        );
        Layer::with(hot, cold, ix)
    }

    fn with(hot: Vec<Option<Hot<K>>>, cold: Vec<Option<Cold<T>>>, ix: Indexes<K>) -> Self {
        Layer {
            hot,
            cold,
            free: Vec::new(),
            by_id: ix.by_id,
            packed: ix.packed,
            tree: ix.tree,
            multi: ix.multi,
            dead: 0,
            deferred: false,
            version: 0,
        }
    }

    /// Puts every item in the packed tree again, in Hilbert order: those inserted
    /// since (in the R-tree) with the others, removed items' empty slots dropped.
    /// Items keep their preparation: only boxes are sorted and indexed.
    fn repack(&mut self)
    where
        K: Send + Sync,
        T: Send + Sync,
    {
        let mut plan = self.plan();
        let put = self.put(&mut plan);
        debug_assert!(put, "a plan of the layer as it is");
    }

    /// Plans a repack without changing anything: the live slots in Hilbert order and
    /// every index over them (all of a repack's work but the items' moves).
    fn plan(&self) -> Plan<K, T>
    where
        K: Send + Sync,
        T: Send + Sync,
    {
        let (hot, cold) = (&self.hot, &self.cold);
        let live: Vec<u32> = (0..hot.len() as u32)
            .filter(|&j| hot[j as usize].is_some() && cold[j as usize].is_some())
            .collect();
        let boxes = |j: u32| {
            cold[j as usize]
                .as_ref()
                .map_or(&[][..], |c| c.boxes.as_slice())
        };
        let keys = hilbert_keys(
            live.iter()
                .map(|&j| boxes(j).first().copied().unwrap_or([0.0; 4])),
        );
        let mut keyed: Vec<(u64, u32)> = keys.into_iter().zip(live).collect();
        keyed.sort_unstable();
        let order: Vec<u32> = keyed.into_iter().map(|(_, j)| j).collect();
        let ix = indexes(
            order.len(),
            |k| hot[order[k] as usize].as_ref().map(|h| &h.id),
            |k| boxes(order[k]),
        );
        // Written here, so that the moves into them find their pages mapped.
        let n = order.len();
        Plan {
            version: self.version,
            hot: empty_slots(n),
            cold: empty_slots(n),
            order,
            indexes: Some(ix),
            spent: None,
        }
    }

    /// Moves the items into the order `plan` made and puts its indexes in place; the
    /// plan keeps what they replace, for the caller to free when it likes. Refuses
    /// (false) a plan made of another version of the layer, or used already.
    fn put(&mut self, plan: &mut Plan<K, T>) -> bool {
        let Some(indexes) = plan
            .indexes
            .take_if(|_| plan.version == self.version && plan.spent.is_none())
        else {
            return false;
        };
        let (mut hot, mut cold) = (
            std::mem::take(&mut plan.hot),
            std::mem::take(&mut plan.cold),
        );
        for (j, &o) in plan.order.iter().enumerate() {
            hot[j] = self.hot[o as usize].take();
            cold[j] = self.cold[o as usize].take();
        }
        let mut new = Layer::with(hot, cold, indexes);
        new.deferred = self.deferred;
        new.version = self.version + 1;
        plan.spent = Some(std::mem::replace(self, new));
        true
    }

    /// Whether the items outside the packed tree, or the packed tree's empty slots,
    /// are more than an eighth of it (and than `REPACK_MIN`).
    fn due(&self) -> bool {
        let packed = self.packed.len();
        let outside = self.hot.len() - packed;
        outside.max(self.dead) > REPACK_MIN.max(packed / 8)
    }

    /// Repacks once the items outside the packed tree, or the packed tree's empty
    /// slots, are more than an eighth of it (and than `REPACK_MIN`): queries stay on
    /// the packed tree (twice as fast as the R-tree on a million sites), at a cost
    /// per insert or removal that stays constant on average.
    fn maybe_repack(&mut self)
    where
        K: Send + Sync,
        T: Send + Sync,
    {
        if !self.deferred && self.due() {
            self.repack();
        }
    }

    fn remove(&mut self, id: &K) -> Option<T>
    where
        K: Send + Sync,
        T: Send + Sync,
    {
        let t = self.unlink(id)?;
        self.maybe_repack();
        Some(t)
    }

    fn unlink(&mut self, id: &K) -> Option<T> {
        let i = self.by_id.remove(id)?;
        self.version += 1;
        self.hot[i as usize].take()?;
        let cold = self.cold[i as usize].take()?;
        let packed = (i as usize) < self.packed.len();
        // A packed item's first box stays in the packed tree (its slot is now empty).
        for b in &cold.boxes.as_slice()[usize::from(packed)..] {
            self.tree.remove(&entry(b, i));
        }
        if cold.boxes.as_slice().len() > 1 {
            self.multi -= 1;
        }
        if packed {
            self.dead += 1;
        } else {
            self.free.push(i);
        }
        Some(cold.data)
    }

    fn insert(&mut self, slot: Slot<K, T>) -> Option<T>
    where
        K: Send + Sync,
        T: Send + Sync,
    {
        let old = self.unlink(&slot.id);
        self.version += 1;
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
        self.maybe_repack();
        old
    }

    fn get(&self, id: &K) -> Option<&T> {
        let i = *self.by_id.get(id)?;
        self.cold[i as usize].as_ref().map(|c| &c.data)
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Slots whose boxes intersect any of `qboxes` (`q32`: the same, `narrow`ed,
    /// for the packed tree), deduplicated: an item box is taken for the first
    /// query box it meets, so only items with several boxes (rare) need sorting
    /// out. Slots may be empty (removed packed items).
    fn candidates(&self, qboxes: &[BBox], q32: &[Box32], out: &mut Vec<u32>) {
        out.clear();
        if self.packed.len() > 0 {
            for (k, env) in q32.iter().enumerate() {
                self.packed.search(env, &q32[..k], out);
            }
        }
        if self.tree.size() > 0 {
            let root = self.tree.root();
            for (k, env) in qboxes.iter().enumerate() {
                if meets(&corners(root.envelope()), env) {
                    visit(root, env, &qboxes[..k], out);
                }
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

fn corners(e: AABB<[f64; 2]>) -> BBox {
    let (lo, hi) = (e.lower(), e.upper());
    [lo[0], lo[1], hi[0], hi[1]]
}

/// Depth-first search of the R-tree (a tight loop, faster than rstar's generic
/// iterator for the many-candidates case).
/// Leaves meeting an earlier query box (`seen`) were already taken.
fn visit(node: &ParentNode<Entry>, env: &BBox, seen: &[BBox], out: &mut Vec<u32>) {
    for child in node.children() {
        match child {
            RTreeNode::Leaf(e) => {
                let b = corners(e.envelope());
                if meets(&b, env) && !seen.iter().any(|s| meets(&b, s)) {
                    out.push(e.data);
                }
            }
            RTreeNode::Parent(p) => {
                if meets(&corners(p.envelope()), env) {
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

/// A box around a geometry's vertices (in plain longitude and latitude): enough to
/// order items along the Hilbert curve.
fn rough_box(g: &crate::types::Geometry) -> BBox {
    use crate::types::Geometry;
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut add = |ps: &[crate::types::LonLat]| {
        for p in ps {
            b = [
                b[0].min(p.lon),
                b[1].min(p.lat),
                b[2].max(p.lon),
                b[3].max(p.lat),
            ];
        }
    };
    match g {
        Geometry::Point(p) => add(std::slice::from_ref(p)),
        Geometry::LineString(l) => add(l),
        Geometry::Polygon(p) => add(&p.exterior),
        Geometry::MultiPolygon(ps) => ps.iter().for_each(|p| add(&p.exterior)),
    }
    if b[0] > b[2] { [0.0; 4] } else { b }
}

fn site_key<K, L>(s: &Labelled<K, L>) -> (&K, &crate::types::Geometry) {
    (&s.site.id, &s.site.area.geometry)
}
fn zone_key<K>(z: &Zone<K>) -> (&K, &crate::types::Geometry) {
    (&z.id, &z.geometry)
}
fn act_key<K>(a: &Activity<K>) -> (&K, &crate::types::Geometry) {
    (&a.id, &a.area.geometry)
}
fn site_geom<K, L>(s: &Labelled<K, L>) -> &crate::types::Geometry {
    &s.site.area.geometry
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

/// A site as its layer keeps it, with its caller's label (`()` for none): kept
/// beside the site's other data, so that it moves with the site through inserts,
/// replacements and repacks, and the caller keeps no table of its own. The label
/// comes first (`repr(C)`, as for [`Cold`]): a hit's label is read without the rest.
#[repr(C)]
struct Labelled<K, L> {
    label: L,
    site: Site<K>,
}

/// The conflict engine. `check` takes `&self`: share it behind a read lock
/// (or an `Arc`) and query from many threads. Each site may carry a label of type
/// `L` (what a caller names its hits by), read back with [`Engine::check_labelled`].
pub struct Engine<K, L = ()> {
    sites: Layer<K, Labelled<K, L>>,
    zones: Layer<K, Zone<K>>,
    actives: Layer<K, Activity<K>>,
}

/// A repack of an engine's layers, planned under a shared borrow
/// ([`Engine::plan_repack`]) for [`Engine::repack`] to put in place.
pub struct Repack<K, L = ()> {
    sites: Option<Plan<K, Labelled<K, L>>>,
    zones: Option<Plan<K, Zone<K>>>,
    actives: Option<Plan<K, Activity<K>>>,
}

impl<K, L> Repack<K, L> {
    /// Items the repack puts in order.
    pub fn len(&self) -> usize {
        self.sites.as_ref().map_or(0, |p| p.order.len())
            + self.zones.as_ref().map_or(0, |p| p.order.len())
            + self.actives.as_ref().map_or(0, |p| p.order.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Clone + Eq + Hash + Ord + fmt::Debug + Send + Sync> Default for Engine<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + Ord + fmt::Debug + Send + Sync> Engine<K> {
    pub fn new() -> Self {
        Self::labelled()
    }

    /// Validate and index everything at once (bulk-loaded R-trees). A later
    /// item with the same id replaces an earlier one.
    pub fn build(
        sites: impl IntoIterator<Item = Site<K>>,
        zones: impl IntoIterator<Item = Zone<K>>,
        actives: impl IntoIterator<Item = Activity<K>>,
    ) -> Result<Self, BuildError<K>> {
        Self::build_labelled(sites.into_iter().map(|s| (s, ())), zones, actives)
    }

    /// Add or replace a site; returns the replaced one.
    pub fn insert_site(&mut self, site: Site<K>) -> Result<Option<Site<K>>, Problem> {
        self.insert_labelled_site(site, ())
    }
}

impl<K: Clone + Eq + Hash + Ord + fmt::Debug + Send + Sync, L: Send + Sync> Engine<K, L> {
    /// An empty engine whose sites carry labels.
    pub fn labelled() -> Self {
        Engine {
            sites: Layer::new(),
            zones: Layer::new(),
            actives: Layer::new(),
        }
    }

    /// [`Engine::build`], each site with its label.
    pub fn build_labelled(
        sites: impl IntoIterator<Item = (Site<K>, L)>,
        zones: impl IntoIterator<Item = Zone<K>>,
        actives: impl IntoIterator<Item = Activity<K>>,
    ) -> Result<Self, BuildError<K>> {
        let err = |category| {
            move |(id, problem): (K, Problem)| BuildError {
                category,
                id,
                problem,
            }
        };
        let sites: Vec<Labelled<K, L>> = sites
            .into_iter()
            .map(|(site, label)| Labelled { site, label })
            .collect();
        let zones: Vec<Zone<K>> = zones.into_iter().collect();
        let actives: Vec<Activity<K>> = actives.into_iter().collect();
        let check_site = |s: &Labelled<K, L>| validate_site(&s.site);
        let prep_site = |s: Labelled<K, L>| {
            let id = s.site.id.clone();
            validate_site(&s.site).map_err(|p| (id.clone(), p))?;
            let b = s.site.area.buffer_m;
            prepare(id.clone(), site_geom, b, s).map_err(|p| (id, p))
        };
        let prep_zone = |zone: Zone<K>| {
            let id = zone.id.clone();
            validate_zone(&zone).map_err(|p| (id.clone(), p))?;
            prepare(id.clone(), zone_geom, 0.0, zone).map_err(|p| (id, p))
        };
        let prep_act = |a: Activity<K>| {
            let id = a.id.clone();
            validate_activity(&a).map_err(|p| (id.clone(), p))?;
            let b = a.area.buffer_m;
            prepare(id.clone(), act_geom, b, a).map_err(|p| (id, p))
        };
        // The sites (by far the most) beside the zones and the actives; each layer
        // also prepares its items on every core.
        let (sites, (zones, actives)) = std::thread::scope(|sc| {
            let rest = sc.spawn(|| {
                (
                    Layer::build(zones, &zone_key, &prep_zone, &validate_zone),
                    Layer::build(actives, &act_key, &prep_act, &validate_activity),
                )
            });
            let sites = Layer::build(sites, &site_key, &prep_site, &check_site);
            match rest.join() {
                Ok(r) => (sites, r),
                Err(e) => std::panic::resume_unwind(e),
            }
        });
        let sites = sites.map_err(err(Category::Site))?;
        let zones = zones.map_err(err(Category::Zone))?;
        let actives = actives.map_err(err(Category::Active))?;
        Ok(Engine {
            sites,
            zones,
            actives,
        })
    }

    /// Leaves repacking to the caller from now on: inserts and removals no longer
    /// repack a layer themselves (which takes the engine's exclusive borrow for the
    /// whole repack, some 150 ms at a million sites); [`Engine::plan_repack`] does
    /// the work under a shared borrow, beside the checks, and [`Engine::repack`]
    /// only moves the items into place. Until then a layer's new items are found
    /// through its R-tree, more slowly but as surely.
    pub fn defer_repacks(&mut self) {
        self.sites.deferred = true;
        self.zones.deferred = true;
        self.actives.deferred = true;
    }

    /// Plans the repack of every layer that is due for one (see [`Engine::defer_repacks`]);
    /// `None` when none is.
    pub fn plan_repack(&self) -> Option<Repack<K, L>> {
        let r = Repack {
            sites: self.sites.due().then(|| self.sites.plan()),
            zones: self.zones.due().then(|| self.zones.plan()),
            actives: self.actives.due().then(|| self.actives.plan()),
        };
        (r.sites.is_some() || r.zones.is_some() || r.actives.is_some()).then_some(r)
    }

    /// Puts a planned repack in place: the items' moves and the indexes' swap. The
    /// plan then holds the indexes and arrays it replaced: drop it once the
    /// exclusive borrow is over, and they are freed outside it. A layer changed since
    /// the plan was made is left as it is, to be planned again; returns whether every
    /// planned layer was repacked.
    pub fn repack(&mut self, plan: &mut Repack<K, L>) -> bool {
        let put = |done: Option<bool>| done.unwrap_or(true);
        let sites = put(plan.sites.as_mut().map(|p| self.sites.put(p)));
        let zones = put(plan.zones.as_mut().map(|p| self.zones.put(p)));
        let actives = put(plan.actives.as_mut().map(|p| self.actives.put(p)));
        sites && zones && actives
    }

    /// Add or replace a site with its label; returns the replaced site.
    pub fn insert_labelled_site(
        &mut self,
        site: Site<K>,
        label: L,
    ) -> Result<Option<Site<K>>, Problem> {
        validate_site(&site)?;
        let b = site.area.buffer_m;
        let slot = prepare(site.id.clone(), site_geom, b, Labelled { site, label })?;
        Ok(self.sites.insert(slot).map(|s| s.site))
    }
    pub fn remove_site(&mut self, id: &K) -> Option<Site<K>> {
        self.sites.remove(id).map(|s| s.site)
    }
    pub fn site(&self, id: &K) -> Option<&Site<K>> {
        self.sites.get(id).map(|s| &s.site)
    }
    pub fn site_label(&self, id: &K) -> Option<&L> {
        self.sites.get(id).map(|s| &s.label)
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
        Ok(self.check_slots(act)?.0)
    }

    /// [`Engine::check`], with the label of each site hit, in the hits' order (every
    /// hit's site has one: `Option` only because a slot is looked up).
    #[allow(clippy::type_complexity)]
    pub fn check_labelled(
        &self,
        act: &Activity<K>,
    ) -> Result<(Conflicts<K>, Vec<Option<&L>>), Problem> {
        let (found, slots) = self.check_slots(act)?;
        let labels = slots
            .iter()
            .map(|&i| self.sites.slot(i).map(|(_, s)| &s.label))
            .collect();
        Ok((found, labels))
    }

    /// The check, with the slot of each site hit, in the hits' order.
    fn check_slots(&self, act: &Activity<K>) -> Result<(Conflicts<K>, Vec<u32>), Problem> {
        validate_activity(act)?;
        let shape = Shape::new(&act.area.geometry).ok_or(Problem::TooLarge { polygon: 0 })?;
        let qboxes = query_boxes(&act.area.geometry, act.area.buffer_m);
        let q32: Vec<Box32> = qboxes.iter().map(narrow).collect();
        let buf = act.area.buffer_m;
        let mut out = Conflicts::default();
        let mut cand = Vec::new();
        let mut sites = Vec::new();

        self.sites.candidates(&qboxes, &q32, &mut cand);
        for &i in &cand {
            let Some(s) = self.sites.hot(i) else {
                continue;
            };
            let thr = s.buffer_m + buf;
            if let Some(d) = within(&s.shape, &shape, thr) {
                let hit = SiteHit {
                    id: s.id.clone(),
                    distance_m: d,
                    threshold_m: thr,
                };
                sites.push((hit, i));
            }
        }

        self.zones.candidates(&qboxes, &q32, &mut cand);
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

        self.actives.candidates(&qboxes, &q32, &mut cand);
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
        sites.sort_unstable_by(|a, b| a.0.id.cmp(&b.0.id));
        let (hits, slots) = sites.into_iter().unzip();
        out.sites = hits;
        out.zones.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        out.actives.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok((out, slots))
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

#[cfg(test)]
mod tests {
    use super::{down, narrow, up};
    use proptest::prelude::*;

    proptest! {
        /// Single-precision boxes contain the boxes they come from, and are the
        /// tightest that do.
        #[test]
        fn narrowed_boxes_round_outwards(
            x in prop_oneof![-180.0f64..180.0, any::<f64>(), (-1e-40f64..1e-40)],
            y in -90.0f64..90.0,
        ) {
            let (d, u) = (down(x), up(x));
            if !x.is_nan() {
                prop_assert!(f64::from(d) <= x && x <= f64::from(u));
                if x.is_finite() && x.abs() < f64::from(f32::MAX) {
                    prop_assert!(f64::from(d) == x || (f64::from(d) < x && f64::from(u) > x));
                }
            }
            let b = narrow(&[x.min(y), y.min(x), x.max(y), y.max(x)]);
            if !x.is_nan() {
                prop_assert!(f64::from(b[0]) <= x.min(y) && f64::from(b[2]) >= x.max(y));
            }
        }
    }
}
