"""Every HTML page ``amkit explain`` / ``recommend`` / ``ask`` writes escapes the text it
shows: data, user input and names with markup in them come out as text, never as elements
or attributes (checked by parsing the page, not by string search)."""

from __future__ import annotations

from html.parser import HTMLParser

import torch

from amkit.explain.alignment import render_alignment_html
from amkit.explain.graph import GraphAnswer, save_hop_attention
from amkit.explain.recommend import Recommendation, UserRecommendations
from amkit.explain.text import TokenView, render_html

PAYLOADS = ["<script>window.x=1</script>", '<img src=x onerror="window.x=1">', '"><b>bold']


class _Markup(HTMLParser):
    """The tags and attribute names a page really holds."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text = ""
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text += data


def _check(page: str) -> None:
    markup = _Markup(page)
    assert not {"script", "img", "b"} & markup.tags, markup.tags
    assert not {a for a in markup.attributes if a.startswith("on")}, markup.attributes
    for payload in PAYLOADS:  # shown to the reader as the text it was
        assert payload in markup.text


def test_text_explanation_page():
    views = [TokenView(token=p, weight=1 / 3, facts=[(p, 0.5)], no_knowledge=0.5, gate=0.9)
             for p in PAYLOADS]  # fmt: skip
    _check(render_html(" ".join(PAYLOADS), PAYLOADS[0], {p: 1 / 3 for p in PAYLOADS}, views))


def test_alignment_page():
    weights = torch.full((len(PAYLOADS), len(PAYLOADS)), 1 / 3)
    _check(render_alignment_html(PAYLOADS, PAYLOADS, weights, " ".join(PAYLOADS)))


def test_recommendation_page():
    items = [Recommendation(item=p, score=0.5, because=[(p, 0.5)], shares=[(p, 0.1)])
             for p in PAYLOADS]  # fmt: skip
    _check(UserRecommendations(user=PAYLOADS[0], history=PAYLOADS, items=items).to_html())


def test_graph_answer_page(tmp_path):
    answer = GraphAnswer(
        question=" ".join(PAYLOADS), entities=PAYLOADS, relation=PAYLOADS[1],
        answers=[(p, 0.3) for p in PAYLOADS], hops=[[(p, 0.5) for p in PAYLOADS]],
        path=" ".join(PAYLOADS),
    )  # fmt: skip
    _, page = save_hop_attention(answer, tmp_path)
    _check(page.read_text(encoding="utf-8"))
