"""The lazily read langdetect profiles are langdetect's own, row for row and answer for answer."""
from __future__ import annotations

from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY

from builder.text.langdetect_profiles import load_factory


def _eager(seed: int) -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(seed)
    return factory


def test_every_row_and_language_is_load_profiles():
    lazy, eager = load_factory(0), _eager(0)
    assert lazy.langlist == eager.langlist
    assert lazy.word_lang_prob_map.keys() == eager.word_lang_prob_map.keys()
    assert all(lazy.word_lang_prob_map[word] == row for word, row in eager.word_lang_prob_map.items())


def test_detections_are_the_same():
    texts = ["Hello world, this is an English sentence about the weather.", "Ceci est une phrase française.",
             "Das ist ein deutscher Satz.", "これは日本語の文です。", "这是一个中文句子，关于天气。", "1234 !!! ???"]
    lazy, eager = load_factory(7), _eager(7)
    for text in texts:
        answers = []
        for factory in (lazy, eager):
            detector = factory.create()
            detector.append(text)
            try:
                answers.append([(found.lang, found.prob) for found in detector.get_probabilities()])
            except Exception as err:  # langdetect's "no features in text": both must say it
                answers.append(type(err).__name__)
        assert answers[0] == answers[1], text
