//! Screen geometry shared by the renderer and mouse hit-testing.

use ratatui::layout::Rect;

/// Height of the status line at the top and of the footer at the bottom of the overview.
pub const HEADER_ROWS: u16 = 1;
pub const FOOTER_ROWS: u16 = 1;
/// Rows of the event strip under the region panes (0 on small terminals).
pub fn event_strip_rows(area: Rect) -> u16 {
    if area.height >= 40 {
        8
    } else if area.height >= 30 {
        5
    } else {
        0
    }
}

/// Minimum width of one region pane.
pub const PANE_MIN_WIDTH: u16 = 40;

/// The area the region panes share on the overview.
pub fn panes_area(area: Rect) -> Rect {
    let top = area.y + HEADER_ROWS;
    let bottom = area.y + area.height.saturating_sub(FOOTER_ROWS + event_strip_rows(area));
    Rect::new(area.x, top, area.width, bottom.saturating_sub(top))
}

/// Columns of region panes for a width: as many as fit at `PANE_MIN_WIDTH`, at most `n`.
pub fn columns(width: u16, n: usize) -> usize {
    ((width / PANE_MIN_WIDTH).max(1) as usize).min(n.max(1))
}

/// Where each region's pane is on the overview, in fleet order (row-major grid).
pub fn overview_region_rects(area: Rect, n: usize) -> Vec<Rect> {
    if n == 0 {
        return Vec::new();
    }
    let panes = panes_area(area);
    let cols = columns(panes.width, n);
    let rows = n.div_ceil(cols);
    let h = (panes.height / rows as u16).max(1);
    let w = panes.width / cols as u16;
    (0..n)
        .map(|i| {
            let (r, c) = ((i / cols) as u16, (i % cols) as u16);
            let width = if c as usize == cols - 1 { panes.width - w * c } else { w };
            let height = if r as usize == rows - 1 { panes.height.saturating_sub(h * r) } else { h };
            Rect::new(panes.x + w * c, panes.y + h * r, width, height)
        })
        .collect()
}
