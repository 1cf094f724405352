//! The detail view's 7-day window: what was read for each region and when. A read is asked for
//! when the window is opened on a region — the window key reaches 7 d, the detail view opens or
//! the focus moves with 7 d selected — and only then: never on a frame or a tick. The week
//! already read for the hour that ends the window now is kept and shown again; a read under way
//! is not asked for twice; a failed read is asked for again at the next opening.

pub use super::week_cache::{WeekChart, WeekCharts};
use super::{ChartWindow, State, View};
use crate::report::region_week::RegionWeek;

/// What the detail view shows: an opening is a change of it to (detail, 7 d, a region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    view: View,
    window: ChartWindow,
    focus: usize,
}

pub fn shown(state: &State) -> Shown {
    Shown {
        view: state.view,
        window: state.window,
        focus: state.focus,
    }
}

/// After an update: the region whose week to read (`OpEffect::LoadRegionWeek`) when the 7-day
/// window was just opened on it and nothing usable is held for it (the week that ends at this
/// hour) or on its way; it is marked loading.
pub fn opened(state: &mut State, before: Shown) -> Option<String> {
    let now = shown(state);
    if now == before || now.view != View::Detail || now.window != ChartWindow::D7 {
        return None;
    }
    if state.regions.is_empty() {
        return None;
    }
    let region = state.focused().name().to_string();
    let (_, until) = crate::report::window(state.now, crate::report::region_week::HOURS * 3600);
    match state.week_charts.regions.get(&region) {
        Some(WeekChart::Loading { .. }) => return None,
        Some(WeekChart::Ready(w)) if w.until >= until => return None,
        _ => {}
    }
    state
        .week_charts
        .regions
        .insert(region.clone(), WeekChart::Loading { since: state.now });
    state.dirty = true;
    Some(region)
}

/// The answer to a read asked for `region`: every region's week it brought (the simulated fleet
/// brings them all), or why it failed.
pub fn report(state: &mut State, region: String, result: Result<Vec<RegionWeek>, String>) {
    match result {
        Ok(weeks) => {
            for w in weeks {
                state
                    .week_charts
                    .regions
                    .insert(w.region.clone(), WeekChart::Ready(Box::new(w)));
            }
            // An answer without the region asked for must not leave it loading for ever.
            if let Some(WeekChart::Loading { .. }) = state.week_charts.regions.get(&region) {
                state.week_charts.regions.insert(
                    region,
                    WeekChart::Failed {
                        error: "the answer held no data for this region".into(),
                        at: state.now,
                    },
                );
            }
        }
        Err(error) => {
            state.week_charts.regions.insert(
                region,
                WeekChart::Failed {
                    error,
                    at: state.now,
                },
            );
        }
    }
    state.dirty = true;
}
