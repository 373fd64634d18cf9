"""langdetect's profiles, loaded in a quarter of the time: each word's probabilities are built on first use.

`DetectorFactory.load_profile` turns the 55 shipped profiles into a dict of 87,000 words, each with a
list of one probability per language: 0.25-0.37 s of CPU (0.09 s here) in every process that detects anything (each
worker of a build), for the few thousand words the detector reads in a build's 100-odd undecided
documents. `load_factory` reads the same files in the same order (`os.listdir`, as langdetect does,
so the language indices agree) and gives the factory a dict with the same keys whose rows are
computed when the detector first asks for them, by the same arithmetic: the detector's answers are
the same to the last bit. The dict's values are None until then, so the cyclic garbage collector
has no 87,000 lists to walk either.
"""
from __future__ import annotations

import json
import os

from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY


class LazyWordProbabilities(dict):
    """word -> [probability of the word in each language], a row made on first `[]` (`in` is a plain dict lookup)."""

    def __init__(self, profiles: list[tuple[dict, list[int]]], row_length: int):
        super().__init__()
        for freq, _ in profiles:
            self.update(dict.fromkeys(freq))
        self._profiles = profiles
        self._row_length = row_length

    def __getitem__(self, word: str) -> list[float]:
        row = dict.__getitem__(self, word)
        if row is None:
            # DetectorFactory.add_profile: zeros, then each profile's frequency over its n-gram count of that length.
            row = [0.0] * self._row_length
            length = len(word)
            if 1 <= length <= 3:
                for index, (freq, n_words) in enumerate(self._profiles):
                    count = freq.get(word)
                    if count is not None:
                        row[index] = 1.0 * count / n_words[length - 1]
            dict.__setitem__(self, word, row)
        return row


def load_factory(seed: int, directory: str = PROFILES_DIRECTORY) -> DetectorFactory:
    """A seeded `DetectorFactory` equal to one that ran `load_profile(directory)`, with lazily built rows."""
    names = os.listdir(directory)
    if not names:  # what load_profile refuses too
        factory = DetectorFactory()
        factory.load_profile(directory)
        return factory
    languages: list[str] = []
    profiles: list[tuple[dict, list[int]]] = []
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if data["name"] in languages:
            raise ValueError(f"langdetect profile {path}: language {data['name']!r} twice")
        languages.append(data["name"])
        profiles.append((data["freq"], data["n_words"]))
    factory = DetectorFactory()
    factory.langlist = languages
    factory.word_lang_prob_map = LazyWordProbabilities(profiles, len(names))  # load_profile's row length: every listed file
    factory.set_seed(seed)
    return factory
