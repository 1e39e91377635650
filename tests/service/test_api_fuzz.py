"""schemathesis against the service's own OpenAPI schema, on a loopback port.

The real service over a throwaway real index (the fuzzer holds an admin key,
so a DELETE it got right would change the index), with the generators that
need no model: the local model file is missing (answers fall back to the
extractive generator) and the OpenAI-compatible server is a closed port.
Every operation gets schema-valid and schema-invalid requests; every check
schemathesis has runs on each response (no 5xx, documented status codes,
content types and headers, bodies that match the declared schemas, invalid
input refused, authentication enforced) except `positive_data_acceptance`:
a schema-valid request is still refused with 422 when it breaks a limit set
in the settings (`service.max_question_chars`, `retrieval.max_top_k`) or
names an unknown metadata key, and the body says which.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.service.app import create_app
from rag.settings import build_settings
from tests.conftest import write_facts
from tests.service_helpers import running_service

ADMIN, USER = "fuzz-admin-key", "fuzz-user-key"
EXAMPLES = 25  # per operation and mode: about 400 requests in all
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in create_app(build_settings(use_env=False)).openapi()["paths"].items()
    for method in item
)


@pytest.fixture(scope="module")
def fuzzed_service(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzz")
    data = {
        "index_dir": root / "index",
        "service": {"user_keys": [USER], "admin_keys": [ADMIN], "reload_interval_s": 0},
        "llm": {"model_path": str(root / "no-model.gguf")},
        "openai": {"base_url": "http://127.0.0.1:9/v1", "timeout_s": 2},
    }
    service_settings = build_settings(data, use_env=False)
    run_ingest(service_settings, Options([write_facts(root / "corpus")]), lambda: real_embedder)
    with running_service(service_settings, real_embedder) as client:
        yield str(client.base_url)


REJECTED_BY_DEFAULT = list(
    schemathesis.Config.from_dict(
        {}
    ).projects.default.checks.negative_data_rejection.expected_statuses
    or []
)


@pytest.fixture(scope="module")
def live_schema(fuzzed_service: str) -> schemathesis.BaseSchema:
    # The admin key for the bearer scheme the schema declares; the `ignored_auth`
    # check sends requests again without it and with a wrong one.
    # 413 rejects a schema-violating body too: one too large to be read at all.
    rejected = [*REJECTED_BY_DEFAULT, "413"]
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"HTTPBearer": {"bearer": ADMIN}}},
            "checks": {"negative_data_rejection": {"expected-statuses": rejected}},
        }
    )
    return schemathesis.openapi.from_url(f"{fuzzed_service}/openapi.json", config=config)


def test_the_live_schema_lists_the_routes(live_schema: schemathesis.BaseSchema) -> None:
    live = sorted(result.ok().label for result in live_schema.get_all_operations())
    assert live == OPERATIONS
    assert "/v1/search" in " ".join(live) and "DELETE /v1/documents/{doc_id}" in live


@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    live_schema: schemathesis.BaseSchema, label: str
) -> None:
    operation = next(r.ok() for r in live_schema.get_all_operations() if r.ok().label == label)
    statuses: Counter[int] = Counter()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same cases on every run: CI does not flake
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                excluded_checks=[positive_data_acceptance],
                timeout=60,
            )
            statuses[response.status_code] += 1

        try:
            fuzz()
        except Unsatisfiable:  # nothing to make invalid: no body, query or typed parameter
            assert mode is GenerationMode.NEGATIVE
    print(label, dict(sorted(statuses.items())))  # the figures the README quotes
    assert statuses and not any(code >= 500 for code in statuses)
