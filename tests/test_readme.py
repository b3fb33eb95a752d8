"""README.md and docs/*.md name only what exists.

A reader copies names out of these pages: a management command (and its options), an
environment variable, setting or error code, a URL of the site, a file of the repository, a
Make target. Each kind is extracted from the Markdown and checked against the code itself:
``get_commands()`` and the command's own parser, the source files, the URL resolver, the
file system, the Makefile. The extractors are checked too: they must find many real names
in the pages (so a broken regex cannot pass by finding nothing) and must report invented
ones.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import django
import pytest
from django.contrib.auth import get_user_model
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, get_resolver, resolve
from django.urls.resolvers import URLResolver

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
APPS = ("config", "organisation", "consumables", "inventory", "billing", "insurance_platform")

FENCED = re.compile(r"```[^\n]*\n(.*?)```", re.S)
INLINE = re.compile(r"`([^`]+?)`", re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")
COMMAND = re.compile(r"manage\.py\s+([a-z][a-z0-9_]*)([^`\n|]*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# An environment variable, setting or error code: upper case with at least one underscore.
CONSTANT = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w-])")
URL_PREFIXES = (
    "api",
    "billing",
    "inventory",
    "insurance",
    "master",
    "accounts",
    "admin",
    "i18n",
    "healthz",
)
URL = re.compile(r"(?<![\w.~/-])(/(?:" + "|".join(URL_PREFIXES) + r")(?![\w-])[^\s`'\"|()\[\],;]*)")
HOST = re.compile(r"https?://[^/\s`)]+")
MAKE = re.compile(r"(?<![\w-])make\s+([a-z][a-z0-9-]*)")
FILE_SUFFIXES = (
    ".py",
    ".md",
    ".html",
    ".js",
    ".css",
    ".sql",
    ".yaml",
    ".yml",
    ".toml",
    ".po",
    ".png",
    ".txt",
    ".json",
)
PATH_LIKE = re.compile(r"^\.?[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)*/?$")
# Answered by middleware before URL resolution (config/health.py), so not in the resolver.
MIDDLEWARE_PATHS = {"/healthz": "config/health.py"}
CREATESUPERUSER = "contrib/auth/management/commands/createsuperuser.py"


@dataclass
class Names:
    commands: dict[str, set[str]] = field(default_factory=dict)  # command -> options
    constants: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)  # relative to the page
    make_targets: set[str] = field(default_factory=set)


def code_parts(text: str) -> list[str]:
    """The fenced blocks and the inline code spans of a Markdown text."""
    blocks = FENCED.findall(text)
    rest = FENCED.sub("\n", text)
    return blocks + INLINE.findall(rest)


def flattened(text: str) -> str:
    """``text`` with shell line continuations joined and inline code spans on one line (a
    span may wrap in Markdown), so a command and its options are read together."""
    text = re.sub(r"\\\n\s*", " ", text)
    out, last = [], 0
    for block in FENCED.finditer(text):
        out.append(INLINE.sub(_one_line, text[last : block.start()]))
        out.append(block.group(0))
        last = block.end()
    out.append(INLINE.sub(_one_line, text[last:]))
    return "".join(out)


def _one_line(span: re.Match) -> str:
    return "`" + re.sub(r"\s*\n\s*", " ", span.group(1)) + "`"


def names_in(text: str) -> Names:
    """Everything ``text`` names that must exist."""
    names = Names()
    joined = flattened(text)
    for command, rest in COMMAND.findall(joined):
        names.commands.setdefault(command, set()).update(OPTION.findall(rest))
    for url in URL.findall(HOST.sub(" ", text)):
        names.urls.add(url.rstrip(".:"))
    for part in code_parts(joined):
        names.constants.update(CONSTANT.findall(part))
        names.make_targets.update(MAKE.findall(part))
        candidate = part.strip()
        if (
            PATH_LIKE.match(candidate)
            and not candidate.startswith("/")
            and not (candidate.startswith(".") and "/" not in candidate)  # `.po`: a suffix
            and (
                candidate.endswith(FILE_SUFFIXES)
                or candidate.endswith("/")
                or (ROOT / candidate.split("/")[0]).is_dir()
                and "/" in candidate
            )
        ):
            names.files.add(candidate)
    for target in LINK.findall(text):
        if not target.startswith(("http://", "https://", "mailto:")):
            names.links.add(target)
    return names


# -- what exists -----------------------------------------------------------------------------


@cache
def command_options(name: str) -> frozenset[str] | None:
    """The option strings of management command ``name``, None when there is no such command."""
    app = get_commands().get(name)
    if app is None:
        return None
    command = app if not isinstance(app, str) else load_command_class(app, name)
    parser = command.create_parser("manage.py", name)
    return frozenset(parser._option_string_actions)


def _source_files() -> list[Path]:
    files = [ROOT / n for n in ("compose.yaml", "Dockerfile", "Makefile", "pyproject.toml")]
    files += [ROOT / ".ci" / "run", *sorted((ROOT / "docker").glob("*"))]
    for top in (*APPS, "bench"):
        files += sorted((ROOT / top).rglob("*.py"))
    files += sorted((ROOT / "tests").rglob("conftest.py"))
    files.append(Path(django.__file__).parent / CREATESUPERUSER)
    return [f for f in files if f.is_file()]


def createsuperuser_variables() -> set[str]:
    """What ``createsuperuser --noinput`` reads besides DJANGO_SUPERUSER_PASSWORD (found in
    its source): DJANGO_SUPERUSER_ + each field it asks for, upper-cased, as it builds them."""
    source = (Path(django.__file__).parent / CREATESUPERUSER).read_text()
    assert '"DJANGO_SUPERUSER_" + field_name.upper()' in source
    user = get_user_model()
    return {f"DJANGO_SUPERUSER_{f.upper()}" for f in (user.USERNAME_FIELD, *user.REQUIRED_FIELDS)}


@cache
def code_words() -> frozenset[str]:
    """Upper-case names in the code: what settings.py and the services read and raise,
    compose and the Makefile set, and what the tests read from the environment."""
    words = createsuperuser_variables()
    for path in _source_files():
        words.update(CONSTANT.findall(path.read_text(errors="replace")))
    for path in (ROOT / "tests").rglob("*.py"):
        for line in path.read_text().splitlines():
            if "os.environ" in line or "getenv" in line:
                words.update(CONSTANT.findall(line))
    return frozenset(words)


@cache
def route_prefixes() -> tuple[str, ...]:
    """The literal start of every route, e.g. ``billing/finance/departments/``."""
    prefixes = []

    def walk(resolver, prefix):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, route)
            else:
                prefixes.append(route.split("<")[0])

    walk(get_resolver(), "")
    return tuple(prefixes)


def sample_path(url: str) -> str:
    """``url`` with its query stripped and its placeholders given sample values."""
    path = re.split(r"[?#]", url)[0]
    path = path.replace("YYYY-MM-DD", "2024-05-01").replace("YYYY-MM", "2024-05")

    def sample(match: re.Match) -> str:
        name = match.group(1).split(":")[-1].lower()
        if "date" in name:
            return "2024-05-01"
        if name in {"id", "pk", "n"} or name.endswith(("_id", "pk")):
            return "1"
        return "V001"

    return re.sub(r"[{<]([^}>/]+)[}>]", sample, path)


def url_exists(url: str) -> bool:
    path = sample_path(url)
    if path in MIDDLEWARE_PATHS:
        return f'"{path}"' in (ROOT / MIDDLEWARE_PATHS[path]).read_text()
    try:
        resolve(path)
        return True
    except Resolver404:
        # "Pages under /master/": a prefix of real routes.
        return path.endswith("/") and any(r.startswith(path[1:]) for r in route_prefixes())


def file_exists(name: str) -> bool:
    if (ROOT / name).exists():
        return True
    if "/" not in name.rstrip("/"):  # a bare file name (`udi.py`): somewhere in the repo
        skip = {".venv", ".git", "node_modules"}
        return any(not skip & set(p.relative_to(ROOT).parts) for p in ROOT.rglob(name.rstrip("/")))
    # A path inside an app, as an app's row of a table writes it (`importing/`).
    first = name.split("/")[0]
    return not (ROOT / first).is_dir() and any((ROOT / app / name).exists() for app in APPS)


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown``."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", FENCED.sub("", markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def link_exists(link: str, page_dir: Path, page_text: str) -> bool:
    """A relative link: its file exists, and its ``#anchor`` is a heading of that file."""
    target, _, anchor = link.partition("#")
    if target and not (page_dir / target).exists():
        return False
    if not anchor:
        return True
    text = (page_dir / target).read_text() if target else page_text
    return anchor in anchors(text)


@cache
def make_targets() -> frozenset[str]:
    text = (ROOT / "Makefile").read_text()
    return frozenset(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.M))


def problems(text: str, page_dir: Path = ROOT) -> list[str]:
    """What ``text`` names that does not exist, one line each."""
    names = names_in(text)
    found = []
    for command, options in sorted(names.commands.items()):
        known = command_options(command)
        if known is None:
            found.append(f"management command {command!r} does not exist")
            continue
        found += [f"{command} has no option {o}" for o in sorted(options - known)]
    found += [
        f"{name} is read, set or raised nowhere in the code"
        for name in sorted(names.constants - code_words())
    ]
    found += [f"URL {u} does not resolve" for u in sorted(names.urls) if not url_exists(u)]
    found += [f"file {f} does not exist" for f in sorted(names.files) if not file_exists(f)]
    found += [
        f"link {link} does not exist"
        for link in sorted(names.links)
        if not link_exists(link, page_dir, text)
    ]
    found += [
        f"make target {t!r} does not exist" for t in sorted(names.make_targets - make_targets())
    ]
    return found


def raised_codes() -> dict[str, str]:
    """The stable codes the app code raises, written as the first argument of
    ``DomainError(...)``, ``error_body(...)`` or a module's ``_refusal(...)``, or a literal
    ``code=`` of such a call: {code: where}."""
    found = {}
    for top in APPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in {"DomainError", "error_body", "_refusal"}:
                    continue
                args = node.args[:1] + [k.value for k in node.keywords if k.arg == "code"]
                for arg in args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_names_only_what_exists(page):
    assert problems(page.read_text(), page.parent) == []


def test_every_code_the_code_raises_is_in_the_contract():
    """docs/contract.md lists the refusal codes actually raised (the reverse direction, that
    every code it names exists, is the page test above)."""
    raised = raised_codes()
    assert {"UNKNOWN_CODE", "PACKAGE_CODE", "EVENT_ID_REUSED", "SELF_APPROVAL"} <= set(raised)
    assert len(raised) >= 30
    contract = (ROOT / "docs" / "contract.md").read_text()
    listed = {word for part in code_parts(contract) for word in re.findall(r"\b[A-Z_]+\b", part)}
    missing = {code: where for code, where in raised.items() if code not in listed}
    assert missing == {}


def test_the_pages_are_there():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {
        "README.md",
        "docs/architecture.md",
        "docs/contract.md",
        "docs/glossary.md",
        "docs/operations.md",
    } <= names


def test_the_extractors_find_the_real_names():
    """Enough of each kind is found that a broken extractor cannot pass by finding nothing."""
    names = Names()
    for page in PAGES:
        one = names_in(page.read_text())
        for command, options in one.commands.items():
            names.commands.setdefault(command, set()).update(options)
        names.constants |= one.constants
        names.urls |= one.urls
        names.files |= one.files
        names.links |= one.links
        names.make_targets |= one.make_targets
    assert {"import_master", "load_demo", "integration_token", "createsuperuser"} <= set(
        names.commands
    )
    assert len(names.commands) >= 7
    assert {"--departments", "--rotate"} <= set().union(*names.commands.values())
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_SCAN_BACKDATE_HOURS"} <= names.constants
    assert {"UNKNOWN_CODE", "PACKAGE_CODE", "UNBILLED_USE"} <= names.constants
    assert len([c for c in names.constants if c.startswith("DJANGO_")]) >= 15
    assert len(names.constants) >= 80
    assert {"/api/v1/scans", "/api/docs/", "/billing/bedside/"} <= names.urls
    assert len(names.urls) >= 30
    assert {"config/roles.py", "tests/security/test_access_matrix.py", "udi.py"} <= names.files
    assert len(names.files) >= 40
    assert len(names.links) >= 5
    assert {"run", "test", "messages"} <= names.make_targets


INVENTED = """
Run `python manage.py frobnicate_stock --all` and `python manage.py import_master x.csv
--hospitals h.csv`, then:

```sh
make deploy-everything
DJANGO_WARP_SPEED=1 python manage.py migrate
```

Set `DJANGO_NOT_A_SETTING`; a refusal is `409 TOTALLY_INVENTED_CODE`. See
`/api/v1/teleport`, `/billing/finance/nowhere/{id}/?days=7`, `/master/imaginary/`,
`consumables/telepathy.py`, `telepathy/`, `tests/billing/test_nothing.py`,
`nothing_here.py`, [the manual](docs/manual.md) and [codes](docs/contract.md#no-such-part).
"""


def test_invented_names_are_reported():
    found = "\n".join(problems(INVENTED))
    for expected in [
        "management command 'frobnicate_stock' does not exist",
        "import_master has no option --hospitals",
        "make target 'deploy-everything' does not exist",
        "DJANGO_WARP_SPEED is read, set or raised nowhere",
        "DJANGO_NOT_A_SETTING is read, set or raised nowhere",
        "TOTALLY_INVENTED_CODE is read, set or raised nowhere",
        "URL /api/v1/teleport does not resolve",
        "URL /billing/finance/nowhere/{id}/?days=7 does not resolve",
        "URL /master/imaginary/ does not resolve",
        "file consumables/telepathy.py does not exist",
        "file telepathy/ does not exist",
        "file tests/billing/test_nothing.py does not exist",
        "file nothing_here.py does not exist",
        "link docs/manual.md does not exist",
        "link docs/contract.md#no-such-part does not exist",
    ]:
        assert expected in found
    assert "migrate" not in found  # a real command next to an invented variable


def test_real_names_with_placeholders_pass():
    text = """
    `python manage.py import_master consumables.csv [--departments departments.csv]`,
    `make test TEST_DATABASE_URL=postgres://...`, http://127.0.0.1:8000/admin/,
    `POST /api/v1/encounters/{visit_no}/discharge`, `/api/v1/charges/{id}/refund`,
    `GET /api/v1/reconciliation/runs/YYYY-MM-DD/exceptions[?kind=]`,
    `/billing/finance/month/?month=YYYY-MM`, `/billing/daily-list/<visit>/`, `/healthz`,
    `/master/` (a prefix), `inventory/ledger.py`, `.ci/run`, `importing/`,
    `DJANGO_SUPERUSER_PASSWORD`, `SCHEMATHESIS_MAX_EXAMPLES`, `ENCOUNTER_NOT_ON_WARD`,
    [errors](docs/contract.md#error-codes), [scans](docs/contract.md#scans-post-apiv1scans).
    """
    assert problems(text) == []
