//! Numbers and times as a person reads them on a console, and text fitted to a width.

use chrono::{DateTime, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The shown form of a value with no data.
pub const NO_DATA: &str = "—";

/// "04:00:00" in UTC.
pub fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

/// "04:00" in UTC, for chart axes.
pub fn clock_short(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

/// An age in whole seconds, short: "48 s", "12 m", "3 h".
pub fn age(s: i64) -> String {
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} m", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// Milliseconds: "4.2 ms", "41 ms", "1.24 s".
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1} ms")
    } else if v < 1000.0 {
        format!("{v:.0} ms")
    } else {
        format!("{:.2} s", v / 1000.0)
    }
}

/// A ratio 0..1 as a percentage: "0.40%" below 1 %, "12.0%" above.
pub fn pct(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p < 1.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Seconds of lag or age: "0.8 s", "45 s", "5.2 min".
pub fn secs(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1} s")
    } else if v < 120.0 {
        format!("{v:.0} s")
    } else {
        format!("{:.1} min", v / 60.0)
    }
}

/// A count with thousands separators: "1,234", or one decimal below 10: "4.5".
pub fn count(v: f64) -> String {
    if v.abs() < 10.0 && v.fract() != 0.0 {
        return format!("{v:.1}");
    }
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// US dollars without cents: "$1,234".
pub fn usd(v: f64) -> String {
    format!("${}", count(v.round()))
}

/// An axis label for a value in a unit.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if a >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Display width of a string in terminal columns.
pub fn width(s: &str) -> usize {
    s.width()
}

/// `s` cut to at most `max` columns, ending in "…" when cut.
pub fn fit(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `s` right-aligned in `w` columns (cut when longer).
pub fn right(s: &str, w: usize) -> String {
    let s = fit(s, w);
    format!("{}{s}", " ".repeat(w - s.width()))
}

/// `s` left-aligned in `w` columns (cut when longer).
pub fn left(s: &str, w: usize) -> String {
    let s = fit(s, w);
    format!("{s}{}", " ".repeat(w - s.width()))
}

/// `s` broken at spaces into lines of at most `max` columns (a longer word is cut).
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let extra = if line.is_empty() { 0 } else { 1 };
        if !line.is_empty() && line.width() + extra + word.width() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines.into_iter().map(|l| fit(&l, max)).collect()
}

/// A round top for a value axis at or above `v`: 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of 10.
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    let steps = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0];
    steps
        .iter()
        .map(|s| s * p)
        .find(|x| *x >= v * 0.999_999)
        .unwrap_or(10.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1234.4), "1,234");
        assert_eq!(count(4.5), "4.5");
        assert_eq!(count(1_000_000.0), "1,000,000");
        assert_eq!(pct(0.004), "0.40%");
        assert_eq!(pct(0.12), "12.0%");
        assert_eq!(ms(180.2), "180 ms");
        assert_eq!(secs(45.0), "45 s");
        assert_eq!(usd(612.4), "$612");
    }

    #[test]
    fn wraps_and_rounds() {
        assert_eq!(
            wrap("5xx rate 12.0% (limit 5.0%)", 16),
            vec!["5xx rate 12.0%", "(limit 5.0%)"]
        );
        assert_eq!(nice_ceiling(236.0), 250.0);
        assert_eq!(nice_ceiling(13.8), 15.0);
        assert_eq!(nice_ceiling(3.4), 4.0);
    }

    #[test]
    fn fit_cuts_with_ellipsis() {
        assert_eq!(fit("ThrottlingException", 8), "Throttl…");
        assert_eq!(fit("ok", 8), "ok");
        assert_eq!(right("ok", 4), "  ok");
    }
}
