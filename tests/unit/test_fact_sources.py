"""Each fact a rule cites carries the source it came from, spelled as the evidence key or
label the rules cite (so no rule has to build one)."""

from __future__ import annotations

from conftest import ROOT

from gatewaydoctor.evidence import load
from gatewaydoctor.formats import sources
from gatewaydoctor.parse import build_facts

LAB = ROOT / "tests" / "data" / "lab"


def test_python_env_and_listing_facts_carry_their_evidence_key() -> None:
    facts = build_facts(load(LAB / "env-file-missing.json"))
    assert facts.pythons and facts.env_files and facts.listings
    assert {p.source for p in facts.pythons} == {sources.python_version(p.unit)
                                                 for p in facts.pythons}
    assert {e.source for e in facts.env_files} == {sources.env_keys(e.path)
                                                   for e in facts.env_files}
    assert [d.source for d in facts.listings] == [sources.dir_listing(d.path)
                                                  for d in facts.listings]
    # A missing EnvironmentFile is a fact too, and cites where it was looked for.
    assert any(not e.exists and e.source.endswith(e.path) for e in facts.env_files)


def test_database_disk_probe_and_process_facts_say_how_they_were_seen() -> None:
    facts = build_facts(load(LAB / "db-down-health.json"))
    check = (facts.databases or ())[0]
    assert check.connect_source == (f"TCP connect to {check.host or 'localhost'}:"
                                    f"{check.port or 5432} ({check.setting})")
    assert facts.system and all(d.source == "statvfs" for d in facts.system.disks)
    assert facts.probes and all(p.where == f"probe {p.label}" for p in facts.probes)
    assert facts.process_table == "/proc"
