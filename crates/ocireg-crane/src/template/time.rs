//! The `time` functions of templates: a UTC-or-fixed-offset time, Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`) to format and parse.

use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time with the offset it is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Time {
    /// Seconds since the Unix epoch.
    pub(super) unix: i64,
    pub(super) nanos: u32,
    /// Seconds east of UTC.
    pub(super) offset: i32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The broken-down fields of a time in its offset.
#[derive(Clone, Copy, Debug)]
pub(super) struct Parts {
    pub(super) year: i64,
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
    pub(super) weekday: usize,
    pub(super) yday: i64,
}

impl Time {
    pub(super) fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            unix: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
            offset: 0,
        }
    }

    pub(super) fn parts(&self) -> Parts {
        let local = self.unix + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let secs = u32::try_from(local.rem_euclid(86_400)).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        Parts {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
            yday: days - days_from_civil(year, 1, 1) + 1,
        }
    }

    /// Go's `Time.String`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub(super) fn go_string(&self) -> String {
        let zone = if self.offset == 0 { "UTC" } else { "-0700" };
        format(self, &format!("2006-01-02 15:04:05.999999999 -0700 {zone}"))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Chunk {
    Lit(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekday,
    Weekday,
    Day,
    UnderDay,
    ZeroDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// Offset; `z` writes `Z` for UTC; `colon` between hours and minutes.
    Offset {
        z: bool,
        colon: bool,
        minutes: bool,
    },
    /// `.000` (fixed digits) or `.999` (trailing zeros dropped).
    Frac {
        digits: usize,
        fixed: bool,
    },
}

#[expect(clippy::too_many_lines, reason = "the table of Go's layout elements")]
fn chunks(layout: &str) -> Vec<Chunk> {
    const TABLE: &[(&str, Chunk)] = &[
        ("January", Chunk::LongMonth),
        ("Jan", Chunk::Month),
        ("Monday", Chunk::LongWeekday),
        ("Mon", Chunk::Weekday),
        ("MST", Chunk::TZ),
        ("2006", Chunk::LongYear),
        ("01", Chunk::ZeroMonth),
        ("02", Chunk::ZeroDay),
        ("03", Chunk::ZeroHour12),
        ("04", Chunk::ZeroMinute),
        ("05", Chunk::ZeroSecond),
        ("06", Chunk::Year),
        ("15", Chunk::Hour),
        ("_2", Chunk::UnderDay),
        ("1", Chunk::NumMonth),
        ("2", Chunk::Day),
        ("3", Chunk::Hour12),
        ("4", Chunk::Minute),
        ("5", Chunk::Second),
        ("PM", Chunk::PM),
        ("pm", Chunk::Pm),
        (
            "Z07:00",
            Chunk::Offset {
                z: true,
                colon: true,
                minutes: true,
            },
        ),
        (
            "Z0700",
            Chunk::Offset {
                z: true,
                colon: false,
                minutes: true,
            },
        ),
        (
            "Z07",
            Chunk::Offset {
                z: true,
                colon: false,
                minutes: false,
            },
        ),
        (
            "-07:00",
            Chunk::Offset {
                z: false,
                colon: true,
                minutes: true,
            },
        ),
        (
            "-0700",
            Chunk::Offset {
                z: false,
                colon: false,
                minutes: true,
            },
        ),
        (
            "-07",
            Chunk::Offset {
                z: false,
                colon: false,
                minutes: false,
            },
        ),
    ];
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix(['.', ',']) {
            let n = tail.chars().take_while(|&c| c == '0').count();
            let m = tail.chars().take_while(|&c| c == '9').count();
            let digits = n.max(m);
            if digits > 0 && !tail[digits..].starts_with(|c: char| c.is_ascii_digit()) {
                if !lit.is_empty() {
                    out.push(Chunk::Lit(std::mem::take(&mut lit)));
                }
                out.push(Chunk::Frac {
                    digits,
                    fixed: n > 0,
                });
                rest = &tail[digits..];
                continue;
            }
        }
        for (pat, chunk) in TABLE {
            if rest.starts_with(pat) {
                if !lit.is_empty() {
                    out.push(Chunk::Lit(std::mem::take(&mut lit)));
                }
                out.push(chunk.clone());
                rest = &rest[pat.len()..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        lit.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !lit.is_empty() {
        out.push(Chunk::Lit(lit));
    }
    out
}

/// Formats `t` with Go layout `layout`.
pub(super) fn format(t: &Time, layout: &str) -> String {
    use std::fmt::Write as _;
    let p = t.parts();
    let mut out = String::new();
    let h12 = if p.hour.is_multiple_of(12) {
        12
    } else {
        p.hour % 12
    };
    let month = MONTHS[(p.month as usize).saturating_sub(1) % 12];
    for chunk in chunks(layout) {
        let _ = match chunk {
            Chunk::Lit(s) => write!(out, "{s}"),
            Chunk::LongMonth => write!(out, "{month}"),
            Chunk::Month => write!(out, "{}", &month[..3]),
            Chunk::NumMonth => write!(out, "{}", p.month),
            Chunk::ZeroMonth => write!(out, "{:02}", p.month),
            Chunk::LongWeekday => write!(out, "{}", DAYS[p.weekday]),
            Chunk::Weekday => write!(out, "{}", &DAYS[p.weekday][..3]),
            Chunk::Day => write!(out, "{}", p.day),
            Chunk::UnderDay => write!(out, "{:>2}", p.day),
            Chunk::ZeroDay => write!(out, "{:02}", p.day),
            Chunk::Hour => write!(out, "{:02}", p.hour),
            Chunk::Hour12 => write!(out, "{h12}"),
            Chunk::ZeroHour12 => write!(out, "{h12:02}"),
            Chunk::Minute => write!(out, "{}", p.minute),
            Chunk::ZeroMinute => write!(out, "{:02}", p.minute),
            Chunk::Second => write!(out, "{}", p.second),
            Chunk::ZeroSecond => write!(out, "{:02}", p.second),
            Chunk::LongYear => write!(out, "{:04}", p.year),
            Chunk::Year => write!(out, "{:02}", p.year.rem_euclid(100)),
            Chunk::PM => write!(out, "{}", if p.hour >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => write!(out, "{}", if p.hour >= 12 { "pm" } else { "am" }),
            Chunk::TZ => {
                if t.offset == 0 {
                    write!(out, "UTC")
                } else {
                    write_offset(&mut out, t.offset, false, true)
                }
            }
            Chunk::Offset { z, colon, minutes } => {
                if z && t.offset == 0 {
                    write!(out, "Z")
                } else if minutes {
                    write_offset(&mut out, t.offset, colon, true)
                } else {
                    write_offset(&mut out, t.offset, false, false)
                }
            }
            Chunk::Frac { digits, fixed } => {
                let all = format!("{:09}", t.nanos);
                let mut s = all[..digits.min(9)].to_owned();
                if !fixed {
                    while s.ends_with('0') {
                        s.pop();
                    }
                }
                if s.is_empty() {
                    Ok(())
                } else {
                    write!(out, ".{s}")
                }
            }
        };
    }
    out
}

fn write_offset(out: &mut String, offset: i32, colon: bool, minutes: bool) -> std::fmt::Result {
    use std::fmt::Write as _;
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    write!(out, "{sign}{:02}", a / 3600)?;
    if minutes {
        if colon {
            write!(out, ":")?;
        }
        write!(out, "{:02}", a / 60 % 60)?;
    }
    Ok(())
}

/// Parses `value` with Go layout `layout`.
#[expect(clippy::too_many_lines, reason = "one arm per layout element")]
pub(super) fn parse(layout: &str, value: &str) -> Result<Time, String> {
    let bad = || format!("parsing time {value:?} as {layout:?}");
    let mut rest = value;
    let (mut year, mut month, mut day, mut hour, mut minute, mut second) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32);
    let mut nanos = 0u32;
    let mut offset = 0i32;
    let mut pm: Option<bool> = None;
    let num = |rest: &mut &str, min: usize, max: usize| -> Result<u32, String> {
        let n = rest
            .chars()
            .take(max)
            .take_while(char::is_ascii_digit)
            .count();
        if n < min {
            return Err(bad());
        }
        let v = rest[..n].parse::<u32>().map_err(|_| bad())?;
        *rest = &rest[n..];
        Ok(v)
    };
    for chunk in chunks(layout) {
        match chunk {
            Chunk::Lit(s) => rest = rest.strip_prefix(s.as_str()).ok_or_else(bad)?,
            Chunk::LongMonth | Chunk::Month => {
                let i = MONTHS
                    .iter()
                    .position(|m| {
                        let m = if chunk == Chunk::Month { &m[..3] } else { m };
                        rest.starts_with(m)
                    })
                    .ok_or_else(bad)?;
                let len = if chunk == Chunk::Month {
                    3
                } else {
                    MONTHS[i].len()
                };
                rest = &rest[len..];
                month = u32::try_from(i + 1).map_err(|_| bad())?;
            }
            Chunk::LongWeekday | Chunk::Weekday => {
                let d = DAYS
                    .iter()
                    .find(|d| {
                        let d = if chunk == Chunk::Weekday { &d[..3] } else { d };
                        rest.starts_with(d)
                    })
                    .ok_or_else(bad)?;
                rest = &rest[if chunk == Chunk::Weekday { 3 } else { d.len() }..];
            }
            Chunk::NumMonth => month = num(&mut rest, 1, 2)?,
            Chunk::ZeroMonth => month = num(&mut rest, 2, 2)?,
            Chunk::Day => day = num(&mut rest, 1, 2)?,
            Chunk::UnderDay => {
                rest = rest.strip_prefix(' ').unwrap_or(rest);
                day = num(&mut rest, 1, 2)?;
            }
            Chunk::ZeroDay => day = num(&mut rest, 2, 2)?,
            Chunk::Hour | Chunk::ZeroHour12 => hour = num(&mut rest, 2, 2)?,
            Chunk::Hour12 => hour = num(&mut rest, 1, 2)?,
            Chunk::Minute => minute = num(&mut rest, 1, 2)?,
            Chunk::ZeroMinute => minute = num(&mut rest, 2, 2)?,
            Chunk::Second => second = num(&mut rest, 1, 2)?,
            Chunk::ZeroSecond => second = num(&mut rest, 2, 2)?,
            Chunk::LongYear => year = i64::from(num(&mut rest, 4, 4)?),
            Chunk::Year => {
                let y = i64::from(num(&mut rest, 2, 2)?);
                year = if y >= 69 { 1900 + y } else { 2000 + y };
            }
            Chunk::PM | Chunk::Pm => {
                let s = rest.get(..2).ok_or_else(bad)?.to_ascii_uppercase();
                pm = Some(match s.as_str() {
                    "PM" => true,
                    "AM" => false,
                    _ => return Err(bad()),
                });
                rest = &rest[2..];
            }
            Chunk::TZ => {
                let n = rest.chars().take_while(char::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(bad());
                }
                rest = &rest[n..];
            }
            Chunk::Offset { z, colon, minutes } => {
                if z && rest.starts_with('Z') {
                    rest = &rest[1..];
                    continue;
                }
                let sign = match rest.chars().next() {
                    Some('+') => 1,
                    Some('-') => -1,
                    _ => return Err(bad()),
                };
                rest = &rest[1..];
                let h = num(&mut rest, 2, 2)?;
                let mut m = 0;
                if minutes {
                    if colon {
                        rest = rest.strip_prefix(':').ok_or_else(bad)?;
                    }
                    m = num(&mut rest, 2, 2)?;
                }
                offset = sign * i32::try_from(h * 3600 + m * 60).map_err(|_| bad())?;
            }
            Chunk::Frac { .. } => {
                if let Some(tail) = rest.strip_prefix(['.', ',']) {
                    let n = tail.chars().take_while(char::is_ascii_digit).count();
                    let digits = &tail[..n.min(9)];
                    nanos = format!("{digits:0<9}").parse().map_err(|_| bad())?;
                    rest = &tail[n..];
                }
            }
        }
    }
    // Go also accepts fractional seconds after a seconds field the layout does not show.
    if let Some(tail) = rest.strip_prefix('.')
        && tail.starts_with(|c: char| c.is_ascii_digit())
    {
        let n = tail.chars().take_while(char::is_ascii_digit).count();
        nanos = format!("{:0<9}", &tail[..n.min(9)])
            .parse()
            .map_err(|_| bad())?;
        rest = &tail[n..];
    }
    if !rest.is_empty() {
        return Err(format!("{}: extra text {rest:?}", bad()));
    }
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    if !(1..=12).contains(&month) || day == 0 || day > 31 || hour > 23 || minute > 59 || second > 60
    {
        return Err(format!("{}: value out of range", bad()));
    }
    let days = days_from_civil(year, i64::from(month), i64::from(day));
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Ok(Time {
        unix: local - i64::from(offset),
        nanos,
        offset,
    })
}
