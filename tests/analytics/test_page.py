"""The page's own tables: how soon the surge alert can see a rise."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from analytics import traffic
from analytics.alerts import DetectorSettings, expected_delays
from analytics.figures import Period, compute
from analytics.page import alert_reach_sentence, alert_reach_table
from tests.analytics.test_alerts import END, WATCHED, surge_traffic

DAY = timedelta(days=1)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_alert_reach_is_worked_out_from_the_periods_messages_per_hour(
    databases,
) -> None:
    tracker, business = databases
    conversations = surge_traffic(surge=False)
    traffic.write(tracker, business, conversations)
    period = Period(WATCHED, END)  # two whole days

    reach = alert_reach_table(compute(tracker, business, period))

    by_hour = Counter()
    negative = total = 0
    for conversation in conversations:
        for event in traffic.conversation_events(conversation):
            at = datetime.fromtimestamp(event["timestamp"], timezone.utc)
            sentiment = event.get("parse_data", {}).get("sentiment")
            if event["event"] == "user" and sentiment and WATCHED <= at < END:
                by_hour[at.hour] += 1
                total += 1
                negative += sentiment["label"] == "negative"
    per_hour = [by_hour[hour] / 2 for hour in range(24)]
    delays = expected_delays(per_hour, negative / total, DetectorSettings.from_file())
    assert [row[0] for row in reach.rows] == [f"{h:02d}:00" for h in range(24)]
    assert reach.column("messages per hour") == [round(m, 1) for m in per_hour]
    assert reach.column("hours to alert") == [round(d, 1) for d in delays]
    hours = reach.column("hours to alert")
    assert hours[2] > 2 * hours[14]  # a night start waits for the morning
    sentence = alert_reach_sentence(reach)
    assert f"{min(hours):.1f} h later" in sentence
    assert f"{max(hours):.1f} h later" in sentence

    quiet = alert_reach_table(compute(tracker, business, Period(END, END + DAY)))

    assert quiet.column("hours to alert") == [None] * 24
    assert "too few customer messages" in alert_reach_sentence(quiet)


def test_expected_delays_follow_the_volume() -> None:
    settings = DetectorSettings.from_file()
    half_step = settings.step_minutes / 120

    steady = expected_delays([100.0] * 24, 0.12, settings)
    doubled = expected_delays([200.0] * 24, 0.12, settings)

    assert len(set(steady)) == 1
    assert doubled[0] - half_step == pytest.approx((steady[0] - half_step) / 2)
    assert expected_delays([0.0] * 24, 0.12, settings) == [None] * 24
