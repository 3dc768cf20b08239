//! Values that vary (product.md §3): distribution objects in load generators' bodies and
//! durations, parsed into typed distributions, and the seeded generator that draws from them.
//!
//! A distribution object has exactly one key: `{"uniform": [a, b]}`, `{"choice": [x, y, …]}`,
//! `{"exponential": {"mean": m}}` or `{"normal": {"mean": m, "stddev": s}}`. Parsing happens
//! inside serde, so a bad parameter gets the same file, line, column and JSON path as any other
//! error (`load[0].body.memberNum.uniform: …`).
//!
//! **Numbers keep the type they were written with.** A body field's draw is sent as the
//! platform would receive it from a client: `{"uniform": [2, 10]}` gives integers (inclusive),
//! `{"uniform": [0.5, 2.5]}` gives floats, and `{"normal": {"mean": 30, "stddev": 10}}` gives
//! integers rounded to the nearest, because every parameter was written without a fraction.
//! A draw is never clamped to the field's range: a negative or out-of-range `memberNum` is
//! sent as it is and answered `000-002`, as a real client's would be. Durations are the one
//! exception, because a negative span of time cannot be sent anywhere: their draws are
//! rounded to whole milliseconds and clamped at zero.
//!
//! **Draws are portable.** The generator is ChaCha8 (value-stable across `rand_chacha`
//! versions), read as raw 64-bit words; every mapping from words to values is written here
//! with `+ − × ÷` and `sqrt` only, which IEEE 754 requires to be correctly rounded. `f64::ln`
//! would call the platform's libm, which need not be, and a one-ulp difference on another
//! operating system could move an arrival by a millisecond: rarely, but a journal must be
//! byte-identical on any machine, not nearly always.

use crate::scenario::Dur;
use confsim_core::SimDuration;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The keys that make an object a distribution.
pub const DISTRIBUTIONS: [&str; 4] = ["uniform", "choice", "exponential", "normal"];

// ---------------------------------------------------------------------------------------------
// The generator.

/// A load generator's own source of randomness: ChaCha8 keyed by the root seed and the
/// generator's index, never a process-global generator.
#[derive(Clone, Debug)]
pub struct DrawRng(ChaCha8Rng);

impl DrawRng {
    /// The generator of load generator `index` under root seed `seed`.
    ///
    /// The 32-byte key is the seed, a fixed label and the index, written out byte by byte. The
    /// platform's keyed draws derive their key from the seed through `seed_from_u64` instead,
    /// so the label keeps the two families apart whatever the seed and index.
    pub fn for_generator(seed: u64, index: u32) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..24].copy_from_slice(b"confsim/load-gen");
        key[24..28].copy_from_slice(&index.to_le_bytes());
        DrawRng(ChaCha8Rng::from_seed(key))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]`: safe to take the logarithm of.
    fn unit_open_zero(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`), from one word by a widening multiply. The bias is below
    /// `n / 2^64`, far under anything a run could measure, and a draw always costs exactly one
    /// word, which keeps the stream easy to reason about.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `[a, b]` (`a <= b`).
    pub fn int_between(&mut self, a: i64, b: i64) -> i64 {
        let span = (i128::from(b) - i128::from(a) + 1) as u128;
        let offset = (u128::from(self.next_u64()) * span) >> 64;
        (i128::from(a) + offset as i128) as i64
    }

    /// Exponential with mean `mean`, by inversion.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * ln(self.unit_open_zero())
    }

    /// Normal by Marsaglia's polar method (no sine or cosine, see the module comment).
    pub fn normal(&mut self, mean: f64, stddev: f64) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return mean + stddev * u * (-2.0 * ln(s) / s).sqrt();
            }
        }
    }
}

/// The natural logarithm of a finite `x > 0`, with only correctly rounded operations.
///
/// `x = m·2^e` with `m` in `[√½, √2)`; `ln m = 2·atanh(s)` with `s = (m−1)/(m+1)`, `|s| < 0.172`,
/// whose odd series converges to double precision within 16 terms. Accurate to a few ulps,
/// and above all the same bits everywhere.
pub fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let bits = x.to_bits();
    let (mut m, mut e) = if bits >> 52 == 0 {
        // Subnormal: scale into the normal range first (2^54 is exact).
        let scaled = (x * 18_014_398_509_481_984.0).to_bits();
        (scaled, -54i64)
    } else {
        (bits, 0)
    };
    e += ((m >> 52) & 0x7ff) as i64 - 1023;
    m = (m & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000;
    let mut m = f64::from_bits(m);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    for k in 0..16 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

// ---------------------------------------------------------------------------------------------
// Numbers in bodies.

/// A JSON number as written: an integer, or a number with a fraction or exponent.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn is_int(self) -> bool {
        matches!(self, Num::Int(_))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                i64::try_from(v)
                    .map(Num::Int)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::Float(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A distribution over body values.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueDist {
    /// Integers in `[a, b]` when both bounds are integers, floats in `[a, b)` otherwise.
    Uniform(Num, Num),
    /// One of the listed JSON values, equally likely.
    Choice(Vec<Value>),
    /// Exponential; an integer mean gives integers (rounded).
    Exponential { mean: Num },
    /// Normal; integer mean and standard deviation give integers (rounded).
    Normal { mean: Num, stddev: Num },
}

fn int_value(x: f64) -> Value {
    // `round` is exact; `as` saturates at the ends of i64 rather than wrapping.
    Value::from(x.round() as i64)
}

fn float_value(x: f64) -> Value {
    // Every draw is finite (finite parameters, `ln` of a number in (0, 1]), so this is a
    // number; `Null` would only stand for an impossible NaN.
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

impl ValueDist {
    pub fn draw(&self, rng: &mut DrawRng) -> Value {
        match self {
            ValueDist::Uniform(Num::Int(a), Num::Int(b)) => Value::from(rng.int_between(*a, *b)),
            ValueDist::Uniform(a, b) => {
                let (a, b) = (a.as_f64(), b.as_f64());
                float_value(a + (b - a) * rng.unit())
            }
            ValueDist::Choice(values) => values[rng.below(values.len() as u64) as usize].clone(),
            ValueDist::Exponential { mean } => {
                let x = rng.exponential(mean.as_f64());
                if mean.is_int() {
                    int_value(x)
                } else {
                    float_value(x)
                }
            }
            ValueDist::Normal { mean, stddev } => {
                let x = rng.normal(mean.as_f64(), stddev.as_f64());
                if mean.is_int() && stddev.is_int() {
                    int_value(x)
                } else {
                    float_value(x)
                }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeanArgs<T> {
    mean: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalArgs<T> {
    mean: T,
    stddev: T,
}

/// `[a, b]`, exactly two elements.
struct Pair<T>(T, T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pair<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Pair<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pair [low, high]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pair<T>, A::Error> {
                let two = "a pair [low, high] of exactly two values";
                let a = seq.next_element()?.ok_or_else(|| de::Error::custom(two))?;
                let b = seq.next_element()?.ok_or_else(|| de::Error::custom(two))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(two));
                }
                Ok(Pair(a, b))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// Reads the parameters of the distribution named `key` (one of [`DISTRIBUTIONS`]) and checks
/// that nothing follows it in the object. Shared by body values and durations.
fn read_distribution<'de, A, T, C>(
    key: &str,
    map: &mut A,
    make: impl FnOnce(Params<T, C>) -> Result<C::Out, String>,
) -> Result<C::Out, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
    C: ChoiceItem<'de>,
{
    let params = match key {
        "uniform" => {
            let Pair(a, b) = map.next_value::<Pair<T>>()?;
            Params::Uniform(a, b)
        }
        "choice" => {
            let items: Vec<C> = map.next_value()?;
            if items.is_empty() {
                return Err(de::Error::custom("\"choice\" needs at least one value"));
            }
            Params::Choice(items)
        }
        "exponential" => Params::Exponential(map.next_value::<MeanArgs<T>>()?.mean),
        "normal" => {
            let a = map.next_value::<NormalArgs<T>>()?;
            Params::Normal(a.mean, a.stddev)
        }
        _ => unreachable!("only called with one of DISTRIBUTIONS"),
    };
    if let Some(extra) = map.next_key::<String>()? {
        return Err(de::Error::custom(format!(
            "a distribution object has exactly one key; found {extra:?} after {key:?}"
        )));
    }
    make(params).map_err(de::Error::custom)
}

/// A distribution's parameters before they are checked.
enum Params<T, C> {
    Uniform(T, T),
    Choice(Vec<C>),
    Exponential(T),
    Normal(T, T),
}

/// What a `choice` lists, and what the finished distribution is.
trait ChoiceItem<'de>: Deserialize<'de> {
    type Out;
}

impl ChoiceItem<'_> for Value {
    type Out = ValueDist;
}

impl ChoiceItem<'_> for Dur {
    type Out = DurDist;
}

fn value_dist(p: Params<Num, Value>) -> Result<ValueDist, String> {
    match p {
        Params::Uniform(a, b) => {
            if a.as_f64() > b.as_f64() {
                return Err(format!(
                    "\"uniform\" needs low <= high, got [{}, {}]",
                    a.as_f64(),
                    b.as_f64()
                ));
            }
            Ok(ValueDist::Uniform(a, b))
        }
        Params::Choice(items) => Ok(ValueDist::Choice(items)),
        Params::Exponential(mean) => {
            if mean.as_f64() <= 0.0 {
                return Err(format!(
                    "\"exponential\" needs a positive mean, got {}",
                    mean.as_f64()
                ));
            }
            Ok(ValueDist::Exponential { mean })
        }
        Params::Normal(mean, stddev) => {
            if stddev.as_f64() < 0.0 {
                return Err(format!(
                    "\"normal\" needs stddev >= 0, got {}",
                    stddev.as_f64()
                ));
            }
            Ok(ValueDist::Normal { mean, stddev })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Body templates.

/// A request body in which any value may be a distribution: rendered into a fresh JSON body at
/// every arrival. Subtrees without a distribution are kept as one literal value, so rendering
/// a mostly fixed body is a clone.
///
/// An object whose *first* key names a distribution is a distribution (and may have no other
/// key); no body field of the vendor's interface is an object with such a key. The values a
/// `choice` lists are literal: a choice between distributions would be a distribution of
/// distributions, which nobody needs and everybody would read differently.
#[derive(Clone, Debug, PartialEq)]
pub enum Template {
    Literal(Value),
    Dist(ValueDist),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

impl Default for Template {
    /// No body (`null`), as for operations that take none.
    fn default() -> Self {
        Template::Literal(Value::Null)
    }
}

impl Template {
    /// A fresh body: every distribution drawn, in document order.
    pub fn render(&self, rng: &mut DrawRng) -> Value {
        match self {
            Template::Literal(v) => v.clone(),
            Template::Dist(d) => d.draw(rng),
            Template::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(rng)))
                    .collect::<Map<String, Value>>(),
            ),
            Template::Array(items) => Value::Array(items.iter().map(|t| t.render(rng)).collect()),
        }
    }

    /// Whether rendering draws anything.
    pub fn varies(&self) -> bool {
        !matches!(self, Template::Literal(_))
    }

    fn into_literal(self) -> Option<Value> {
        match self {
            Template::Literal(v) => Some(v),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Template;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Template, E> {
                Ok(Template::Literal(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Template, E> {
                Ok(Template::Literal(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Template, E> {
                Ok(Template::Literal(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Template, E> {
                Ok(Template::Literal(float_value(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Template, E> {
                Ok(Template::Literal(v.into()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Template, E> {
                Ok(Template::Literal(Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Template, E> {
                Ok(Template::Literal(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Template, A::Error> {
                let mut items = Vec::new();
                while let Some(t) = seq.next_element::<Template>()? {
                    items.push(t);
                }
                Ok(if items.iter().any(Template::varies) {
                    Template::Array(items)
                } else {
                    Template::Literal(Value::Array(
                        items
                            .into_iter()
                            .filter_map(Template::into_literal)
                            .collect(),
                    ))
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Template, A::Error> {
                let mut fields: Vec<(String, Template)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if fields.is_empty() && DISTRIBUTIONS.contains(&key.as_str()) {
                        return read_distribution::<_, Num, Value>(&key, &mut map, value_dist)
                            .map(Template::Dist);
                    }
                    let value = map.next_value::<Template>()?;
                    fields.push((key, value));
                }
                Ok(if fields.iter().any(|(_, t)| t.varies()) {
                    Template::Object(fields)
                } else {
                    Template::Literal(Value::Object(
                        fields
                            .into_iter()
                            .filter_map(|(k, t)| Some((k, t.into_literal()?)))
                            .collect(),
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Durations.

/// A duration that may vary: a fixed duration (`"10m"`, `600000`) or a distribution over
/// durations (`{"uniform": ["5m", "25m"]}`, `{"exponential": {"mean": "20m"}}`). Draws are
/// whole milliseconds, never negative.
#[derive(Clone, Debug, PartialEq)]
pub enum DurDist {
    Fixed(SimDuration),
    Uniform(SimDuration, SimDuration),
    Choice(Vec<SimDuration>),
    Exponential {
        mean: SimDuration,
    },
    Normal {
        mean: SimDuration,
        stddev: SimDuration,
    },
}

impl Default for DurDist {
    fn default() -> Self {
        DurDist::Fixed(SimDuration::ZERO)
    }
}

impl DurDist {
    pub fn draw(&self, rng: &mut DrawRng) -> SimDuration {
        let ms = |d: &SimDuration| d.as_millis() as f64;
        let from_f64 = |x: f64| SimDuration::from_millis(x.round().max(0.0) as u64);
        match self {
            DurDist::Fixed(d) => *d,
            DurDist::Uniform(a, b) => {
                let a = a.as_millis();
                let b = b.as_millis();
                // Both bounds fit in i64 (durations parse to at most u64 ms, and the check in
                // `dur_dist` keeps them ordered); the draw is inclusive, like integer bodies.
                let a = i64::try_from(a).unwrap_or(i64::MAX);
                let b = i64::try_from(b).unwrap_or(i64::MAX);
                SimDuration::from_millis(rng.int_between(a, b).max(0) as u64)
            }
            DurDist::Choice(items) => items[rng.below(items.len() as u64) as usize],
            DurDist::Exponential { mean } => from_f64(rng.exponential(ms(mean))),
            DurDist::Normal { mean, stddev } => from_f64(rng.normal(ms(mean), ms(stddev))),
        }
    }

    /// The largest value a draw can take, when it is bounded.
    pub fn max(&self) -> Option<SimDuration> {
        match self {
            DurDist::Fixed(d) => Some(*d),
            DurDist::Uniform(_, b) => Some(*b),
            DurDist::Choice(items) => items.iter().max().copied(),
            DurDist::Exponential { .. } | DurDist::Normal { .. } => None,
        }
    }
}

fn dur_dist(p: Params<Dur, Dur>) -> Result<DurDist, String> {
    match p {
        Params::Uniform(a, b) => {
            if a > b {
                return Err(format!(
                    "\"uniform\" needs low <= high, got [{}, {}]",
                    a.0, b.0
                ));
            }
            Ok(DurDist::Uniform(a.0, b.0))
        }
        Params::Choice(items) => Ok(DurDist::Choice(items.into_iter().map(|d| d.0).collect())),
        Params::Exponential(mean) => {
            if mean.0 == SimDuration::ZERO {
                return Err("\"exponential\" needs a positive mean".into());
            }
            Ok(DurDist::Exponential { mean: mean.0 })
        }
        Params::Normal(mean, stddev) => Ok(DurDist::Normal {
            mean: mean.0,
            stddev: stddev.0,
        }),
    }
}

impl<'de> Deserialize<'de> for DurDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "a duration (\"250ms\", \"45s\", \"1h30m\", or whole milliseconds) or a distribution object such as {\"uniform\": [\"5m\", \"25m\"]}";
        impl<'de> Visitor<'de> for V {
            type Value = DurDist;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurDist, E> {
                Ok(DurDist::Fixed(SimDuration::from_millis(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurDist, E> {
                u64::try_from(v)
                    .map(|v| DurDist::Fixed(SimDuration::from_millis(v)))
                    .map_err(|_| E::custom(format!("a duration cannot be negative, got {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurDist, E> {
                Err(E::custom(format!(
                    "expected {EXPECTED}, got the number {v}"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurDist, E> {
                SimDuration::parse(v).map(DurDist::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DurDist, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(format!(
                        "expected {EXPECTED}, got an empty object"
                    )));
                };
                if !DISTRIBUTIONS.contains(&key.as_str()) {
                    return Err(de::Error::custom(format!(
                        "unknown distribution {key:?}; expected one of {}",
                        DISTRIBUTIONS.join(", ")
                    )));
                }
                read_distribution::<_, Dur, Dur>(&key, &mut map, dur_dist)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(json: &str) -> Template {
        serde_json::from_str(json).unwrap()
    }

    fn error<T: for<'de> Deserialize<'de> + fmt::Debug>(json: &str) -> String {
        serde_json::from_str::<T>(json).unwrap_err().to_string()
    }

    #[test]
    fn ln_matches_the_platform_logarithm_closely() {
        let mut x = 1e-300_f64;
        while x < 1e300 {
            let ours = ln(x);
            let std = x.ln();
            assert!(
                (ours - std).abs() <= 4.0 * f64::EPSILON * std.abs().max(1.0),
                "ln({x}) = {ours}, std {std}"
            );
            x *= 1.37;
        }
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(f64::MIN_POSITIVE / 8.0) - (f64::MIN_POSITIVE / 8.0).ln()).abs() < 1e-12);
    }

    #[test]
    fn the_generator_depends_on_seed_and_index_only() {
        let draw = |seed, index| {
            let mut r = DrawRng::for_generator(seed, index);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 0), draw(1, 0));
        assert_ne!(draw(1, 0), draw(1, 1));
        assert_ne!(draw(1, 0), draw(2, 0));
    }

    #[test]
    fn integer_draws_stay_in_their_inclusive_bounds_and_reach_both() {
        let mut r = DrawRng::for_generator(7, 0);
        let mut seen = [false; 9];
        for _ in 0..2_000 {
            let x = r.int_between(2, 10);
            assert!((2..=10).contains(&x));
            seen[(x - 2) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.int_between(i64::MIN, i64::MIN), i64::MIN);
        let _ = r.int_between(i64::MIN, i64::MAX);
    }

    #[test]
    fn exponential_and_normal_draws_have_their_moments() {
        let mut r = DrawRng::for_generator(3, 2);
        let n = 50_000;
        let mean = (0..n).map(|_| r.exponential(20.0)).sum::<f64>() / f64::from(n);
        assert!((mean - 20.0).abs() < 0.5, "{mean}");
        let xs: Vec<f64> = (0..n).map(|_| r.normal(100.0, 15.0)).collect();
        let m = xs.iter().sum::<f64>() / f64::from(n);
        let sd = (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / f64::from(n)).sqrt();
        assert!((m - 100.0).abs() < 0.5, "{m}");
        assert!((sd - 15.0).abs() < 0.5, "{sd}");
    }

    #[test]
    fn templates_keep_literals_and_find_distributions_anywhere() {
        let t = template(r#"{"memberNum": 4, "beepTone": false, "x": [1, {"y": "z"}]}"#);
        assert!(!t.varies());
        let mut r = DrawRng::for_generator(1, 0);
        assert_eq!(
            t.render(&mut r),
            serde_json::json!({"memberNum": 4, "beepTone": false, "x": [1, {"y": "z"}]})
        );

        let t = template(
            r#"{"memberNum": {"uniform": [2, 10]}, "time": {"choice": [30, 60]},
                "addresses": [{"address": {"choice": ["2001", "2002"]}, "addressType": "9"}]}"#,
        );
        assert!(t.varies());
        for _ in 0..50 {
            let body = t.render(&mut r);
            let n = body["memberNum"].as_i64().unwrap();
            assert!((2..=10).contains(&n));
            assert!([30, 60].contains(&body["time"].as_i64().unwrap()));
            let a = body["addresses"][0]["address"].as_str().unwrap();
            assert!(a == "2001" || a == "2002");
            // Field order is the template's.
            let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["memberNum", "time", "addresses"]);
        }
    }

    #[test]
    fn numbers_keep_the_type_they_were_written_with() {
        let mut r = DrawRng::for_generator(1, 0);
        let ints = template(r#"{"normal": {"mean": 30, "stddev": 10}}"#);
        let floats = template(r#"{"normal": {"mean": 30.0, "stddev": 10}}"#);
        let exp = template(r#"{"exponential": {"mean": 5}}"#);
        let uf = template(r#"{"uniform": [0.5, 2.5]}"#);
        for _ in 0..20 {
            assert!(ints.render(&mut r).is_i64());
            assert!(floats.render(&mut r).is_f64());
            assert!(exp.render(&mut r).is_i64());
            let x = uf.render(&mut r).as_f64().unwrap();
            assert!((0.5..2.5).contains(&x));
        }
    }

    #[test]
    fn invalid_draws_are_not_clamped() {
        // A normal around 0 gives negative memberNums: they are sent as they are.
        let t = template(r#"{"normal": {"mean": 0, "stddev": 50}}"#);
        let mut r = DrawRng::for_generator(1, 0);
        assert!((0..100).any(|_| t.render(&mut r).as_i64().unwrap() < 0));
    }

    #[test]
    fn bad_distributions_are_named() {
        assert!(
            error::<Template>(r#"{"uniform": [10, 2]}"#).contains("needs low <= high"),
            "{}",
            error::<Template>(r#"{"uniform": [10, 2]}"#)
        );
        assert!(error::<Template>(r#"{"uniform": [1, 2, 3]}"#).contains("exactly two"));
        assert!(error::<Template>(r#"{"uniform": [1]}"#).contains("exactly two"));
        assert!(error::<Template>(r#"{"uniform": ["a", 2]}"#).contains("expected a number"));
        assert!(error::<Template>(r#"{"choice": []}"#).contains("at least one"));
        assert!(error::<Template>(r#"{"exponential": {"mean": 0}}"#).contains("positive mean"));
        assert!(error::<Template>(r#"{"exponential": {"avg": 1}}"#).contains("unknown field"));
        assert!(
            error::<Template>(r#"{"normal": {"mean": 1, "stddev": -1}}"#).contains("stddev >= 0")
        );
        assert!(
            error::<Template>(r#"{"uniform": [1, 2], "time": 3}"#)
                .contains("exactly one key; found \"time\" after \"uniform\"")
        );
    }

    #[test]
    fn durations_may_be_fixed_or_distributions() {
        let mut r = DrawRng::for_generator(1, 0);
        let d: DurDist = serde_json::from_str(r#""10m""#).unwrap();
        assert_eq!(d.draw(&mut r), SimDuration::from_mins(10));
        let d: DurDist = serde_json::from_str("1500").unwrap();
        assert_eq!(d, DurDist::Fixed(SimDuration::from_millis(1500)));
        let d: DurDist = serde_json::from_str(r#"{"uniform": ["5m", "25m"]}"#).unwrap();
        for _ in 0..100 {
            let x = d.draw(&mut r);
            assert!(x >= SimDuration::from_mins(5) && x <= SimDuration::from_mins(25));
        }
        assert_eq!(d.max(), Some(SimDuration::from_mins(25)));
        let d: DurDist =
            serde_json::from_str(r#"{"normal": {"mean": "1s", "stddev": "10s"}}"#).unwrap();
        // Clamped at zero: a span of time is never negative.
        assert!((0..200).any(|_| d.draw(&mut r) == SimDuration::ZERO));
        let d: DurDist = serde_json::from_str(r#"{"choice": ["1s", 2000]}"#).unwrap();
        assert_eq!(
            d,
            DurDist::Choice(vec![
                SimDuration::from_secs(1),
                SimDuration::from_millis(2000)
            ])
        );
        assert!(error::<DurDist>(r#"{"uniform": ["25m", "5m"]}"#).contains("low <= high"));
        assert!(error::<DurDist>(r#"{"unifrom": ["5m", "25m"]}"#).contains("unknown distribution"));
        assert!(error::<DurDist>(r#""5q""#).contains("invalid duration"));
        assert!(error::<DurDist>("-5").contains("cannot be negative"));
        assert!(error::<DurDist>("2.5").contains("got the number 2.5"));
    }
}
