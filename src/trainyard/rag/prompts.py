"""Every prompt in one place, as Jinja2 templates.

A base model (no chat template, like Gemma 3 270M here) continues text: it gets a
completion-style prompt that ends where the answer starts, already begun with
"According to passage [" (a prefill: without it Gemma 3 270M listed passages instead of
answering), and stop sequences that end the answer where a base model would start a new
question or paragraph. An instruction-tuned model gets chat messages rendered by its own
template.
"""

from __future__ import annotations

from jinja2 import Environment, StrictUndefined

_ENV = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)

COMPLETION = _ENV.from_string(
    """Below are numbered passages from a collection of documents, then a question.
The answer uses only facts from the passages and cites them like [1].

{% for p in passages -%}
[{{ p.number }}] {{ p.title }}
{{ p.text }}

{% endfor -%}
Question: {{ question }}
Answer: {{ prefill }}"""
)
PREFILL = "According to passage ["

# Where a base model's answer ends: it starts another question or a new paragraph.
COMPLETION_STOP = ["\nQuestion:", "\n\n", "<end_of_turn>", "<eos>"]

SYSTEM = _ENV.from_string(
    """Answer the user's question using only the numbered passages. Cite the passages you use like [1] \
after each sentence. If the passages do not contain the answer, say so."""
)

USER = _ENV.from_string(
    """{% for p in passages -%}
[{{ p.number }}] {{ p.title }}
{{ p.text }}

{% endfor -%}
Question: {{ question }}"""
)

CHAT_STOP: list[str] = []

NO_ANSWER = (
    "The documents do not answer this question: no passage is relevant enough "
    "(best relevance {best:.2f}, threshold {threshold:.2f})."
)
UNSUPPORTED = (
    "The documents do not answer this question: none of the {sentences} sentence(s) the model wrote is "
    "supported by the passages it was given."
)
NOTHING_EXTRACTED = (
    "The documents do not answer this question: no sentence of the passages is close enough to it "
    "(best {best:.2f}, threshold {threshold:.2f})."
)


def render(question: str, passages: list[dict], instruct: bool) -> tuple[str | list[dict], list[str], str]:
    """The prompt (a string, or chat messages), its stop sequences, and the answer's prefill."""
    if instruct:
        messages = [
            {"role": "system", "content": SYSTEM.render()},
            {"role": "user", "content": USER.render(passages=passages, question=question)},
        ]
        return messages, CHAT_STOP, ""
    return COMPLETION.render(passages=passages, question=question, prefill=PREFILL), COMPLETION_STOP, PREFILL


def overhead(question: str, instruct: bool) -> str:
    """The prompt with no passages: what the budget must leave room for."""
    prompt, _, _ = render(question, [], instruct)
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


def passage_block(passage: dict) -> str:
    """One passage as the prompt shows it (for counting its tokens)."""
    return f"[{passage['number']}] {passage['title']}\n{passage['text']}\n\n"
