"""LanguageModel over an OpenAI-compatible HTTP server (vLLM in production, any such server).

complete_json asks the server to enforce the schema (vLLM's structured outputs) through one of
the request fields vLLM has accepted over its versions (STRUCTURED_OUTPUT_FIELDS); servers that
ignore it return free text, which the parser repairs or rejects. Tokens are counted with a local
tokenizer when one is configured, else with vLLM's /tokenize endpoint.

With a local tokenizer and a vLLM server, prompts go as token ids to /v1/completions: the ids
are the chat template rendered as text and tokenized, exactly what vLLM's chat endpoint does
with the same tokenizer, so the model reads the same tokens. The server then tokenizes nothing
(about a CPU second per 128K-token window with the bundled model's tokenizer, measured here, on
the path of every request), and the prompt is the very one counted here. Other servers, and a
vLLM started with a chat template of its own (pass token_ids=False), get chat messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from docanalysis.core.errors import DocAnalysisError, ModelUnavailableError
from docanalysis.core.types import Completion, Message, ModelIdentity, Usage
from docanalysis.llm.transformers_local import (
    chat_dicts,
    count_text_tokens,
    load_tokenizer,
    prompt_ids,
    text_token_offsets,
)

# How the schema travels, by the field a server reads:
# - "response_format": OpenAI's {"type": "json_schema", ...}; vLLM accepts it from 0.6 to now.
# - "structured_outputs": {"json": schema}, vLLM >= 0.10.2 (the current name of the field).
# - "guided_json": vLLM < 0.12 only (deprecated in 0.10.2, removed in 0.12).
STRUCTURED_OUTPUT_FIELDS = ("response_format", "structured_outputs", "guided_json")


def structured_output_body(field: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The request-body fields that carry `schema` the way `field` names."""
    if field == "response_format":
        json_schema = {"name": "window_analysis", "schema": dict(schema), "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": json_schema}}
    if field == "structured_outputs":
        return {"structured_outputs": {"json": dict(schema)}}
    if field == "guided_json":
        return {"guided_json": dict(schema)}
    raise ValueError(
        f"unknown structured_output {field!r}: use one of {', '.join(STRUCTURED_OUTPUT_FIELDS)}"
    )


class OpenAICompatModel:
    """LanguageModel for POST {base_url}/chat/completions (base_url ends in /v1 usually)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        tokenizer: str = "",
        context_length: int | None = None,
        timeout_s: float = 600,
        structured_output: str = "response_format",
        token_ids: bool | None = None,
    ) -> None:
        """`token_ids`: send prompts as token ids (True), as chat messages (False), or ids only
        where the server says it is vLLM and `tokenizer` is set (None)."""
        structured_output_body(structured_output, {})  # refuse an unknown field name now
        if token_ids and not tokenizer:
            raise ValueError("sending token ids needs the serving model's tokenizer (tokenizer=)")
        self.structured_output = structured_output
        self.token_ids = token_ids
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.tokenizer = tokenizer
        self.context_length = context_length
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s
        self._client: Any = None
        self._identity: ModelIdentity | None = None
        self._entry: dict[str, Any] | None = None

    @property
    def server_root(self) -> str:
        # vLLM serves /tokenize beside /v1, not under it.
        root = self.base_url
        return root[: -len("/v1")] if root.endswith("/v1") else root

    def _request(self, method: str, url: str, payload: Mapping[str, Any] | None = None) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout_s, headers=self._headers)
        try:
            response = self._client.request(method, url, json=payload)
        except httpx.HTTPError as exc:  # connection refused, timeouts, protocol errors
            raise ModelUnavailableError(f"model server unreachable at {url}: {exc!r}") from exc
        if response.status_code >= 500:
            raise ModelUnavailableError(
                f"model server error {response.status_code} at {url}: {response.text[:500]}"
            )
        if response.status_code >= 400:
            raise ModelUnavailableError(
                f"model server refused the request ({response.status_code}): "
                f"{_server_message(response)}",
                code="model_request_rejected",
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ModelUnavailableError(f"model server sent no JSON at {url}") from exc

    def _served_entry(self) -> dict[str, Any]:
        """The server's /models entry for our model ({} if not listed), asked once."""
        if self._entry is None:
            listing = self._request("GET", f"{self.base_url}/models")
            entries = listing.get("data", []) if isinstance(listing, dict) else []
            mine = (e for e in entries if isinstance(e, dict) and e.get("id") == self.model)
            self._entry = next(mine, {})
        return self._entry

    @property
    def sends_token_ids(self) -> bool:
        """Whether prompts go as token ids to /completions (see the module's docstring)."""
        if self.token_ids is None:
            # vLLM lists its models as owned by "vllm"; /completions there takes ids as prompt.
            served_by = self._served_entry().get("owned_by") if self.tokenizer else None
            self.token_ids = served_by == "vllm"
        return self.token_ids

    @property
    def identity(self) -> ModelIdentity:
        if self._identity is None:
            entry = self._served_entry()
            context = self.context_length or entry.get("max_model_len")
            if not context:
                raise DocAnalysisError(
                    f"the server does not report the context length of {self.model}; configure it",
                    code="model_context_unknown",
                )
            revision = str(entry.get("revision") or "served")
            self._identity = ModelIdentity(self.model, revision, int(context))
        return self._identity

    def count_tokens(self, text: str) -> int:
        if self.tokenizer:
            return count_text_tokens(load_tokenizer(self.tokenizer), text)
        payload = {"model": self.model, "prompt": text, "add_special_tokens": False}
        return int(self._request("POST", f"{self.server_root}/tokenize", payload)["count"])

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        if not self.tokenizer:
            return None  # vLLM's /tokenize gives ids, not where they lie in the text
        return text_token_offsets(load_tokenizer(self.tokenizer), text)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        if self.tokenizer:
            return len(prompt_ids(load_tokenizer(self.tokenizer), messages))
        payload = {
            "model": self.model,
            "messages": chat_dicts(messages),
            "add_generation_prompt": True,
            "add_special_tokens": False,
        }
        return int(self._request("POST", f"{self.server_root}/tokenize", payload)["count"])

    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        extra = structured_output_body(self.structured_output, schema)
        return self._complete(messages, max_tokens, extra)

    def complete_text(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        return self._complete(messages, max_tokens, {})

    def _complete(
        self, messages: Sequence[Message], max_tokens: int, extra: Mapping[str, Any]
    ) -> Completion:
        common = {"model": self.model, "temperature": 0, "max_tokens": max_tokens, **extra}
        if self.sends_token_ids:
            ids = prompt_ids(load_tokenizer(self.tokenizer), messages)
            body = self._request("POST", f"{self.base_url}/completions", {**common, "prompt": ids})
            return _completion(body, ("text",))
        payload = {**common, "messages": chat_dicts(messages)}
        body = self._request("POST", f"{self.base_url}/chat/completions", payload)
        return _completion(body, ("message", "content"))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _completion(body: Any, path: tuple[str, ...]) -> Completion:
    """The first choice's text, found at `path` in it, and the usage the server reported."""
    try:
        value = body["choices"][0]
        for key in path:
            value = value[key]
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelUnavailableError(
            f"model server answered without a choice: {body!r:.300}"
        ) from exc
    usage = body.get("usage") or {}
    return Completion(
        text=value or "",
        usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
    )


def _server_message(response: Any) -> str:
    """The error text an OpenAI-style server puts in {"error": {"message": ...}}, or the body."""
    try:
        body = response.json()
    except ValueError:
        return str(response.text[:500])
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return str(response.text[:500])
