//! Sharing the strings that recur across a snapshot.
//!
//! Flags repeat the same short strings many times over: variation keys (`on`,
//! `off`), attribute names, rule ids, condition values such as country codes. While
//! a snapshot loads, each distinct one is allocated once and then shared, which
//! saves an allocation at load and a free at drop for every repeat, and memory
//! for as long as the snapshot serves.

use alloc::sync::Arc;
use core::hash::BuildHasher;
use hashbrown::{DefaultHashBuilder, HashTable, hash_table::Entry};

/// The distinct strings seen so far in one load.
#[derive(Debug, Default)]
pub(crate) struct Strings {
    table: HashTable<Arc<str>>,
    hasher: DefaultHashBuilder,
}

impl Strings {
    /// The shared copy of `text`, made on first sight.
    pub(crate) fn get(&mut self, text: &str) -> Arc<str> {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(text);
        match self
            .table
            .entry(hash, |s| **s == *text, |s| hasher.hash_one(&**s))
        {
            Entry::Occupied(entry) => Arc::clone(entry.get()),
            Entry::Vacant(entry) => Arc::clone(entry.insert(Arc::from(text)).get()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_allocation() {
        let mut strings = Strings::default();
        let a = strings.get("on");
        let b = strings.get(&alloc::string::String::from("on"));
        let c = strings.get("off");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!((&*a, &*c), ("on", "off"));
    }
}
