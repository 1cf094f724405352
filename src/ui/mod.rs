//! Panes and dialogs as pure render functions of the state and the theme: state in, frame out.
//! No I/O and no clocks here; the time shown is `state.now`.

pub mod audit_view;
pub mod cdn_line;
pub mod chart;
pub mod detail;
pub mod dialogs;
pub mod drill_view;
pub mod events;
pub mod export;
pub mod footer;
pub mod format;
pub mod help;
pub mod layout;
pub mod metrics;
pub mod overview;
pub mod spark;
pub mod status_line;
pub mod week_view;

use crate::app::{State, View};
use crate::config::{Keymap, Theme};
use ratatui::layout::Rect;
use ratatui::Frame;

/// Where the clickable things are on the frame just drawn. The console maps a mouse click to an
/// action with it, so hit-testing uses exactly the geometry that was rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HitMap {
    /// The overview's region panes, in fleet order (empty when the overview is covered).
    pub regions: Vec<Rect>,
}

impl HitMap {
    /// The region pane at a terminal cell, if any.
    pub fn region_at(&self, column: u16, row: u16) -> Option<usize> {
        let at = ratatui::layout::Position { x: column, y: row };
        self.regions.iter().position(|r| r.contains(at))
    }
}

/// Draw the whole console; returns where its clickable parts are.
pub fn draw(frame: &mut Frame, state: &State, theme: &Theme, keymap: &Keymap) -> HitMap {
    let area = frame.area();
    let mut hits = HitMap::default();
    if area.width == 0 || area.height == 0 {
        return hits;
    }
    let buf = frame.buffer_mut();
    buf.set_style(area, theme.text);
    let header = Rect::new(
        area.x,
        area.y,
        area.width,
        layout::HEADER_ROWS.min(area.height),
    );
    status_line::render(header, buf, state, theme);
    // The drill panel takes the right of the frame; the live view keeps the rest.
    let (main, panel) = if state.drills.open {
        let w = drill_view::width(area.width);
        let main = Rect::new(area.x, area.y, area.width - w, area.height);
        let body = layout::body_area(area);
        (
            main,
            Some(Rect::new(area.x + main.width, body.y, w, body.height)),
        )
    } else {
        (area, None)
    };
    let body = layout::body_area(main);
    match state.view {
        View::Overview => overview::render(main, buf, state, theme),
        View::Detail => detail::render(body, buf, state, theme),
        View::Events => events::render_log(body, buf, state, theme),
    }
    if let Some(panel) = panel {
        drill_view::render(panel, buf, state, theme);
    }
    let body = layout::body_area(area);
    if area.height > layout::HEADER_ROWS {
        let y = area.y + area.height - layout::FOOTER_ROWS;
        footer::render(
            Rect::new(area.x, y, area.width, layout::FOOTER_ROWS),
            buf,
            state,
            theme,
            keymap,
        );
    }
    if state.help {
        help::render(body, buf, state, theme, keymap);
    }
    week_view::render(body, buf, state, theme);
    audit_view::render(body, buf, state, theme);
    dialogs::render(body, buf, state, theme);
    scrub(buf);
    if state.view == View::Overview && !state.help {
        hits.regions = overview::region_rects(main, state);
    }
    hits
}

/// The last line of defence of the text boundary (`fleet::text`): no cell of a frame carries a
/// control character or an escape sequence to the terminal, whatever a pane was given.
fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        if crate::fleet::text::is_hostile_text(cell.symbol())
            || cell.symbol().contains(['\t', '\n'])
        {
            let clean = crate::fleet::text::clean(cell.symbol()).trim().to_string();
            cell.set_symbol(if clean.is_empty() { " " } else { &clean });
        }
    }
}
