"""The cleaner is near-linear in lines (issue 12, item 7).

Proves: cleaning 24,000 distinct lines costs about six times what 4,000 cost (the ratio of CPU times, best of
two, must stay under 12; the earlier quadratic cleaner gave about 36), and lines past MAX_LINES are not read.
Does not prove: absolute speed (that is `citydesk bench`'s job), nor anything about trafilatura on HTML.
"""

from __future__ import annotations

import time

from services.cleaner.core import clean_text
from services.cleaner.text import MAX_LINES


def _page(n: int) -> str:
    """A headline and n distinct lines: short non-sentences, one-sentence and two-sentence paragraphs."""
    out = ["한빛시, 누리시와 교류 협약"]
    for k in range(n):
        if k % 3 == 0:
            out.append(f"{k}번 항목 제목 줄 {k * 7}")
        elif k % 3 == 1:
            out.append(f"한빛시는 {k}번째 사업으로 누리시와 교류 협력 방안 {k * 3}가지를 논의했다고 밝혔다.")
        else:
            out.append(f"두 도시는 {k}일부터 {k + 1}일까지 청소년 {k * 2}명을 서로 보내기로 했다. 시는 예산 {k}억원을 마련했다.")
    return "\n".join(out)


def _cpu_seconds(text: str) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        clean_text(text)
        best = min(best, time.process_time() - started)
    return best


def test_cleaning_time_grows_about_linearly_with_lines():
    small, large = _cpu_seconds(_page(4_000)), _cpu_seconds(_page(24_000))
    assert large / small < 12, f"4,000 lines: {small:.3f}s, 24,000 lines: {large:.3f}s (ratio {large / small:.1f})"


def test_lines_past_the_cap_are_not_read():
    verdicts, _ = clean_text("\n".join(f"{k}번째 줄" for k in range(MAX_LINES + 5)))
    assert [v.reason for v in verdicts[-5:]] == ["beyond_line_cap"] * 5
    assert all(v.reason != "beyond_line_cap" for v in verdicts[:MAX_LINES])
