"""Which cores each process of a local pipeline (`citydesk run`, `citydesk bench`) may use.

The tagger is the slowest stage by far (`citydesk bench`: about 270 articles/s on one core, against about 750 for the
cleaner and 800 for the indexer). Left to the scheduler, a machine with fewer cores than busy processes gives each
runnable one an even share, the tagger's share shrinks whenever the cleaner, the indexer and the broker are busy
together, and the whole pipeline runs at that share. So each tagger gets a core of its own, from the last one down,
when one core is left after them; every other process (the cleaner, the indexer, the broker) shares the cores left.

Measured here (2 cores, 1,200 articles through tansu, one worker per stage; four passes each): 163–202 articles/s,
180 on average, left to the scheduler; 196–203, 200 on average, placed. Through Apache Kafka: 152–175 against
167–193. CITYDESK_CPU_PLACEMENT=off leaves it to the scheduler, as does a machine with one core.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

SHARED = "shared"  # the key of the cores every process without a core of its own uses


def plan(workers: Mapping[str, int], cores: Iterable[int], placement: str = "auto") -> dict[str, frozenset[int]]:
    """Cores by process: "tagger" and "tagger-1" … each one of its own (as many as there are cores but one), and
    SHARED for everything else. Empty when the placement is off or there are not more cores than taggers: then one
    tagger would share a core that another has alone, and taggers sharing out partitions end with the slowest."""
    available = sorted(cores)
    taggers = workers.get("tagger", 0)
    if placement == "off" or not 0 < taggers < len(available):
        return {}
    own = {worker_name("tagger", n): frozenset([available.pop()]) for n in range(taggers)}
    return {**own, SHARED: frozenset(available)}


def worker_name(stage: str, n: int) -> str:
    return stage if n == 0 else f"{stage}-{n}"


def place(pid: int, cores: frozenset[int] | None) -> None:
    """Limit every thread of a running process to these cores; the threads it starts later inherit them. A process
    or thread that has ended meanwhile is skipped."""
    if not cores:
        return
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return
    for tid in threads:
        try:
            os.sched_setaffinity(int(tid), cores)
        except (ProcessLookupError, PermissionError):
            continue
