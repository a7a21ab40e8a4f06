"""Consensus objects: what a researcher checks of them, on handwritten and synthetic marks."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from zooheat import consensus
from zooheat.consensus import (
    CONSENSUS_COLUMNS,
    ConsensusSettings,
    consensus_of_marks,
    format_consensus,
    read_consensus,
    subject_agreement,
)
from zooheat.marks import Marks, parse_marks
from zooheat.synthetic import HARD_VOLUNTEERS, marked_subject


def marks(*rows, header="user,x,y,r"):
    return parse_marks([header, *(",".join(map(str, row)) for row in rows)])


def blob(x, y, r, users, jitter=2.0):
    """One mark per user around (x, y), radii around r, deterministic."""
    rng = np.random.default_rng(len(users) + int(x))
    return [
        (
            u,
            round(x + rng.normal(0, jitter), 2),
            round(y + rng.normal(0, jitter), 2),
            round(r * rng.uniform(0.95, 1.05), 2),
        )
        for u in users
    ]


USERS = [f"v{i}" for i in range(8)]


def test_two_well_separated_blobs_are_two_objects():
    c = consensus_of_marks(
        marks(*blob(100, 100, 20, USERS), *blob(300, 250, 30, USERS[:5])), classifications=10
    )
    assert len(c) == 2
    assert c.volunteers.tolist() == [8, 5]  # numbered by volunteers, most first
    assert np.allclose(c.x, [100, 300], atol=3) and np.allclose(c.y, [100, 250], atol=3)
    assert np.allclose(c.r, [20, 30], rtol=0.05)
    assert c.agreement.tolist() == [0.8, 0.5]
    assert c.labels.tolist() == [1] * 8 + [2] * 5


def test_a_lone_stray_mark_is_no_object():
    c = consensus_of_marks(marks(*blob(100, 100, 20, USERS[:4]), ("v9", 350, 50, 0)))
    assert len(c) == 1 and c.labels.tolist() == [1, 1, 1, 1, 0]
    assert consensus_of_marks(marks(("v1", 350, 50, 12))).labels.tolist() == [0]
    assert len(consensus_of_marks(marks(("v1", 350, 50, 12)))) == 0


def test_one_volunteer_clicking_three_times_counts_once():
    clicks = [("c", 101, 99, 20), ("c", 99, 101, 21), ("c", 100, 102, 19)]
    rows = [*blob(100, 100, 20, ["a", "b"]), *clicks]
    c = consensus_of_marks(marks(*rows), classifications=3)
    assert len(c) == 1
    assert (c.marks[0], c.volunteers[0], c.agreement[0]) == (5, 3, 1.0)
    # the click nearest the other two stands for them (the medoid); the others are duplicates
    assert c.duplicate.tolist() == [False, False, True, False, True]
    # a volunteer's three clicks are never an object on their own
    assert len(consensus_of_marks(marks(*rows[2:]))) == 0


def test_an_empty_subject_gives_the_header_only(tmp_path):
    c = consensus_of_marks(parse_marks(["user,x,y,r"]), classifications=12)
    assert len(c) == 0 and c.classifications == 12
    text = format_consensus(c)
    assert text == ",".join(CONSENSUS_COLUMNS) + "\n"
    path = tmp_path / "c.csv"
    path.write_text(text)
    assert len(read_consensus(path, n_marks=0)) == 0


def test_the_result_is_the_same_under_any_row_order():
    subject = marked_subject(4, seed=11, model=HARD_VOLUNTEERS)
    m = subject.marks
    first = consensus_of_marks(m, classifications=subject.classifications)
    assert len(first) >= 2
    rng = np.random.default_rng(0)
    for _ in range(20):
        order = rng.permutation(len(m))
        shuffled = Marks(
            m.x[order],
            m.y[order],
            m.r[order],
            {k: tuple(np.array(v)[order]) for k, v in m.extra.items()},
        )
        again = consensus_of_marks(shuffled, classifications=subject.classifications)
        for field in ("x", "y", "r", "marks", "volunteers", "spread"):
            assert np.array_equal(getattr(again, field), getattr(first, field), equal_nan=True), (
                field
            )
        assert np.array_equal(again.labels, first.labels[order])
        assert np.array_equal(again.duplicate, first.duplicate[order])


def test_zero_radius_marks_do_not_change_the_radius():
    rows = blob(200, 150, 24, USERS[:5])
    with_zeros = rows + [
        (u, 200 + d, 150 - d, 0) for u, d in zip(("z1", "z2", "z3"), (1, -2, 3), strict=True)
    ]
    plain, zeros = consensus_of_marks(marks(*rows)), consensus_of_marks(marks(*with_zeros))
    assert len(plain) == len(zeros) == 1
    assert zeros.r[0] == plain.r[0]
    assert zeros.volunteers[0] == 8  # the clicks count as volunteers, just not for the size
    only_clicks = consensus_of_marks(
        marks(*[(u, 200 + i, 150, 0) for i, u in enumerate(USERS[:4])])
    )
    assert len(only_clicks) == 1 and np.isnan(only_clicks.r[0])


def test_blobs_closer_than_two_radii_stay_apart():
    left, right = blob(150, 150, 25, USERS), blob(190, 150, 25, [u + "x" for u in USERS[:6]])
    c = consensus_of_marks(marks(*left, *right))
    assert len(c) == 2 and sorted(c.volunteers.tolist()) == [6, 8]


def test_a_table_round_trips_through_its_file(tmp_path):
    subject = marked_subject(2, seed=3)
    c = consensus_of_marks(subject.marks, classifications=subject.classifications)
    path = tmp_path / "c.csv"
    path.write_text(format_consensus(c))
    back = read_consensus(path, n_marks=len(subject.marks))
    assert np.array_equal(back.labels, c.labels) and np.array_equal(back.duplicate, c.duplicate)
    assert back.volunteers.tolist() == c.volunteers.tolist()
    assert np.allclose(back.x, c.x, atol=1e-3) and back.classifications == c.classifications


def test_who_marked_comes_from_user_then_classification_then_each_row():
    same_user = [("a", 100, 100, 20), ("a", 130, 100, 20), ("a", 115, 110, 20)]
    assert len(consensus_of_marks(marks(*same_user))) == 0  # one volunteer, far-ish clicks
    by_classification = marks(("1", 100, 100, 20), ("2", 101, 99, 20), ("3", 99, 100, 20),
                              header="classification_id,x,y,r")  # fmt: skip
    assert consensus_of_marks(by_classification).volunteers.tolist() == [3]
    headerless = parse_marks(["100,100,20", "101,99,20", "99,100,20"])
    assert consensus_of_marks(headerless).volunteers.tolist() == [3]


def test_numbers_for_the_summary():
    c = consensus_of_marks(
        marks(*blob(100, 100, 20, USERS[:5]), ("v9", 350, 50, 0)), classifications=10
    )
    assert subject_agreement(c, n_marks=6) == {
        "objects": 1,
        "mean_agreement": 0.5,
        "strays": 1,
        "contested": 1.0,  # half the classifiers marked the blob
    }
    unanimous = consensus_of_marks(marks(*blob(100, 100, 20, USERS[:5])), classifications=5)
    assert subject_agreement(unanimous, n_marks=5)["contested"] == 0.0


def test_bad_settings_and_counts_are_clear():
    with pytest.raises(ValueError, match="link must be a number > 0"):
        ConsensusSettings(link=0)
    with pytest.raises(ValueError, match="min_volunteers"):
        ConsensusSettings(min_volunteers=0)
    with pytest.raises(ValueError, match="2 classifications, but 3 distinct volunteers"):
        consensus_of_marks(marks(*blob(1, 1, 1, ["a", "b", "c"])), classifications=2)


def test_every_method_finds_well_separated_blobs_alike():
    subject = marked_subject(1, seed=2)
    found = [
        len(consensus_of_marks(subject.marks, settings=ConsensusSettings(method=method)))
        for method in ("average", "complete", "single")
    ]
    assert found[0] == len(subject.truth) and len(set(itertools.chain(found))) == 1


def _all_at_once(distance, volunteer, settings):
    """The groups by scipy's public linkage of every mark at once (the method's definition)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(distance)
    if n < 2:
        return [list(range(n))]
    apart = (volunteer[:, None] == volunteer) & (distance > settings.link)
    condensed = squareform(np.where(apart, consensus._APART, distance), checks=False)
    tree = linkage(condensed, method=settings.method)
    groups = {}
    for mark, label in enumerate(fcluster(tree, t=settings.link, criterion="distance")):
        groups.setdefault(label, []).append(mark)
    return list(groups.values())


@pytest.mark.parametrize("method", ["average", "complete", "single"])
def test_cliques_of_marks_give_the_groups_of_clustering_all_at_once(method, monkeypatch):
    """The shortcut (marks that split into cliques within link need no clustering) changes
    no object, on both crowds and on random marks where chains, triple clicks and distances
    of exactly ``link`` are common; both of its ways are taken."""
    settings = ConsensusSettings(method=method)
    rng = np.random.default_rng(11)
    tables = [marked_subject(k, seed=5).marks for k in range(40)]
    tables += [marked_subject(k, seed=6, model=HARD_VOLUNTEERS).marks for k in range(40)]
    for _ in range(120):
        n = int(rng.integers(2, 50))
        rows = zip(
            [f"v{k}" for k in rng.integers(0, 8, n)],
            rng.uniform(0, 80, n).round(1),
            rng.uniform(0, 80, n).round(1),
            rng.choice([0, 4, 6, 9], n),
            strict=True,
        )
        tables.append(marks(*rows))
    for _ in range(60):  # a grid of one radius' steps: many distances of exactly link
        n = int(rng.integers(2, 30))
        steps = rng.integers(0, 5, (2, n)) * 6
        who = [f"v{k}" for k in rng.integers(0, 8, n)]
        rows = zip(who, *steps, rng.choice([0, 6], n), strict=True)
        tables.append(marks(*rows))
    clustered = []
    linkage = consensus._linkage
    monkeypatch.setattr(consensus, "_linkage", lambda *a: clustered.append(a) or linkage(*a))
    results = [consensus_of_marks(t, settings=settings) for t in tables]
    assert 20 < len(clustered) < len(tables) - 20  # both ways, many times
    monkeypatch.setattr(consensus, "_groups", _all_at_once)
    for table, result in zip(tables, results, strict=True):
        expected = consensus_of_marks(table, settings=settings)
        assert result.labels.tolist() == expected.labels.tolist()
        assert result.duplicate.tolist() == expected.duplicate.tolist()
        for column in ("x", "y", "r", "volunteers", "agreement", "spread"):
            assert np.array_equal(
                getattr(result, column), getattr(expected, column), equal_nan=True
            )


@pytest.mark.parametrize("method", ["average", "complete", "single"])
def test_a_scipy_without_the_compiled_linkage_gives_the_same_objects(method, monkeypatch):
    """Where scipy's compiled linkage and cut are missing, its public linkage and a cut in
    Python run instead, with the same result."""
    settings = ConsensusSettings(method=method)
    tables = [marked_subject(k, seed=7, model=HARD_VOLUNTEERS).marks for k in range(30)]
    compiled = [consensus_of_marks(t, settings=settings) for t in tables]
    monkeypatch.setattr(consensus, "_compiled", lambda: SimpleNamespace())
    for table, expected in zip(tables, compiled, strict=True):
        again = consensus_of_marks(table, settings=settings)
        assert again.labels.tolist() == expected.labels.tolist()
        assert format_consensus(again) == format_consensus(expected)


def test_lines_across_the_image_group_by_their_one_coordinate_and_never_with_points():
    # five volunteers mark a full-width line near y=40 and a column near x=100; three of
    # them also click a point at (100, 40), where the two lines cross
    rows = [(u, "", 40 + k * 0.5, "") for k, u in enumerate(USERS[:5])]
    rows += [(u, 100 + k * 0.5, "", "") for k, u in enumerate(USERS[:5])]
    rows += [(u, 100, 40, 0) for u in USERS[:3]]
    c = consensus_of_marks(marks(*rows), classifications=5)
    assert len(c) == 3
    found = {(np.isnan(c.x[k]), np.isnan(c.y[k])): k for k in range(3)}
    across, column, point = found[True, False], found[False, True], found[False, False]
    assert (c.y[across], c.x[column]) == (41.0, 101.0)  # medians of 40..42, 100..102
    assert (c.x[point], c.y[point]) == (100.0, 40.0)
    assert c.volunteers[[across, column, point]].tolist() == [5, 5, 3]
    assert c.spread[across] == 0.5 and np.isnan(c.r[across])
    # each mark's object is one of its own kind
    labels = c.labels.tolist()
    assert set(labels[:5]) == {across + 1} and set(labels[5:10]) == {column + 1}
    assert set(labels[10:]) == {point + 1}
    # the table writes the missing coordinate as an empty cell and reads it back
    text = format_consensus(c)
    assert f"{across + 1},,41.0," in text and f"{column + 1},101.0,," in text
    # and the same objects whatever the row order
    again = consensus_of_marks(marks(*reversed(rows)), classifications=5)
    assert [line.rsplit(",", 1)[0] for line in format_consensus(again).splitlines()] == [
        line.rsplit(",", 1)[0] for line in text.splitlines()
    ]
    assert again.labels[::-1].tolist() == labels
