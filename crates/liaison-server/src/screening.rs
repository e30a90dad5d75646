//! Sanctions screening at the edge: the lists in force, parsed from the files the
//! record keeps by SHA-256, and the screener over them, kept as a read model like the
//! conflict engine. A screener is identified by the lists it holds (each source with
//! its files' SHA-256), so the same lists always give the same screener, and the same
//! names the same matches, whenever and wherever it was built; a restart rebuilds it
//! from the stored files.

use liaison_core::State;
use liaison_core::cooperation::{Counterparty, CounterpartyKind, Hit, ListFile};
use liaison_screening as sc;
use liaison_store::Store;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

/// What identifies the lists in force: each source with its files' SHA-256.
pub type Fingerprint = Vec<(String, Vec<String>)>;

/// How many screeners are kept (the one in force, and the one a list load just made).
const SCREENERS_KEPT: usize = 4;

#[derive(Default)]
pub struct Screeners {
    screeners: Mutex<Vec<(Fingerprint, Arc<sc::Screener>)>>,
    /// Parsed lists by their files' SHA-256, so a new screener reparses nothing.
    lists: Mutex<BTreeMap<Vec<String>, Arc<sc::List>>>,
}

impl Screeners {
    /// The screener over the lists `state` records as in force, built (from the stored
    /// files) when none is kept for them.
    pub fn for_state(&self, store: &dyn Store, state: &State) -> Result<Arc<sc::Screener>, String> {
        self.for_lists(store, &state.cooperation)
    }

    /// [`Screeners::for_state`] for the lists of a copy of the state's cooperation
    /// record, so that a reader builds a missing screener without holding the state.
    pub fn for_lists(
        &self,
        store: &dyn Store,
        coop: &liaison_core::cooperation::Cooperation,
    ) -> Result<Arc<sc::Screener>, String> {
        let fp = coop.fingerprint();
        if let Some(s) = self.kept(&fp) {
            return Ok(s);
        }
        let mut lists = Vec::with_capacity(coop.lists.len());
        for l in coop.lists.values() {
            lists.push(self.stored_list(store, &l.format, &l.files)?);
        }
        Ok(self.keep(fp, &lists))
    }

    /// The screener over the lists in force in `state` with `list` (loaded from
    /// `files`) in place of its source's.
    pub fn with_list(
        &self,
        store: &dyn Store,
        state: &State,
        list: Arc<sc::List>,
        files: &[ListFile],
    ) -> Result<Arc<sc::Screener>, String> {
        let mut fp: BTreeMap<String, Vec<String>> =
            state.cooperation.fingerprint().into_iter().collect();
        let shas: Vec<String> = files.iter().map(|f| f.sha256.clone()).collect();
        fp.insert(list.source.clone(), shas.clone());
        let fp: Fingerprint = fp.into_iter().collect();
        if let Some(s) = self.kept(&fp) {
            return Ok(s);
        }
        self.lists.lock().insert(shas, list.clone());
        let mut lists = Vec::new();
        for l in state.cooperation.lists.values() {
            if l.source != list.source {
                lists.push(self.stored_list(store, &l.format, &l.files)?);
            }
        }
        lists.push(list);
        lists.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(self.keep(fp, &lists))
    }

    fn kept(&self, fp: &Fingerprint) -> Option<Arc<sc::Screener>> {
        self.screeners
            .lock()
            .iter()
            .find(|(f, _)| f == fp)
            .map(|(_, s)| s.clone())
    }

    fn keep(&self, fp: Fingerprint, lists: &[Arc<sc::List>]) -> Arc<sc::Screener> {
        let owned: Vec<sc::List> = lists.iter().map(|l| (**l).clone()).collect();
        let s = Arc::new(sc::Screener::new(&owned));
        let mut kept = self.screeners.lock();
        kept.retain(|(f, _)| *f != fp);
        kept.push((fp, s.clone()));
        while kept.len() > SCREENERS_KEPT {
            kept.remove(0);
        }
        // Parsed lists no screener kept holds are let go.
        let wanted: Vec<Vec<String>> = kept
            .iter()
            .flat_map(|(f, _)| f.iter().map(|(_, shas)| shas.clone()))
            .collect();
        self.lists.lock().retain(|k, _| wanted.contains(k));
        s
    }

    fn stored_list(
        &self,
        store: &dyn Store,
        format: &str,
        files: &[ListFile],
    ) -> Result<Arc<sc::List>, String> {
        let shas: Vec<String> = files.iter().map(|f| f.sha256.clone()).collect();
        if let Some(l) = self.lists.lock().get(&shas) {
            return Ok(l.clone());
        }
        let format =
            sc::Format::from_str(format).map_err(|_| format!("unknown format {format}"))?;
        let mut bytes = Vec::with_capacity(files.len());
        for f in files {
            let b = store
                .get_blob(&f.sha256)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the stored file {} ({}) is missing", f.name, f.sha256))?;
            bytes.push(b);
        }
        let sources: Vec<sc::SourceFile<'_>> = files
            .iter()
            .zip(&bytes)
            .map(|(f, b)| sc::SourceFile {
                name: &f.name,
                bytes: b,
            })
            .collect();
        let list = Arc::new(sc::parse(format, &sources).map_err(|e| e.to_string())?);
        self.lists.lock().insert(shas, list.clone());
        Ok(list)
    }
}

pub fn kind(k: CounterpartyKind) -> sc::Kind {
    match k {
        CounterpartyKind::Person => sc::Kind::Person,
        CounterpartyKind::Organisation => sc::Kind::Organisation,
    }
}

/// Every match of each counterparty, numbered by its place in `counterparties`.
pub fn screen(screener: &sc::Screener, counterparties: &[Counterparty]) -> Vec<Hit> {
    let mut out = Vec::new();
    for (i, c) in counterparties.iter().enumerate() {
        let names = c.all_names();
        let q = sc::Query {
            kind: Some(kind(c.kind)),
            names: &names,
            country: c.country.as_deref(),
        };
        out.extend(
            screener
                .screen(&q)
                .into_iter()
                .take(liaison_core::cooperation::MAX_HITS_PER_COUNTERPARTY)
                .map(|m| hit(u32::try_from(i).unwrap_or(u32::MAX), m)),
        );
    }
    out
}

pub fn hit(counterparty: u32, m: sc::Match) -> Hit {
    Hit {
        counterparty,
        list: m.list,
        entry_id: m.entry_id,
        listed_name: m.listed_name,
        our_name: m.our_name,
        score: (m.score * 1e4).round() / 1e4,
        why: m.why,
    }
}

/// Every match, with the lists in force per `screener`, of the counterparties of each
/// proposal still open or agreed (a list load re-screens them all).
pub fn rescreen(screener: &sc::Screener, state: &State) -> Vec<(u64, Vec<Hit>)> {
    state
        .cooperation
        .proposals
        .values()
        .filter(|p| !p.is_closed() && !p.draft.counterparties.is_empty())
        .map(|p| (p.id, screen(screener, &p.draft.counterparties)))
        .filter(|(_, h)| !h.is_empty())
        .collect()
}

/// Parses a list load's files as `format` claims, refusing (naming the file and line)
/// a file that is not in that format, is truncated, or states another publication
/// date than `published`.
pub fn parse_load(
    format: &str,
    published: Option<&str>,
    files: &[(String, Vec<u8>)],
) -> Result<sc::List, String> {
    let f = sc::Format::from_str(format)?;
    let sources: Vec<sc::SourceFile<'_>> = files
        .iter()
        .map(|(n, b)| sc::SourceFile { name: n, bytes: b })
        .collect();
    let list = sc::parse_stated(f, &sources, published).map_err(|e| e.to_string())?;
    if list.entries.is_empty() {
        let file = files.first().map_or("", |(n, _)| n.as_str());
        return Err(format!("{file}: the list holds no entries"));
    }
    Ok(list)
}
