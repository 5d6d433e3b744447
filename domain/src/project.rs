//! Projects: the work a firm pitches for and delivers, on the project pipeline (Proposed, Won,
//! Active, Completed, Lost, Cancelled). Their own fields and rules only: placement, moves and
//! history are the pipeline engine's.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::company::{CompanyPlace, PhaseTime};
use crate::links::ActivityDates;
use crate::validation::ValueError;
use crate::values::{CustomFields, Description, ExternalId, Name, Tags};

/// A project as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// The unit it belongs to (`/v1/units`): by default its owner's primary unit.
    pub unit_id: Option<i64>,
    /// Its id in another system, unique in the account; imports upsert on it.
    pub external_id: Option<String>,
    pub value: Option<Money>,
    /// The project's own chance of winning, in percent.
    pub probability: Option<i64>,
    /// Its phase's, which applies when it has none of its own.
    pub phase_probability: Option<i64>,
    pub schedule: Schedule,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub place: CompanyPlace,
    /// Total time spent in each phase so far, the current stay included.
    pub time_in_phases: Vec<PhaseTime>,
    /// Its buying center: the client's people on it, in contact id order.
    pub contacts: Vec<ProjectContact>,
    /// Its team: the firm's people on it, in user id order.
    pub team: Vec<TeamMember>,
    /// Its last and next activity: derived, not part of its version.
    pub activity: ActivityDates,
}

/// The most contacts, and the most team members, a project has.
pub const MAX_PEOPLE: usize = 100;

/// A contact on a project, with their part in the decision (Pipeliner's buying center).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectContact {
    pub contact_id: i64,
    pub role: ContactRole,
}

/// A contact's part in a project's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactRole {
    DecisionMaker,
    Influencer,
    User,
    Other,
}

impl ContactRole {
    pub const ALL: [ContactRole; 4] = [
        ContactRole::DecisionMaker,
        ContactRole::Influencer,
        ContactRole::User,
        ContactRole::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::DecisionMaker => "decision_maker",
            ContactRole::Influencer => "influencer",
            ContactRole::User => "user",
            ContactRole::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_choice",
                    "must be decision_maker, influencer, user or other",
                )
            })
    }

    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(ContactRole::Other)
    }
}

/// A team member on a project, with their role in the work (free text: "Project lead").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub user_id: i64,
    pub role: String,
}

/// The dates a firm plans a project with, and the ones its moves set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    pub expected_start_date: Option<NaiveDate>,
    pub expected_duration: Option<DateDuration>,
    pub expected_finish_date: Option<NaiveDate>,
    pub proposal_received_date: Option<NaiveDate>,
    pub proposal_due_date: Option<NaiveDate>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// Set by the move that wins the project; may be corrected by hand.
    pub won_at: Option<DateTime<Utc>>,
    /// Set by the move that wins, loses or cancels it.
    pub close_date: Option<NaiveDate>,
    /// Set by the move into a completed phase.
    pub completed_date: Option<NaiveDate>,
}

/// Which planned dates a change gave, so that the one it did not give is the one derived.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanGiven {
    pub start: bool,
    pub duration: bool,
    pub finish: bool,
}

impl Project {
    /// The chance of winning in use: the project's own, else its phase's.
    pub fn effective_probability(&self) -> Option<i64> {
        self.probability.or(self.phase_probability)
    }
}

impl Schedule {
    /// Any two of expected start, duration and finish give the third. When all three are
    /// there and disagree, the one the change did not give is derived again; when it gave
    /// all three, they must agree.
    pub fn complete_plan(&mut self, given: PlanGiven) -> Result<(), (&'static str, ValueError)> {
        let (start, duration, finish) = (
            self.expected_start_date,
            self.expected_duration,
            self.expected_finish_date,
        );
        match (start, duration, finish) {
            (Some(s), Some(d), Some(f)) => {
                if d.after(s) == Some(f) {
                    return Ok(());
                }
                if !given.finish {
                    self.expected_finish_date = d.after(s);
                } else if !given.duration {
                    self.expected_duration = DateDuration::between(s, f);
                } else if !given.start {
                    self.expected_start_date = d.before(f);
                } else {
                    return Err((
                        "expected_finish_date",
                        ValueError::new(
                            "inconsistent_schedule",
                            "must be expected_start_date plus expected_duration; send two of the three and the third is worked out",
                        ),
                    ));
                }
            }
            (Some(s), Some(d), None) => self.expected_finish_date = d.after(s),
            (Some(s), None, Some(f)) => self.expected_duration = DateDuration::between(s, f),
            (None, Some(d), Some(f)) => self.expected_start_date = d.before(f),
            _ => {}
        }
        if let (Some(s), Some(f)) = (self.expected_start_date, self.expected_finish_date)
            && f < s
        {
            return Err((
                "expected_finish_date",
                ValueError::new("before_start", "must not be before expected_start_date"),
            ));
        }
        Ok(())
    }
}

/// A calendar duration as ISO 8601 writes one for dates: `P1Y6M`, `P3M`, `P2W`, `P45D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateDuration {
    pub months: u32,
    pub days: u32,
}

impl DateDuration {
    /// The longest duration taken: 100 years.
    const MAX_MONTHS: u32 = 1200;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                "invalid_duration",
                "must be an ISO 8601 duration of years, months, weeks and days, such as P3M, P2W, P1Y6M or P45D",
            )
        };
        let rest = raw.strip_prefix('P').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        let (mut months, mut days) = (0u32, 0u32);
        let mut number = String::new();
        let mut last_unit = 0;
        for c in rest.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let order = match c {
                'Y' => 1,
                'M' => 2,
                'W' => 3,
                'D' => 4,
                _ => return Err(bad()),
            };
            let n: u32 = number.parse().map_err(|_| bad())?;
            if number.is_empty() || order <= last_unit {
                return Err(bad());
            }
            number.clear();
            last_unit = order;
            match c {
                'Y' => months = n.checked_mul(12).ok_or_else(bad)?.saturating_add(months),
                'M' => months = months.saturating_add(n),
                'W' => days = n.checked_mul(7).ok_or_else(bad)?.saturating_add(days),
                _ => days = days.saturating_add(n),
            }
        }
        if !number.is_empty() || months > Self::MAX_MONTHS || days > Self::MAX_MONTHS * 31 {
            return Err(bad());
        }
        Ok(DateDuration { months, days })
    }

    /// As stored and sent: years and months, then days (`P1Y6M`, `P45D`, `P0D` for none).
    pub fn to_iso(self) -> String {
        let (years, months) = (self.months / 12, self.months % 12);
        let mut out = String::from("P");
        if years > 0 {
            out.push_str(&format!("{years}Y"));
        }
        if months > 0 {
            out.push_str(&format!("{months}M"));
        }
        if self.days > 0 || out.len() == 1 {
            out.push_str(&format!("{}D", self.days));
        }
        out
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::parse(raw).ok()
    }

    fn after(self, start: NaiveDate) -> Option<NaiveDate> {
        start
            .checked_add_months(Months::new(self.months))?
            .checked_add_days(Days::new(u64::from(self.days)))
    }

    fn before(self, finish: NaiveDate) -> Option<NaiveDate> {
        finish
            .checked_sub_days(Days::new(u64::from(self.days)))?
            .checked_sub_months(Months::new(self.months))
    }

    fn between(start: NaiveDate, finish: NaiveDate) -> Option<Self> {
        let days = u32::try_from((finish - start).num_days()).ok()?;
        Some(DateDuration { months: 0, days })
    }
}

/// An amount of money in an ISO 4217 currency, exact: a decimal with at most four places,
/// kept as a whole number of ten-thousandths of the currency's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub units: i64,
    pub currency: String,
}

impl Money {
    /// Ten-thousandths: the finest fraction any ISO 4217 currency has (CLF, UYW).
    pub const SCALE: i64 = 10_000;
    /// The largest amount taken: a trillion, minus the smallest fraction. Sums (a board
    /// column, a forecast) are kept in 128 bits.
    const MAX_UNITS: i64 = 1_000_000_000_000 * Self::SCALE - 1;

    /// `amount` as a decimal string (`"12500.50"`, no exponent, no sign) in `currency`.
    pub fn parse(amount: &str, currency: &str) -> Result<Self, (&'static str, ValueError)> {
        let currency = Currency::parse(currency).map_err(|e| ("currency", e))?;
        let units = parse_units(amount).map_err(|e| ("amount", e))?;
        Ok(Money {
            units,
            currency: currency.0,
        })
    }

    pub fn from_stored(units: i64, currency: String) -> Self {
        Money { units, currency }
    }

    /// The amount as a decimal string with the currency's own number of decimals, or more
    /// when the amount has them (`"12500.00"` EUR, `"1200"` JPY, `"0.1234"` CLF).
    pub fn amount(&self) -> String {
        format_units(
            i128::from(self.units),
            Currency::minor_digits(&self.currency),
        )
    }
}

/// An amount as a decimal string with at most four decimals (`"12500.50"`), in
/// ten-thousandths: for filters, which take an amount without its currency.
pub fn parse_amount(raw: &str) -> Result<i64, ValueError> {
    parse_units(raw)
}

/// A decimal string with at most four decimals, in ten-thousandths.
fn parse_units(raw: &str) -> Result<i64, ValueError> {
    let bad = |message: &str| ValueError::new("invalid_amount", message);
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (raw.contains('.') && fraction.is_empty())
    {
        return Err(bad(
            "must be a decimal amount such as \"12500.50\": digits, an optional point and up to 4 decimals, no sign",
        ));
    }
    if fraction.len() > 4 {
        return Err(bad("has more than 4 decimals"));
    }
    let too_large = || bad("must be less than 1,000,000,000,000");
    let whole: i64 = whole.parse().map_err(|_| too_large())?;
    let padded = format!("{fraction:0<4}");
    let fraction: i64 = padded.parse().unwrap_or(0);
    let units = whole
        .checked_mul(Money::SCALE)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(too_large)?;
    if units > Money::MAX_UNITS {
        return Err(too_large());
    }
    Ok(units)
}

/// `units` ten-thousandths as a decimal with at least `digits` decimals.
pub fn format_units(units: i128, digits: usize) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let units = units.unsigned_abs();
    let whole = units / 10_000;
    let mut fraction = format!("{:04}", units % 10_000);
    while fraction.len() > digits && fraction.ends_with('0') {
        fraction.pop();
    }
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// An ISO 4217 currency code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// The active ISO 4217 codes.
    const CODES: &'static str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL";

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.len() == 3 && Self::CODES.split(' ').any(|c| c == raw) {
            Ok(Currency(raw.to_owned()))
        } else {
            Err(ValueError::new(
                "invalid_currency",
                "must be an ISO 4217 currency code in capitals, such as EUR, USD or GBP",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many decimals the currency's minor unit has.
    pub fn minor_digits(code: &str) -> usize {
        match code {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            "CLF" | "UYW" => 4,
            _ => 2,
        }
    }
}

/// Everything a project holds that a caller may write, already valid (dates completed).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFields {
    pub name: Name,
    pub description: Option<Description>,
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// `None` on create: the owner's primary unit, else the creator's.
    pub unit_id: Option<i64>,
    pub external_id: Option<ExternalId>,
    pub value: Option<Money>,
    pub probability: Option<i64>,
    pub schedule: Schedule,
    pub tags: Tags,
    pub custom_fields: CustomFields,
}

/// A probability in percent: 0 to 100.
pub fn parse_probability(raw: i64) -> Result<i64, ValueError> {
    if (0..=100).contains(&raw) {
        Ok(raw)
    } else {
        Err(ValueError::new("out_of_range", "must be between 0 and 100"))
    }
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectPatch {
    pub name: Option<Name>,
    pub description: Option<Option<Description>>,
    pub company_id: Option<Option<i64>>,
    pub owner_id: Option<Option<i64>>,
    pub unit_id: Option<Option<i64>>,
    pub external_id: Option<Option<ExternalId>>,
    pub value: Option<Option<Money>>,
    pub probability: Option<Option<i64>>,
    pub expected_start_date: Option<Option<NaiveDate>>,
    pub expected_duration: Option<Option<DateDuration>>,
    pub expected_finish_date: Option<Option<NaiveDate>>,
    pub proposal_received_date: Option<Option<NaiveDate>>,
    pub proposal_due_date: Option<Option<NaiveDate>>,
    pub start_date: Option<Option<NaiveDate>>,
    pub end_date: Option<Option<NaiveDate>>,
    pub won_at: Option<Option<DateTime<Utc>>>,
    pub close_date: Option<Option<NaiveDate>>,
    pub completed_date: Option<Option<NaiveDate>>,
    pub tags: Option<Tags>,
    /// A merge patch of the custom fields: `null` removes a key.
    pub custom_fields: Option<Map<String, Value>>,
}

impl ProjectPatch {
    /// The project's writable fields after the patch.
    pub fn apply(self, current: &Project) -> Result<ProjectFields, (&'static str, ValueError)> {
        let given = PlanGiven {
            start: self.expected_start_date.is_some(),
            duration: self.expected_duration.is_some(),
            finish: self.expected_finish_date.is_some(),
        };
        let was = &current.schedule;
        let mut schedule = Schedule {
            expected_start_date: self.expected_start_date.unwrap_or(was.expected_start_date),
            expected_duration: self.expected_duration.unwrap_or(was.expected_duration),
            expected_finish_date: self
                .expected_finish_date
                .unwrap_or(was.expected_finish_date),
            proposal_received_date: self
                .proposal_received_date
                .unwrap_or(was.proposal_received_date),
            proposal_due_date: self.proposal_due_date.unwrap_or(was.proposal_due_date),
            start_date: self.start_date.unwrap_or(was.start_date),
            end_date: self.end_date.unwrap_or(was.end_date),
            won_at: self.won_at.unwrap_or(was.won_at),
            close_date: self.close_date.unwrap_or(was.close_date),
            completed_date: self.completed_date.unwrap_or(was.completed_date),
        };
        if given.start || given.duration || given.finish {
            schedule.complete_plan(given)?;
        }
        Ok(ProjectFields {
            name: self
                .name
                .unwrap_or_else(|| Name::from_stored(current.name.clone())),
            description: self
                .description
                .unwrap_or_else(|| current.description.clone().map(Description::from_stored)),
            company_id: self.company_id.unwrap_or(current.company_id),
            owner_id: self.owner_id.unwrap_or(current.owner_id),
            unit_id: self.unit_id.unwrap_or(current.unit_id),
            external_id: self
                .external_id
                .unwrap_or_else(|| current.external_id.clone().map(ExternalId::from_stored)),
            value: self.value.unwrap_or_else(|| current.value.clone()),
            probability: self.probability.unwrap_or(current.probability),
            schedule,
            tags: self
                .tags
                .unwrap_or_else(|| Tags::from_stored(current.tags.clone())),
            custom_fields: {
                let stored = CustomFields::from_stored(current.custom_fields.clone());
                match &self.custom_fields {
                    Some(patch) => stored.merge(patch).map_err(|e| ("custom_fields", e))?,
                    None => stored,
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn amounts_are_exact_decimals_shown_with_the_currencys_decimals() {
        let eur = Money::parse("12500.5", "EUR").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(eur.units, 125_005_000);
        assert_eq!(eur.amount(), "12500.50");
        let jpy = Money::parse("1200", "JPY").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(jpy.amount(), "1200");
        let fine = Money::parse("0.1234", "USD").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(fine.amount(), "0.1234");
        for bad in [
            "-1",
            "1e3",
            "1.",
            ".5",
            "1.23456",
            "",
            "1,000",
            "99999999999999999999",
        ] {
            assert!(Money::parse(bad, "EUR").is_err(), "{bad}");
        }
        assert_eq!(Money::parse("1", "eur").map_err(|e| e.0), Err("currency"));
        assert_eq!(Money::parse("1", "ABC").map_err(|e| e.0), Err("currency"));
    }

    #[test]
    fn durations_read_and_write_as_iso_8601() {
        for (raw, iso) in [
            ("P3M", "P3M"),
            ("P1Y6M", "P1Y6M"),
            ("P2W", "P14D"),
            ("P45D", "P45D"),
            ("P0D", "P0D"),
        ] {
            let d = DateDuration::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
            assert_eq!(d.to_iso(), iso);
        }
        for bad in ["3M", "P", "PT3H", "P3", "P3D2M", "P-1D", "P1Y1Y"] {
            assert!(DateDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_two_planned_dates_give_the_third() {
        let mut s = Schedule {
            expected_start_date: Some(date(2027, 1, 31)),
            expected_duration: DateDuration::parse("P1M").ok(),
            ..Schedule::default()
        };
        s.complete_plan(PlanGiven {
            start: true,
            duration: true,
            finish: false,
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.expected_finish_date, Some(date(2027, 2, 28)));

        let mut s = Schedule {
            expected_start_date: Some(date(2027, 3, 1)),
            expected_finish_date: Some(date(2027, 3, 31)),
            ..Schedule::default()
        };
        s.complete_plan(PlanGiven {
            start: true,
            duration: false,
            finish: true,
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            s.expected_duration.map(DateDuration::to_iso).as_deref(),
            Some("P30D")
        );

        let mut s = Schedule {
            expected_duration: DateDuration::parse("P2W").ok(),
            expected_finish_date: Some(date(2027, 3, 15)),
            ..Schedule::default()
        };
        s.complete_plan(PlanGiven {
            start: false,
            duration: true,
            finish: true,
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.expected_start_date, Some(date(2027, 3, 1)));
    }

    #[test]
    fn three_planned_dates_given_at_once_must_agree() {
        let mut s = Schedule {
            expected_start_date: Some(date(2027, 3, 1)),
            expected_duration: DateDuration::parse("P1M").ok(),
            expected_finish_date: Some(date(2027, 5, 1)),
            ..Schedule::default()
        };
        let all = PlanGiven {
            start: true,
            duration: true,
            finish: true,
        };
        assert_eq!(
            s.complete_plan(all).map_err(|e| e.0),
            Err("expected_finish_date")
        );
        // Changing the start alone moves the finish.
        s.complete_plan(PlanGiven {
            start: true,
            duration: false,
            finish: false,
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.expected_finish_date, Some(date(2027, 4, 1)));
    }
}
