//! The mutating AWS calls opsdeck makes, one variant per call with typed fields. Both targets match
//! this enum exhaustively, so a new call cannot be planned without both knowing how to make it.
//!
//! Plans and audit records keep the JSON they have always had: `{service, operation, region,
//! params}` with the AWS request's own field names in `params`. [`ApiCall::params`] builds that
//! request; deserializing reads it back (old audit lines included) and refuses any other call.

use crate::ops::view::AliasTarget;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// Route53's API lives in us-east-1.
pub const ROUTE53_REGION: &str = "us-east-1";
/// Application Auto Scaling: the ECS namespace and the one dimension opsdeck registers.
const ECS_NAMESPACE: &str = "ecs";
const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";

/// One AWS API call exactly as it will be made.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiCall {
    /// ECS `UpdateService`: the service's desired task count.
    UpdateService {
        region: String,
        cluster: String,
        service: String,
        desired_count: i64,
    },
    /// Application Auto Scaling `RegisterScalableTarget` for an ECS service's desired count.
    RegisterScalableTarget {
        region: String,
        cluster: String,
        service: String,
        min_capacity: i64,
        max_capacity: i64,
    },
    /// EKS `UpdateNodegroupConfig`: a managed node group's scaling config (desired, min, max).
    UpdateNodegroupConfig {
        region: String,
        cluster: String,
        nodegroup: String,
        desired_size: i64,
        min_size: i64,
        max_size: i64,
    },
    /// RDS `PromoteReadReplica`.
    PromoteReadReplica {
        region: String,
        db_instance_identifier: String,
    },
    /// Route53 `ChangeResourceRecordSets`: one UPSERT of a weighted record set (in us-east-1).
    ChangeResourceRecordSets {
        hosted_zone_id: String,
        comment: String,
        record_set: WeightedRecordSet,
    },
    /// Route53 `UpdateHealthCheck`: invert a health check or revert it (in us-east-1). Takes a
    /// region out of a latency, geolocation, failover or multivalue record and puts it back.
    UpdateHealthCheck {
        health_check_id: String,
        inverted: bool,
    },
}

/// A weighted record set as an UPSERT writes it: everything the record has, with the new weight.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedRecordSet {
    pub name: String,
    pub record_type: String,
    pub set_identifier: String,
    pub weight: i64,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
    pub health_check_id: Option<String>,
}

impl ApiCall {
    /// The AWS service: "ecs", "application-autoscaling", "rds", "route53".
    pub fn service(&self) -> &'static str {
        match self {
            ApiCall::UpdateService { .. } => "ecs",
            ApiCall::RegisterScalableTarget { .. } => "application-autoscaling",
            ApiCall::UpdateNodegroupConfig { .. } => "eks",
            ApiCall::PromoteReadReplica { .. } => "rds",
            ApiCall::ChangeResourceRecordSets { .. } | ApiCall::UpdateHealthCheck { .. } => {
                "route53"
            }
        }
    }

    /// The API operation's name.
    pub fn operation(&self) -> &'static str {
        match self {
            ApiCall::UpdateService { .. } => "UpdateService",
            ApiCall::RegisterScalableTarget { .. } => "RegisterScalableTarget",
            ApiCall::UpdateNodegroupConfig { .. } => "UpdateNodegroupConfig",
            ApiCall::PromoteReadReplica { .. } => "PromoteReadReplica",
            ApiCall::ChangeResourceRecordSets { .. } => "ChangeResourceRecordSets",
            ApiCall::UpdateHealthCheck { .. } => "UpdateHealthCheck",
        }
    }

    /// The region of the endpoint the call goes to.
    pub fn region(&self) -> &str {
        match self {
            ApiCall::UpdateService { region, .. }
            | ApiCall::RegisterScalableTarget { region, .. }
            | ApiCall::UpdateNodegroupConfig { region, .. }
            | ApiCall::PromoteReadReplica { region, .. } => region,
            ApiCall::ChangeResourceRecordSets { .. } | ApiCall::UpdateHealthCheck { .. } => {
                ROUTE53_REGION
            }
        }
    }

    /// The Application Auto Scaling resource id of an ECS service: `service/CLUSTER/SERVICE`.
    pub fn scalable_resource_id(cluster: &str, service: &str) -> String {
        format!("service/{cluster}/{service}")
    }

    /// The request parameters, with AWS's field names.
    pub fn params(&self) -> Value {
        match self {
            ApiCall::UpdateService {
                cluster,
                service,
                desired_count,
                ..
            } => json!({ "cluster": cluster, "service": service, "desiredCount": desired_count }),
            ApiCall::RegisterScalableTarget {
                cluster,
                service,
                min_capacity,
                max_capacity,
                ..
            } => json!({
                "ServiceNamespace": ECS_NAMESPACE,
                "ResourceId": ApiCall::scalable_resource_id(cluster, service),
                "ScalableDimension": ECS_DESIRED_COUNT,
                "MinCapacity": min_capacity,
                "MaxCapacity": max_capacity,
            }),
            ApiCall::UpdateNodegroupConfig {
                cluster,
                nodegroup,
                desired_size,
                min_size,
                max_size,
                ..
            } => json!({
                "clusterName": cluster,
                "nodegroupName": nodegroup,
                "scalingConfig": {
                    "desiredSize": desired_size,
                    "minSize": min_size,
                    "maxSize": max_size,
                },
            }),
            ApiCall::PromoteReadReplica {
                db_instance_identifier,
                ..
            } => json!({ "DBInstanceIdentifier": db_instance_identifier }),
            ApiCall::ChangeResourceRecordSets {
                hosted_zone_id,
                comment,
                record_set,
            } => json!({
                "HostedZoneId": hosted_zone_id,
                "ChangeBatch": {
                    "Comment": comment,
                    "Changes": [{ "Action": "UPSERT", "ResourceRecordSet": record_set.to_json() }],
                },
            }),
            ApiCall::UpdateHealthCheck {
                health_check_id,
                inverted,
            } => json!({ "HealthCheckId": health_check_id, "Inverted": inverted }),
        }
    }

    fn raw(&self) -> RawCall {
        RawCall {
            service: self.service().into(),
            operation: self.operation().into(),
            region: self.region().into(),
            params: self.params(),
        }
    }

    /// The typed call for a `{service, operation, region, params}` record.
    fn from_raw(raw: RawCall) -> Result<ApiCall, String> {
        let p = &raw.params;
        let what = format!("{} {}", raw.service, raw.operation);
        let text = |k: &str| {
            p[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{what}: no `{k}`"))
        };
        let int = |k: &str| p[k].as_i64().ok_or_else(|| format!("{what}: no `{k}`"));
        Ok(match (raw.service.as_str(), raw.operation.as_str()) {
            ("ecs", "UpdateService") => ApiCall::UpdateService {
                region: raw.region.clone(),
                cluster: text("cluster")?,
                service: text("service")?,
                desired_count: int("desiredCount")?,
            },
            ("application-autoscaling", "RegisterScalableTarget") => {
                let id = text("ResourceId")?;
                let (cluster, service) = id
                    .strip_prefix("service/")
                    .and_then(|s| s.split_once('/'))
                    .ok_or_else(|| {
                        format!("{what}: ResourceId `{id}` is not service/CLUSTER/SERVICE")
                    })?;
                for (k, want) in [
                    ("ServiceNamespace", ECS_NAMESPACE),
                    ("ScalableDimension", ECS_DESIRED_COUNT),
                ] {
                    if text(k)? != want {
                        return Err(format!("{what}: {k} must be {want}"));
                    }
                }
                ApiCall::RegisterScalableTarget {
                    region: raw.region.clone(),
                    cluster: cluster.into(),
                    service: service.into(),
                    min_capacity: int("MinCapacity")?,
                    max_capacity: int("MaxCapacity")?,
                }
            }
            ("eks", "UpdateNodegroupConfig") => {
                let sc = &p["scalingConfig"];
                let size = |k: &str| {
                    sc[k]
                        .as_i64()
                        .ok_or_else(|| format!("{what}: no `scalingConfig.{k}`"))
                };
                ApiCall::UpdateNodegroupConfig {
                    region: raw.region.clone(),
                    cluster: text("clusterName")?,
                    nodegroup: text("nodegroupName")?,
                    desired_size: size("desiredSize")?,
                    min_size: size("minSize")?,
                    max_size: size("maxSize")?,
                }
            }
            ("rds", "PromoteReadReplica") => ApiCall::PromoteReadReplica {
                region: raw.region.clone(),
                db_instance_identifier: text("DBInstanceIdentifier")?,
            },
            ("route53", "ChangeResourceRecordSets") => {
                let batch = &p["ChangeBatch"];
                let changes = batch["Changes"].as_array().map(Vec::as_slice);
                let [change] = changes.unwrap_or_default() else {
                    return Err(format!("{what}: one change expected"));
                };
                if change["Action"] != "UPSERT" {
                    return Err(format!("{what}: only UPSERT is made"));
                }
                ApiCall::ChangeResourceRecordSets {
                    hosted_zone_id: text("HostedZoneId")?,
                    comment: batch["Comment"].as_str().unwrap_or_default().to_string(),
                    record_set: WeightedRecordSet::from_json(&change["ResourceRecordSet"])
                        .map_err(|e| format!("{what}: {e}"))?,
                }
            }
            ("route53", "UpdateHealthCheck") => ApiCall::UpdateHealthCheck {
                health_check_id: text("HealthCheckId")?,
                inverted: p["Inverted"]
                    .as_bool()
                    .ok_or_else(|| format!("{what}: no `Inverted`"))?,
            },
            (s, o) => return Err(format!("opsdeck makes no {s} {o} calls")),
        })
    }
}

impl WeightedRecordSet {
    fn to_json(&self) -> Value {
        let mut set = json!({
            "Name": self.name,
            "Type": self.record_type,
            "SetIdentifier": self.set_identifier,
            "Weight": self.weight,
        });
        if let Some(ttl) = self.ttl {
            set["TTL"] = json!(ttl);
        }
        if !self.values.is_empty() {
            set["ResourceRecords"] = self.values.iter().map(|v| json!({ "Value": v })).collect();
        }
        if let Some(a) = &self.alias {
            set["AliasTarget"] = json!({
                "HostedZoneId": a.hosted_zone_id,
                "DNSName": a.dns_name,
                "EvaluateTargetHealth": a.evaluate_target_health,
            });
        }
        if let Some(h) = &self.health_check_id {
            set["HealthCheckId"] = json!(h);
        }
        set
    }

    fn from_json(s: &Value) -> Result<Self, String> {
        let text = |k: &str| {
            s[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("no `{k}` in the record set"))
        };
        let alias = match s.get("AliasTarget") {
            None | Some(Value::Null) => None,
            Some(a) => Some(AliasTarget {
                hosted_zone_id: a["HostedZoneId"].as_str().unwrap_or_default().into(),
                dns_name: a["DNSName"].as_str().unwrap_or_default().into(),
                evaluate_target_health: a["EvaluateTargetHealth"].as_bool().unwrap_or(false),
            }),
        };
        Ok(WeightedRecordSet {
            name: text("Name")?,
            record_type: text("Type")?,
            set_identifier: text("SetIdentifier")?,
            weight: s["Weight"]
                .as_i64()
                .ok_or("no `Weight` in the record set")?,
            ttl: s["TTL"].as_i64(),
            values: s["ResourceRecords"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["Value"].as_str().map(str::to_string))
                .collect(),
            alias,
            health_check_id: s["HealthCheckId"].as_str().map(str::to_string),
        })
    }
}

/// The JSON shape of a call in plans and audit records.
#[derive(Serialize, Deserialize)]
struct RawCall {
    service: String,
    operation: String,
    region: String,
    params: Value,
}

impl Serialize for ApiCall {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ApiCall {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ApiCall::from_raw(RawCall::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}) {}",
            self.service(),
            self.operation(),
            self.region(),
            self.params()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls as plans and audit records wrote them before the calls were typed.
    const OLD: [&str; 4] = [
        r#"{"service":"ecs","operation":"UpdateService","region":"ap-southeast-1","params":{"cluster":"atlas-ap","service":"api","desiredCount":5}}"#,
        r#"{"service":"application-autoscaling","operation":"RegisterScalableTarget","region":"ap-southeast-1","params":{"ServiceNamespace":"ecs","ResourceId":"service/atlas-ap/api","ScalableDimension":"ecs:service:DesiredCount","MinCapacity":5,"MaxCapacity":10}}"#,
        r#"{"service":"rds","operation":"PromoteReadReplica","region":"us-east-1","params":{"DBInstanceIdentifier":"atlas-db-us"}}"#,
        r#"{"service":"route53","operation":"ChangeResourceRecordSets","region":"us-east-1","params":{"HostedZoneId":"Z0ABC","ChangeBatch":{"Comment":"opsdeck drain eu-west-1","Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"api.example.com.","Type":"A","SetIdentifier":"eu-west-1","Weight":0,"TTL":60,"ResourceRecords":[{"Value":"192.0.2.11"}],"HealthCheckId":"hc-1"}}]}}}"#,
    ];

    #[test]
    fn old_records_read_as_typed_calls_and_write_back_byte_for_byte() {
        for line in OLD {
            let call: ApiCall = serde_json::from_str(line).expect(line);
            assert_eq!(serde_json::to_string(&call).unwrap(), line);
        }
        let call: ApiCall = serde_json::from_str(OLD[1]).unwrap();
        assert_eq!(
            call,
            ApiCall::RegisterScalableTarget {
                region: "ap-southeast-1".into(),
                cluster: "atlas-ap".into(),
                service: "api".into(),
                min_capacity: 5,
                max_capacity: 10,
            }
        );
    }

    #[test]
    fn an_alias_record_round_trips() {
        let call = ApiCall::ChangeResourceRecordSets {
            hosted_zone_id: "Z1".into(),
            comment: String::new(),
            record_set: WeightedRecordSet {
                name: "api.example.com.".into(),
                record_type: "A".into(),
                set_identifier: "eu".into(),
                weight: 30,
                ttl: None,
                values: Vec::new(),
                alias: Some(AliasTarget {
                    hosted_zone_id: "Z2".into(),
                    dns_name: "lb.eu.example.com.".into(),
                    evaluate_target_health: true,
                }),
                health_check_id: None,
            },
        };
        let text = serde_json::to_string(&call).unwrap();
        assert!(
            text.contains(r#""AliasTarget":{"HostedZoneId":"Z2","DNSName":"lb.eu.example.com.""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<ApiCall>(&text).unwrap(), call);
    }

    #[test]
    fn a_health_check_inversion_round_trips() {
        let line = r#"{"service":"route53","operation":"UpdateHealthCheck","region":"us-east-1","params":{"HealthCheckId":"hc-eu","Inverted":true}}"#;
        let call: ApiCall = serde_json::from_str(line).unwrap();
        assert_eq!(
            call,
            ApiCall::UpdateHealthCheck {
                health_check_id: "hc-eu".into(),
                inverted: true
            }
        );
        assert_eq!(serde_json::to_string(&call).unwrap(), line);
        let bad = line.replace("true", "\"yes\"");
        assert!(serde_json::from_str::<ApiCall>(&bad).is_err());
    }

    #[test]
    fn a_node_group_update_round_trips() {
        let line = r#"{"service":"eks","operation":"UpdateNodegroupConfig","region":"us-east-1","params":{"clusterName":"kaldrix-use1","nodegroupName":"api","scalingConfig":{"desiredSize":5,"minSize":2,"maxSize":8}}}"#;
        let call: ApiCall = serde_json::from_str(line).unwrap();
        assert_eq!(
            call,
            ApiCall::UpdateNodegroupConfig {
                region: "us-east-1".into(),
                cluster: "kaldrix-use1".into(),
                nodegroup: "api".into(),
                desired_size: 5,
                min_size: 2,
                max_size: 8,
            }
        );
        assert_eq!(serde_json::to_string(&call).unwrap(), line);
        assert!(serde_json::from_str::<ApiCall>(&line.replace(",\"maxSize\":8", "")).is_err());
    }

    #[test]
    fn a_call_opsdeck_does_not_make_is_refused() {
        let line =
            r#"{"service":"ecs","operation":"DeleteService","region":"eu-west-1","params":{}}"#;
        let err = serde_json::from_str::<ApiCall>(line).unwrap_err();
        assert!(err.to_string().contains("ecs DeleteService"), "{err}");
    }
}
