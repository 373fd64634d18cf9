"""MinHash signatures and LSH clustering, checked against plain-Python definitions."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.text.minhash import (
    _probe_order,
    candidate_probability,
    estimated_jaccard,
    minhash_signatures,
    mix64,
    shingle_hashes,
    to_codepoints,
)
from builder.stages.dedup import DedupParams
from builder.text.minhash_lsh import band_keys, equal_key_pairs, flatten, near_duplicate_clusters, union
from test_dedup import chinese_text, true_jaccard

NUM_PERM = 256


def signatures(texts: list[str], ngram: int = 5, num_perm: int = NUM_PERM) -> np.ndarray:
    return minhash_signatures(*to_codepoints(texts), ngram, num_perm)


han_text = st.text(alphabet=st.sampled_from("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"), max_size=400)


@given(st.lists(han_text, min_size=1, max_size=6), st.integers(2, 7))
@settings(max_examples=40, deadline=None)
def test_a_signature_does_not_depend_on_the_other_texts_of_its_batch(texts, ngram):
    together = signatures(texts, ngram, 64)
    alone = np.vstack([signatures([t], ngram, 64) for t in texts])
    assert np.array_equal(together, alone)
    assert not together[[len(t) < ngram for t in texts]].any()  # no shingle: zero row


@given(st.integers(0, 10_000), st.floats(0.0, 0.9), st.integers(0, 300))
@settings(max_examples=40, deadline=None)
def test_estimated_jaccard_tracks_the_true_jaccard(seed, cut_share, appended):
    base = chinese_text(seed, 600)
    cut = int(len(base) * cut_share)
    other = base[cut:] + chinese_text(seed + 1, appended)
    true = true_jaccard(base, other)
    estimate = float(estimated_jaccard(*signatures([base, other])))
    # 5 standard deviations of a 256-slot estimate, plus room for densified short texts.
    assert abs(estimate - true) <= 5 * np.sqrt(true * (1 - true) / NUM_PERM) + 0.03


def test_identical_and_unrelated_texts():
    a, b = chinese_text(1), chinese_text(2)
    sig = signatures([a, a, b])
    assert estimated_jaccard(sig[0], sig[1]) == 1.0
    assert estimated_jaccard(sig[0], sig[2]) < 0.05
    with pytest.raises(ValueError, match="power of two"):
        signatures([a], num_perm=100)


def reference_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Smallest member of each node's connected component, by repeated relaxation."""
    label = list(range(n))
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            low = min(label[a], label[b])
            if label[a] != low or label[b] != low:
                label[a] = label[b] = low
                changed = True
    return label


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))))
@settings(max_examples=60, deadline=None)
def test_union_finds_connected_components_labelled_by_their_smallest_row(graph):
    n, edges = graph
    parent = np.arange(n, dtype=np.int64)
    # Edges arrive in two rounds, as they do band by band.
    for part in (edges[: len(edges) // 2], edges[len(edges) // 2 :]):
        a = np.array([e[0] for e in part], dtype=np.int64)
        b = np.array([e[1] for e in part], dtype=np.int64)
        union(parent, a, b)
    flatten(parent)
    assert parent.tolist() == reference_components(n, edges)


def test_equal_keys_pair_each_member_with_the_first_of_its_run():
    keys = mix64(np.array([5, 3, 5, 9, 3, 5], dtype=np.uint64))
    rows = np.array([10, 11, 12, 13, 14, 15])
    first, member = equal_key_pairs(keys, rows)
    assert sorted(zip(first.tolist(), member.tolist())) == [(10, 12), (10, 15), (11, 14)]


def test_clusters_skip_rows_that_are_not_searchable_and_pairs_below_threshold():
    base = chinese_text(5, 1500)
    half = base[: len(base) // 2] + chinese_text(6, len(base) // 2)
    texts = [base, base + "。", base[:-20], half]
    sig = signatures(texts)
    labels, stats = near_duplicate_clusters(sig, np.array([True, False, True, True]), 42, 6, 0.72)
    assert labels.tolist() == [0, 1, 0, 3]
    assert stats.verified_pairs >= 1 and stats.candidate_pairs >= stats.verified_pairs


def test_default_banding_catches_pairs_at_the_threshold_and_few_far_below():
    params = DedupParams()
    assert candidate_probability(params.threshold, params.bands, params.rows) > 0.999
    assert candidate_probability(0.3, params.bands, params.rows) < 0.05


def reference_signature(text: str, ngram: int, num_perm: int) -> list[int]:
    """One-permutation MinHash with optimal densification, bin by bin in plain Python."""
    hashes, _ = shingle_hashes(*to_codepoints([text]), ngram)
    shift = 64 - (num_perm.bit_length() - 1)
    minima: dict[int, int] = {}
    for h in hashes.tolist():
        minima[h >> shift] = min(minima.get(h >> shift, h), h)
    order = _probe_order(num_perm)
    filled = [minima.get(b, minima[next(p for p in order[b].tolist() if p in minima)]) for b in range(num_perm)]
    return [v & 0xFF for v in filled]


@pytest.mark.parametrize("characters", [6, 40, 300, 3000])
def test_signatures_match_a_plain_python_one_permutation_minhash(characters):
    texts = [chinese_text(seed, characters)[:characters] for seed in range(3)]
    assert signatures(texts, 5, 128).tolist() == [reference_signature(t, 5, 128) for t in texts]


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.integers(1, 12))
@settings(max_examples=50, deadline=None)
def test_band_pairs_are_exactly_the_rows_with_equal_band_slots(choices, rows_per_band):
    """Rows drawn from 6 distinct signatures: a band pairs rows iff their slots are equal."""
    rng = np.random.default_rng(len(choices))
    distinct = rng.integers(0, 256, size=(6, 32), dtype=np.uint8)
    distinct[1, :rows_per_band] = distinct[0, :rows_per_band]  # same band, different elsewhere
    sig = distinct[choices]
    rows = np.arange(len(choices)) * 3  # increasing, not 0..n-1
    first, member = equal_key_pairs(band_keys(sig, 0, rows_per_band), rows)
    expected = set()
    for i in range(len(choices)):
        same = [j for j in range(len(choices)) if (sig[j, :rows_per_band] == sig[i, :rows_per_band]).all()]
        if same[0] != i:
            expected.add((rows[same[0]], rows[i]))
    assert set(zip(first.tolist(), member.tolist())) == expected
