"""README.zh-CN.md keeps step with README.md: the same sections in the same order, the same
commands in their code blocks, every rule's page linked in the reader's language, and each
README linking the other at its top.

When README.md gains a section, the failure names it: translate it into README.zh-CN.md at the
same place and add its heading pair to HEADINGS below.
"""

from __future__ import annotations

import re
import runpy
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from gatewaydoctor import ruledocs

ROOT = Path(__file__).resolve().parents[2]
EN, ZH = ROOT / "README.md", ROOT / "README.zh-CN.md"
RULE_PAGES = "src/gatewaydoctor/docs/rules/"

# Each `## ` heading of README.md -> its counterpart in README.zh-CN.md.
HEADINGS = {
    "What it does": "它做什么",
    "Install": "安装",
    "Fixing it, safely: `gatewaydoctor fix`": "安全地修复：`gatewaydoctor fix`",
    "Checking files before they break: `gatewaydoctor lint`":
        "出问题之前先检查配置文件：`gatewaydoctor lint`",
    "Writing files that do not break this way: `gatewaydoctor generate`":
        "生成不会这样出错的配置：`gatewaydoctor generate`",
    "What it recognises": "能识别哪些故障",
    "Every rule and its page": "所有规则及其说明页",
    "Routing like nginx": "像 nginx 一样路由",
    "English and 简体中文": "English 与简体中文",
    "Reports to read and share": "便于阅读和分享的报告",
    "Layout (the data flow)": "代码结构（数据流）",
    "The lab": "实验环境",
}


@dataclass
class Section:
    """A `## ` section (the part before the first one has heading ""): its code blocks'
    commands and its links."""

    heading: str
    commands: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href)
    blocks: list[list[str]] = field(default_factory=list)
    subsections: list[str] = field(default_factory=list)  # its `### ` headings


def _no_comment(line: str) -> str:
    """A code line without its trailing `# comment` (the part a translation changes)."""
    return "" if line.lstrip().startswith("#") else re.sub(r"\s+#.*$", "", line).rstrip()


def commands(info: str, content: str) -> list[str]:
    """What must read the same in both languages in a code block: the `$ ` lines of a console
    session (not the output: it is in the README's language), the code of a bash, python or
    text block without comments, the names in the first column of a plain block (the layout)."""
    lang = info.split()[0] if info.strip() else ""
    lines = content.splitlines()
    if lang == "console":
        return [_no_comment(line[2:]) for line in lines if line.startswith("$ ")]
    if lang == "":
        return [m.group(1) for line in lines if (m := re.match(r"\s{0,2}(\S+)", line))]
    return [code for code in map(_no_comment, lines) if code]


def sections(path: Path) -> list[Section]:
    """The README cut at its `## ` headings."""
    found = [Section("")]
    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h2":
            found.append(Section(tokens[i + 1].content))
        elif tok.type == "heading_open" and tok.tag == "h3":
            found[-1].subsections.append(tokens[i + 1].content)
        elif tok.type == "fence" or tok.type == "code_block":
            found[-1].blocks.append(commands(tok.info, tok.content))
            found[-1].commands += found[-1].blocks[-1]
        elif tok.type == "inline":
            children = tok.children or []
            for j, child in enumerate(children):
                if child.type == "link_open":
                    text = children[j + 1].content if j + 1 < len(children) else ""
                    found[-1].links.append((text, str(child.attrs.get("href", ""))))
    return found


def test_each_readme_links_the_other_at_its_top() -> None:
    assert EN.read_text(encoding="utf-8").splitlines()[0] == "[简体中文](README.zh-CN.md)", \
        "README.md must start with the line [简体中文](README.zh-CN.md)"
    assert ZH.read_text(encoding="utf-8").splitlines()[0] == "[English](README.md)", \
        "README.zh-CN.md must start with the line [English](README.md)"


def test_both_start_with_the_same_two_set_up_commands() -> None:
    en, zh = sections(EN)[0], sections(ZH)[0]
    assert len(en.blocks) == 1 and len(en.blocks[0]) == 2, \
        "README.md: exactly two set-up commands, in one code block, before the first section"
    assert zh.blocks == en.blocks, \
        "README.zh-CN.md must start with the same two set-up commands as README.md"


def test_every_section_has_its_counterpart_in_the_same_order() -> None:
    en = [s.heading for s in sections(EN)[1:]]
    zh = [s.heading for s in sections(ZH)[1:]]
    problems = []
    for i, heading in enumerate(en):
        before = f"after '## {en[i - 1]}'" if i else "first"
        if heading not in HEADINGS:
            problems.append(
                f"README.md's section '## {heading}' ({before}) has no Chinese counterpart: "
                f"translate it into README.zh-CN.md at the same place and add "
                f"{heading!r}: '<its Chinese heading>' to HEADINGS in {Path(__file__).name}")
        elif HEADINGS[heading] not in zh:
            problems.append(
                f"README.zh-CN.md lacks '## {HEADINGS[heading]}', the counterpart of "
                f"README.md's '## {heading}' ({before}): translate that section there")
    known = set(HEADINGS.values())
    problems += [f"README.zh-CN.md's section '## {h}' has no counterpart in README.md "
                 f"(or HEADINGS lacks it)" for h in zh if h not in known]
    assert problems == [], "\n".join(problems)
    expected = [HEADINGS[h] for h in en]
    assert zh == expected, ("README.zh-CN.md's sections are not in README.md's order:\n"
                            f"  expected {expected}\n  found    {zh}")


def test_every_section_shows_the_same_commands_and_subsections() -> None:
    zh = {s.heading: s for s in sections(ZH)}
    problems = []
    for en in sections(EN):
        counterpart = zh.get(HEADINGS[en.heading]) if en.heading in HEADINGS else (
            zh[""] if not en.heading else None)
        if counterpart is None:
            continue  # test_every_section_has_its_counterpart_in_the_same_order says so
        if len(en.subsections) != len(counterpart.subsections):
            problems.append(
                f"section '## {en.heading}' has the subsections {en.subsections} in README.md, "
                f"{counterpart.subsections} in README.zh-CN.md: translate the missing ones")
        only_en = sorted((Counter(en.commands) - Counter(counterpart.commands)).elements())
        only_zh = sorted((Counter(counterpart.commands) - Counter(en.commands)).elements())
        if only_en or only_zh:
            problems.append(
                f"section '## {en.heading or '(top)'}': the code blocks differ"
                + (f"; README.zh-CN.md lacks {only_en}" if only_en else "")
                + (f"; only README.zh-CN.md has {only_zh}" if only_zh else ""))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("readme", "lang"), [(EN, "en"), (ZH, "zh-CN")],
                         ids=["README.md", "README.zh-CN.md"])
def test_every_rule_is_linked_to_its_page_in_the_readme_language(readme: Path,
                                                                 lang: str) -> None:
    links = [link for s in sections(readme) for link in s.links]
    rule_links = [(text, href) for text, href in links if href.startswith(RULE_PAGES)]
    wrong_lang = [href for _text, href in rule_links
                  if not href.startswith(f"{RULE_PAGES}{lang}/")]
    assert wrong_lang == [], f"{readme.name} links rule pages of another language"
    broken = [href for _text, href in rule_links if not (ROOT / href).is_file()]
    assert broken == [], f"{readme.name} links rule pages that do not exist"
    docs = ruledocs.all_docs(lang)
    assert len(docs) >= 40
    missing = [doc.id for doc in docs.values()
               if (doc.id, f"{RULE_PAGES}{lang}/{doc.symbol}.md") not in rule_links]
    assert missing == [], f"{readme.name} does not link these rules' pages: run " \
                          "scripts/readme-rules"


def test_the_rule_tables_are_what_the_registry_gives() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "readme-rules"))
    for lang, path in script["READMES"].items():
        text = path.read_text(encoding="utf-8")
        assert script["with_table"](text, lang) == text, \
            f"{path.name}: the rule table is stale: run scripts/readme-rules"
