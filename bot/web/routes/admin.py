"""REST routes for the staff who keep the knowledge base and the service running; admin only.

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
    GET   /v1/admin/webhooks                  outgoing webhook deliveries (``?status=dead``)
    POST  /v1/admin/webhooks/{id}/replay      send a delivery again
    POST  /v1/uploads                         files into the upload folder (multipart)
    POST  /v1/ingest                          ``{"paths"}``: folders under the ingest roots
    GET   /v1/metrics                         this process's Prometheus metrics

Every route is a call into ``ChatServices`` (``documents``, ``admin``, ``scheduler``);
changes are logged as made by ``api`` with the token's role, since tokens name no person.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Form, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from bot.chat.admin import UploadRejected
from bot.chat.metrics import CONTENT_TYPE as METRICS_TYPE
from bot.chat.retrieval_check import check_retrieval
from bot.web.routes.dependencies import RecordId, Services, admin_role
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


class IngestRequest(BaseModel):
    paths: list[str] = Field(..., min_length=1)


class AdminIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, never ignored
    paths: list[str] = Field(default_factory=list, description="Folders under the ingest roots.")
    urls: list[WebSourceSettings] = Field(
        default_factory=list, description="Web sources: url, mode (page, sitemap, crawl), "
        "max_pages, max_depth, audience.")
    all: StrictBool = Field(False, description="Everything configured: ingest roots, uploads, "
                      "ingest.sources (paths and urls are then ignored).")


# Every route here needs the admin token; the check is the router's.
router = APIRouter(dependencies=[Depends(admin_role)])


@router.get("/v1/admin/documents")
def list_documents(services: Services,
                   status: Literal["live", "excluded", "failed"] | None = None) -> list[dict]:
    return [d.to_dict() for d in services.documents.documents()
            if status is None or d.status == status]


@router.get("/v1/admin/documents/{key}/chunks")
def document_chunks(key: str, services: Services) -> dict:
    doc, chunks = services.documents.chunks(key)
    return {"document": doc.to_dict(), "chunks": chunks}


@router.patch("/v1/admin/documents/{key}")
def change_document(key: str, body: DocumentChange, services: Services) -> dict:
    if body.excluded is None and body.audience is None:
        raise InvalidInput("say what to change: excluded and/or audience")
    documents = services.documents
    report = None
    if body.audience is not None:
        report = documents.set_audience(key, body.audience, WHO)
    if body.excluded is True:
        report = documents.exclude(key, WHO)
    elif body.excluded is False:
        report = documents.include(key, WHO)
    return {"document": documents.document(key).to_dict(), "ingest": report.to_dict()}


@router.post("/v1/admin/documents/{key}/reingest")
def reingest_document(key: str, services: Services) -> dict:
    return services.documents.reingest(key, WHO).to_dict()


@router.post("/v1/admin/retrieval-test")
def retrieval_test(body: RetrievalTestRequest, services: Services) -> dict:
    return check_retrieval(services.admin.engine, body.question)


@router.get("/v1/admin/usage")
def usage(services: Services, days: int = 30) -> dict:
    if not 1 <= days <= 365:
        raise InvalidInput(f"days={days}: between 1 and 365")
    docs = services.documents.documents(usage_days=days)
    live = [d for d in docs if d.status == "live"]
    return {"days": days,
            "documents": [{"key": d.key, "source": d.source, "title": d.title,
                           "cited": d.cited, "helpful": d.helpful,
                           "unhelpful": d.unhelpful}
                          for d in sorted(live, key=lambda d: -d.cited) if d.cited],
            "never_cited": [{"key": d.key, "source": d.source, "title": d.title}
                            for d in live if not d.cited],
            "content_gaps": services.chat.kpis()["content_gaps"]}


@router.get("/v1/admin/generations")
def generations(services: Services) -> list[dict]:
    return services.admin.generations()


@router.post("/v1/admin/generations/rollback")
def rollback(body: RollbackRequest, services: Services) -> dict:
    return services.admin.rollback(body.to, WHO)


@router.post("/v1/admin/ingest")
def ingest(body: AdminIngestRequest, services: Services) -> dict:
    if body.all:
        return services.admin.ingest_all(by=WHO).to_dict()
    if not body.paths and not body.urls:
        raise InvalidInput("nothing to ingest: give paths, urls, or all")
    return services.admin.ingest(body.paths, sources=body.urls, by=WHO).to_dict()


@router.get("/v1/admin/schedule")
def schedule(services: Services) -> list[dict]:
    return [p.to_dict() for p in services.scheduler.plan()]


@router.get("/v1/admin/runs")
def runs(services: Services, limit: int = 50) -> list[dict]:
    return [r.to_dict() for r in services.admin.runs(max(1, min(limit, 500)))]


@router.get("/v1/admin/audit")
def audit(services: Services, limit: int = 200) -> list[dict]:
    return [e.to_dict() for e in services.chat.state.audit_log(max(1, min(limit, 1000)))]


@router.get("/v1/admin/webhooks")
def get_webhooks(services: Services, status: str | None = None) -> list[dict]:
    """Outgoing webhook deliveries, newest first; ``?status=dead`` is the dead-letter list."""
    return [d.to_dict() for d in services.chat.webhook_deliveries(status or None)]


@router.post("/v1/admin/webhooks/{delivery_id}/replay")
def replay_webhook(delivery_id: RecordId, services: Services) -> dict:
    return services.chat.replay_webhook(delivery_id).to_dict()


@router.get("/v1/metrics", response_class=PlainTextResponse)
def get_metrics(services: Services) -> PlainTextResponse:
    """This process's Prometheus metrics (scrape each instance with the admin token)."""
    return PlainTextResponse(services.chat.metrics.render(), media_type=METRICS_TYPE)


@router.post("/v1/uploads")
def post_uploads(files: list[UploadFile], services: Services,
                 audience: str = Form("public")) -> dict:
    """Store files in the upload folder; each one is accepted or refused on its own."""
    admin = services.admin
    saved, refused = [], []
    for upload in files:
        data = upload.file.read(admin.max_bytes + 1)
        try:
            path = admin.save_upload(upload.filename or "", data, audience)
            saved.append(path.relative_to(admin.upload_dir).as_posix())
        except UploadRejected as exc:
            refused.append({"file": upload.filename, "reason": str(exc)})
    return {"saved": saved, "refused": refused, "upload_dir": str(admin.upload_dir)}


@router.post("/v1/ingest")
def post_ingest(body: IngestRequest, services: Services) -> dict:
    return services.admin.ingest(body.paths).to_dict()
