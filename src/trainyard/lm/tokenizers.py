"""Tokenizers for the sequence models: characters, or byte-level BPE trained on the corpus.

Both save to and load from JSON, so a checkpoint carries its tokenizer.
"""

from __future__ import annotations

import json

from trainyard.errors import DataError


class CharTokenizer:
    """One token per character seen in the training text."""

    kind = "char"

    def __init__(self, chars: list[str]) -> None:
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        if not text:
            raise DataError("the corpus is empty: nothing to build a character vocabulary from")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted({c for c in text if c not in self.index})
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:5])
            raise DataError(
                f"characters outside the model's vocabulary: {shown}"
                f"{' and more' if len(unknown) > 5 else ''}; remove them from the prompt"
            )
        return [self.index[c] for c in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "chars": self.chars})


class BPETokenizer:
    """Byte-level BPE (the ``tokenizers`` library): any text encodes, no unknown characters."""

    kind = "bpe"

    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer

    @classmethod
    def train(cls, text: str, vocab_size: int = 1024) -> BPETokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        if not text:
            raise DataError("the corpus is empty: nothing to train a BPE vocabulary on")
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
        )
        lines = text.splitlines(keepends=True) or [text]
        tokenizer.train_from_iterator(lines, trainer=trainer)
        return cls(tokenizer)

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "tokenizer": json.loads(self._tokenizer.to_str())})


def tokenizer_from_json(text: str):
    """The tokenizer a checkpoint saved (characters, or byte-level BPE), from its JSON."""
    from tokenizers import Tokenizer

    data = json.loads(text)
    if data.get("kind") == "char":
        return CharTokenizer(data["chars"])
    if data.get("kind") == "bpe":
        return BPETokenizer(Tokenizer.from_str(json.dumps(data["tokenizer"])))
    if data.get("kind") == "series":
        from trainyard.lm.data import SeriesCodec

        return SeriesCodec.from_dict(data)
    raise DataError(f"unknown tokenizer kind {data.get('kind')!r} in the checkpoint")
