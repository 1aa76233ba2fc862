//! The filter language, the same in every query and every transport:
//!
//! ```text
//! filter  := clause ( "and" clause )*
//! clause  := field op value
//!          | field "in" "(" value ( "," value )* ")"
//!          | field "between" value "and" value
//! field   := "task." name | "data." name | payload path (a.b.c)
//! op      := "=" | "!=" | "<" | "<=" | ">" | ">=" | "~"     (~: contains, case-insensitive)
//! value   := "quoted \"string\"" | bare-word
//! ```
//!
//! `task.<field>` filters a task column, `data.<field>` a correlated data entry, and a
//! bare path the task's payload. Values are typed by field: numbers for numeric
//! fields, ISO dates (`2026-03-01` or RFC 3339) for dates, strings otherwise. The parser
//! produces an AST; [`super::sql`] compiles it to parameterised SQL, so values never
//! become SQL text.

use std::fmt;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

impl Op {
    pub fn sql(&self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "LIKE",
        }
    }
}

/// What a clause filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Task(String),
    Data(String),
    Payload(String),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Task(n) => write!(f, "task.{n}"),
            Field::Data(n) => write!(f, "data.{n}"),
            Field::Payload(p) => write!(f, "{p}"),
        }
    }
}

/// One condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Compare {
        field: Field,
        op: Op,
        value: String,
    },
    In {
        field: Field,
        values: Vec<String>,
    },
    Between {
        field: Field,
        low: String,
        high: String,
    },
}

/// A parsed filter: all clauses must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub clauses: Vec<Clause>,
}

impl Clause {
    pub fn field(&self) -> &Field {
        match self {
            Clause::Compare { field, .. }
            | Clause::In { field, .. }
            | Clause::Between { field, .. } => field,
        }
    }
}

impl Filter {
    /// Whether a clause filters on the payload (answered from the search index).
    pub fn uses_payload(&self) -> bool {
        self.clauses
            .iter()
            .any(|c| matches!(c.field(), Field::Payload(_)))
    }
}

/// A filter that cannot be parsed, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at character {at}: {message}")]
pub struct FilterError {
    pub at: usize,
    pub message: String,
}

/// The longest filter accepted.
pub const MAX_FILTER_LEN: usize = 4096;
/// The longest value of a `~` (contains) clause.
pub const MAX_CONTAINS_LEN: usize = 256;
/// The most clauses (and `in` values) accepted.
pub const MAX_CLAUSES: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Op),
    LParen,
    RParen,
    Comma,
}

fn lex(input: &str) -> Result<Vec<(usize, Token)>, FilterError> {
    let err = |at: usize, message: String| FilterError { at, message };
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((at, Token::LParen));
                i += 1;
            }
            ')' => {
                tokens.push((at, Token::RParen));
                i += 1;
            }
            ',' => {
                tokens.push((at, Token::Comma));
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&(_, c)) = chars.get(i) else {
                        return Err(err(at, "unterminated quoted string".into()));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => match chars.get(i) {
                            Some(&(_, e @ ('"' | '\\'))) => {
                                s.push(e);
                                i += 1;
                            }
                            _ => {
                                return Err(err(
                                    at,
                                    "only \\\" and \\\\ may be escaped in a quoted string".into(),
                                ))
                            }
                        },
                        c => s.push(c),
                    }
                }
                tokens.push((at, Token::Quoted(s)));
            }
            '=' | '!' | '<' | '>' | '~' => {
                let next = chars.get(i + 1).map(|&(_, c)| c);
                let (op, len) = match (c, next) {
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('=', _) => (Op::Eq, 1),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    ('~', _) => (Op::Contains, 1),
                    _ => return Err(err(at, "`!` must be followed by `=`".into())),
                };
                tokens.push((at, Token::Op(op)));
                i += len;
            }
            _ => {
                let start = i;
                while let Some(&(_, c)) = chars.get(i) {
                    if c.is_whitespace() || "()\",=!<>~".contains(c) {
                        break;
                    }
                    i += 1;
                }
                let word: String = chars[start..i].iter().map(|&(_, c)| c).collect();
                tokens.push((at, Token::Word(word)));
            }
        }
    }
    Ok(tokens)
}

fn is_keyword(t: &Token, kw: &str) -> bool {
    matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(kw))
}

fn parse_field(at: usize, word: &str) -> Result<Field, FilterError> {
    let valid_segment = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    };
    if word.split('.').any(|s| !valid_segment(s)) {
        return Err(FilterError { at, message: format!("`{word}` is not a field: use task.<field>, data.<field> or a payload path like amount or customer.name") });
    }
    Ok(match word.split_once('.') {
        Some(("task", rest)) => Field::Task(rest.to_string()),
        Some(("data", rest)) => Field::Data(rest.to_string()),
        _ => Field::Payload(word.to_string()),
    })
}

impl Filter {
    /// Parses a filter; the empty string is the filter that admits everything.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                at: MAX_FILTER_LEN,
                message: format!("a filter may be at most {MAX_FILTER_LEN} bytes long"),
            });
        }
        let tokens = lex(input)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            end: input.len(),
        };
        let mut clauses = Vec::new();
        if p.peek().is_none() {
            return Ok(Filter { clauses });
        }
        loop {
            clauses.push(p.clause()?);
            if clauses.len() > MAX_CLAUSES {
                return Err(FilterError {
                    at: p.at(),
                    message: format!("a filter may have at most {MAX_CLAUSES} clauses"),
                });
            }
            match p.next() {
                None => break,
                Some((_, t)) if is_keyword(&t, "and") => continue,
                Some((at, t)) => {
                    return Err(FilterError {
                        at,
                        message: format!("expected `and` between clauses, got {}", describe(&t)),
                    })
                }
            }
        }
        Ok(Filter { clauses })
    }

    /// Parses several filters (as from repeated query parameters) into one.
    pub fn parse_all<'a>(inputs: impl IntoIterator<Item = &'a str>) -> Result<Filter, FilterError> {
        let mut all = Filter::default();
        for input in inputs {
            all.clauses.extend(Filter::parse(input)?.clauses);
        }
        Ok(all)
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("`{w}`"),
        Token::Quoted(q) => format!("\"{q}\""),
        Token::Op(o) => format!("`{}`", if *o == Op::Contains { "~" } else { o.sql() }),
        Token::LParen => "`(`".into(),
        Token::RParen => "`)`".into(),
        Token::Comma => "`,`".into(),
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<(usize, Token)> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn at(&self) -> usize {
        self.peek().map(|(a, _)| *a).unwrap_or(self.end)
    }
    fn expected(&self, what: &str) -> FilterError {
        match self.peek() {
            Some((at, t)) => FilterError {
                at: *at,
                message: format!("expected {what}, got {}", describe(t)),
            },
            None => FilterError {
                at: self.end,
                message: format!("expected {what}, got the end of the filter"),
            },
        }
    }
    fn value(&mut self) -> Result<String, FilterError> {
        match self.peek() {
            Some((_, Token::Word(w))) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            Some((_, Token::Quoted(q))) => {
                let q = q.clone();
                self.pos += 1;
                Ok(q)
            }
            _ => Err(self.expected("a value")),
        }
    }
    fn clause(&mut self) -> Result<Clause, FilterError> {
        let (at, field) = match self.next() {
            Some((at, Token::Word(w))) => (at, parse_field(at, &w)?),
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.expected("a field"));
            }
        };
        let _ = at;
        match self.peek().cloned() {
            Some((value_at, Token::Op(op))) => {
                self.pos += 1;
                let value = self.value()?;
                // A `~` is a scan with a pattern: keep the pattern short.
                if op == Op::Contains && value.chars().count() > MAX_CONTAINS_LEN {
                    return Err(FilterError {
                        at: value_at,
                        message: format!(
                            "a `~` value may hold at most {MAX_CONTAINS_LEN} characters"
                        ),
                    });
                }
                Ok(Clause::Compare { field, op, value })
            }
            Some((_, t)) if is_keyword(&t, "in") => {
                self.pos += 1;
                if !matches!(self.next(), Some((_, Token::LParen))) {
                    self.pos -= 1;
                    return Err(self.expected("`(` after `in`"));
                }
                let mut values = vec![self.value()?];
                loop {
                    match self.next() {
                        Some((_, Token::Comma)) => values.push(self.value()?),
                        Some((_, Token::RParen)) => break,
                        _ => {
                            self.pos -= 1;
                            return Err(self.expected("`,` or `)`"));
                        }
                    }
                    if values.len() > MAX_CLAUSES {
                        return Err(FilterError {
                            at: self.at(),
                            message: format!("`in` may list at most {MAX_CLAUSES} values"),
                        });
                    }
                }
                Ok(Clause::In { field, values })
            }
            Some((_, t)) if is_keyword(&t, "between") => {
                self.pos += 1;
                let low = self.value()?;
                match self.peek() {
                    Some((_, t)) if is_keyword(t, "and") => self.pos += 1,
                    _ => return Err(self.expected("`and` in `between … and …`")),
                }
                let high = self.value()?;
                Ok(Clause::Between { field, low, high })
            }
            _ => Err(self.expected("an operator (=, !=, <, <=, >, >=, ~, in, between)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: Field, op: Op, value: &str) -> Clause {
        Clause::Compare {
            field,
            op,
            value: value.into(),
        }
    }

    #[test]
    fn parses_every_form() {
        let f = Filter::parse(r#"task.priority >= 50 and amount<100 AND customer.name ~ "acme \"inc\"" and task.assignee in (alice, "bob b") and data.state != done and task.due between 2026-01-01 and 2026-02-01"#).expect("parses");
        assert_eq!(
            f.clauses,
            vec![
                cmp(Field::Task("priority".into()), Op::Ge, "50"),
                cmp(Field::Payload("amount".into()), Op::Lt, "100"),
                cmp(
                    Field::Payload("customer.name".into()),
                    Op::Contains,
                    "acme \"inc\""
                ),
                Clause::In {
                    field: Field::Task("assignee".into()),
                    values: vec!["alice".into(), "bob b".into()]
                },
                cmp(Field::Data("state".into()), Op::Ne, "done"),
                Clause::Between {
                    field: Field::Task("due".into()),
                    low: "2026-01-01".into(),
                    high: "2026-02-01".into()
                },
            ]
        );
        assert_eq!(Filter::parse("  ").expect("empty"), Filter::default());
    }

    #[test]
    fn injection_strings_are_values() {
        let f = Filter::parse(r#"name = "x' OR 1=1; DROP TABLE tasks; --""#).expect("parses");
        assert_eq!(
            f.clauses,
            vec![cmp(
                Field::Payload("name".into()),
                Op::Eq,
                "x' OR 1=1; DROP TABLE tasks; --"
            )]
        );
    }

    #[test]
    fn malformed_filters_say_where_and_why() {
        for (input, expect) in [
            ("task.priority", "expected an operator"),
            ("task.priority >", "expected a value, got the end"),
            ("a = 1 b = 2", "expected `and` between clauses"),
            ("a = \"open", "unterminated quoted string"),
            ("a in 1, 2", "`(` after `in`"),
            ("a in (1 2)", "`,` or `)`"),
            ("a between 1 2", "`and` in `between"),
            ("a ! 1", "`!` must be followed by `=`"),
            ("a.. = 1", "is not a field"),
            ("'; DROP TABLE tasks = 1", "is not a field"),
            ("= 1", "expected a field"),
        ] {
            let e = Filter::parse(input).expect_err(input);
            assert!(e.message.contains(expect), "`{input}`: {e}");
        }
        let long = "a = 1 and ".repeat(500);
        assert!(Filter::parse(&long).is_err());
    }
}

#[cfg(test)]
mod contains_bound_tests {
    use super::*;

    #[test]
    fn a_contains_value_is_bounded() {
        assert!(Filter::parse(&format!("name ~ \"{}\"", "a".repeat(256))).is_ok());
        let err = Filter::parse(&format!("name ~ \"{}\"", "a".repeat(257))).expect_err("refused");
        assert!(err.message.contains("at most 256"), "{err}");
        // Other operators are bounded by the filter's length only.
        assert!(Filter::parse(&format!("name = \"{}\"", "a".repeat(1000))).is_ok());
    }
}
