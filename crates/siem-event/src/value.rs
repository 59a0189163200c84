use std::borrow::Cow;
use std::fmt;

/// A typed field value: numbers and booleans stay numbers and booleans on the wire.
///
/// ```
/// use siem_event::Value;
/// assert_eq!(Value::from(3u64), Value::U64(3));
/// assert_eq!(Value::from("x").as_str(), Some("x"));
/// assert_eq!(Value::Bool(true).to_string(), "true");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (from `%Display`, `?Debug` or `&str` fields).
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating point number (non-finite values are written as strings by JSON encoders).
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    /// The text, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text: strings as they are, numbers and booleans in their usual form.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The value as a signed integer, when it is a number that fits (floats are truncated).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I64(v) => Some(v),
            Value::U64(v) => i64::try_from(v).ok(),
            Value::F64(v) if v.is_finite() => Some(v as i64),
            _ => None,
        }
    }

    /// The value as a float, when it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::I64(v) => Some(v as f64),
            Value::U64(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// One named metadata field. Names from `tracing` are `'static`; names from config or decoded
/// JSON are owned.
///
/// ```
/// use siem_event::{Field, Value};
/// let f = Field::new("attempts", 3i64);
/// assert_eq!(f.name, "attempts");
/// assert_eq!(f.value, Value::I64(3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name.
    pub name: Cow<'static, str>,
    /// The field's value.
    pub value: Value,
}

impl Field {
    /// A field from a name and anything that converts into a [`Value`].
    pub fn new(name: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
        }
    }
}
