"""`rag serve --index DIR [--host --port]`."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Any

from rag.cli import exit_codes
from rag.cli.options import add_common
from rag.settings import Settings, load_settings

HELP = """Serve the HTTP API (OpenAPI docs at /docs).

Every collection under the index root is served. Without API keys
(service.keys, or service.user_keys / service.admin_keys, e.g.
RAG_SERVICE__USER_KEYS='["k1"]') the service binds to loopback only.

examples:
  rag serve --index .rag/index
  RAG_SERVICE__ADMIN_KEYS='["s3cret"]' rag serve --index .rag/index --host 0.0.0.0 --port 8080
  rag serve --index /shared/index --engine ray --address 10.0.0.5:6379 --replicas 2
"""


def add_serve_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the HTTP API",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser)
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="serve here, or deploy on a Ray cluster with Ray Serve (the ray extra)",
    )
    parser.add_argument(
        "--address", help="the Ray cluster's head, host:port (default: ray.address, auto)"
    )
    parser.add_argument("--replicas", type=int, help="Ray: replicas of the HTTP front")
    parser.add_argument("--shard-replicas", type=int, help="Ray: replicas of each shard")
    parser.set_defaults(run=run)


def loopback_only(settings: Settings) -> Settings:
    """Without keys, bind to loopback whatever was asked, and say so."""
    from rag.service.auth import keyed

    service = settings.service
    if keyed(service):
        return settings
    host = service.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        print(f"no API keys configured: binding to 127.0.0.1 instead of {host}", file=sys.stderr)
        return settings.with_changes(service={"host": "127.0.0.1"})
    print(
        "no API keys configured: serving on loopback only, without authentication", file=sys.stderr
    )
    return settings


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from rag.service.app import create_app
    from rag.service.holder import check_startable

    settings = load_settings(
        args.config,
        index_dir=args.index,
        service__host=args.host,
        service__port=args.port,
        ray__address=args.address,
        ray__replicas=args.replicas,
        ray__shard_replicas=args.shard_replicas,
    )
    check_startable(settings)
    settings = loopback_only(settings)
    logging.getLogger("rag").setLevel(logging.INFO)
    if args.engine == "ray":
        from rag.distributed.serve import run_ray_serve

        run_ray_serve(settings)
        return exit_codes.OK
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.service.host,
        port=settings.service.port,
        log_level="info",
        access_log=False,
    )
    return exit_codes.OK
