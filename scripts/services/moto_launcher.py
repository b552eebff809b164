"""Start moto's server with the DataSync and EC2 Client VPN calls and fields that moto lacks.

moto dispatches each request to a method of its response class at call time, so adding
methods here, before the server starts, is enough. They keep EFS locations in moto's own
DataSync location store, so ListLocations, CreateTask and DeleteLocation see them too.
Added: CreateLocationEfs and DescribeLocationEfs; the tags of S3 and EFS locations and
ListTagsForResource (envbot finds what it made by its tags); and the counts of a task
execution (files and bytes), taken from the objects under the task's S3 source in moto's
own S3, so a copy reports what a real one would have moved. A copy from a bucket tagged
`moto-launcher:datasync-bytes-per-second` (a test's or the bench's own bucket) also takes as long
as moving those bytes at that rate would: it stays TRANSFERRING, its counts growing, until then.
Copies from any other bucket move one status on per DescribeTaskExecution, as moto's do. And a
small AWS Client VPN: CreateClientVpnEndpoint, DescribeClientVpnEndpoints,
DeleteClientVpnEndpoint and the authorisation rules (AuthorizeClientVpnIngress,
RevokeClientVpnIngress, DescribeClientVpnAuthorizationRules), kept per account and region in
this process; rules are active at once (AWS reports "authorizing" first) and revoked at once.

Usage: python moto_launcher.py <host> <port>
"""

import json
import sys
import time

from moto.core.responses import ActionResult
from moto.datasync.responses import DataSyncResponse
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response
from moto.moto_api._internal import mock_random
from moto.s3.models import s3_backends
from moto.server import main


def create_location_efs(self: DataSyncResponse) -> str:
    # efs://<region>.<file-system-id>/<subdirectory>, as DataSync reports it.
    file_system_arn = self._get_param("EfsFilesystemArn")
    subdirectory = (self._get_param("Subdirectory") or "/").lstrip("/")
    file_system_id = file_system_arn.split("/")[-1]
    uri = f"efs://{self.region}.{file_system_id}/{subdirectory}"
    metadata = {
        "Ec2Config": self._get_param("Ec2Config"),
        "AccessPointArn": self._get_param("AccessPointArn"),
        "InTransitEncryption": self._get_param("InTransitEncryption") or "NONE",
        "Tags": self._get_param("Tags") or [],
    }
    arn = self.datasync_backend.create_location(uri, metadata=metadata, typ="EFS")
    return json.dumps({"LocationArn": arn})


def describe_location_efs(self: DataSyncResponse) -> str:
    location = self._get_location(self._get_param("LocationArn"), typ="EFS")
    result = {
        "LocationArn": location.arn,
        "LocationUri": location.uri,
        "Ec2Config": location.metadata["Ec2Config"],
        "InTransitEncryption": location.metadata["InTransitEncryption"],
    }
    if location.metadata.get("AccessPointArn"):
        result["AccessPointArn"] = location.metadata["AccessPointArn"]
    return json.dumps(result)


_create_location_s3 = DataSyncResponse.create_location_s3


def create_location_s3(self: DataSyncResponse) -> str:
    result = _create_location_s3(self)
    arn = json.loads(result)["LocationArn"]
    self.datasync_backend.locations[arn].metadata["Tags"] = self._get_param("Tags") or []
    return result


def list_tags_for_resource(self: DataSyncResponse) -> str:
    arn = self._get_param("ResourceArn")
    backend = self.datasync_backend
    found = backend.locations.get(arn) or backend.tasks.get(arn)
    if found is None:
        backend._get_location(arn, typ="S3")  # raises moto's "not found"
    return json.dumps({"Tags": found.metadata.get("Tags") or []})


# The tag on a source bucket that asks for a transfer time proportional to its bytes.
RATE_TAG = "moto-launcher:datasync-bytes-per-second"
# When each rate-limited execution was first seen TRANSFERRING (monotonic seconds).
_transferring_since: dict[str, float] = {}


def _source_objects(backend, task_arn: str) -> tuple[int, int, float | None]:
    """Files and bytes under the task's S3 source, as moto's S3 holds them now, and the bucket's rate tag."""
    task = backend.tasks.get(task_arn)
    source = task and backend.locations.get(task.source_location_arn)
    if source is None or source.typ != "S3":
        return 0, 0, None
    bucket_name, _, prefix = source.uri[len("s3://"):].partition("/")
    prefix = prefix.lstrip("/")
    s3 = s3_backends[backend.account_id]["aws"]
    try:
        bucket = s3.get_bucket(bucket_name)
    except Exception:  # no such bucket: DataSync would fail; moto's execution succeeds with nothing
        return 0, 0, None
    keys = [k for k in bucket.keys.values() if k.name.startswith(prefix) and not k.name.endswith("/")]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(bucket_name).get("Tags", [])}
    try:
        rate = float(tags[RATE_TAG]) if RATE_TAG in tags else None
    except ValueError:
        rate = None
    return len(keys), sum(k.size for k in keys), rate if rate and rate > 0 else None


# How much of the source an execution has moved when it reports each status.
_DONE = {"INITIALIZING": 0, "PREPARING": 0, "TRANSFERRING": 0.5, "VERIFYING": 1, "SUCCESS": 1, "ERROR": 0.5}
_describe_task_execution = DataSyncResponse.describe_task_execution


def describe_task_execution(self: DataSyncResponse) -> str:
    arn = self._get_param("TaskExecutionArn")
    execution = self.datasync_backend._get_task_execution(arn)
    files, size, rate = _source_objects(self.datasync_backend, execution.task_arn)
    done = None
    if rate is not None and execution.status == "TRANSFERRING":
        now = time.monotonic()
        elapsed = now - _transferring_since.setdefault(arn, now)
        done = min(1.0, elapsed * rate / size) if size else 1.0
        if done < 1.0:
            # Still moving bytes: report how far, and leave the status where it is (moto's own
            # describe would move it on).
            result = {"TaskExecutionArn": arn, "Status": "TRANSFERRING"}
            result.update(EstimatedFilesToTransfer=files, EstimatedBytesToTransfer=size)
            result.update(FilesTransferred=int(files * done), BytesTransferred=int(size * done), BytesWritten=int(size * done))
            return json.dumps(result)
    result = json.loads(_describe_task_execution(self))
    if done is None:
        done = _DONE.get(result["Status"], 0)
    if result["Status"] != "INITIALIZING":
        result.update(EstimatedFilesToTransfer=files, EstimatedBytesToTransfer=size)
    result.update(FilesTransferred=int(files * done), BytesTransferred=int(size * done), BytesWritten=int(size * done))
    if result["Status"] == "ERROR":
        result["Result"] = {"ErrorCode": "OperationCanceled", "ErrorDetail": "The task execution was cancelled."}
    return json.dumps(result)


# --- EC2 Client VPN ---------------------------------------------------------------------------

# (account, region) -> endpoint id -> {"endpoint": {...}, "rules": [{...}]}
_client_vpn: dict[tuple[str, str], dict[str, dict]] = {}


def _endpoints(self: EC2Response) -> dict[str, dict]:
    return _client_vpn.setdefault((self.current_account, self.region), {})


def _endpoint(self: EC2Response, endpoint_id: str) -> dict:
    found = _endpoints(self).get(endpoint_id)
    if found is None:
        raise EC2ClientError("InvalidClientVpnEndpointId.NotFound", f"Endpoint {endpoint_id} does not exist")
    return found


def create_client_vpn_endpoint(self: EC2Response) -> ActionResult:
    endpoint_id = f"cvpn-endpoint-{mock_random.get_random_hex(17)}"
    dns_name = f"*.{endpoint_id}.prod.clientvpn.{self.region}.amazonaws.com"
    tags = [{"Key": k, "Value": v} for k, v in self._parse_tag_specification().get("client-vpn-endpoint", {}).items()]
    _endpoints(self)[endpoint_id] = {
        "endpoint": {
            "ClientVpnEndpointId": endpoint_id,
            "Description": self._get_param("Description") or "",
            "Status": {"Code": "available"},
            "DnsName": dns_name,
            "ClientCidrBlock": self._get_param("ClientCidrBlock"),
            "ServerCertificateArn": self._get_param("ServerCertificateArn"),
            "TransportProtocol": self._get_param("TransportProtocol") or "udp",
            "VpnPort": int(self._get_param("VpnPort") or 443),
            "SplitTunnel": bool(self._get_param("SplitTunnel")),
            "Tags": tags,
        },
        "rules": [],
    }
    return ActionResult({"ClientVpnEndpointId": endpoint_id, "Status": {"Code": "available"}, "DnsName": dns_name})


def describe_client_vpn_endpoints(self: EC2Response) -> ActionResult:
    ids = self._get_param("ClientVpnEndpointIds", [])
    found = [e["endpoint"] for i, e in _endpoints(self).items() if not ids or i in ids]
    return ActionResult({"ClientVpnEndpoints": found})


def delete_client_vpn_endpoint(self: EC2Response) -> ActionResult:
    endpoint_id = self._get_param("ClientVpnEndpointId")
    _endpoint(self, endpoint_id)
    del _endpoints(self)[endpoint_id]
    return ActionResult({"Status": {"Code": "deleting"}})


def authorize_client_vpn_ingress(self: EC2Response) -> ActionResult:
    endpoint = _endpoint(self, self._get_param("ClientVpnEndpointId"))
    cidr = self._get_param("TargetNetworkCidr")
    group = self._get_param("AccessGroupId") or ""
    access_all = bool(self._get_param("AuthorizeAllGroups"))
    if not access_all and not group:
        raise EC2ClientError("MissingParameter", "Either AccessGroupId or AuthorizeAllGroups is required")
    for rule in endpoint["rules"]:
        if rule["DestinationCidr"] == cidr and rule["GroupId"] == group and rule["AccessAll"] == access_all:
            raise EC2ClientError("InvalidParameterValue", f"An authorization rule for {cidr} and group {group or 'all'} already exists")
    endpoint["rules"].append({
        "ClientVpnEndpointId": endpoint["endpoint"]["ClientVpnEndpointId"],
        "Description": self._get_param("Description") or "",
        "GroupId": group,
        "AccessAll": access_all,
        "DestinationCidr": cidr,
        "Status": {"Code": "active"},
    })
    return ActionResult({"Status": {"Code": "authorizing"}})


def revoke_client_vpn_ingress(self: EC2Response) -> ActionResult:
    endpoint = _endpoint(self, self._get_param("ClientVpnEndpointId"))
    cidr = self._get_param("TargetNetworkCidr")
    group = self._get_param("AccessGroupId") or ""
    access_all = bool(self._get_param("RevokeAllGroups"))
    kept = [r for r in endpoint["rules"] if not (r["DestinationCidr"] == cidr and r["GroupId"] == group and r["AccessAll"] == access_all)]
    if len(kept) == len(endpoint["rules"]):
        raise EC2ClientError("InvalidClientVpnEndpointAuthorizationRuleNotFound", f"No authorization rule for {cidr} and group {group or 'all'}")
    endpoint["rules"] = kept
    return ActionResult({"Status": {"Code": "revoking"}})


def describe_client_vpn_authorization_rules(self: EC2Response) -> ActionResult:
    endpoint = _endpoint(self, self._get_param("ClientVpnEndpointId"))
    filters = self._filters_from_querystring()
    fields = {"description": "Description", "destination-cidr": "DestinationCidr", "group-id": "GroupId"}
    rules = [r for r in endpoint["rules"] if all(str(r[fields[name]]) in values for name, values in filters.items() if name in fields)]
    return ActionResult({"AuthorizationRules": rules})


EC2Response.create_client_vpn_endpoint = create_client_vpn_endpoint
EC2Response.describe_client_vpn_endpoints = describe_client_vpn_endpoints
EC2Response.delete_client_vpn_endpoint = delete_client_vpn_endpoint
EC2Response.authorize_client_vpn_ingress = authorize_client_vpn_ingress
EC2Response.revoke_client_vpn_ingress = revoke_client_vpn_ingress
EC2Response.describe_client_vpn_authorization_rules = describe_client_vpn_authorization_rules

DataSyncResponse.create_location_efs = create_location_efs
DataSyncResponse.describe_location_efs = describe_location_efs
DataSyncResponse.create_location_s3 = create_location_s3
DataSyncResponse.list_tags_for_resource = list_tags_for_resource
DataSyncResponse.describe_task_execution = describe_task_execution

if __name__ == "__main__":
    host, port = sys.argv[1], sys.argv[2]
    main(["-H", host, "-p", port])
