//! The Python classes the client answers with: `EvaluationDetails`, `Change`, and the
//! prebuilt `Context`.

use edgeflag::{Context, ErrorCode, EvaluationDetail, Reason};
use pyo3::{
    exceptions::PyValueError,
    intern,
    prelude::*,
    types::{PyList, PyString},
};

use crate::convert;

/// One evaluation: the value (the caller's default on `ERROR` for typed getters,
/// `None` for `evaluate`) and everything the engine decided.
#[pyclass(module = "edgeflag._edgeflag", name = "EvaluationDetails", frozen)]
#[derive(Debug)]
pub struct PyDetails {
    #[pyo3(get)]
    flag_key: Py<PyString>,
    #[pyo3(get)]
    value: Py<PyAny>,
    #[pyo3(get)]
    variant: Option<Py<PyString>>,
    #[pyo3(get)]
    reason: Py<PyString>,
    #[pyo3(get)]
    error_code: Option<Py<PyString>>,
    #[pyo3(get)]
    error_message: Option<String>,
    #[pyo3(get)]
    rule_index: Option<usize>,
    #[pyo3(get)]
    rule_id: Option<Py<PyString>>,
    #[pyo3(get)]
    failed_prerequisite: Option<String>,
    #[pyo3(get)]
    flag_version: Option<u64>,
}

#[pymethods]
impl PyDetails {
    fn __repr__(&self, py: Python<'_>) -> String {
        let opt = |s: &Option<Py<PyString>>| {
            s.as_ref()
                .map_or_else(|| "None".to_string(), |s| format!("'{}'", s.bind(py)))
        };
        format!(
            "EvaluationDetails(flag_key='{}', value={}, variant={}, reason='{}', error_code={}, rule_id={}, flag_version={:?})",
            self.flag_key.bind(py),
            self.value
                .bind(py)
                .repr()
                .map_or_else(|_| "?".into(), |r| r.to_string()),
            opt(&self.variant),
            self.reason.bind(py),
            opt(&self.error_code),
            opt(&self.rule_id),
            self.flag_version,
        )
    }

    /// The detail as a plain dict, with the vectors' camelCase names, leaving out what is absent.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let dict = pyo3::types::PyDict::new(py);
        let is_error = self.error_code.is_some();
        if !(is_error && self.value.bind(py).is_none()) {
            dict.set_item("value", self.value.bind(py))?;
        }
        dict.set_item("reason", self.reason.bind(py))?;
        let optional: [(&str, Option<Bound<'py, PyAny>>); 7] = [
            (
                "variant",
                self.variant.as_ref().map(|v| v.bind(py).clone().into_any()),
            ),
            (
                "errorCode",
                self.error_code
                    .as_ref()
                    .map(|v| v.bind(py).clone().into_any()),
            ),
            (
                "errorMessage",
                self.error_message
                    .as_ref()
                    .map(|v| PyString::new(py, v).into_any()),
            ),
            (
                "ruleIndex",
                self.rule_index
                    .map(|i| i.into_pyobject(py))
                    .transpose()?
                    .map(Bound::into_any),
            ),
            (
                "ruleId",
                self.rule_id.as_ref().map(|v| v.bind(py).clone().into_any()),
            ),
            (
                "failedPrerequisite",
                self.failed_prerequisite
                    .as_ref()
                    .map(|v| PyString::new(py, v).into_any()),
            ),
            (
                "flagVersion",
                self.flag_version
                    .map(|v| v.into_pyobject(py))
                    .transpose()?
                    .map(Bound::into_any),
            ),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                dict.set_item(name, value)?;
            }
        }
        Ok(dict)
    }
}

fn reason<'py>(py: Python<'py>, reason: Reason) -> &'py Bound<'py, PyString> {
    match reason {
        Reason::Static => intern!(py, "STATIC"),
        Reason::Default => intern!(py, "DEFAULT"),
        Reason::TargetingMatch => intern!(py, "TARGETING_MATCH"),
        Reason::Split => intern!(py, "SPLIT"),
        Reason::Disabled => intern!(py, "DISABLED"),
        Reason::Error => intern!(py, "ERROR"),
    }
}

pub fn error_code<'py>(py: Python<'py>, code: &str) -> Bound<'py, PyString> {
    match code {
        "FLAG_NOT_FOUND" => intern!(py, "FLAG_NOT_FOUND").clone(),
        "TYPE_MISMATCH" => intern!(py, "TYPE_MISMATCH").clone(),
        "PARSE_ERROR" => intern!(py, "PARSE_ERROR").clone(),
        "INVALID_CONTEXT" => intern!(py, "INVALID_CONTEXT").clone(),
        "TARGETING_KEY_MISSING" => intern!(py, "TARGETING_KEY_MISSING").clone(),
        other => PyString::new(py, other),
    }
}

impl PyDetails {
    /// The engine's answer with `value` already chosen by the caller.
    pub fn from_engine(
        py: Python<'_>,
        flag_key: &Bound<'_, PyString>,
        detail: &EvaluationDetail<'_>,
        value: Bound<'_, PyAny>,
    ) -> Self {
        Self {
            flag_key: flag_key.clone().unbind(),
            value: value.unbind(),
            variant: detail.variant.map(|v| PyString::new(py, v).unbind()),
            reason: reason(py, detail.reason).clone().unbind(),
            error_code: detail
                .error_code()
                .map(|c| error_code(py, c.as_str()).unbind()),
            error_message: detail.error_message().map(str::to_string),
            rule_index: detail.rule_index,
            rule_id: detail.rule_id.map(|v| PyString::new(py, v).unbind()),
            failed_prerequisite: detail.failed_prerequisite.map(str::to_string),
            flag_version: detail.flag_version,
        }
    }

    /// An error answer that never reached the engine (a refused context), or that the
    /// caller's type check produced.
    pub fn error(
        py: Python<'_>,
        flag_key: &Bound<'_, PyString>,
        value: Bound<'_, PyAny>,
        code: &str,
        message: String,
        flag_version: Option<u64>,
    ) -> Self {
        Self {
            flag_key: flag_key.clone().unbind(),
            value: value.unbind(),
            variant: None,
            reason: reason(py, Reason::Error).clone().unbind(),
            error_code: Some(error_code(py, code).unbind()),
            error_message: Some(message),
            rule_index: None,
            rule_id: None,
            failed_prerequisite: None,
            flag_version,
        }
    }

    pub fn type_mismatch(
        py: Python<'_>,
        flag_key: &Bound<'_, PyString>,
        default: Bound<'_, PyAny>,
        detail: &EvaluationDetail<'_>,
    ) -> Self {
        let message = format!("flag `{flag_key}` does not hold a value of the requested type");
        Self::error(
            py,
            flag_key,
            default,
            ErrorCode::TypeMismatch.as_str(),
            message,
            detail.flag_version,
        )
    }
}

/// A newer snapshot was accepted: which flags and segments changed.
#[pyclass(module = "edgeflag._edgeflag", name = "Change", frozen, get_all)]
#[derive(Debug)]
pub struct PyChange {
    version: u64,
    previous_version: u64,
    flags: Py<PyList>,
    segments: Py<PyList>,
}

#[pymethods]
impl PyChange {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Change(version={}, previous_version={}, flags={}, segments={})",
            self.version,
            self.previous_version,
            self.flags.bind(py),
            self.segments.bind(py)
        )
    }
}

impl PyChange {
    pub fn new(py: Python<'_>, change: &edgeflag::Change) -> PyResult<Self> {
        Ok(Self {
            version: change.version,
            previous_version: change.previous_version,
            flags: PyList::new(py, &change.flags)?.unbind(),
            segments: PyList::new(py, &change.segments)?.unbind(),
        })
    }
}

/// A context converted once, for callers that evaluate many flags for one context.
#[pyclass(module = "edgeflag._edgeflag", name = "Context", frozen)]
#[derive(Debug)]
pub struct PyContext {
    pub context: Context,
}

#[pymethods]
impl PyContext {
    /// `Context({"targetingKey": "user-1", "plan": "beta"})` or
    /// `Context(targeting_key="user-1", plan="beta")`.
    #[new]
    #[pyo3(signature = (attributes=None, *, targeting_key=None, **kwargs))]
    fn new(
        attributes: Option<&Bound<'_, PyAny>>,
        targeting_key: Option<&str>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        let mut context = convert::context(attributes)
            .map_err(|refused| PyValueError::new_err(refused.message()))?;
        if let Some(key) = targeting_key {
            set(
                &mut context,
                "targetingKey",
                serde_json::Value::String(key.to_string()),
            )?;
        }
        for (name, value) in kwargs.into_iter().flatten() {
            let name: String = name.extract()?;
            set(&mut context, &name, convert::to_json(&value)?)?;
        }
        Ok(Self { context })
    }

    #[getter]
    fn targeting_key(&self) -> Option<&str> {
        self.context.targeting_key()
    }

    fn __repr__(&self) -> String {
        format!(
            "Context({})",
            serde_json::Value::Object(self.context.attributes().clone())
        )
    }
}

fn set(context: &mut Context, name: &str, value: serde_json::Value) -> PyResult<()> {
    context
        .set(name, value)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}
