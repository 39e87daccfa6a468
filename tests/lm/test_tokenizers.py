from __future__ import annotations

import pytest

from trainyard.errors import DataError
from trainyard.lm.tokenizers import BPETokenizer, CharTokenizer, tokenizer_from_json

TEXT = "the boundary layer on a flat plate.\nthe shock wave at supersonic speed.\n" * 20


def test_char_round_trip_and_unknown_characters():
    tokenizer = CharTokenizer.train(TEXT)
    assert tokenizer.decode(tokenizer.encode("flat plate")) == "flat plate"
    again = tokenizer_from_json(tokenizer.to_json())
    assert again.encode("shock") == tokenizer.encode("shock")
    with pytest.raises(DataError, match=r"characters outside the model's vocabulary: 'Z', 'é'"):
        tokenizer.encode("Zé wave")
    with pytest.raises(DataError, match="empty"):
        CharTokenizer.train("")


def test_bpe_learns_merges_and_round_trips():
    tokenizer = BPETokenizer.train(TEXT, vocab_size=300)
    ids = tokenizer.encode("the boundary layer")
    assert tokenizer.decode(ids) == "the boundary layer"
    assert len(ids) < len("the boundary layer")  # merges learned from the corpus
    assert tokenizer.decode(tokenizer.encode("Zé")) == "Zé"  # byte level: nothing is unknown
    again = tokenizer_from_json(tokenizer.to_json())
    assert again.encode("shock wave") == tokenizer.encode("shock wave") and again.vocab_size == tokenizer.vocab_size
