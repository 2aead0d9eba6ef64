"""`python -m learning` end to end on SQLite files, as an operator runs it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions.db.engine import make_engine
from actions.db.migrate import upgrade_head
from actions.db.models import ReviewDecision
from learning.reviewed_data import REGRESSION_PATH, TRAINING_PATH
from tests.learning.conftest import Chat, learning_command, said, write


def test_build_list_decide_export(tmp_path: Path) -> None:
    business_url = f"sqlite:///{tmp_path}/assistant.db"
    tracker_url = f"sqlite:///{tmp_path}/conversations.db"
    upgrade_head(business_url)
    tracker, business = make_engine(tracker_url), make_engine(business_url)
    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    text = "whre is my stuff"
    write(tracker, business, [
        Chat("a", two_hours_ago, [("Hi!", text, said(text, "nlu_fallback"))]),
    ])  # fmt: skip
    learning = learning_command(
        120, DATABASE_URL=business_url, TRACKER_DATABASE_URL=tracker_url, REVIEWER="ana"
    )

    built = learning("build")
    assert built.returncode == 0, built.stderr
    assert "1 new" in built.stdout
    listed = learning("list").stdout
    assert text in listed and "faq_shipping" in listed
    item = listed.split()[0].lstrip("#")

    wrong = learning("decide", item, "corrected", "--intent", "order_pizza")
    assert wrong.returncode == 2 and "not an intent of the domain" in wrong.stderr
    decided = learning("decide", item, "corrected", "--intent", "check_order_status")
    assert decided.returncode == 0, decided.stderr
    assert learning("list").stdout.strip() == "review queue: nothing waits"

    exported = learning("export", "--root", str(tmp_path))
    assert exported.returncode == 0, exported.stderr
    [path] = [
        tmp_path / relative
        for relative in (TRAINING_PATH, REGRESSION_PATH)
        if (tmp_path / relative).is_file()
    ]
    [block] = yaml.safe_load(path.read_text())["nlu"]
    assert block["intent"] == "check_order_status"
    assert block["examples"][0]["metadata"]["reviewer"] == "ana"
    with Session(business) as session:
        stored = session.scalar(select(func.count()).select_from(ReviewDecision))
    assert stored == 1
