//! Host implementations of Spin's `spin:key-value@3.0.0` and `spin:variables@3.0.0`
//! (vendored under `wit/deps/`): an in-memory store shared by every instance, as a
//! Spin store outlives instances, and a fixed map of variables.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use wasmtime::component::{Accessor, HasData, Resource, ResourceTable};

pub mod bindings {
    wasmtime::component::bindgen!({
        inline: "
            package edgeflag:spin-host;
            world spin-imports {
                import spin:key-value/key-value@3.0.0;
                import spin:variables/variables@3.0.0;
            }
        ",
        path: ["../wit/deps/spin-key-value@3.0.0", "../wit/deps/spin-variables@3.0.0"],
        with: { "spin:key-value/key-value.store": super::OpenStore },
        // Listing keys is the one operation the edge never uses: it traps (see below).
        imports: { "spin:key-value/key-value.[method]store.get-keys": trappable },
    });
}

use bindings::spin::{key_value::key_value, variables::variables};

/// The key-value data, shared by every instance of the app.
pub type SharedMap = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// An open store handle: the label the guest opened.
#[derive(Debug)]
pub struct OpenStore;

/// What the Spin imports need from the store's data.
pub struct SpinCtx {
    pub table: ResourceTable,
    pub kv: SharedMap,
    /// The store labels the app may open (`key_value_stores` in `spin.toml`).
    pub labels: Vec<String>,
    pub variables: Arc<BTreeMap<String, String>>,
}

/// The [`HasData`] marker under which the Spin imports are linked.
pub struct Spin;

impl HasData for Spin {
    type Data<'a> = &'a mut SpinCtx;
}

fn other(message: impl std::fmt::Display) -> key_value::Error {
    key_value::Error::Other(message.to_string())
}

impl SpinCtx {
    fn read<R>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R,
    ) -> Result<R, key_value::Error> {
        let mut map = self.kv.lock().map_err(|_| other("store lock poisoned"))?;
        Ok(f(&mut map))
    }
}

impl key_value::Host for &mut SpinCtx {}
impl key_value::HostStore for &mut SpinCtx {
    fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<T> key_value::HostStoreWithStore<T> for Spin {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> Result<Resource<OpenStore>, key_value::Error> {
        accessor.with(|mut view| {
            let ctx = view.get();
            if !ctx.labels.contains(&label) {
                return Err(key_value::Error::NoSuchStore);
            }
            ctx.table.push(OpenStore).map_err(other)
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        _store: Resource<OpenStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        accessor.with(|mut view| view.get().read(|map| map.get(&key).cloned()))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        _store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        accessor.with(|mut view| {
            view.get().read(|map| {
                map.insert(key, value);
            })
        })
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        _store: Resource<OpenStore>,
        key: String,
    ) -> Result<(), key_value::Error> {
        accessor.with(|mut view| {
            view.get().read(|map| {
                map.remove(&key);
            })
        })
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        _store: Resource<OpenStore>,
        key: String,
    ) -> Result<bool, key_value::Error> {
        accessor.with(|mut view| view.get().read(|map| map.contains_key(&key)))
    }

    /// Every key, streamed (the edge lists parked usage counts, `edge/src/usage/parked.rs`).
    async fn get_keys(
        accessor: &Accessor<T, Self>,
        _store: Resource<OpenStore>,
    ) -> wasmtime::Result<(
        wasmtime::component::StreamReader<String>,
        wasmtime::component::FutureReader<Result<(), key_value::Error>>,
    )> {
        accessor.with(|mut view| {
            let listed = view
                .get()
                .read(|map| map.keys().cloned().collect::<Vec<_>>());
            let (keys, result) = match listed {
                Ok(keys) => (keys, Ok(())),
                Err(e) => (Vec::new(), Err(e)),
            };
            Ok((
                wasmtime::component::StreamReader::new(&mut view, keys)?,
                wasmtime::component::FutureReader::new(&mut view, async move {
                    wasmtime::error::Ok(result)
                })?,
            ))
        })
    }
}

impl variables::Host for &mut SpinCtx {}

impl<T> variables::HostWithStore<T> for Spin {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> Result<String, variables::Error> {
        accessor.with(|mut view| {
            view.get()
                .variables
                .get(&name)
                .cloned()
                .ok_or(variables::Error::Undefined(name))
        })
    }
}
