"""The ``zooheat`` command line (also ``python -m zooheat``).

Errors in the input, and errors of the file system (a full disk, a read-only folder, a
name too long, a folder where a file was expected), are printed as one line,
``zooheat: error: FILE: REASON``, with exit status 2; the exit status is 0 on success.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from zooheat import __version__
from zooheat.errors import ZooheatError, error_line
from zooheat.settings import ConsensusSettings
from zooheat.style import FIGURE_FORMATS, OverlayStyle, figure_format

__all__ = ["main"]

_DEFAULT = OverlayStyle  # its class attributes are the defaults; no instance, no matplotlib


class _HelpFormatter(argparse.HelpFormatter):
    """Help that ends each option having a default with ``(default: VALUE)``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" in text
            or not action.option_strings
            or any(action.default is value for value in (None, False, True, argparse.SUPPRESS))
        ):
            return text
        return f"{text} (default: %(default)s)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zooheat",
        description="Heat maps of citizen-science image annotations over the images they describe.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zooheat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = functools.partial(sub.add_parser, formatter_class=_HelpFormatter)

    plot = sub.add_parser(
        "plot",
        help="histogram, zoomed array and overlay figure for one image and its marks",
        description=(
            "Bin the centres of the marks in MARKS on the scan grid of IMAGE and draw the heat "
            "map over the image. MARKS is a CSV of x,y[,r] (headerless, as the original MoEDAL "
            "script read) or with a header naming at least x and y; x is the column and y the "
            "row in IMAGE's pixels, origin top-left."
        ),
    )
    plot.add_argument("image", type=Path, metavar="IMAGE", help="subject image (PNG)")
    plot.add_argument("marks", type=Path, metavar="MARKS", help="mark table (CSV)")
    plot.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FIGURE",
        help=f"figure to write; format from the extension: {', '.join(FIGURE_FORMATS)}",
    )
    plot.add_argument(
        "--bin-size",
        type=int,
        default=6,
        metavar="N",
        help="image pixels per histogram bin along each axis; MoEDAL's x6 scans need 6",
    )
    plot.add_argument(
        "--alpha", type=float, default=_DEFAULT.alpha, metavar="A", help="heat layer opacity 0-1"
    )
    plot.add_argument(
        "--cmap", default=_DEFAULT.cmap, metavar="NAME", help="matplotlib colour map name"
    )
    plot.add_argument("--histogram", type=Path, metavar="OUT.npy", help="also save the histogram")
    plot.add_argument("--zoomed", type=Path, metavar="OUT.npy", help="also save the zoomed array")
    plot.add_argument("--title", help="figure title (default: the image's file name)")
    plot.add_argument("--grid", action="store_true", help="draw grid lines at the ticks")
    plot.add_argument(
        "--opaque-zeros",
        action="store_true",
        help="colour empty bins too (the original script's look, which darkens the image)",
    )
    plot.add_argument(
        "--dpi", type=int, default=_DEFAULT.dpi, help="raster resolution, dots per inch"
    )
    plot.add_argument("--usetex", action="store_true", help="typeset text with LaTeX")

    consensus = sub.add_parser(
        "consensus",
        help="consensus objects of one mark table: centre, radius, volunteers, agreement",
        description=(
            "Group the marks in MARKS into consensus objects (README, Consensus) and write one "
            "row per object: x, y, r, marks, volunteers, agreement (volunteers / "
            "classifications), spread and the rows of MARKS that belong to it. Volunteers are "
            "told apart by the table's user column (else classification_id, else each row)."
        ),
    )
    consensus.add_argument("marks", type=Path, metavar="MARKS", help="mark table (CSV)")
    consensus.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.csv")
    consensus.add_argument(
        "--classifications",
        type=int,
        metavar="N",
        help="volunteers who classified the subject, marks or not (default: those who marked)",
    )
    consensus.add_argument(
        "--link",
        type=float,
        default=ConsensusSettings.link,
        metavar="RADII",
        help="largest average distance between an object's marks, in radii",
    )
    consensus.add_argument(
        "--min-volunteers",
        type=int,
        default=ConsensusSettings.min_volunteers,
        metavar="N",
        help="volunteers who must mark an object",
    )
    consensus.add_argument(
        "--min-radius",
        type=float,
        default=ConsensusSettings.min_radius,
        metavar="PX",
        help="size of a mark without a radius, in image pixels (1 scan pixel of MoEDAL's x6 scans)",
    )

    ingest = sub.add_parser(
        "ingest",
        help="classification export -> per-subject mark tables, manifest, rejects",
        description=(
            "Stream a Panoptes classification export into OUTDIR/marks/{layer}/{subject}.csv, "
            "OUTDIR/subjects.tsv, OUTDIR/rejects.csv and OUTDIR/ingest-summary.json. Mark "
            "tables are rewritten only when their bytes change. Settings come from --config "
            "(the workflow's config.yaml: layers and the panoptes section); options override."
        ),
    )
    ingest.add_argument("export", type=Path, metavar="EXPORT", help="classification export CSV")
    ingest.add_argument("-o", "--outdir", type=Path, required=True, metavar="OUTDIR")
    ingest.add_argument("--config", type=Path, metavar="FILE", help="workflow config.yaml")
    ingest.add_argument(
        "--workflow-id",
        type=int,
        metavar="ID",
        help="keep only this workflow's rows (default: the config's, else every workflow)",
    )
    ingest.add_argument(
        "--workflow-version",
        metavar="V",
        help="keep only MAJOR or MAJOR.MINOR (default: the config's, else every version)",
    )
    ingest.add_argument(
        "--layer",
        action="append",
        metavar="NAME=TASK:TOOL",
        help="a layer: its task and its tool's index or label, e.g. blobs=T3:0 or "
        "clusters=T0:Cluster (repeat for more; replaces the config's layers)",
    )
    ingest.add_argument(
        "--filename-key",
        action="append",
        metavar="KEY",
        help="a subject_data key that holds the image file name, e.g. IMG_COLOR; repeat for "
        "more, tried in order (default: the config's filename_keys, else the names projects "
        "use: filename, Filename, image, image_name, name, ...)",
    )
    ingest.add_argument(
        "--duplicates",
        choices=("first", "last", "all"),
        help="a volunteer's repeated classifications of a subject: keep the first, the last "
        "or all (default: the config's, else first)",
    )
    ingest.add_argument(
        "--gold-standard",
        choices=("include", "exclude", "only"),
        help="gold-standard classifications (default: the config's, else include)",
    )
    ingest.add_argument(
        "--subjects",
        type=Path,
        metavar="SUBJECT_EXPORT.csv",
        help="subject export, for image file names (default: the config's subject_export, "
        "else none)",
    )
    ingest.add_argument(
        "--workflows",
        type=Path,
        metavar="WORKFLOWS.csv",
        help="workflow export: tool labels for marks without one, layers checked against its "
        "tasks (default: the config's workflow_export, else none)",
    )
    ingest.add_argument(
        "--workers", type=int, metavar="N", help="parser processes (default: CPUs, at most 4)"
    )
    ingest.add_argument(
        "--only",
        action="append",
        metavar="SUBJECT",
        help="rewrite only these subjects' tables (default: every subject)",
    )
    ingest.add_argument(
        "--exact",
        action="store_true",
        help="read every row the exact (pure Python) way; same outputs, slower (a cross-check)",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress output")

    layers = sub.add_parser(
        "layers",
        help="the drawing tasks and tools an export's marks use, and layers to ask for",
        description=(
            "Read a classification export (and, optionally, the workflow export) and print, "
            "per workflow version, each task's tools with their labels and mark counts, the "
            "tasks that hold answers rather than marks, and a layers: block by tool label to "
            "paste into config/config.yaml."
        ),
    )
    layers.add_argument("export", type=Path, metavar="EXPORT", help="classification export")
    layers.add_argument(
        "--workflows",
        type=Path,
        metavar="WORKFLOWS.csv",
        help="workflow export: task types and tool labels per version (default: none)",
    )
    layers.add_argument(
        "--rows",
        type=int,
        metavar="N",
        help="read only the first N classifications (default: all)",
    )

    export = sub.add_parser(
        "synthetic-export", help="write a synthetic classification export (tests, benchmarks)"
    )
    export.add_argument("output", type=Path, metavar="OUT.csv")
    export.add_argument("--rows", type=int, default=1000, metavar="N", help="rows to write")
    export.add_argument(
        "--subjects", type=int, metavar="N", help="stop after N subjects (default: no limit)"
    )
    export.add_argument(
        "--layout", choices=("modern", "2015"), default="modern", help="the export's columns"
    )
    export.add_argument(
        "--marks", choices=("v1", "v2"), default="v1", help="the front end's mark format"
    )
    export.add_argument("--seed", type=int, default=0, help="random seed")

    example = sub.add_parser(
        "example", help="write a synthetic example project (images, marks, subject table)"
    )
    example.add_argument("outdir", type=Path, metavar="OUTDIR")
    example.add_argument("--subjects", type=int, default=4, metavar="N", help="subjects to make")
    example.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _plot(args: argparse.Namespace) -> None:
    from zooheat.pipeline import SubjectData, overlay_style, step_settings, write_outputs

    style = {
        "cmap": args.cmap,
        "alpha": args.alpha,
        "zeros_transparent": not args.opaque_zeros,
        "grid": args.grid,
        "dpi": args.dpi,
        "usetex": args.usetex,
    }
    # Check the options before any work, so a typo costs nothing.
    overlay_style(style)
    figure_format(args.output)
    if args.bin_size < 1:
        raise ZooheatError(f"--bin-size must be >= 1, got {args.bin_size}")
    config = {"bin_size": args.bin_size, "overlay": style}
    data = SubjectData(
        args.image.stem,
        args.marks.stem,
        image=args.image,
        marks=args.marks,
        settings=step_settings(config),
        title=args.title if args.title is not None else args.image.name,
    )
    targets = {
        "histogram": [args.histogram] if args.histogram else [],
        "zoom": [args.zoomed] if args.zoomed else [],
        "overlay": [args.output],
    }
    for line in write_outputs(data, targets):
        print(line, file=sys.stderr)


def _consensus(args: argparse.Namespace) -> None:
    from zooheat.consensus import consensus_of_marks, format_consensus
    from zooheat.fileio import atomic_write
    from zooheat.marks import read_marks

    try:
        settings = ConsensusSettings(
            link=args.link, min_volunteers=args.min_volunteers, min_radius=args.min_radius
        )
    except ValueError as exc:
        raise ZooheatError(str(exc)) from None
    marks = read_marks(args.marks)
    try:
        result = consensus_of_marks(marks, classifications=args.classifications, settings=settings)
    except ValueError as exc:
        raise ZooheatError(f"{args.marks}: {exc}") from None
    with atomic_write(args.output, "w") as handle:
        handle.write(format_consensus(result))
    print(
        f"{args.marks}: {len(marks)} marks, {len(result)} objects, {result.strays} strays",
        file=sys.stderr,
    )


def _example(args: argparse.Namespace) -> None:
    from zooheat.synthetic import write_example

    if args.subjects < 1:
        raise ZooheatError(f"--subjects must be >= 1, got {args.subjects}")
    table = write_example(args.outdir, args.subjects, seed=args.seed)
    print(f"wrote {args.subjects} synthetic subjects; subject table: {table}", file=sys.stderr)


def _ingest(args: argparse.Namespace) -> None:
    from zooheat.ingest import ingest_export
    from zooheat.panoptes import LayerSpec, ingest_config

    layers: dict = {}
    settings: dict = {}
    if args.config is not None:
        import yaml

        try:
            loaded = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ZooheatError(f"{args.config}: cannot read the config ({exc})") from None
        layers = dict(loaded.get("layers") or {})
        settings = dict(loaded.get("panoptes") or {})
    if args.layer:
        specs = [LayerSpec.parse(text) for text in args.layer]
        layers = {s.name: s.to_dict() for s in specs}
    for key in ("workflow_id", "workflow_version", "duplicates", "gold_standard", "filename_key"):
        if getattr(args, key) is not None:
            settings["filename_keys" if key == "filename_key" else key] = getattr(args, key)
    if not layers:
        raise ZooheatError("no layers: give --layer NAME=TASK:TOOL or --config with 'layers'")
    subject_export = args.subjects or settings.get("subject_export")
    workflow_export = args.workflows or settings.get("workflow_export")
    summary = ingest_export(
        args.export,
        args.outdir,
        ingest_config(layers, settings),
        subject_export=subject_export,
        workflow_export=workflow_export,
        workers=args.workers,
        progress=not args.quiet,
        only_subjects=args.only,
        exact=args.exact,
    )
    print(
        f"{summary.rows_read} rows: {summary.rows_used} used, {summary.rows_filtered} filtered, "
        f"{summary.rows_rejected} rejected; {summary.subjects} subjects; "
        f"{summary.files_written} mark tables written, {summary.files_unchanged} unchanged",
        file=sys.stderr,
    )
    for warning in summary.warnings:
        print(f"zooheat: warning: {warning}", file=sys.stderr)


def _layers(args: argparse.Namespace) -> None:
    from zooheat.limits import open_input
    from zooheat.workflows import describe, read_workflow_export, tools_seen

    workflows = None if args.workflows is None else read_workflow_export(args.workflows)
    what = "a Panoptes classification export CSV"
    with (
        open_input(args.export, what) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle,
    ):
        try:
            seen = tools_seen(csv.DictReader(handle), limit=args.rows)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ZooheatError(f"{args.export}: not a readable CSV export ({exc})") from None
    sys.stdout.write(describe(seen, workflows))


def _synthetic_export(args: argparse.Namespace) -> None:
    from zooheat.synthetic_export import write_synthetic_export

    write_synthetic_export(
        args.output,
        args.rows,
        seed=args.seed,
        layout=args.layout,
        marks=args.marks,
        n_subjects=args.subjects,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    commands = {
        "plot": _plot,
        "consensus": _consensus,
        "example": _example,
        "ingest": _ingest,
        "layers": _layers,
        "synthetic-export": _synthetic_export,
    }
    try:
        commands[args.command](args)
    except (ZooheatError, OSError) as exc:  # the input, or the disk (full, read-only, ...)
        print(f"zooheat: error: {error_line(exc)}", file=sys.stderr)
        return 2
    return 0
