//! Themes: flat semantic keys mapped to ratatui styles, plus status symbols so that no state is
//! told by colour alone.

use crate::fleet::Status;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq)]
pub struct StatusSymbols {
    pub ok: String,
    pub warn: String,
    pub crit: String,
    pub unknown: String,
    pub stale: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Plain text.
    pub text: Style,
    /// Labels, secondary text.
    pub muted: Style,
    pub border: Style,
    /// Border of the focused pane.
    pub border_focus: Style,
    pub title: Style,
    /// Header and status-line background/foreground.
    pub header: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub unknown: Style,
    pub stale: Style,
    /// Selected row / tab.
    pub selection: Style,
    pub sparkline: Style,
    /// Colours of chart series, in order.
    pub chart: Vec<Style>,
    pub symbols: StatusSymbols,
}

impl Theme {
    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Ok => self.ok,
            Status::Warn => self.warn,
            Status::Crit => self.crit,
            Status::Unknown => self.unknown,
        }
    }

    pub fn symbol(&self, s: Status) -> &str {
        match s {
            Status::Ok => &self.symbols.ok,
            Status::Warn => &self.symbols.warn,
            Status::Crit => &self.symbols.crit,
            Status::Unknown => &self.symbols.unknown,
        }
    }

    pub fn chart_style(&self, i: usize) -> Style {
        if self.chart.is_empty() {
            self.accent
        } else {
            self.chart[i % self.chart.len()]
        }
    }

    /// A hard-coded theme used when nothing else can be loaded (and by unit tests).
    pub fn fallback() -> Theme {
        Theme {
            name: "default".into(),
            text: Style::default().fg(Color::White),
            muted: Style::default().fg(Color::Gray),
            border: Style::default().fg(Color::DarkGray),
            border_focus: Style::default().fg(Color::Cyan),
            title: Style::default().fg(Color::White).add_modifier(Modifier::BOLD),
            header: Style::default().fg(Color::Black).bg(Color::Cyan),
            accent: Style::default().fg(Color::Cyan),
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow),
            crit: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            unknown: Style::default().fg(Color::DarkGray),
            stale: Style::default().fg(Color::Magenta),
            selection: Style::default().add_modifier(Modifier::REVERSED),
            sparkline: Style::default().fg(Color::Cyan),
            chart: vec![Style::default().fg(Color::Cyan), Style::default().fg(Color::Magenta), Style::default().fg(Color::Yellow)],
            symbols: StatusSymbols {
                ok: "●".into(),
                warn: "▲".into(),
                crit: "✖".into(),
                unknown: "?".into(),
                stale: "⌛".into(),
            },
        }
    }
}
