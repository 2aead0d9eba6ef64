"""Fault injection while customers are chatting: nothing lost, a clear answer.

Each scenario breaks one part of the running cluster (tests/cluster/conftest.py),
puts it back, and reports: messages sent, answered, apologised for, lost (must
be 0) and duplicated writes (must be 0). The reports are printed at the end of
the test run and written to tests/artifacts/fault-report.txt.
"""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from actions.db.models import AuditLog, Order, OrderStatus
from cluster.topology import Cluster, ClusterSettings
from stores.lock_store import DEFAULT_HOLDER_TIMEOUT_SECONDS
from tests.cluster.conftest import say, texts
from tests.cluster.traffic import FaultReport, cluster_traffic
from tests.conftest import REPO_ROOT
from tests.prometheus_text import scrape, total

pytestmark = pytest.mark.e2e

REPORTS: list[FaultReport] = []
REPORT_FILE = REPO_ROOT / "tests" / "artifacts" / "fault-report.txt"
OUTAGE_S = 15
# Locks Redis lost wait this long at most for a holder that may still be working.
LOCK_LIFETIME_S = ClusterSettings.lock_lifetime_s
# A replica that dies holding a conversation's lock holds it up this long at most.
HOLDER_TIMEOUT_S = DEFAULT_HOLDER_TIMEOUT_SECONDS


def record(report: FaultReport) -> FaultReport:
    REPORTS.append(report)
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text("\n".join(r.line() for r in REPORTS) + "\n")
    return report


def assert_nothing_lost(report: FaultReport) -> None:
    assert report.sent > 0 and report.answered > 0, report.line()
    assert report.lost == 0, "\n".join(report.failures)
    assert report.duplicated_writes == 0, report.line()


def database_failures(cluster: Cluster) -> float:
    """Messages and action calls that failed on the database, on /metrics."""
    replicas = [f"{cluster.replica_url(i)}/metrics" for i in range(2)]
    actions = f"http://127.0.0.1:{cluster.actions_port}/metrics"
    return sum(
        total(scrape(url), "assistant_message_failures_total", cause="database")
        for url in replicas
    ) + total(scrape(actions), "assistant_action_database_errors_total")


def test_postgres_outage_is_apologised_for_and_loses_nothing(cluster: Cluster) -> None:
    failures_before = database_failures(cluster)
    with cluster_traffic(cluster) as traffic:
        time.sleep(2)
        cluster.postgres.stop()
        time.sleep(OUTAGE_S)
        cluster.postgres.start()
        time.sleep(5)
    report = record(traffic.report("PostgreSQL stopped for 15 s"))
    assert_nothing_lost(report)
    assert report.apologised > 0, report.line()
    assert database_failures(cluster) > failures_before  # operators see it too


def cancellations(database_url: str, number: str) -> tuple[OrderStatus, int]:
    engine = create_engine(database_url, future=True)
    try:
        with Session(engine) as session:
            status = session.scalars(
                select(Order.status).where(Order.number == number)
            ).one()
            audits = session.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.target == number, AuditLog.action == "cancel_order")
            )
            return status, audits
    finally:
        engine.dispose()


def test_action_server_crash_is_apologised_for_and_no_order_cancelled_twice(
    cluster: Cluster,
) -> None:
    customer = f"cancel-{uuid.uuid4().hex[:8]}"
    assert "email address" in texts(say(cluster.url, customer, "cancel order ORD-1002"))
    assert "Cancel order ORD-1002?" in texts(
        say(cluster.url, customer, "alice@example.com")
    )
    assert cluster.actions is not None
    with cluster_traffic(cluster) as traffic:
        time.sleep(1)
        cluster.actions.kill()
        reply = texts(say(cluster.url, customer, "/affirm"))
        assert "I can't reach our order system right now" in reply
        time.sleep(2)
        cluster.actions.start()
        time.sleep(2)
        # The next attempt works; repeating it is harmless.
        for _ in range(2):
            say(cluster.url, customer, "cancel order ORD-1002")
            say(cluster.url, customer, "/affirm")
    status, audits = cancellations(cluster.database_url, "ORD-1002")
    assert status is OrderStatus.CANCELLED
    report = record(
        traffic.report("action server killed and restarted", max(audits - 1, 0))
    )
    assert_nothing_lost(report)
    assert report.apologised > 0, report.line()
    assert audits == 1


def test_redis_restart_leaves_no_conversation_stuck(cluster: Cluster) -> None:
    with cluster_traffic(cluster) as traffic:
        time.sleep(2)
        cluster.redis.restart()
        time.sleep(5)
    report = record(traffic.report("Redis restarted"))
    assert_nothing_lost(report)
    assert report.slowest_reply_s < LOCK_LIFETIME_S + 5, report.line()


def test_a_killed_replica_is_covered_by_the_other(cluster: Cluster) -> None:
    customer = f"failover-{uuid.uuid4().hex[:8]}"
    assert "email address" in texts(
        say(cluster.replica_url(0), customer, "where is my order ORD-1001?")
    )
    with cluster_traffic(cluster) as traffic:
        time.sleep(2)
        cluster.replicas[0].kill()
        time.sleep(1)
        reply = texts(say(cluster.url, customer, "alice@example.com"))
        time.sleep(3)
    assert "Order ORD-1001 is on its way with UPS." in reply
    report = record(traffic.report("a Rasa replica killed with kill -9"))
    assert_nothing_lost(report)
    assert report.slowest_reply_s < HOLDER_TIMEOUT_S + 10, report.line()
    cluster.replicas[0].start()  # the next tests find both replicas again
