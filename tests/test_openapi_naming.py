"""Tool names and input schemas as Executor derives them (definitions.ts, extract.ts)."""

from __future__ import annotations

from executor_local.integrations.openapi.compile import compile_spec
from executor_local.integrations.openapi.naming import camel, stable_hash


def names(paths: dict, **doc) -> list[str]:
    spec = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths, **doc}
    return [t.name for t in compile_spec(spec).listing.tools]


def op(**kw) -> dict:
    return {"responses": {"200": {"description": "ok"}}, **kw}


def test_group_from_tag_else_first_meaningful_path_segment():
    assert names({"/api/v2/{org}/Zone-Records": {"get": op()}}) == [
        "zoneRecords.getApiV2OrgZoneRecords"]
    assert names({"/x": {"get": op(tags=["DNS Records"], operationId="dns_records/listAll")}}) \
        == ["dnsRecords.listAll"]
    assert names({"/x": {"get": op(tags=["zones"], operationId="zones.listZones")}}) == [
        "zones.listZones"]
    assert names({"/": {"post": op()}}) == ["root.post"]
    assert names({"/users/{id}/keys": {"get": op(operationId="getUserKeys")}}) == [
        "users.getUserKeys"]


def test_x_executor_tool_path_overrides():
    assert names({"/a": {"get": op(**{"x-executor-toolPath": "custom.deep.name"})}}) == [
        "custom.deep.name"]


def test_collisions_get_version_then_method_then_hash():
    assert names({"/v1/items": {"get": op(operationId="list")},
                  "/v2/items": {"get": op(operationId="list")}}) == [
        "items.v1.list", "items.v2.list"]
    assert names({"/items": {"get": op(operationId="list"), "post": op(operationId="list")}}) \
        == ["items.listGet", "items.listPost"]
    same = {"/items": {"get": op(operationId="list")}, "/items/": {"get": op(operationId="list")}}
    assert names(same) == sorted([f"items.listGet{stable_hash('get', p, 'list')}"
                                  for p in ("/items", "/items/")], key=str.casefold)


def test_camel_case_matches_executor_word_split():
    assert camel("HTTPServerError") == "httpServerError"
    assert camel("list_all-the things") == "listAllTheThings"
    assert camel("***") == "tool"
    # Checked against Executor's JavaScript with node:
    assert stable_hash("get", "/v1/items", "get_v1_items") == "005afdbs"
    assert stable_hash("post", "/pets/{petId}", "ünï") == "00uhgzc1"


def test_body_content_types_servers_and_openapi_30_nullable():
    spec = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://{region}.example.com/v1",
                     "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}},
                    {"url": "https://backup.example.com"}],
        "paths": {"/files": {"put": op(requestBody={"required": True, "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "name": {"type": "string", "nullable": True}}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}})}},
    }
    tool = compile_spec(spec).listing.tools[0]
    schema = tool.input_schema
    assert set(schema["properties"]) == {"server", "body", "bodyBase64", "contentType"}
    assert schema["anyOf"] == [{"required": ["body"]}, {"required": ["bodyBase64"]}]
    assert schema["properties"]["body"]["properties"]["name"]["type"] == ["string", "null"]
    assert schema["properties"]["contentType"]["enum"] == ["application/json",
                                                           "application/octet-stream"]
    server = schema["properties"]["server"]["properties"]
    assert server["url"]["enum"] == ["https://{region}.example.com/v1",
                                     "https://backup.example.com"]
    assert server["variables"]["properties"]["region"]["enum"] == ["eu", "us"]
    assert schema["additionalProperties"] is False
