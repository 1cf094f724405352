//! What `[shared]` needs on AWS and `opsdeck shared init`'s plan for it: the DynamoDB lock table
//! (partition key `resource` of type string, on-demand, TTL on `expires_at`) and the CloudWatch
//! Logs group of the shared trail (with a retention). Read with DescribeTable,
//! DescribeTimeToLive and DescribeLogGroups; created with CreateTable, UpdateTimeToLive,
//! CreateLogGroup and PutRetentionPolicy — each only when missing, so a re-run says what exists.

use super::dynamo::{EXPIRES_AT, KEY};
use crate::fleet::shared::SharedConfig;
use crate::source::aws::errors::one_line as err;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use std::time::Duration;

/// Days the shared trail keeps its records (a valid CloudWatch Logs retention).
pub const RETENTION_DAYS: i32 = 365;

/// What exists of a fleet's `[shared]` resources.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Found {
    /// The table's partition key (name, type) when the table exists.
    pub table_key: Option<(String, String)>,
    pub table_active: bool,
    /// The TTL attribute, when TTL is on (or being turned on).
    pub ttl: Option<String>,
    pub log_group: bool,
    pub retention_days: Option<i32>,
}

/// One step of the set-up: what, and whether it is already there.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    pub what: String,
    pub exists: bool,
}

impl Found {
    /// A table with another key cannot hold leases; opsdeck never changes it.
    pub fn table_problem(&self, cfg: &SharedConfig) -> Option<String> {
        match &self.table_key {
            Some((name, kind)) if name != KEY || kind != "S" => Some(format!(
                "DynamoDB table {} exists with partition key `{name}` ({kind}); opsdeck needs `{KEY}` (S): name another table in [shared] lock_table",
                cfg.lock_table
            )),
            _ => None,
        }
    }

    /// The steps of `shared init`, each marked when it exists already.
    pub fn steps(&self, cfg: &SharedConfig) -> Vec<Step> {
        vec![
            Step {
                what: format!(
                    "DynamoDB table {} in {} (partition key `{KEY}` of type S, on-demand)",
                    cfg.lock_table, cfg.region
                ),
                exists: self.table_key.is_some(),
            },
            Step {
                what: format!(
                    "TTL on the table's attribute `{EXPIRES_AT}` (expired leases and approvals go)"
                ),
                exists: self.ttl.as_deref() == Some(EXPIRES_AT),
            },
            Step {
                what: format!(
                    "CloudWatch Logs group {} in {}",
                    cfg.audit_log_group, cfg.region
                ),
                exists: self.log_group,
            },
            Step {
                what: format!("retention of {RETENTION_DAYS} days on the log group"),
                exists: self.retention_days.is_some(),
            },
        ]
    }

    /// What operations cannot do without (the table and the log group), in words.
    pub fn missing(&self, cfg: &SharedConfig) -> Vec<String> {
        let mut out = Vec::new();
        if self.table_key.is_none() {
            out.push(format!("DynamoDB table {}", cfg.lock_table));
        }
        if !self.log_group {
            out.push(format!("CloudWatch Logs group {}", cfg.audit_log_group));
        }
        out
    }
}

pub struct SharedSetup {
    ddb: aws_sdk_dynamodb::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cfg: SharedConfig,
}

impl SharedSetup {
    /// `config` in `[shared] region`.
    pub fn new(config: &aws_config::SdkConfig, cfg: &SharedConfig) -> Self {
        SharedSetup {
            ddb: aws_sdk_dynamodb::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            cfg: cfg.clone(),
        }
    }

    /// Read what exists.
    pub async fn inspect(&self) -> Result<Found, String> {
        let mut found = Found::default();
        let table = &self.cfg.lock_table;
        match self.ddb.describe_table().table_name(table).send().await {
            Ok(out) => {
                let t = out.table();
                let key = t
                    .map(|t| t.key_schema())
                    .unwrap_or_default()
                    .iter()
                    .find(|k| k.key_type() == &KeyType::Hash)
                    .map(|k| k.attribute_name().to_string())
                    .unwrap_or_default();
                let kind = t
                    .map(|t| t.attribute_definitions())
                    .unwrap_or_default()
                    .iter()
                    .find(|a| a.attribute_name() == key)
                    .map(|a| a.attribute_type().as_str().to_string())
                    .unwrap_or_default();
                found.table_active = t.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
                found.table_key = Some((key, kind));
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(e) => return Err(format!("DynamoDB DescribeTable {table}: {}", err(e))),
        }
        if found.table_key.is_some() {
            let ttl = self
                .ddb
                .describe_time_to_live()
                .table_name(table)
                .send()
                .await
                .map_err(|e| format!("DynamoDB DescribeTimeToLive {table}: {}", err(e)))?;
            found.ttl = ttl.time_to_live_description().and_then(|d| {
                let on = matches!(
                    d.time_to_live_status(),
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                );
                on.then(|| d.attribute_name().unwrap_or_default().to_string())
            });
        }
        let group = &self.cfg.audit_log_group;
        let groups = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .map_err(|e| format!("CloudWatch Logs DescribeLogGroups {group}: {}", err(e)))?;
        if let Some(g) = groups
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(group.as_str()))
        {
            found.log_group = true;
            found.retention_days = g.retention_in_days();
        }
        Ok(found)
    }

    /// Create what `found` lacks; the steps taken.
    pub async fn create(&self, found: &Found) -> Result<Vec<String>, String> {
        let (table, group) = (&self.cfg.lock_table, &self.cfg.audit_log_group);
        let mut done = Vec::new();
        if found.table_key.is_none() {
            self.ddb
                .create_table()
                .table_name(table)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(KEY)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(KEY)
                        .key_type(KeyType::Hash)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .map_err(|e| format!("DynamoDB CreateTable {table}: {}", err(e)))?;
            done.push(format!("created DynamoDB table {table}"));
        }
        if found.ttl.as_deref() != Some(EXPIRES_AT) {
            self.until_active().await?;
            self.ddb
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(EXPIRES_AT)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| format!("DynamoDB UpdateTimeToLive {table}: {}", err(e)))?;
            done.push(format!("turned TTL on for `{EXPIRES_AT}`"));
        }
        if !found.log_group {
            self.logs
                .create_log_group()
                .log_group_name(group)
                .send()
                .await
                .map_err(|e| format!("CloudWatch Logs CreateLogGroup {group}: {}", err(e)))?;
            done.push(format!("created log group {group}"));
        }
        if found.retention_days.is_none() {
            self.logs
                .put_retention_policy()
                .log_group_name(group)
                .retention_in_days(RETENTION_DAYS)
                .send()
                .await
                .map_err(|e| format!("CloudWatch Logs PutRetentionPolicy {group}: {}", err(e)))?;
            done.push(format!(
                "set the log group's retention to {RETENTION_DAYS} days"
            ));
        }
        Ok(done)
    }

    /// Wait (up to two minutes) until the new table is ACTIVE: TTL can be set only then.
    async fn until_active(&self) -> Result<(), String> {
        let table = &self.cfg.lock_table;
        for _ in 0..60 {
            let out = self
                .ddb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| format!("DynamoDB DescribeTable {table}: {}", err(e)))?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Err(format!(
            "DynamoDB table {table} did not become ACTIVE within two minutes"
        ))
    }
}
