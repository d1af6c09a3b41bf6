"""The compatibility report: run folders (summary.json + junit.xml) read into one matrix of
recipes by Knative versions, written as matrix.json, matrix.md and matrix.html (with plots of
the figures); a report.html per run folder; and the comparison of two runs or matrices.

Only the recorded outcomes are read, never logs. A figure is shown when a run measured it and
as "—" when it did not: nothing is invented.
"""

from __future__ import annotations

import base64
import html
import io
import json
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cookbook14.errors import UsageError
from cookbook14.timestamps import utc_iso

SCHEMA = 1
RECIPES = tuple(f"14.{number}" for number in range(1, 9))
# Nothing failed: every check passed, was an expected failure, or (incomplete) some skipped
# with their reason while the rest passed.
PASSING = ("passed", "xfail", "incomplete")
# A recipe that ran and did not pass: a newly broken one when it passed in the baseline.
BROKEN = ("failed", "blocked", "interrupted")

# The figures the matrix shows per version, each read from the first of its (recipe,
# measurement name) candidates that a run recorded. The recipes' steps and checks name their
# measurements; this is the one place that knows those names.
KEY_FIGURES: dict[str, tuple[tuple[str, str], ...]] = {
    "Serving time to Ready": (("14.2", "time_to_ready"), ("14.2", "time_to_available")),
    "Eventing time to Ready": (
        ("14.5", "time_to_ready"),
        ("14.5", "install to Ready"),
        ("14.5", "time_to_available"),
    ),
    "time to zero": (("14.4", "time_to_zero"),),
    "cold-start median": (
        ("14.4", "cold_start_latency_median"),
        ("14.4", "cold_start_latency"),
    ),
    "first ping event latency": (
        ("14.6", "PingSource Ready to first event"),
        ("14.6", "first_event_latency"),
    ),
}

# "Markedly worse", for durations (unit "s", smaller is better): at least this factor of the
# baseline AND at least this many seconds more, so that jitter on sub-second figures is no alarm.
WORSE_FACTOR = 1.5
WORSE_SECONDS = 2.0

ABSENT = "—"


@dataclass
class Cell:
    """One recipe on one version."""

    state: str  # passed | failed | blocked | xfail | not run
    detail: str = ""  # the failure's first line, the blocker, the xfail reason, why not run
    deviations: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)  # check name -> outcome


@dataclass
class Column:
    """One run: a Knative version as asked for, and what it found."""

    label: str
    run: str
    requested: str
    planned: dict
    found: dict
    exit_status: int | None
    cells: dict[str, Cell]
    measurements: list[dict]
    deviations: list[dict]
    warnings: list[str]

    def figure(self, name: str) -> dict | None:
        for recipe, measurement in KEY_FIGURES[name]:
            for item in self.measurements:
                if item.get("recipe") == recipe and item.get("name") == measurement:
                    return item
        return None


@dataclass
class Matrix:
    titles: dict[str, str]
    columns: list[Column]

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "generated": utc_iso(),
            "recipes": [{"id": recipe, "title": self.titles.get(recipe, "")} for recipe in RECIPES],
            "versions": [
                {
                    "label": column.label,
                    "run": column.run,
                    "requested": column.requested,
                    "planned": column.planned,
                    "found": column.found,
                    "exit_status": column.exit_status,
                    "cells": {recipe: asdict(cell) for recipe, cell in column.cells.items()},
                    "figures": {name: _figure_value(column.figure(name)) for name in KEY_FIGURES},
                    "measurements": column.measurements,
                    "deviations": column.deviations,
                    "warnings": column.warnings,
                }
                for column in self.columns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Matrix:
        titles = {item["id"]: item.get("title", "") for item in data["recipes"]}
        columns = [
            Column(
                label=item["label"],
                run=item.get("run", ""),
                requested=item.get("requested", item["label"]),
                planned=item.get("planned", {}),
                found=item.get("found", {}),
                exit_status=item.get("exit_status"),
                cells={recipe: Cell(**cell) for recipe, cell in item.get("cells", {}).items()},
                measurements=item.get("measurements", []),
                deviations=item.get("deviations", []),
                warnings=item.get("warnings", []),
            )
            for item in data["versions"]
        ]
        return cls(titles, columns)


def _figure_value(item: dict | None) -> dict | None:
    return {"value": item["value"], "unit": item["unit"]} if item else None


# -- reading run folders ------------------------------------------------------------------


def read_run(folder: Path) -> tuple[Column, dict[str, str]]:
    """One run folder as a matrix column, plus its recipes' titles."""
    path = folder / "summary.json"
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{folder} is not a run folder: it has no summary.json") from None
    except ValueError as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None
    junit_failures = _junit_failures(folder / "junit.xml")
    deviations = summary.get("deviations", [])
    cells: dict[str, Cell] = {}
    titles: dict[str, str] = {}
    for recipe in summary.get("recipes", []):
        titles[recipe["id"]] = recipe.get("title", "")
        cells[recipe["id"]] = _cell(recipe, deviations, junit_failures)
    for recipe in RECIPES:
        cells.setdefault(recipe, Cell("not run", "not in this run"))
    knative = summary.get("knative", {})
    requested = knative.get("requested") or knative.get("planned", {}).get("requested", "?")
    return (
        Column(
            label=requested,
            run=folder.name,
            requested=requested,
            planned=knative.get("planned", {}),
            found=summary.get("found", {}),
            exit_status=summary.get("run", {}).get("exit_status"),
            cells=cells,
            measurements=summary.get("measurements", []),
            deviations=deviations,
            warnings=summary.get("warnings", []),
        ),
        titles,
    )


def _junit_failures(path: Path) -> dict[str, str]:
    """Test name -> the first line of its failure or error, from junit.xml (if there is one)."""
    if not path.exists():
        return {}
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError:
        return {}
    failures: dict[str, str] = {}
    for case in root.iter("testcase"):
        for tag in ("failure", "error"):
            found = case.find(tag)
            if found is not None:
                text = found.get("message") or found.text or ""
                failures[case.get("name", "")] = _first_line(text)
    return failures


def _cell(recipe: dict, deviations: list[dict], junit_failures: dict[str, str]) -> Cell:
    outcome = recipe.get("outcome", "not_run")
    checks = recipe.get("checks", [])
    step = recipe.get("step") or {}
    marks = [d["what"] for d in deviations if d.get("recipe") == recipe["id"]]
    check_outcomes = {check["name"]: check["outcome"] for check in checks}
    if outcome == "passed":
        expected = [c for c in checks if c["outcome"] == "xfailed"]
        if expected:
            return Cell("xfail", _first_line(expected[0]["message"]), marks, check_outcomes)
        return Cell("passed", "", marks, check_outcomes)
    if outcome == "failed":
        cause = ""
        if step.get("status") == "failed":
            cause = _first_line(step.get("error", ""))
        failed = [c for c in checks if c["outcome"] in ("failed", "error")]
        if not cause and failed:
            cause = _first_line(failed[0]["message"]) or junit_failures.get(failed[0]["name"], "")
        return Cell("failed", cause or "failed (no message recorded)", marks, check_outcomes)
    if outcome == "blocked":
        blocker = recipe.get("blocked_by") or step.get("blocked_by") or "?"
        return Cell("blocked", f"blocked by {blocker}", marks, check_outcomes)
    reasons = {"not_implemented": "not implemented", "not_run": "not selected"}
    detail = reasons.get(outcome, "")
    skipped = [c for c in checks if c["outcome"] == "skipped"]
    if outcome == "incomplete" and skipped:
        detail = (
            f"{len(skipped)} of {len(checks)} checks skipped: {_first_line(skipped[0]['message'])}"
        )
    if outcome == "skipped" and checks:
        detail = "skipped: " + _first_line(checks[0]["message"])
    state = outcome if outcome in ("interrupted", "incomplete") else "not run"
    return Cell(state, detail, marks, check_outcomes)


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def build_matrix(folders: list[Path]) -> Matrix:
    titles: dict[str, str] = {}
    columns: list[Column] = []
    seen: dict[str, int] = {}
    for folder in folders:
        column, found_titles = read_run(folder)
        titles.update({key: value for key, value in found_titles.items() if value})
        seen[column.label] = seen.get(column.label, 0) + 1
        if seen[column.label] > 1:
            column.label = f"{column.label} #{seen[column.label]}"
        columns.append(column)
    return Matrix(titles, columns)


def load(path: Path) -> Matrix:
    """A run folder or a matrix.json, as a matrix."""
    if path.is_dir():
        if (path / "summary.json").exists():
            return build_matrix([path])
        if (path / "matrix.json").exists():
            path = path / "matrix.json"
        else:
            raise UsageError(f"{path} has neither summary.json (a run) nor matrix.json")
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError(f"it holds a JSON {type(data).__name__}, not an object")
        return Matrix.from_dict(data)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such run folder or matrix.json") from None
    except KeyError as error:
        raise UsageError(f"{path} is not a matrix.json: it has no {error} field") from None
    except (ValueError, TypeError) as error:
        raise UsageError(f"{path} is not a matrix.json: {error}") from None


# -- writing the matrix ---------------------------------------------------------------------

SYMBOLS = {
    "passed": "✅",
    "failed": "❌",
    "blocked": "⛔",
    "xfail": "⚠️",
    "not run": "·",
    "interrupted": "⏹",
    "incomplete": "◐",
}
DEVIATION_MARK = "†"


def cell_text(cell: Cell) -> str:
    text = f"{SYMBOLS.get(cell.state, '')} {cell.state}"
    if cell.state == "blocked":
        text = f"{SYMBOLS['blocked']} {cell.detail}"
    elif cell.detail:
        text += f": {cell.detail}"
    if cell.deviations:
        text += f" {DEVIATION_MARK}"
    return text


def _format_figure(item: dict | None) -> str:
    if item is None:
        return ABSENT
    return f"{round(item['value'], 3):g} {item['unit']}"


def write_matrix(matrix: Matrix, out: Path) -> dict[str, Path]:
    """matrix.json, matrix.md, matrix.html and the figures' plots (PNG) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_figures(matrix)
    figures_dir = out / "figures"
    if plots:
        figures_dir.mkdir(exist_ok=True)
    plot_files: dict[str, str] = {}
    for name, png in plots.items():
        file = figures_dir / (name.replace(" ", "-").replace("/", "-") + ".png")
        file.write_bytes(png)
        plot_files[name] = f"figures/{file.name}"
    paths = {
        "json": out / "matrix.json",
        "md": out / "matrix.md",
        "html": out / "matrix.html",
    }
    paths["json"].write_text(json.dumps(matrix.to_dict(), indent=2) + "\n")
    paths["md"].write_text(matrix_markdown(matrix, plot_files))
    paths["html"].write_text(matrix_html(matrix, plots))
    return paths


def _recipe_label(matrix: Matrix, recipe: str) -> str:
    title = matrix.titles.get(recipe)
    return f"{recipe} {title}" if title else recipe


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def matrix_markdown(matrix: Matrix, plot_files: dict[str, str] | None = None) -> str:
    labels = [column.label for column in matrix.columns]
    lines = [
        "# Knative compatibility of the Kubernetes Cookbook's chapter 14",
        "",
        "| recipe | " + " | ".join(_md(label) for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for recipe in RECIPES:
        cells = [_md(cell_text(column.cells[recipe])) for column in matrix.columns]
        lines.append(f"| {_md(_recipe_label(matrix, recipe))} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{DEVIATION_MARK}: the run deviated from the book for this recipe (listed below).",
        "",
        "## Versions",
        "",
        "| version | run | operator | serving | eventing | kourier | kn | Kubernetes | exit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for column in matrix.columns:
        planned = column.planned
        lines.append(
            "| "
            + " | ".join(
                _md(str(value))
                for value in (
                    column.label,
                    column.run,
                    planned.get("operator", "?"),
                    planned.get("serving", "?"),
                    planned.get("eventing", "?"),
                    planned.get("kourier", "?"),
                    planned.get("kn", "?"),
                    column.found.get("kubernetes", "?"),
                    column.exit_status,
                )
            )
            + " |"
        )
    lines += [
        "",
        "## Figures",
        "",
        "| figure | " + " | ".join(_md(label) for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name in KEY_FIGURES:
        values = [_format_figure(column.figure(name)) for column in matrix.columns]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    for name, file in (plot_files or {}).items():
        lines += ["", f"![{name}]({file})"]
    lines += ["", "## Deviations and upstream warnings", ""]
    for column in matrix.columns:
        for deviation in column.deviations:
            lines.append(
                f"- {_md(column.label)}, {deviation.get('recipe', '')}: "
                f"{_md(deviation.get('what', ''))} ({_md(deviation.get('why', ''))})"
            )
        for warning in column.warnings:
            lines.append(f"- {_md(column.label)}, warning: {_md(warning)}")
    return "\n".join(lines) + "\n"


def plot_figures(matrix: Matrix) -> dict[str, bytes]:
    """One bar chart (PNG) per key figure that at least one version measured."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    plots: dict[str, bytes] = {}
    for name in KEY_FIGURES:
        measured = [
            (column.label, item)
            for column in matrix.columns
            for item in [column.figure(name)]
            if item is not None
        ]
        if not measured:
            continue
        figure, axes = pyplot.subplots(figsize=(5, 3), dpi=100)
        axes.bar([label for label, _ in measured], [item["value"] for _, item in measured])
        axes.set_title(name)
        axes.set_xlabel("Knative version")
        axes.set_ylabel(measured[0][1]["unit"])
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        pyplot.close(figure)
        plots[name] = buffer.getvalue()
    return plots


STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.passed { background: #e6f4e6; } td.failed { background: #fbe3e3; }
td.blocked { background: #fdf0d8; } td.xfail { background: #fff8d0; }
td.not-run, td.interrupted, td.incomplete { background: #f2f2f2; color: #555; }
"""


def _page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table; the cells are already escaped HTML."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(row) + "</tr>\n" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def matrix_html(matrix: Matrix, plots: dict[str, bytes]) -> str:
    e = html.escape
    header = ["recipe", *(e(column.label) for column in matrix.columns)]
    rows = []
    for recipe in RECIPES:
        row = [f"<th>{e(_recipe_label(matrix, recipe))}</th>"]
        for column in matrix.columns:
            cell = column.cells[recipe]
            row.append(f'<td class="{cell.state.replace(" ", "-")}">{e(cell_text(cell))}</td>')
        rows.append(row)
    versions = [
        [
            f"<td>{e(str(value))}</td>"
            for value in (
                column.label,
                column.run,
                column.planned.get("operator", "?"),
                column.planned.get("serving", "?"),
                column.planned.get("eventing", "?"),
                column.planned.get("kourier", "?"),
                column.planned.get("kn", "?"),
                column.found.get("kubernetes", "?"),
                column.exit_status,
            )
        ]
        for column in matrix.columns
    ]
    figures = [
        [f"<th>{e(name)}</th>"]
        + [f"<td>{e(_format_figure(column.figure(name)))}</td>" for column in matrix.columns]
        for name in KEY_FIGURES
    ]
    body = [
        "<h1>Knative compatibility of the Kubernetes Cookbook's chapter 14</h1>",
        _table(header, rows),
        f"<p>{DEVIATION_MARK}: the run deviated from the book for this recipe (listed below).</p>",
        "<h2>Versions</h2>",
        _table(
            [
                "version",
                "run",
                "operator",
                "serving",
                "eventing",
                "kourier",
                "kn",
                "Kubernetes",
                "exit",
            ],
            versions,
        ),
        "<h2>Figures</h2>",
        _table(["figure", *(e(column.label) for column in matrix.columns)], figures),
    ]
    for name, png in plots.items():
        encoded = base64.b64encode(png).decode()
        body.append(
            f'<figure><img alt="{e(name)} per Knative version" '
            f'src="data:image/png;base64,{encoded}"><figcaption>{e(name)}</figcaption></figure>'
        )
    body.append("<h2>Deviations and upstream warnings</h2>\n<ul>")
    for column in matrix.columns:
        for deviation in column.deviations:
            body.append(
                f"<li>{e(column.label)}, {e(deviation.get('recipe', ''))}: "
                f"{e(deviation.get('what', ''))} ({e(deviation.get('why', ''))})</li>"
            )
        for warning in column.warnings:
            body.append(f"<li>{e(column.label)}, warning: {e(warning)}</li>")
    body.append("</ul>")
    return _page("Knative compatibility matrix", body)


# -- one run's report.html -------------------------------------------------------------------


def write_run_report(folder: Path) -> Path:
    """report.html in a run folder: per recipe its checks, figures, deviations, warnings and
    links to its evidence files (relative links, so the folder can be moved or uploaded)."""
    summary = json.loads((folder / "summary.json").read_text())
    column, _ = read_run(folder)
    e = html.escape
    requested = column.requested
    body = [f"<h1>cookbook14 run {e(column.run)}: Knative {e(requested)}</h1>"]
    run_files = [
        name
        for name in ("summary.json", "junit.xml", "harness.log", "plan.json")
        if (folder / name).is_file()
    ]
    links = [f'<a href="{e(name)}">{e(name)}</a>' for name in run_files]
    logs = folder / "cluster-logs"
    if logs.is_dir():
        links += [
            f'<a href="{e(path.relative_to(folder).as_posix())}">'
            f"{e(path.relative_to(folder).as_posix())}</a>"
            for path in sorted(logs.rglob("*"))
            if path.is_file()
        ]
    body.append("<p>Files: " + ", ".join(links) + "</p>")
    planned = column.planned
    body.append(
        "<p>"
        + e(
            ", ".join(
                f"{name} {planned.get(name, '?')}"
                for name in ("operator", "serving", "eventing", "kourier", "kn")
            )
        )
        + f"; found: {e(json.dumps(column.found))}; exit status {e(str(column.exit_status))}</p>"
    )
    for recipe in summary.get("recipes", []):
        recipe_id = recipe["id"]
        cell = column.cells[recipe_id]
        body.append(f"<h2>{e(recipe_id)} {e(recipe.get('title', ''))}: {e(cell_text(cell))}</h2>")
        step = recipe.get("step") or {}
        if step:
            line = f"Step: {step.get('status', '?')} in {step.get('duration_s', 0)} s"
            if step.get("error"):
                line += f": {_first_line(step['error'])}"
            body.append(f"<p>{e(line)}</p>")
        checks = recipe.get("checks", [])
        if checks:
            body.append(
                _table(
                    ["check", "outcome", "seconds", "message"],
                    [
                        [
                            f"<td>{e(check['name'])}</td>",
                            f"<td>{e(check['outcome'])}</td>",
                            f"<td>{e(str(check.get('duration_s', '')))}</td>",
                            f"<td>{e(_first_line(check.get('message', '')))}</td>",
                        ]
                        for check in checks
                    ],
                )
            )
        figures = [m for m in column.measurements if m.get("recipe") == recipe_id]
        if figures:
            body.append(
                "<p>Figures: "
                + e("; ".join(f"{m['name']} {round(m['value'], 3):g} {m['unit']}" for m in figures))
                + "</p>"
            )
        deviations = [d for d in column.deviations if d.get("recipe") in (recipe_id, "14.*")]
        warnings = [w for w in column.warnings if w.startswith(f"{recipe_id}:")]
        if deviations or warnings:
            items = [
                f"<li>deviation: {e(d['what'])} ({e(d.get('why', ''))})</li>" for d in deviations
            ]
            items += [f"<li>upstream warning: {e(w)}</li>" for w in warnings]
            body.append("<ul>" + "".join(items) + "</ul>")
        evidence = sorted(
            path
            for path in (folder / "evidence").glob(f"{recipe_id}*.txt")
            if path.name == f"{recipe_id}.txt" or path.name.startswith(f"{recipe_id}-")
        )
        if evidence:
            body.append(
                "<p>Evidence: "
                + ", ".join(
                    f'<a href="evidence/{e(path.name)}">{e(path.name)}</a>' for path in evidence
                )
                + "</p>"
            )
    path = folder / "report.html"
    path.write_text(_page(f"cookbook14 run {column.run}", body))
    return path


# -- comparing two runs or matrices -------------------------------------------------------------


@dataclass
class Comparison:
    newly_broken: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    worse: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines: list[str] = []
        for title, items in (
            ("Newly broken", self.newly_broken),
            ("Fixed", self.fixed),
            (
                f"Figures markedly worse (at least {WORSE_FACTOR:g}x the baseline and "
                f"{WORSE_SECONDS:g} s more)",
                self.worse,
            ),
            ("Not compared", self.not_compared),
        ):
            lines.append(f"{title}: {len(items) if items else 'none'}")
            lines += [f"  - {item}" for item in items]
        return "\n".join(lines)


def _pairs(baseline: Matrix, new: Matrix) -> list[tuple[Column, Column]]:
    """Columns compared: the same label in both; two single runs are compared whatever
    their labels (a run of 1.14 against last week's run of 1.14.3)."""
    if len(baseline.columns) == 1 and len(new.columns) == 1:
        return [(baseline.columns[0], new.columns[0])]
    by_label = {column.label: column for column in baseline.columns}
    return [(by_label[column.label], column) for column in new.columns if column.label in by_label]


def compare(baseline: Matrix, new: Matrix) -> Comparison:
    result = Comparison()
    pairs = _pairs(baseline, new)
    paired = {new_column.label for _, new_column in pairs}
    result.not_compared += [
        f"{column.label}: not in the baseline"
        for column in new.columns
        if column.label not in paired
    ]
    compared = {old.label for old, _ in pairs}
    result.not_compared += [
        f"{column.label}: in the baseline, not in the new run (did it write no report?)"
        for column in baseline.columns
        if column.label not in compared
    ]
    for old, now in pairs:
        label = now.label if old.label == now.label else f"{old.label} -> {now.label}"
        for recipe in RECIPES:
            before, after = old.cells[recipe], now.cells[recipe]
            if before.state in PASSING and after.state in BROKEN:
                result.newly_broken.append(f"{label}: {recipe} {cell_text(after)}")
            elif before.state in BROKEN and after.state in PASSING:
                result.fixed.append(f"{label}: {recipe} now {after.state} (was {before.state})")
            elif before.state in PASSING and after.state not in PASSING:
                result.not_compared.append(f"{label}: {recipe} {after.detail or after.state}")
            for check, outcome in after.checks.items():
                if before.checks.get(check) == "passed" and outcome in ("failed", "error"):
                    result.newly_broken.append(f"{label}: {recipe} check {check} {outcome}")
        for name in KEY_FIGURES:
            was, now_item = old.figure(name), now.figure(name)
            if not was or not now_item or was["unit"] != "s" or now_item["unit"] != "s":
                continue
            if (
                now_item["value"] >= was["value"] * WORSE_FACTOR
                and now_item["value"] - was["value"] >= WORSE_SECONDS
            ):
                result.worse.append(
                    f"{label}: {name} {now_item['value']:g} s (baseline {was['value']:g} s)"
                )
    return result
