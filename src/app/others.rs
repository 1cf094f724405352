//! What the other operators do, as the console shows it: each new fact once in the event log (an
//! operation that ran, a lease taken, an approval asked for), the newest in the status line
//! (`ui::status_line`).

use super::State;
use crate::fleet::Status;
use crate::ops::lease::others::{lease_line, pending_line, record_line, Others};

/// A poll of `Others` arrived: log what is new since the last one, keep it for the status line.
pub fn seen(state: &mut State, others: Others) {
    let now = others.read_at.unwrap_or(state.now);
    let old = std::mem::take(&mut state.others);
    for r in others.recent.iter().rev() {
        if !old.recent.iter().any(|o| o.id == r.id) {
            let level = if r.result.as_ref().is_some_and(|x| x.took_effect()) {
                Status::Ok
            } else {
                Status::Warn
            };
            state.log(r.time, Some(r.region.clone()), level, record_line(r, now));
        }
    }
    if let Some(h) = &others.lease {
        if old.lease.as_ref().map(|o| &o.token) != Some(&h.token) {
            let region = Some(h.op.region().to_string());
            state.log(h.since, region, Status::Warn, lease_line(h));
        }
    }
    for p in &others.pending {
        if !old.pending.iter().any(|o| o.id == p.id) {
            let region = Some(p.plan.region.clone());
            state.log(p.requested_at, region, Status::Warn, pending_line(p));
        }
    }
    state.others = others;
}
