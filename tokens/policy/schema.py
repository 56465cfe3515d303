"""The Cedar schema and the shipped default policy set: files next to this module, parsed once."""

import functools
from pathlib import Path

import cedarpy

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "schema.cedarschema"
DEFAULT_POLICY_PATH = HERE / "default.cedar"


@functools.cache
def schema_text() -> str:
    return SCHEMA_PATH.read_text()


@functools.cache
def schema_handle() -> cedarpy.Schema:
    return cedarpy.Schema.from_str(schema_text())


@functools.cache
def default_policy_text() -> str:
    return DEFAULT_POLICY_PATH.read_text()
