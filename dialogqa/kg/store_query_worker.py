"""Runs one SPARQL query on a store, in a child process of ``StoreKG.query``.

pyoxigraph evaluates in Rust and holds the GIL while it does (measured: a waiting Python
thread never ran during a 3-way cross-product COUNT), so no thread can stop it; a child
process can be killed at the timeout, and its memory goes with it.

Run as a script (not ``-m``) so it imports nothing but pyoxigraph: stdin is one JSON object
``{"store": DIR, "query": TEXT, "rows": N or null}``; stdout is one JSON line
``{"variables": [...]}`` or ``{"boolean": B}``, then one line per row (at most N + 1),
each term ``null`` or ``[kind, value, language, datatype]``; or ``{"error": MESSAGE}``.
"""

import json
import sys

import pyoxigraph as ox


def _term(t):
    if t is None:
        return None
    if isinstance(t, ox.NamedNode):
        return ["uri", t.value, "", ""]
    if isinstance(t, ox.BlankNode):
        return ["bnode", t.value, "", ""]
    if isinstance(t, ox.Literal):
        return ["literal", t.value, t.language or "", t.datatype.value]
    raise TypeError(f"unsupported term {t!r}")  # RDF-star triple terms


def main() -> int:
    request = json.loads(sys.stdin.read())
    out = sys.stdout
    try:
        store = ox.Store.read_only(request["store"])
        result = store.query(request["query"], use_default_graph_as_union=True)
        if isinstance(result, ox.QueryBoolean):
            out.write(json.dumps({"boolean": bool(result)}) + "\n")
            return 0
        variables = list(result.variables)
        out.write(json.dumps({"variables": [v.value for v in variables]}) + "\n")
        out.flush()
        cap = request.get("rows")
        for n, solution in enumerate(result):
            if cap is not None and n > cap:  # one past the cap says "there is more"
                break
            out.write(json.dumps([_term(solution[v]) for v in variables]) + "\n")
    except (SyntaxError, OSError, ValueError, TypeError) as exc:
        out.write(json.dumps({"error": " ".join(str(exc).split())}) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
