//! Planning a promotion: one-way, with the RPO the replica's lag implies.

use super::{ApiCall, Change, Plan};
use crate::fleet::{Fleet, Replication};
use crate::ops::failover::Rpo;
use crate::ops::view::{FleetView, RegionState};
use crate::ops::OpError;

pub(super) fn plan(
    plan: &mut Plan,
    region: &RegionState,
    view: &FleetView,
    fleet: &Fleet,
) -> Result<(), OpError> {
    let db = region.database.as_ref().ok_or_else(|| {
        OpError::Input(format!(
            "{} has no database (`rds`) in the fleet file",
            region.name
        ))
    })?;
    let source = match &db.replication {
        Replication::Primary { .. } => {
            return Err(OpError::Input(format!(
                "{} in {} is already a primary: nothing to promote",
                db.instance, region.name
            )))
        }
        Replication::Replica { source, .. } => source.clone(),
        Replication::Broken { source, .. } => source.clone().unwrap_or_else(|| "unknown".into()),
    };
    plan.resource = format!("rds:{}/{}", region.name, db.instance);
    plan.reversible = false;
    plan.changes.push(Change {
        resource: format!("rds {}", db.instance),
        field: "role".into(),
        before: format!("read replica of {source}"),
        after: "standalone primary".into(),
    });
    plan.calls.push(ApiCall::PromoteReadReplica {
        region: region.name.clone(),
        db_instance_identifier: db.instance.clone(),
    });
    let budget = fleet.capacity.rpo_budget_s;
    plan.notes.push(match crate::ops::failover::rpo(view, db) {
        Rpo::Live { lag_s, .. } => format!("RPO: the replica is {lag_s:.1} s behind: that much data would be lost (budget {budget:.0} s)"),
        Rpo::LastSeen { lag_s, at } => format!(
            "RPO: replication stopped with the primary down; the last lag seen ({}) was {lag_s:.1} s: about that much data would be lost (budget {budget:.0} s)",
            at.format("%H:%M:%S UTC")
        ),
        Rpo::Unknown => format!("RPO: the replica's lag is unknown: the data loss cannot be bounded (budget {budget:.0} s)"),
        Rpo::Unbounded => match &db.replication {
            Replication::Broken { reason, .. } => format!("RPO: replication is broken ({reason}): everything since it stopped would be lost"),
            _ => "RPO: unknown".into(),
        },
    });
    let order = crate::ops::failover::order(view, fleet, None);
    if let Some(first) = order.first().filter(|f| **f != region.name) {
        let how = if fleet.failover.order.is_empty() {
            "by capacity"
        } else {
            "in the fleet's failover order"
        };
        plan.notes
            .push(format!("{first} comes before {} {how}", region.name));
    }
    plan.notes.push(
        "one-way: cannot be undone (a promoted instance never becomes a replica again)".into(),
    );
    let still: Vec<&str> = view
        .regions
        .iter()
        .filter(|r| r.name != region.name)
        .filter(|r| matches!(&r.database, Some(d) if matches!(&d.replication, Replication::Replica { source: s, .. } if *s == source)))
        .map(|r| r.name.as_str())
        .collect();
    plan.notes.push(match still.as_slice() {
        [] => format!("afterwards {} and {source} are both writers", db.instance),
        list => format!(
            "afterwards {} and {source} are both writers; still replicating from {source}: {}",
            db.instance,
            list.join(", ")
        ),
    });
    Ok(())
}
