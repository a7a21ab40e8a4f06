"""The one definition of the per-subject chain, run by real snakemake in both modes."""

import re
import shutil
import zlib

import pytest

from tests.conftest import digests, jobs_run, snakemake
from zooheat.pipeline import STEPS

pytestmark = pytest.mark.workflow

EXPORTED = ["15000000", "15000001", "15000002", "15000003"]
LAYERS = ["blobs", "rings"]
FORMATS = ["png", "svg"]
# A rule a user adds downstream: it needs every figure, in either mode, through step_targets.
FIGURE_INDEX = """
rule figure_index:
    input:
        step_targets("overlay"),
    output:
        "results/figure-index.txt",
    shell:
        "ls results/figures/*/*.png > {output}"
"""


def configure(workdir, batches):
    config = workdir / "config" / "config.yaml"
    text = config.read_text().replace("formats: [png]", f"formats: [{', '.join(FORMATS)}]")
    text = re.sub(r"^batches: \d+$", f"batches: {batches}", text, flags=re.MULTILINE)
    config.write_text(text)


def products(workdir):
    """sha256 of every file the run made, but the batches' own bookkeeping."""
    return digests(workdir, skip=("batches",))


def expected_files():
    """What the one definition says each subject and layer gets, plus the ingest's files."""
    files = {
        "results/ingest/subjects.tsv",
        "results/ingest/rejects.csv",
        "results/ingest/ingest-summary.json",
        "results/ingest/.zooheat-ingest",  # the ingest's claim on its folder
        "results/summary.csv",
        "results/marks.parquet",
        "results/gallery/index.html",
        "results/missing-images.tsv",
        "results/warnings.tsv",
    }
    for layer in LAYERS:
        for subject in EXPORTED:
            files.add(f"results/ingest/marks/{layer}/{subject}.csv")
            files.add(f"results/report/figures/{layer}-{subject}.png")  # all 8: under 50
            for step in STEPS.values():
                files.update(step.paths(layer, subject, FORMATS))
    return files


def test_both_modes_make_the_same_files_in_one_cold_run(workflow_copy):
    per_subject = workflow_copy
    batched = workflow_copy.parent / "batched"
    shutil.copytree(per_subject, batched)
    configure(per_subject, batches=0)
    configure(batched, batches=3)

    cold = snakemake(per_subject)
    assert {rule for rule, _ in jobs_run(cold)} == set(STEPS)
    cold_batched = snakemake(batched)
    assert {rule for rule, _ in jobs_run(cold_batched)} == {"heatmap_batch"}
    for text in (cold.stdout + cold.stderr, cold_batched.stdout + cold_batched.stderr):
        for rule in ("summary", "marks_table", "gallery", "report_figures"):
            assert f"rule {rule}:" in text

    made = products(per_subject)
    assert set(made) == expected_files()
    assert products(batched) == made  # the same files, byte for byte

    for workdir in (per_subject, batched):
        dry = snakemake(workdir, "-n")
        assert jobs_run(dry) == []
        assert "Nothing to be done" in dry.stdout + dry.stderr


def test_a_rule_needing_every_figure_runs_after_the_batches_alone(workflow_copy):
    wd = workflow_copy
    configure(wd, batches=3)
    (wd / "rules" / "figure_index.smk").write_text(FIGURE_INDEX)
    snakefile = wd / "Snakefile"
    snakefile.write_text(snakefile.read_text() + '\ninclude: "rules/figure_index.smk"\n')
    target = ("all", "results/figure-index.txt")
    # the ingest first: until the checkpoint has run, a dry run cannot see past it
    assert [rule for rule, _ in jobs_run(snakemake(wd, "results/ingest/subjects.tsv"))] == []

    dry = snakemake(wd, "-n", *target)
    planned = [rule for rule, _ in jobs_run(dry)]
    out = dry.stdout + dry.stderr
    assert "rule figure_index:" in out
    batches = len({zlib.crc32(s.encode()) % 3 for s in EXPORTED}) * len(LAYERS)
    assert sorted(planned) == ["heatmap_batch"] * batches  # nothing else
    assert not re.search(r"^rule (histogram|zoom|overlay):", out, re.MULTILINE)

    run = snakemake(wd, *target)
    out = run.stdout + run.stderr
    assert sorted(rule for rule, _ in jobs_run(run)) == ["heatmap_batch"] * batches
    assert not re.search(r"^rule (histogram|zoom|overlay):", out, re.MULTILINE)
    # it ran after the batches: every figure was there to be listed
    listed = (wd / "results" / "figure-index.txt").read_text().split()
    assert listed == sorted(f"results/figures/{ly}/{s}.png" for ly in LAYERS for s in EXPORTED)
    assert jobs_run(snakemake(wd, "-n", *target)) == []


def test_summary_and_tidy_table_agree_with_the_per_subject_files(workflow_copy):
    import pandas as pd

    from zooheat.consensus import read_consensus
    from zooheat.marks import read_marks

    wd = workflow_copy
    configure(wd, batches=0)
    snakemake(wd)
    summary = pd.read_csv(wd / "results" / "summary.csv", dtype={"subject": str})
    assert list(summary.columns) == [
        "subject", "layer", "classifications", "marks", "binned", "outside", "max",
        "objects", "mean_agreement", "strays", "contested",
    ]  # fmt: skip
    assert [(s, ly) for s, ly in zip(summary.subject, summary.layer, strict=True)] == [
        (s, ly) for s in EXPORTED for ly in LAYERS
    ]
    manifest = pd.read_csv(wd / "results/ingest/subjects.tsv", sep="\t", dtype={"subject_id": str})
    tidy = pd.read_parquet(wd / "results" / "marks.parquet")
    for row in summary.itertuples():
        marks = read_marks(wd / f"results/ingest/marks/{row.layer}/{row.subject}.csv")
        objects = read_consensus(
            wd / f"results/consensus/{row.layer}/{row.subject}.csv", len(marks)
        )
        assert row.classifications == manifest.set_index("subject_id").classifications[row.subject]
        assert (row.marks, row.objects) == (len(marks), len(objects))
        assert row.strays == int((objects.labels == 0).sum())
        mine = tidy[(tidy.subject == row.subject) & (tidy.layer == row.layer)]
        assert mine["mark"].tolist() == list(range(1, len(marks) + 1))
        assert mine["x"].tolist() == marks.x.tolist()
        assert mine["object"].fillna(0).astype(int).tolist() == objects.labels.tolist()
    assert summary["objects"].sum() > 0 and tidy["object"].notna().any()
    assert str(tidy["tool"].dtype) == "int64" and str(tidy["user"].dtype) in ("str", "string")
