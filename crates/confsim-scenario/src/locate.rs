//! Finds where a JSON path points in a document's text, for error messages about values that
//! parsed but do not make sense (an agent outside the platform's range, an operation not
//! implemented): serde reports line and column only for errors it raises itself.
//!
//! A small scanner over the text, not a parser: it assumes the text is valid JSON (it was just
//! parsed) and returns `None` rather than guessing when anything is unexpected.

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Parses `steps[3].body.memberNum` into segments.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                segs.push(Seg::Key(rest[..i].to_owned()));
            }
            rest = &rest[i..];
            while let Some(close) = rest.find(']') {
                if let Ok(n) = rest[1..close].parse() {
                    segs.push(Seg::Index(n));
                }
                rest = &rest[close + 1..];
                if !rest.starts_with('[') {
                    break;
                }
            }
        } else {
            segs.push(Seg::Key(rest.to_owned()));
        }
    }
    segs
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn string(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return serde_json::from_slice(&self.b[start..self.i]).ok();
                }
                _ => self.i += 1,
            }
        }
        None
    }

    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match self.b.get(self.i)? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                while self.i < self.b.len() {
                    match self.b[self.i] {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                None
            }
            _ => {
                while self.i < self.b.len() && !b",}] \t\r\n".contains(&self.b[self.i]) {
                    self.i += 1;
                }
                Some(())
            }
        }
    }

    /// Moves to the start of the value that `seg` selects in the value at the cursor.
    fn enter(&mut self, seg: &Seg) -> Option<()> {
        match seg {
            Seg::Key(key) => {
                self.eat(b'{')?;
                loop {
                    let k = self.string()?;
                    self.eat(b':')?;
                    if &k == key {
                        self.ws();
                        return Some(());
                    }
                    self.skip_value()?;
                    self.eat(b',')?;
                }
            }
            Seg::Index(n) => {
                self.eat(b'[')?;
                for _ in 0..*n {
                    self.skip_value()?;
                    self.eat(b',')?;
                }
                self.ws();
                Some(())
            }
        }
    }
}

/// The 1-based line and column where the value at `path` starts in `text`.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    for seg in parse_path(path) {
        s.enter(&seg)?;
    }
    s.ws();
    let before = &text.as_bytes()[..s.i.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = text[line_start..s.i.min(text.len())].chars().count() + 1;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_keys_and_indexes() {
        assert_eq!(
            parse_path("steps[3].body.memberNum"),
            vec![
                Seg::Key("steps".into()),
                Seg::Index(3),
                Seg::Key("body".into()),
                Seg::Key("memberNum".into())
            ]
        );
        assert_eq!(
            parse_path("a[0][2]"),
            vec![Seg::Key("a".into()), Seg::Index(0), Seg::Index(2)]
        );
    }

    #[test]
    fn values_are_found_where_they_start() {
        let text = "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"at\": \"0s\", \"body\": {\"memberNum\": 400}},\n    {\"op\": \"a\\\"b\", \"at\": 5}\n  ]\n}";
        assert_eq!(locate(text, "name"), Some((2, 11)));
        assert_eq!(locate(text, "steps[0].body.memberNum"), Some((4, 40)));
        assert_eq!(locate(text, "steps[1].at"), Some((5, 26)));
        assert_eq!(locate(text, "steps[2]"), None);
        assert_eq!(locate(text, "missing"), None);
    }
}
