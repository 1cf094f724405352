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
    panes_area_below(area, 0)
}

/// The area the region panes share under `fleet_rows` fleet-wide lines (the CDN's).
pub fn panes_area_below(area: Rect, fleet_rows: u16) -> Rect {
    let top = (area.y + HEADER_ROWS + fleet_rows).min(area.y + area.height);
    let bottom = area.y
        + area
            .height
            .saturating_sub(FOOTER_ROWS + event_strip_rows(area));
    Rect::new(area.x, top, area.width, bottom.saturating_sub(top))
}

/// Columns of region panes for a width: as many as fit at `PANE_MIN_WIDTH`, at most `n`.
pub fn columns(width: u16, n: usize) -> usize {
    ((width / PANE_MIN_WIDTH).max(1) as usize).min(n.max(1))
}

/// Where each region's pane is on the overview, in fleet order (row-major grid).
pub fn overview_region_rects(area: Rect, n: usize) -> Vec<Rect> {
    overview_region_rects_below(area, n, 0)
}

/// The fleet-wide lines under the status line (the CDN's), `fleet_rows` high.
pub fn fleet_lines_area(area: Rect, fleet_rows: u16) -> Rect {
    let top = (area.y + HEADER_ROWS).min(area.y + area.height);
    let h = fleet_rows.min(area.y + area.height - top);
    Rect::new(area.x, top, area.width, h)
}

/// Where each region's pane is under `fleet_rows` fleet-wide lines.
pub fn overview_region_rects_below(area: Rect, n: usize, fleet_rows: u16) -> Vec<Rect> {
    if n == 0 {
        return Vec::new();
    }
    let panes = panes_area_below(area, fleet_rows);
    let cols = columns(panes.width, n);
    let rows = n.div_ceil(cols);
    let h = (panes.height / rows as u16).max(1);
    let w = panes.width / cols as u16;
    (0..n)
        .map(|i| {
            let (r, c) = ((i / cols) as u16, (i % cols) as u16);
            let width = if c as usize == cols - 1 {
                panes.width - w * c
            } else {
                w
            };
            let height = if r as usize == rows - 1 {
                panes.height.saturating_sub(h * r)
            } else {
                h
            };
            Rect::new(panes.x + w * c, panes.y + h * r, width, height)
        })
        .collect()
}

/// The event strip under the region panes (zero height on small terminals).
pub fn event_strip_area(area: Rect) -> Rect {
    let rows = event_strip_rows(area);
    let y = area.y + area.height.saturating_sub(FOOTER_ROWS + rows);
    Rect::new(area.x, y, area.width, rows)
}

/// Everything between the status line and the footer.
pub fn body_area(area: Rect) -> Rect {
    let h = area.height.saturating_sub(HEADER_ROWS + FOOTER_ROWS);
    Rect::new(area.x, area.y + HEADER_ROWS.min(area.height), area.width, h)
}

/// The empty grid cells right of the last region pane, when the last grid row is not full.
pub fn spare_grid_area(area: Rect, n: usize, fleet_rows: u16) -> Option<Rect> {
    let rects = overview_region_rects_below(area, n, fleet_rows);
    let last = rects.last()?;
    let panes = panes_area_below(area, fleet_rows);
    let right = panes.x + panes.width;
    let x = last.x + last.width;
    (x < right && last.width > 0 && last.height > 0)
        .then(|| Rect::new(x, last.y, right - x, last.height))
}

/// A `width` × `height` rectangle centred in `area` (clipped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// An overlay's frame over `rect`: cleared, in the theme's text style, a rounded focused border
/// with `title` on top and the key `hint` at the bottom right. Returns the area inside it.
pub fn overlay_frame(
    rect: Rect,
    buf: &mut ratatui::buffer::Buffer,
    theme: &crate::config::Theme,
    title: String,
    hint: String,
) -> Rect {
    use ratatui::text::{Line, Span};
    use ratatui::widgets::{Block, BorderType, Clear, Widget};
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focus)
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::styled(hint, theme.muted).right_aligned());
    Clear.render(rect, buf);
    buf.set_style(rect, theme.text);
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}
