"""Listening TCP sockets from the kernel's sock_diag netlink interface (what `ss -tln` reads).

Why not /proc/net/tcp: the kernel builds that table by walking every bucket of the host's
connection hash for every socket of the namespace, established ones included: milliseconds
on an idle machine, far more (and megabytes of text) on a busy server. Asking sock_diag for
LISTEN sockets only walks the listening hash. Any user may ask; the answer holds the
socket's inode, which ties it to the process holding it. Where netlink is unavailable (an
old or sandboxed kernel), the gatherer reads /proc/net/tcp{,6} instead.
"""

import errno
import ipaddress
import socket
import struct
import time
from typing import List, Tuple

from ..formats import sources
from .runner import Item, new_item

SOURCE = sources.TCP_LISTEN
TABLE = "sock_diag netlink (ss -tln)"
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
TIMEOUT = 2.0
HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
# inet_diag_req_v2: family, protocol, ext, pad, states, then inet_diag_sockid (48 bytes)
REQUEST = struct.Struct("=BBBxI48x")
# inet_diag_msg: family, state, timer, retrans, sockid (sport, dport: big-endian; src, dst:
# 16 bytes each; interface, cookie), expires, rqueue, wqueue, uid, inode
MESSAGE = struct.Struct("=BBBB2s2s16s16sI8sIIIII")
MAX_SOCKETS = 65536


Socket = Tuple[str, str, int, int, int]  # tcp|tcp6, address, port, inode, uid


def _dump(family: int) -> List[Socket]:
    out: List[Socket] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(TIMEOUT)
        req = REQUEST.pack(family, socket.IPPROTO_TCP, 0, 1 << TCP_LISTEN)
        nl.sendto(HEADER.pack(HEADER.size + len(req), SOCK_DIAG_BY_FAMILY,
                              NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req, (0, 0))
        while True:
            data = nl.recv(1 << 16)
            off = 0
            while off + HEADER.size <= len(data):
                length, kind, _flags, _seq, _pid = HEADER.unpack_from(data, off)
                if kind == NLMSG_DONE:
                    return out
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, off + HEADER.size)[0]
                    raise OSError(code, f"sock_diag refused the request (errno {code})")
                if length < HEADER.size + MESSAGE.size:
                    raise OSError(0, "sock_diag answered a message too short to read")
                (fam, state, _timer, _retrans, sport, _dport, src, _dst, _ifindex, _cookie,
                 _expires, _rqueue, _wqueue, uid, inode) = MESSAGE.unpack_from(
                    data, off + HEADER.size)
                if state == TCP_LISTEN and len(out) < MAX_SOCKETS:
                    addr = ipaddress.ip_address(src[:4] if fam == socket.AF_INET else src)
                    out.append(("tcp" if fam == socket.AF_INET else "tcp6", str(addr),
                                int.from_bytes(sport, "big"), inode, uid))
                off += (length + 3) & ~3
            if not data:
                raise OSError(0, "sock_diag closed the socket before it was done")


def tcp_listeners(source: str = SOURCE) -> Item:
    """Every listening TCP socket (IPv4 and IPv6) of this network namespace."""
    item = new_item(source, "listing", path=TABLE)
    start = time.monotonic()
    try:
        sockets = _dump(socket.AF_INET)
        try:
            sockets += _dump(socket.AF_INET6)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EAFNOSUPPORT):  # no IPv6 here
                raise
    except (OSError, AttributeError) as exc:  # AttributeError: no AF_NETLINK (not Linux)
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        item.update(error=f"cannot ask the kernel for listening sockets: {reason}",
                    error_kind="unavailable", duration=round(time.monotonic() - start, 4))
        return item
    item["data"] = {"sockets": [
        {"family": family, "host": host, "port": port, "inode": inode, "uid": uid}
        for family, host, port, inode, uid in sorted(sockets)]}
    item["duration"] = round(time.monotonic() - start, 4)
    return item
