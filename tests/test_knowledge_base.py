"""KnowledgeBase: reading TSV/CSV/JSONL, vocabularies, neighbours, errors with file:line."""

import gzip
import json

import pytest

from amkit.knowledge import Fact, KnowledgeBase

HOUSE = [
    ("kitchen", "part_of", "ground floor"),
    ("hallway", "part_of", "ground floor"),
    ("bedroom", "part_of", "first floor"),
    ("ground floor", "part_of", "house"),
    ("first floor", "part_of", "house"),
    ("kitchen", "contains", "oven"),
]


def write_tsv(path, rows, header=False):
    lines = ["head\trelation\ttail"] if header else []
    lines += ["\t".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("header", [False, True])
def test_tsv_vocabularies_in_order_of_first_appearance(tmp_path, header):
    kb = KnowledgeBase.from_file(write_tsv(tmp_path / "kb.tsv", HOUSE, header))
    assert len(kb) == 6
    assert kb.entities[:4] == ["kitchen", "ground floor", "hallway", "bedroom"]
    assert kb.relations == ["part_of", "contains"]
    assert kb.entity_id("house") == kb.entities.index("house")


def test_header_after_comments_is_skipped_but_only_once(tmp_path):
    path = tmp_path / "kb.tsv"
    path.write_text("# rooms\nhead\trelation\ttail\nkitchen\tpart_of\thouse\n", encoding="utf-8")
    assert KnowledgeBase.from_file(path).facts_ == [Fact("kitchen", "part_of", "house")]
    path.write_text("a\tr\tb\nhead\trelation\ttail\n", encoding="utf-8")
    assert len(KnowledgeBase.from_file(path)) == 2  # later, "head" is just an entity


def test_csv_jsonl_and_gzip_give_the_same_base(tmp_path):
    tsv = KnowledgeBase.from_file(write_tsv(tmp_path / "kb.tsv", HOUSE))
    (tmp_path / "kb.csv").write_text("\n".join(",".join(r) for r in HOUSE), encoding="utf-8")
    records = [dict(zip(("head", "relation", "tail"), r, strict=True)) for r in HOUSE]
    jsonl = "\n".join(json.dumps(r) for r in records)
    (tmp_path / "kb.jsonl").write_text(jsonl, encoding="utf-8")
    with gzip.open(tmp_path / "kb.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(jsonl)
    for name in ("kb.csv", "kb.jsonl", "kb.jsonl.gz"):
        other = KnowledgeBase.from_file(tmp_path / name)
        assert other.facts_ == tsv.facts_
        assert other.entity_ids == tsv.entity_ids


def test_weights_and_duplicates_are_counted_not_kept(tmp_path):
    rows = [("a", "r", "b", "0.5"), ("a", "r", "b", "0.9"), ("b", "r", "c")]
    kb = KnowledgeBase.from_file(write_tsv(tmp_path / "kb.tsv", rows))
    assert len(kb) == 2
    assert kb.n_duplicates == 1
    assert kb.facts("a") == [Fact("a", "r", "b", 0.5)]  # first weight kept
    assert kb.facts("c") == [Fact("b", "r", "c", 1.0)]


def test_neighbors_hops_relation_and_direction(tmp_path):
    kb = KnowledgeBase.from_file(write_tsv(tmp_path / "kb.tsv", HOUSE))
    assert kb.neighbors("kitchen") == {"ground floor", "oven"}
    assert kb.neighbors("kitchen", relation="part_of") == {"ground floor"}
    assert kb.neighbors("kitchen", relation="part_of", hops=2) == {"ground floor", "house"}
    assert kb.neighbors("house", direction="in") == {"ground floor", "first floor"}
    assert kb.neighbors("house", direction="in", hops=2) == {
        "ground floor",
        "first floor",
        "kitchen",
        "hallway",
        "bedroom",
    }
    assert kb.neighbors("oven", direction="both", hops=2) == {"kitchen", "ground floor"}


def test_neighbors_matches_a_naive_breadth_first_search(tmp_path):
    import random

    rng = random.Random(0)
    rows = [(f"e{rng.randrange(30)}", "r", f"e{rng.randrange(30)}") for _ in range(80)]
    kb = KnowledgeBase.from_file(write_tsv(tmp_path / "kb.tsv", rows))
    for start in kb.entities[:10]:
        for hops in (1, 2, 3):
            reached = {start}
            for _ in range(hops):
                reached |= {t for h, _, t in rows if h in reached}
            assert kb.neighbors(start, hops=hops) == reached - {start}


def test_lookup_by_label_is_case_insensitive_and_suggests(tmp_path):
    kb = KnowledgeBase.from_file(write_tsv(tmp_path / "kb.tsv", HOUSE))
    assert kb.lookup("Kitchen") == "kitchen"
    assert [f.tail for f in kb.facts("KITCHEN", relation="contains")] == ["oven"]
    with pytest.raises(KeyError, match="did you mean 'kitchen'"):
        kb.lookup("kitchn")
    with pytest.raises(KeyError, match="did you mean 'part_of'"):
        kb.neighbors("kitchen", relation="partof")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("a\tr", "expected 3 or 4 columns"),
        ("a\tr\tb\t0.5\textra", "expected 3 or 4 columns"),
        ("a\tr\tb\tlots", "weight must be a number"),
        ("a\tr\tb\tnan", "weight must be finite"),
        ("a\t\tb", "empty relation"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path, line, reason):
    path = tmp_path / "kb.tsv"
    path.write_text("x\tr\ty\n# a comment\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"kb\.tsv:4: {reason}"):
        KnowledgeBase.from_file(path)


def test_bad_jsonl_and_files(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text('{"head": "a", "relation": "r", "tail": "b"}\n{"head": "a"}\n')
    with pytest.raises(ValueError, match=r"kb\.jsonl:2: missing keys \['relation', 'tail'\]"):
        KnowledgeBase.from_file(path)
    path.write_text('{"head": "a", "relation": "r", "tail": "b", "tial": 1}\n')
    with pytest.raises(ValueError, match=r"kb\.jsonl:1: unknown keys \['tial'\]"):
        KnowledgeBase.from_file(path)
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        KnowledgeBase.from_file(tmp_path / "missing.tsv")
    (tmp_path / "empty.tsv").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no triples found"):
        KnowledgeBase.from_file(tmp_path / "empty.tsv")
    (tmp_path / "kb.xml").write_text("<kb/>")
    with pytest.raises(ValueError, match="cannot tell the format"):
        KnowledgeBase.from_file(tmp_path / "kb.xml")
