"""The documentation's links: every relative link in README.md, CHANGELOG.md and docs/*.md reaches a file, and every
``#anchor`` (in the page or on another page) names a heading of its target, slugged as GitHub does. Fast, no network:
links to other sites are not followed."""

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
#: [text](target "title") and ![alt](target); the target may be <bracketed>.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
                         r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not line.strip()[len(match.group(1)):].strip():
                fence = None
        else:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (links and code spans reduced to their text), lower-cased, every
    character but letters, digits, '_', '-' and spaces dropped, spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = INLINE_CODE.sub(lambda m: m.group(2), text)
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown page's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, target) of every link in a page's prose (not in code blocks or code spans)."""
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            yield number, definition.group(1).strip("<>")
            continue
        for match in INLINE_LINK.finditer(INLINE_CODE.sub("", line)):
            yield number, match.group(1).strip("<>")


def relative_links() -> Iterator[tuple[Path, int, str]]:
    for page in PAGES:
        for number, target in links(page):
            if target and not EXTERNAL.match(target):
                yield page, number, target


def resolve(page: Path, target: str) -> tuple[Path, str | None]:
    path, _, fragment = target.partition("#")
    destination = (page.parent / unquote(path)).resolve() if path else page
    return destination, (unquote(fragment) if fragment else None)


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


#: The README's sections that moved to docs/ (issue 12), by their old anchor: where each one is now. A link to
#: README.md#<old anchor> would land on the top of the README, so none may remain; the new places must exist.
MOVED = {
    "the-lambda-authorizer": "docs/configuration.md#the-lambda-authorizers-environment-auth_",
    "trusted-issuers-and-provider-presets": "docs/configuration.md#trusted-issuers-and-provider-presets",
    "configuration-cdkjson--context": "docs/configuration.md#the-stacks-configuration-cdkjson--context",
    "security-rules-rfc-8725": "docs/security.md#security-rules-rfc-8725",
    "responses-and-why-the-policy-is-cache-safe": "docs/security.md#responses-and-why-the-policy-is-cache-safe",
    "deploying": "docs/deploying.md",
    "prerequisites": "docs/deploying.md#prerequisites",
    "use-it-in-your-own-cdk-app": "docs/deploying.md#use-it-in-your-own-cdk-app",
    "descope": "docs/providers.md#descope",
    "passage-1password": "docs/providers.md#passage-1password",
    "wso2-identity-server": "docs/providers.md#wso2-identity-server",
    "amazon-cognito": "docs/providers.md#amazon-cognito",
    "microsoft-entra-id": "docs/providers.md#microsoft-entra-id",
    "any-oidc-provider": "docs/providers.md#any-oidc-provider",
    "local-stack": "docs/local-stack.md",
    "local-runs-no-aws-account": "docs/local-stack.md#local-runs-no-aws-account",
    "operating": "docs/operating.md",
    "metrics": "docs/operating.md#metrics",
    "tracing": "docs/operating.md#turning-tracing-on-tracing",
    "traces": "docs/operating.md#traces",
    "changing-who-may-call-without-redeploying": "docs/operating.md#changing-who-may-call-without-redeploying",
    "changing-who-may-call-without-a-redeploy": "docs/operating.md#what-the-authorizer-does-with-the-parameter",
    "python--m-tools-token--a-token-from-the-client-credentials-grant":
        "docs/operating.md#tools-token--a-token-from-the-client-credentials-grant",
    "python--m-tools-doctor--why-is-this-token-rejected":
        "docs/operating.md#tools-doctor--why-is-this-token-rejected",
    "python--m-tools-smoke--after-cdk-deploy": "docs/operating.md#tools-smoke--after-cdk-deploy",
    "performance": "docs/performance.md",
    "results": "docs/performance.md#results",
    "targets": "docs/performance.md#targets",
    "what-was-tuned-and-why-it-is-safe": "docs/performance.md#what-was-tuned-and-why-it-is-safe",
    "development": "docs/development.md",
}


def test_the_pages_exist() -> None:
    expected = {"configuration", "providers", "deploying", "local-stack", "operating", "security", "performance",
                "development"}
    assert expected <= {page.stem for page in PAGES}


def test_the_link_finder_reads_markdown_as_github_does() -> None:
    assert slug("Configuration (`cdk.json` → `context`)") == "configuration-cdkjson--context"
    assert slug("`python -m tools doctor` — why is this token rejected?") == \
        "python--m-tools-doctor--why-is-this-token-rejected"
    assert slug("Passage (1Password)") == "passage-1password"
    assert slug("AUTH_* and [links](x.md)") == "auth_-and-links"
    line = 'See [a](docs/a.md#b), ![i](img.png "t"), `[not](x.md)` and [web](https://example.com).'
    found = [m.group(1) for m in INLINE_LINK.finditer(INLINE_CODE.sub("", line))]
    assert found == ["docs/a.md#b", "img.png", "https://example.com"]
    assert list(prose_lines("a\n```sh\n# not a heading [x](y.md)\n```\nb")) == [(1, "a"), (5, "b")]


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for source, number, target in relative_links():
        if source != page:
            continue
        destination, fragment = resolve(source, target)
        if not destination.exists():
            broken.append(f"{name(source)}:{number}: {target}: no such file")
        elif fragment is not None:
            if destination.suffix != ".md":
                broken.append(f"{name(source)}:{number}: {target}: an anchor into a file that is not Markdown")
            elif fragment not in anchors(destination):
                broken.append(f"{name(source)}:{number}: {target}: no heading '#{fragment}' in {name(destination)}")
    assert not broken, "\n".join(broken)


def test_no_link_to_a_readme_section_that_moved() -> None:
    readme = ROOT / "README.md"
    stale = [f"{name(source)}:{number}: {target}: that README section moved to {MOVED[fragment]}"
             for source, number, target in relative_links()
             for destination, fragment in [resolve(source, target)]
             if destination == readme and fragment in MOVED]
    assert not stale, "\n".join(stale)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_section_is_where_the_map_says(old: str) -> None:
    assert old not in anchors(ROOT / "README.md")
    destination, fragment = resolve(ROOT / "README.md", MOVED[old])
    assert destination.is_file(), MOVED[old]
    assert fragment is None or fragment in anchors(destination), MOVED[old]


def test_docs_pages_named_in_the_code_exist() -> None:
    """Messages and docstrings send people to docs/<page>.md; each such page must exist."""
    named = re.compile(r"docs/[\w.-]+\.md")
    missing = [f"{name(source)}: {page}" for folder in ("authorizer", "infra", "local", "tools", "bench")
               for source in sorted((ROOT / folder).rglob("*.py"))
               for page in sorted(set(named.findall(source.read_text(encoding="utf-8"))))
               if not (ROOT / page).is_file()]
    assert not missing, "\n".join(missing)
