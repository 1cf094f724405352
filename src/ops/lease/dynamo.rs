//! The lease with `[shared]`: one item of the DynamoDB lock table per fleet (partition key
//! `resource`). Taken with a conditional PutItem (`attribute_not_exists(resource) OR expires_at <
//! now`), whose old item — present only when its lease had expired — is the abandoned holder;
//! extended with an UpdateItem and released with a DeleteItem, both conditional on the holder's
//! token. `expires_at` (epoch seconds) is also the table's TTL attribute (`opsdeck shared init`).

use super::{Attempt, Holder, LeaseStore};
use crate::source::aws::errors::one_line as err;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::HashMap;

/// The partition key of the lock table.
pub const KEY: &str = "resource";
/// The expiry (epoch seconds): the condition of a take, and the table's TTL attribute.
pub const EXPIRES_AT: &str = "expires_at";

pub struct DynamoLeases {
    client: Client,
    table: String,
    region: String,
}

type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The item of `holder`'s lease on `resource`.
pub fn item(resource: &str, h: &Holder) -> Item {
    HashMap::from([
        (KEY.to_string(), s(resource)),
        ("token".into(), s(&h.token)),
        ("identity".into(), s(&h.identity)),
        ("host".into(), s(&h.host)),
        ("pid".into(), n(h.pid.into())),
        ("audit_id".into(), s(&h.audit_id)),
        (
            "op".into(),
            s(serde_json::to_string(&h.op).unwrap_or_default()),
        ),
        ("operation".into(), s(h.op.name())),
        ("region".into(), s(h.op.region())),
        ("since".into(), s(h.since.to_rfc3339())),
        ("until".into(), s(h.until.to_rfc3339())),
        (EXPIRES_AT.into(), n(h.until.timestamp())),
    ])
}

/// The holder an item names; None when it is not a lease item opsdeck wrote.
pub fn holder_of(item: &Item) -> Option<Holder> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let time = |k: &str| {
        DateTime::parse_from_rfc3339(&text(k)?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    Some(Holder {
        identity: text("identity")?,
        host: text("host")?,
        pid: item.get("pid")?.as_n().ok()?.parse().ok()?,
        token: text("token")?,
        audit_id: text("audit_id")?,
        op: serde_json::from_str(&text("op")?).ok()?,
        since: time("since")?,
        until: time("until")?,
    })
}

impl DynamoLeases {
    pub fn new(config: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoLeases {
            client: Client::new(config),
            table: table.to_string(),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    async fn take(
        &self,
        resource: &str,
        holder: &Holder,
        now: DateTime<Utc>,
    ) -> Result<Attempt, String> {
        // A take that loses to a release in between sees no holder: it tries again.
        for _ in 0..3 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item(resource, holder)))
                .condition_expression("attribute_not_exists(#k) OR #e < :now")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#e", EXPIRES_AT)
                .expression_attribute_values(":now", n(now.timestamp()))
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            match put {
                Ok(out) => {
                    let abandoned = out.attributes().and_then(holder_of);
                    return Ok(Attempt::Granted { abandoned });
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    if let Some(item) = self.current(resource).await? {
                        return Ok(Attempt::Held(holder_of(&item)));
                    }
                }
                Err(e) => return Err(err(e)),
            }
        }
        Ok(Attempt::Held(None))
    }

    async fn current(&self, resource: &str) -> Result<Option<Item>, String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(resource))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        Ok(out.item().cloned())
    }

    async fn extend_lease(&self, resource: &str, holder: &Holder) -> Result<(), String> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(resource))
            .update_expression("SET #u = :u, #e = :e")
            .condition_expression("#t = :t")
            .expression_attribute_names("#u", "until")
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":u", s(holder.until.to_rfc3339()))
            .expression_attribute_values(":e", n(holder.until.timestamp()))
            .expression_attribute_values(":t", s(&holder.token))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => {
                    "the lease is no longer ours (it expired and was taken over)".to_string()
                }
                _ => err(e),
            })
    }

    async fn delete(&self, resource: &str, holder: &Holder) -> Result<(), String> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(resource))
            .condition_expression("#t = :t")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":t", s(&holder.token))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => {
                    "the lease was no longer ours (it expired and was taken over)".to_string()
                }
                _ => err(e),
            })
    }
}

impl LeaseStore for DynamoLeases {
    fn name(&self) -> String {
        format!("DynamoDB table {} in {}", self.table, self.region)
    }

    fn try_take<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Attempt, String>> {
        self.take(resource, holder, now).boxed()
    }

    fn extend<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.extend_lease(resource, holder).boxed()
    }

    fn release<'a>(
        &'a self,
        resource: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.delete(resource, holder).boxed()
    }

    fn holder<'a>(&'a self, resource: &'a str) -> BoxFuture<'a, Result<Option<Holder>, String>> {
        async move { Ok(self.current(resource).await?.as_ref().and_then(holder_of)) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Op;

    #[test]
    fn a_holder_round_trips_through_its_item() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T02:01:10Z")
            .unwrap()
            .with_timezone(&Utc);
        let h = Holder {
            identity: "arn:aws:iam::1:user/alice".into(),
            host: "ops-1".into(),
            pid: 42,
            token: "tok".into(),
            audit_id: "id".into(),
            op: Op::Drain {
                region: "us-east-1".into(),
            },
            since: now,
            until: now + chrono::Duration::seconds(120),
        };
        let item = item("atlas", &h);
        assert_eq!(item[EXPIRES_AT], n(now.timestamp() + 120));
        assert_eq!(item["operation"], s("drain"));
        assert_eq!(holder_of(&item), Some(h));
    }
}
