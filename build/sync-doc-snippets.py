#!/usr/bin/env python3
"""Copies each `#region snippet:NAME` of tests/Consumer/**/*.cs into the ```csharp block that follows
`<!-- snippet: NAME -->` in the user docs and package READMEs. The consumer check (DocsSnippetTests) fails when a
page and its region differ; run this after changing a region, then rebuild the consumer.

    python3 build/sync-doc-snippets.py
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
region = re.compile(r"^[ \t]*#region snippet:(?P<name>[\w-]+)[ \t]*\n(?P<code>.*?)\n[ \t]*#endregion", re.S | re.M)
marked = re.compile(r"(<!-- snippet: (?P<name>[\w-]+) -->\n```csharp\n)(?P<code>.*?)(\n?```)", re.S)


def normalise(code: str) -> str:
    lines = [line.rstrip() for line in code.strip("\n").split("\n")]
    indents = [len(line) - len(line.lstrip()) for line in lines if line]
    indent = min(indents) if indents else 0
    return "\n".join(line[indent:] for line in lines)


regions = {}
for path in (root / "tests" / "Consumer").rglob("*.cs"):
    if {"bin", "obj"} & set(path.parts):
        continue
    for match in region.finditer(path.read_text(encoding="utf-8")):
        regions[match["name"]] = normalise(match["code"])

pages = sorted((root / "docs").glob("*.md")) + sorted((root / "src").glob("*/README.md"))
missing = []
for page in pages:
    text = page.read_text(encoding="utf-8")

    def replace(match):
        name = match["name"]
        if name not in regions:
            missing.append(f"{page.relative_to(root)}: {name}")
            return match.group(0)
        return match.group(1) + regions[name] + "\n```"

    updated = marked.sub(replace, text)
    if updated != text:
        page.write_text(updated, encoding="utf-8")
        print(f"updated {page.relative_to(root)}")

if missing:
    sys.exit("no region for: " + ", ".join(missing))
