"""Every API connector's page (the contract's shape of it, tests/connectors/test_contract.py), mutated like the
exports (tests/fixtures/mutations.py: fields dropped, retyped, blown up, control characters): the read returns
what it could and reports the rest, or fails as one SourceError naming the source; nothing else leaves it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from tests.connectors.fake_time import FakeTime
from tests.connectors.test_contract import SHAPES, Shape, connector
from tests.fixtures.mutations import mutated, read_all

SEEDS = range(24)


def cases() -> list[Any]:
    return [pytest.param(shape, seed, id=f"{shape.name}-{seed}") for shape in SHAPES for seed in SEEDS]


@pytest.mark.httpx_mock(assert_all_responses_were_requested=False, assert_all_requests_were_expected=False)
@pytest.mark.parametrize(("shape", "seed"), cases())
def test_a_mutated_api_page_is_read_or_fails_as_one_source_error(
    shape: Shape, seed: int, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    rng = random.Random(f"{shape.name}:{seed}")
    for body in shape.preamble:
        httpx_mock.add_response(json=mutated(body, rng) if seed % 2 else body)
    body, headers = shape.page([shape.item(i) for i in range(4)], None)
    httpx_mock.add_response(json=mutated(body, rng), headers=headers)
    source = connector(shape, tmp_path, FakeTime())

    signals, error = read_all(source.read_api(None))
    if error is not None:
        assert str(error).startswith(f"{shape.name}: "), error
    for signal in signals:
        assert signal.source_key.startswith(f"{shape.name}:"), signal.source_key
