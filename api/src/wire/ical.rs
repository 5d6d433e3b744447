//! Writing iCalendar (RFC 5545): content lines ended by CRLF and folded at 75 octets without
//! splitting a character, TEXT values escaped, dates and UTC times. What a feed holds is
//! [`super::calendar`]'s.

use chrono::{DateTime, NaiveDate, Utc};

/// The longest a content line may be, in octets, not counting its CRLF (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// An iCalendar object being written, line by line.
#[derive(Debug, Default)]
pub struct Ical {
    out: String,
}

impl Ical {
    pub fn begin(&mut self, component: &str) {
        self.line("BEGIN", component);
    }

    pub fn end(&mut self, component: &str) {
        self.line("END", component);
    }

    /// A property whose value is TEXT: escaped here.
    pub fn text(&mut self, name: &str, value: &str) {
        self.line(name, &escape_text(value));
    }

    /// A TEXT property holding a list (`CATEGORIES`): each item escaped, joined by commas.
    pub fn text_list(&mut self, name: &str, items: &[String]) {
        let escaped: Vec<String> = items.iter().map(|i| escape_text(i)).collect();
        self.line(name, &escaped.join(","));
    }

    /// A property whose value is not TEXT (a URI, a number, a fixed word): written as it is,
    /// less any control character, which no such value may hold.
    pub fn value(&mut self, name: &str, value: &str) {
        let clean: String = value.chars().filter(|c| !c.is_control()).collect();
        self.line(name, &clean);
    }

    /// A DATE-TIME in UTC, `20261207T093000Z`.
    pub fn utc(&mut self, name: &str, at: DateTime<Utc>) {
        self.line(name, &at.format("%Y%m%dT%H%M%SZ").to_string());
    }

    /// A DATE, `NAME;VALUE=DATE:20261207`.
    pub fn date(&mut self, name: &str, date: NaiveDate) {
        self.line(
            &format!("{name};VALUE=DATE"),
            &date.format("%Y%m%d").to_string(),
        );
    }

    /// The object, every line ended by CRLF.
    pub fn finish(self) -> String {
        self.out
    }

    fn line(&mut self, name: &str, value: &str) {
        fold_into(&mut self.out, &format!("{name}:{value}"));
    }
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma get a backslash,
/// a line break (CRLF, LF or CR) is `\n`; other control characters but tab cannot be written
/// and are left out.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (`CN=...`), always quoted: a quoted value may hold `:`, `;` and `,`, but
/// no double quote and no control character, which are left out.
pub fn param_value(value: &str) -> String {
    let inner: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{inner}\"")
}

/// Appends `line` folded (RFC 5545 §3.1): at most 75 octets a line, each continuation line
/// starting with a space, and never inside a UTF-8 sequence.
fn fold_into(out: &mut String, line: &str) {
    let mut budget = MAX_LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > budget {
            out.push_str("\r\n ");
            // The leading space counts towards the continuation line's 75 octets.
            budget = MAX_LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(ical: &str) -> Vec<&str> {
        ical.split("\r\n").filter(|l| !l.is_empty()).collect()
    }

    /// What a reader gets back: continuation lines joined (RFC 5545 §3.1 "unfolding").
    fn unfold(ical: &str) -> String {
        ical.replace("\r\n ", "")
    }

    #[test]
    fn text_escapes_backslash_semicolon_comma_and_line_breaks() {
        assert_eq!(
            escape_text("a\\b;c,d\r\ne\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
        assert_eq!(
            escape_text("tab\there, bell\u{7} gone"),
            "tab\there\\, bell gone"
        );
        assert_eq!(escape_text("colon: stays"), "colon: stays");
    }

    #[test]
    fn parameter_values_are_quoted_without_quotes_inside() {
        assert_eq!(param_value("Chen, Bo: \"CTO\""), "\"Chen, Bo: CTO\"");
    }

    #[test]
    fn a_short_line_is_not_folded_and_ends_with_crlf() {
        let mut ical = Ical::default();
        ical.text("SUMMARY", "Kick-off");
        assert_eq!(ical.finish(), "SUMMARY:Kick-off\r\n");
    }

    #[test]
    fn long_lines_fold_at_75_octets_and_unfold_to_the_original() {
        let mut ical = Ical::default();
        let long = "x".repeat(200);
        ical.text("DESCRIPTION", &long);
        let written = ical.finish();
        for line in lines(&written) {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        assert_eq!(lines(&written)[0].len(), 75);
        assert!(lines(&written)[1].starts_with(' '));
        assert_eq!(unfold(&written), format!("DESCRIPTION:{long}\r\n"));
    }

    #[test]
    fn folding_never_splits_a_multibyte_character() {
        // Three-octet characters after a 12-octet name: no fold point falls on a boundary
        // by luck, and each line stays valid UTF-8 (the split would panic or garble).
        let text = "€".repeat(100) + "🎉" + &"é".repeat(50);
        let mut ical = Ical::default();
        ical.text("DESCRIPTION", &text);
        let written = ical.finish();
        for line in lines(&written) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        assert!(lines(&written).len() > 4);
        assert_eq!(unfold(&written), format!("DESCRIPTION:{text}\r\n"));
    }

    #[test]
    fn dates_and_utc_times_have_their_basic_forms() {
        let mut ical = Ical::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        ical.date("DTSTART", day);
        ical.utc(
            "DTSTAMP",
            day.and_hms_opt(9, 30, 5).unwrap_or_default().and_utc(),
        );
        ical.value("URL", "https://meet.example.com/a,b\n");
        assert_eq!(
            ical.finish(),
            "DTSTART;VALUE=DATE:20261207\r\nDTSTAMP:20261207T093005Z\r\nURL:https://meet.example.com/a,b\r\n"
        );
    }
}
