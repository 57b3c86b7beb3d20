"""A meeting with 15 participants: submission-to-facilitator latency, memory per participant.

Fifteen protocol-level participants (websockets, as their pages speak) each submit one
estimate about every second, staggered, 20 each (300 in all), to a real
``deliberation serve``; the facilitator's console is connected too. The latency of a
submission is from sending it to the console receiving the view that shows it entered.
Memory per connected participant is the server's resident set with 100 more
participant sockets open, less the resident set before, over 100.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from tests.meeting_support import Client, meeting_review, serve  # noqa: E402

from _common import Budget  # noqa: E402

PARTICIPANTS, ESTIMATES, EXTRA_SOCKETS = 15, 20, 100


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _measure(served: object) -> tuple[list[float], float]:
    from tests.meeting_support import Served

    assert isinstance(served, Served)
    console = await Client.connect(served.facilitator)
    await console.wait_for(lambda c: c.states)
    latencies: list[float] = []

    def shown_at(pid: str, item: str, after: int) -> float | None:
        for index in range(after, len(console.frames)):
            state = console.states_by_frame.get(index)
            if state is None:
                continue
            entered = next(i for i in state["items"] if i["id"] == item)["entered"]
            if pid in entered:
                return console.arrived[index]
        return None

    async def participant(k: int) -> None:
        pid = f"p{k:02d}"
        client = await Client.connect(served.participant(pid))
        await asyncio.sleep(k / PARTICIPANTS)  # staggered over the second
        for n in range(ESTIMATES):
            item = f"item-{n:02d}"
            after = len(console.frames)
            sent = time.monotonic()
            answer = await client.submit(item, "0.1 to 0.3", f"{k + 1} to 100")
            assert answer["type"] == "ack", answer
            arrived = await console.wait_for(
                lambda _, item=item, after=after: shown_at(pid, item, after), timeout=30)
            latencies.append(arrived - sent)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - sent)))
        client.close()

    await asyncio.gather(*(participant(k) for k in range(PARTICIPANTS)))
    before = _rss_mb(served.process.pid)
    extra = [await Client.connect(served.participant(f"p{k % PARTICIPANTS:02d}"))
             for k in range(EXTRA_SOCKETS)]
    for client in extra:
        await client.wait_for(lambda c: c.states)
    await asyncio.sleep(1)
    per_participant = (_rss_mb(served.process.pid) - before) / EXTRA_SOCKETS
    for client in [*extra, console]:
        client.close()
    return latencies, per_participant


def main() -> list[Budget]:
    with tempfile.TemporaryDirectory(prefix="deliberation-meeting-bench-") as folder:
        path = meeting_review(Path(folder) / "r", participants=PARTICIPANTS, items=ESTIMATES)
        served = serve(path.parent)
        try:
            latencies, per_participant = asyncio.run(_measure(served))
        finally:
            served.stop()
    latencies.sort()
    median = statistics.median(latencies) * 1000
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    print(f"  {len(latencies)} submissions from {PARTICIPANTS} participants: median "
          f"{median:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print(f"  memory per connected participant: {per_participant * 1024:.0f} KB")
    return [
        Budget("meeting: submission to facilitator view, p95 (15 participants)", p95, 1000,
               "ms", note=f"median {median:.0f} ms"),
        Budget("meeting: server memory per connected participant", per_participant, 1.0, "MB",
               note="our own bound; DESIGN.md sets none"),
    ]


if __name__ == "__main__":
    for budget in main():
        print(budget.line())
