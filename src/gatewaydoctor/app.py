"""The application: what each command does, as functions that take options and return data.

`run_diagnosis` gathers this host's evidence (or replays a bundle, evidence file or
example), runs the selected rules and returns the Diagnosis; `write_bundle` writes the
redacted evidence as a .tar.gz and returns where and how much; `gather` returns the
redacted evidence. Nothing here prints: the CLI does. Bad input raises UsageError (or
another GatewayDoctorError) with the sentence to show.

Only the standard library is imported here at first: the agent, the redactor, the
bundle writer, the parsers, the rules and the reports are imported where they are used,
so `gatewaydoctor bundle` reaches its first probe fast.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .errors import UsageError
from .i18n import _

if TYPE_CHECKING:
    from .bundle import Early
    from .diagnose import Diagnosis
    from .evidence import Evidence
    from .facts import Facts
    from .fix.run import Run
    from .fix.steps import Plan
    from .redact import Redactor
    from .rules import Rule

Progress = Callable[[str, int, int], None]  # (source, done, started), as the agent calls it


class Options(NamedTuple):
    """What to look at and how: the options of diagnose, bundle and gather (argparse names).

    (A NamedTuple: importing dataclasses, and inspect with it, costs 5-10 ms before the
    first probe.)
    """

    url: str | None = None
    no_exec: bool = False
    max_log_lines: int | None = None
    window: str | None = None
    mask_ips: bool = False
    mask_hosts: bool = False
    only: Sequence[str] = ()
    skip: Sequence[str] = ()
    from_file: str | None = None  # --from: a bundle or evidence JSON
    evidence: str | None = None  # --evidence: evidence JSON (tests and the lab)
    example: str | None = None
    with_code: bool = False  # fix --with-code: code patches are carried out too

    @property
    def replayed(self) -> str | None:
        """The evidence to replay instead of looking at this host, if any."""
        return self.example or self.from_file or self.evidence


class BundleResult(NamedTuple):
    """A bundle written: where, its size in bytes, its sources and the redactions by kind."""

    path: str
    size: int
    gathered: int
    failed: int
    redactions: dict[str, int]


def since(window: str | None) -> str | None:
    """The journal's --since for a --window such as 2h, 30m or 3d (`-2h`); None for None."""
    if window is None:
        return None
    m = re.fullmatch(r"-?\s*(\d+)\s*(s|sec|m|min|h|d|w)", window.strip())
    if not m:
        raise UsageError(_("--window {value} is not a time span (give e.g. 30m, 2h or 3d)")
                         .format(value=repr(window)))
    return f"-{m.group(1)}{m.group(2)}"


def run_diagnosis(options: Options, *, progress: Progress | None = None,
                  report_format: str | None = None) -> Diagnosis:
    """Gather (or replay) the evidence, parse it, run the selected rules, diagnose."""
    return _diagnosed(options, progress, report_format)[0]


def _diagnosed(options: Options, progress: Progress | None = None,
               report_format: str | None = None) -> tuple[Diagnosis, Facts, Evidence]:
    """The diagnosis, with the facts and evidence it was made from."""
    if options.replayed and (options.url or options.no_exec or options.max_log_lines
                             or options.window):
        raise UsageError(_("a URL, --no-exec, --max-log-lines and --window apply to a live "
                           "diagnosis, not to --from/--example (the evidence is already "
                           "taken)"))
    rules: list[Rule] | None = None
    raw: dict[str, Any] | None = None
    if not options.replayed:
        # Loading the rules, parsers and renderer (0.1-0.2 s) overlaps the gathering.
        loading = _in_background(_load_diagnosis, report_format)
        if options.only or options.skip:
            loading.join()
            rules = _selected_rules(options)  # a wrong rule name fails before any work
        try:
            raw = _gather(options, progress)
        finally:
            loading.join()  # exiting mid-import (on a bad option) can crash the interpreter
    import dataclasses

    from .diagnose import diagnose
    from .evidence import Evidence
    from .parse import build_facts
    from .rules import run_rules

    if rules is None:
        rules = _selected_rules(options)
    offline = None
    if raw is not None:
        ev = Evidence.from_dict(_redactor(options).evidence(raw) if _masks(options) else raw)
    else:
        ev, offline = _replayed_evidence(options)
        if _masks(options):
            ev = Evidence.from_dict(_redactor(options).evidence(ev.to_dict()))
    facts = build_facts(ev)
    return (dataclasses.replace(diagnose(facts, run_rules(facts, rules)), offline=offline),
            facts, ev)


class FixResult(NamedTuple):
    """A fix: its plan, the diagnosis it came from, and when applied its run and the
    diagnosis after (None for a dry run)."""

    plan: Plan
    before: Diagnosis
    run: Run | None = None
    after: Diagnosis | None = None


VERDICT_RANK = {"healthy": 0, "degraded": 1, "broken": 2}


def fix_plan(options: Options, *, progress: Progress | None = None) -> FixResult:
    """Diagnose (this host, or a bundle with --from) and plan the fix; nothing is changed."""
    from .fix.host import host_for
    from .fix.remedies import plan
    from .formats.sources import NGINX_DUMP

    before, facts, ev = _diagnosed(options, progress)
    dump = ev.get(NGINX_DUMP)
    host = host_for(facts, dump.stdout if dump is not None else None,
                    live=not options.replayed, with_code=options.with_code)
    return FixResult(plan(before, facts, host), before)


def apply_fix(options: Options, planned: FixResult, say: Callable[[str], None], *,
              wait: float = 30.0) -> FixResult:
    """Carry the plan out (backups first, one fix at a time), diagnose again until the URL is
    healthy or `wait` seconds pass; if the causes fixed are still found, or the verdict is
    worse than before, roll back by itself. The run is kept under its id."""
    from .fix import run as runs

    if options.replayed:
        raise UsageError(_("--apply changes this host: it cannot apply a plan made from "
                           "--from/--example (use --script to take it to that host)"))
    if not planned.plan.actions:
        raise UsageError(_("nothing in this plan can be carried out automatically; its "
                           "manual steps are above"))
    with runs.locked():
        run = runs.new_run(planned.plan)
        if not runs.apply(planned.plan, run, say):
            return planned._replace(run=run)
        say(_("verifying: diagnosing again (up to {seconds} s)").format(seconds=f"{wait:.0f}"))
        after = _verified(options, wait)
        run.verdict_after = after.verdict
        still = _still_found(planned.plan, after)
        worse = VERDICT_RANK.get(after.verdict, 2) > VERDICT_RANK.get(planned.before.verdict, 2)
        if still or worse:
            run.status = "failed"
            run.reason = _("still found after the fix: {rules}").format(
                rules=", ".join(still)) if still else _(
                "the verdict is worse than before: {before} -> {after}").format(
                before=planned.before.verdict, after=after.verdict)
            say(_("verification failed ({reason}): rolling back").format(reason=run.reason))
            runs.rollback(run, say, force=True)
        run.save()
        return planned._replace(run=run, after=after)


def _verified(options: Options, wait: float) -> Diagnosis:
    """Diagnose again until healthy or `wait` seconds have passed (a service takes a moment
    to listen); the last diagnosis. Between two, the stack rests twice as long as the last
    diagnosis took: a slow app still works on the requests our probes gave up on."""
    import time

    deadline = time.monotonic() + wait
    rest = 1.0
    while True:
        time.sleep(rest)
        started = time.monotonic()
        after = _diagnosed(options)[0]
        rest = max(1.0, 2 * (time.monotonic() - started))
        if after.verdict == "healthy" or time.monotonic() + rest >= deadline:
            return after


def _still_found(plan: Plan, after: Diagnosis) -> list[str]:
    """The fixed causes' rules that fire again on the same subject."""
    out = []
    for r in plan.remedies:
        if r.automatic and any(f.symbol == r.symbol and
                               {f"{k.kind}:{k.value}" for k in f.links} & set(r.subject)
                               for f in after.findings):
            out.append(r.symbol)
    return out


def rollback_fix(run_id: str, say: Callable[[str], None], *, force: bool = False) -> Run:
    """Take an earlier fix run back: its files byte for byte, mode and owner, its commands'
    undo lines, the units' enablement."""
    from .fix import run as runs

    with runs.locked():
        run = runs.Run.load(run_id)
        if run.rolled_back:
            raise UsageError(_("fix {id} was already rolled back ({when})").format(
                id=run.id, when=run.rolled_back))
        runs.rollback(run, say, force=force)
        return run


def fix_runs() -> list[Run]:
    """The recorded fix runs, newest first."""
    from .fix import run as runs

    return runs.runs()


def gather(options: Options, *, progress: Progress | None = None) -> dict[str, Any]:
    """This host's evidence, redacted (`gatewaydoctor gather`)."""
    return _redactor(options).evidence(_gather(options, progress))


def write_bundle(options: Options, output: str | None = None, *,
                 progress: Progress | None = None) -> BundleResult:
    """Gather, redact and write the bundle to output (default: a name with host and time)."""
    if output and Path(output).is_dir():
        raise UsageError(_("-o {path} is a directory; give a file name ending in .tar.gz")
                         .format(path=output))
    # A second thread redacts each item as it comes, while the gathering waits on its
    # slowest probes; masking IPs/host names needs every item first, so then it waits.
    items: SimpleQueue[dict[str, Any] | None] = SimpleQueue()
    early: list[Early] = []
    probes_started = threading.Event()
    masks = _masks(options)
    writer = threading.Thread(target=_redact_early, args=(items, early, probes_started, not masks),
                              daemon=True)
    writer.start()
    try:
        raw = _gather(options, progress, on_item=None if masks else items.put,
                      busy_after=probes_started)
    finally:
        probes_started.set()  # also when the gathering never began (a bad option)
        items.put(None)
        writer.join()
    from . import bundle as bundles

    red = _redactor(options)
    path = output
    if not path:
        host = str(raw.get("host", ""))
        path = bundles.default_name(red.evidence({"host": host})["host"] if red.mask_hosts
                                    else host)
    try:
        manifest = bundles.write(raw, path, red, early=early[0] if early else None)
    except OSError as exc:
        raise UsageError(_("cannot write {path}: {error}").format(
            path=path, error=exc.strerror or exc)) from None
    return BundleResult(
        path=path, size=Path(path).stat().st_size,
        gathered=sum(1 for s in manifest["sources"] if s["status"] == "gathered"),
        failed=len(manifest["failed"]), redactions=dict(manifest["redactions"]))


def examples() -> dict[str, str]:
    """The examples recorded in the lab (`--example list`): name -> what fault it holds."""
    from . import examples as recorded

    return recorded.available()


def _gather(options: Options, progress: Progress | None,
            on_item: Callable[[dict[str, Any]], None] | None = None,
            busy_after: threading.Event | None = None) -> dict[str, Any]:
    _check_url(options.url)
    if options.max_log_lines is not None and options.max_log_lines < 1:
        raise UsageError(_("--max-log-lines must be at least 1"))
    from .agent import gather as agent_gather

    return agent_gather(options.url, no_exec=options.no_exec,
                        max_log_lines=options.max_log_lines, since=since(options.window),
                        progress=progress, on_item=on_item, busy_after=busy_after)


def _check_url(url: str | None) -> None:
    if url is None:
        return
    from .agent.probes import url_endpoint

    try:
        url_endpoint(url)
    except ValueError as exc:
        raise UsageError(_("{error} (give a URL like {url})").format(
            error=exc, url="http://example.com/api/health")) from None


def _masks(options: Options) -> bool:
    return bool(options.mask_ips or options.mask_hosts)


def _redactor(options: Options) -> Redactor:
    from .redact import Redactor

    return Redactor(mask_ips=options.mask_ips, mask_hosts=options.mask_hosts)


def _selected_rules(options: Options) -> list[Rule]:
    from .rules import all_rules, select

    return select(all_rules(), only=options.only, skip=options.skip)


def _replayed_evidence(options: Options) -> tuple[Evidence, str]:
    """The evidence of --example, --from or --evidence, and how to name where it came from."""
    from . import bundle as bundles
    from . import examples as recorded
    from . import packaged
    from .evidence import load

    if options.example:
        # A file on disk for the bundle reader: a temporary copy when run from the .pyz.
        with packaged.as_file(recorded.path_of(options.example)) as path:
            example = bundles.read(path).evidence
        return example, _("the example {name} (recorded in the lab)").format(
            name=repr(options.example))
    if options.from_file:
        return bundles.load_any(options.from_file)
    return load(str(options.evidence)), str(options.evidence)


def _load_diagnosis(report_format: str | None) -> None:
    """Import the rules (the registry loads and checks them), the parsers, the diagnosis
    and the report's renderer."""
    from . import diagnose, parse  # noqa: F401
    from .report.output import FORMATS
    from .rules import all_rules

    all_rules()
    if report_format in FORMATS:  # each format's renderer is the module of its name
        importlib.import_module(f"{__package__}.report.{report_format}")


def _in_background(work: Callable[..., object], *args: object) -> threading.Thread:
    """Start work in a daemon thread and return it; a failure there is dropped, because
    the same work is done again where it is needed and fails there, reported."""
    def quietly() -> None:
        with contextlib.suppress(Exception):
            work(*args)

    thread = threading.Thread(target=quietly, daemon=True)
    thread.start()
    return thread


def _redact_early(items: SimpleQueue[dict[str, Any] | None], early: list[Early],
                  started: threading.Event, redact: bool) -> None:
    """Once the slowest probes are started, load the bundle writer and, if `redact`, redact
    the queued items until None; a failure costs only time (the writer redacts the rest)."""
    started.wait()  # sooner, these imports and regex compiles slow the way to the probes
    with contextlib.suppress(Exception):
        from . import bundle

        if redact:
            early.append(bundle.Early())
            early[0].take(items)
