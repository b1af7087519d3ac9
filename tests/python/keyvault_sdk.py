"""The built-in key vault through Debian's python3-azure (azure-keyvault-keys
4.8.0b3, azure-identity 1.13.0b2): create, get, wrap/unwrap, delete, recover.

Run by tests/node/keyvault-python.test.js, which starts the server and passes
the endpoints and credentials in the environment. Exits non-zero on the
first failed check. Must run with Debian's /usr/bin/python3.
"""
import os
import socket
import sys

# *.localhost resolves to the loopback address, as the node tests' preload
# does (reference/toolchain-notes.md: Debian's resolver does not).
_getaddrinfo = socket.getaddrinfo


def _resolve(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm  # noqa: E402


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    env = os.environ
    ca = env["ATREST_CA"]
    credential = ClientSecretCredential(
        env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"], env["AZURE_CLIENT_SECRET"],
        authority=env["ATREST_AUTHORITY"], instance_discovery=False,
        connection_verify=ca)
    client = KeyClient(env["ATREST_VAULT_URL"], credential, connection_verify=ca)

    key = client.create_rsa_key("py-key", size=2048)
    check(key.name == "py-key" and key.key_type == "RSA", "create_rsa_key")
    check(key.id.startswith(env["ATREST_VAULT_URL"] + "/keys/py-key/"), "kid carries the host")
    got = client.get_key("py-key")
    check(got.properties.version == key.properties.version, "get_key returns the latest version")

    crypto = CryptographyClient(key, credential, connection_verify=ca)
    data = b"0123456789abcdef0123456789abcdef"
    for alg in (KeyWrapAlgorithm.rsa_oaep_256, KeyWrapAlgorithm.rsa_oaep):
        wrapped = crypto.wrap_key(alg, data)
        unwrapped = crypto.unwrap_key(alg, wrapped.encrypted_key)
        check(unwrapped.key == data, f"wrap/unwrap {alg.value}")

    poller = client.begin_delete_key("py-key")
    deleted = poller.result()
    check(deleted.recovery_id.endswith("/deletedkeys/py-key"), "begin_delete_key")
    try:
        client.get_key("py-key")
        check(False, "a deleted key is not found")
    except ResourceNotFoundError as e:
        check(e.status_code == 404, "a deleted key is not found (404)")
    try:
        client.create_rsa_key("py-key")
        check(False, "name reuse while deleted is refused")
    except HttpResponseError as e:
        check(e.status_code == 409, "name reuse while deleted is refused (409)")

    recovered = client.begin_recover_deleted_key("py-key").result()
    check(recovered.name == "py-key", "begin_recover_deleted_key")
    again = CryptographyClient(client.get_key("py-key"), credential, connection_verify=ca)
    wrapped = again.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, data)
    check(again.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key).key == data,
          "the recovered key still unwraps")


if __name__ == "__main__":
    main()
