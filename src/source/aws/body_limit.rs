//! No AWS answer can fill memory: the SDK reads a whole answer before it parses it, however long
//! it is, until the call's time limit; an endpoint streaming without end (a broken emulator or
//! proxy) made it hold some 150 MB in two seconds. Every client gets [`BodyLimit`], which
//! cuts an answer past [`MAX_ANSWER_BYTES`]: the call fails with
//! [`AnswerTooLarge`] ("answer larger than 16 MiB") and the rest of the answer is not read.
//!
//! The SDK has no setting of its own for this; an interceptor wrapping the body before the
//! orchestrator reads it is its documented extension point.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The largest answer read: far above any page opsdeck asks for (a GetMetricData answer for a
/// region is a few KiB, a Route53 page of 300 records some 100 KiB).
pub const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// The interceptor's name, as the SDK lists it in a client's configuration.
pub const NAME: &str = "opsdeck::BodyLimit";

/// Cuts every answer's body at `max` bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub max: u64,
}

impl Default for BodyLimit {
    fn default() -> Self {
        BodyLimit {
            max: MAX_ANSWER_BYTES,
        }
    }
}

/// Why an answer was not read: it was (or announced it would be) longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerTooLarge {
    pub max: u64,
}

impl std::fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.max.is_multiple_of(1 << 20) {
            write!(f, "answer larger than {} MiB", self.max >> 20)
        } else {
            write!(f, "answer larger than {} bytes", self.max)
        }
    }
}

impl std::error::Error for AnswerTooLarge {}

impl Intercept for BodyLimit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let max = self.max;
        let announced = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > max) {
            return Err(AnswerTooLarge { max }.into());
        }
        let body = context.response_mut().take_body();
        *context.response_mut().body_mut() = SdkBody::from_body_1_x(Capped {
            inner: body,
            read: 0,
            max,
        });
        Ok(())
    }
}

/// A body that fails once more than `max` bytes came through.
struct Capped {
    inner: SdkBody,
    read: u64,
    max: u64,
}

impl http_body::Body for Capped {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.read > this.max {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.read += frame.data_ref().map_or(0, |d| d.len() as u64);
                if this.read > this.max {
                    // Drop what is still coming: the connection is not read any further.
                    this.inner = SdkBody::empty();
                    return Poll::Ready(Some(Err(AnswerTooLarge { max: this.max }.into())));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.read > self.max || http_body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// The limit's reason, when `err` or one of its sources is [`AnswerTooLarge`].
pub fn too_large(err: &(dyn std::error::Error + 'static)) -> Option<AnswerTooLarge> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<AnswerTooLarge>() {
            return Some(*t);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_past_the_limit_fails_with_the_reason_and_a_small_one_passes() {
        let big = SdkBody::from(vec![b' '; 3 << 20]);
        let capped = Capped {
            inner: big,
            read: 0,
            max: 1 << 20,
        };
        let err = capped.collect().await.expect_err("cut");
        assert_eq!(err.to_string(), "answer larger than 1 MiB");
        assert_eq!(too_large(&*err), Some(AnswerTooLarge { max: 1 << 20 }));
        // Exactly at the limit passes.
        let exact = Capped {
            inner: SdkBody::from(vec![b'x'; 1 << 20]),
            read: 0,
            max: 1 << 20,
        };
        assert_eq!(exact.collect().await.unwrap().to_bytes().len(), 1 << 20);
        let small = Capped {
            inner: SdkBody::from("<ok/>"),
            read: 0,
            max: 1 << 20,
        };
        let bytes = small.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"<ok/>");
    }

    #[test]
    fn the_reason_names_the_limit() {
        assert_eq!(
            AnswerTooLarge {
                max: MAX_ANSWER_BYTES
            }
            .to_string(),
            "answer larger than 16 MiB"
        );
        assert_eq!(
            AnswerTooLarge { max: 1000 }.to_string(),
            "answer larger than 1000 bytes"
        );
    }
}
