"""Runs the ``milvus`` wheel's launcher with two fixes, as a script (no package imports).

The wheel's launcher probes each port by binding it without ``SO_REUSEADDR``. Right after a
server with clients stops, its proxy port sits in TIME_WAIT for a minute: the probe fails and the
launcher silently moves the proxy to the next free port, so a restarted server answers on a port
nobody asked for. Here the probe binds as the Go server itself will (``SO_REUSEADDR``), and a
requested proxy or etcd port that still cannot be had stops the launch with its name instead.

Usage: ``python milvus_launch.py --data DIR --proxy-port P --etcd-port E``.
"""

from __future__ import annotations

import socket
import sys

import milvus

_STRICT = {"proxy_port": "--proxy-port", "etcd_port": "--etcd-port"}


def _try_bind_port(self: milvus.MilvusServerConfig, port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError:
        sock.close()
        return None
    return sock


def _requested(flag: str) -> int | None:
    args = sys.argv[1:]
    return int(args[args.index(flag) + 1]) if flag in args else None


_resolve = milvus.MilvusServerConfig.resolve_all_listen_ports


def _resolve_strictly(self: milvus.MilvusServerConfig) -> None:
    _resolve(self)
    for key, flag in _STRICT.items():
        wanted, got = _requested(flag), self.configurable_items[key][1]
        if wanted is not None and got != wanted:
            sys.exit(
                f"milvus: {flag} {wanted} is taken (the launcher would move to {got}); free it or pick one"
            )


milvus.MilvusServerConfig.try_bind_port = _try_bind_port  # type: ignore[method-assign]
milvus.MilvusServerConfig.resolve_all_listen_ports = _resolve_strictly  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv[0] = "milvus-server"
    milvus.main()
