use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::Invalid;

fn now() -> DateTime<Utc> {
    // A Wednesday in the middle of a quarter.
    Utc.with_ymd_and_hms(2026, 5, 13, 15, 30, 0)
        .single()
        .unwrap_or_default()
}

fn custom(key: &str) -> Option<FieldKind> {
    match key {
        "tier" => Some(FieldKind::Choice(Some(vec![
            "gold".into(),
            "silver".into(),
        ]))),
        "budget" => Some(FieldKind::Number),
        "renewal" => Some(FieldKind::Date),
        "regions" => Some(FieldKind::Tags),
        _ => None,
    }
}

fn ok(target: Target, raw: Value) -> Filter {
    parse(&raw, "filter", target, &custom, now()).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn refused(raw: Value) -> Invalid {
    match parse(&raw, "filter", Target::Company, &custom, now()) {
        Ok(f) => panic!("{raw} parsed as {f:?}"),
        Err(e) => e,
    }
}

fn first(invalid: &Invalid) -> (&str, &str) {
    invalid
        .0
        .first()
        .map(|e| (e.field.as_str(), e.code))
        .unwrap_or_default()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn test_of(filter: &Filter) -> &Test {
    match &filter.root {
        Node::Condition(c) => &c.test,
        other => panic!("not a condition: {other:?}"),
    }
}

#[test]
fn a_condition_parses_with_its_kind() {
    let filter = ok(
        Target::Company,
        json!({"field": "industry", "op": "eq", "value": "Engineering"}),
    );
    assert_eq!(
        filter.root,
        Node::Condition(Condition {
            field: Field::Builtin("industry"),
            kind: FieldKind::Text,
            test: Test::Eq(Scalar::Text("Engineering".into())),
        })
    );
}

#[test]
fn and_or_not_nest_and_neq_is_not_eq() {
    let filter = ok(
        Target::Company,
        json!({"and": [
            {"field": "owner_id", "op": "in", "value": [1, 2]},
            {"or": [
                {"field": "name", "op": "contains", "value": "acme"},
                {"not": {"field": "tags", "op": "contains", "value": "vip"}},
            ]},
            {"field": "size_band", "op": "neq", "value": "11-50"},
        ]}),
    );
    let Node::And(parts) = &filter.root else {
        panic!("{filter:?}")
    };
    assert_eq!(parts.len(), 3);
    assert!(matches!(&parts[1], Node::Or(inner) if matches!(inner[1], Node::Not(_))));
    assert!(matches!(&parts[2], Node::Not(inner)
        if matches!(&**inner, Node::Condition(c) if c.test == Test::Eq(Scalar::Text("11-50".into())))));
    assert_eq!(filter.conditions().len(), 4);
}

#[test]
fn errors_name_their_path() {
    let invalid = refused(json!({"and": [
        {"field": "name", "op": "eq", "value": "a"},
        {"field": "name", "op": "eq", "value": "b"},
        {"field": "name", "op": "gt", "value": "c"},
    ]}));
    assert_eq!(first(&invalid), ("filter.and[2].op", "invalid_op"));
    let invalid = refused(json!({"or": [{"field": "owner_id", "op": "eq", "value": "x"}]}));
    assert_eq!(first(&invalid), ("filter.or[0].value", "invalid_value"));
    let invalid = refused(json!({"field": "nope", "op": "eq", "value": 1}));
    assert_eq!(first(&invalid), ("filter.field", "unknown_field"));
    let invalid = refused(json!({"field": "name", "op": "eq", "value": 1, "extra": 1}));
    assert_eq!(first(&invalid), ("filter.extra", "unknown_key"));
    let invalid = refused(json!({"and": [], }));
    assert_eq!(first(&invalid), ("filter.and", "invalid_filter"));
    let invalid = refused(json!({"and": [{"field": "name", "op": "eq", "value": "a"}], "or": []}));
    assert_eq!(first(&invalid), ("filter", "invalid_filter"));
    let invalid = refused(json!([1]));
    assert_eq!(first(&invalid), ("filter", "invalid_filter"));
    let invalid = refused(json!({"field": "name", "op": "eq"}));
    assert_eq!(first(&invalid), ("filter.value", "required"));
    let invalid = refused(json!({"field": "name", "op": "like", "value": "a"}));
    assert_eq!(first(&invalid), ("filter.op", "invalid_op"));
}

#[test]
fn several_errors_are_reported_together() {
    let invalid = refused(json!({"and": [
        {"field": "nope", "op": "eq", "value": "a"},
        {"field": "owner_id", "op": "eq", "value": -1},
    ]}));
    let fields: Vec<&str> = invalid.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["filter.and[0].field", "filter.and[1].value"]);
}

#[test]
fn limits_are_enforced() {
    let mut deep = json!({"field": "name", "op": "eq", "value": "a"});
    for _ in 0..MAX_DEPTH {
        deep = json!({ "not": deep });
    }
    let invalid = refused(deep);
    assert_eq!(first(&invalid).1, "too_deep");
    let mut ok_depth = json!({"field": "name", "op": "eq", "value": "a"});
    for _ in 1..MAX_DEPTH {
        ok_depth = json!({ "not": ok_depth });
    }
    ok(Target::Company, ok_depth);

    let many: Vec<Value> = (0..=MAX_CONDITIONS)
        .map(|i| json!({"field": "name", "op": "eq", "value": i.to_string()}))
        .collect();
    let invalid = refused(json!({ "or": many }));
    assert_eq!(
        first(&invalid),
        (
            format!("filter.or[{MAX_CONDITIONS}]").as_str(),
            "too_many_conditions"
        )
    );
    let values: Vec<i64> = (1..=MAX_IN_VALUES as i64 + 1).collect();
    let invalid = refused(json!({"field": "owner_id", "op": "in", "value": values}));
    assert_eq!(first(&invalid), ("filter.value", "too_many_values"));
    let long = "x".repeat(MAX_STRING_CHARS + 1);
    let invalid = refused(json!({"field": "name", "op": "contains", "value": long}));
    assert_eq!(first(&invalid), ("filter.value", "too_long"));
}

#[test]
fn values_must_fit_the_kind() {
    for (field, op, value) in [
        ("show_in_pipeline", "eq", json!("yes")),
        ("owner_id", "eq", json!(1.5)),
        ("size_band", "eq", json!("huge")),
        ("created_at", "gt", json!("tuesday")),
        ("created_at", "between", json!(["2026-01-01"])),
        ("name", "is_null", json!("true")),
        ("custom_fields.budget", "gt", json!("lots")),
        ("custom_fields.tier", "eq", json!("bronze")),
    ] {
        let invalid = refused(json!({"field": field, "op": op, "value": value}));
        assert!(
            first(&invalid).0.starts_with("filter.value"),
            "{field} {op}: {invalid}"
        );
    }
    for (field, op) in [
        ("tags", "eq"),
        ("show_in_pipeline", "gt"),
        ("created_at", "contains"),
        ("owner_id", "starts_with"),
        ("custom_fields.budget", "contains"),
    ] {
        let invalid = refused(json!({"field": field, "op": op, "value": "x"}));
        assert_eq!(first(&invalid), ("filter.op", "invalid_op"), "{field} {op}");
    }
}

#[test]
fn custom_fields_take_their_kind_from_the_resolver() {
    let filter = ok(
        Target::Contact,
        json!({"field": "custom_fields.budget", "op": "between", "value": [10, "20.5"]}),
    );
    assert_eq!(
        test_of(&filter),
        &Test::Range {
            from: Some(Bound {
                value: Scalar::Number(10.0),
                inclusive: true
            }),
            to: Some(Bound {
                value: Scalar::Number(20.5),
                inclusive: true
            }),
        }
    );
    let filter = ok(
        Target::Company,
        json!({"field": "custom_fields.regions", "op": "in", "value": ["emea", "apac"]}),
    );
    assert_eq!(
        test_of(&filter),
        &Test::HasAny(vec!["emea".into(), "apac".into()])
    );
    let invalid = refused(json!({"field": "custom_fields.unknown", "op": "eq", "value": 1}));
    assert_eq!(first(&invalid), ("filter.field", "unknown_field"));
    let invalid = parse(
        &json!({"field": "custom_fields.tier", "op": "eq", "value": "gold"}),
        "view.filter",
        Target::Company,
        &no_custom_fields,
        now(),
    )
    .err()
    .unwrap_or_default();
    assert_eq!(first(&invalid), ("view.filter.field", "unknown_field"));
}

#[test]
fn relative_dates_resolve_against_now() {
    let today = now().date_naive();
    let cases = [
        (RelativeDate::Today, day(2026, 5, 13), day(2026, 5, 13)),
        (RelativeDate::Yesterday, day(2026, 5, 12), day(2026, 5, 12)),
        (RelativeDate::Last7Days, day(2026, 5, 7), day(2026, 5, 13)),
        (RelativeDate::Next30Days, day(2026, 5, 13), day(2026, 6, 11)),
        (RelativeDate::ThisWeek, day(2026, 5, 11), day(2026, 5, 17)),
        (RelativeDate::LastWeek, day(2026, 5, 4), day(2026, 5, 10)),
        (RelativeDate::ThisMonth, day(2026, 5, 1), day(2026, 5, 31)),
        (RelativeDate::LastMonth, day(2026, 4, 1), day(2026, 4, 30)),
        (RelativeDate::ThisQuarter, day(2026, 4, 1), day(2026, 6, 30)),
        (RelativeDate::LastQuarter, day(2026, 1, 1), day(2026, 3, 31)),
        (RelativeDate::NextQuarter, day(2026, 7, 1), day(2026, 9, 30)),
        (RelativeDate::ThisYear, day(2026, 1, 1), day(2026, 12, 31)),
        (RelativeDate::LastYear, day(2025, 1, 1), day(2025, 12, 31)),
    ];
    for (relative, first_day, last_day) in cases {
        assert_eq!(
            relative.resolve(today),
            Some((first_day, last_day)),
            "{}",
            relative.as_str()
        );
    }
    assert_eq!(
        RelativeDate::LastMonth.resolve(day(2026, 1, 15)),
        Some((day(2025, 12, 1), day(2025, 12, 31)))
    );
}

#[test]
fn date_spans_become_ranges() {
    let midnight = |d: NaiveDate| Scalar::Time(d.and_time(chrono::NaiveTime::MIN).and_utc());
    // A datetime field equal to a relative date: its instants, the end excluded.
    let filter = ok(
        Target::Company,
        json!({"field": "created_at", "op": "eq", "value": "last_7_days"}),
    );
    assert_eq!(
        test_of(&filter),
        &Test::Range {
            from: Some(Bound {
                value: midnight(day(2026, 5, 7)),
                inclusive: true
            }),
            to: Some(Bound {
                value: midnight(day(2026, 5, 14)),
                inclusive: false
            }),
        }
    );
    // After a day: from the next midnight on.
    let filter = ok(
        Target::Company,
        json!({"field": "created_at", "op": "gt", "value": "2026-05-01"}),
    );
    assert_eq!(
        test_of(&filter),
        &Test::Range {
            from: Some(Bound {
                value: midnight(day(2026, 5, 2)),
                inclusive: true
            }),
            to: None,
        }
    );
    // A date field: whole days, both ends included.
    let filter = ok(
        Target::Project,
        json!({"field": "start_date", "op": "lte", "value": "this_month"}),
    );
    assert_eq!(
        test_of(&filter),
        &Test::Range {
            from: None,
            to: Some(Bound {
                value: Scalar::Date(day(2026, 5, 31)),
                inclusive: true
            }),
        }
    );
    let filter = ok(
        Target::Project,
        json!({"field": "start_date", "op": "eq", "value": "2026-05-02"}),
    );
    assert_eq!(test_of(&filter), &Test::Eq(Scalar::Date(day(2026, 5, 2))));
    // An instant stays an instant.
    let filter = ok(
        Target::Company,
        json!({"field": "updated_at", "op": "lt", "value": "2026-05-02T10:00:00+02:00"}),
    );
    assert_eq!(
        test_of(&filter),
        &Test::Range {
            from: None,
            to: Some(Bound {
                value: Scalar::Time(
                    Utc.with_ymd_and_hms(2026, 5, 2, 8, 0, 0)
                        .single()
                        .unwrap_or_default()
                ),
                inclusive: false
            }),
        }
    );
}

#[test]
fn every_kind_lists_its_ops() {
    let all = FieldKind::describe_all();
    assert_eq!(all.len(), 8);
    assert!(all[0].starts_with("text: eq, neq, in, contains"));
    for target in Target::ALL {
        let fields = builtin_fields(target);
        assert!(fields.iter().any(|(n, _)| *n == "created_at"));
        let mut names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), fields.len(), "no field twice");
    }
}
