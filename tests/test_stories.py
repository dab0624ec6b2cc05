"""Stories and copies: the pure placement on our own fixtures (an event told by three outlets, one of them a
portal copy; the same city pair a month later; a wire rewrite), and its rules one by one.

Proves: pairwise story and copy precision/recall on the fixtures in both arrival orders; a copy points to the
earliest copy even when it arrives first; re-feeding changes nothing; an updated article may move; a later
article that bridges two stories merges them; the in-memory window stays bounded.
Does not prove: the stream's store-backed window, nor the real-page figures (`citydesk eval --stories`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import CleanArticle, Person, Relation
from services.stories.core import Candidate, Fingerprint, decide, fingerprint, load_params
from services.stories.evaluation import assign, fixture_set, score
from services.stories.window import MemoryWindow, place
from services.tagger import tag

FIXTURES = Path(__file__).parent / "fixtures" / "stories"


def test_fixture_stories_and_copies_in_either_order():
    articles, stories, duplicates = fixture_set(FIXTURES)
    for order in (articles, list(reversed(articles))):
        assigned = assign(order)
        result = score(assigned, stories, duplicates)
        assert (result["story"]["precision"], result["story"]["recall"]) == (1.0, 1.0), result["story"]
        assert (result["duplicate"]["precision"], result["duplicate"]["recall"]) == (1.0, 1.0), result["duplicate"]
        # The portal copy points to the press release it copies, whichever came in first.
        assert assigned["s03_daegu_chengdu_portal_copy"][1] == "s01_daegu_chengdu_release"
        assert assigned["s01_daegu_chengdu_release"][1] is None


def _article(article_id: str, body: str, day: int, pair: tuple[str, str] | None = None,
             people: tuple[str, ...] = ()):
    clean = CleanArticle(id=article_id, title=body[:20], body=body,
                         published_at=datetime(2025, 5, 1) + timedelta(days=day))
    t = tag(clean)
    relations = [Relation(korean_party=pair[0], partner=pair[1], partner_country="CN", kinds=["visit"])] if pair else []
    return t.model_copy(update={"relations": relations, "people": [Person(name=p) for p in people]})


TEXT_A = "대구시는 청두시와 로봇 산업 공동 연구를 시작한다고 밝혔다. 두 도시는 연구소 세 곳을 함께 세우기로 했다."
TEXT_B = "수원시는 하노이시와 교통 신호 체계 개선 사업을 함께 추진하기로 했다. 수원 기업 다섯 곳이 참여한다."


def test_refeeding_an_article_keeps_its_story_and_an_update_may_move_it():
    window = MemoryWindow()
    a = fingerprint(_article("a", TEXT_A, 0, ("대구광역시", "청두시")))
    b = fingerprint(_article("b", TEXT_A.replace("세 곳", "네 곳"), 0, ("대구광역시", "청두시")))
    for fp in (a, b):
        window.add(fp, place(fp, window))
    story = window.placed["b"][1].story_id
    again = place(b, window)
    assert again.story_id == story and len(window) == 2
    moved = fingerprint(_article("b", TEXT_B, 0, ("수원시", "하노이시")))
    assert place(moved, window).story_id != story


def test_an_article_that_bridges_two_stories_merges_them():
    window = MemoryWindow()
    first = fingerprint(_article("x", TEXT_A, 0, ("대구광역시", "청두시"), ("홍준표",)))
    second = fingerprint(_article("y", TEXT_B, 0, ("대구광역시", "청두시"), ("왕펑",)))
    window.add(first, place(first, window))
    window.add(second, place(second, window))  # same pair, nothing else shared and little text: apart
    assert window.placed["x"][1].story_id != window.placed["y"][1].story_id
    bridge = fingerprint(_article("z", TEXT_A + " " + TEXT_B, 0, ("대구광역시", "청두시"), ("홍준표", "왕펑")))
    decision = place(bridge, window)
    window.add(bridge, decision)
    assert {window.placed[i][1].story_id for i in "xyz"} == {decision.story_id}


def test_the_window_forgets_what_is_older_than_it():
    window = MemoryWindow()
    for day in range(300):
        fp = fingerprint(_article(f"d{day}", f"{TEXT_A} {day}일째 소식", day, ("대구광역시", "청두시")))
        window.add(fp, place(fp, window))
    assert len(window) <= 2 * load_params().window_days + 1
    assert len(window.by_key) <= len(window) * len(fp.keys)  # keys of forgotten articles are forgotten too


signatures = st.lists(st.integers(0, 3), min_size=128, max_size=128).map(lambda v: np.array(v, dtype=np.uint64))


@settings(max_examples=60, deadline=None)
@given(signatures, st.lists(st.tuples(signatures, st.sampled_from(["s-1", "s-2", "s-3"]),
                                      st.sampled_from([None, "c0", "c1"])), max_size=6))
def test_a_decision_never_points_to_itself_and_joins_only_known_stories(sig, others):
    fp = Fingerprint("new", None, sig, (), frozenset(), frozenset())
    candidates = [Candidate(f"c{i}", None, s, frozenset(), frozenset(), story, dup)
                  for i, (s, story, dup) in enumerate(others)]
    decision = decide(fp, candidates)
    assert decision.duplicate_of != "new"
    assert decision.story_id in {"s-new"} | {c.story_id for c in candidates}
    assert all(article_id != "new" for article_id in decision.relabel)


def test_the_signature_is_datasketchs_minhash_of_the_shingle_hashes():
    """fingerprint hashes all shingles in one array pass and permutes them without datasketch's Python loop: the
    signature must stay the one datasketch's own MinHash (affine32, its default) gives for the same hash values."""
    from datasketch import MinHash

    from services.stories.core import minhash_signature, normalised_text, shingle_hashes

    params = load_params()
    for text in (TEXT_A, TEXT_B, "짧은 글", ""):
        article = tag(CleanArticle(id="x", title=text[:12], body=text or "본문"))
        hashes = shingle_hashes(normalised_text(article), params.shingle_size)
        reference = MinHash(num_perm=params.num_perm, seed=1, hashfunc=lambda value: value)
        reference.update_batch(hashes.tolist())
        assert (fingerprint(article).signature == reference.hashvalues.astype(np.uint64)).all()
    assert (minhash_signature(shingle_hashes("", 4), params.num_perm) == (1 << 32) - 1).all()


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="가나다라마바사아자차카타파하대구청두시협력교류0123456789", min_size=0, max_size=400),
       st.text(alphabet="가나다라마바사아자차카타파하대구청두시협력교류0123456789", min_size=0, max_size=400))
def test_the_shingle_hashes_stand_for_the_shingle_sets(left, right):
    """One hash per distinct shingle (equal shingles hash equal, different ones apart), so the signatures estimate
    the exact Jaccard similarity of the shingle sets: within 0.2 at 128 permutations (four standard deviations at
    the worst, J = 0.5)."""
    from services.stories.core import jaccard, minhash_signature, shingle_hashes, shingles

    params = load_params()
    for text in (left, right):
        assert len(shingle_hashes(text, params.shingle_size)) == len(shingles(text, params.shingle_size))
    a, b = shingles(left, params.shingle_size), shingles(right, params.shingle_size)
    if not a or not b:
        return
    exact = len(a & b) / len(a | b)
    estimate = jaccard(minhash_signature(shingle_hashes(left, params.shingle_size), params.num_perm),
                       minhash_signature(shingle_hashes(right, params.shingle_size), params.num_perm))
    assert abs(estimate - exact) <= 0.2, (exact, estimate)


def test_a_signature_stored_before_the_hash_changed_compares_as_unrelated_text():
    import base64

    from services.stories.core import SIGNATURE_SCHEME, decode_signature, jaccard

    article = tag(CleanArticle(id="x", title=TEXT_A[:12], body=TEXT_A))
    fp = fingerprint(article)
    assert (decode_signature(fp.encoded_signature()) == fp.signature).all()
    legacy = base64.b64encode(fp.signature.astype("<u8").tobytes()).decode("ascii")  # no scheme prefix
    assert not legacy.startswith(SIGNATURE_SCHEME)
    assert jaccard(fp.signature, decode_signature(legacy)) == 0.0
