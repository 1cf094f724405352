//! The shared audit trail (`[shared] audit_log_group`): every audit record also goes to a
//! CloudWatch Logs group, one stream per operator and host, written before the pipeline's next
//! step exactly as the local record is. Reading it back (all streams, interleaved by time) lets
//! the cooldown, restore's recorded weight, undo and the console see what other operators did.

use super::AuditRecord;
use crate::source::aws::errors::one_line as err;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};

/// Pages of FilterLogEvents read at most by one look back (10,000 events each).
const MAX_PAGES: usize = 20;

/// A log stream name for `operator` on `host`: CloudWatch Logs refuses `:` and `*` in one.
pub fn stream_name(operator: &str, host: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if matches!(c, ':' | '*') || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    let mut name = format!("{}@{}", clean(operator), clean(host));
    name.truncate(512);
    name
}

pub struct SharedLog {
    client: Client,
    group: String,
    host: String,
    /// Streams known to exist (created by this process or found).
    stream_made: AtomicBool,
}

impl SharedLog {
    pub fn new(config: &aws_config::SdkConfig, group: &str) -> Self {
        SharedLog {
            client: Client::new(config),
            group: group.to_string(),
            host: crate::ops::lease::host_name(),
            stream_made: AtomicBool::new(false),
        }
    }

    /// The log group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Put one record into the operator's stream of this host (created when missing); Ok only
    /// once CloudWatch Logs accepted it.
    pub async fn put(&self, record: &AuditRecord) -> Result<(), String> {
        let stream = stream_name(&record.operator, &self.host);
        let message = serde_json::to_string(record).map_err(|e| e.to_string())?;
        let event = InputLogEvent::builder()
            .timestamp(record.time.timestamp_millis())
            .message(message)
            .build()
            .map_err(|e| e.to_string())?;
        let fail = |e: String| format!("log group {} stream {stream}: {e}", self.group);
        if !self.stream_made.load(Ordering::Relaxed) {
            self.make_stream(&stream).await.map_err(fail)?;
        }
        let out = self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&stream)
            .log_events(event)
            .send()
            .await
            .map_err(|e| fail(err(e)))?;
        if let Some(r) = out.rejected_log_events_info() {
            return Err(fail(format!(
                "the record was rejected (too old: {:?}, too new: {:?}, expired: {:?})",
                r.too_old_log_event_end_index(),
                r.too_new_log_event_start_index(),
                r.expired_log_event_end_index()
            )));
        }
        Ok(())
    }

    async fn make_stream(&self, stream: &str) -> Result<(), String> {
        match self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Err(
                    "the log group does not exist (`opsdeck shared init` creates it)".into(),
                )
            }
            Err(e) => return Err(err(e)),
        }
        self.stream_made.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Every record of every stream since `since`, oldest first (lines that are not records are
    /// skipped).
    pub async fn records_since(&self, since: DateTime<Utc>) -> Result<Vec<AuditRecord>, String> {
        let mut records = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .start_time(since.timestamp_millis())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| format!("log group {}: {}", self.group, err(e)))?;
            records.extend(
                out.events()
                    .iter()
                    .filter_map(|e| e.message())
                    .filter_map(|m| serde_json::from_str::<AuditRecord>(m).ok()),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() && !out.events().is_empty() => token = Some(t.into()),
                _ => break,
            }
        }
        records.sort_by_key(|r| (r.time, r.phase == super::Phase::Ended));
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_named_by_operator_and_host_without_colons() {
        assert_eq!(
            stream_name("arn:aws:iam::123456789012:user/alice", "ops-1"),
            "arn_aws_iam__123456789012_user/alice@ops-1"
        );
    }
}
