"""Formats the agent writes and the parsers read: evidence source keys, `systemctl show`
properties and ExecStart, endpoints, the `nginx -T` dump and journal JSON records.

Standard library only, and it ships with the agent: Python 3.7+ (no walrus, no
`match`, no `X | Y` or `list[...]` evaluated at run time). It imports nothing else of
gatewaydoctor; this file imports none of its modules, so the agent pays only for what it uses.
"""
