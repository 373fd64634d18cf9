"""Each stage on adversarial single documents (long runs, no line breaks, dense junk).

    python benchmarks/bench_worst_case.py [--scale 1]

Prints seconds per stage and case. Every stage should stay roughly linear in the input:
compare a case at --scale 1 and --scale 10. A document that makes a stage quadratic stalls a
whole build, so look here after touching any per-character loop.
"""
from __future__ import annotations

import argparse
import random
import time

from builder.stages import STAGES, Batch


def cases(scale: int) -> dict[str, str]:
    rng = random.Random(0)
    n = 100_000 * scale
    return {
        "digits, one line": "1234567890" * (n // 10),
        "Chinese, one line": "中文测试句子，" * (n // 7),
        "Chinese, short lines": "中文测试句子。\n" * (n // 8),
        "phone numbers": "电话13812345678，" * (n // 15),
        "spam keywords": "无码|毛片|百家乐|" * (n // 9),
        "pinyin glued": "據(jù)" * (n // 5),
        "Latin-1 mojibake": "".join(rng.choice("Ã¦Ã¤Â¸Ã©Ã¨Ã¥Ã¯Â¼Ã§ abc") for _ in range(n)),
        "UTF-8 read as GBK": "我们在行动，这是一个测试。".encode("utf-8").decode("gbk", "replace") * (n // 20),
        "random Han": "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n)),
        "random BMP": "".join(chr(rng.randint(0x20, 0xD7FF)) for _ in range(n)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="documents of 100,000 × scale characters")
    args = parser.parse_args()
    stages = {name: cls(cls.Params()) for name, cls in sorted(STAGES.items())}
    print(f"{'case':<24}" + "".join(f"{name:>11}" for name in stages))
    for case, text in cases(args.scale).items():
        row = f"{case:<24}"
        for stage in stages.values():
            batch = Batch({"id": ["x"], "text": [text], "_source": ["case"], "mojibake_ratio": [0.0]})
            started = time.perf_counter()
            stage(batch)
            row += f"{time.perf_counter() - started:>10.2f}s"
        print(row, flush=True)


if __name__ == "__main__":
    main()
