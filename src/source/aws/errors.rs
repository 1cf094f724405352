//! Sorting SDK failures into `SourceError`, so a pane can say why it is stale and the poller can
//! decide whether to back off.

use crate::fleet::SourceError;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error;

/// Error codes that mean "slow down", across the services opsdeck calls (CloudWatch says
/// `Throttling`, ECS `ThrottlingException`, Route53 `PriorRequestNotComplete`, Cost Explorer
/// `LimitExceededException`).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "LimitExceededException",
    "SlowDown",
    "BandwidthLimitExceeded",
];

const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];

const REJECTED: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "MissingAuthenticationToken",
];

const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "NotAuthorized",
];

/// Sort an error code (and its message) from an AWS answer.
pub fn classify_code(code: &str, message: &str) -> SourceError {
    let text = if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    };
    // Codes and messages come from the wire: never let them reach a terminal raw.
    let text = crate::fleet::text::clean(&text).into_owned();
    if THROTTLING.contains(&code) {
        SourceError::Throttled(text)
    } else if EXPIRED.contains(&code) {
        SourceError::ExpiredCredentials(text)
    } else if REJECTED.contains(&code) {
        SourceError::NoCredentials(format!("credentials rejected ({text})"))
    } else if DENIED.contains(&code) {
        SourceError::AccessDenied(text)
    } else if code.contains("NotFound") || code.starts_with("NoSuch") {
        SourceError::NotFound(text)
    } else {
        SourceError::Other(text)
    }
}

/// Sort any SDK failure of any service.
pub fn classify<E, R>(err: &SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(cred) = find_credentials_error(err) {
        return credentials_error(cred);
    }
    // An answer cut at the size limit: a broken answer like any other, said in words.
    if let Some(cut) = super::body_limit::too_large(err) {
        return SourceError::Other(cut.to_string());
    }
    match err {
        SdkError::TimeoutError(_) => {
            SourceError::Timeout("the call took longer than the timeout".into())
        }
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                SourceError::Timeout(chain(err))
            } else if d.is_user() {
                SourceError::Other(chain(err))
            } else {
                SourceError::Unreachable(chain(err))
            }
        }
        SdkError::ServiceError(_) => match err.code() {
            Some(code) => classify_code(code, err.message().unwrap_or_default()),
            None => SourceError::Other(format!(
                "service error without a code: {}",
                short(&chain(err))
            )),
        },
        SdkError::ResponseError(_) => {
            SourceError::Other(format!("unreadable answer: {}", short(&chain(err))))
        }
        SdkError::ConstructionFailure(_) => {
            SourceError::Other(format!("request not built: {}", short(&chain(err))))
        }
        _ => SourceError::Other(short(&chain(err))),
    }
}

/// Turn a credentials-provider failure into a pane-sized reason.
pub fn credentials_error(err: &CredentialsError) -> SourceError {
    let text = short(&chain(err));
    if text.to_ascii_lowercase().contains("expired") {
        SourceError::ExpiredCredentials(text)
    } else {
        SourceError::NoCredentials(text)
    }
}

fn find_credentials_error<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a CredentialsError> {
    let mut current: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(c);
        }
        current = e.source();
    }
    None
}

/// The error and its sources on one line: "dispatch failure: io error: Connection refused".
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut current = err.source();
    while let Some(e) = current {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// A message cut to a length a pane can show (HTML error pages from emulators can be long).
pub fn short(text: &str) -> String {
    const MAX: usize = 200;
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_sort_into_kinds() {
        assert!(matches!(
            classify_code("Throttling", "Rate exceeded"),
            SourceError::Throttled(_)
        ));
        assert!(matches!(
            classify_code("TooManyRequestsException", ""),
            SourceError::Throttled(_)
        ));
        assert!(matches!(
            classify_code("ExpiredTokenException", "expired"),
            SourceError::ExpiredCredentials(_)
        ));
        assert!(matches!(
            classify_code("UnauthorizedOperation", ""),
            SourceError::AccessDenied(_)
        ));
        assert!(matches!(
            classify_code("InvalidClientTokenId", ""),
            SourceError::NoCredentials(_)
        ));
        assert!(matches!(
            classify_code("DBInstanceNotFound", ""),
            SourceError::NotFound(_)
        ));
        assert!(matches!(
            classify_code("NoSuchHostedZone", ""),
            SourceError::NotFound(_)
        ));
        assert_eq!(
            classify_code("InternalFailure", "boom"),
            SourceError::Other("InternalFailure: boom".into())
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x ".repeat(500);
        assert!(short(&long).chars().count() <= 201);
    }
}

/// An SDK error in one line: the service's code and message, else the whole chain.
pub fn one_line<E, R>(e: aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(se) if se.code().is_some() => format!(
            "{}: {}",
            se.code().unwrap_or_default(),
            se.message().unwrap_or_default()
        ),
        _ => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    }
}
