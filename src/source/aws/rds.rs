//! RDS: `DescribeDBInstances` for the region's database, turned into its place in the
//! replication topology.

use super::errors::classify;
use crate::fleet::{Replication, SourceError};
use aws_sdk_rds::types::DbInstance;

/// Where one DB instance stands: a writer, a healthy replica, or a replica whose replication is
/// not running (an instance status other than `available`, or a replication status info that is
/// not normal).
pub fn replication_of(db: &DbInstance) -> Replication {
    let instance = db.db_instance_identifier().unwrap_or_default().to_string();
    let status = db.db_instance_status().unwrap_or("unknown").to_string();
    let Some(source) = db
        .read_replica_source_db_instance_identifier()
        .map(String::from)
    else {
        return Replication::Primary { instance, status };
    };
    let replication_problem = db.status_infos().iter().find(|i| {
        i.status_type()
            .map(|t| t.eq_ignore_ascii_case("read replication"))
            .unwrap_or(false)
            && (!i.normal().unwrap_or(true)
                || matches!(i.status(), Some("error" | "stopped" | "terminated")))
    });
    if let Some(info) = replication_problem {
        let mut reason = format!("read replication {}", info.status().unwrap_or("not normal"));
        if let Some(m) = info.message() {
            reason.push_str(&format!(": {m}"));
        }
        return Replication::Broken {
            instance,
            source: Some(source),
            reason,
            last_lag_s: None,
            last_seen: None,
        };
    }
    if status != "available" {
        return Replication::Broken {
            instance,
            source: Some(source),
            reason: format!("instance status {status}"),
            last_lag_s: None,
            last_seen: None,
        };
    }
    Replication::Replica {
        instance,
        source,
        status,
    }
}

/// A replica known to have stopped replicating (CloudWatch ReplicaLag = -1) is broken, whatever
/// its instance status says.
pub fn with_lag_signal(raw: Replication, replication_stopped: bool) -> Replication {
    match (raw, replication_stopped) {
        (
            Replication::Replica {
                instance, source, ..
            },
            true,
        ) => Replication::Broken {
            instance,
            source: Some(source),
            reason: "ReplicaLag is -1: replication is not running".into(),
            last_lag_s: None,
            last_seen: None,
        },
        (other, _) => other,
    }
}

pub async fn fetch(
    client: &aws_sdk_rds::Client,
    instance: &str,
) -> Result<Replication, SourceError> {
    let out = client
        .describe_db_instances()
        .db_instance_identifier(instance)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    out.db_instances()
        .iter()
        .find(|d| d.db_instance_identifier() == Some(instance))
        .or_else(|| out.db_instances().first())
        .map(replication_of)
        .ok_or_else(|| SourceError::NotFound(format!("DB instance {instance}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::DbInstanceStatusInfo;

    fn db(status: &str, source: Option<&str>) -> aws_sdk_rds::types::builders::DbInstanceBuilder {
        DbInstance::builder()
            .db_instance_identifier("db-us")
            .db_instance_status(status)
            .set_read_replica_source_db_instance_identifier(source.map(String::from))
    }

    #[test]
    fn writer_replica_and_broken_replica() {
        assert!(replication_of(&db("available", None).build()).is_primary());
        let src = "arn:aws:rds:eu-west-1:123456789012:db:db-eu";
        assert_eq!(
            replication_of(&db("available", Some(src)).build()),
            Replication::Replica {
                instance: "db-us".into(),
                source: src.into(),
                status: "available".into()
            }
        );
        assert!(matches!(
            replication_of(&db("storage-full", Some(src)).build()),
            Replication::Broken { .. }
        ));
        let info = DbInstanceStatusInfo::builder()
            .status_type("read replication")
            .normal(false)
            .status("error")
            .message("binlog position lost")
            .build();
        match replication_of(&db("available", Some(src)).status_infos(info).build()) {
            Replication::Broken { reason, .. } => {
                assert!(reason.contains("binlog position lost"), "{reason}")
            }
            other => panic!("expected broken, got {other:?}"),
        }
    }

    #[test]
    fn lag_of_minus_one_breaks_a_replica_but_not_a_primary() {
        let replica = Replication::Replica {
            instance: "a".into(),
            source: "b".into(),
            status: "available".into(),
        };
        assert!(matches!(
            with_lag_signal(replica.clone(), true),
            Replication::Broken { .. }
        ));
        assert_eq!(with_lag_signal(replica.clone(), false), replica);
        let primary = Replication::Primary {
            instance: "b".into(),
            status: "available".into(),
        };
        assert_eq!(with_lag_signal(primary.clone(), true), primary);
    }
}
