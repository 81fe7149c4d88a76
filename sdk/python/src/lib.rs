//! The native module `edgeflag._edgeflag` of the Python package `edgeflag`
//! (`sdk/python/python/edgeflag/`): thin PyO3 bindings over the Rust client
//! (`sdk/rust`, crate `edgeflag`), which fetches, verifies, refreshes and evaluates.
//! Nothing here decides a flag or accepts a snapshot; it converts Python values to the
//! engine's and answers back. Built by maturin into one abi3 wheel for CPython ≥ 3.9.

mod client;
mod convert;
mod details;
mod error;

use pyo3::prelude::*;

#[pymodule]
fn _edgeflag(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::PyClient>()?;
    m.add_class::<details::PyDetails>()?;
    m.add_class::<details::PyChange>()?;
    m.add_class::<details::PyContext>()?;
    m.add("EdgeflagError", m.py().get_type::<error::EdgeflagError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
