//! The answers of the fault proxy's faults, in the protocol of the service asked: the JSON
//! protocols (ECS, Cost Explorer: a request with `X-Amz-Target`) answer errors as
//! `{"__type": CODE, "message": ...}`, the query and REST-XML ones (CloudWatch, RDS, STS, Route53)
//! as `<ErrorResponse><Error><Code>CODE</Code>...`. Which service and region a request is for is
//! read from its SigV4 credential scope.

use std::time::Duration;

/// What the proxy does to a request before (or instead of) forwarding it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Forward after waiting this long (zero: forward at once).
    Delay(Duration),
    /// Answer the service's throttling error (HTTP 400, `Throttling` in XML, `ThrottlingException`
    /// in JSON) without forwarding.
    Throttle,
    /// Answer this HTTP status (a 5xx) with the service's error body (`ServiceUnavailable` for
    /// 503, `InternalFailure` otherwise) without forwarding.
    ServerError(u16),
    /// Forward, then send upstream's answer with a Content-Length larger than the body sent, and
    /// close the connection after half the body.
    Truncated,
    /// Headers of a 200 answer (chunked), then `chunk` bytes every `every`, without end: until
    /// the client goes away.
    Endless { chunk: usize, every: Duration },
}

impl Default for Fault {
    fn default() -> Self {
        Fault::Delay(Duration::ZERO)
    }
}

impl Fault {
    /// "throttle", "503", "truncated", "endless", "delay 500 ms".
    pub fn label(&self) -> String {
        match self {
            Fault::Delay(d) => format!("delay {} ms", d.as_millis()),
            Fault::Throttle => "throttle".into(),
            Fault::ServerError(code) => code.to_string(),
            Fault::Truncated => "truncated".into(),
            Fault::Endless { .. } => "endless".into(),
        }
    }
}

/// Which requests a rule applies to; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The signing region: "eu-west-1".
    pub region: Option<String>,
    /// The signing name: "monitoring" (CloudWatch), "ecs", "rds", "route53", "ce", "sts".
    pub service: Option<String>,
    /// The operation: "GetMetricData".
    pub call: Option<String>,
}

impl Scope {
    pub fn service(region: &str, service: &str) -> Scope {
        Scope {
            region: Some(region.into()),
            service: Some(service.into()),
            call: None,
        }
    }

    pub fn matches(&self, region: &str, service: &str, call: &str) -> bool {
        let ok = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        ok(&self.region, region) && ok(&self.service, service) && ok(&self.call, call)
    }
}

/// The region and service of a SigV4-signed request:
/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261202/eu-west-1/monitoring/aws4_request, ...`.
pub fn signing_scope(authorization: Option<&str>) -> (String, String) {
    let scope = authorization
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(',').next())
        .unwrap_or_default();
    let parts: Vec<&str> = scope.split('/').collect();
    match parts.as_slice() {
        [_, _, region, service, ..] => (region.to_string(), service.to_string()),
        _ => (String::new(), String::new()),
    }
}

/// An AWS error answer: the JSON protocols when `json`, else the wrapped XML error.
pub fn aws_error(status: u16, json: bool, code: &str, message: &str) -> Vec<u8> {
    let reason = match status {
        400 => "Bad Request",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": code, "message": message }).to_string(),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        )
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nx-amzn-RequestId: fault-proxy\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The throttling error the service itself would send.
pub fn throttled(json: bool, service: &str) -> Vec<u8> {
    let code = match (json, service) {
        (true, "ce") => "LimitExceededException",
        (true, _) => "ThrottlingException",
        (false, _) => "Throttling",
    };
    aws_error(400, json, code, "Rate exceeded")
}

/// A 5xx with the service's error body.
pub fn server_error(status: u16, json: bool) -> Vec<u8> {
    let code = if status == 503 {
        "ServiceUnavailable"
    } else {
        "InternalFailure"
    };
    aws_error(status, json, code, "injected by the fault proxy")
}

/// `answer` (a whole HTTP answer) cut short: its Content-Length says twice the body plus 100
/// bytes, and only half the body follows.
pub fn truncate(answer: &[u8]) -> Vec<u8> {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return answer.to_vec();
    };
    let head = String::from_utf8_lossy(&answer[..split]);
    let body = &answer[split + 4..];
    let mut out = String::new();
    for line in head.lines() {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("connection")
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len() * 2 + 100
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body[..body.len() / 2]);
    bytes
}

/// The head of an endless answer, in the content type of the protocol.
pub fn endless_head(json: bool) -> Vec<u8> {
    let content_type = if json {
        "application/x-amz-json-1.1"
    } else {
        "text/xml"
    };
    format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n")
        .into_bytes()
}

/// One chunk of an endless body: `n` spaces, chunk-framed.
pub fn endless_chunk(n: usize) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", n.max(1)).into_bytes();
    out.extend(std::iter::repeat_n(b' ', n.max(1)));
    out.extend_from_slice(b"\r\n");
    out
}
