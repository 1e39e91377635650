"""Keys and what they grant: the settings table, hashed keys, the older key
lists, and no keys at all."""

from __future__ import annotations

import hashlib

from rag.cli.serve_cmd import loopback_only
from rag.service.auth import EVERYONE, Role, principal_of, principal_of_digest
from rag.settings import ServiceSettings, build_settings


def service(**values: object) -> ServiceSettings:
    return build_settings({"service": values}, use_env=False).service


def test_the_keys_table_grants_roles_and_collections() -> None:
    hashed = "sha256:" + hashlib.sha256(b"k-wiki").hexdigest().upper()  # any case
    keys = service(
        keys={
            "k-hr": {"role": "user", "collections": ["hr"]},
            "k-ops": {"role": "admin", "collections": ["*"]},
            hashed: {"collections": ["wiki", "eng"]},
        },
        user_keys=["k-old"],
    )
    hr = principal_of("k-hr", keys)
    assert (hr.role, hr.can_read("hr"), hr.can_read("wiki"), hr.can_write("hr")) == (
        Role.USER,
        True,
        False,
        False,
    )
    assert hr.default_collection == "hr"
    ops = principal_of("k-ops", keys)
    assert ops.can_write("anything") and ops.default_collection == "default"
    wiki = principal_of("k-wiki", keys)
    assert wiki.role is Role.USER and wiki.readable(["hr", "wiki", "eng"]) == ["wiki", "eng"]
    assert wiki.default_collection == "default"  # two collections: no single default
    assert principal_of(hashed, keys).role is Role.NONE  # the digest itself is not the key
    old = principal_of("k-old", keys)
    assert old.role is Role.USER and old.can_read("hr") and not old.can_write("hr")
    for token in (None, "", "k-hrx", "K-HR"):
        assert principal_of(token, keys).role is Role.NONE, token
    assert principal_of(" k-hr ", keys) == hr  # a pasted header's spaces are stripped
    assert principal_of_digest(hr.owner, keys) == hr  # a batch finds its owner again
    assert principal_of_digest(wiki.owner, keys) == wiki


def test_without_keys_everyone_is_an_admin_on_loopback() -> None:
    assert principal_of(None, service()) is EVERYONE
    open_host = build_settings({"service": {"host": "0.0.0.0"}}, use_env=False)
    assert loopback_only(open_host).service.host == "127.0.0.1"
    table = {"keys": {"k": {"role": "user"}}, "host": "0.0.0.0"}
    assert (
        loopback_only(build_settings({"service": table}, use_env=False)).service.host == "0.0.0.0"
    )
