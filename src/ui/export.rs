//! A rendered frame written out: plain text (for snapshots) or a self-contained SVG (screenshots).

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

/// Background used when the theme leaves it to the terminal.
pub const DEFAULT_BG: &str = "#1c1c1c";
/// Foreground used when the theme leaves it to the terminal.
pub const DEFAULT_FG: &str = "#d0d0d0";
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;

/// The buffer's lines as plain text, trailing spaces removed, one `\n` after each line.
pub fn buffer_to_text(buf: &Buffer) -> String {
    let w = buf.area.width as usize;
    let mut out = String::with_capacity(buf.content.len() + buf.area.height as usize);
    for row in buf.content.chunks(w.max(1)) {
        let mut line = String::with_capacity(w);
        let mut skip = 0usize;
        for cell in row {
            if skip == 0 {
                line.push_str(cell.symbol());
            }
            skip = skip.max(cell.symbol().width()).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// xterm's colours for the 16 named ANSI colours, and the 256-colour cube and greys.
pub fn color_hex(c: Color) -> Option<String> {
    let named = |i: u8| -> &'static str {
        [
            "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
            "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
        ][i as usize]
    };
    Some(match c {
        Color::Reset => return None,
        Color::Black => named(0).into(),
        Color::Red => named(1).into(),
        Color::Green => named(2).into(),
        Color::Yellow => named(3).into(),
        Color::Blue => named(4).into(),
        Color::Magenta => named(5).into(),
        Color::Cyan => named(6).into(),
        Color::Gray => named(7).into(),
        Color::DarkGray => named(8).into(),
        Color::LightRed => named(9).into(),
        Color::LightGreen => named(10).into(),
        Color::LightYellow => named(11).into(),
        Color::LightBlue => named(12).into(),
        Color::LightMagenta => named(13).into(),
        Color::LightCyan => named(14).into(),
        Color::White => named(15).into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => named(i).into(),
        Color::Indexed(i) if i < 232 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            let i = i - 16;
            format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level((i / 6) % 6),
                level(i % 6)
            )
        }
        Color::Indexed(i) => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The cell's (fg, bg) after REVERSED, with the defaults filled in.
fn colours(cell: &ratatui::buffer::Cell, bg_default: &str) -> (String, String) {
    let fg = color_hex(cell.fg).unwrap_or_else(|| DEFAULT_FG.into());
    let bg = color_hex(cell.bg).unwrap_or_else(|| bg_default.into());
    if cell.modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    }
}

/// Whether a run of this symbol can be one <text>: every monospace font has ASCII and box drawing
/// at the cell width.
fn runs_in_monospace(sym: &str) -> bool {
    sym.chars()
        .all(|c| c.is_ascii() || ('\u{2500}'..='\u{257f}').contains(&c))
}

/// Fill, stretch and modifiers of a <text> covering `cells` cells.
fn text_attrs(fg: &str, m: Modifier, cells: usize) -> String {
    let mut attrs = format!(r#" fill="{fg}""#);
    if cells > 1 {
        let len = cells as f64 * CELL_W;
        let _ = write!(
            attrs,
            r#" textLength="{len:.1}" lengthAdjust="spacingAndGlyphs""#
        );
    }
    for (modifier, attr) in [
        (Modifier::BOLD, r#" font-weight="bold""#),
        (Modifier::ITALIC, r#" font-style="italic""#),
        (Modifier::UNDERLINED, r#" text-decoration="underline""#),
        (Modifier::DIM, r#" opacity="0.6""#),
    ] {
        if m.contains(modifier) {
            attrs.push_str(attr);
        }
    }
    attrs
}

/// Draws a lower block (▁..█) as a rect or a braille pattern as dots; false for other symbols.
fn shape(out: &mut String, sym: &str, x: usize, y: usize, fg: &str) -> bool {
    let mut chars = sym.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return false;
    };
    let (x0, y0) = (x as f64 * CELL_W, y as f64 * CELL_H);
    match c {
        '\u{2581}'..='\u{2588}' => {
            let h = CELL_H * (c as u32 - 0x2580) as f64 / 8.0;
            let _ = write!(
                out,
                r#"<rect x="{x0:.1}" y="{:.2}" width="{CELL_W}" height="{h:.2}" fill="{fg}"/>"#,
                y0 + CELL_H - h
            );
            true
        }
        '\u{2800}'..='\u{28ff}' => {
            // Dots 1-8 of a braille cell: (bit, column, row).
            const DOTS: [(u32, f64, f64); 8] = [
                (0, 0., 0.),
                (1, 0., 1.),
                (2, 0., 2.),
                (3, 1., 0.),
                (4, 1., 1.),
                (5, 1., 2.),
                (6, 0., 3.),
                (7, 1., 3.),
            ];
            let bits = c as u32 - 0x2800;
            for (bit, col, row) in DOTS {
                if bits & (1 << bit) != 0 {
                    let cx = x0 + (col + 0.5) * CELL_W / 2.0;
                    let cy = y0 + (row + 0.5) * CELL_H / 4.0;
                    let _ = write!(
                        out,
                        r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="1.3" fill="{fg}"/>"#
                    );
                }
            }
            true
        }
        _ => false,
    }
}

/// The buffer as an SVG image: each cell's background, its text in its colour, bold where bold,
/// in a monospace font on `theme_bg` (a dark grey when `None` or `Color::Reset`).
pub fn buffer_to_svg(buf: &Buffer, theme_bg: Option<Color>) -> String {
    let bg_default = theme_bg
        .and_then(color_hex)
        .unwrap_or_else(|| DEFAULT_BG.into());
    let (w, h) = (buf.area.width as usize, buf.area.height as usize);
    let (px_w, px_h) = (w as f64 * CELL_W, h as f64 * CELL_H);
    let mut out = String::with_capacity(w * h * 24);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px_w:.0}" height="{px_h:.0}" viewBox="0 0 {px_w:.1} {px_h:.1}" font-family="'DejaVu Sans Mono','Menlo','Consolas',monospace" font-size="{FONT_SIZE}">"#
    );
    let _ = write!(
        out,
        r#"<rect width="100%" height="100%" fill="{bg_default}"/>"#
    );
    for (y, row) in buf.content.chunks(w.max(1)).enumerate() {
        // Backgrounds: one rect per run of equal colour.
        let mut x = 0;
        while x < row.len() {
            let (_, bg) = colours(&row[x], &bg_default);
            let start = x;
            while x < row.len() && colours(&row[x], &bg_default).1 == bg {
                x += 1;
            }
            if bg != bg_default {
                let _ = write!(
                    out,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{CELL_H}" fill="{bg}"/>"#,
                    start as f64 * CELL_W,
                    y as f64 * CELL_H,
                    (x - start) as f64 * CELL_W
                );
            }
        }
        // Glyphs: block bars and braille dots as shapes (crisp, and independent of which fonts the
        // viewer has); ASCII and box-drawing words as one <text> stretched to their cells; any
        // other symbol as a <text> on its own cell, so a fallback font cannot shift its row.
        let mut x = 0;
        while x < row.len() {
            let sym = row[x].symbol();
            if sym.trim().is_empty() {
                x += 1;
                continue;
            }
            let (fg, m) = (colours(&row[x], &bg_default).0, row[x].modifier);
            if shape(&mut out, sym, x, y, &fg) {
                x += 1;
                continue;
            }
            let start = x;
            let mut text = String::new();
            if runs_in_monospace(sym) {
                while x < row.len()
                    && runs_in_monospace(row[x].symbol())
                    && !row[x].symbol().trim().is_empty()
                    && (colours(&row[x], &bg_default).0, row[x].modifier) == (fg.clone(), m)
                {
                    text.push_str(&escape(row[x].symbol()));
                    x += 1;
                }
            } else {
                text.push_str(&escape(sym));
                x += sym.width().max(1);
            }
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}"{}>{text}</text>"#,
                start as f64 * CELL_W,
                y as f64 * CELL_H + CELL_H * 0.78,
                text_attrs(&fg, m, x - start)
            );
        }
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}
