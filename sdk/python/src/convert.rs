//! Python objects to the engine's JSON and back. Contexts are converted on every call
//! unless the caller passes a prebuilt [`PyContext`](crate::details::PyContext).

use edgeflag::{Context, ContextError};
use pyo3::{
    exceptions::PyTypeError,
    prelude::*,
    types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple},
};
use serde_json::{Map, Number, Value};

/// Why a Python value could not become JSON.
#[derive(Debug)]
pub struct Unsupported(pub String);

impl From<Unsupported> for PyErr {
    fn from(e: Unsupported) -> Self {
        PyTypeError::new_err(e.0)
    }
}

/// A context refused before evaluation: the engine's reason, or a value JSON cannot hold.
pub enum Refused {
    Engine(ContextError),
    Unsupported(String),
}

impl Refused {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Engine(e) => e.code().as_str(),
            Self::Unsupported(_) => "INVALID_CONTEXT",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Engine(e) => e.to_string(),
            Self::Unsupported(m) => m.clone(),
        }
    }
}

/// A Python value as JSON: `None`, `bool`, `int`, `float`, `str`, lists, tuples and
/// dicts with string keys; a `datetime` (anything with `isoformat`) as its ISO text.
pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<Value, Unsupported> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // `bool` before `int`: in Python a bool is an int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Value::String(s.into_owned()))
            .map_err(|e| Unsupported(e.to_string()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        // Beyond 64 bits, the nearest double, as a JSON parser reads such a number:
        // the engine then answers as it does for that JSON (a number, or INVALID_CONTEXT
        // where a whole number is needed).
        return match obj.extract::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(Unsupported(format!(
                "integer {obj} is too large for a JSON number"
            ))),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| Unsupported(format!("{} is not a JSON number", f.value())));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return object(dict).map(Value::Object);
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list
            .iter()
            .map(|item| to_json(&item))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple
            .iter()
            .map(|item| to_json(&item))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if let Ok(iso) = obj.call_method0("isoformat") {
        return to_json(&iso);
    }
    let type_name = obj
        .get_type()
        .name()
        .map_or_else(|_| "object".to_string(), |n| n.to_string());
    Err(Unsupported(format!(
        "a context cannot hold a value of type `{type_name}`"
    )))
}

fn object(dict: &Bound<'_, PyDict>) -> Result<Map<String, Value>, Unsupported> {
    let mut map = Map::new();
    for (key, value) in dict.iter() {
        let key = key
            .cast::<PyString>()
            .map_err(|_| Unsupported(format!("context keys must be strings, found {key}")))?;
        let key = key.to_cow().map_err(|e| Unsupported(e.to_string()))?;
        map.insert(key.into_owned(), to_json(&value)?);
    }
    Ok(map)
}

/// A context as the engine's: a dict (or anything JSON, which the engine then refuses
/// unless it is an object), `None` for the empty context.
pub fn context(obj: Option<&Bound<'_, PyAny>>) -> Result<Context, Refused> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Context::new());
    };
    if let Ok(dict) = obj.cast::<PyDict>() {
        let map = object(dict).map_err(|e| Refused::Unsupported(e.0))?;
        return Context::from_map(map).map_err(Refused::Engine);
    }
    let value = to_json(obj).map_err(|e| Refused::Unsupported(e.0))?;
    Context::from_value(value).map_err(Refused::Engine)
}

/// JSON as Python: dicts, lists, `int` for whole numbers that fit, else `float`.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            (None, None) => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
