"""Write builder/text/opencc_characters.txt: the script evidence sets and the T->S character map.

    python benchmarks/make_opencc_characters.py DICTIONARY_DIR [--out builder/text/opencc_characters.txt]

DICTIONARY_DIR holds OpenCC's text dictionaries (`STCharacters.txt`, `TSCharacters.txt`,
`TWVariants.txt`, `HKVariants.txt`, `JPVariants.txt`: OpenCC's `data/dictionary/`, or the
`opencc/dictionary/` folder of the `opencc-python-reimplemented` package, whose 0.1.7 tables the
shipped file was made from). The builder ships the result instead of deriving it at start-up, so
it needs no dictionary text at run time and the sets do not move with the installed converter.

- Simplified-only: a key of `STCharacters.txt` (simplified -> traditional) that is not among its
  own traditional forms (`这`: 這), minus every character that a traditional standard also uses:
  keys of `TSCharacters.txt`, and both sides of `TWVariants.txt` and `HKVariants.txt` (Taiwan
  writes `峰` `群`, Hong Kong `温` `说` `户`).
- Traditional-only: a key of `TSCharacters.txt` that is not among its own simplified forms
  (`這`: 这), minus every key of `STCharacters.txt` (characters valid as simplified).
- Japanese-only kanji: the Japanese forms in `JPVariants.txt` (shinjitai such as 円 変 団 気) that
  OpenCC's Chinese tables do not know and that neither GB2312 nor Big5 encodes.
- t2s: each single traditional character of `TSCharacters.txt` and its first single-character
  simplified candidate (what the quality stage folds scripts with).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from common import REPO

HEADER = """\
# Character tables derived from OpenCC's dictionaries (OpenCC, Apache-2.0: STCharacters.txt,
# TSCharacters.txt, TWVariants.txt, HKVariants.txt, JPVariants.txt, as shipped in
# opencc-python-reimplemented {source}) by benchmarks/make_opencc_characters.py, which says how
# each table is derived. Read by builder/text/script.py (Simplified/Traditional/Japanese evidence)
# and builder/stages/quality/tables.py (the T->S fold). One table a line: its name, a tab, then
# its characters in code point order (t2s: pairs, the traditional character then its simplified one).
"""


def read_table(folder: Path, name: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    with open(folder / name, encoding="utf-8") as lines:
        for line in lines:
            key, _, values = line.rstrip("\n").partition("\t")
            if key and not key.startswith("#"):
                table[key] = values.split()
    return table


def _all_characters(table: dict[str, list[str]]) -> set[str]:
    return set(table) | {c for values in table.values() for c in values}


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def derive(folder: Path) -> dict[str, str]:
    s2t = read_table(folder, "STCharacters.txt")
    t2s = read_table(folder, "TSCharacters.txt")
    regional = _all_characters(read_table(folder, "TWVariants.txt")) | _all_characters(read_table(folder, "HKVariants.txt"))
    simplified_only = {s for s, forms in s2t.items() if len(s) == 1 and s not in forms}
    simplified_only -= set(t2s) | regional
    traditional_only = {t for t, forms in t2s.items() if len(t) == 1 and t not in forms}
    traditional_only -= set(s2t)
    chinese = _all_characters(s2t) | _all_characters(t2s)
    japanese_forms = {c for forms in read_table(folder, "JPVariants.txt").values() for c in forms}
    japanese_only = {c for c in japanese_forms - chinese if len(c) == 1 and not _encodable(c, "gb2312") and not _encodable(c, "big5")}
    pairs = {t: forms[0] for t, forms in t2s.items() if len(t) == 1 and forms and len(forms[0]) == 1}
    return {
        "simplified_only": "".join(sorted(simplified_only)),
        "traditional_only": "".join(sorted(traditional_only)),
        "japanese_only": "".join(sorted(japanese_only)),
        "t2s": "".join(t + s for t, s in sorted(pairs.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dictionary_dir", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "builder" / "text" / "opencc_characters.txt")
    parser.add_argument("--source", default="0.1.7", help="the package version the dictionaries came from (for the header)")
    args = parser.parse_args()
    tables = derive(args.dictionary_dir)
    text = HEADER.format(source=args.source) + "".join(f"{name}\t{chars}\n" for name, chars in tables.items())
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: " + ", ".join(f"{name} {len(chars) // (2 if name == 't2s' else 1):,}" for name, chars in tables.items()))


if __name__ == "__main__":
    main()
