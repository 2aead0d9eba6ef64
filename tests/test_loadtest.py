"""The load generator's customers arrive and pause independently, as people do.

Customers that start together and pause alike send in waves, and each wave
queues behind itself however idle the server is between waves.
"""

from __future__ import annotations

import time
from collections import defaultdict

from aiohttp import web

from cluster.services import free_port
from scripts.loadtest import run_level

THINK_S = 0.4


async def test_customers_neither_arrive_nor_pause_in_lockstep() -> None:
    sent: dict[str, list[float]] = defaultdict(list)

    async def reply(request: web.Request) -> web.Response:
        sent[(await request.json())["sender"]].append(time.monotonic())
        return web.json_response([{"text": "Order ORD-1001 is on its way."}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", reply)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        result = await run_level("test", f"http://127.0.0.1:{port}", 10, 2.0, THINK_S)
    finally:
        await runner.cleanup()

    assert result.errors == 0 and result.think_s == THINK_S
    assert result.messages >= 30
    firsts = sorted(times[0] for times in sent.values())[:10]
    assert firsts[-1] - firsts[0] > THINK_S / 4  # spread over one pause
    gaps = [b - a for times in sent.values() for a, b in zip(times, times[1:])]
    assert all(0.5 * THINK_S - 0.01 < gap < 1.5 * THINK_S + 0.05 for gap in gaps)
    assert max(gaps) - min(gaps) > THINK_S / 4  # pauses differ
