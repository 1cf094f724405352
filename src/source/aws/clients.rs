//! One set of SDK clients per region, plus the global ones (Route53, Cost Explorer and STS live in
//! us-east-1), all built from one `SdkConfig` loaded through `aws-config`'s standard chain.

use super::body_limit::BodyLimit;
use super::{AwsOptions, AwsSetupError};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::time::Duration;

/// The region that hosts the global APIs opsdeck calls.
pub const GLOBAL_REGION: &str = "us-east-1";

/// Clients for one region's data.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub eks: aws_sdk_eks::Client,
    pub rds: aws_sdk_rds::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
}

/// Clients for the global APIs.
#[derive(Clone, Debug)]
pub struct GlobalClients {
    pub route53: aws_sdk_route53::Client,
    pub cost: aws_sdk_costexplorer::Client,
    pub sts: aws_sdk_sts::Client,
}

/// One client set per region of a fleet, and the global ones: what the console's pollers and the
/// operation pipeline both read through.
#[derive(Clone, Debug)]
pub struct FleetClients {
    pub regions: Vec<(String, RegionClients)>,
    pub global: GlobalClients,
}

impl FleetClients {
    pub fn new(config: &SdkConfig, fleet: &crate::fleet::Fleet) -> Self {
        FleetClients {
            regions: fleet
                .regions
                .iter()
                .map(|r| (r.name.clone(), RegionClients::new(config, &r.name)))
                .collect(),
            global: GlobalClients::new(config),
        }
    }

    pub fn region(&self, name: &str) -> Option<&RegionClients> {
        self.regions.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
}

/// Check an endpoint URL before any client uses it: it must be an absolute http(s) URL.
pub fn check_endpoint(url: &str) -> Result<(), AwsSetupError> {
    match reqwest::Url::parse(url) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => {
            Ok(())
        }
        Ok(_) => Err(AwsSetupError::InvalidEndpoint(format!(
            "`{url}` must be an http:// or https:// URL"
        ))),
        Err(e) => Err(AwsSetupError::InvalidEndpoint(format!("`{url}`: {e}"))),
    }
}

/// Load the shared configuration: credentials chain, profile, endpoint, retries, per-call timeout.
pub async fn load_config(opts: &AwsOptions, timeout_s: u64) -> Result<SdkConfig, AwsSetupError> {
    let retry = if opts.retries == 0 {
        RetryConfig::disabled()
    } else {
        RetryConfig::standard().with_max_attempts(opts.retries + 1)
    };
    let timeout = Duration::from_secs(timeout_s.max(1));
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build();
    // A fixed default region keeps aws-config from asking instance metadata for one; every client
    // gets its own region below anyway.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(GLOBAL_REGION))
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &opts.endpoint_url {
        check_endpoint(url)?;
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if opts.endpoint_url.is_none() {
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
            check_endpoint(&url)?;
        }
    }
    Ok(config)
}

impl RegionClients {
    pub fn new(config: &SdkConfig, region: &str) -> Self {
        let region = Region::new(region.to_string());
        Self {
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(config)
                    .region(region.clone())
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(config)
                    .region(region.clone())
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
            eks: aws_sdk_eks::Client::from_conf(
                aws_sdk_eks::config::Builder::from(config)
                    .region(region.clone())
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(config)
                    .region(region.clone())
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
            autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(
                aws_sdk_applicationautoscaling::config::Builder::from(config)
                    .region(region)
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
        }
    }
}

/// CloudFront's control plane (global, in us-east-1): only `discover` lists distributions.
pub fn cloudfront(config: &SdkConfig) -> aws_sdk_cloudfront::Client {
    aws_sdk_cloudfront::Client::from_conf(
        aws_sdk_cloudfront::config::Builder::from(config)
            .region(Region::new(GLOBAL_REGION))
            .interceptor(BodyLimit::default())
            .build(),
    )
}

impl GlobalClients {
    pub fn new(config: &SdkConfig) -> Self {
        let region = Region::new(GLOBAL_REGION);
        Self {
            route53: aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::config::Builder::from(config)
                    .region(region.clone())
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
            cost: aws_sdk_costexplorer::Client::from_conf(
                aws_sdk_costexplorer::config::Builder::from(config)
                    .region(region.clone())
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(config)
                    .region(region)
                    .interceptor(BodyLimit::default())
                    .build(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::interceptors::Intercept;

    fn capped(names: impl Iterator<Item = &'static str>) -> bool {
        names
            .into_iter()
            .any(|n| n == super::super::body_limit::NAME)
    }

    #[test]
    fn every_client_caps_its_answers() {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        let r = RegionClients::new(&config, "eu-west-1");
        let g = GlobalClients::new(&config);
        let each = [
            capped(r.cloudwatch.config().interceptors().map(|i| i.name())),
            capped(r.ecs.config().interceptors().map(|i| i.name())),
            capped(r.eks.config().interceptors().map(|i| i.name())),
            capped(r.rds.config().interceptors().map(|i| i.name())),
            capped(r.autoscaling.config().interceptors().map(|i| i.name())),
            capped(g.route53.config().interceptors().map(|i| i.name())),
            capped(g.cost.config().interceptors().map(|i| i.name())),
            capped(g.sts.config().interceptors().map(|i| i.name())),
            capped(
                cloudfront(&config)
                    .config()
                    .interceptors()
                    .map(|i| i.name()),
            ),
        ];
        assert_eq!(each, [true; 9]);
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(check_endpoint("http://127.0.0.1:5000").is_ok());
        assert!(check_endpoint("https://monitoring.eu-west-1.amazonaws.com").is_ok());
        assert!(matches!(
            check_endpoint("127.0.0.1:5000"),
            Err(AwsSetupError::InvalidEndpoint(_))
        ));
        assert!(matches!(
            check_endpoint("ftp://host"),
            Err(AwsSetupError::InvalidEndpoint(_))
        ));
        assert!(matches!(
            check_endpoint("not a url"),
            Err(AwsSetupError::InvalidEndpoint(_))
        ));
    }
}
