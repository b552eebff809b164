"""Start moto's server with the DataSync EFS location handlers that moto lacks.

moto dispatches each request to a method of its response class at call time, so adding
methods here, before the server starts, is enough. They keep EFS locations in moto's own
DataSync location store, so ListLocations, CreateTask and DeleteLocation see them too.

Usage: python moto_launcher.py <host> <port>
"""

import json
import sys

from moto.datasync.responses import DataSyncResponse
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


DataSyncResponse.create_location_efs = create_location_efs
DataSyncResponse.describe_location_efs = describe_location_efs

if __name__ == "__main__":
    host, port = sys.argv[1], sys.argv[2]
    main(["-H", host, "-p", port])
