"""nginx is configured, but no nginx master process runs: nothing answers."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Facts, NginxConfig, NginxControl, NginxTest, Process, Unit
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found


@rule(id="GD-NGX-004", symbol="nginx-not-running", category="service.not_running",
      severity=Severity.ERROR, layer="nginx",
      title=N_("nginx is configured but not running"),
      texts={
          "default": Text(
              title=N_("nginx is not running"),
              explanation=N_(
                  "The configuration has {n} server block(s) listening at {addresses}, but no "
                  "nginx process runs, so nothing answers."),
              fix=N_("Test the configuration and start nginx."),
              commands=("{nginx_test}", "{nginx_start}")),
          # nginx cannot start with an invalid configuration: config-invalid is the cause.
          "invalid": Text(
              title=N_("nginx is not running: its configuration is invalid"),
              explanation=N_("No nginx process runs, and `nginx -t` fails, so it cannot start."),
              fix=N_("Correct the configuration (see the nginx -t finding), then start nginx."),
              commands=("{nginx_test}", "{nginx_start}"))})
def nginx_not_running(facts: Facts, nginx_config: NginxConfig, processes: tuple[Process, ...],
                      units: tuple[Unit, ...] | None = None,
                      nginx_test: NginxTest | None = None,
                      nginx_control: NginxControl | None = None) -> Iterator[Found]:
    """A configuration exists, but no nginx master process does (by its title, or found by
    the sockets it holds)."""
    if any(facts.is_nginx_master(p) for p in processes):
        return
    evidence, links = _state(_unit(units, nginx_control))
    if nginx_test is not None and not nginx_test.ok:
        yield found([*evidence, Excerpt(nginx_test.source, f"exit status {nginx_test.rc}")],
                    links, text="invalid", role="symptom")
        return
    yield found(evidence, links, n=len(nginx_config.servers),
                addresses=_addresses(nginx_config) or ":80")


def _unit(units: tuple[Unit, ...] | None, control: NginxControl | None) -> Unit | None:
    """The unit that starts this nginx (a custom one, e.g. with its own -c), else the
    package's nginx.service."""
    name = f"{control.unit}.service" if control and control.unit else "nginx.service"
    return next((u for u in units or () if u.name == name), None)


def _state(unit: Unit | None) -> tuple[list[Excerpt], list[Link]]:
    """No process, and nginx.service's state when it is known."""
    evidence = [Excerpt("/proc", "no nginx process is running")]
    if unit is None:
        return evidence, []
    evidence.append(Excerpt(unit.source, f"ActiveState={unit.active_state} "
                            f"SubState={unit.sub_state} Result={unit.result}"))
    return evidence, [Link("unit", unit.name)]


def _addresses(config: NginxConfig) -> str:
    """Where the server blocks listen: `*:80, 127.0.0.1:8080`."""
    return ", ".join(sorted({li.endpoint.label for s in config.servers for li in s.listens}))
