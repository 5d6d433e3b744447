//! From JSON to a [`Filter`]: every error names its JSON path (`filter.and[2].value`), and
//! as many as can be found are reported at once.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use serde_json::{Map, Value};

use super::{
    Bound, CUSTOM_PREFIX, Condition, Field, FieldKind, Filter, MAX_CONDITIONS, MAX_DEPTH,
    MAX_IN_VALUES, MAX_STRING_CHARS, Node, Op, RelativeDate, Scalar, Target, Test, builtin_field,
};
use crate::{FieldError, Invalid};

/// Parses `raw` (the JSON found at `root`, say `filter`) into a filter over `target`'s
/// fields. `custom` gives the kind of a custom field by its key, `None` when the account
/// defines no such field; relative dates are resolved against `now`. Views and lists call it
/// again with the JSON they stored.
pub fn parse(
    raw: &Value,
    root: &str,
    target: Target,
    custom: &dyn Fn(&str) -> Option<FieldKind>,
    now: DateTime<Utc>,
) -> Result<Filter, Invalid> {
    let mut parser = Parser {
        target,
        custom,
        today: now.date_naive(),
        invalid: Invalid::default(),
        conditions: 0,
    };
    let node = parser.node(raw, root, 1);
    match node {
        Some(root) if parser.invalid.is_empty() => Ok(Filter { root }),
        _ => {
            if parser.invalid.is_empty() {
                parser.error(root, "invalid_filter", "is not a valid filter");
            }
            Err(parser.invalid)
        }
    }
}

struct Parser<'a> {
    target: Target,
    custom: &'a dyn Fn(&str) -> Option<FieldKind>,
    today: NaiveDate,
    invalid: Invalid,
    conditions: usize,
}

/// The days or instants a date value stands for: from `lo` (included) to `hi`.
struct Span {
    lo: Scalar,
    hi: Bound,
}

impl Span {
    fn point(value: Scalar) -> Span {
        Span {
            lo: value.clone(),
            hi: Bound {
                value,
                inclusive: true,
            },
        }
    }
}

const SHAPE: &str = "must be an object: {\"and\": [..]}, {\"or\": [..]}, {\"not\": {..}} or {\"field\", \"op\", \"value\"}";

impl Parser<'_> {
    fn error(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.invalid.push(FieldError::new(path, code, message));
    }

    fn node(&mut self, raw: &Value, path: &str, depth: usize) -> Option<Node> {
        let Value::Object(map) = raw else {
            self.error(path, "invalid_filter", SHAPE);
            return None;
        };
        if depth > MAX_DEPTH {
            self.error(
                path,
                "too_deep",
                format!("and, or and not may nest at most {MAX_DEPTH} levels deep"),
            );
            return None;
        }
        for key in ["and", "or", "not"] {
            if let Some(inner) = map.get(key) {
                if map.len() > 1 {
                    self.error(
                        path,
                        "invalid_filter",
                        format!("`{key}` must be the object's only key"),
                    );
                    return None;
                }
                let inner_path = format!("{path}.{key}");
                return match key {
                    "not" => self
                        .node(inner, &inner_path, depth + 1)
                        .map(|n| Node::Not(Box::new(n))),
                    _ => {
                        let nodes = self.list(inner, &inner_path, depth)?;
                        Some(if key == "and" {
                            Node::And(nodes)
                        } else {
                            Node::Or(nodes)
                        })
                    }
                };
            }
        }
        self.condition(map, path)
    }

    fn list(&mut self, raw: &Value, path: &str, depth: usize) -> Option<Vec<Node>> {
        let Some(items) = raw.as_array().filter(|a| !a.is_empty()) else {
            self.error(
                path,
                "invalid_filter",
                "must be a non-empty array of filters",
            );
            return None;
        };
        let mut nodes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(node) = self.node(item, &format!("{path}[{i}]"), depth + 1) {
                nodes.push(node);
            }
        }
        (nodes.len() == items.len()).then_some(nodes)
    }

    fn condition(&mut self, map: &Map<String, Value>, path: &str) -> Option<Node> {
        if let Some(key) = map
            .keys()
            .find(|k| !["field", "op", "value"].contains(&k.as_str()))
        {
            self.error(
                &format!("{path}.{key}"),
                "unknown_key",
                format!("is not a key of a filter; {SHAPE}"),
            );
            return None;
        }
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            if self.conditions == MAX_CONDITIONS + 1 {
                self.error(
                    path,
                    "too_many_conditions",
                    format!("a filter may hold at most {MAX_CONDITIONS} conditions"),
                );
            }
            return None;
        }
        let field = self.field(map.get("field"), &format!("{path}.field"));
        let op = self.op(map.get("op"), &format!("{path}.op"));
        let (field, kind) = field?;
        let op = op?;
        if !kind.ops().contains(&op) {
            let ops: Vec<&str> = kind.ops().iter().map(|o| o.as_str()).collect();
            self.error(
                &format!("{path}.op"),
                "invalid_op",
                format!(
                    "a {} field takes {}, not {}",
                    kind.as_str(),
                    ops.join(", "),
                    op.as_str()
                ),
            );
            return None;
        }
        let value_path = format!("{path}.value");
        let Some(value) = map.get("value") else {
            self.error(&value_path, "required", "is required");
            return None;
        };
        let test = self.test(&kind, op, value, &value_path)?;
        let condition = Node::Condition(Condition { field, kind, test });
        Some(if op == Op::Neq {
            Node::Not(Box::new(condition))
        } else {
            condition
        })
    }

    fn field(&mut self, raw: Option<&Value>, path: &str) -> Option<(Field, FieldKind)> {
        let Some(name) = raw.and_then(Value::as_str) else {
            self.error(path, "required", "must be a field's name");
            return None;
        };
        let found = match name.strip_prefix(CUSTOM_PREFIX) {
            Some(key) if !key.is_empty() && key.chars().count() <= 64 => {
                (self.custom)(key).map(|kind| (Field::Custom(key.to_owned()), kind))
            }
            Some(_) => None,
            None => builtin_field(self.target, name).map(|(n, kind)| (Field::Builtin(n), kind)),
        };
        if found.is_none() {
            let shown: String = name.chars().take(64).collect();
            self.error(
                path,
                "unknown_field",
                format!(
                    "a {} has no field `{shown}`: name a built-in field or `{CUSTOM_PREFIX}<key>` of a defined custom field",
                    self.target.as_str()
                ),
            );
        }
        found
    }

    fn op(&mut self, raw: Option<&Value>, path: &str) -> Option<Op> {
        let found = raw
            .and_then(Value::as_str)
            .and_then(|s| Op::ALL.into_iter().find(|o| o.as_str() == s));
        if found.is_none() {
            let ops: Vec<&str> = Op::ALL.iter().map(|o| o.as_str()).collect();
            self.error(
                path,
                "invalid_op",
                format!("must be one of {}", ops.join(", ")),
            );
        }
        found
    }

    fn test(&mut self, kind: &FieldKind, op: Op, raw: &Value, path: &str) -> Option<Test> {
        match op {
            Op::IsNull => match raw {
                Value::Bool(b) => Some(Test::IsNull(*b)),
                _ => {
                    self.error(path, "invalid_value", "must be true or false");
                    None
                }
            },
            Op::In => {
                let items = self.values(raw, path, None)?;
                let mut scalars = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    scalars.push(self.scalar(kind, item, &format!("{path}[{i}]")));
                }
                let scalars: Vec<Scalar> = scalars.into_iter().collect::<Option<_>>()?;
                Some(match kind {
                    FieldKind::Tags => Test::HasAny(texts(scalars)),
                    _ => Test::In(scalars),
                })
            }
            Op::Contains | Op::StartsWith => {
                let text = self.text(raw, path, 1)?;
                Some(match (kind, op) {
                    (FieldKind::Tags, _) => Test::HasAny(vec![text]),
                    (_, Op::Contains) => Test::Contains(text),
                    _ => Test::StartsWith(text),
                })
            }
            Op::Eq | Op::Neq => {
                let span = self.span(kind, raw, path)?;
                Some(if span.hi.inclusive && span.hi.value == span.lo {
                    Test::Eq(span.lo)
                } else {
                    Test::Range {
                        from: Some(Bound {
                            value: span.lo,
                            inclusive: true,
                        }),
                        to: Some(span.hi),
                    }
                })
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                let span = self.span(kind, raw, path)?;
                let (from, to) = match op {
                    Op::Gt => (
                        Some(Bound {
                            value: span.hi.value,
                            inclusive: !span.hi.inclusive,
                        }),
                        None,
                    ),
                    Op::Gte => (
                        Some(Bound {
                            value: span.lo,
                            inclusive: true,
                        }),
                        None,
                    ),
                    Op::Lt => (
                        None,
                        Some(Bound {
                            value: span.lo,
                            inclusive: false,
                        }),
                    ),
                    _ => (None, Some(span.hi)),
                };
                Some(Test::Range { from, to })
            }
            Op::Between => {
                let items = self.values(raw, path, Some(2))?;
                let lo = self.span(kind, &items[0], &format!("{path}[0]"));
                let hi = self.span(kind, &items[1], &format!("{path}[1]"));
                let (lo, hi) = (lo?, hi?);
                Some(Test::Range {
                    from: Some(Bound {
                        value: lo.lo,
                        inclusive: true,
                    }),
                    to: Some(hi.hi),
                })
            }
        }
    }

    /// An array of values: exactly `exactly` of them when given, else 1 to the `in` limit.
    fn values<'v>(
        &mut self,
        raw: &'v Value,
        path: &str,
        exactly: Option<usize>,
    ) -> Option<&'v Vec<Value>> {
        let Some(items) = raw.as_array() else {
            self.error(path, "invalid_value", "must be an array");
            return None;
        };
        match exactly {
            Some(n) if items.len() != n => {
                self.error(
                    path,
                    "invalid_value",
                    format!("must hold exactly {n} values"),
                );
                None
            }
            None if items.is_empty() => {
                self.error(path, "invalid_value", "must hold at least one value");
                None
            }
            None if items.len() > MAX_IN_VALUES => {
                self.error(
                    path,
                    "too_many_values",
                    format!("may hold at most {MAX_IN_VALUES} values"),
                );
                None
            }
            _ => Some(items),
        }
    }

    fn text(&mut self, raw: &Value, path: &str, min: usize) -> Option<String> {
        let Some(text) = raw.as_str() else {
            self.error(path, "invalid_value", "must be a string");
            return None;
        };
        let chars = text.chars().count();
        if chars > MAX_STRING_CHARS {
            self.error(
                path,
                "too_long",
                format!("must be at most {MAX_STRING_CHARS} characters"),
            );
            return None;
        }
        if chars < min {
            self.error(path, "invalid_value", "must not be empty");
            return None;
        }
        Some(text.to_owned())
    }

    /// A value a field of `kind` equals or is compared with.
    fn scalar(&mut self, kind: &FieldKind, raw: &Value, path: &str) -> Option<Scalar> {
        match kind {
            FieldKind::Text | FieldKind::Tags => self.text(raw, path, 0).map(Scalar::Text),
            FieldKind::Choice(options) => {
                let text = self.text(raw, path, 0)?;
                if let Some(options) = options
                    && !options.contains(&text)
                {
                    self.error(
                        path,
                        "invalid_choice",
                        format!("must be one of {}", options.join(", ")),
                    );
                    return None;
                }
                Some(Scalar::Text(text))
            }
            FieldKind::Number => {
                let number = match raw {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) if s.len() <= 40 => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                match number.filter(|n| n.is_finite()) {
                    Some(n) => Some(Scalar::Number(n)),
                    None => {
                        self.error(path, "invalid_value", "must be a number");
                        None
                    }
                }
            }
            FieldKind::Boolean => match raw {
                Value::Bool(b) => Some(Scalar::Bool(*b)),
                _ => {
                    self.error(path, "invalid_value", "must be true or false");
                    None
                }
            },
            FieldKind::Id => match raw.as_i64().filter(|id| *id >= 1) {
                Some(id) => Some(Scalar::Id(id)),
                None => {
                    self.error(path, "invalid_value", "must be a positive integer id");
                    None
                }
            },
            FieldKind::Date | FieldKind::DateTime => self.span(kind, raw, path).map(|s| s.lo),
        }
    }

    /// What a value stands for: a point for most kinds; for dates, the days (or instants)
    /// a date or a relative date covers.
    fn span(&mut self, kind: &FieldKind, raw: &Value, path: &str) -> Option<Span> {
        let timed = match kind {
            FieldKind::Date => false,
            FieldKind::DateTime => true,
            _ => return self.scalar(kind, raw, path).map(Span::point),
        };
        let relative_names = || {
            RelativeDate::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(text) = raw.as_str().filter(|t| t.len() <= 64) else {
            let what = if timed {
                "an RFC 3339 time, a date (YYYY-MM-DD)"
            } else {
                "a date (YYYY-MM-DD)"
            };
            self.error(
                path,
                "invalid_value",
                format!("must be {what} or one of {}", relative_names()),
            );
            return None;
        };
        if timed && let Ok(time) = DateTime::parse_from_rfc3339(text) {
            let time = time.with_timezone(&Utc);
            if !(1..=9999).contains(&time.year()) {
                self.error(path, "out_of_range", "must be between the years 1 and 9999");
                return None;
            }
            return Some(Span::point(Scalar::Time(time)));
        }
        let days = match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) if (1..=9999).contains(&day.year()) => Some((day, day)),
            Ok(_) => {
                self.error(path, "out_of_range", "must be between the years 1 and 9999");
                return None;
            }
            Err(_) => RelativeDate::parse(text).and_then(|r| r.resolve(self.today)),
        };
        let Some((first, last)) = days else {
            self.error(
                path,
                "invalid_value",
                format!(
                    "must be {} or one of {}",
                    if timed {
                        "an RFC 3339 time, a date (YYYY-MM-DD),"
                    } else {
                        "a date (YYYY-MM-DD)"
                    },
                    relative_names()
                ),
            );
            return None;
        };
        if !timed {
            return Some(Span {
                lo: Scalar::Date(first),
                hi: Bound {
                    value: Scalar::Date(last),
                    inclusive: true,
                },
            });
        }
        // Instants: from the first day's midnight (UTC) up to the midnight after the last.
        let midnight = |d: NaiveDate| Scalar::Time(d.and_time(NaiveTime::MIN).and_utc());
        let after = last.checked_add_days(Days::new(1));
        Some(Span {
            lo: midnight(first),
            hi: match after {
                Some(next) => Bound {
                    value: midnight(next),
                    inclusive: false,
                },
                None => Bound {
                    value: Scalar::Time(last.and_time(NaiveTime::MIN).and_utc()),
                    inclusive: true,
                },
            },
        })
    }
}

fn texts(scalars: Vec<Scalar>) -> Vec<String> {
    scalars
        .into_iter()
        .filter_map(|s| match s {
            Scalar::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}
