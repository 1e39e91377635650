"""Document text as data inside a prompt: nothing in it may act as markup.

Chat templates mark turns with special tokens (`<|im_start|>system` for the
packaged Qwen model, `[INST]` or `</s>` for others), and llama.cpp tokenizes a
chat prompt with special tokens parsed: those strings in a document would open
a real system turn or end the prompt. The prompts here hold passages between
`<passages>` (or `<passage>`) tags and cite them as [1], [2]: a document
holding `</passages>` could end the data early, and one holding "[2]" could
pass for another passage or lend the model a citation to copy.

Each is defused, visibly and without losing the words: angle brackets become
‹ ›, square ones around a control word or a number become parentheses.
"""

from __future__ import annotations

import re

# <|im_start|>, <|eot_id|>, <|endoftext|>...; <s>, </s>; <<SYS>>; the prompts' own tags.
_ANGLED = re.compile(r"<\|[^<>|\n]{0,64}\|>|</?s>|<</?SYS>>|<\s*/?\s*passages?\s*>", re.IGNORECASE)
# [INST], [/INST], [SYSTEM_PROMPT]; citation markers [1], [2, 3].
_SQUARED = re.compile(r"\[(/?(?:INST|SYSTEM_PROMPT)|\d+(?:\s*,\s*\d+)*)\]")


def as_data(text: str) -> str:
    """`text` with chat-template tokens, prompt tags and citation markers defused."""
    text = _ANGLED.sub(lambda m: m.group().replace("<", "‹").replace(">", "›"), text)
    return _SQUARED.sub(r"(\1)", text)
