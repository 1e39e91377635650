"""Exit codes, mapped from error classes in one place.

0  success
1  partial: the run finished but some input files failed (each is reported)
2  usage: bad arguments or settings
3  index: no index, locked by another ingest, mismatched or damaged
4  runtime: any other expected failure
"""

from __future__ import annotations

from rag.errors import ConfigError, IndexStateError, RagError

OK = 0
PARTIAL = 1
USAGE = 2
INDEX = 3
RUNTIME = 4


def exit_code(error: RagError) -> int:
    if isinstance(error, ConfigError):
        return USAGE
    if isinstance(error, IndexStateError):
        return INDEX
    return RUNTIME
