#!/usr/bin/env python
"""Knowledge-graph backends at 10K, 100K and 1M triples, side by side with plain rdflib.

    python benchmarks/kg_bench.py                       # all sizes (1M takes a few minutes)
    python benchmarks/kg_bench.py --sizes 10000,100000  # quick
    nice python benchmarks/kg_bench.py --json benchmarks/kg_bench.json

For each size it generates a synthetic N-Triples graph (entities with English labels, some
French and alternative labels, a type and 4-10 other edges each; labelled predicates and
classes) plus questions about it (a tenth with a typo), then measures, each in a fresh
subprocess so peak memory (ru_maxrss) is that step's alone:

  rdflib  Graph().parse of the file (the baseline)
  memory  dialogqa's in-memory backend: load, label index, retrieval (up to --memory-max)
  store   `dialogqa kg load`: first load, then reopen and retrieval in a new process

Retrieval is dialogqa.kg.retriever.Retriever(kg, k=30).retrieve(question, history=[]);
search is entity linking alone.  Prints a table; --json writes every number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tables import print_table  # benchmarks/tables.py

RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SKOS_ALT = "<http://www.w3.org/2004/02/skos/core#altLabel>"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
XSD_INT = "<http://www.w3.org/2001/XMLSchema#integer>"
EX = "http://bench.dialogqa.dev/"
SYLLABLES = ("ka lo mi ra te su no va ri el an to ber gen dal mor sen vik ul os par lin dor fa "
             "hel ja qu ze bi cor ste wal ham ing ton ville ford ada ric mar co lu").split()
RELATIONS = ("capital", "country", "founder", "population", "area", "mayor", "river", "language",
             "currency", "neighbour", "author", "spouse", "birth place", "employer", "member of",
             "located in", "head of state", "official name", "twin town", "part of")


# -- data -----------------------------------------------------------------------------------

def generate(path: Path, n_triples: int, n_questions: int, seed: int = 7) -> list[str]:
    """Write ``n_triples`` N-Triples lines to ``path``; return questions about the graph."""
    rnd = random.Random(seed)

    def word() -> str:
        return "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 3))).capitalize()

    preds = [(f"{EX}prop/p{i}", RELATIONS[i % len(RELATIONS)] + ("" if i < len(RELATIONS) else f" {i}"))
             for i in range(40)]
    n_entities = max(50, n_triples // 9)
    names: list[str] = []
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for iri, label in preds:
            out.write(f'<{iri}> {RDFS_LABEL} "{label}"@en .\n')
            n += 1
        for c in range(20):
            out.write(f'<{EX}class/C{c}> {RDFS_LABEL} "{word().lower()}"@en .\n')
            n += 1
        i = 0
        while n < n_triples:
            e = f"<{EX}entity/E{i}>"
            name = " ".join(word() for _ in range(rnd.choice((1, 2, 2, 3))))
            names.append(name)
            lines = [f'{e} {RDFS_LABEL} "{name}"@en .', f"{e} {RDF_TYPE} <{EX}class/C{rnd.randrange(20)}> ."]
            if rnd.random() < 0.2:
                lines.append(f'{e} {RDFS_LABEL} "{name} ({word()})"@fr .')
            if rnd.random() < 0.1:
                lines.append(f'{e} {SKOS_ALT} "{word()}"@en .')
            for _ in range(rnd.randint(4, 10)):
                p = rnd.choice(preds)[0]
                if rnd.random() < 0.6:
                    lines.append(f"{e} <{p}> <{EX}entity/E{rnd.randrange(n_entities)}> .")
                else:
                    lines.append(f'{e} <{p}> "{rnd.randrange(10 ** 6)}"^^{XSD_INT} .')
            lines = lines[: n_triples - n]
            out.write("\n".join(lines) + "\n")
            n += len(lines)
            i += 1
    questions = []
    for q in range(n_questions):
        name = rnd.choice(names)
        if q % 10 == 9:  # a typo: one letter of the longest word dropped
            w = max(name.split(), key=len)
            k = rnd.randrange(1, len(w))
            name = name.replace(w, w[:k] + w[k + 1:])
        questions.append(rnd.choice(["What is the {r} of {e}?", "Who is the {r} of {e}?",
                                     "Tell me the {r} of {e}.", "{e}: which {r}?"]).format(
            r=rnd.choice(RELATIONS), e=name))
    return questions


# -- workers (each runs in its own process) ---------------------------------------------------

def _peak_mb() -> float:
    """Peak resident memory of this step: its own plus any child process's (both peaks
    added, an upper bound; the store load runs in one process, writer thread included)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + helpers) / 1024


def _latencies(kg, questions: list[str]) -> dict:
    try:
        from dialogqa.kg.retriever import Retriever

        retriever = Retriever(kg, k=30)

        def retrieve(q):
            return retriever.retrieve(q, history=[])
    except ImportError:  # before the retriever existed: linking plus one hop
        def retrieve(q):
            return [t for m in kg.search(q, limit=3) for t in kg.neighbours(m.entity, limit=30)][:30]
    search_ms, retrieve_ms, found = [], [], 0
    kg.search(questions[0])  # the in-memory label index is built on the first search
    for q in questions:
        t = time.perf_counter()
        hits = kg.search(q)
        search_ms.append(1000 * (time.perf_counter() - t))
        found += bool(hits)
    for q in questions:
        t = time.perf_counter()
        retrieve(q)
        retrieve_ms.append(1000 * (time.perf_counter() - t))
    return {"search_p50_ms": _pct(search_ms, 50), "search_p95_ms": _pct(search_ms, 95),
            "retrieve_p50_ms": _pct(retrieve_ms, 50), "retrieve_p95_ms": _pct(retrieve_ms, 95),
            "linked_share": found / len(questions)}


def _cpu() -> float:
    """CPU seconds of this process and its finished helpers, all threads."""
    own, helpers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + helpers.ru_utime + helpers.ru_stime


def _pct(values: list[float], p: int) -> float:
    return round(statistics.quantiles(values, n=100)[p - 1], 3) if len(values) > 1 else values[0]


def worker(kind: str, args: list[str]) -> dict:
    if kind == "rdflib":
        import rdflib

        t, c = time.perf_counter(), _cpu()
        g = rdflib.Graph().parse(args[0], format="nt")
        return {"load_s": time.perf_counter() - t, "load_cpu_s": _cpu() - c, "triples": len(g),
                "peak_mb": _peak_mb()}
    if kind == "memory":
        from dialogqa.kg.memory import MemoryKG

        t, c = time.perf_counter(), _cpu()
        kg = MemoryKG.from_files([args[0]])
        load, load_cpu = time.perf_counter() - t, _cpu() - c
        t = time.perf_counter()
        kg.search("warm up the label index")
        index = time.perf_counter() - t
        result = {"load_s": load, "load_cpu_s": load_cpu, "index_s": index, "triples": kg.count()}
        result.update(_latencies(kg, json.loads(Path(args[1]).read_text())))
        return result | {"peak_mb": _peak_mb()}
    if kind == "store-load":
        from dialogqa.kg.store import StoreKG

        t, c = time.perf_counter(), _cpu()
        kg = StoreKG.load([args[0]], args[1], force=True)
        result = {"load_s": time.perf_counter() - t, "load_cpu_s": _cpu() - c, "triples": kg.count()}
        kg.close()
        return result | {"peak_mb": _peak_mb()}
    if kind == "store-open":
        from dialogqa.kg.store import StoreKG

        t = time.perf_counter()
        kg = StoreKG.open(args[0])
        result = {"reopen_s": time.perf_counter() - t}
        result.update(_latencies(kg, json.loads(Path(args[1]).read_text())))
        return result | {"peak_mb": _peak_mb()}
    raise SystemExit(f"unknown worker {kind}")


def run_worker(kind: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", kind, *args],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the benchmark ----------------------------------------------------------------------------

def bench_size(n: int, data: Path, n_questions: int, memory_max: int, rdflib_max: int) -> list[dict]:
    path = data / f"bench-{n}.nt"
    qpath = data / f"bench-{n}.questions.json"
    if not path.exists() or not qpath.exists():
        print(f"generating {n:,} triples ...", file=sys.stderr)
        qpath.write_text(json.dumps(generate(path, n, n_questions)))
    rows = []
    if n <= rdflib_max:
        print(f"[{n:,}] rdflib parse ...", file=sys.stderr)
        rows.append({"size": n, "backend": "rdflib"} | run_worker("rdflib", str(path)))
    if n <= memory_max:
        print(f"[{n:,}] memory backend ...", file=sys.stderr)
        rows.append({"size": n, "backend": "memory"} | run_worker("memory", str(path), str(qpath)))
    print(f"[{n:,}] store load ...", file=sys.stderr)
    store = data / f"store-{n}"
    loaded = run_worker("store-load", str(path), str(store))
    print(f"[{n:,}] store reopen + retrieval ...", file=sys.stderr)
    opened = run_worker("store-open", str(store), str(qpath))
    rows.append({"size": n, "backend": "store"} | loaded
                | {k: v for k, v in opened.items() if k != "peak_mb"}
                | {"peak_mb": loaded["peak_mb"], "reopen_peak_mb": opened["peak_mb"]})
    base = next((r for r in rows if r["backend"] == "rdflib"), None)
    for r in rows:
        r["triples_per_s"] = r["triples"] / r["load_s"]
        if base is not None:
            r["load_speedup_vs_rdflib"] = base["load_s"] / r["load_s"]
            r["load_cpu_speedup_vs_rdflib"] = base["load_cpu_s"] / r["load_cpu_s"]
    return rows


def print_results(rows: list[dict]) -> None:
    cols = [("size", "{:,}", "triples"), ("backend", "{}", "backend"), ("load_s", "{:.2f}", "load s"),
            ("triples_per_s", "{:,.0f}", "triples/s"), ("load_speedup_vs_rdflib", "{:.1f}x", "vs rdflib"),
            ("load_cpu_s", "{:.2f}", "load cpu s"), ("load_cpu_speedup_vs_rdflib", "{:.1f}x", "cpu vs rdflib"),
            ("reopen_s", "{:.2f}", "reopen s"), ("search_p50_ms", "{:.2f}", "search p50 ms"),
            ("search_p95_ms", "{:.2f}", "search p95 ms"), ("retrieve_p50_ms", "{:.1f}", "retrieve p50 ms"),
            ("retrieve_p95_ms", "{:.1f}", "retrieve p95 ms"), ("peak_mb", "{:,.0f}", "peak MB")]
    print_table([title for _, _, title in cols],
                [[fmt.format(r[key]) if r.get(key) is not None else "-" for key, fmt, _ in cols]
                 for r in rows])


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated triple counts")
    parser.add_argument("--questions", type=int, default=300, help="questions per size (default 300)")
    parser.add_argument("--memory-max", type=int, default=100_000,
                        help="largest size run on the in-memory backend (default 100000)")
    parser.add_argument("--rdflib-max", type=int, default=10 ** 9, help="largest size parsed by plain rdflib")
    parser.add_argument("--data", help="where generated graphs and stores go (default: a temp dir)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="kg-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in sizes:
        rows.extend(bench_size(n, data, args.questions, args.memory_max, args.rdflib_max))
    print_results(rows)
    print(f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
          "peak MB = ru_maxrss of the step's own process; store peak = its load)")
    if args.json:
        meta = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                "load_average": os.getloadavg(), "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
