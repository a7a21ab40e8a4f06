"""Batches: many subjects' chains in one process, skipping what did not change."""

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from zooheat import batch as batch_module
from zooheat.batch import (
    BatchMember,
    finish_repair,
    manifest_text,
    missing_outputs,
    repair_token,
    run_batch,
)
from zooheat.errors import ZooheatError
from zooheat.marks import write_marks
from zooheat.pipeline import STEPS, chain_outputs, fact_names, step_settings
from zooheat.synthetic import synthetic_subject

CONFIG = {"bin_size": 6, "overlay": {"renderer": "quicklook", "formats": ["png"]}}
SETTINGS = step_settings(CONFIG)
FORMATS = {name: step.output_formats(CONFIG) for name, step in STEPS.items()}


@pytest.fixture
def members(tmp_path):
    made = []
    for i in range(3):
        synthetic = synthetic_subject(i)
        image, marks = tmp_path / f"s{i}.png", tmp_path / f"s{i}.csv"
        Image.fromarray(synthetic.image).save(image)
        write_marks(synthetic.marks["blobs"], marks)
        made.append(BatchMember(f"s{i}", str(image), str(marks)))
    return made


def batch(members, tmp_path, **kwargs):
    return run_batch(
        members,
        "blobs",
        settings=SETTINGS,
        formats=FORMATS,
        state=tmp_path / "state.json",
        results=tmp_path / "results",
        **kwargs,
    )


def stamps(tmp_path):
    results = tmp_path / "results"
    return {str(p.relative_to(results)): p.stat().st_mtime_ns for p in results.rglob("*.*")}


def test_only_what_changed_is_made_again(members, tmp_path):
    rows = batch(members, tmp_path)
    assert [(r.subject, r.made) for r in rows] == [("s0", True), ("s1", True), ("s2", True)]
    assert list(rows[0].facts) == ["classifications", *fact_names()]
    first = stamps(tmp_path)
    assert len(first) == 3 * len(STEPS)

    assert not any(r.made for r in batch(members, tmp_path))
    assert stamps(tmp_path) == first

    marks = Path(members[1].marks)
    lines = marks.read_text().splitlines()
    marks.write_text("\n".join([*lines, lines[-1]]) + "\n")  # one more mark
    rows = batch(members, tmp_path)
    assert [r.subject for r in rows if r.made] == ["s1"]
    assert rows[1].facts["marks"] == len(lines)  # the header's line is now the new mark's
    changed = {k for k, v in stamps(tmp_path).items() if first[k] != v}
    assert {path.split("/")[-1] for path in changed} <= {"s1.npy", "s1.csv", "s1.png", "s1.webp"}


def test_a_missing_output_or_a_new_build_remakes(members, tmp_path, monkeypatch):
    batch(members, tmp_path)
    figure = tmp_path / "results" / "figures" / "blobs" / "s2.png"
    before = figure.read_bytes()
    figure.unlink()
    assert [r.subject for r in batch(members, tmp_path) if r.made] == ["s2"]
    assert figure.read_bytes() == before
    # another zooheat or other package versions: every subject is made again
    monkeypatch.setattr(batch_module, "build_key", lambda: "another build")
    assert all(r.made for r in batch(members, tmp_path))


def test_a_failing_subject_is_named_after_the_others_are_done(members, tmp_path):
    with open(members[0].marks, "a") as handle:
        handle.write("1,2,3,oops\n")
    with pytest.raises(ZooheatError) as caught:
        batch(members, tmp_path)
    message = str(caught.value)
    assert message == (
        f"1 of 3 subjects failed:\ns0: {members[0].marks}, line 70 (data row 69), "
        "field 'r': expected a number, found 'oops'"
    )
    assert (tmp_path / "results" / "figures" / "blobs" / "s2.png").is_file()
    assert set(json.loads((tmp_path / "state.json").read_text())) == {"s1", "s2"}


def test_missing_outputs_are_found_by_listing_folders(members, tmp_path):
    batch(members, tmp_path)
    results = tmp_path / "results"
    listings = []

    def listing(folder):
        listings.append(folder)
        return frozenset(os.listdir(folder))

    assert missing_outputs(members, "blobs", FORMATS, listing, results) == []
    (results / "zoom" / "blobs" / "s1.npy").unlink()
    missing = missing_outputs(members, "blobs", FORMATS, listing, results)
    assert missing == [f"{results.as_posix()}/zoom/blobs/s1.npy"]
    assert set(chain_outputs("blobs", "s1", FORMATS, results)) >= set(missing)


def test_a_repair_is_named_anew_after_each_repair(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{}")
    os.utime(state, ns=(1, 1))
    lost = ["results/figures/blobs/s1.png"]
    token = repair_token(state, lost)
    assert repair_token(state, lost) == token  # a dry run and the run after agree
    assert repair_token(state, ["results/zoom/blobs/s1.npy"]) != token
    marker = tmp_path / f"3.repair-{token}"
    older = tmp_path / "3.repair-0000000000000000"
    older.write_bytes(b"")
    finish_repair(state, marker)
    assert marker.exists() and not older.exists()
    assert repair_token(state, lost) != token  # the same file lost again: a new repair


def test_the_manifest_has_a_column_per_fact():
    facts = {"classifications": 9, "marks": 3, "binned": 2, "outside": 1, "max": 2}
    rows = [batch_module.BatchRow("s1", facts, True, "ab" * 32)]
    header, row = manifest_text(rows).splitlines()
    assert header.split("\t") == ["subject", "classifications", *fact_names(), "key"]
    # the facts it has, empty where it has none; what it was made from, in short
    assert row.split("\t") == ["s1", "9", "3", "2", "1", "2", "", "", "", "", "ab" * 8]


def test_the_inputs_fingerprint_follows_each_files_size_and_time(tmp_path):
    image, marks = tmp_path / "a.png", tmp_path / "a.csv"
    image.write_bytes(b"png")
    marks.write_text("x,y\n1,2\n")
    members = [batch_module.BatchMember("a", str(image), str(marks), 3)]
    first = batch_module.inputs_fingerprint(members)
    assert batch_module.inputs_fingerprint(members) == first
    os.utime(marks, ns=(0, 10**9))  # touched: the batch runs (and finds nothing changed)
    touched = batch_module.inputs_fingerprint(members)
    assert touched != first
    image.unlink()  # gone, or other classifications: another
    gone = batch_module.inputs_fingerprint(members)
    assert gone not in (first, touched)
    assert batch_module.inputs_fingerprint([members[0]._replace(classifications=4)]) != gone


@pytest.mark.parametrize("row_group", [65536, 7])
def test_batches_parts_of_marks_parquet_merge_into_the_same_bytes(tmp_path, monkeypatch, row_group):
    """marks.parquet from the batches' parts is the file made from every subject's tables:
    subjects of several batches in natural order (9 before 10), tables with their own
    columns (a hand-made one with a column of its own, a headerless one), a subject with
    no marks; in one row group, or in many that cut across subjects and parts."""
    import pyarrow.parquet as pq

    import zooheat.summary
    from zooheat.consensus import consensus_of_marks, format_consensus
    from zooheat.marks import parse_marks
    from zooheat.summary import SubjectLayer, merge_marks_parts, write_marks_part, write_marks_table

    monkeypatch.setattr(zooheat.summary, "ROW_GROUP", row_group)
    results = tmp_path / "results"
    tables = {
        "10": write_synthetic(tmp_path, 0),
        "9": write_synthetic(tmp_path, 1),
        "11": "user,x,y,r,note\nada,1.5,2,3,first\nbob,1.6,2.1,3,\ncyd,1.4,2,3,x\n",
        "2": "12.5,20,3\n13,21,3\n",
        "3": "user,x,y\n",
    }
    entries = []
    for subject, text in tables.items():
        path = tmp_path / f"{subject}.csv"
        if isinstance(text, str):
            path.write_text(text)
        else:
            path = text
        consensus = results / "consensus" / "blobs" / f"{subject}.csv"
        consensus.parent.mkdir(parents=True, exist_ok=True)
        marks = parse_marks(path.read_text().splitlines(), str(path))
        consensus.write_text(format_consensus(consensus_of_marks(marks)))
        entries.append(SubjectLayer(subject, "blobs", str(path)))
    whole = tmp_path / "marks.parquet"
    rows = write_marks_table(entries, whole, results=results)
    parts = [tmp_path / "0.marks.parquet", tmp_path / "1.marks.parquet"]
    write_marks_part(entries[::2], parts[0], results=results)
    write_marks_part(entries[1::2], parts[1], results=results)
    merged = tmp_path / "merged.parquet"
    assert merge_marks_parts(parts, merged) == rows
    assert merged.read_bytes() == whole.read_bytes()
    groups = pq.ParquetFile(whole).num_row_groups
    assert (groups == 1) == (row_group >= rows), groups
    import pandas as pd

    frame = pd.read_parquet(whole)
    assert list(dict.fromkeys(frame["subject"])) == ["2", "9", "10", "11"]
    assert "note" in frame.columns and frame["note"].dropna().tolist() == ["first", "x"]


def write_synthetic(tmp_path, seed):
    path = tmp_path / f"synthetic-{seed}.csv"
    write_marks(synthetic_subject(seed).marks["blobs"], path)
    return path
