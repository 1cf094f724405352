//! Planning a promotion: one-way, with the RPO the replica's lag implies.

use super::{ApiCall, Change, Plan};
use crate::fleet::{Fleet, Replication};
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
    plan.notes.push(match (&db.replication, db.lag_s) {
        (Replication::Broken { reason, .. }, _) => {
            format!("RPO: replication is broken ({reason}): everything since it stopped would be lost")
        }
        (_, Some(lag)) => format!("RPO: the replica is {lag:.1} s behind: that much data would be lost (budget {budget:.0} s)"),
        (_, None) => format!("RPO: the replica's lag is unknown: the data loss cannot be bounded (budget {budget:.0} s)"),
    });
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
