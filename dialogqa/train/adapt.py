"""``dialogqa adapt``: from a graph to an adapter made for it, in one command.

    data       dialogues generated from the graph: lookup dialogues for the LoRA (`data synth`)
               and typed ones (lists, counts, yes/no, comparisons, reverse, chains, ...: `data
               typed`) for the question head; more typed dialogues held out whole, for the
               table and for calibration
    before     the held-out dialogues replayed with the adapter it starts from
    train      LoRA and relevance head trained further from that adapter (`dialogqa train`)
    intent     the question head fitted again on the graph's typed questions (the LoRA moved,
               so the features it reads did too; `dialogqa intent fit`)
    calibrate  grounded decoding's prior fitted on the calibration dialogues, and the abstention
               bias chosen by replays there (the starting calibration against the fitted prior
               at the starting bias and around it)
    after      the held-out dialogues replayed with the new adapter: the before/after table

Every stage writes under OUT/work/ and records itself in OUT/adapt.json, so a run that is
interrupted continues where it stopped (training from its last checkpoint). ``minutes``
bounds the whole run: training gets what the other stages leave, estimated from the replay
speed measured in ``before``. The finished adapter is OUT itself (``--adapter OUT``);
adapt.json says which graph and settings made it, adapt_report.md holds the table.
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from dialogqa.errors import UserError
from dialogqa.train.calibration import BIAS_STEPS

STATE_FILE = "adapt.json"
REPORT_FILE = "adapt_report.md"
STAGES = ("data", "before", "train", "intent", "calibrate", "after")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "relevance_head.safetensors",
                 "relevance_head.json", "intent_head.safetensors", "intent_head.json",
                 "train_config.toml", "train_config.json", "trainer_state.json", "training_curves.png")
CALIBRATION_KEYS = ("threshold", "abstain_bias", "grounding")  # relevance_head.json, set after training

# Seconds, until this machine's own speed is measured (before: a replayed turn).
GUESS_TURN_S = 1.5
QUESTION_S = 0.06  # the question head reads one question (side pass)
LOAD_S = 15.0  # loading a model, opening a stage
MARGIN_S = 30.0


@dataclass
class AdaptSettings:
    graph: str  # what the graph flags named: files, a store or an endpoint
    base_adapter: str  # the adapter it starts from ("": the base model alone)
    model: str = ""  # base model directory ("": SmolLM2-135M-Instruct)
    minutes: float = 60.0
    lookup_conversations: int = 400  # data synth: the LoRA's dialogues
    typed_conversations: int = 150  # data typed: the question head's questions
    heldout_conversations: int = 24  # typed, never trained on: the before/after table
    calibration_conversations: int = 8  # typed, never trained on: grounding and abstention bias
    seed: int = 0
    lr: float = 2e-4  # from a trained adapter: smaller steps than the recipe's 5e-4 from scratch
    k: int = 30

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise UserError(f"--minutes must be > 0, got {self.minutes!r}")
        for name in ("lookup_conversations", "typed_conversations", "heldout_conversations",
                     "calibration_conversations"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")

    def identity(self) -> dict:
        """What a resumed run must share with the run it continues (the budget may change)."""
        out = asdict(self)
        out.pop("minutes")
        return out


class Adapt:
    """One adaptation run in OUT (see the module doc). ``kg``: the open graph; ``kg_files``:
    its files when it was loaded from files (the generated transcripts name them)."""

    def __init__(self, settings: AdaptSettings, out: Path, kg, kg_files: list[str],
                 progress: bool = True, say: Callable[[str], None] | None = None):
        self.s = settings
        self.out = Path(out)
        self.work = self.out / "work"
        self.kg = kg
        self.kg_files = [str(Path(f).resolve()) for f in kg_files]
        self.progress = progress
        self.say = say or (lambda text: print(f"dialogqa adapt: {text}", file=sys.stderr, flush=True))
        self.state: dict = {}
        self._graph_cache = None
        self._t0 = time.monotonic()

    # ---- the run ------------------------------------------------------------------

    def run(self, restart: bool = False) -> dict:
        self._open_state(restart)
        done = [s for s in STAGES if s in self.state["stages"]]
        if done:
            self.say(f"continuing in {self.out}: {', '.join(done)} already done")
        try:
            for i, stage in enumerate(STAGES, 1):
                if stage in self.state["stages"]:
                    continue
                self.say(f"[{i}/{len(STAGES)}] {stage}: {self._plan(stage)} "
                         f"(about {self._left_s(stage) / 60:.0f} min left in all)")
                started = time.monotonic()
                info = getattr(self, f"_{stage}")() or {}
                info["seconds"] = round(time.monotonic() - started, 1)
                self.state["stages"][stage] = info
                self._save_state()
                gc.collect()
            self._finish()
        finally:
            self._save_state()
        return self.state

    def _open_state(self, restart: bool) -> None:
        path = self.out / STATE_FILE
        if restart:
            shutil.rmtree(self.work, ignore_errors=True)
            path.unlink(missing_ok=True)
        if path.is_file():
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                raise UserError(f"{path}: not readable JSON: give --restart to start over") from None
            if state.get("settings", {}) != self.s.identity():
                raise UserError(f"{self.out} holds an adaptation with other settings or another "
                                "graph: give a new --out, or --restart to start over")
            if state.get("status") == "done":
                self.state = state
                self.state["stages"] = {s: state["stages"][s] for s in STAGES if s in state["stages"]}
                return
            self.state = state
        else:
            if self.out.exists() and any(self.out.iterdir()):
                raise UserError(f"--out {self.out}: folder exists and is not an adaptation in "
                                "progress: give a new or empty folder")
            self.state = {"settings": self.s.identity(), "stages": {}, "elapsed_s": 0.0,
                          "status": "running"}
        self.state["minutes"] = self.s.minutes
        self._t0 = time.monotonic()
        self._elapsed_before = float(self.state.get("elapsed_s", 0.0))

    def _save_state(self) -> None:
        from dialogqa.dialogue.transcript import atomic_write

        self.state["elapsed_s"] = round(self._elapsed(), 1)
        atomic_write(self.out / STATE_FILE, json.dumps(self.state, indent=1, ensure_ascii=False) + "\n")

    def _elapsed(self) -> float:
        return getattr(self, "_elapsed_before", 0.0) + time.monotonic() - self._t0

    # ---- budget ---------------------------------------------------------------------

    def _turns(self, name: str) -> int:
        path = self.work / name
        if not path.is_file():
            return 0
        return sum(len(json.loads(line)["turns"]) for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip())

    def _estimate(self, stage: str) -> float:
        """Seconds a stage should take on this machine."""
        turn_s = self.state.get("turn_s", GUESS_TURN_S)
        heldout = self._turns("heldout.jsonl") or self.s.heldout_conversations * 8
        calibration = self._turns("calibration.jsonl") or self.s.calibration_conversations * 8
        if stage == "data":
            return 60.0
        if stage in ("before", "after"):
            return LOAD_S + heldout * turn_s
        if stage == "intent":
            extra = len(extra_schemas(self.kg_files)) * EXTRA_CONVERSATIONS
            return LOAD_S + (self.s.typed_conversations + extra) * 8 * QUESTION_S
        if stage == "calibrate":
            # the recording replay, the starting calibration, the fitted prior at each bias
            return LOAD_S + (3 + len(BIAS_STEPS)) * calibration * turn_s
        if stage == "train":
            return 60 * self.state.get("train_minutes", self._train_minutes()) + 2 * LOAD_S
        raise ValueError(stage)

    def _left_s(self, stage: str) -> float:
        return sum(self._estimate(s) for s in STAGES[STAGES.index(stage):] if s not in self.state["stages"])

    def _budget_left(self) -> float:
        return self.s.minutes * 60 - self._elapsed()

    def _train_minutes(self) -> float:
        after = sum(self._estimate(s) for s in ("intent", "calibrate", "after"))
        return max(0.0, (self._budget_left() - after - MARGIN_S - 2 * LOAD_S) / 60)

    def _plan(self, stage: str) -> str:
        return {
            "data": "dialogues from the graph",
            "before": f"replaying the held-out dialogues with {self.s.base_adapter or 'the base model'}",
            "train": "fine-tuning LoRA and relevance head from it",
            "intent": "fitting the question head on the graph's questions",
            "calibrate": "fitting grounded decoding and the abstention bias on the calibration dialogues",
            "after": "replaying the held-out dialogues with the new adapter",
        }[stage]

    # ---- stages ---------------------------------------------------------------------

    def _data(self) -> dict:
        from dialogqa.datasets.synth import SynthConfig, synthesize
        from dialogqa.dialogue.transcript import graph_paths_for, write_jsonl
        from dialogqa.datasets.typed import TypedConfig, synthesize_typed
        self.work.mkdir(parents=True, exist_ok=True)
        paths = graph_paths_for(self.kg_files, self.work)  # the transcripts' "kg"
        s = self.s
        counts = {}
        files = {
            "lookups.jsonl": lambda: synthesize(self.kg, SynthConfig(
                conversations=s.lookup_conversations, seed=s.seed, unanswerable_rate=0.2), None, paths),
            "typed.jsonl": lambda: synthesize_typed(self.kg, TypedConfig(
                conversations=s.typed_conversations, seed=s.seed), paths),
            "heldout.jsonl": lambda: synthesize_typed(self.kg, TypedConfig(
                conversations=s.heldout_conversations, seed=s.seed + 1000), paths),
            "calibration.jsonl": lambda: synthesize_typed(self.kg, TypedConfig(
                conversations=s.calibration_conversations, seed=s.seed + 2000), paths),
        }
        for extra in extra_schemas(self.kg_files):
            # the shipped head's other schemas too, so it does not learn one graph's words only
            files[f"typed-{extra.stem}.jsonl"] = lambda extra=extra: _typed_of(extra, self.work, s.seed)
        for name, make in files.items():
            conversations = list(make())
            if not conversations:
                raise UserError(f"the graph gave no {name.split('.')[0]} dialogues: it needs "
                                "labelled entities with several properties")
            write_jsonl(self.work / name, conversations)
            counts[name] = {"conversations": len(conversations),
                            "turns": sum(len(c["turns"]) for c in conversations)}
        overlap = _question_overlap(self.work / "heldout.jsonl",
                                    [self.work / "typed.jsonl", self.work / "lookups.jsonl"])
        sizes = ", ".join(f"{name}: {c['turns']} turns" for name, c in counts.items())
        self.say(f"  {sizes}; {overlap:.0%} of held-out questions also occur in training data "
                 "(same words)")
        return {"files": counts, "heldout_question_overlap": round(overlap, 3)}

    def _before(self) -> dict:
        model = self._load_model(self.s.base_adapter or None)
        metrics, seconds = self._replay(model, self.work / "heldout.jsonl", "before")
        turns = metrics["turns"]
        self.state["turn_s"] = round(max(0.05, (seconds - LOAD_S / 3) / max(1, turns)), 3)
        return {"metrics": _brief(metrics)}

    def _train(self) -> dict:
        from dialogqa.train.recipe import train

        minutes = self.state.get("train_minutes")
        if minutes is None:
            minutes = self.state["train_minutes"] = round(self._train_minutes(), 2)
            self._save_state()
        if minutes < 1.0:
            self.say("  not enough of --minutes left to train: the LoRA stays the starting adapter's")
            return {"trained": False, "minutes": minutes}
        run = self.work / "train"
        resume = run / "last"
        cfg = self._train_config(minutes, str(resume) if (resume / "optimizer.pt").is_file() else "")
        self.say(f"  {minutes:.1f} minutes of training" + (" (resumed)" if cfg.resume else ""))
        summary = train(cfg, kg=self.kg)
        return {"trained": summary.get("steps", 0) > 0, "minutes": minutes, "steps": summary.get("steps"),
                "tokens_per_second": summary.get("tokens_per_second")}

    def _intent(self) -> dict:
        from dialogqa.model.loading import load_chat_model
        from dialogqa.train.intent import accuracy, featurise, fit_head, labelled_questions

        candidate = self._candidate()
        typed = [self.work / "typed.jsonl"] + sorted(self.work.glob("typed-*.jsonl"))
        held = labelled_questions([self.work / "heldout.jsonl"], None, self.s.seed)
        held_questions = {q for q, _ in held}
        train = [(q, i) for q, i in labelled_questions(typed, 1500, self.s.seed) if q not in held_questions]
        model = load_chat_model(model_dir=self.s.model or None, adapter_dir=candidate, question_head=False)
        from tqdm import tqdm

        questions = [q for q, _ in train] + [q for q, _ in held]
        with tqdm(total=len(questions), desc="reading questions", unit="q", file=sys.stderr,
                  disable=not (self.progress and sys.stderr.isatty())) as bar:
            x_all = featurise(model, questions, bar.update)
        x, xh = x_all[: len(train)], x_all[len(train):]
        head = fit_head(x, [i for _, i in train], self.s.seed)
        report = {"train": accuracy(head, x, [i for _, i in train]),
                  "held_out": accuracy(head, xh, [i for _, i in held])}
        head.save(candidate, extra={"fitted_on": [str(p) for p in typed], "held_out": ["heldout.jsonl"],
                                    "report": report, "by": "dialogqa adapt"})
        del model, x_all
        self.say(f"  question head: {report['train']['accuracy']:.3f} on {len(train)} training "
                 f"questions, {report['held_out']['accuracy']:.3f} on {len(held)} held-out ones")
        return {"questions": len(train), "train_accuracy": report["train"]["accuracy"],
                "held_out_accuracy": report["held_out"]["accuracy"]}

    def _calibrate(self) -> dict:
        """Grounded decoding's prior and the abstention bias, chosen on the calibration
        dialogues (train/calibration.py)."""
        from dialogqa.train.calibration import calibrate, starting_point, write

        candidate = self.work / "adapter"
        _, start_bias, start = starting_point(candidate)
        needed = self._estimate("calibrate") + self._estimate("after")
        if self._budget_left() < needed:
            self.say(f"  skipped: {self._budget_left() / 60:.1f} min left, calibrating and the last "
                     f"replay need about {needed / 60:.1f}; the starting calibration stays")
            return {"abstain_bias": start_bias, "skipped": True}
        model = self._load_model(candidate)
        result = calibrate(model, self._graphs(), [self.work / "calibration.jsonl"], start_bias, start,
                           k=self.s.k, save=self.work, say=lambda text: self.say("  " + text),
                           progress=self.progress)
        write(candidate, result)
        self.say(f"  chosen: {result.chosen.key}")
        return result.summary()

    def _after(self) -> dict:
        model = self._load_model(self.work / "adapter")
        metrics, _ = self._replay(model, self.work / "heldout.jsonl", "after")
        return {"metrics": _brief(metrics)}

    def _finish(self) -> None:
        from dialogqa.dialogue.transcript import atomic_write

        candidate = self.work / "adapter"
        for name in ADAPTER_FILES:  # the adapter is OUT itself
            if (candidate / name).is_file():
                shutil.copy2(candidate / name, self.out / name)
        before = self.state["stages"]["before"]["metrics"]
        after = self.state["stages"]["after"]["metrics"]
        table = before_after_table(before, after)
        self.state["status"] = "done"
        self.state["report"] = {"before": before, "after": after}
        header = (f"# dialogqa adapt: {self.s.graph}\n\nStarting adapter: "
                  f"{self.s.base_adapter or 'none (base model)'}. Held-out dialogues: "
                  f"work/heldout.jsonl ({before['turns']} turns, generated from the graph, never "
                  f"trained on).\n\n")
        atomic_write(self.out / REPORT_FILE, header + table + "\n")
        print(table)
        a, b = _turn_accuracy(after), _turn_accuracy(before)
        if a < b:
            self.say(f"the adapted adapter does worse than the one it started from on the held-out "
                     f"dialogues ({a:.3f} against {b:.3f}): keep using {self.s.base_adapter or 'the base model'}")
        self.say(f"done in {self._elapsed() / 60:.1f} min: use it with --adapter {self.out}")

    # ---- helpers ----------------------------------------------------------------------

    def _train_config(self, minutes: float, resume: str):
        from dialogqa.train.config import TrainConfig, load_saved_config

        base = self.s.base_adapter
        data = (load_saved_config(base).to_dict() if base and (Path(base) / "train_config.toml").is_file()
                else TrainConfig().to_dict())
        data.update(
            sources=[{"transcripts": [str(self.work / "lookups.jsonl")], "name": "graph",
                      "kg": list(self.kg_files)}],
            val_transcripts=[], val_kg=[], val_fraction=0.05, val_conversations=4, val_mode="teacher",
            examples_per_epoch=max(50, int(minutes * 60 * 2)),  # more than fit: the clock ends it
            epochs=1, max_steps=0, max_minutes=float(minutes), eval_every=0, save_every=20,
            out=str(self.work / "train"), resume=resume, init_adapter=base, lr=self.s.lr,
            warmup_steps=10, seed=self.s.seed, progress=self.progress, k=self.s.k,
        )
        if self.s.model:
            data["model"] = self.s.model
        return TrainConfig(**data)

    def _candidate(self) -> Path:
        """work/adapter: the trained LoRA (or the starting adapter's), with the starting
        adapter's calibration until this run calibrates its own."""
        candidate = self.work / "adapter"
        trained = self.work / "train" / "best"
        source = trained if self.state["stages"].get("train", {}).get("trained") else Path(self.s.base_adapter)
        if not (source / "adapter_model.safetensors").is_file():
            raise UserError("no adapter to fit the question head on: adapt needs a starting adapter "
                            "or time to train one (raise --minutes)")
        tmp = candidate.with_name(".adapter.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in ADAPTER_FILES:
            if (source / name).is_file() and not name.startswith("intent_head"):
                shutil.copy2(source / name, tmp / name)
        base_json = Path(self.s.base_adapter) / "relevance_head.json" if self.s.base_adapter else None
        if base_json is not None and base_json.is_file() and (tmp / "relevance_head.json").is_file():
            base = json.loads(base_json.read_text(encoding="utf-8"))
            mine = json.loads((tmp / "relevance_head.json").read_text(encoding="utf-8"))
            mine.update({k: base[k] for k in CALIBRATION_KEYS if k in base})
            (tmp / "relevance_head.json").write_text(json.dumps(mine, indent=1) + "\n", encoding="utf-8")
        shutil.rmtree(candidate, ignore_errors=True)
        tmp.rename(candidate)
        return candidate

    def _load_model(self, adapter):
        from dialogqa.model.loading import load_chat_model

        return load_chat_model(model_dir=self.s.model or None, adapter_dir=adapter)

    def _graphs(self):
        """The graph with one retriever, for every replay of the run."""
        from dialogqa.dialogue.graphs import GraphCache

        if self._graph_cache is None:
            self._graph_cache = GraphCache(k=self.s.k, fixed=self.kg)
        return self._graph_cache

    def _replay(self, model, path: Path, name: str) -> tuple[dict, float]:
        """Replay ``path`` (own answers as history), saved under work/ as NAME; returns its
        metrics and the seconds it took."""
        from dialogqa.dialogue.replay import compute_metrics
        from dialogqa.dialogue.session import SessionSettings
        from dialogqa.train.calibration import replay_files

        started = time.monotonic()
        [replayed] = replay_files(model, self._graphs(), [path], SessionSettings(k=self.s.k), name,
                                  self.work, progress=self.progress)
        return compute_metrics(replayed), time.monotonic() - started


# ---- the table --------------------------------------------------------------------------

def _turn_accuracy(metrics: dict) -> float:
    """Right turns over all turns: answers on answerable ones, abstentions on the rest."""
    by_type = metrics.get("by_type") or {}
    right = sum((v["accuracy"] or 0) * v["turns"] for v in by_type.values())
    turns = sum(v["turns"] for v in by_type.values())
    return right / turns if turns else 0.0


def _brief(metrics: dict) -> dict:
    return {"turns": metrics["turns"], "turn_accuracy": round(_turn_accuracy(metrics), 4),
            "answer_accuracy": metrics.get("answer_accuracy"),
            "evidence_recall": metrics.get("evidence_recall"), "abstention": metrics.get("abstention"),
            "by_type": metrics.get("by_type") or {}}


def before_after_table(before: dict, after: dict) -> str:
    """Markdown: turns and accuracy per question type, before and after, and the change."""
    rows = ["| type | turns | before | after | change |", "|---|---:|---:|---:|---:|"]
    types = sorted(set(before.get("by_type", {})) | set(after.get("by_type", {})))

    def cell(x):
        return "-" if x is None else f"{x:.3f}"

    for t in types + ["all"]:
        if t == "all":
            b, a, n = before["turn_accuracy"], after["turn_accuracy"], before["turns"]
        else:
            b = before.get("by_type", {}).get(t, {}).get("accuracy")
            a = after.get("by_type", {}).get(t, {}).get("accuracy")
            n = (after.get("by_type", {}).get(t) or before.get("by_type", {}).get(t) or {}).get("turns", 0)
        change = "-" if a is None or b is None else f"{a - b:+.3f}"
        name = f"**{t}**" if t == "all" else t
        rows.append(f"| {name} | {n} | {cell(b)} | {cell(a)} | {change} |")
    return "\n".join(rows)


# ---- small helpers ----------------------------------------------------------------------

EXTRA_CONVERSATIONS = 60
HELD_OUT_GRAPHS = ("company.ttl",)  # kb/domains' unseen-graph dev set: never trained on


def extra_schemas(kg_files: list[str]) -> list[Path]:
    """The graphs the shipped question head was fitted on that ship with the project
    (kb/world.ttl, kb/domains/*.ttl but the held-out one), less the graph being adapted to."""
    from dialogqa.datasets.world import default_world_path

    world = default_world_path()
    found = [world] + sorted((world.parent / "domains").glob("*.ttl"))
    mine = {str(Path(f).resolve()) for f in kg_files}
    return [p for p in found if p.is_file() and p.name not in HELD_OUT_GRAPHS
            and str(p.resolve()) not in mine]


def _typed_of(graph: Path, work: Path, seed: int) -> list[dict]:
    from dialogqa.datasets.typed import TypedConfig, synthesize_typed
    from dialogqa.dialogue.transcript import graph_paths_for
    from dialogqa.kg.base import open_kg

    kg = open_kg(files=[str(graph)])
    try:
        return list(synthesize_typed(kg, TypedConfig(conversations=EXTRA_CONVERSATIONS, seed=seed),
                                     graph_paths_for([graph], work)))
    finally:
        kg.close()


def _question_overlap(heldout: Path, training: list[Path]) -> float:
    def questions(path: Path) -> list[str]:
        return [t["user"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
                for t in json.loads(line)["turns"]]

    seen = {q for p in training for q in questions(p)}
    held = questions(heldout)
    return sum(q in seen for q in held) / max(1, len(held))
