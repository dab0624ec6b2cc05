"""Faults the reliability tests inject into a worker. Read only when CITYDESK_TEST_FAULTS is set: never set it in
production.

CITYDESK_TEST_FAULTS is a JSON object:
  {"stages": ["cleaner"],  # the stages it applies to (all when absent)
   "slow_s": 0.05}         # extra seconds per message, so that a batch is provably in flight when a test kills
and a message whose bytes contain one of these markers misbehaves in that stage:
  CITYDESK-FAULT-CRASH   the process dies with SIGSEGV, as a native crash in a parser would
  CITYDESK-FAULT-HANG    the function never returns
  CITYDESK-FAULT-MEMORY  a runaway allocation: MemoryError under an isolated run's memory limit; without a limit, the
                         process is killed with SIGKILL, as the kernel's OOM killer would
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from collections.abc import Callable

from pydantic import BaseModel

ENV = "CITYDESK_TEST_FAULTS"


def wrap(stage: str, function: Callable[[bytes], BaseModel]) -> Callable[[bytes], BaseModel]:
    raw = os.environ.get(ENV)
    if not raw:
        return function
    spec = json.loads(raw)
    if spec.get("stages") and stage not in spec["stages"]:
        return function
    slow_s = float(spec.get("slow_s", 0))

    def faulty(payload: bytes) -> BaseModel:
        if b"CITYDESK-FAULT-CRASH" in payload:
            os.kill(os.getpid(), signal.SIGSEGV)
        if b"CITYDESK-FAULT-HANG" in payload:
            while True:
                time.sleep(3600)
        if b"CITYDESK-FAULT-MEMORY" in payload:
            if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
                os.kill(os.getpid(), signal.SIGKILL)
            _ = bytearray(1 << 40)  # past any limit an isolated run sets
        if slow_s:
            time.sleep(slow_s)
        return function(payload)

    return faulty
