"""What the simulated model writes: a short text about the request's own theme, prompt, tone and audience.

The product builds its user messages from labelled parts (``shared.campaigns.prompts.build_messages`` and
``shared.campaigns.prompts.fan_prompt``): ``Platforms: a, b. Fan: fan-1. Theme: …. Tone: ….
Audience: …. Write in language: …`` followed by the free-form prompt. :func:`read_brief` takes those
parts back out, and :func:`compose` fills one of a few templates per campaign kind with them, so a
person reading a simulated answer sees their own subject in it. The template is chosen from a hash
of the conversation: the same request always reads the same, different requests read differently.
A message that does not follow the labelled form (someone else's client) is written about its own
distinctive words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LABELS = {
    "Platforms": "platforms",
    "Fan": "fan",
    "Theme": "theme",
    "Tone": "tone",
    "Audience": "audience",
    "Write in language": "language",
}
_LABEL = re.compile(r"(?:^|(?<=\.\s))(" + "|".join(re.escape(label) for label in LABELS) + r"):\s")
_LEADING_ASK = re.compile(
    r"^(?:please\s+)?(?:write|create|make|give|draft|compose|plan|generate|suggest|reply to|answer)\s+"
    r"(?:me\s+)?(?:(?:a|an|the|some)\s+)?(?:(?:caption|message|post|plan|note)s?\s+(?:for|about|on)\s+)?",
    re.IGNORECASE,
)
_STOPWORD_TEXT = (
    "about above after again also been before being below between both could does doing down during each from "
    "further have having here into just more most other over same should some such than that their them then "
    "there these they this those through under until very were what when where which while will with would your "
    "yours write please make give create need want like help short message caption plan campaign week weeks post "
    "posts reply loved love photo video days month"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
SUBJECT_MAX_CHARS = 80


@dataclass(frozen=True)
class Brief:
    """What a request asks to write about, as the product labelled it."""

    subject: str
    platforms: str = ""
    tone: str = ""
    audience: str = ""
    prompt: str = ""


def keywords(text: str, limit: int = 3) -> list[str]:
    """Distinctive words of a text, in order of appearance (for messages without labels)."""
    seen: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text):
        lowered = word.lower().strip("'-")[:20]
        if lowered not in _STOPWORDS and lowered not in seen:
            seen.append(lowered)
        if len(seen) == limit:
            break
    return seen


def read_brief(user_text: str) -> Brief:
    """The labelled parts of a user message, and the free-form prompt that follows them."""
    values: dict[str, str] = {}
    matches = list(_LABEL.finditer(user_text))
    prompt_start = 0
    for index, match in enumerate(matches):
        following = matches[index + 1] if index + 1 < len(matches) else None
        end = following.start() if following else len(user_text)
        raw = user_text[match.end() : end].strip()
        if following is None:  # the last value ends at its own full stop; the free prompt follows it
            value, _, rest = raw.partition(". ")
            prompt_start = len(user_text) - len(rest) if rest else len(user_text)
            raw = value
        values[LABELS[match[1]]] = raw.rstrip(".").strip()
    prompt = (user_text[prompt_start:] if matches else user_text).strip()
    subject = values.get("theme") or _subject_of(prompt)
    return Brief(subject, values.get("platforms", ""), values.get("tone", ""), values.get("audience", ""), prompt)


def _subject_of(prompt: str) -> str:
    """A noun phrase for a free-form prompt: what follows "about", else the ask without its verb."""
    sentence = re.split(r"(?<=[.!?])\s", prompt.strip(), maxsplit=1)[0].rstrip(".!?")
    about = re.search(r"\babout\s+(.+)$", sentence, re.IGNORECASE)
    phrase = about[1] if about else _LEADING_ASK.sub("", sentence)
    if len(phrase) > SUBJECT_MAX_CHARS:
        phrase = phrase[:SUBJECT_MAX_CHARS].rsplit(" ", 1)[0]
    return phrase.strip() or ", ".join(keywords(prompt)) or "your content"


def compose(intent: str, brief: Brief, variant: int) -> list[str]:
    """Lines of a reply of kind ``intent`` (plan, caption, message) about ``brief``; ``variant`` picks wording."""
    subject, tone = brief.subject, brief.tone or ("warm", "upbeat", "relaxed")[variant % 3]
    audience = brief.audience or "your followers"
    if intent == "plan":
        opener = ("Campaign plan", "Content calendar", "Weekly strategy")[variant % 3]
        where = f" on {brief.platforms}" if brief.platforms else ""
        return [
            f"{opener} for {subject}{where}, aimed at {audience}:",
            f"1. Monday: open with a {tone} teaser about {subject}.",
            f"2. Wednesday: share behind-the-scenes moments of {subject}.",
            f"3. Friday: ask {audience} what they want to see next about {subject}, and reply to the best answers.",
            f"4. Sunday: recap the week of {subject} and tease what comes next.",
            f"Track saves and replies per post, then double down on the {subject} format that performs best.",
        ]
    tags = " ".join(f"#{word}" for word in keywords(subject, limit=2)) or "#new"
    if intent == "caption":
        opener = ("New drop:", "Just for you:", "Fresh today:")[variant % 3]
        return [f"{opener} {subject}, {tone} and real. Tell me in the comments what you think! {tags}"]
    opener = ("Hey", "Hi there", "Hello")[variant % 3]
    middle = (
        f"I just finished something new about {subject} and you were the first person I thought of.",
        f"I have been putting a lot of love into {subject} lately, and I saved a little preview for you.",
        f"{subject[:1].upper()}{subject[1:]} has been on my mind all week, and I wanted to share it with you first.",
    )[variant % 3]
    return [f"{opener}! {middle}", "Tell me what you think, I read every reply. Talk soon!"]
