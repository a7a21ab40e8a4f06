"""A gallery of every subject and layer: one HTML page that opens from disk, with no server.

``results/gallery/index.html`` holds a row per subject and layer (the summary's numbers: how
many volunteers classified it, marks, objects, agreement, how contested), a thumbnail that
links to the full figure, and controls to sort by any column, filter by subject id and layer,
and page through. Everything it needs is in the page (styles, script, data) or beside it in
``results/`` (thumbnails, figures): nothing is loaded from the network, so it works from
``file://`` and can be shared by copying ``results/``.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from zooheat.fileio import write_if_changed
from zooheat.pipeline import RESULTS, STEPS, SUBJECT_MARK

__all__ = [
    "GALLERY_COLUMNS",
    "gallery_html",
    "has_heat_map",
    "read_summary",
    "report_sample",
    "write_gallery",
    "write_report_figures",
]

PathLike = str | os.PathLike[str]

#: The summary's columns the gallery shows, with their headings, in order.
GALLERY_COLUMNS = (
    ("subject", "subject"),
    ("layer", "layer"),
    ("classifications", "classifications"),
    ("marks", "marks"),
    ("objects", "objects"),
    ("mean_agreement", "mean agreement"),
    ("contested", "contested"),
    ("outside", "marks outside"),
)
#: Rows on a page: a page is drawn at once; 10^4 rows are a few hundred pages.
PAGE = 50

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .5em; }
.controls { display: flex; gap: 1em; align-items: center; margin-bottom: .6em; flex-wrap: wrap; }
table { border-collapse: collapse; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
td.text, th.text { text-align: left; }
th { cursor: pointer; user-select: none; background: #f4f4f4; position: sticky; top: 0; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
td.thumb { padding: 2px; }
td.thumb img { display: block; height: 80px; width: auto; }
.pager button { margin: 0 .3em; }
"""

_SCRIPT = """
"use strict";
const rows = JSON.parse(document.getElementById("gallery-data").textContent);
const columns = JSON.parse(document.getElementById("gallery-columns").textContent);
const PAGE = __PAGE__;
let order = { key: "contested", descending: true };
let shown = rows;
let page = 0;
const body = document.querySelector("tbody");
const subjectFilter = document.getElementById("subject");
const layerFilter = document.getElementById("layer");
const status = document.getElementById("status");

function compare(a, b, key) {
  const x = a[key], y = b[key];
  if (x === y) return 0;
  if (x === null) return 1;  // unknown values last, whichever the direction
  if (y === null) return -1;
  if (key === "subject") return a.order - b.order;  // natural order: 9999 before 10000
  return x < y ? -1 : 1;
}

function apply() {
  const text = subjectFilter.value.trim();
  const layer = layerFilter.value;
  shown = rows.filter(r => (!text || r.subject.includes(text)) && (!layer || r.layer === layer));
  const sign = order.descending ? -1 : 1;
  shown.sort((a, b) => sign * compare(a, b, order.key) || a.order - b.order ||
                       (a.layer < b.layer ? -1 : a.layer > b.layer ? 1 : 0));
  for (const th of document.querySelectorAll("th[data-key]")) {
    th.setAttribute("aria-sort", th.dataset.key === order.key ?
      (order.descending ? "descending" : "ascending") : "none");
  }
  page = 0;
  draw();
}

function cell(row, key) {
  const value = row[key];
  if (value === null) return "";
  return key === "mean_agreement" || key === "contested" ? value.toFixed(3) : String(value);
}

function escape(text) {
  return text.replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

function draw() {
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  page = Math.min(page, pages - 1);
  const part = shown.slice(page * PAGE, (page + 1) * PAGE);
  body.innerHTML = part.map(r =>
    '<tr data-subject="' + escape(r.subject) + '" data-layer="' + escape(r.layer) + '">' +
    (r.figure === null ? '<td class="thumb text">no image</td>' :
     '<td class="thumb"><a href="' + escape(r.figure) + '"><img loading="lazy" alt="' +
     escape(r.subject + " " + r.layer) + '" src="' + escape(r.thumbnail) + '"></a></td>') +
    columns.map(([key]) => '<td class="' + (key === "subject" || key === "layer" ? "text" : "") +
      '">' + escape(cell(r, key)) + "</td>").join("") + "</tr>").join("");
  const first = shown.length ? page * PAGE + 1 : 0;
  status.textContent = "rows " + first + "\\u2013" + (page * PAGE + part.length) + " of " +
    shown.length + " (" + rows.length + " in all), page " + (page + 1) + " of " + pages;
}

document.querySelector("thead").addEventListener("click", event => {
  const th = event.target.closest("th[data-key]");
  if (!th) return;
  const key = th.dataset.key;
  const text = key === "subject" || key === "layer";
  order = { key, descending: order.key === key ? !order.descending : !text };
  apply();
});
subjectFilter.addEventListener("input", apply);
layerFilter.addEventListener("change", apply);
document.getElementById("previous").addEventListener("click", () => {
  if (page > 0) { page--; draw(); }
});
document.getElementById("next").addEventListener("click", () => { page++; draw(); });
apply();
window.galleryReady = performance.now();
"""


def _number(text: str) -> int | float | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_summary(path: PathLike) -> list[dict[str, Any]]:
    """Read ``summary.csv`` with its numbers as numbers (empty cells as None)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [
            {k: v if k in ("subject", "layer") else _number(v) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]


def has_heat_map(row: Mapping[str, Any]) -> bool:
    """Whether a summary row's subject has a heat map and figures (its image was there).

    A subject without an image has the summary's numbers of its marks and consensus, and
    its heat map's (``binned``, ``outside``, ``max``) empty.
    """
    return row.get("binned") not in (None, "")


def _relative(path: str, start: str) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")


def _halves(path: str, folder: str) -> tuple[str, str]:
    """Return the link from ``folder`` to ``path`` as the text either side of its id."""
    head, tail = _relative(path, folder).split(SUBJECT_MARK)
    return head, tail


def gallery_html(
    rows: Sequence[Mapping[str, Any]],
    *,
    figure_format: str,
    results: PathLike = RESULTS,
    title: str = "zooheat gallery",
) -> str:
    """Return the gallery page for the summary's rows (in their order, subject by subject).

    The thumbnails and figures are linked by their paths relative to
    ``{results}/gallery/``, as :data:`zooheat.pipeline.STEPS` names them.

    Examples
    --------
    >>> page = gallery_html([{"subject": "1", "layer": "blobs", "objects": 2, "binned": 5}],
    ...                     figure_format="png")
    >>> "../thumbnails/blobs/1.webp" in page and "../figures/blobs/1.png" in page
    True
    """
    folder = f"{os.fspath(results)}/gallery"
    links: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}  # per layer
    data = []
    for number, row in enumerate(rows):
        subject, layer = str(row["subject"]), str(row["layer"])
        if layer not in links:  # each link is the subject's id between a head and a tail
            (thumb,) = STEPS["thumbnail"].paths(layer, SUBJECT_MARK, results=results)
            overlay = STEPS["overlay"]
            (figure,) = overlay.paths(layer, SUBJECT_MARK, [figure_format], results=results)
            links[layer] = (_halves(thumb, folder), _halves(figure, folder))
        (thumb_head, thumb_tail), (figure_head, figure_tail) = links[layer]
        entry = {key: row.get(key) for key, _ in GALLERY_COLUMNS}
        made = has_heat_map(row)
        entry |= {
            "order": number,
            "thumbnail": thumb_head + subject + thumb_tail if made else None,
            "figure": figure_head + subject + figure_tail if made else None,
        }
        data.append(entry)
    layers = sorted({str(row["layer"]) for row in rows})
    # JSON in a script element: "</" must not end the element early.
    as_json = json.dumps(data, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
    heads = "".join(
        f'<th data-key="{key}" class="{"text" if key in ("subject", "layer") else ""}">'
        f"{html.escape(label)}</th>"
        for key, label in GALLERY_COLUMNS
    )
    options = "".join(f'<option value="{html.escape(n)}">{html.escape(n)}</option>' for n in layers)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>A row per subject and layer; a thumbnail opens the figure. Sorted by how contested
a subject is (most first); click a heading to sort by it.</p>
<div class="controls">
<label>subject <input id="subject" type="search" placeholder="id contains..."></label>
<label>layer <select id="layer"><option value="">all</option>{options}</select></label>
<span class="pager"><button id="previous">previous</button><button id="next">next</button></span>
<span id="status"></span>
</div>
<table>
<thead><tr><th class="text">figure</th>{heads}</tr></thead>
<tbody></tbody>
</table>
<script type="application/json" id="gallery-data">{as_json}</script>
<script type="application/json" id="gallery-columns">{json.dumps(GALLERY_COLUMNS)}</script>
<script>{_SCRIPT.replace("__PAGE__", str(PAGE))}</script>
</body>
</html>
"""


def write_gallery(
    summary: PathLike,
    out: PathLike,
    *,
    figure_format: str,
    results: PathLike = RESULTS,
) -> int:
    """Write the gallery page of ``summary.csv`` (only when its bytes change); return its rows."""
    rows = read_summary(summary)
    write_if_changed(out, gallery_html(rows, figure_format=figure_format, results=results).encode())
    return len(rows)


def report_sample(rows: Sequence[Mapping[str, Any]], count: int) -> list[tuple[str, str]]:
    """Pick the figures a report shows: ``(layer, subject)``, the most contested first.

    Ties (and subjects without a contested score) go by the summary's order; subjects
    without an image (no figure) are left out. The gallery shows every figure; a report of
    10^5 figures would be gigabytes.

    Examples
    --------
    >>> rows = [{"subject": "1", "layer": "a", "contested": 0.2, "binned": 4},
    ...         {"subject": "2", "layer": "a", "contested": 0.9, "binned": 9},
    ...         {"subject": "3", "layer": "a", "contested": None, "binned": 0},
    ...         {"subject": "4", "layer": "a", "contested": 1.0, "binned": None}]
    >>> report_sample(rows, 2)
    [('a', '2'), ('a', '1')]
    """
    ranked = sorted(
        ((k, row) for k, row in enumerate(rows) if has_heat_map(row)),
        key=lambda item: (
            item[1].get("contested") is None,
            -(item[1].get("contested") or 0),
            item[0],
        ),
    )
    return [(str(row["layer"]), str(row["subject"])) for _, row in ranked[:count]]


def write_report_figures(
    summary: PathLike,
    folder: PathLike,
    *,
    count: int,
    figure_format: str,
    results: PathLike = RESULTS,
) -> list[str]:
    """Copy the report's sample of figures into ``folder`` as ``{layer}-{subject}.{format}``."""
    target = os.fspath(folder)
    os.makedirs(target, exist_ok=True)
    written = []
    for layer, subject in report_sample(read_summary(summary), count):
        (figure,) = STEPS["overlay"].paths(layer, subject, [figure_format], results=results)
        with open(figure, "rb") as handle:
            content = handle.read()
        name = f"{target}/{layer}-{subject}.{figure_format}"
        write_if_changed(name, content)
        written.append(name)
    return written
