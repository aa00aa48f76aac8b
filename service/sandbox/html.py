"""Read-only HTML view of the sandbox, so a person can see what the service wrote (plain server-side HTML).

Everything shown comes from the same Notion-shaped objects the API answers with, and every value is escaped.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

from service.sandbox.model import JSON, plain

if TYPE_CHECKING:  # avoids an import cycle with core
    from service.sandbox.core import Sandbox

_PAGE_PATH = re.compile(r"^/p/(?:.*-)?([0-9a-fA-F]{32})/?$")

_CSS = """
body{font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#37352f}
a{color:#2f6fb1;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #e3e2e0;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f7f6f3;font-weight:600}
.tag{display:inline-block;background:#eeeeec;border-radius:3px;padding:0 6px;margin:1px 2px}
.callout{background:#f1f1ef;border-radius:4px;padding:8px 12px;margin:6px 0}
blockquote{border-left:3px solid #37352f;margin:6px 0;padding-left:12px}
details{margin:4px 0}.props th{width:14rem}.muted{color:#9b9a97}pre{background:#f7f6f3;padding:8px}
"""


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)} · backlog sandbox</title><style>{_CSS}</style></head>"
        f"<body><p class='muted'><a href='/'>backlog sandbox</a></p>{body}</body></html>"
    )


def _link(url: str) -> str:
    """Local path of a sandbox object URL (`http://host/p/...` -> `/p/...`), so links work behind any host."""
    index = url.find("/p/")
    return url[index:] if index >= 0 else url


def _rich(items: list[JSON] | None) -> str:
    out = []
    for item in items or []:
        text = escape(str(item.get("plain_text", "")))
        notes = item.get("annotations") or {}
        if notes.get("code"):
            text = f"<code>{text}</code>"
        if notes.get("bold"):
            text = f"<b>{text}</b>"
        if notes.get("italic"):
            text = f"<i>{text}</i>"
        if item.get("href"):
            text = f"<a href='{escape(str(item['href']), quote=True)}'>{text}</a>"
        out.append(text)
    return "".join(out)


def _value(prop: JSON) -> str:
    kind = prop.get("type", "")
    value = prop.get(kind)
    if kind in {"title", "rich_text"}:
        return _rich(value)
    if kind in {"select", "status"}:
        return f"<span class='tag'>{escape(value['name'])}</span>" if value else ""
    if kind == "multi_select":
        return "".join(f"<span class='tag'>{escape(opt['name'])}</span>" for opt in value or [])
    if kind == "checkbox":
        return "☑" if value else "☐"
    if kind == "date":
        if not value:
            return ""
        end = f" → {escape(str(value['end']))}" if value.get("end") else ""
        return escape(str(value.get("start"))) + end
    if kind == "url":
        return f"<a href='{escape(str(value), quote=True)}'>{escape(str(value))}</a>" if value else ""
    if kind == "relation":
        links = [f"<a href='/p/{escape(str(rel['id']).replace('-', ''))}'>↗</a>" for rel in value or []]
        return " ".join(links) + (" …" if prop.get("has_more") else "")
    if kind == "people":
        return ", ".join(escape(str(user.get("name") or user.get("id"))) for user in value or [])
    if value is None:
        return ""
    return escape(str(value))


def _title_of(page: JSON) -> str:
    for prop in page["properties"].values():
        if prop.get("type") == "title":
            return plain(prop.get("title")) or "Untitled"
    return "Untitled"


def _blocks(tree: list[tuple[JSON, list[Any]]]) -> str:
    out: list[str] = []
    open_list: str | None = None
    for block, children in tree:
        kind = block["type"]
        payload = block.get(kind) or {}
        list_tag = {"bulleted_list_item": "ul", "numbered_list_item": "ol"}.get(kind)
        if open_list and list_tag != open_list:
            out.append(f"</{open_list}>")
            open_list = None
        if list_tag and open_list is None:
            out.append(f"<{list_tag}>")
            open_list = list_tag
        inner = _blocks(children) if children and kind not in {"table", "toggle"} else ""
        text = _rich(payload.get("rich_text"))
        if kind in {"heading_1", "heading_2", "heading_3"}:
            out.append(f"<h{kind[-1]}>{text}</h{kind[-1]}>{inner}")
        elif list_tag:
            out.append(f"<li>{text}{inner}</li>")
        elif kind == "to_do":
            out.append(f"<div>{'☑' if payload.get('checked') else '☐'} {text}{inner}</div>")
        elif kind == "toggle":
            out.append(f"<details><summary>{text}</summary>{_blocks(children)}</details>")
        elif kind == "callout":
            icon = escape(str((payload.get("icon") or {}).get("emoji", "")))
            out.append(f"<div class='callout'>{icon} {text}{inner}</div>")
        elif kind == "quote":
            out.append(f"<blockquote>{text}{inner}</blockquote>")
        elif kind == "divider":
            out.append("<hr>")
        elif kind == "code":
            out.append(f"<pre><code>{escape(plain(payload.get('rich_text')))}</code></pre>")
        elif kind == "table":
            rows = []
            for index, (row, _) in enumerate(children):
                cell_tag = "th" if index == 0 and payload.get("has_column_header") else "td"
                cells = "".join(f"<{cell_tag}>{_rich(cell)}</{cell_tag}>" for cell in row["table_row"]["cells"])
                rows.append(f"<tr>{cells}</tr>")
            out.append(f"<table>{''.join(rows)}</table>")
        elif kind in {"child_page", "child_database"}:
            mark = "📄" if kind == "child_page" else "🗃"
            href = "/p/" + block["id"].replace("-", "")
            out.append(f"<p>{mark} <a href='{href}'>{escape(payload.get('title') or 'Untitled')}</a></p>")
        else:
            out.append(f"<p>{text}</p>{inner}")
    if open_list:
        out.append(f"</{open_list}>")
    return "".join(out)


def _index(sandbox: Sandbox) -> str:
    databases = "".join(
        f"<li><a href='{escape(_link(db['url']), quote=True)}'>{escape(plain(db['title']) or 'Untitled')}</a></li>"
        for db in sandbox.view_databases()
    )
    pages = "".join(
        f"<li><a href='{escape(_link(page['url']), quote=True)}'>{escape(_title_of(page))}</a></li>"
        for page in sandbox.view_pages()
    )
    body = f"<h1>Workspace</h1><h2>Databases</h2><ul>{databases or '<li class=muted>none yet</li>'}</ul>"
    body += f"<h2>Pages</h2><ul>{pages}</ul>"
    return _layout("Workspace", body)


def _database(sandbox: Sandbox, db: JSON) -> str:
    source, pages = sandbox.view_rows(db["id"])
    names = list(source["properties"])
    title_name = next((n for n in names if source["properties"][n]["type"] == "title"), None)
    if title_name is not None:
        names.remove(title_name)
        names.insert(0, title_name)
    head = "".join(f"<th>{escape(name)}</th>" for name in names)
    rows = []
    for page in pages:
        cells = []
        for name in names:
            prop = page["properties"].get(name, {})
            cell = _value(prop)
            if name == title_name:
                cell = f"<a href='{escape(_link(page['url']), quote=True)}'>{cell or 'Untitled'}</a>"
            cells.append(f"<td>{cell}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    title = plain(db["title"]) or "Untitled"
    body = f"<h1>{escape(title)}</h1><p class='muted'>{len(pages)} rows</p>"
    body += f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return _layout(title, body)


def _page(sandbox: Sandbox, page: JSON) -> str:
    title = _title_of(page)
    props = "".join(
        f"<tr><th>{escape(name)}</th><td>{_value(prop)}</td></tr>"
        for name, prop in page["properties"].items()
        if prop.get("type") != "title"
    )
    table = f"<table class='props'>{props}</table>" if props else ""
    icon = escape(str((page.get("icon") or {}).get("emoji", "")))
    body = f"<h1>{icon} {escape(title)}</h1>{table}{_blocks(sandbox.view_blocks(page['id']))}"
    return _layout(title, body)


def render_html(sandbox: Sandbox, path: str) -> tuple[int, str]:
    """(status, HTML) for one GET of the view: `/`, or `/p/<slug>-<id>` for a page or a database."""
    if path in {"", "/"}:
        return 200, _index(sandbox)
    match = _PAGE_PATH.match(path)
    found = sandbox.view_object(match.group(1)) if match else None
    if found is None:
        return 404, _layout("Not found", "<h1>Not found</h1><p>No page or database at this address.</p>")
    kind, obj = found
    return 200, _database(sandbox, obj) if kind == "database" else _page(sandbox, obj)
