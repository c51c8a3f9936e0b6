"""The loss `minutekeeper train` measures before and after training: logits for the assistant
tokens only (`logits_to_keep`) against logits for every position (the baseline), same model,
same examples, same run.

    .venv/bin/python scripts/bench_finetune.py [--llm gemma3-270m] [--batch-size 2] [--repeat 2]

The examples are the project's own scripted meetings (examples/scripted/**/*.json): the
transcript as the user message, the expected decisions and action items as the answer,
rendered with the model's chat template, as a meeting-summary example of an export is.
Prints the seconds of each way, their ratio, and both losses (they must agree).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minutekeeper.core.settings import Settings
from minutekeeper.models.finetune import encode_chat, mean_loss
from minutekeeper.models.llm import end_token_ids, load_tokenizer
from minutekeeper.models.locate import locate_llm

ROOT = Path(__file__).resolve().parents[1]


def examples() -> list[list[dict[str, str]]]:
    found = []
    for path in sorted((ROOT / "examples" / "scripted").glob("**/*.json")):
        script = json.loads(path.read_text())
        said = "\n".join(f"{t['speaker']}: {t['text']}" for t in script["turns"])
        expected = script["expected"]
        items = [f"- Decision: {d['text']}" for d in expected["decisions"]]
        items += [f"- {a['owner']}: {a['task']}" for a in expected["action_items"]]
        answer = "\n".join(items)
        found.append([{"role": "system", "content": "Summarize the meeting transcript."},
                      {"role": "user", "content": said},
                      {"role": "assistant", "content": answer}])  # fmt: skip
    return found


def main() -> int:
    import torch
    from transformers import AutoModelForCausalLM

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm", default="gemma3-270m")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="timed passes of each way")
    args = parser.parse_args()
    folder = locate_llm(args.llm, cache_dir=Settings().resolved_model_cache_dir()).folder
    tokenizer = load_tokenizer(folder)
    ends = end_token_ids(tokenizer, folder)
    encoded = [encode_chat(tokenizer, e, ends) for e in examples()]
    tokens = sum(len(e.input_ids) for e in encoded)
    targets = sum(e.targets for e in encoded)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(ends)
    print(f"{args.llm}: {len(encoded)} examples, {tokens} tokens, {targets} assistant tokens; "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    mean_loss(model, encoded[:1], pad, 1)  # warm-up
    results = {}
    for name, trim in (("all positions (baseline)", False), ("assistant tokens only", True)):
        began = time.perf_counter()
        for _ in range(args.repeat):
            loss = mean_loss(model, encoded, pad, args.batch_size, trim=trim)
        results[name] = ((time.perf_counter() - began) / args.repeat, loss)
    for name, (seconds, loss) in results.items():
        print(f"  {name:<26} {seconds:7.2f} s per pass   loss {loss:.5f}")
    (base, base_loss), (fast, fast_loss) = results.values()
    print(f"  speed-up x{base / fast:.2f}; losses differ by {abs(base_loss - fast_loss):.2e}")
    return 0 if abs(base_loss - fast_loss) < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
