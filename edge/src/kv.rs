//! The storage the edge needs: a small async key-value interface that Workers KV,
//! Spin's key-value store and an in-memory map all provide.

use std::{cell::RefCell, collections::BTreeMap, future::Future};

/// A storage failure, reported to operators (never to API clients in detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);

/// Async key-value storage. Futures need not be `Send`: every edge runtime runs a
/// request on one thread.
pub trait Kv {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, KvError>>;
    fn put(&self, key: &str, value: &[u8]) -> impl Future<Output = Result<(), KvError>>;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), KvError>>;

    /// The keys that start with `prefix`, in any order. Only a host where nothing
    /// outlives a request needs it (usage counts parked in the store on Spin,
    /// `usage/parked.rs`); the default refuses.
    fn keys_with_prefix(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, KvError>> {
        let _ = prefix;
        async { Err(KvError("this store cannot list its keys".into())) }
    }
}

/// An in-memory store, for tests and local hosts.
#[derive(Debug, Default)]
pub struct MemoryKv {
    map: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl MemoryKv {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key, sorted: for tests and debugging.
    pub fn keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }
}

impl Kv for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.map
            .borrow_mut()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.map.borrow_mut().remove(key);
        Ok(())
    }

    async fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        let map = self.map.borrow();
        Ok(map
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
}
