"""LangChain's own standard tests for retrievers (langchain-tests), run on LotseRetriever
over the shared corpus store: ``k`` in the constructor and with each call, sync and async.
The class is LangChain's; what it checks is theirs, only the retriever is ours."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from bot.integrations.langchain import LotseRetriever


class TestLotseRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _engine(self, default_engine):
        self.engine = default_engine

    @property
    def retriever_constructor(self) -> type[LotseRetriever]:
        return LotseRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"engine": self.engine}

    @property
    def retriever_query_example(self) -> str:
        return "Wie lange dauert der Versand?"
