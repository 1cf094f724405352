//! EKS in moto (issue 11, point 3): a cluster with managed node groups, Container Insights running
//! pods put into CloudWatch, and the opsdeck binary run against them.
#![allow(dead_code)]

use super::seed::sdk_config;
use aws_sdk_eks::types::{NodegroupScalingConfig, VpcConfigRequest};
use std::path::Path;
use std::process::{Command, Output};

/// One node group to create: (cluster, nodegroup, desired, min, max).
pub type Group<'a> = (&'a str, &'a str, i32, i32, i32);

fn config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    sdk_config(endpoint)
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

pub fn client(endpoint: &str, region: &str) -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&config(endpoint, region))
}

/// Create each cluster once and its node groups in `region`.
pub async fn create(endpoint: &str, region: &str, groups: &[Group<'_>]) {
    let eks = client(endpoint, region);
    let mut clusters: Vec<&str> = groups.iter().map(|g| g.0).collect();
    clusters.dedup();
    for c in clusters {
        eks.create_cluster()
            .name(c)
            .role_arn("arn:aws:iam::123456789012:role/eks-cluster")
            .resources_vpc_config(VpcConfigRequest::builder().subnet_ids("subnet-1").build())
            .send()
            .await
            .expect("create cluster");
    }
    for (c, ng, desired, min, max) in groups {
        eks.create_nodegroup()
            .cluster_name(*c)
            .nodegroup_name(*ng)
            .node_role("arn:aws:iam::123456789012:role/eks-node")
            .subnets("subnet-1")
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .desired_size(*desired)
                    .min_size(*min)
                    .max_size(*max)
                    .build(),
            )
            .send()
            .await
            .expect("create node group");
    }
}

/// (desired, min, max, status) as EKS answers now.
pub async fn read(
    endpoint: &str,
    region: &str,
    cluster: &str,
    ng: &str,
) -> (i32, i32, i32, String) {
    let out = client(endpoint, region)
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(ng)
        .send()
        .await
        .expect("describe node group");
    let g = out.nodegroup().expect("node group");
    let s = g.scaling_config().expect("scaling config");
    (
        s.desired_size().unwrap_or(-1),
        s.min_size().unwrap_or(-1),
        s.max_size().unwrap_or(-1),
        g.status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    )
}

/// Container Insights' running pods of a service, in the last complete minute.
pub async fn put_running_pods(
    endpoint: &str,
    region: &str,
    (cluster, namespace, service): (&str, &str, &str),
    pods: f64,
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let cw = aws_sdk_cloudwatch::Client::new(&config(endpoint, region));
    let now = chrono::Utc::now().timestamp();
    let at = aws_smithy_types::DateTime::from_secs(now - now.rem_euclid(60) - 30);
    let dim = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
    cw.put_metric_data()
        .namespace("ContainerInsights")
        .metric_data(
            MetricDatum::builder()
                .metric_name("service_number_of_running_pods")
                .dimensions(dim("ClusterName", cluster))
                .dimensions(dim("Namespace", namespace))
                .dimensions(dim("Service", service))
                .timestamp(at)
                .value(pods)
                .build(),
        )
        .send()
        .await
        .expect("put running pods");
}

/// `opsdeck --fleet F --endpoint-url E --audit-log DIR/audit.jsonl ARGS`, with moto's test
/// credentials and its state in `dir`.
pub fn opsdeck(dir: &Path, fleet: &Path, endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--fleet")
        .arg(fleet)
        .args(["--endpoint-url", endpoint, "--audit-log"])
        .arg(dir.join("audit.jsonl"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("OPSDECK_STATE_DIR", dir)
        .env("OPSDECK_CONFIG", dir.join("config"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("run opsdeck")
}
