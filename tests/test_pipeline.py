"""The per-subject chain: one step per job and the whole chain in memory give the same bytes."""

import io

import numpy as np
import pytest
from PIL import Image

from zooheat.arrays import save_array
from zooheat.errors import ZooheatError
from zooheat.limits import Limits
from zooheat.marks import Marks, read_marks, write_marks
from zooheat.pipeline import (
    SOURCES,
    STEPS,
    SubjectData,
    figure_title,
    render_figure,
    run_chain,
    run_step,
    step_settings,
)
from zooheat.style import OverlayStyle
from zooheat.synthetic import synthetic_subject

CONFIG = {
    "bin_size": 6,
    "overlay": {"renderer": "quicklook", "cmap": "magma", "formats": ["png", "svg"]},
}
FORMATS = {name: step.output_formats(CONFIG) for name, step in STEPS.items()}
# the overlay shows the smoothed map and draws the consensus objects
SHOWING_ALL = {
    **CONFIG,
    "overlay": {**CONFIG["overlay"], "show": "density", "consensus": True},
}


@pytest.fixture
def subject(tmp_path):
    synthetic = synthetic_subject(1)
    image, marks = tmp_path / "scan.png", tmp_path / "blobs.csv"
    Image.fromarray(synthetic.image).save(image)
    write_marks(synthetic.marks["blobs"], marks)
    return image, marks


def test_every_step_reads_only_sources_and_earlier_steps():
    for config in (CONFIG, SHOWING_ALL):
        seen = set(SOURCES)
        settings = step_settings(config)
        for name, step in STEPS.items():
            assert set(step.reads(settings[name])) <= seen, name
            assert "{layer}" in step.output and "{subject}" in step.output
            assert ("{format}" in step.output) == (step.formats is not None)
            seen.add(name)
    assert list(STEPS) == ["histogram", "zoom", "consensus", "density", "overlay", "thumbnail"]
    # the overlay reads the consensus and the density only when it draws them
    assert STEPS["overlay"].reads(step_settings(CONFIG)["overlay"]) == ("image", "zoom")
    shown = STEPS["overlay"].reads(step_settings(SHOWING_ALL)["overlay"])
    assert shown == ("image", "density", "consensus")
    # the thumbnail is the figure's blend, small: it shows what the figure's heat layer shows
    assert STEPS["thumbnail"].reads(step_settings(CONFIG)["thumbnail"]) == ("image", "zoom")
    assert STEPS["thumbnail"].reads(step_settings(SHOWING_ALL)["thumbnail"]) == ("image", "density")


@pytest.mark.parametrize("config", [CONFIG, SHOWING_ALL], ids=["counts", "density+objects"])
def test_one_step_per_job_and_the_chain_in_memory_write_the_same_bytes(subject, tmp_path, config):
    image, marks = subject
    settings = step_settings(config)
    formats = {name: step.output_formats(config) for name, step in STEPS.items()}
    data = SubjectData(
        "s1", "blobs", image=image, marks=marks, classifications=30, settings=settings
    )
    run_chain(data, formats, results=tmp_path / "chain")

    jobs = tmp_path / "jobs"
    made = {}
    for name, step in STEPS.items():
        reads = step.reads(settings[name])
        for path in step.paths("blobs", "s1", formats[name], jobs):
            run_step(
                name,
                subject="s1",
                layer="blobs",
                image=image if "image" in reads else None,
                marks=marks if "marks" in reads else None,
                inputs={n: made[n] for n in reads if n in STEPS},
                output=path,
                settings=settings[name],
                classifications=30 if "classifications" in reads else None,
            )
            made[name] = path
    chain_files = sorted(
        p.relative_to(tmp_path / "chain") for p in (tmp_path / "chain").rglob("*.*")
    )
    job_files = sorted(p.relative_to(jobs) for p in jobs.rglob("*.*"))
    assert [str(p) for p in chain_files] == [
        "consensus/blobs/s1.csv",
        "density/blobs/s1.npy",
        "figures/blobs/s1.png",
        "figures/blobs/s1.svg",
        "histogram/blobs/s1.npy",
        "thumbnails/blobs/s1.webp",
        "zoom/blobs/s1.npy",
    ]
    assert job_files == chain_files
    for name in chain_files:
        assert (tmp_path / "chain" / name).read_bytes() == (jobs / name).read_bytes(), name


def test_results_report_facts_and_warnings(subject, tmp_path):
    image, _ = subject
    marks = tmp_path / "m.csv"
    write_marks(
        Marks(np.array([10.0, -5, 10]), np.array([20.0, 20, 999]), np.full(3, np.nan)), marks
    )
    data = SubjectData("s2", "blobs", image=image, marks=marks, settings=step_settings(CONFIG))
    result = data.result("histogram")
    assert data.facts("histogram") == {"marks": 3, "binned": 1, "outside": 2, "max": 1}
    assert result.warnings == ("2 of 3 marks lie outside the 384x390 image and were not binned",)
    assert data.result("histogram") is result  # computed once
    assert data.facts("consensus") == {
        "objects": 0,
        "mean_agreement": 0.0,
        "strays": 3,
        "contested": 1.0,
    }
    assert data.facts("zoom") == {}


def test_facts_measured_from_files_equal_those_from_memory(subject, tmp_path):
    image, marks = subject
    settings = step_settings(CONFIG)
    memory = SubjectData(
        "s1", "blobs", image=image, marks=marks, classifications=30, settings=settings
    )
    run_chain(memory, FORMATS, results=tmp_path)
    files = {
        name: STEPS[name].paths("blobs", "s1", results=tmp_path)[0]
        for name in ("histogram", "consensus")
    }
    disk = SubjectData("s1", "blobs", marks=marks, settings=settings, files=files)
    for name in ("histogram", "consensus"):
        assert disk.facts(name) == memory.facts(name), name
    assert memory.facts("consensus")["objects"] >= 1


def test_the_density_is_the_histogram_smoothed(subject):
    from scipy.ndimage import gaussian_filter

    image, marks = subject
    config = {**CONFIG, "density": {"sigma": 1.5, "per_classification": True}}
    data = SubjectData(
        "s1", "blobs", image=image, marks=marks, classifications=20, settings=step_settings(config)
    )
    counts = data.product("histogram")
    density = data.product("density")
    assert density.dtype == np.float32 and density.shape == counts.shape
    expected = gaussian_filter(counts.astype(np.float32), 1.5, mode="constant") / np.float32(20)
    assert np.allclose(density, expected)
    assert abs(float(density.sum()) - counts.sum() / 20) < 1e-3 * counts.sum()  # mass kept
    unknown = SubjectData("s1", "blobs", image=image, marks=marks, settings=step_settings(config))
    with pytest.raises(ZooheatError, match="per_classification needs the subject's number"):
        unknown.product("density")


def test_each_input_is_read_once_and_only_when_needed(subject):
    image, marks = subject
    data = SubjectData("s1", "blobs", image=image, marks=marks, settings=step_settings(CONFIG))
    data.product("zoom")
    assert "pixels" not in data.__dict__  # histogram and zoom read only the image's size
    assert data.pixels is data.pixels
    no_marks = SubjectData("s1", "blobs", image=image, settings=step_settings(CONFIG))
    with pytest.raises(ZooheatError, match="subject s1, layer blobs: no mark table given"):
        no_marks.product("histogram")


def test_an_unfit_input_is_an_error_naming_the_files(subject, tmp_path):
    image, _ = subject
    save_array(np.zeros((5, 5), np.uint8), tmp_path / "h.npy")  # another bin size's histogram
    with pytest.raises(ZooheatError) as caught:
        run_step(
            "zoom",
            subject="s1",
            layer="blobs",
            image=image,
            marks=None,
            inputs={"histogram": tmp_path / "h.npy"},
            output=tmp_path / "z.npy",
            settings={"bin_size": 6},
        )
    assert str(caught.value).startswith(f"{tmp_path / 'h.npy'}, {image}: histogram shape (5, 5)")
    assert not (tmp_path / "z.npy").exists()


def test_figures_are_titled_and_rendered_by_the_chosen_renderer():
    pixels = np.full((12, 12), 0.5, np.float32)
    counts = np.zeros((12, 12), np.uint8)
    counts[:6, :6] = 2
    quick = render_figure(
        pixels, counts, "png", title="t", style=OverlayStyle(renderer="quicklook")
    )
    full = render_figure(pixels, counts, "png", title="t", style=OverlayStyle())
    with Image.open(io.BytesIO(quick)) as q, Image.open(io.BytesIO(full)) as f:
        assert q.size[1] == 12 + 18  # the image's own grid and a caption band
        assert f.size[0] == 600  # a 6-inch matplotlib figure at 100 dpi
    assert render_figure(pixels, counts, "svg", title="t", style=OverlayStyle()).startswith(
        b"<?xml"
    )
    assert figure_title("15000000", "blobs") == "15000000 · blobs"


def test_a_subject_beyond_the_consensus_limit_fails_with_one_clear_line(subject):
    image, marks = subject
    settings = step_settings(CONFIG)
    marked = len(read_marks(marks))
    data = SubjectData(
        "s1",
        "blobs",
        image=image,
        marks=marks,
        settings=settings,
        limits=Limits(consensus_marks=marked - 1),
    )
    with pytest.raises(ZooheatError, match=rf"{marked:,} marks, more than the {marked - 1:,}"):
        data.result("consensus")
    roomy = SubjectData("s1", "blobs", image=image, marks=marks, settings=settings)
    assert roomy.result("consensus").value is not None


def test_a_figure_too_wide_to_draw_is_refused_before_any_job():
    with pytest.raises(ValueError, match="12,000 pixels wide, more than 10,000"):
        OverlayStyle(dpi=1200, width_in=10)
