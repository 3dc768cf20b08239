//! Reading request bodies field by field, with the vendor's typing: an `Integer` is a JSON
//! integer, a `String` a JSON string, a `Boolean` a JSON boolean. Anything else, a value out of
//! its range or too long, or a missing mandatory field is `000-002`, with a message naming the
//! field. A JSON `null` counts as absent (Java clients serialize unset fields as `null`), and
//! fields the interface does not define are ignored, as a tolerant server does.

use crate::input::{Rejection, retcode};
use serde_json::{Map, Value};

/// A request body being validated.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    fields: Option<&'a Map<String, Value>>,
}

fn invalid(message: String) -> Rejection {
    Rejection::new(retcode::INVALID_PARAMETER, message)
}

impl<'a> Body<'a> {
    /// A body must be a JSON object; no body at all (`null`) has no fields.
    pub fn new(value: &'a Value) -> Result<Self, Rejection> {
        match value {
            Value::Null => Ok(Body { fields: None }),
            Value::Object(map) => Ok(Body { fields: Some(map) }),
            other => Err(invalid(format!(
                "the request body must be a JSON object, not {}",
                kind(other)
            ))),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        let fields = self.fields?;
        // Request bodies have a handful of fields: comparing names in one pass beats hashing
        // each name (serde_json's map hashes with SipHash), and this runs several times for
        // every input. Large bodies (the gateway lets up to 64 KiB through) use the index.
        let value = if fields.len() <= 16 {
            fields
                .iter()
                .find(|(k, _)| k.as_str() == name)
                .map(|(_, v)| v)
        } else {
            fields.get(name)
        };
        value.filter(|v| !v.is_null())
    }

    /// An optional integer in `min..=max`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, Rejection> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(format!(
                "{name} must be an integer from {min} to {max}, got {}",
                shown(value)
            ))),
        }
    }

    /// A mandatory integer in `min..=max`.
    pub fn required_int(&self, name: &str, min: i64, max: i64) -> Result<i64, Rejection> {
        self.int(name, min, max)?
            .ok_or_else(|| invalid(format!("{name} is mandatory")))
    }

    /// An optional string of at most `max_bytes` bytes of UTF-8.
    pub fn string_bytes(&self, name: &str, max_bytes: usize) -> Result<Option<&'a str>, Rejection> {
        self.string_where(
            name,
            |s| s.len() <= max_bytes,
            || format!("at most {max_bytes} bytes"),
        )
    }

    /// An optional string of at most `max_chars` characters.
    pub fn string_chars(&self, name: &str, max_chars: usize) -> Result<Option<&'a str>, Rejection> {
        self.string_where(
            name,
            |s| s.chars().count() <= max_chars,
            || format!("at most {max_chars} characters"),
        )
    }

    fn string_where(
        &self,
        name: &str,
        ok: impl Fn(&str) -> bool,
        // Only formatted when the value is refused: this runs for every body field of every
        // input, and a message built on the happy path was a measurable share of a run.
        limit: impl FnOnce() -> String,
    ) -> Result<Option<&'a str>, Rejection> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value.as_str() {
            Some(s) if ok(s) => Ok(Some(s)),
            Some(_) => Err(invalid(format!("{name} must be {}", limit()))),
            None => Err(invalid(format!(
                "{name} must be a string, got {}",
                shown(value)
            ))),
        }
    }

    /// An optional boolean.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Rejection> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        value.as_bool().map(Some).ok_or_else(|| {
            invalid(format!(
                "{name} must be true or false, got {}",
                shown(value)
            ))
        })
    }
}

impl<'a> Body<'a> {
    /// An optional integer in `min..=max` that may also come as a decimal string, as the
    /// sign-in samples send `"status":"4"`.
    pub fn lenient_int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, Rejection> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let n = match value {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            other => other.as_i64(),
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(format!(
                "{name} must be an integer from {min} to {max}, got {}",
                shown(value)
            ))),
        }
    }

    /// An optional boolean that may also come as `"true"` or `"false"`.
    pub fn lenient_bool(&self, name: &str) -> Result<Option<bool>, Rejection> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            _ => Err(invalid(format!(
                "{name} must be true or false, got {}",
                shown(value)
            ))),
        }
    }

    /// A mandatory string of at most `max_bytes` bytes.
    pub fn required_string(&self, name: &str, max_bytes: usize) -> Result<&'a str, Rejection> {
        self.string_bytes(name, max_bytes)?
            .ok_or_else(|| invalid(format!("{name} is mandatory")))
    }

    /// A mandatory array of `min..=max` elements.
    pub fn required_array(
        &self,
        name: &str,
        min: usize,
        max: usize,
    ) -> Result<&'a [Value], Rejection> {
        let Some(value) = self.get(name) else {
            return Err(invalid(format!("{name} is mandatory")));
        };
        match value.as_array() {
            Some(items) if (min..=max).contains(&items.len()) => Ok(items),
            Some(items) => Err(invalid(format!(
                "{name} must have {min} to {max} elements, not {}",
                items.len()
            ))),
            None => Err(invalid(format!(
                "{name} must be an array, got {}",
                shown(value)
            ))),
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of an offending value for a message: the value itself when small.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 40 {
        text
    } else {
        kind(value).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_json_integers_in_range() {
        let v = json!({"a": 4, "b": "4", "c": 4.5, "d": 0, "e": null});
        let b = Body::new(&v).unwrap();
        assert_eq!(b.int("a", 1, 120).unwrap(), Some(4));
        assert!(
            b.int("b", 1, 120)
                .unwrap_err()
                .message
                .contains("got \"4\"")
        );
        assert!(b.int("c", 1, 120).is_err());
        assert!(b.int("d", 1, 120).is_err());
        assert_eq!(b.int("e", 1, 120).unwrap(), None);
        assert_eq!(b.int("missing", 1, 120).unwrap(), None);
        assert_eq!(
            b.required_int("missing", 1, 120).unwrap_err().message,
            "missing is mandatory"
        );
    }

    #[test]
    fn string_limits_count_bytes_or_characters() {
        let v = json!({"s": "é".repeat(13)});
        let b = Body::new(&v).unwrap();
        assert!(b.string_bytes("s", 24).is_err(), "26 bytes");
        assert!(b.string_chars("s", 24).is_ok(), "13 characters");
    }

    #[test]
    fn a_body_must_be_an_object() {
        assert!(Body::new(&json!([1])).is_err());
        assert!(Body::new(&json!("x")).is_err());
        assert!(Body::new(&Value::Null).is_ok());
    }
}
