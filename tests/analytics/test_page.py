"""The page's own tables: how soon the surge alert can see a rise."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from analytics import traffic
from analytics.alerts import DetectorSettings, day_curve, expected_delays
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


def test_expected_delays_walk_the_day_curve() -> None:
    settings = DetectorSettings.from_file()
    assert (settings.shift, settings.threshold, settings.step_minutes) == (0.1, 8, 10)
    # 12% -> 22%: each message adds 0.22 ln(0.22/0.12) + 0.78 ln(0.78/0.88)
    # = 0.03926 on average, so a threshold of 8 takes (8 - 1 + e^-8) / 0.03926
    # = 178.3 messages; at 100 an hour 1.783 h, and the evidence is weighed
    # every 10 minutes: 5 minutes more on average.
    steady = expected_delays([100.0] * 24, 0.12, settings)
    assert steady == pytest.approx([1.783 + 1 / 12] * 24, abs=0.001)

    # Busy afternoons, silent mornings: a surge at 23:00 gets 100 messages,
    # waits out 00:00-11:59, and needs 78.3 more from 12:00.
    half_day = expected_delays([0.0] * 12 + [100.0] * 12, 0.12, settings)
    assert half_day[12] == pytest.approx(steady[0])
    assert half_day[23] == pytest.approx(13 + 0.783 + 1 / 12, abs=0.001)
    assert half_day[0] == pytest.approx(12 + steady[0])

    assert expected_delays([0.0] * 24, 0.12, settings) == [None] * 24
    with pytest.raises(ValueError, match="one value per hour"):
        expected_delays([100.0] * 12, 0.12, settings)


def test_the_day_curve_averages_each_hour_over_the_period() -> None:
    monday = datetime(2026, 10, 5, tzinfo=timezone.utc)
    counts = [(monday.replace(hour=9), 30), (monday.replace(hour=9) + DAY, 10)]

    curve = day_curve(counts, monday, monday + 2 * DAY)

    assert curve[9] == 20 and sum(curve) == 20
    # A period from 09:00 to 10:00 has one 09:00 hour and nothing else.
    short = day_curve(counts[:1], monday.replace(hour=9), monday.replace(hour=10))
    assert short[9] == 30 and short[10] == 0.0
