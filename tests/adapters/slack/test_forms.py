"""Interaction forms are read by ``interaction_payload`` (yarl's C unquoting) where bolt's
``parse_body`` (urllib) would read them: the two must agree on every body."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body

from adapters.slack.payloads import interaction_payload

FORM = "application/x-www-form-urlencoded"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
def test_a_form_with_a_json_payload_reads_as_bolt_reads_it(value: object) -> None:
    for body in (
        urlencode({"payload": json.dumps(value)}),
        "payload=" + quote(json.dumps(value, ensure_ascii=False), safe=""),
    ):
        assert interaction_payload(body) == parse_body(body, FORM)


@pytest.mark.parametrize(
    "raw",
    [
        '{"a":"x;y"}',
        '{"a":"%zz"}',
        '{"a":"%"}',
        '{"a":"#"}',
        '{"a":"ü"}',
        '{"a":"a b"}',
        # what msgspec refuses and json takes: read by json
        '{"a":NaN}',
        '{"a":1e400}',
        '{"a":"\\ud800"}',
        '{"a":123456789012345678901234567890}',
    ],
)
def test_odd_but_signed_bodies_read_as_bolt_reads_them(raw: str) -> None:
    body = "payload=" + raw
    assert interaction_payload(body) == parse_body(body, FORM)


@pytest.mark.parametrize("body", ["command=%2Fritme&text=help", "payload=%7B%7D&other=1", "text=payload", ""])
def test_other_bodies_are_left_to_bolt(body: str) -> None:
    assert interaction_payload(body) is None
