"""The per-subject chain, defined once: each step's inputs, output path and function.

For one subject and one layer, in order:

=========  ==============================  ==========================================
step       reads                           writes (under ``results/``)
=========  ==============================  ==========================================
histogram  image size, marks               ``histogram/{layer}/{subject}.npy``
zoom       histogram, image size           ``zoom/{layer}/{subject}.npy``
consensus  marks, classifications          ``consensus/{layer}/{subject}.csv``
density    histogram (classifications)     ``density/{layer}/{subject}.npy``
overlay    image, zoom or density,         ``figures/{layer}/{subject}.{format}``
           (consensus)
thumbnail  image, zoom or density          ``thumbnails/{layer}/{subject}.webp``
=========  ==============================  ==========================================

(In parentheses: read only when the settings ask for it.)

Everything that runs the chain takes it from :data:`STEPS`: the workflow's per-subject
rules (their outputs, inputs and settings, through ``rules/common.smk``), ``rule all`` (every
step's outputs), the batch job (:mod:`zooheat.batch`: the whole chain for many subjects in one
process), the summary, and ``zooheat plot``. Adding a step is: a function that computes its
product, its :class:`Step` entry here, and a rule that uses the entry's path (README, *Adding
a step*).

A step's product is computed from a :class:`SubjectData`, which loads each of the subject's
inputs once, when first asked for, and hands over an earlier step's product either from
memory (the chain in one process) or from that step's file (one job per step): the same
function makes the same bytes either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zooheat.arrays import array_bytes, load_array
from zooheat.consensus import (
    Consensus,
    ConsensusSettings,
    consensus_of_marks,
    format_consensus,
    read_consensus,
    subject_agreement,
    volunteers_of,
)
from zooheat.errors import ZooheatError
from zooheat.fileio import write_if_changed
from zooheat.histogram import histogram_of_marks, zoom_to_image
from zooheat.images import image_size, read_pixels, unit_interval
from zooheat.limits import DEFAULT_LIMITS, Limits
from zooheat.marks import Marks, read_marks
from zooheat.panoptes import unit_subject
from zooheat.style import OverlayStyle, figure_format

__all__ = [
    "FILE_SOURCES",
    "RESULTS",
    "SOURCES",
    "STEPS",
    "SUBJECT_MARK",
    "Step",
    "StepResult",
    "SubjectData",
    "chain_outputs",
    "fact_names",
    "figure_title",
    "output_halves",
    "overlay_style",
    "render_figure",
    "run_chain",
    "run_step",
    "step_settings",
    "steps_without_image",
    "subject_facts",
    "write_outputs",
]

PathLike = str | os.PathLike[str]
Settings = Mapping[str, Any]

#: The folder every step's outputs go under (the workflow's ``results/``).
RESULTS = "results"
#: What a step may read of the subject itself: its image and its layer's mark table (files),
#: and how many volunteers classified it (a number: the manifest's or the subject table's).
SOURCES = ("image", "marks", "classifications")
#: The sources that are files (a rule's inputs); the others come as parameters.
FILE_SOURCES = ("image", "marks")


@dataclass(frozen=True)
class StepResult:
    """What a step computed for one subject and layer.

    Attributes
    ----------
    value : object
        The product later steps use (what the step's file holds), or None.
    warnings : tuple of str
        Things the user should look at (marks outside the image, ...).
    """

    value: Any
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step of the per-subject chain.

    Attributes
    ----------
    name : str
        The step's (and its rule's) name.
    output : str
        Output path pattern under :data:`RESULTS`, with ``{layer}`` and ``{subject}`` (and
        ``{format}`` for a step written in several formats).
    inputs : tuple of str, or callable
        What the step reads: :data:`SOURCES` and earlier steps' names; or
        ``inputs(settings)`` when that depends on the step's settings. The files among them
        are its rule's input.
    settings : callable
        ``settings(config)``: the values of the workflow config the step depends on (JSON);
        a change in them remakes exactly this step's outputs.
    compute : callable
        ``compute(data, settings) -> StepResult``.
    encode : callable
        ``encode(result, data, settings, format) -> bytes``: one output file's bytes.
    decode : callable, optional
        ``decode(path)``: the product back from the step's file, for later steps run as
        separate jobs.
    formats : callable, optional
        ``formats(config)``: the formats to write, when ``output`` has ``{format}``.
    sparse : bool
        Write the file sparse (zero blocks as holes): for mostly-zero arrays.
    facts : tuple of str
        The numbers :attr:`measure` gives, in the order of the summary's columns.
    measure : callable, optional
        ``measure(data) -> dict``: those numbers, from the step's product (computed, or
        read back from its file: the same numbers either way).
    pixels : bool
        The step reads the image's pixels, not only its size. Steps computed in one process
        with it then take the size from the decoded image instead of reading its header.
    """

    name: str
    output: str
    inputs: tuple[str, ...] | Callable[[Settings], tuple[str, ...]]
    settings: Callable[[Settings], dict[str, Any]]
    compute: Callable[[SubjectData, Settings], StepResult]
    encode: Callable[[StepResult, SubjectData, Settings, str], bytes]
    decode: Callable[[PathLike], Any] | None = None
    formats: Callable[[Settings], tuple[str, ...]] | None = None
    sparse: bool = False
    facts: tuple[str, ...] = ()
    measure: Callable[[SubjectData], dict[str, Any]] | None = None
    pixels: bool = False

    def reads(self, settings: Settings) -> tuple[str, ...]:
        """Return what the step reads with these settings (sources and earlier steps)."""
        return self.inputs(settings) if callable(self.inputs) else self.inputs

    def pattern(self, results: PathLike = RESULTS) -> str:
        """Return the output path pattern under ``results``."""
        return f"{Path(results).as_posix()}/{self.output}"

    def paths(
        self,
        layer: str,
        subject: str,
        formats: Sequence[str] = (),
        results: PathLike = RESULTS,
    ) -> list[str]:
        """Return the output paths of one subject and layer (one per format, if it has any)."""
        pattern = self.pattern(results)
        if self.formats is None:
            return [pattern.format(layer=layer, subject=subject)]
        return [pattern.format(layer=layer, subject=subject, format=f) for f in formats]

    def output_formats(self, config: Settings) -> tuple[str, ...]:
        """Return the formats the config asks this step for (``()`` for a single file)."""
        return () if self.formats is None else tuple(self.formats(config))


def figure_title(subject: str, layer: str) -> str:
    """Return the title of a subject's figure.

    Examples
    --------
    >>> figure_title("15000000", "blobs"), figure_title("15000000_f1", "blobs")
    ('15000000 · blobs', '15000000 frame 1 · blobs')
    """
    number, frame = unit_subject(subject)
    return f"{number} frame {frame} · {layer}" if frame else f"{subject} · {layer}"


class SubjectData:
    """One subject and layer: its inputs and products, each loaded or computed once when asked.

    Parameters
    ----------
    subject, layer : str
        Which subject and layer.
    image : path-like, optional
        The subject image.
    marks : path-like, optional
        The layer's mark table.
    classifications : int, optional
        Volunteers who classified the subject, marks or not (None: unknown; the consensus
        then counts those who marked).
    settings : mapping
        Each step's settings by step name (those of the steps that may be computed here).
    files : mapping, optional
        Earlier steps' output files by step name: their products are read from these
        instead of computed.
    title : str, optional
        The figure's title (default :func:`figure_title`).
    limits : Limits
        The largest image and mark table accepted (:mod:`zooheat.limits`).
    """

    def __init__(
        self,
        subject: str,
        layer: str,
        *,
        image: PathLike | None = None,
        marks: PathLike | None = None,
        classifications: int | None = None,
        settings: Mapping[str, Settings],
        files: Mapping[str, PathLike] | None = None,
        title: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.subject = subject
        self.limits = limits
        self.layer = layer
        self.title = figure_title(subject, layer) if title is None else title
        self.image_path = image
        self.marks_path = marks
        self.classifications = classifications
        self.settings = settings
        self.files = dict(files or {})
        self._results: dict[str, StepResult] = {}
        self._blends: dict[tuple[Any, ...], Any] = {}
        self._facts: dict[str, dict[str, Any]] = {}

    def _source(self, path: PathLike | None, what: str) -> PathLike:
        if path is None:
            raise ZooheatError(f"subject {self.subject}, layer {self.layer}: no {what} given")
        return path

    @functools.cached_property
    def raw_pixels(self) -> np.ndarray:
        """The image's pixels as the file holds them (:func:`zooheat.images.read_pixels`)."""
        return read_pixels(self._source(self.image_path, "image"), limits=self.limits)

    @functools.cached_property
    def pixels(self) -> np.ndarray:
        """The image's pixels as float32 in ``[0, 1]`` (:func:`zooheat.images.read_image`)."""
        return unit_interval(self.raw_pixels)

    @functools.cached_property
    def image_size(self) -> tuple[int, int]:
        """``(rows, cols)`` of the image (only its header is read, unless already decoded)."""
        if "raw_pixels" in self.__dict__:
            return self.raw_pixels.shape[:2]
        return image_size(self._source(self.image_path, "image"), limits=self.limits)

    @functools.cached_property
    def marks(self) -> Marks:
        """The layer's mark table."""
        return read_marks(self._source(self.marks_path, "mark table"), limits=self.limits)

    def blended(self, heat: Callable[[], np.ndarray], look: Settings) -> Any:
        """Return the heat blended over the image (:func:`zooheat.quicklook.blend_heat`).

        Blended once per look (colour map, opacity, zeros) and heat (``look["show"]``): the
        quick look and the thumbnail share it.
        """
        key = tuple(sorted((k, str(v)) for k, v in look.items()))
        if key not in self._blends:
            from zooheat.quicklook import blend_heat

            self._blends[key] = blend_heat(
                self.raw_pixels,
                heat(),
                cmap=look["cmap"],
                alpha=look["alpha"],
                zeros_transparent=look["zeros_transparent"],
            )
        return self._blends[key]

    def result(self, name: str) -> StepResult:
        """Return step ``name``'s result, computed here (once) from this subject's data."""
        if name not in self._results:
            step = STEPS[name]
            with _about(self.describe(step)):
                self._results[name] = step.compute(self, self.settings[name])
        return self._results[name]

    def product(self, name: str) -> Any:
        """Return step ``name``'s product: from its file if one was given, else computed."""
        if name in self.files:
            if name not in self._results:
                decode = STEPS[name].decode
                assert decode is not None, f"step {name} has no decoder"
                self._results[name] = StepResult(decode(self.files[name]))
            return self._results[name].value
        return self.result(name).value

    def facts(self, name: str) -> dict[str, Any]:
        """Return the numbers step ``name`` reports for this subject (none if it has none).

        Measured once: the log line and the batch's manifest both ask.
        """
        if name not in self._facts:
            measure = STEPS[name].measure
            if measure is None:
                return {}
            with _about(self.describe(STEPS[name])):
                self._facts[name] = measure(self)
        return dict(self._facts[name])

    def describe(self, step: Step) -> str:
        """Name the files a step reads, for messages."""
        names = []
        for source in step.reads(self.settings.get(step.name, {})):
            if source == "image":
                names.append(str(self.image_path))
            elif source == "marks":
                names.append(str(self.marks_path))
            elif source in STEPS:
                names.append(str(self.files.get(source, f"{source} of {self.subject}")))
        return ", ".join(names)


@contextlib.contextmanager
def _about(source: str) -> Iterator[None]:
    """Report the library's ValueError or TypeError as a ZooheatError naming the input."""
    try:
        yield
    except ZooheatError:
        raise  # already names its file (MarksError is a ValueError too)
    except (ValueError, TypeError) as exc:
        raise ZooheatError(f"{source}: {exc}") from None


# --------------------------------------------------------------------------- the steps


def _bin_size(config: Settings) -> dict[str, Any]:
    return {"bin_size": config["bin_size"]}


def _histogram(data: SubjectData, settings: Settings) -> StepResult:
    marks = data.marks
    rows, cols = data.image_size
    histogram = histogram_of_marks(marks.x, marks.y, (rows, cols), settings["bin_size"])
    warnings = ()
    if histogram.outside:
        warnings = (
            f"{histogram.outside} of {len(marks)} marks lie outside the {rows}x{cols} image "
            "and were not binned",
        )
    return StepResult(histogram.counts, warnings)


def _histogram_facts(data: SubjectData) -> dict[str, Any]:
    counts = data.product("histogram")
    marks = data.marks
    if np.isnan(marks.x).any() or np.isnan(marks.y).any():
        # a line across the image counts in every bin it crosses: the marks binned are
        # told by the image's size (its header), not by the sum of the counts
        bin_size = data.settings["histogram"]["bin_size"]
        binned = histogram_of_marks(marks.x, marks.y, data.image_size, bin_size).binned
    else:
        binned = int(counts.sum())
    return {
        "marks": len(data.marks),
        "binned": binned,
        "outside": len(data.marks) - binned,
        "max": int(counts.max(initial=0)),
    }


def _zoom(data: SubjectData, settings: Settings) -> StepResult:
    zoomed = zoom_to_image(data.product("histogram"), data.image_size, settings["bin_size"])
    return StepResult(zoomed)


def _npy(result: StepResult, data: SubjectData, settings: Settings, fmt: str) -> bytes:
    return array_bytes(result.value)


def _consensus_settings(config: Settings) -> dict[str, Any]:
    # a mark without a size is as big as one scan pixel
    return {"consensus": dict(config.get("consensus") or {}), "min_radius": config["bin_size"]}


def _consensus(data: SubjectData, settings: Settings) -> StepResult:
    method = ConsensusSettings(**settings["consensus"], min_radius=settings["min_radius"])
    if len(data.marks) > data.limits.consensus_marks:
        # clustering compares every pair of marks: memory and time grow as marks squared
        raise ZooheatError(
            f"{data.marks_path}: {len(data.marks):,} marks, more than the "
            f"{data.limits.consensus_marks:,} the consensus clusters at once (config "
            "limits.consensus_marks; about 0.7 GB of memory at 5,000, four times that at twice)"
        )
    classifications, warnings = data.classifications, ()
    marked = len(set(volunteers_of(data.marks)))
    if classifications is not None and classifications < marked:
        warnings = (
            f"{classifications} classifications given, but {marked} distinct volunteers "
            f"marked in {data.marks_path}: agreement is counted out of {marked}",
        )
        classifications = marked
    found = consensus_of_marks(data.marks, classifications=classifications, settings=method)
    return StepResult(found, warnings)


def _consensus_csv(result: StepResult, data: SubjectData, settings: Settings, fmt: str) -> bytes:
    return format_consensus(result.value).encode()


def _consensus_facts(data: SubjectData) -> dict[str, Any]:
    return subject_agreement(data.product("consensus"), len(data.marks))


def _density_settings(config: Settings) -> dict[str, Any]:
    density = config.get("density") or {}
    return {
        "sigma": float(density.get("sigma", 1.0)),
        "per_classification": bool(density.get("per_classification", False)),
    }


def _density_inputs(settings: Settings) -> tuple[str, ...]:
    return ("histogram", "classifications") if settings["per_classification"] else ("histogram",)


def _density(data: SubjectData, settings: Settings) -> StepResult:
    from scipy.ndimage import gaussian_filter

    if settings["sigma"] < 0:
        raise ValueError(f"density sigma must be >= 0 scan pixels, got {settings['sigma']}")
    counts = np.asarray(data.product("histogram"), dtype=np.float32)
    smooth = gaussian_filter(counts, sigma=settings["sigma"], mode="constant")
    if settings["per_classification"]:
        if not data.classifications:
            raise ValueError(
                "density per_classification needs the subject's number of classifications "
                "(from a Panoptes export, or a 'classifications' column in the subject table)"
            )
        smooth = smooth / np.float32(data.classifications)
    return StepResult(np.ascontiguousarray(smooth, dtype=np.float32))


def _overlay_settings(config: Settings) -> dict[str, Any]:
    # The look of the figure and what it shows; which formats are written is not a setting of
    # each file.
    overlay = dict(config["overlay"])
    show = overlay.get("show", "counts")
    label = None
    if show == "density":
        label = "smoothed marks per bin"
        if _density_settings(config)["per_classification"]:
            label += " and classification"
    return {
        "style": {k: v for k, v in overlay.items() if k not in ("formats", "show", "consensus")},
        "show": show,
        "consensus": bool(overlay.get("consensus", False)),
        "bin_size": config["bin_size"],
        "label": label,
    }


def _overlay_inputs(settings: Settings) -> tuple[str, ...]:
    heat = "density" if settings["show"] == "density" else "zoom"
    return ("image", heat, "consensus") if settings["consensus"] else ("image", heat)


def _overlay_formats(config: Settings) -> tuple[str, ...]:
    return tuple(config["overlay"]["formats"])


def _overlay(data: SubjectData, settings: Settings) -> StepResult:
    return StepResult(None)  # drawn when encoded (once per format for the overlay)


def _heat(data: SubjectData, settings: Settings) -> np.ndarray:
    """Return what the heat layer shows on the image grid: counts, or the smoothed map."""
    if settings["show"] == "density":
        return zoom_to_image(data.product("density"), data.image_size, settings["bin_size"])
    if settings["show"] == "counts":
        return data.product("zoom")
    raise ValueError(f"overlay show must be 'counts' or 'density', got {settings['show']!r}")


def _figure(result: StepResult, data: SubjectData, settings: Settings, fmt: str) -> bytes:
    style = overlay_style(settings["style"])
    if settings.get("label"):
        style = dataclasses.replace(style, colorbar_label=settings["label"])
    objects = data.product("consensus") if settings["consensus"] else None
    if fmt == "png" and style.renderer == "quicklook":
        from zooheat.quicklook import compose, png_bytes

        circles = None if objects is None else objects.circles
        look = {
            "show": settings["show"],
            "cmap": style.cmap,
            "alpha": style.alpha,
            "zeros_transparent": style.zeros_transparent,
        }
        blended = data.blended(lambda: _heat(data, settings), look)
        return png_bytes(compose(blended, cmap=style.cmap, caption=data.title, circles=circles))
    return render_figure(
        data.raw_pixels, _heat(data, settings), fmt, title=data.title, style=style, objects=objects
    )


def _thumbnail_settings(config: Settings) -> dict[str, Any]:
    overlay = config["overlay"]
    return {
        "look": {
            "cmap": overlay.get("cmap", OverlayStyle.cmap),
            "alpha": overlay.get("alpha", OverlayStyle.alpha),
            "zeros_transparent": overlay.get("zeros_transparent", OverlayStyle.zeros_transparent),
        },
        "show": overlay.get("show", "counts"),
        "bin_size": config["bin_size"],
        "size": (config.get("gallery") or {}).get("thumbnail", 160),
    }


def _thumbnail_inputs(settings: Settings) -> tuple[str, ...]:
    return ("image", "density" if settings["show"] == "density" else "zoom")


def _thumbnail(result: StepResult, data: SubjectData, settings: Settings, fmt: str) -> bytes:
    from zooheat.quicklook import thumbnail

    look = {"show": settings["show"], **settings["look"]}
    blended = data.blended(lambda: _heat(data, settings), look)
    return thumbnail(blended.picture, settings["size"])


def overlay_style(style: Settings) -> OverlayStyle:
    """Check overlay settings (the ``overlay`` config keys but ``formats``); return a style."""
    with _about("overlay settings"):
        return OverlayStyle(**style)


def render_figure(
    pixels: np.ndarray,
    heat: np.ndarray,
    fmt: str,
    *,
    title: str | None,
    style: OverlayStyle,
    objects: Consensus | None = None,
) -> bytes:
    """Render ``heat`` (counts or a density) over ``pixels`` as the bytes of a ``fmt`` file.

    ``pixels`` as :func:`zooheat.images.read_pixels` or :func:`~zooheat.images.read_image`
    gives them. PNGs use ``style.renderer``; PDF and SVG always come from matplotlib.
    ``objects``, when given, are drawn as circles with their centres.

    Raises
    ------
    ValueError
        The arrays do not fit each other.
    """
    circles = None if objects is None else objects.circles
    if fmt == "png" and style.renderer == "quicklook":
        from zooheat.quicklook import quicklook, quicklook_png

        return quicklook_png(
            quicklook(
                pixels,
                heat,
                cmap=style.cmap,
                alpha=style.alpha,
                zeros_transparent=style.zeros_transparent,
                caption=title or "",
                circles=circles,
            )
        )
    # matplotlib is imported here so that the histogram and zoom steps do not pay for it
    from zooheat.render import figure_bytes, overlay_figure

    figure = overlay_figure(unit_interval(pixels), heat, title=title, style=style, circles=circles)
    return figure_bytes(figure, fmt)


def _array_step(**fields: Any) -> Step:
    """Make a step whose product is an array, saved as a sparse ``.npy`` and read back."""
    return Step(encode=_npy, decode=load_array, sparse=True, **fields)


#: The chain, in order: every step once.
STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        _array_step(
            name="histogram",
            output="histogram/{layer}/{subject}.npy",
            inputs=("image", "marks"),
            settings=_bin_size,
            compute=_histogram,
            facts=("marks", "binned", "outside", "max"),
            measure=_histogram_facts,
        ),
        _array_step(
            name="zoom",
            output="zoom/{layer}/{subject}.npy",
            inputs=("histogram", "image"),
            settings=_bin_size,
            compute=_zoom,
        ),
        Step(
            name="consensus",
            output="consensus/{layer}/{subject}.csv",
            inputs=("marks", "classifications"),
            settings=_consensus_settings,
            compute=_consensus,
            encode=_consensus_csv,
            decode=read_consensus,
            facts=("objects", "mean_agreement", "strays", "contested"),
            measure=_consensus_facts,
        ),
        _array_step(
            name="density",
            output="density/{layer}/{subject}.npy",
            inputs=_density_inputs,
            settings=_density_settings,
            compute=_density,
        ),
        Step(
            name="overlay",
            output="figures/{layer}/{subject}.{format}",
            inputs=_overlay_inputs,
            settings=_overlay_settings,
            compute=_overlay,
            encode=_figure,
            formats=_overlay_formats,
            pixels=True,
        ),
        Step(
            name="thumbnail",
            output="thumbnails/{layer}/{subject}.webp",
            inputs=_thumbnail_inputs,
            settings=_thumbnail_settings,
            compute=_overlay,
            encode=_thumbnail,
            pixels=True,
        ),
    )
}


def step_settings(config: Settings) -> dict[str, dict[str, Any]]:
    """Return every step's settings from a workflow config, by step name."""
    return {name: step.settings(config) for name, step in STEPS.items()}


def steps_without_image(settings: Mapping[str, Settings]) -> tuple[str, ...]:
    """Return the steps that read no image, not even through an earlier step's product.

    A subject whose image is missing still gets these (the consensus, with the default
    steps), and its summary row their facts; the others (heat map, figures) need the image.

    Examples
    --------
    >>> steps_without_image(step_settings({"bin_size": 6, "overlay": {"formats": ["png"]}}))
    ('consensus',)
    """
    free: list[str] = []
    for name, step in STEPS.items():
        reads = step.reads(settings[name])
        if "image" not in reads and all(r in free for r in reads if r in STEPS):
            free.append(name)
    return tuple(free)


def subject_facts(data: SubjectData, steps: Sequence[str]) -> dict[str, Any]:
    """Return the facts of ``steps`` for one subject, and always its number of marks.

    The marks are counted from the mark table itself, so that a subject without an image
    (no histogram step) still has them; its heat map's facts are left out (empty cells).
    """
    facts: dict[str, Any] = {"marks": len(data.marks)}
    for name in steps:
        facts |= data.facts(name)
    return facts


def fact_names() -> list[str]:
    """Return the names of every step's facts, in chain order (the summary's columns)."""
    return [name for step in STEPS.values() for name in step.facts]


def _format_of(step: Step, path: PathLike) -> str:
    # A step written in several formats writes figures (figure_format checks the extension).
    return Path(path).suffix.lstrip(".") if step.formats is None else figure_format(path)


def _log_line(
    step: Step, data: SubjectData, result: StepResult, written: Sequence[PathLike]
) -> str:
    line = f"{step.name} {data.subject} ({data.layer})"
    if written:
        line += ": " + ", ".join(map(str, written))
    facts = data.facts(step.name)
    if facts:
        line += "; " + " ".join(f"{k}={v}" for k, v in facts.items())
    return "\n".join([line, *(f"warning: {data.subject}: {w}" for w in result.warnings)])


def run_step(
    name: str,
    *,
    subject: str,
    layer: str,
    image: PathLike | None,
    marks: PathLike | None,
    inputs: Mapping[str, PathLike],
    output: PathLike,
    settings: Settings,
    classifications: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> str:
    """Run one step for one subject and layer and write its output (one job of the workflow).

    Parameters
    ----------
    name : str
        The step (a key of :data:`STEPS`).
    subject, layer : str
        Which subject and layer (the figure's title names them).
    image, marks : path-like
        The subject's files.
    inputs : mapping
        Earlier steps' output files by step name, as the step's ``inputs`` name them.
    output : path-like
        The file to write; its extension is the format.
    settings : mapping
        The step's settings (``Step.settings(config)``).
    classifications : int, optional
        Volunteers who classified the subject.
    limits : Limits
        The largest inputs accepted.

    Returns
    -------
    str
        A line for the log (and warnings, each on a line of its own).

    Raises
    ------
    ZooheatError
        An input is missing or unusable; the message names the file.
    """
    step = STEPS[name]
    data = SubjectData(
        subject,
        layer,
        image=image,
        marks=marks,
        classifications=classifications,
        settings={name: settings},
        files=inputs,
        limits=limits,
    )
    result = data.result(name)
    with _about(data.describe(step)):
        content = step.encode(result, data, settings, _format_of(step, output))
    write_if_changed(output, content, sparse=step.sparse)
    return _log_line(step, data, result, [output])


def write_outputs(data: SubjectData, targets: Mapping[str, Sequence[PathLike]]) -> list[str]:
    """Compute in this process the steps ``targets`` names and write their files.

    Each product is computed once and handed to later steps in memory; the files are those
    :func:`run_step` writes, byte for byte.

    Parameters
    ----------
    data : SubjectData
        The subject, with the settings of every step that will be computed.
    targets : mapping
        Output paths by step name (a step's format is its path's extension), in chain order.

    Returns
    -------
    list of str
        A log line per step (and its warnings).
    """
    if any(STEPS[name].pixels for name in targets):
        # Decoded first, so that the steps before it take the image's size from it. An image
        # that cannot be decoded fails the step that decodes it, as it would have anyway.
        with contextlib.suppress(ZooheatError):
            _ = data.raw_pixels
    lines = []
    for name, paths in targets.items():
        step = STEPS[name]
        result = data.result(name)
        for path in paths:
            with _about(data.describe(step)):
                content = step.encode(result, data, data.settings[name], _format_of(step, path))
            write_if_changed(path, content, sparse=step.sparse)
        lines.append(_log_line(step, data, result, paths))
    return lines


def run_chain(
    data: SubjectData,
    formats: Mapping[str, Sequence[str]],
    *,
    results: PathLike = RESULTS,
    steps: Sequence[str] | None = None,
) -> list[StepResult]:
    """Run every step (or ``steps``) for one subject and layer in this process; write them.

    Parameters
    ----------
    data : SubjectData
        The subject, with every step's settings.
    formats : mapping
        Formats by step name, for the steps written in several formats.
    results : path-like
        The results folder.
    steps : sequence of str, optional
        The steps to run (e.g. :func:`steps_without_image` for a subject without an
        image); by default all.

    Returns
    -------
    list of StepResult
        One per step run, in chain order.
    """
    names = [name for name in STEPS if steps is None or name in steps]
    targets = {
        name: STEPS[name].paths(data.layer, data.subject, formats.get(name, ()), results)
        for name in names
    }
    write_outputs(data, targets)
    return [data.result(name) for name in names]


def chain_outputs(
    layer: str,
    subject: str,
    formats: Mapping[str, Sequence[str]],
    results: PathLike = RESULTS,
    steps: Sequence[str] | None = None,
) -> list[str]:
    """Return the output paths of every step (or of ``steps``) for one subject and layer."""
    return [head + subject + tail for head, tail in output_halves(layer, formats, results, steps)]


#: What stands for the subject's id in a path pattern that is split around it (in no path).
SUBJECT_MARK = "\0"


def output_halves(
    layer: str,
    formats: Mapping[str, Sequence[str]],
    results: PathLike = RESULTS,
    steps: Sequence[str] | None = None,
) -> tuple[tuple[str, str], ...]:
    """Return each output path of :func:`chain_outputs` as the text before and after the id.

    Asked for every subject of every batch as each run starts (to find files deleted by
    hand): a path is then the subject's id between a prefix and a suffix worked out once.
    """
    shown = tuple(
        (name, tuple(formats.get(name, ()))) for name in STEPS if steps is None or name in steps
    )
    return _output_halves(layer, shown, str(results))


@functools.lru_cache(maxsize=256)
def _output_halves(
    layer: str, steps: tuple[tuple[str, tuple[str, ...]], ...], results: str
) -> tuple[tuple[str, str], ...]:
    halves = []
    for name, formats in steps:
        for path in STEPS[name].paths(layer, SUBJECT_MARK, formats, results):
            head, tail = path.split(SUBJECT_MARK)  # every pattern names the subject once
            halves.append((head, tail))
    return tuple(halves)
