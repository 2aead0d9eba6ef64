"""Unanswered questions, grouped by similarity with personal data masked."""

from __future__ import annotations

from analytics.unanswered import group


def test_wordings_of_one_question_are_one_group_and_masked() -> None:
    groups = group(
        [
            ("can I pay with seashells 1393", 3),
            ("can i pay with seashells 3286", 1),
            ("Can I pay with sea shells?", 2),
            ("do you ship to Norway", 2),
            ("do you ship to norway??", 1),
            ("我的快递为什么还没到", 1),
            ("email me at jo@example.com about it", 1),
        ]
    )

    by_text = {g.text: g for g in groups}
    assert by_text["can I pay with seashells 1393"].count == 6
    assert by_text["do you ship to Norway"].count == 3
    assert "我的快递为什么还没到" in by_text
    assert "email me at [email] about it" in by_text
    assert not any("jo@example.com" in g.text + "".join(g.examples) for g in groups)
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)


def test_nothing_to_group_is_no_groups() -> None:
    assert group([]) == []
    assert group([("   ", 4)]) == []
