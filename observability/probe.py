"""`python -m observability.probe URL [TIMEOUT]`: exit 0 when URL answers HTTP 200, else 1 with the answer.

The container health checks use it (the image has no curl):
    python -m observability.probe http://127.0.0.1:8081/readyz
"""

import sys
import urllib.error
import urllib.request


def probe(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200, f"{r.status} {r.read().decode(errors='replace')}"
    except urllib.error.HTTPError as e:
        return False, f"{e.code} {e.read().decode(errors='replace')}"
    except OSError as e:
        return False, f"no answer: {e}"


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    ok, answer = probe(argv[0], float(argv[1]) if len(argv) == 2 else 5.0)
    print(answer, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
