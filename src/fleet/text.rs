//! The one boundary for untrusted text. Names and messages that come from fleet files, AWS answers
//! (service names, error messages, tags) and health-probe bodies may hold control characters and
//! terminal escape sequences; `clean` strips them before the text can reach a frame, a table or a
//! log line meant for a terminal. JSON output needs nothing more: JSON escapes control characters.

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';

/// Whether `c` changes what a terminal does rather than showing a glyph: C0 (but tab and newline),
/// DEL, C1, and the Unicode bidirectional overrides and isolates that reorder what follows.
fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{061c}')
}

/// `text` without escape sequences and control characters, on one line: tabs and line breaks
/// become spaces. Borrowed when there was nothing to strip.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_hostile(c) || c == '\t' || c == '\n')
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(strip(text, false))
}

/// Like `clean`, but line breaks stay (for a table or a block of lines).
pub fn clean_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_hostile(c) || c == '\t') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(strip(text, true))
}

/// Clean a string in place.
pub fn clean_in_place(text: &mut String) {
    if let Cow::Owned(s) = clean(text) {
        *text = s;
    }
}

/// Whether `text` would change under `clean` apart from tabs and line breaks.
pub fn is_hostile_text(text: &str) -> bool {
    text.chars().any(is_hostile)
}

fn strip(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => skip_escape(&mut chars),
            // 8-bit CSI, OSC, DCS, SOS, PM, APC: the C1 forms of the sequences below.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' if keep_newlines => out.push('\n'),
            '\r' if keep_newlines => {}
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_hostile(c) => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: a CSI (`[` … final byte), a string (`]`, `P`, `X`, `^`, `_` … BEL or ST), or an
/// escape with intermediate bytes and one final byte.
fn skip_escape(chars: &mut Chars) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            // Intermediate bytes, then one final byte.
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Parameter and intermediate bytes up to and including the final byte (0x40..=0x7e).
fn skip_csi(chars: &mut Chars) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            return;
        }
    }
}

/// A control string's payload up to BEL, ST (ESC \ or U+009C); to the end when unterminated.
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            BEL | '\u{9c}' => return,
            ESC => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// A reading from outside (AWS, a probe body) with every text in it cleaned.
pub fn clean_reading(reading: &mut super::Reading) {
    use super::{Reading, Replication};
    match reading {
        Reading::Metrics(m) => {
            let stats = std::mem::take(&mut m.latency_ms);
            m.latency_ms = stats
                .into_iter()
                .map(|(k, v)| (clean(&k).into_owned(), v))
                .collect();
            if let Some(c) = &mut m.cdn {
                clean_in_place(&mut c.distribution);
            }
            let pods = std::mem::take(&mut m.running_pods);
            m.running_pods = pods
                .into_iter()
                .map(|(k, v)| (clean(&k).into_owned(), v))
                .collect();
        }
        Reading::Ecs(list) => {
            for e in list {
                clean_in_place(&mut e.cluster);
                clean_in_place(&mut e.service);
            }
        }
        Reading::Eks(list) => {
            for g in list {
                clean_in_place(&mut g.cluster);
                clean_in_place(&mut g.nodegroup);
                clean_in_place(&mut g.status);
                g.issues.iter_mut().for_each(clean_in_place);
            }
        }
        Reading::Topology(r) => match r {
            Replication::Primary { instance, status } => {
                clean_in_place(instance);
                clean_in_place(status);
            }
            Replication::Replica {
                instance,
                source,
                status,
            } => {
                clean_in_place(instance);
                clean_in_place(source);
                clean_in_place(status);
            }
            Replication::Broken {
                instance,
                source,
                reason,
                ..
            } => {
                clean_in_place(instance);
                source.iter_mut().for_each(clean_in_place);
                clean_in_place(reason);
            }
        },
        Reading::Route53(_) | Reading::Cost(_) => {}
        Reading::Probe(p) => {
            p.status.iter_mut().for_each(clean_in_place);
            p.failure.iter_mut().for_each(clean_in_place);
            for (region, status, _) in &mut p.replicas {
                clean_in_place(region);
                clean_in_place(status);
            }
        }
    }
}

/// A failure from outside with its message cleaned.
pub fn clean_error(error: &mut super::SourceError) {
    use super::SourceError::*;
    match error {
        Throttled(m)
        | ExpiredCredentials(m)
        | NoCredentials(m)
        | AccessDenied(m)
        | Timeout(m)
        | Unreachable(m)
        | NotFound(m)
        | Other(m) => clean_in_place(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_title_and_clear_screen_sequences() {
        assert_eq!(clean("us\u{1b}]0;PWNED\u{7}\u{1b}[2J"), "us");
        assert_eq!(clean("a\u{1b}[0;36mb\u{1b}[0mc"), "abc");
        assert_eq!(clean("x\u{1b}P1$r\u{1b}\\y"), "xy");
        assert_eq!(clean("x\u{9b}31my\u{9d}title\u{9c}z"), "xyz");
        assert_eq!(clean("x\u{1b}(By\u{1b}7z"), "xyz");
    }

    #[test]
    fn strips_controls_del_c1_and_bidi_overrides() {
        assert_eq!(
            clean("a\u{7}b\u{7f}c\u{85}d\u{202e}e\u{2066}f\u{0}"),
            "abcdef"
        );
        assert_eq!(clean("two\nlines\there"), "two lines here");
        assert_eq!(clean_lines("two\r\nlines\u{1b}[2J"), "two\nlines");
        assert_eq!(clean("unterminated \u{1b}]0;title"), "unterminated ");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in ["eu-west-1", "Atlas CRM ✓ 日本", "p99 > 200 ms", ""] {
            assert!(matches!(clean(s), Cow::Borrowed(t) if t == s));
        }
    }
}
