"""``docs/api.md``: the OpenAPI document (``openapi.document()``) as Markdown for people.

Regenerate with ``python -m trainer_runtime.api.schema.openapi --markdown > docs/api.md``; a
unit test compares the committed file with this rendering, so the page cannot go stale.
"""

from __future__ import annotations

from typing import Any

REF_PREFIX = "#/components/schemas/"
HEADER = """# The SparkTrainer runtime API (v1)

Generated from the daemon's OpenAPI document (`GET /v1/openapi.json`) by
`python -m trainer_runtime.api.schema.openapi --markdown > docs/api.md`; do not edit by hand.
The models live in `trainer_runtime/api/schema/` (one module per domain). The daemon serves
HTTP/JSON on a Unix socket (mode 0600); a refused request answers 4xx with `Error`
(`error`: a sentence, `problems`: the fields and why).
"""


def type_text(s: dict[str, Any]) -> str:
    """A JSON schema as a short type: ``JobRow``, ``list of string``, ``integer | null``."""
    if "$ref" in s:
        name = s["$ref"].removeprefix(REF_PREFIX)
        return f"[`{name}`](#{name.lower()})"
    if "const" in s:
        return f"`{s['const']!r}`".replace("'", '"')
    if "enum" in s:
        return " \\| ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in s["enum"])
    for key in ("anyOf", "oneOf"):
        if key in s:
            return " \\| ".join(type_text(x) for x in s[key])
    t = s.get("type")
    if t == "array":
        return f"list of {type_text(s.get('items', {}))}"
    if t == "object":
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            keys = s.get("propertyNames")
            key = f"{type_text(keys)} → " if keys else ""
            return f"map of {key}{type_text(extra)}"
        return "object"
    if isinstance(t, list):
        return " \\| ".join(t)
    if t == "string" and "format" in s:
        return f"string ({s['format']})"
    return str(t) if t else "any"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _fields(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties", {})
    if not props:
        return []
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, prop in props.items():
        desc = prop.get("description", "")
        if "default" in prop and name not in required:
            desc = f"{desc} (default `{prop['default']}`)".strip()
        if prop.get("readOnly"):
            desc = f"{desc} (computed)".strip()
        lines.append(
            f"| `{name}` | {type_text(prop)} | {'yes' if name in required else ''} | {_cell(desc)} |"
        )
    return lines


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    out = [f"### `{method.upper()} {path}`", "", op.get("summary", ""), ""]
    query = [p for p in op.get("parameters", []) if p["in"] == "query"]
    if query:
        out += ["Query:", "", "| parameter | type | required |", "|---|---|---|"]
        out += [
            f"| `{p['name']}` | {type_text(p['schema'])} | {'yes' if p['required'] else ''} |" for p in query
        ]
        out.append("")
    body = op.get("requestBody")
    if body:
        out += [f"Body: {type_text(body['content']['application/json']['schema'])}", ""]
    for status, answer in op["responses"].items():
        if status[0] != "2":
            continue
        for media, content in answer["content"].items():
            what = "each line" if media != "application/json" else "answer"
            out += [f"Answer `{status}` ({media}, {what}): {type_text(content['schema'])}", ""]
    return out


def render(doc: dict[str, Any]) -> str:
    out = [HEADER, f"API version {doc['info']['version']}.", "", "## Routes", ""]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            out += _operation(method, path, op)
    out += ["## Models", ""]
    for name, schema in doc["components"]["schemas"].items():
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [_cell(schema["description"]), ""]
        if "oneOf" in schema or "anyOf" in schema:
            out += [f"One of: {type_text(schema)}", ""]
        if "enum" in schema:
            out += [f"Values: {type_text(schema)}", ""]
        fields = _fields(schema)
        if fields:
            out += [*fields, ""]
    return "\n".join(out).rstrip() + "\n"


__all__ = ["render", "type_text"]
