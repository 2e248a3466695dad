"""REST API of minutes (/api/v1/minutes/...): list, detail, PDF, verify, publish, review,
questions, bundle export and file downloads. Thin wrappers over selectors and services;
what a caller may not see is 404.

Files (a PDF, its PDF/A-3b variant, a reviewer's bundle) are rendered by the worker
process: the client queues a job, polls it, and downloads `file_url`, which streams the
file to any authenticated client (a token as well as a session) under the same rules as
the job itself."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assemblies.minutes import selectors, services, worker
from assemblies.minutes.forms import ReviewFilterForm
from assemblies.models import (
    Minutes,
    MinutesPublication,
    MinutesQuestion,
    MinutesRenderJob,
    MinutesVersion,
)
from governance import selectors as gov_selectors
from governance.models import Federation
from governance.permissions import may

TAG = ["minutes"]


# --- Serializers ----------------------------------------------------------------------------


class VersionOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    number = serializers.IntegerField()
    hash = serializers.CharField()
    previous_hash = serializers.CharField()
    approved_at = serializers.DateTimeField()
    reason = serializers.CharField()


class MinutesOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    organization = serializers.CharField(
        source="organization.slug", allow_null=True, help_text="Empty for a federation's own."
    )
    federation = serializers.CharField(
        source="federation.slug", allow_null=True, help_text="Set for a federation's own."
    )
    assembly = serializers.UUIDField(source="assembly.uuid")
    title = serializers.CharField(source="assembly.title")
    starts_at = serializers.DateTimeField(source="assembly.starts_at")
    status = serializers.CharField()
    amendment_until = serializers.DateTimeField(allow_null=True)


class MinutesDetailOut(MinutesOut):
    versions = VersionOut(many=True)
    content = serializers.JSONField(help_text="The draft, or the latest approved content.")


class DocumentOut(VersionOut):
    organization = serializers.CharField(source="organization.slug", allow_null=True)
    federation = serializers.CharField(source="federation.slug", allow_null=True)
    minutes = serializers.UUIDField(source="minutes.uuid")
    document = serializers.JSONField(
        help_text="format, content, approval, previous_hash and hash: recompute SHA-256 over "
        "the canonical JSON of everything but `hash`."
    )


class PdfIn(serializers.Serializer):
    variant = serializers.ChoiceField(choices=MinutesRenderJob.Variant.choices, default="standard")
    signed = serializers.BooleanField(default=False)


class JobOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    kind = serializers.CharField()
    variant = serializers.CharField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    progress_done = serializers.IntegerField()
    progress_total = serializers.IntegerField()
    file_url = serializers.CharField(
        allow_null=True, help_text="Set once the file is ready: GET it to download."
    )


class ExportIn(serializers.Serializer):
    federation = serializers.SlugField(help_text="The federation you review")
    organization = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Organisation slug"
    )
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Decision text"
    )


class ProblemOut(serializers.Serializer):
    record = serializers.CharField()
    reason = serializers.CharField()


class VerifyOut(serializers.Serializer):
    organization = serializers.CharField(allow_null=True)
    federation = serializers.CharField(allow_null=True)
    ok = serializers.BooleanField()
    length = serializers.IntegerField()
    problems = ProblemOut(many=True)


class MinutesPublishIn(serializers.Serializer):
    federation = serializers.SlugField()


class PublicationOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    federation = serializers.CharField(source="federation.slug")
    organization = serializers.CharField(
        source="organization.name", allow_null=True, help_text="Empty for a federation's own."
    )
    version = serializers.UUIDField(source="version.uuid")
    hash = serializers.CharField(source="version.hash")
    title = serializers.CharField(source="version.minutes.assembly.title")
    starts_at = serializers.DateTimeField(source="version.minutes.assembly.starts_at")
    published_at = serializers.DateTimeField()


class QuestionIn(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)


class AnswerIn(serializers.Serializer):
    answer = serializers.CharField(max_length=10_000)


class QuestionOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    text = serializers.CharField()
    asked_by = serializers.CharField(source="asked_by.display_name")
    asked_at = serializers.DateTimeField()
    answer = serializers.CharField()
    answered_by = serializers.CharField(source="answered_by.display_name", allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)


class AckOut(serializers.Serializer):
    publication = serializers.UUIDField(source="publication.uuid")
    at = serializers.DateTimeField()


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    ser = serializer_class(data=request.data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _job(request: Request, job: MinutesRenderJob) -> dict[str, Any]:
    url = None
    if job.status == MinutesRenderJob.Status.DONE:
        url = request.build_absolute_uri(reverse("api-minutes-job-file", args=[job.uuid]))
    return dict(
        JobOut(
            {
                "uuid": job.uuid,
                "kind": job.kind,
                "variant": job.variant,
                "status": job.status,
                "percent": job.percent,
                "progress_done": job.progress_done,
                "progress_total": job.progress_total,
                "file_url": url,
            }
        ).data
    )


# --- Views ----------------------------------------------------------------------------------


@extend_schema(
    tags=TAG,
    responses=MinutesOut(many=True),
    parameters=[
        OpenApiParameter("organization", str, description="Organisation slug"),
        OpenApiParameter("federation", str, description="Federation slug: its own minutes"),
    ],
)
@api_view(["GET"])
def minutes_list(request: Request) -> Response:
    qs = selectors.minutes_visible_to(request.user).order_by("-assembly__starts_at")
    if request.query_params.get("organization"):
        qs = qs.filter(organization__slug=request.query_params["organization"])
    if request.query_params.get("federation"):
        qs = qs.filter(
            organization__isnull=True, federation__slug=request.query_params["federation"]
        )
    return Response(MinutesOut(qs[:200], many=True).data)


@extend_schema(tags=TAG, responses=MinutesDetailOut)
@api_view(["GET"])
def minutes_detail(request: Request, uuid: Any) -> Response:
    minutes: Minutes = selectors.minutes_get_for_member(user=request.user, uuid=uuid)
    versions = list(minutes.versions.order_by("number"))
    if minutes.editable or not versions:
        content = selectors.draft_content(minutes=minutes)
    else:
        content = json.loads(versions[-1].content)
    data = dict(MinutesOut(minutes).data)
    data["versions"] = VersionOut(versions, many=True).data
    data["content"] = content
    return Response(data)


@extend_schema(tags=TAG, responses=DocumentOut)
@api_view(["GET"])
def version_detail(request: Request, uuid: Any) -> Response:
    version: MinutesVersion = selectors.version_get_for_user(user=request.user, uuid=uuid)
    data = dict(VersionOut(version).data)
    data.update(
        organization=version.organization.slug if version.organization else None,
        federation=version.federation.slug if version.federation else None,
        minutes=str(version.minutes.uuid),
        document=selectors.document_for(version),
    )
    return Response(data)


@extend_schema(tags=TAG, request=PdfIn, responses={202: JobOut})
@api_view(["POST"])
def version_pdf(request: Request, uuid: Any) -> Response:
    """Queue the PDF; poll the job until `file_url` is set."""
    version = selectors.version_get_for_user(user=request.user, uuid=uuid)
    data = _input(PdfIn, request)
    job = services.pdf_request(
        actor=request.user,
        version=version,
        variant=data["variant"],
        signed=data["signed"],
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    return Response(_job(request, job), status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAG, responses=JobOut)
@api_view(["GET"])
def job_detail(request: Request, uuid: Any) -> Response:
    return Response(_job(request, selectors.job_get_for_user(user=request.user, uuid=uuid)))


class FileNegotiation(DefaultContentNegotiation):
    """A download answers with the file's own type whatever the client accepts
    (`Accept: application/pdf` included); errors then come as JSON."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class JobFile(APIView):
    """Download a rendered file. The same rules as the job: a PDF for whoever may see the
    minutes (members; a reviewer once they are published to a federation they review), a
    bundle for the reviewer who asked for it."""

    content_negotiation_class = FileNegotiation

    @extend_schema(
        tags=TAG,
        operation_id="minutes_jobs_file_retrieve",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The PDF (or PDF/A-3b) of a PDF job"
            ),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The ZIP of a bundle export (PDFs and an index)"
            ),
            409: OpenApiResponse(JobOut, description="Not ready yet (or failed): the job"),
            404: OpenApiResponse(description="No such file, or not yours to see"),
        },
    )
    def get(self, request: Request, uuid: Any) -> Response | FileResponse:
        job = selectors.job_get_for_user(user=request.user, uuid=uuid)
        path = worker.file_path(job) if job.status == MinutesRenderJob.Status.DONE else None
        if path is None or not path.is_file():
            return Response(_job(request, job), status=status.HTTP_409_CONFLICT)
        if job.kind == MinutesRenderJob.Kind.PDF:
            assert job.version is not None
            assembly = job.version.minutes.assembly
            stamp = timezone.localtime(assembly.starts_at).strftime("%Y-%m-%d")
            suffix = "-pdfa" if job.variant == MinutesRenderJob.Variant.PDFA else ""
            name = f"minutes-{stamp}-v{job.version.number}{suffix}.pdf"
            content_type = "application/pdf"
        else:
            name = f"minutes-bundle-{job.created_at:%Y%m%d}.zip"
            content_type = "application/zip"
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=name, content_type=content_type
        )


def _reviewed_federation(request: Request, slug: str) -> Federation:
    """A federation the caller reviews now; any other is 404, whether it exists or not."""
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=slug)
    if not may(request.user, "federation.review", fed):
        raise Http404(_("No such federation."))
    return fed


@extend_schema(tags=TAG, request=ExportIn, responses={202: JobOut})
@api_view(["POST"])
def review_export(request: Request) -> Response:
    """Export a period's published minutes as a ZIP of PDF/A files with an index (CSV and
    JSON). Poll the job for progress; download `file_url` when it is set."""
    data = _input(ExportIn, request)
    fed = _reviewed_federation(request, data["federation"])
    job = services.bundle_request(
        actor=request.user,
        federation=fed,
        organization=data.get("organization") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        text=data.get("q") or "",
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    return Response(_job(request, job), status=status.HTTP_202_ACCEPTED)


@extend_schema(
    tags=TAG,
    responses=VerifyOut,
    parameters=[
        OpenApiParameter("organization", str, description="Organisation slug"),
        OpenApiParameter("federation", str, description="Federation slug: its own minutes"),
    ],
)
@api_view(["GET"])
def verify(request: Request) -> Response:
    """Recompute a chain: an organisation's, or a federation's own minutes (give one)."""
    org = fed = None
    if request.query_params.get("federation"):
        fed = gov_selectors.federation_get_for_member(
            user=request.user, slug=request.query_params["federation"]
        )
    else:
        org = gov_selectors.organization_get_for_member(
            user=request.user, slug=request.query_params.get("organization", "")
        )
    problems = selectors.chain_problems(organization=org, federation=fed)
    return Response(
        VerifyOut(
            {
                "organization": org.slug if org else None,
                "federation": fed.slug if fed else None,
                "ok": not problems,
                "length": selectors.chain_length(organization=org, federation=fed),
                "problems": [{"record": p.label, "reason": p.reason} for p in problems],
            }
        ).data
    )


@extend_schema(tags=TAG, request=MinutesPublishIn, responses={201: PublicationOut})
@api_view(["POST"])
def version_publish(request: Request, uuid: Any) -> Response:
    version = selectors.version_get_for_user(user=request.user, uuid=uuid)
    if not selectors.is_body_member(user=request.user, minutes=version.minutes):
        raise Http404(_("No such minutes."))
    data = _input(MinutesPublishIn, request)
    fed = gov_selectors.federation_get_for_member(user=request.user, slug=data["federation"])
    pub = services.minutes_publish(actor=request.user, version=version, federation=fed)
    return Response(PublicationOut(pub).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=TAG,
    responses=PublicationOut(many=True),
    parameters=[
        OpenApiParameter("federation", str, description="Federation slug"),
        OpenApiParameter("organization", str, description="Organisation slug"),
        OpenApiParameter("date_from", str, description="YYYY-MM-DD"),
        OpenApiParameter("date_to", str, description="YYYY-MM-DD"),
        OpenApiParameter("q", str, description="Decision text"),
    ],
)
@api_view(["GET"])
def review_list(request: Request) -> Response:
    """Published minutes the caller reviews (or their own organisation's)."""
    form = ReviewFilterForm(request.query_params)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    if form.errors:
        raise ValidationError(form.errors.get_json_data())
    fed = None
    if request.query_params.get("federation"):
        fed = gov_selectors.federation_get_for_member(
            user=request.user, slug=request.query_params["federation"]
        )
    pubs = selectors.publications_search(
        user=request.user,
        federation=fed,
        organization=cleaned.get("organization", ""),
        date_from=cleaned.get("date_from"),
        date_to=cleaned.get("date_to"),
        text=cleaned.get("q", ""),
    )
    return Response(PublicationOut(pubs[:200], many=True).data)


@extend_schema(tags=TAG, request=None, responses={201: AckOut})
@api_view(["POST"])
def review_acknowledge(request: Request, uuid: Any) -> Response:
    pub: MinutesPublication = selectors.publication_get(user=request.user, uuid=uuid)
    ack = services.publication_acknowledge(actor=request.user, publication=pub)
    return Response(AckOut(ack).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, methods=["GET"], responses=QuestionOut(many=True))
@extend_schema(tags=TAG, methods=["POST"], request=QuestionIn, responses={201: QuestionOut})
@api_view(["GET", "POST"])
def review_questions(request: Request, uuid: Any) -> Response:
    pub = selectors.publication_get(user=request.user, uuid=uuid)
    if request.method == "POST":
        data = _input(QuestionIn, request)
        q = services.question_ask(actor=request.user, publication=pub, text=data["text"])
        return Response(QuestionOut(q).data, status=status.HTTP_201_CREATED)
    return Response(QuestionOut(selectors.questions_for(publication=pub), many=True).data)


@extend_schema(tags=TAG, request=AnswerIn, responses=QuestionOut)
@api_view(["POST"])
def question_answer(request: Request, uuid: Any) -> Response:
    question = MinutesQuestion.objects.filter(uuid=uuid).select_related("publication").first()
    if question is None:
        raise Http404(_("No such question."))
    selectors.publication_get(user=request.user, uuid=question.publication.uuid)
    data = _input(AnswerIn, request)
    q = services.question_answer(actor=request.user, question=question, answer=data["answer"])
    return Response(QuestionOut(q).data)


urlpatterns = [
    path("minutes/", minutes_list, name="api-minutes-list"),
    path("minutes/verify/", verify, name="api-minutes-verify"),
    path("minutes/review/", review_list, name="api-minutes-review"),
    path("minutes/review/export/", review_export, name="api-minutes-export"),
    path(
        "minutes/review/<uuid:uuid>/acknowledge/",
        review_acknowledge,
        name="api-minutes-acknowledge",
    ),
    path("minutes/review/<uuid:uuid>/questions/", review_questions, name="api-minutes-questions"),
    path("minutes/questions/<uuid:uuid>/answer/", question_answer, name="api-minutes-answer"),
    path("minutes/versions/<uuid:uuid>/", version_detail, name="api-minutes-version"),
    path("minutes/versions/<uuid:uuid>/pdf/", version_pdf, name="api-minutes-pdf"),
    path("minutes/versions/<uuid:uuid>/publish/", version_publish, name="api-minutes-publish"),
    path("minutes/jobs/<uuid:uuid>/", job_detail, name="api-minutes-job"),
    path("minutes/jobs/<uuid:uuid>/file/", JobFile.as_view(), name="api-minutes-job-file"),
    path("minutes/<uuid:uuid>/", minutes_detail, name="api-minutes-detail"),
]
