//! What the other operators of this fleet are doing (`ops::others`), read for the console.

use super::Operator;
use crate::ops::audit::{Decision, Phase};
use crate::ops::others::{Others, RECENT, RECENT_MAX};

impl Operator {
    /// Another process's lease on the fleet, the operations that ran in the last [`RECENT`] (by
    /// anyone, this operator too) and those pending approval. A part that cannot be read is left
    /// empty (logged).
    pub async fn others(&self) -> Others {
        let now = self.clock().now();
        let lease = match self.leases.store().holder(&self.fleet.name).await {
            Ok(h) => h.filter(|h| {
                let mine = h.pid == std::process::id() && h.host == crate::ops::lease::host_name();
                // A holder that stopped extending its lease is gone (abandoned), not acting.
                !mine && h.until + chrono::Duration::seconds(5) >= now
            }),
            Err(e) => {
                tracing::warn!("others: lease not read: {e}");
                None
            }
        };
        let recent = match self.trail().since(now - RECENT).await {
            Ok(all) => {
                let mut ran: Vec<_> = all
                    .into_iter()
                    .filter(|r| {
                        r.phase == Phase::Ended
                            && r.decision == Decision::Execute
                            && r.fleet == self.fleet.name
                    })
                    .collect();
                ran.reverse();
                ran.truncate(RECENT_MAX);
                ran
            }
            Err(e) => {
                tracing::warn!("others: audit trail not read: {e}");
                Vec::new()
            }
        };
        let pending = match self.pending().await {
            Ok(all) => all
                .into_iter()
                .filter(|p| p.approved_by.is_none() && !p.expired(now))
                .collect(),
            Err(e) => {
                tracing::warn!("others: pending approvals not read: {e}");
                Vec::new()
            }
        };
        Others {
            lease,
            recent,
            pending,
            read_at: Some(now),
        }
    }
}
