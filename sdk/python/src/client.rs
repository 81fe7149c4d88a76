//! `edgeflag.Client`: the Rust client (`edgeflag::Client`) with a Python face. The
//! client's refresh runs on its own thread (`build_blocking`), so Python code never
//! waits for the network, and every evaluation reads the verified snapshot in memory.

use std::{borrow::Cow, time::Duration};

use edgeflag::{Client, ClientBuilder, Context, EvaluationDetail, Event, ListenerId, ValueType};
use pyo3::{
    prelude::*,
    types::{PyDict, PyFloat, PyList, PyString},
};
use serde_json::Value;

use crate::{
    convert::{self, Refused},
    details::{PyChange, PyContext, PyDetails},
    error,
};

#[pyclass(module = "edgeflag._edgeflag", name = "Client", frozen)]
#[derive(Debug)]
pub struct PyClient {
    client: Client,
}

/// The context a call evaluates with: the prebuilt one, or one converted now.
enum Ctx<'a> {
    Built(PyRef<'a, PyContext>),
    Converted(Context),
}

impl std::ops::Deref for Ctx<'_> {
    type Target = Context;

    fn deref(&self) -> &Context {
        match self {
            Self::Built(built) => &built.context,
            Self::Converted(context) => context,
        }
    }
}

fn context<'a>(obj: Option<&'a Bound<'_, PyAny>>) -> Result<Ctx<'a>, Refused> {
    if let Some(built) = obj.and_then(|o| o.cast::<PyContext>().ok()) {
        return Ok(Ctx::Built(built.borrow()));
    }
    convert::context(obj).map(Ctx::Converted)
}

/// How a typed getter reads the engine's value, which already has the requested JSON type.
#[derive(Clone, Copy)]
enum Kind {
    Boolean,
    String,
    Integer,
    Float,
    Object,
}

impl Kind {
    fn value_type(self) -> ValueType {
        match self {
            Self::Boolean => ValueType::Boolean,
            Self::String => ValueType::String,
            Self::Integer | Self::Float => ValueType::Number,
            Self::Object => ValueType::Object,
        }
    }

    /// The value as Python, or `None` when it is not of this kind (a fractional number
    /// asked for as an integer).
    fn convert<'py>(self, py: Python<'py>, value: &Value) -> PyResult<Option<Bound<'py, PyAny>>> {
        match (self, value) {
            (Self::Boolean, Value::Bool(b)) => {
                Ok(Some(pyo3::types::PyBool::new(py, *b).to_owned().into_any()))
            }
            (Self::String, Value::String(s)) => Ok(Some(PyString::new(py, s).into_any())),
            (Self::Integer, v) => match edgeflag::as_int(v) {
                Some(i) => Ok(Some(i.into_pyobject(py)?.into_any())),
                None => Ok(None),
            },
            (Self::Float, Value::Number(n)) => Ok(Some(
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
            )),
            (Self::Object, v @ (Value::Object(_) | Value::Array(_))) => {
                convert::to_python(py, v).map(Some)
            }
            _ => Ok(None),
        }
    }
}

impl PyClient {
    /// Evaluates `flag` for `ctx`; `answer` turns the engine's detail into the result
    /// while the snapshot is borrowed (nothing is copied out of it first).
    fn with_detail<R>(
        &self,
        flag: &str,
        value_type: Option<ValueType>,
        ctx: &Context,
        answer: impl FnOnce(&EvaluationDetail<'_>) -> R,
    ) -> R {
        let snapshot = self.client.snapshot();
        let now = self.client.now_ms();
        let detail = match value_type {
            Some(t) => snapshot.evaluate_as(flag, t, ctx, now),
            None => snapshot.evaluate(flag, ctx, now),
        };
        answer(&detail)
    }

    fn value<'py>(
        &self,
        py: Python<'py>,
        kind: Kind,
        flag: &str,
        default: Bound<'py, PyAny>,
        ctx: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Ok(ctx) = context(ctx) else {
            return Ok(default);
        };
        self.with_detail(flag, Some(kind.value_type()), &ctx, |detail| {
            match detail.value {
                Some(value) => Ok(kind.convert(py, value)?.unwrap_or(default)),
                None => Ok(default),
            }
        })
    }

    fn details<'py>(
        &self,
        py: Python<'py>,
        kind: Kind,
        flag: &Bound<'py, PyString>,
        default: Bound<'py, PyAny>,
        ctx: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyDetails> {
        let ctx = match context(ctx) {
            Ok(ctx) => ctx,
            Err(refused) => {
                return Ok(PyDetails::error(
                    py,
                    flag,
                    default,
                    refused.code(),
                    refused.message(),
                    None,
                ));
            }
        };
        let key = flag.to_cow()?;
        self.with_detail(&key, Some(kind.value_type()), &ctx, |detail| {
            Ok(match detail.value {
                None => PyDetails::from_engine(py, flag, detail, default),
                Some(value) => match kind.convert(py, value)? {
                    Some(value) => PyDetails::from_engine(py, flag, detail, value),
                    None => PyDetails::type_mismatch(py, flag, default, detail),
                },
            })
        })
    }

    fn untyped<'py>(
        &self,
        py: Python<'py>,
        flag: &Bound<'py, PyString>,
        value_type: Option<ValueType>,
        ctx: &Context,
    ) -> PyResult<PyDetails> {
        let key = flag.to_cow()?;
        self.with_detail(&key, value_type, ctx, |detail| {
            let value = match detail.value {
                Some(value) => convert::to_python(py, value)?,
                None => py.None().into_bound(py),
            };
            Ok(PyDetails::from_engine(py, flag, detail, value))
        })
    }
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (
        url=None, server_key=None, *, jwks=None, environment=None, bootstrap=None,
        bootstrap_file=None, refresh_interval=30.0, live_updates=true, timeout=10.0, clock=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        url: Option<String>,
        server_key: Option<String>,
        jwks: Option<&Bound<'_, PyAny>>,
        environment: Option<String>,
        bootstrap: Option<String>,
        bootstrap_file: Option<std::path::PathBuf>,
        refresh_interval: f64,
        live_updates: bool,
        timeout: f64,
        clock: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let mut builder = Client::builder()
            .refresh_interval(seconds("refresh_interval", refresh_interval)?)
            .live_updates(live_updates)
            .timeout(seconds("timeout", timeout)?);
        if let Some(url) = url {
            builder = builder.url(url);
        }
        if let Some(key) = server_key {
            builder = builder.server_key(key);
        }
        if let Some(jwks) = jwks {
            builder = builder.jwks(jwks_text(jwks)?);
        }
        if let Some(environment) = environment {
            builder = builder.environment(environment);
        }
        if let Some(token) = bootstrap {
            builder = builder.bootstrap(token);
        }
        if let Some(path) = bootstrap_file {
            builder = builder.bootstrap_file(path);
        }
        if let Some(clock) = clock {
            builder = builder.clock(move || python_clock(&clock));
        }
        start(py, builder).map(|client| Self { client })
    }

    /// `flag`'s boolean value, or `default_value` when the engine answers `ERROR`.
    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_boolean_value<'py>(
        &self,
        py: Python<'py>,
        flag_key: Cow<'_, str>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.value(
            py,
            Kind::Boolean,
            &flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_string_value<'py>(
        &self,
        py: Python<'py>,
        flag_key: Cow<'_, str>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.value(
            py,
            Kind::String,
            &flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_integer_value<'py>(
        &self,
        py: Python<'py>,
        flag_key: Cow<'_, str>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.value(
            py,
            Kind::Integer,
            &flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_float_value<'py>(
        &self,
        py: Python<'py>,
        flag_key: Cow<'_, str>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.value(
            py,
            Kind::Float,
            &flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_object_value<'py>(
        &self,
        py: Python<'py>,
        flag_key: Cow<'_, str>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.value(
            py,
            Kind::Object,
            &flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_boolean_details<'py>(
        &self,
        py: Python<'py>,
        flag_key: &Bound<'py, PyString>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyDetails> {
        self.details(
            py,
            Kind::Boolean,
            flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_string_details<'py>(
        &self,
        py: Python<'py>,
        flag_key: &Bound<'py, PyString>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyDetails> {
        self.details(
            py,
            Kind::String,
            flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_integer_details<'py>(
        &self,
        py: Python<'py>,
        flag_key: &Bound<'py, PyString>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyDetails> {
        self.details(
            py,
            Kind::Integer,
            flag_key,
            default_value,
            evaluation_context,
        )
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_float_details<'py>(
        &self,
        py: Python<'py>,
        flag_key: &Bound<'py, PyString>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyDetails> {
        self.details(py, Kind::Float, flag_key, default_value, evaluation_context)
    }

    #[pyo3(signature = (flag_key, default_value, evaluation_context=None))]
    fn get_object_details<'py>(
        &self,
        py: Python<'py>,
        flag_key: &Bound<'py, PyString>,
        default_value: Bound<'py, PyAny>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyDetails> {
        self.details(
            py,
            Kind::Object,
            flag_key,
            default_value,
            evaluation_context,
        )
    }

    /// The engine's answer as is: no default, `value` is `None` on `ERROR`. `type` is
    /// `"boolean"`, `"string"`, `"number"` or `"object"` for a typed evaluation.
    #[pyo3(signature = (flag_key, evaluation_context=None, r#type=None))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        flag_key: &Bound<'py, PyString>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
        r#type: Option<&str>,
    ) -> PyResult<PyDetails> {
        let value_type = match r#type {
            None => None,
            Some(name) => Some(ValueType::parse(name).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "unknown type `{name}`: use boolean, string, number or object"
                ))
            })?),
        };
        match context(evaluation_context) {
            Ok(ctx) => self.untyped(py, flag_key, value_type, &ctx),
            Err(refused) => Ok(PyDetails::error(
                py,
                flag_key,
                py.None().into_bound(py),
                refused.code(),
                refused.message(),
                None,
            )),
        }
    }

    /// Every flag for a context: a dict of flag key to `EvaluationDetails`. A refused
    /// context answers every flag with its error.
    #[pyo3(signature = (evaluation_context=None))]
    fn evaluate_all<'py>(
        &self,
        py: Python<'py>,
        evaluation_context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        let snapshot = self.client.snapshot();
        match context(evaluation_context) {
            Ok(ctx) => {
                for (key, detail) in snapshot.evaluate_all(&ctx, self.client.now_ms()) {
                    let key = PyString::new(py, key);
                    let value = match detail.value {
                        Some(value) => convert::to_python(py, value)?,
                        None => py.None().into_bound(py),
                    };
                    out.set_item(&key, PyDetails::from_engine(py, &key, &detail, value))?;
                }
            }
            Err(refused) => {
                for flag in snapshot.flags() {
                    let key = PyString::new(py, flag.key);
                    let none = py.None().into_bound(py);
                    let detail =
                        PyDetails::error(py, &key, none, refused.code(), refused.message(), None);
                    out.set_item(&key, detail)?;
                }
            }
        }
        Ok(out)
    }

    /// Keys and metadata of every flag in the snapshot in use, without evaluating.
    fn flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snapshot = self.client.snapshot();
        let list = PyList::empty(py);
        for flag in snapshot.flags() {
            let entry = PyDict::new(py);
            entry.set_item("key", flag.key)?;
            entry.set_item("version", flag.version)?;
            entry.set_item("type", flag.value_type.map(|t| t.as_str()))?;
            entry.set_item("enabled", flag.enabled)?;
            entry.set_item("valid", flag.valid)?;
            entry.set_item("description", flag.description)?;
            entry.set_item("tags", flag.tags.to_vec())?;
            entry.set_item(
                "metadata",
                convert::to_python(py, &Value::Object(flag.metadata.clone()))?,
            )?;
            list.append(entry)?;
        }
        Ok(list)
    }

    /// The version of the snapshot in use.
    #[getter]
    fn version(&self) -> u64 {
        self.client.version()
    }

    /// The environment of the snapshot in use.
    #[getter]
    fn environment(&self) -> String {
        self.client.environment()
    }

    /// What loading the snapshot in use found wrong, as dicts of `kind`, `key`, `path`, `message`.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for w in self.client.warnings() {
            let entry = PyDict::new(py);
            entry.set_item("kind", w.kind.as_str())?;
            entry.set_item("key", w.key)?;
            entry.set_item("path", w.path)?;
            entry.set_item("message", w.message)?;
            list.append(entry)?;
        }
        Ok(list)
    }

    /// Offers a signed snapshot. Returns the `Change` it made, `None` if it holds the
    /// version in use; raises `EdgeflagError` if it is refused (the one in use stays).
    fn update(&self, py: Python<'_>, token: &str) -> PyResult<Option<PyChange>> {
        let change = self.client.update(token).map_err(error::to_py)?;
        change.map(|c| PyChange::new(py, &c)).transpose()
    }

    /// Fetches the server snapshot now (the GIL is released meanwhile). Returns the
    /// `Change`, `None` if nothing is newer; raises `EdgeflagError` on failure.
    fn refresh(&self, py: Python<'_>) -> PyResult<Option<PyChange>> {
        let client = self.client.clone();
        let change = py
            .detach(move || client.refresh_blocking())
            .map_err(error::to_py)?;
        change.map(|c| PyChange::new(py, &c)).transpose()
    }

    /// Calls `callback(change)` whenever a newer snapshot is accepted. Returns an id for
    /// `remove_listener`. Callbacks run on the client's refresh thread.
    fn on_change(&self, callback: Py<PyAny>) -> u64 {
        self.listen(
            move |py, event| match event {
                Event::Changed(change) => Some(
                    PyChange::new(py, change)
                        .and_then(|c| c.into_pyobject(py).map(Bound::into_any)),
                ),
                _ => None,
            },
            callback,
        )
    }

    /// Calls `callback(error)` with an `EdgeflagError` whenever a background refresh
    /// fails (the snapshot in use keeps serving).
    fn on_error(&self, callback: Py<PyAny>) -> u64 {
        self.listen(
            move |py, event| match event {
                Event::RefreshFailed(e) => Some(Ok(error::to_py(e.clone())
                    .into_value(py)
                    .into_bound(py)
                    .into_any())),
                _ => None,
            },
            callback,
        )
    }

    fn remove_listener(&self, listener_id: u64) -> bool {
        self.client
            .remove_listener(ListenerId::from_raw(listener_id))
    }

    /// Stops the background refresh; evaluations keep answering from the last snapshot.
    fn close(&self) {
        self.client.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.client.is_closed()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.client.close();
    }

    fn __repr__(&self) -> String {
        format!(
            "Client(environment='{}', version={}, closed={})",
            self.client.environment(),
            self.client.version(),
            self.client.is_closed()
        )
    }
}

impl PyClient {
    fn listen(
        &self,
        payload: impl for<'py> Fn(Python<'py>, &Event) -> Option<PyResult<Bound<'py, PyAny>>>
        + Send
        + Sync
        + 'static,
        callback: Py<PyAny>,
    ) -> u64 {
        let id = self.client.on_event(move |event| {
            // `try_attach`: while the interpreter shuts down, callbacks are skipped rather
            // than attaching a foreign thread to a finalizing interpreter.
            Python::try_attach(|py| {
                let outcome = match payload(py, event) {
                    None => return,
                    Some(Ok(arg)) => callback.call1(py, (arg,)).map(drop),
                    Some(Err(e)) => Err(e),
                };
                if let Err(e) = outcome {
                    // A failing callback must not stop the refresh thread.
                    e.write_unraisable(py, Some(callback.bind(py)));
                }
            });
        });
        id.into_raw()
    }
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{name} must be a number of seconds ≥ 0, found {value}"
        ))
    })
}

/// A JWKS given as text, bytes, or a dict `{"keys": [...]}`.
fn jwks_text(jwks: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = jwks.extract::<String>() {
        return Ok(text);
    }
    if let Ok(bytes) = jwks.extract::<Vec<u8>>() {
        return String::from_utf8(bytes)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()));
    }
    Ok(convert::to_json(jwks)?.to_string())
}

/// A Python callable as the client's clock; a failing one counts as time 0.
fn python_clock(clock: &Py<PyAny>) -> i64 {
    Python::attach(|py| {
        clock
            .call0(py)
            .and_then(|t| t.extract::<i64>(py))
            .unwrap_or(0)
    })
}

/// Builds the client with the GIL released: its first fetch may take a while.
fn start(py: Python<'_>, builder: ClientBuilder) -> PyResult<Client> {
    py.detach(move || builder.build_blocking())
        .map_err(error::to_py)
}
