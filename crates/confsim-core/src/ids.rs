//! Identifiers: agents (`AgentId`), conferences (`ConfId`), and sets and ranges of agent ids.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// An agent's work number (the `{agentid}` of every URI, the `workNo` of every event).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub u32);

impl AgentId {
    /// The id in decimal, as a path and `workNo` carry it: what `to_string` gives, without the
    /// formatting machinery (this runs for every generated input).
    pub fn decimal(self) -> String {
        itoa::Buffer::new().format(self.0).to_owned()
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A conference id: a positive integer, unique in a run, a JSON number on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfId(pub u64);

impl fmt::Display for ConfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The inclusive range of agent ids the platform accepts in a path.
///
/// The vendor's older pages (and the URI template of its generated JavaScript client) say
/// 101-59999; the newer pages say 101-999999. The default is the older, narrower range, the one
/// the seed page documents; a scenario widens it with `"agentIdRange": "101-999999"`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AgentRange {
    pub min: u32,
    pub max: u32,
}

impl Default for AgentRange {
    fn default() -> Self {
        AgentRange {
            min: 101,
            max: 59_999,
        }
    }
}

impl AgentRange {
    pub fn contains(&self, id: u32) -> bool {
        (self.min..=self.max).contains(&id)
    }

    /// Parses the `{agentid}` of a URI. Only canonical decimal numbers are ids: no sign, no
    /// leading zero, no spaces (the vendor's path template is `[1-9][\d]{0,3}|[1-5][\d]{4}`).
    /// Anything else, or a number outside the range, is `None` and answers `000-002`.
    pub fn parse_path_id(&self, raw: &str) -> Option<AgentId> {
        let bytes = raw.as_bytes();
        if bytes.is_empty() || bytes.len() > 10 || bytes[0] == b'0' {
            return None;
        }
        // One pass, digits checked as they are added (every input's path id is parsed twice,
        // by `decide` and `apply`; `str::parse` after a separate check was twice the work).
        // Ten digits fit a u64, so only the final range check can overflow a u32.
        let mut id: u64 = 0;
        for &b in bytes {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            id = id * 10 + u64::from(digit);
        }
        let id = u32::try_from(id).ok()?;
        self.contains(id).then_some(AgentId(id))
    }
}

impl fmt::Display for AgentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min, self.max)
    }
}

fn parse_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('-')?;
    let a: u32 = a.trim().parse().ok()?;
    let b: u32 = b.trim().parse().ok()?;
    (a >= 1 && a <= b).then_some((a, b))
}

impl Serialize for AgentRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AgentRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let (min, max) = parse_range(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid agent id range {text:?}: expected \"MIN-MAX\" such as \"101-59999\""
            ))
        })?;
        Ok(AgentRange { min, max })
    }
}

/// A set of agents in a scenario: a range string (`"101-1100"`), a list of ids, or one id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSet {
    Range(u32, u32),
    List(Vec<u32>),
    One(u32),
}

impl AgentSet {
    /// The ids in ascending order of appearance (a list keeps its written order).
    pub fn iter(&self) -> Box<dyn Iterator<Item = AgentId> + '_> {
        match self {
            AgentSet::Range(a, b) => Box::new((*a..=*b).map(AgentId)),
            AgentSet::List(ids) => Box::new(ids.iter().copied().map(AgentId)),
            AgentSet::One(id) => Box::new(std::iter::once(AgentId(*id))),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            AgentSet::Range(a, b) => (b - a) as usize + 1,
            AgentSet::List(ids) => ids.len(),
            AgentSet::One(_) => 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first id of the set that lies outside `range`, if any.
    pub fn first_outside(&self, range: &AgentRange) -> Option<u32> {
        match self {
            AgentSet::Range(a, b) => [*a, *b].into_iter().find(|id| !range.contains(*id)),
            AgentSet::List(ids) => ids.iter().copied().find(|id| !range.contains(*id)),
            AgentSet::One(id) => (!range.contains(*id)).then_some(*id),
        }
    }
}

impl Serialize for AgentSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AgentSet::Range(a, b) => s.collect_str(&format_args!("{a}-{b}")),
            AgentSet::List(ids) => ids.serialize(s),
            AgentSet::One(id) => s.serialize_u32(*id),
        }
    }
}

impl<'de> Deserialize<'de> for AgentSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AgentSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an agent id, a list of agent ids, or a range string such as \"101-1100\"",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AgentSet, E> {
                u32::try_from(v)
                    .ok()
                    .filter(|v| *v > 0)
                    .map(AgentSet::One)
                    .ok_or_else(|| E::custom(format!("agent id {v} is out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AgentSet, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("agent id {v} is out of range")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AgentSet, E> {
                if let Ok(id) = v.parse::<u32>() {
                    return self.visit_u64(u64::from(id));
                }
                parse_range(v)
                    .map(|(a, b)| AgentSet::Range(a, b))
                    .ok_or_else(|| {
                        E::custom(format!(
                            "invalid agent range {v:?}: expected \"MIN-MAX\" with MIN <= MAX"
                        ))
                    })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<AgentSet, A::Error> {
                let mut ids = Vec::new();
                while let Some(id) = seq.next_element::<u32>()? {
                    ids.push(id);
                }
                if ids.is_empty() {
                    return Err(de::Error::custom("an agent list must not be empty"));
                }
                Ok(AgentSet::List(ids))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_are_canonical_numbers_in_range() {
        let r = AgentRange::default();
        assert_eq!(r.parse_path_id("101"), Some(AgentId(101)));
        assert_eq!(r.parse_path_id("59999"), Some(AgentId(59_999)));
        for bad in [
            "100",
            "60000",
            "0101",
            "",
            "abc",
            "+101",
            "-101",
            " 101",
            "101 ",
            "1e3",
            "99999999999",
        ] {
            assert_eq!(r.parse_path_id(bad), None, "{bad:?}");
        }
        let wide = AgentRange {
            min: 101,
            max: 999_999,
        };
        assert_eq!(wide.parse_path_id("999999"), Some(AgentId(999_999)));
        // Ten digits: the top of u32 and just past it, and multibyte digits.
        let all = AgentRange {
            min: 1,
            max: u32::MAX,
        };
        assert_eq!(all.parse_path_id("4294967295"), Some(AgentId(u32::MAX)));
        for bad in ["4294967296", "9999999999", "１０１", "10/1", "1:1"] {
            assert_eq!(all.parse_path_id(bad), None, "{bad:?}");
        }
        // Agrees with "digits only, no leading zero, then `str::parse`" on every short
        // string of digits and a few other bytes.
        let alphabet = ["0", "1", "9", "5", "a", "/", ":", " "];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        for raw in &strings {
            let expected = (!raw.is_empty()
                && !raw.starts_with('0')
                && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| raw.parse::<u32>().ok())
            .flatten()
            .filter(|id| all.contains(*id))
            .map(AgentId);
            assert_eq!(all.parse_path_id(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn agent_sets_read_every_form() {
        let set: AgentSet = serde_json::from_str("\"101-103\"").unwrap();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![AgentId(101), AgentId(102), AgentId(103)]
        );
        let set: AgentSet = serde_json::from_str("[2001, 2002]").unwrap();
        assert_eq!(set.len(), 2);
        let set: AgentSet = serde_json::from_str("7").unwrap();
        assert_eq!(set, AgentSet::One(7));
        assert!(serde_json::from_str::<AgentSet>("\"103-101\"").is_err());
        assert!(serde_json::from_str::<AgentSet>("[]").is_err());
        assert!(serde_json::from_str::<AgentSet>("-4").is_err());
    }
}
