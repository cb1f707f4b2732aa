"""The HTTP adapter: error mapping without a server, then end to end against `transformers serve`.

`transformers serve` is a real OpenAI-compatible server that runs here on CPU. It serves the
bundled model once exported to safetensors; the same folder loaded in process must give the same
greedy text. It ignores `response_format` (transformers/cli/serving/chat_completion.py lists it
in UNUSED_CHAT_COMPLETION_FIELDS and only logs a warning), so against it complete_json returns
free text: the test asserts exactly that, and what the parser then makes of it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from docanalysis.core.errors import DocAnalysisError, ModelOutputError, ModelUnavailableError
from docanalysis.core.parsing import parse_window_output
from docanalysis.core.prompts import window_messages, window_schema
from docanalysis.core.types import ClauseCategory, Message, Provision
from docanalysis.llm.convert import export_bundled
from docanalysis.llm.openai_compat import OpenAICompatModel
from docanalysis.llm.transformers_local import LocalModel
from tests.support.bpe import save_bpe

QUESTION = [Message("user", "What is a contract? Answer in one sentence.")]
CATEGORIES = (
    ClauseCategory("parties", "Parties", "The parties who signed the contract", "parties"),
    ClauseCategory("agreement_date", "Agreement Date", "The date of the contract", "date"),
    ClauseCategory(
        "governing_law", "Governing Law", "Which state's law governs the contract?", "jurisdiction"
    ),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mocked(handler: Any, **kwargs: Any) -> OpenAICompatModel:
    model = OpenAICompatModel("http://model.test/v1", "m", **kwargs)
    model._client = httpx.Client(transport=httpx.MockTransport(handler))
    return model


def test_connection_refused_is_unavailable() -> None:
    model = OpenAICompatModel(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=5)
    with pytest.raises(ModelUnavailableError, match="unreachable"):
        model.complete_text(QUESTION, 4)


def test_server_errors_map_to_unavailable() -> None:
    failing = mocked(lambda request: httpx.Response(503, text="overloaded"))
    with pytest.raises(ModelUnavailableError, match="model server error 503") as caught:
        failing.complete_text(QUESTION, 4)
    assert caught.value.code == "model_unavailable"
    refusing = mocked(
        lambda request: httpx.Response(400, json={"error": {"message": "max_tokens too large"}})
    )
    with pytest.raises(ModelUnavailableError, match="max_tokens too large") as caught:
        refusing.complete_text(QUESTION, 4)
    assert caught.value.code == "model_request_rejected"


def test_request_body_and_vllm_endpoints() -> None:
    seen: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((f"{request.method} {request.url.path}", body))
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "m", "max_model_len": 131072}]})
        if request.url.path == "/tokenize":
            return httpx.Response(200, json={"count": 7, "tokens": []})
        message = {"role": "assistant", "content": '{"summary": "", "clauses": []}'}
        usage = {"prompt_tokens": 11, "completion_tokens": 5}
        return httpx.Response(200, json={"choices": [{"message": message}], "usage": usage})

    model = mocked(handler)
    schema = {"type": "object"}
    completion = model.complete_json(QUESTION, schema, 32)
    assert (
        completion.text,
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    ) == (
        '{"summary": "", "clauses": []}',
        11,
        5,
    )
    assert model.count_tokens("abc") == 7
    assert model.identity.context_length == 131072 and model.identity.revision == "served"
    assert seen[0] == (
        "POST /v1/chat/completions",
        {
            "model": "m",
            "messages": [{"role": "user", "content": QUESTION[0].content}],
            "temperature": 0,
            "max_tokens": 32,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "window_analysis", "schema": schema, "strict": True},
            },
        },
    )
    assert seen[1] == (
        "POST /tokenize",
        {"model": "m", "prompt": "abc", "add_special_tokens": False},
    )


def chat_body(structured_output: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The body complete_json sends when the server is configured with `structured_output`."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        message = {"role": "assistant", "content": "{}"}
        return httpx.Response(200, json={"choices": [{"message": message}]})

    mocked(handler, structured_output=structured_output).complete_json(QUESTION, schema, 8)
    return bodies[0]


def test_structured_output_fields_for_each_vllm_generation() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "enum": [1, 2]}}}
    common = {
        "model": "m",
        "messages": [{"role": "user", "content": QUESTION[0].content}],
        "temperature": 0,
        "max_tokens": 8,
    }
    assert chat_body("response_format", schema) == {
        **common,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "window_analysis", "schema": schema, "strict": True},
        },
    }
    assert chat_body("structured_outputs", schema) == {
        **common,
        "structured_outputs": {"json": schema},
    }
    assert chat_body("guided_json", schema) == {**common, "guided_json": schema}


def test_unknown_structured_output_field_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        OpenAICompatModel("http://model.test/v1", "m", structured_output="guided_decoding")
    assert str(caught.value) == (
        "unknown structured_output 'guided_decoding': use one of "
        "response_format, structured_outputs, guided_json"
    )


def test_unknown_context_length_is_an_error() -> None:
    model = mocked(lambda request: httpx.Response(200, json={"data": [{"id": "m"}]}))
    with pytest.raises(DocAnalysisError, match="context length"):
        model.identity  # noqa: B018


@pytest.fixture(scope="module")
def tokenizer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_bpe(tmp_path_factory.mktemp("tokenizer") / "bpe")


def recording(owned_by: str | None) -> tuple[list[tuple[str, Any]], Any]:
    """(requests seen, handler) for a server whose /models says who serves the model."""
    seen: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((f"{request.method} {request.url.path}", body))
        usage = {"prompt_tokens": 11, "completion_tokens": 5}
        if request.url.path == "/v1/models":
            entry = {"id": "m", "max_model_len": 4096}
            return httpx.Response(
                200, json={"data": [entry | ({"owned_by": owned_by} if owned_by else {})]}
            )
        if request.url.path == "/v1/completions":
            return httpx.Response(200, json={"choices": [{"text": "{}"}], "usage": usage})
        message = {"role": "assistant", "content": "{}"}
        return httpx.Response(200, json={"choices": [{"message": message}], "usage": usage})

    return seen, handler


def test_vllm_gets_the_prompt_as_token_ids(tokenizer_folder: Path) -> None:
    from tokenizers import Tokenizer

    seen, handler = recording("vllm")
    model = mocked(handler, tokenizer=str(tokenizer_folder))
    schema = {"type": "object"}

    completion = model.complete_json(QUESTION, schema, 32)

    # The chat template written out by hand, tokenized by the tokenizers library alone.
    chat = f"<|im_start|>user\n{QUESTION[0].content}<|im_end|>\n<|im_start|>assistant\n"
    backend = Tokenizer.from_file(str(tokenizer_folder / "tokenizer.json"))
    ids = backend.encode(chat, add_special_tokens=False).ids
    assert ids[0] == backend.token_to_id("<|im_start|>") and len(ids) > 10
    assert seen == [
        ("GET /v1/models", None),
        (
            "POST /v1/completions",
            {
                "model": "m",
                "prompt": ids,
                "temperature": 0,
                "max_tokens": 32,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "window_analysis", "schema": schema, "strict": True},
                },
            },
        ),
    ]
    assert (completion.text, completion.usage.prompt_tokens) == ("{}", 11)
    assert model.count_prompt_tokens(QUESTION) == len(ids)
    model.complete_text(QUESTION, 8)  # the server was asked who it is once
    assert [s[0] for s in seen[2:]] == ["POST /v1/completions"]
    assert seen[2][1] == {"model": "m", "prompt": ids, "temperature": 0, "max_tokens": 8}


@pytest.mark.parametrize(
    ("owned_by", "token_ids", "tokenizer"),
    [
        ("huggingface", None, True),  # another server: text
        (None, None, True),  # a server that does not say
        ("vllm", False, True),  # ids switched off
        ("vllm", None, False),  # no local tokenizer: the ids are not known here
    ],
)
def test_other_servers_get_chat_messages(
    tokenizer_folder: Path, owned_by: str | None, token_ids: bool | None, tokenizer: bool
) -> None:
    seen, handler = recording(owned_by)
    folder = str(tokenizer_folder) if tokenizer else ""
    model = mocked(handler, tokenizer=folder, token_ids=token_ids)

    model.complete_text(QUESTION, 8)

    assert seen[-1] == (
        "POST /v1/chat/completions",
        {
            "model": "m",
            "messages": [{"role": "user", "content": QUESTION[0].content}],
            "temperature": 0,
            "max_tokens": 8,
        },
    )
    asked = owned_by is not None or token_ids is None
    assert [s[0] for s in seen[:-1]] == (
        ["GET /v1/models"] if tokenizer and token_ids is None and asked else []
    )


def test_token_ids_need_a_tokenizer() -> None:
    with pytest.raises(ValueError, match="needs the serving model's tokenizer"):
        OpenAICompatModel("http://model.test/v1", "m", token_ids=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_bundled(tmp_path_factory.mktemp("export") / "smollm2-135m")


@pytest.fixture(scope="module")
def server(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    command = [str(Path(sys.executable).parent / "transformers"), "serve", str(exported)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", process, timeout_s=240)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"transformers serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("transformers serve did not become ready")


@pytest.fixture(scope="module")
def remote(server: str, exported: Path) -> OpenAICompatModel:
    return OpenAICompatModel(
        server, str(exported), tokenizer=str(exported), context_length=8192, timeout_s=300
    )


@pytest.mark.slow
def test_served_text_equals_local_text(remote: OpenAICompatModel, exported: Path) -> None:
    served = remote.complete_text(QUESTION, 16)
    local = LocalModel(str(exported)).complete_text(QUESTION, 16)
    assert served.text == local.text
    assert served.usage == local.usage
    assert remote.count_prompt_tokens(QUESTION) == local.usage.prompt_tokens
    assert remote.identity.id == str(exported)
    assert (remote.identity.revision, remote.identity.context_length) == ("served", 8192)


@pytest.mark.slow
def test_complete_json_is_not_enforced_by_transformers_serve(
    remote: OpenAICompatModel, exported: Path
) -> None:
    text = "The Agreement is governed by Delaware law.\nThis Agreement starts on July 1, 2017.\n"
    provisions = [Provision(1, 0, 43, 1), Provision(2, 43, len(text), 1)]
    messages = window_messages(text, provisions, CATEGORIES)
    schema = window_schema([1, 2], CATEGORIES)
    served = remote.complete_json(messages, schema, 48)
    # The server ignored response_format: its answer is the plain greedy one.
    assert served.text == LocalModel(str(exported)).complete_text(messages, 48).text
    with pytest.raises(ModelOutputError) as caught:
        parse_window_output(served.text, [1, 2], CATEGORIES)
    assert caught.value.raw == served.text
