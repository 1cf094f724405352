#!/usr/bin/env python3
"""Seed a moto server with a four-region deployment (the same shape as tests/support/seed.rs)
and write, into OUT_DIR, the fleet file opsdeck reads (fleet.toml) and the aws CLI commands an
engineer would type to see the same facts (cli-commands.sh).

    seed-moto.py ENDPOINT_URL OUT_DIR
"""
import datetime
import json
import os
import sys
import urllib.request

import boto3

ENDPOINT, OUT = sys.argv[1], sys.argv[2]
KW = dict(endpoint_url=ENDPOINT, aws_access_key_id="testing", aws_secret_access_key="testing")
PRIMARY = "eu-west-1"
RECORD = "api.atlas.test."
# name, alb, cluster, services, db, cache, latency (s), requests, 5xx, lag, hits, misses, weight, cost
REGIONS = [
    ("eu-west-1", "app/atlas-eu/50dc6c495c0c9188", "atlas-eu", [("api", 4)], "atlas-db-eu", "atlas-redis-eu-001", 0.05, 600, 9, None, 900, 100, 70, 905.25),
    ("us-east-1", "app/atlas-us/7a3f9e21c4b80d15", "atlas-us", [("api", 3), ("worker", 2)], "atlas-db-us", "atlas-redis-us-001", 0.08, 1200, 0, 2.5, 800, 200, 20, 612.5),
    ("ap-southeast-1", "app/atlas-ap/c2e8b47d91f36a08", "atlas-ap", [("api", 2)], "atlas-db-ap", "atlas-redis-ap-001", 0.25, 300, 30, 7.0, 300, 700, 10, 401.75),
    ("us-west-2", "app/atlas-usw/0e1d2c3b4a596877", "atlas-usw", [("api", 2)], "atlas-db-usw", "atlas-redis-usw-001", 0.07, 200, 0, 1.0, 50, 50, 0, 120.0),
]


def client(service, region="us-east-1"):
    return boto3.client(service, region_name=region, **KW)


now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
at = now - datetime.timedelta(seconds=30)
start, end = now - datetime.timedelta(minutes=15), now

primary_arn = client("rds", PRIMARY).create_db_instance(
    DBInstanceIdentifier=REGIONS[0][4], DBInstanceClass="db.r6g.large", Engine="postgres",
    MasterUsername="atlas", MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
)["DBInstance"]["DBInstanceArn"]

for name, alb, cluster, services, db, cache, lat, req, e5xx, lag, hits, misses, _, _ in REGIONS:
    cw = client("cloudwatch", name)
    lb = [{"Name": "LoadBalancer", "Value": alb}]
    cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
        {"MetricName": "TargetResponseTime", "Dimensions": lb, "Timestamp": at, "Value": lat},
        {"MetricName": "RequestCount", "Dimensions": lb, "Timestamp": at, "Value": req},
        {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": lb, "Timestamp": at, "Value": e5xx},
    ])
    cc = [{"Name": "CacheClusterId", "Value": cache}]
    cw.put_metric_data(Namespace="AWS/ElastiCache", MetricData=[
        {"MetricName": "CacheHits", "Dimensions": cc, "Timestamp": at, "Value": hits},
        {"MetricName": "CacheMisses", "Dimensions": cc, "Timestamp": at, "Value": misses},
    ])
    if lag is not None:
        cw.put_metric_data(Namespace="AWS/RDS", MetricData=[{"MetricName": "ReplicaLag", "Timestamp": at, "Value": lag,
                                                               "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": db}]}])
        client("rds", name).create_db_instance_read_replica(
            DBInstanceIdentifier=db, SourceDBInstanceIdentifier=primary_arn, DBInstanceClass="db.r6g.large")
    ecs = client("ecs", name)
    ecs.create_cluster(clusterName=cluster)
    for svc, desired in services:
        ecs.register_task_definition(family=svc, containerDefinitions=[{"name": svc, "image": "atlas/api:1", "memory": 512}])
        ecs.create_service(cluster=cluster, serviceName=svc, taskDefinition=svc, desiredCount=desired)

r53 = client("route53")
zone = r53.create_hosted_zone(Name="atlas.test.", CallerReference="bench")["HostedZone"]["Id"].split("/")[-1]
changes, checks = [], []
for i, (name, *_rest) in enumerate(REGIONS):
    rrset = {"Name": RECORD, "Type": "A", "SetIdentifier": name, "Weight": REGIONS[i][12], "TTL": 60,
             "ResourceRecords": [{"Value": f"192.0.2.{10 + i}"}]}
    if i % 2 == 0:
        hc = r53.create_health_check(CallerReference=f"hc-{name}", HealthCheckConfig={
            "Type": "HTTPS", "FullyQualifiedDomainName": f"{name}.atlas.test", "Port": 443, "ResourcePath": "/health/regional"})
        rrset["HealthCheckId"] = hc["HealthCheck"]["Id"]
        checks.append(hc["HealthCheck"]["Id"])
    changes.append({"Action": "CREATE", "ResourceRecordSet": rrset})
r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})

groups = [{"Keys": [r[0]], "Metrics": {"UnblendedCost": {"Amount": str(r[13]), "Unit": "USD"}}} for r in REGIONS]
body = {"results": [{"ResultsByTime": [{"TimePeriod": {"Start": now.strftime("%Y-%m-01"), "End": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%d")},
                                         "Total": {}, "Groups": groups, "Estimated": True}]}]}
urllib.request.urlopen(urllib.request.Request(f"{ENDPOINT}/moto-api/static/ce/cost-and-usage-results",
                                              data=json.dumps(body).encode(), method="POST",
                                              headers={"Content-Type": "application/json"})).read()

# The fleet file.
with open(os.path.join(OUT, "fleet.toml"), "w") as f:
    f.write('name = "atlas-bench"\n\n[metrics]\n# moto fails percentile queries\nlatency_stats = ["Average"]\n\n')
    for name, alb, cluster, services, db, cache, *_ in REGIONS:
        ecs = ", ".join(f'{{ cluster = "{cluster}", service = "{s}" }}' for s, _ in services)
        role = "primary" if name == PRIMARY else "secondary"
        f.write(f'[[region]]\nname = "{name}"\nrole = "{role}"\nalb = "{alb}"\necs = [{ecs}]\nrds = "{db}"\ncache = "{cache}"\n'
                f'route53 = {{ zone_id = "{zone}", record = "{RECORD}", set_identifier = "{name}" }}\n\n')

# What an engineer types to see the same: one get-metric-statistics per metric and region, then
# ECS, RDS, Route53, Cost Explorer and who-am-I.
window = f"--start-time {start:%Y-%m-%dT%H:%M:%SZ} --end-time {end:%Y-%m-%dT%H:%M:%SZ} --period 60"
cmds = ["aws sts get-caller-identity"]
for name, alb, cluster, services, db, cache, *_ in REGIONS:
    r = f"--region {name}"
    for metric, stat in [("TargetResponseTime", "Average"), ("RequestCount", "Sum"),
                         ("HTTPCode_Target_5XX_Count", "Sum"), ("HTTPCode_ELB_5XX_Count", "Sum")]:
        cmds.append(f"aws cloudwatch get-metric-statistics {r} --namespace AWS/ApplicationELB --metric-name {metric} "
                    f"--dimensions Name=LoadBalancer,Value={alb} --statistics {stat} {window}")
    if name != PRIMARY:
        cmds.append(f"aws cloudwatch get-metric-statistics {r} --namespace AWS/RDS --metric-name ReplicaLag "
                    f"--dimensions Name=DBInstanceIdentifier,Value={db} --statistics Maximum {window}")
    for metric in ["CacheHits", "CacheMisses"]:
        cmds.append(f"aws cloudwatch get-metric-statistics {r} --namespace AWS/ElastiCache --metric-name {metric} "
                    f"--dimensions Name=CacheClusterId,Value={cache} --statistics Sum {window}")
    cmds.append(f"aws ecs describe-services {r} --cluster {cluster} --services {' '.join(s for s, _ in services)}")
    cmds.append(f"aws rds describe-db-instances {r} --db-instance-identifier {db}")
cmds.append(f"aws route53 list-resource-record-sets --hosted-zone-id {zone} --start-record-name {RECORD} --start-record-type A")
cmds += [f"aws route53 get-health-check-status --health-check-id {hc}" for hc in checks]
cmds.append(f"aws ce get-cost-and-usage --time-period Start={now:%Y-%m-01},End={(now + datetime.timedelta(days=1)):%Y-%m-%d} "
            "--granularity MONTHLY --metrics UnblendedCost --group-by Type=DIMENSION,Key=REGION")
with open(os.path.join(OUT, "cli-commands.sh"), "w") as f:
    f.write("set -e\n")
    f.write("\n".join(f"{c.replace('aws ', f'aws --endpoint-url {ENDPOINT} ', 1)} > /dev/null" for c in cmds) + "\n")
print(len(cmds))
