"""The worked examples of API.md, replayed against the demo hospital.

Every fenced block in API.md whose language is `http` is half of an example:

    ```http request <name>        the request: a request line, headers, a blank line and
    POST /path HTTP/1.1           an optional JSON body
    Header: value
    ```
    ```http answer <name>         the very next fenced block: the status line, the headers
    HTTP/1.1 201 Created          shown, a blank line and an optional JSON body
    ```

A block in any other form (no name, no answer, an answer that belongs to no request, a
body that is not JSON) fails `test_every_http_block_is_an_example`.

The examples run in the order they appear, as one session on a fresh demo hospital
(`flask seed-demo`, time zone UTC). How an answer is matched:

- The status must be the one shown. Each header shown must be sent with that value
  (names without case); headers not shown are not checked.
- A JSON object shown must have every key shown with the value shown, and may have more
  keys. A list must have exactly the items shown, unless its last item is the string
  `"..."`: then the items shown come first and more may follow.
- `{name}` is a placeholder. In an answer, the first time a name appears it matches any
  value that is not null and remembers it (a name ending in `id` must be an integer, in
  `_time` or `_at` a date-time, in `etag` a quoted string); afterwards it must be that
  same value. In a request it is replaced by the value remembered. A JSON string that is
  nothing but a placeholder stands for the value itself, integers included
  (`"patient_id": "{patient_id}"` sends a number). `{today}` is known from the start:
  today's date in the hospital's time zone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from meditrack.core import timeutil

GUIDE = Path(__file__).resolve().parent.parent / "API.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
INFO = re.compile(r"^http (request|answer) ([a-z0-9-]+)$")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*) HTTP/1\.1$")
STATUS_LINE = re.compile(r"^HTTP/1\.1 (\d{3}) [A-Za-z -]+$")
MORE = "..."


@dataclass(frozen=True)
class Message:
    first_line: str
    headers: tuple[tuple[str, str], ...]
    body: object  # None when the block shows no body


@dataclass(frozen=True)
class Example:
    name: str
    line: int
    request: Message
    answer: Message


def _message(text: str, where: str) -> Message:
    head, _, body = text.partition("\n\n")
    first, *header_lines = head.splitlines()
    headers = []
    for header in header_lines:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"{where}: not a header line: {header!r}")
        headers.append((name.strip(), value.strip()))
    try:
        parsed = json.loads(body) if body.strip() else None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: the body is not JSON: {exc}") from None
    return Message(first, tuple(headers), parsed)


def parse_guide(text: str) -> list[Example]:
    """Every example of the guide, in order; ValueError naming the first bad block."""
    blocks = [
        (text.count("\n", 0, m.start()) + 1, m.group(1).strip(), m.group(2))
        for m in FENCE.finditer(text)
    ]
    examples, names, pending = [], set(), None
    for line, info, content in blocks:
        where = f"API.md line {line}"
        if pending is not None:
            kind = INFO.match(info)
            if not kind or kind.groups() != ("answer", pending[1]):
                raise ValueError(
                    f"API.md line {pending[0]}: request {pending[1]!r} is not "
                    f"followed by its answer block (```http answer {pending[1]})"
                )
            request = _message(pending[2], f"API.md line {pending[0]}")
            answer = _message(content, where)
            if not REQUEST_LINE.match(request.first_line):
                raise ValueError(
                    f"API.md line {pending[0]}: bad request line {request.first_line!r}"
                )
            if not STATUS_LINE.match(answer.first_line):
                raise ValueError(f"{where}: bad status line {answer.first_line!r}")
            examples.append(Example(pending[1], pending[0], request, answer))
            pending = None
            continue
        if info.split(" ")[0] != "http":
            continue
        kind = INFO.match(info)
        if not kind:
            raise ValueError(
                f"{where}: an http block must be `http request <name>` or "
                f"`http answer <name>`, not {info!r}"
            )
        if kind.group(1) == "answer":
            raise ValueError(f"{where}: answer {kind.group(2)!r} follows no request")
        if kind.group(2) in names:
            raise ValueError(f"{where}: example {kind.group(2)!r} appears twice")
        names.add(kind.group(2))
        pending = (line, kind.group(2), content)
    if pending is not None:
        raise ValueError(f"API.md line {pending[0]}: request {pending[1]!r} has no answer")
    return examples


class Session:
    """The values the placeholders have taken so far."""

    def __init__(self, known: dict[str, object]):
        self.values = dict(known)

    def fill(self, text: str) -> str:
        return PLACEHOLDER.sub(lambda m: str(self.value(m.group(1))), text)

    def value(self, name: str) -> object:
        assert name in self.values, f"placeholder {{{name}}} is used before it is shown"
        return self.values[name]

    def fill_json(self, shown: object) -> object:
        if isinstance(shown, dict):
            return {key: self.fill_json(value) for key, value in shown.items()}
        if isinstance(shown, list):
            return [self.fill_json(item) for item in shown]
        if isinstance(shown, str):
            whole = PLACEHOLDER.fullmatch(shown)
            return self.value(whole.group(1)) if whole else self.fill(shown)
        return shown

    def bind(self, name: str, actual: object, where: str) -> None:
        if name in self.values:
            assert actual == self.values[name], f"{where}: {actual!r} is not {{{name}}}"
            return
        assert actual is not None, f"{where}: null for {{{name}}}"
        if name.endswith("id"):
            assert isinstance(actual, int) and not isinstance(actual, bool), (where, actual)
        elif name.endswith(("_time", "_at")):
            datetime.fromisoformat(actual)
        elif name.endswith("etag"):
            assert re.fullmatch(r'"[^"]+"', actual), (where, actual)
        self.values[name] = actual

    def match_text(self, shown: str, actual: str, where: str) -> None:
        """`shown` with placeholders must be `actual`; new placeholders take their part."""
        parts, pattern = PLACEHOLDER.split(shown), ""
        for index, part in enumerate(parts):
            if index % 2 == 0:
                pattern += re.escape(part)
            elif part in self.values:
                pattern += re.escape(str(self.values[part]))
            else:
                pattern += f"(?P<{part}>.+?)"
        found = re.fullmatch(pattern, actual)
        assert found, f"{where}: {actual!r} does not match {shown!r}"
        for name, text in found.groupdict().items():
            self.bind(name, int(text) if name.endswith("id") else text, where)

    def match_json(self, shown: object, actual: object, where: str) -> None:
        if isinstance(shown, str) and (whole := PLACEHOLDER.fullmatch(shown)):
            self.bind(whole.group(1), actual, where)
        elif isinstance(shown, dict):
            assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
            for key, value in shown.items():
                assert key in actual, f"{where}: no {key!r} in {sorted(actual)}"
                self.match_json(value, actual[key], f"{where}.{key}")
        elif isinstance(shown, list):
            assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
            more = bool(shown) and shown[-1] == MORE
            items = shown[:-1] if more else shown
            if more:
                assert len(actual) >= len(items), f"{where}: {len(actual)} items"
            else:
                assert len(actual) == len(items), f"{where}: {len(actual)} items, not {len(items)}"
            for index, item in enumerate(items):
                self.match_json(item, actual[index], f"{where}[{index}]")
        else:
            assert actual == shown, f"{where}: {actual!r}, not {shown!r}"


def replay(client, session: Session, example: Example) -> None:
    where = f"example {example.name!r} (API.md line {example.line})"
    method, path = REQUEST_LINE.match(session.fill(example.request.first_line)).groups()
    headers = {name: session.fill(value) for name, value in example.request.headers}
    body = example.request.body
    response = client.open(
        path,
        method=method,
        headers=headers,
        data=None if body is None else json.dumps(session.fill_json(body)),
    )
    status = int(STATUS_LINE.match(example.answer.first_line).group(1))
    assert response.status_code == status, (where, response.status_code, response.get_data())
    for name, value in example.answer.headers:
        assert name in response.headers, f"{where}: no {name} header"
        session.match_text(value, response.headers[name], f"{where} {name}")
    if example.answer.body is not None:
        session.match_json(example.answer.body, response.get_json(), where)


def test_every_http_block_is_an_example():
    """A block that is not a request and answer pair in the form above fails here."""
    examples = parse_guide(GUIDE.read_text(encoding="utf-8"))
    assert len(examples) >= 8


@pytest.mark.parametrize(
    "broken",
    [
        "```http\nGET /health HTTP/1.1\n```\n",
        "```http request a\nGET /health HTTP/1.1\n```\n",
        "```http request a\nGET /health HTTP/1.1\n```\n```json\n{}\n```\n",
        "```http answer a\nHTTP/1.1 200 OK\n```\n",
        "```http request a\nGET /health HTTP/1.1\n```\n"
        "```http answer a\nHTTP/1.1 200 OK\n\n{x\n```\n",
        "```http request a\nFETCH /health\n```\n```http answer a\nHTTP/1.1 200 OK\n```\n",
    ],
)
def test_a_block_out_of_form_is_refused(broken):
    with pytest.raises(ValueError):
        parse_guide(broken)


def test_the_worked_examples_answer_as_shown(app, runner, client):
    """Each example, in order, on the demo hospital: status, headers and fields shown."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    examples = parse_guide(GUIDE.read_text(encoding="utf-8"))
    with app.app_context():
        session = Session({"today": timeutil.today().isoformat()})
    for example in examples:
        replay(client, session, example)


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a document, fenced blocks left out."""
    prose = FENCE.sub("", markdown)
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_links_into_the_guide_point_at_sections_that_exist():
    """README, CONTRIBUTING and the guide itself link to sections of API.md that exist."""
    guide = GUIDE.read_text(encoding="utf-8")
    anchors = _anchors(guide)
    links = [("API.md", anchor) for anchor in re.findall(r"\]\(#([^)]+)\)", FENCE.sub("", guide))]
    for name in ("README.md", "CONTRIBUTING.md"):
        text = (GUIDE.parent / name).read_text(encoding="utf-8")
        links += [(name, anchor) for anchor in re.findall(r"\]\(API\.md#([^)]+)\)", text)]
    assert len(links) > 20
    missing = [f"{source} → #{anchor}" for source, anchor in links if anchor not in anchors]
    assert not missing, "Links to sections API.md does not have:\n" + "\n".join(missing)
