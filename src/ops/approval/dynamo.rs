//! Pending approvals with `[shared]`: items of the lock table keyed `approval/<fleet>/<id>`
//! (the lease items are keyed by the fleet's name alone), holding the pending operation as JSON
//! and the fields the conditions read. Put with `attribute_not_exists`, approved with an
//! UpdateItem conditional on being unapproved, unexpired and not the requester's own, listed with
//! a Scan on the key's prefix. `expires_at` (epoch seconds) is the table's TTL attribute: DynamoDB
//! removes an expired approval on its own.

use super::{ApprovalStore, Approved, Pending};
use crate::ops::lease::dynamo::{n, s, EXPIRES_AT, KEY};
use crate::source::aws::errors::one_line as err;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::HashMap;

/// Scan pages read at most by one listing.
const MAX_PAGES: usize = 10;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoApprovals {
    client: Client,
    table: String,
    region: String,
}

/// The key prefix of `fleet`'s approvals.
pub fn prefix(fleet: &str) -> String {
    format!("approval/{fleet}/")
}

fn key(fleet: &str, id: &str) -> String {
    format!("{}{id}", prefix(fleet))
}

/// The item of a pending operation.
pub fn item(p: &Pending) -> Item {
    let mut item = HashMap::from([
        (KEY.to_string(), s(key(&p.fleet, &p.id))),
        ("kind".into(), s("approval")),
        (
            "pending".into(),
            s(serde_json::to_string(p).unwrap_or_default()),
        ),
        ("requester".into(), s(&p.requester)),
        ("expires_ms".into(), n(p.expires_at.timestamp_millis())),
        (EXPIRES_AT.into(), n(p.expires_at.timestamp())),
    ]);
    if let Some(by) = &p.approved_by {
        item.insert("approved_by".into(), s(by));
    }
    if let Some(at) = p.approved_at {
        item.insert("approved_at".into(), s(at.to_rfc3339()));
    }
    item
}

/// The pending operation an item holds (the approval fields as the item has them); None when it
/// is not one opsdeck wrote.
pub fn pending_of(item: &Item) -> Option<Pending> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let mut p: Pending = serde_json::from_str(&text("pending")?).ok()?;
    p.approved_by = text("approved_by");
    p.approved_at = text("approved_at")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    Some(p)
}

impl DynamoApprovals {
    pub fn new(config: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoApprovals {
            client: Client::new(config),
            table: table.to_string(),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    async fn put_now(&self, p: &Pending) -> Result<(), String> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(p)))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await
            .map(|_| ())
            .map_err(err)
    }

    async fn get_now(&self, fleet: &str, id: &str) -> Result<Option<Pending>, String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(key(fleet, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        Ok(out
            .item()
            .and_then(pending_of)
            .filter(|p| p.fleet == fleet && p.id == id))
    }

    async fn list_now(&self, fleet: &str) -> Result<Vec<Pending>, String> {
        let mut all = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(#k, :p)")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_values(":p", s(prefix(fleet)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(err)?;
            all.extend(
                out.items()
                    .iter()
                    .filter_map(pending_of)
                    .filter(|p| p.fleet == fleet),
            );
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        all.sort_by_key(|p| p.requested_at);
        Ok(all)
    }

    async fn approve_now(
        &self,
        fleet: &str,
        id: &str,
        approver: &str,
        now: DateTime<Utc>,
    ) -> Result<Approved, String> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key(fleet, id)))
            .update_expression("SET #b = :b, #a = :a")
            .condition_expression(
                "attribute_exists(#k) AND attribute_not_exists(#b) AND #r <> :b AND #x > :now",
            )
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#b", "approved_by")
            .expression_attribute_names("#a", "approved_at")
            .expression_attribute_names("#r", "requester")
            .expression_attribute_names("#x", "expires_ms")
            .expression_attribute_values(":b", s(approver))
            .expression_attribute_values(":a", s(now.to_rfc3339()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => match out.attributes().and_then(pending_of) {
                Some(p) => Ok(Approved::Now(p)),
                None => Ok(Approved::Not(self.get_now(fleet, id).await?)),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Approved::Not(self.get_now(fleet, id).await?))
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn remove_now(&self, fleet: &str, id: &str) -> Result<(), String> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(key(fleet, id)))
            .send()
            .await
            .map(|_| ())
            .map_err(err)
    }
}

impl ApprovalStore for DynamoApprovals {
    fn name(&self) -> String {
        format!("DynamoDB table {} in {}", self.table, self.region)
    }

    fn put<'a>(&'a self, p: &'a Pending) -> BoxFuture<'a, Result<(), String>> {
        self.put_now(p).boxed()
    }

    fn get<'a>(
        &'a self,
        fleet: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Pending>, String>> {
        self.get_now(fleet, id).boxed()
    }

    fn list<'a>(&'a self, fleet: &'a str) -> BoxFuture<'a, Result<Vec<Pending>, String>> {
        self.list_now(fleet).boxed()
    }

    fn approve<'a>(
        &'a self,
        fleet: &'a str,
        id: &'a str,
        approver: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Approved, String>> {
        self.approve_now(fleet, id, approver, now).boxed()
    }

    fn remove<'a>(&'a self, fleet: &'a str, id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        self.remove_now(fleet, id).boxed()
    }
}
