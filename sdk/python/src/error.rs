//! `edgeflag.EdgeflagError`: raised when a client cannot start, and by explicit
//! `update` and `refresh` calls that fail. Evaluations never raise: their errors are
//! data in `EvaluationDetails`. Its `code` is the Rust client's `Error::code`.

use pyo3::{create_exception, exceptions::PyException, prelude::*};

create_exception!(
    _edgeflag,
    EdgeflagError,
    PyException,
    "A client could not start, or a snapshot or refresh was refused. `code` says why."
);

/// The Rust error as an `EdgeflagError` with `code` and `message` attributes.
pub fn to_py(error: edgeflag::Error) -> PyErr {
    Python::attach(|py| {
        let message = error.to_string();
        let err = EdgeflagError::new_err(message.clone());
        let value = err.value(py);
        let set = value
            .setattr("code", error.code())
            .and_then(|()| value.setattr("message", message));
        match set {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}
