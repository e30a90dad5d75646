//! Site labels by id, for the check's answer: one open-addressed table (linear
//! probing, at most half full) whose entries are one cache line each, key beside
//! value. A million labels do not stay in cache, so an answer's lookups are cache
//! misses; here each is one miss with nothing depending on it, so the lookups of an
//! answer's hits, made in a loop of their own, overlap (a `HashMap` takes two misses
//! a lookup, the second waiting on the first).

use crate::deconfliction::Label;

#[repr(align(64))]
#[derive(Clone, Default)]
struct Entry(Option<(u64, Label)>);

#[derive(Clone, Default)]
pub struct Labels {
    entries: Vec<Entry>,
    len: usize,
}

impl Labels {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where `id`'s probe starts (Fibonacci hashing of the id).
    fn home(&self, id: u64) -> usize {
        let bits = self.entries.len().trailing_zeros();
        (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }

    /// The entry holding `id`, or the empty one where it would go.
    fn find(&self, id: u64) -> usize {
        let mask = self.entries.len() - 1;
        let mut i = self.home(id);
        loop {
            match &self.entries[i].0 {
                Some((k, _)) if *k != id => i = (i + 1) & mask,
                _ => return i,
            }
        }
    }

    pub fn get(&self, id: u64) -> Option<&Label> {
        if self.entries.is_empty() {
            return None;
        }
        match &self.entries[self.find(id)].0 {
            Some((_, l)) => Some(l),
            None => None,
        }
    }

    /// What `read` makes of the labels of many ids at once (given each id's position
    /// among them and its label, if any): every entry is located
    /// first, in a loop of a few instructions a lookup, so that their cache misses
    /// overlap (with the label read in the same loop, they came one after another),
    /// then read.
    pub fn get_many<'a, R>(
        &'a self,
        ids: impl Iterator<Item = u64>,
        mut read: impl FnMut(usize, Option<&'a Label>) -> R,
    ) -> Vec<R> {
        if self.entries.is_empty() {
            return ids.enumerate().map(|(k, _)| read(k, None)).collect();
        }
        let at: Vec<usize> = ids.map(|id| self.find(id)).collect();
        at.into_iter()
            .enumerate()
            .map(|(k, i)| read(k, self.entries[i].0.as_ref().map(|(_, l)| l)))
            .collect()
    }

    /// Sets `id`'s label, replacing any it had.
    pub fn insert(&mut self, id: u64, label: Label) {
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        let i = self.find(id);
        if self.entries[i].0.is_none() {
            self.len += 1;
        }
        self.entries[i].0 = Some((id, label));
    }

    fn grow(&mut self) {
        let size = (self.entries.len() * 2).max(16);
        let old = std::mem::replace(&mut self.entries, vec![Entry::default(); size]);
        for (id, label) in old.into_iter().filter_map(|e| e.0) {
            let i = self.find(id);
            self.entries[i].0 = Some((id, label));
        }
    }

    /// A copy of the table with room for `more` labels beyond these, if inserting
    /// them would grow it (`None` if not): made under a shared borrow, so that a
    /// caller holding the table behind a lock rehashes half a million entries (a
    /// third of a second) while readers go on, and only swaps the copy in.
    pub fn grown_for(&self, more: usize) -> Option<Labels> {
        let need = (self.len + more) * 2;
        if need <= self.entries.len() {
            return None;
        }
        let mut size = self.entries.len().max(16);
        while size < need {
            size *= 2;
        }
        let mut grown = Labels {
            entries: vec![Entry::default(); size],
            len: self.len,
        };
        for (id, label) in self.entries.iter().filter_map(|e| e.0.as_ref()) {
            let i = grown.find(*id);
            grown.entries[i].0 = Some((*id, label.clone()));
        }
        Some(grown)
    }
}

impl FromIterator<(u64, Label)> for Labels {
    fn from_iter<I: IntoIterator<Item = (u64, Label)>>(iter: I) -> Self {
        let mut labels = Labels::new();
        for (id, label) in iter {
            labels.insert(id, label);
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deconfliction::Text;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// The table answers as a `HashMap` does, whatever the ids (clustered,
        /// repeated, colliding) and however many.
        #[test]
        fn labels_answer_as_a_hash_map_does(
            ops in prop::collection::vec((prop_oneof![0u64..64, any::<u64>(), (0u64..8).prop_map(|k| k << 60)], "[a-z]{0,40}"), 0..300),
            probes in prop::collection::vec(0u64..80, 0..50),
        ) {
            let mut ours = Labels::new();
            let mut theirs = HashMap::new();
            for (id, name) in &ops {
                let l = Label { name: Text::new(name), party: 0 };
                ours.insert(*id, l.clone());
                theirs.insert(*id, l);
                prop_assert_eq!(ours.len(), theirs.len());
            }
            let ids: Vec<u64> = ops.iter().map(|o| o.0).chain(probes).collect();
            for id in &ids {
                prop_assert_eq!(ours.get(*id), theirs.get(id));
            }
            let many: Vec<Option<&Label>> = ids.iter().map(|id| theirs.get(id)).collect();
            prop_assert_eq!(ours.get_many(ids.iter().copied(), |_, l| l), many.clone());
            // A copy grown ahead answers the same, and takes that many more without
            // growing again.
            let more = ops.len() + 1;
            let grown = ours.grown_for(more).unwrap_or_else(|| ours.clone());
            prop_assert!(grown.entries.len() >= (grown.len() + more) * 2);
            prop_assert_eq!(grown.len(), theirs.len());
            prop_assert_eq!(grown.get_many(ids.iter().copied(), |_, l| l), many);
            prop_assert!(grown.grown_for(more).is_none());
        }
    }

    #[test]
    fn an_entry_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Entry>(), 64);
        assert_eq!(Labels::new().get(7), None);
    }
}
