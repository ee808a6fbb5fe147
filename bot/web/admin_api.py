"""REST routes for the staff who keep the knowledge base right; admin role only.

    GET   /v1/admin/documents                 every document (``?status=live|excluded|failed``)
    GET   /v1/admin/documents/{key}/chunks    its chunks as retrieval sees them
    PATCH /v1/admin/documents/{key}           ``{"excluded": bool}`` and/or ``{"audience": …}``
    POST  /v1/admin/documents/{key}/reingest  read it again now
    POST  /v1/admin/retrieval-test            ``{"question"}``: both views, laid open
    GET   /v1/admin/usage                     citations and ratings per document (``?days=30``)
    GET   /v1/admin/generations               the published generations, newest first
    POST  /v1/admin/generations/rollback      ``{"to"?}``: the previous (or given) one goes live
    POST  /v1/admin/ingest                    ``{"paths", "urls", "all"}``: folders, web sources
    GET   /v1/admin/schedule                  scheduled targets: last and next run
    GET   /v1/admin/runs                      recent ingest runs with their reports
    GET   /v1/admin/audit                     who changed what

Every route is a call into ``ChatServices`` (``documents``, ``admin``, ``scheduler``);
changes are logged as made by ``api`` with the token's role, since tokens name no person.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from bot.chat.retrieval_check import check_retrieval
from bot.chat.service import ChatServices
from kb.errors import InvalidInput
from kb.settings import WebSourceSettings

WHO = "api (admin token)"


class DocumentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, never ignored
    excluded: StrictBool | None = Field(None, description="true: leave it out of every answer; "
                                  "false: read it again")
    audience: Literal["public", "internal"] | None = Field(None, description="who may see it")


class RetrievalTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, never ignored
    question: str = Field(..., description="A question as a customer would ask it.")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, never ignored
    to: str | None = Field(None, description="A generation id; empty: the one before the live one.")


class AdminIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, never ignored
    paths: list[str] = Field(default_factory=list, description="Folders under the ingest roots.")
    urls: list[WebSourceSettings] = Field(
        default_factory=list, description="Web sources: url, mode (page, sitemap, crawl), "
        "max_pages, max_depth, audience.")
    all: StrictBool = Field(False, description="Everything configured: ingest roots, uploads, "
                      "ingest.sources (paths and urls are then ignored).")


def admin_routes(services: ChatServices, admin_role) -> APIRouter:
    router = APIRouter(prefix="/v1/admin", dependencies=[Depends(admin_role)])
    documents, admin = services.documents, services.admin

    @router.get("/documents")
    def list_documents(status: Literal["live", "excluded", "failed"] | None = None) -> list[dict]:
        return [d.to_dict() for d in documents.documents() if status is None or d.status == status]

    @router.get("/documents/{key}/chunks")
    def document_chunks(key: str) -> dict:
        doc, chunks = documents.chunks(key)
        return {"document": doc.to_dict(), "chunks": chunks}

    @router.patch("/documents/{key}")
    def change_document(key: str, body: DocumentChange) -> dict:
        if body.excluded is None and body.audience is None:
            raise InvalidInput("say what to change: excluded and/or audience")
        report = None
        if body.audience is not None:
            report = documents.set_audience(key, body.audience, WHO)
        if body.excluded is True:
            report = documents.exclude(key, WHO)
        elif body.excluded is False:
            report = documents.include(key, WHO)
        return {"document": documents.document(key).to_dict(), "ingest": report.to_dict()}

    @router.post("/documents/{key}/reingest")
    def reingest_document(key: str) -> dict:
        return documents.reingest(key, WHO).to_dict()

    @router.post("/retrieval-test")
    def retrieval_test(body: RetrievalTestRequest) -> dict:
        return check_retrieval(admin.engine, body.question)

    @router.get("/usage")
    def usage(days: int = 30) -> dict:
        if not 1 <= days <= 365:
            raise InvalidInput(f"days={days}: between 1 and 365")
        docs = documents.documents(usage_days=days)
        live = [d for d in docs if d.status == "live"]
        return {"days": days,
                "documents": [{"key": d.key, "source": d.source, "title": d.title,
                               "cited": d.cited, "helpful": d.helpful,
                               "unhelpful": d.unhelpful}
                              for d in sorted(live, key=lambda d: -d.cited) if d.cited],
                "never_cited": [{"key": d.key, "source": d.source, "title": d.title}
                                for d in live if not d.cited],
                "content_gaps": services.chat.kpis()["content_gaps"]}

    @router.get("/generations")
    def generations() -> list[dict]:
        return admin.generations()

    @router.post("/generations/rollback")
    def rollback(body: RollbackRequest) -> dict:
        return admin.rollback(body.to, WHO)

    @router.post("/ingest")
    def ingest(body: AdminIngestRequest) -> dict:
        if body.all:
            return admin.ingest_all(by=WHO).to_dict()
        if not body.paths and not body.urls:
            raise InvalidInput("nothing to ingest: give paths, urls, or all")
        return admin.ingest(body.paths, sources=body.urls, by=WHO).to_dict()

    @router.get("/schedule")
    def schedule() -> list[dict]:
        return [p.to_dict() for p in services.scheduler.plan()]

    @router.get("/runs")
    def runs(limit: int = 50) -> list[dict]:
        return [r.to_dict() for r in admin.runs(max(1, min(limit, 500)))]

    @router.get("/audit")
    def audit(limit: int = 200) -> list[dict]:
        return [e.to_dict() for e in services.chat.state.audit_log(max(1, min(limit, 1000)))]

    return router
