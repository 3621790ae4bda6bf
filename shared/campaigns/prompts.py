"""Chat messages for each campaign type: what the providers are asked to write."""

from __future__ import annotations

from collections.abc import Sequence

from shared.campaigns.models import CampaignData
from shared.routing.types import ChatMessage

SYSTEM_PROMPTS = {
    "content_planning": (
        "You are a content strategist for a creator. Write a concise content calendar and campaign "
        "strategy: goals, weekly themes, post ideas per platform, and posting cadence."
    ),
    "message_generation": (
        "You write short, warm, personal messages from a creator to their fans. Stay friendly, "
        "respectful and within platform rules."
    ),
    "caption": "You write short, catchy social media captions with a call to action and a few relevant hashtags.",
}
FAN_SYSTEM_PROMPT = (
    "You write one short, warm, personal direct message from a creator to one of their fans on "
    "OnlyFans. Address the fan personally, stay friendly and respectful, keep within platform rules, "
    "and answer with the message text only."
)


def build_messages(campaign_type: str, platforms: Sequence[str], data: CampaignData) -> list[ChatMessage]:
    """The system prompt of the campaign type and a user message built from the request's data."""
    parts = [f"Platforms: {', '.join(platforms)}."]
    if data.theme:
        parts.append(f"Theme: {data.theme}.")
    if data.tone:
        parts.append(f"Tone: {data.tone}.")
    if data.audience:
        parts.append(f"Audience: {data.audience}.")
    if data.language:
        parts.append(f"Write in language: {data.language}.")
    if data.prompt:
        parts.append(data.prompt)
    return [
        {"role": "system", "content": SYSTEM_PROMPTS[campaign_type]},
        {"role": "user", "content": " ".join(parts)},
    ]


def fan_prompt(data: CampaignData, recipient_id: str) -> list[ChatMessage]:
    """The chat messages asking for ``recipient_id``'s message."""
    parts = [f"Fan: {recipient_id}."]
    for label, value in (("Theme", data.theme), ("Tone", data.tone), ("Write in language", data.language)):
        if value:
            parts.append(f"{label}: {value}.")
    if data.prompt:
        parts.append(data.prompt)
    return [{"role": "system", "content": FAN_SYSTEM_PROMPT}, {"role": "user", "content": " ".join(parts)}]
