"""The browser UI: server-rendered Jinja2 pages with htmx (vendored), in English or Vietnamese.

Sessions ride on a secure, HttpOnly, SameSite=Lax cookie holding a token of the same kind as the
API's bearer tokens (only its hash is stored). Every form carries a CSRF token: an HMAC of the
session token with the server's secret (a random cookie before login). Pages here: log in, my
company (streams, the Excel template, upload, links with their reasons and workflow buttons); the
park's pages, the matching explorer and the link workflow are in :mod:`symbiolink.web.park_pages`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from symbiolink.errors import ParkFileError
from symbiolink.io import parse_park_bytes
from symbiolink.store import links
from symbiolink.store.accounts import (
    User,
    authenticate,
    issue_token,
    revoke_token,
    user_for_token,
)
from symbiolink.store.models import CompanyRow, StreamRow
from symbiolink.store.registry import export_park, replace_company_streams
from symbiolink.web import access
from symbiolink.web.i18n import LANGUAGES, number_format, translator
from symbiolink.web.schemas import LinkId

SESSION = "symbiolink_session"
PRE_CSRF = "symbiolink_csrf"
MAX_UPLOAD = 20 * 2**20

pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("symbiolink", "web/templates"), autoescape=select_autoescape(["html"])
)


def lang_href(request: Request, lang: str) -> str:
    """This page in another language (its query kept; after a form, the start page)."""
    if request.method != "GET" or request.headers.get("hx-request"):
        return f"/?lang={lang}"
    return str(request.url.include_query_params(lang=lang).replace(scheme="", netloc=""))


_env.globals["lang_href"] = lang_href


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "en"
    return lang if lang in LANGUAGES else "en"


def _csrf(request: Request, seed: str) -> str:
    return hmac.new(request.app.state.secret, seed.encode(), hashlib.sha256).hexdigest()


def _check_csrf(request: Request, seed: str, given: str) -> None:
    if not seed or not hmac.compare_digest(_csrf(request, seed), given or ""):
        raise HTTPException(
            403, "the form has expired or did not come from this site: reload the page"
        )


def _render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    html = _env.get_template(template).render(
        request=request, _=translator(lang), num=number_format(lang), lang=lang, **ctx
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            "lang", lang, samesite="lax", secure=request.app.state.secure_cookies, httponly=True
        )
    return response


def _session_user(request: Request) -> User | None:
    token = request.cookies.get(SESSION)
    return user_for_token(_engine(request), token, request.app.state.token_cache) if token else None


def _require(request: Request) -> tuple[User, str]:
    user = _session_user(request)
    if user is None:
        raise HTTPException(303, headers={"Location": "/login"})
    return user, request.cookies.get(SESSION, "")


SessionUser = Annotated[tuple[User, str], Depends(_require)]


def home_of(user: User) -> str:
    """Where a user starts: a company's page, a park's dashboard, or the list of parks."""
    if user.role in ("park_manager", "facilitator") and len(user.parks) == 1:
        return f"/park/{user.parks[0]}"
    if user.role in ("admin", "facilitator"):
        return "/parks"
    return "/me"


@pages.get("/")
def home(request: Request) -> Response:
    user = _session_user(request)
    return RedirectResponse(home_of(user) if user else "/login", status_code=303)


@pages.get("/login")
def login_page(request: Request) -> HTMLResponse:
    seed = request.cookies.get(PRE_CSRF) or secrets.token_urlsafe(16)
    response = _render(request, "login.html", csrf=_csrf(request, seed), error=None)
    response.set_cookie(
        PRE_CSRF, seed, samesite="strict", secure=request.app.state.secure_cookies, httponly=True
    )
    return response


@pages.post("/login")
def login_submit(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    _check_csrf(request, request.cookies.get(PRE_CSRF, ""), csrf)
    user = authenticate(_engine(request), email, password)
    if user is None:
        _ = translator(_lang(request))
        return _render(
            request, "login.html", status=401, csrf=csrf, error=_("Wrong e-mail or password.")
        )
    token = issue_token(_engine(request), user)
    response = RedirectResponse(home_of(user), status_code=303)
    response.set_cookie(
        SESSION,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        max_age=12 * 3600,
    )
    return response


@pages.post("/logout")
def logout(request: Request, session: SessionUser, csrf: Annotated[str, Form()]) -> Response:
    _check_csrf(request, session[1], csrf)
    # The session's token is deleted, not only its cookie: a copy of the cookie no longer works.
    revoke_token(_engine(request), session[1], request.app.state.token_cache)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION)
    return response


def _company_context(request: Request, user: User, token: str, **extra: Any) -> dict[str, Any]:
    engine = _engine(request)
    with Session(engine) as s:
        company = s.get(CompanyRow, user.company_id) if user.company_id else None
        streams = [] if company is None else [
            access.stream_view(user, r, company)
            for r in s.scalars(select(StreamRow).where(StreamRow.company_id == company.id).order_by(StreamRow.position, StreamRow.id))
        ]  # fmt: skip
        rows = links.links_of_company(s, company.id) if company is not None else []
        views = [links.view(s, link, user) for link in rows]
    return {
        "user": user,
        "company": company,
        "streams": streams,
        "links": views,
        "csrf": _csrf(request, token),
        **extra,
    }


@pages.get("/me")
def my_company(request: Request, session: SessionUser) -> HTMLResponse:
    user, token = session
    return _render(request, "me.html", **_company_context(request, user, token))


@pages.get("/template.xlsx")
def template(request: Request, session: SessionUser) -> Response:
    """The company's own streams as the Excel template (its park and company filled in)."""
    user, _token = session
    if user.company_id is None or user.park_id is None:
        raise HTTPException(403, "the template is for company members")
    from symbiolink.io.excel_io import write_workbook

    park = export_park(_engine(request), [user.park_id])
    own = park.model_copy(update={
        "companies": [c for c in park.companies if c.id == user.company_id],
        "streams": [s for s in park.streams if s.company == user.company_id],
    })  # fmt: skip
    buf = io.BytesIO()
    write_workbook(own, buf)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{user.company_id}.xlsx"'})  # fmt: skip


@pages.post("/upload")
async def upload(
    request: Request, session: SessionUser, file: UploadFile, csrf: Annotated[str, Form()]
) -> HTMLResponse:
    """The company's streams from a filled template: stored whole or refused with every problem;
    then the park is matched again so the new streams get their suggestions."""
    user, token = session
    _check_csrf(request, token, csrf)
    _ = translator(_lang(request))
    if user.company_id is None:
        raise HTTPException(403, "uploads of streams are for company members")
    data = await file.read(MAX_UPLOAD + 1)
    problems: list[str] = []
    if len(data) > MAX_UPLOAD:
        problems = [_("The file is too large (over 20 MB).")]
    else:
        park, issues = parse_park_bytes(data, file=file.filename or "upload")
        problems = [str(i) for i in issues if i.severity == "error"]
        if park is not None and not problems:
            try:
                replace_company_streams(
                    _engine(request),
                    user.company_id,
                    [s for s in park.streams if s.company == user.company_id],
                )
                request.app.state.live.sync()  # their stored matches, before the answer
                links.suggest_for_park(_engine(request), user.park_id or "", user)
            except ParkFileError as exc:
                problems = [str(i) for i in exc.errors]
    message = None if problems else _("Your streams were saved and matched.")
    return _render(request, "me.html", status=422 if problems else 200,
                   **_company_context(request, user, token, problems=problems, message=message))  # fmt: skip


def apply_action(
    request: Request, link_id: int, user: User, action: str
) -> tuple[dict[str, Any], str | None]:
    """One workflow step by ``user`` on a link they are a party to or broker of (else 404): the
    link's view afterwards and the reason the step was refused, if it was."""
    error = None
    with Session(_engine(request)) as s, s.begin():
        link = links.visible(s, user, link_id)
        if link is None:
            raise HTTPException(404, "no such link")
        try:
            links.act(s, link, user, action)
        except (PermissionError, links.WorkflowError) as exc:
            error = str(exc)
        s.flush()
        view = links.view(s, link, user)
    return view, error


@pages.post("/links/{link_id}/action")
def link_action(
    request: Request,
    link_id: LinkId,
    session: SessionUser,
    action: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> HTMLResponse:
    """One workflow step from a button; answers the link's row (htmx swaps it in)."""
    user, token = session
    _check_csrf(request, token, csrf)
    view, error = apply_action(request, link_id, user, action)
    lang = _lang(request)
    html = _env.get_template("link_row.html").render(
        link=view, user=user, csrf=_csrf(request, token), _=translator(lang), error=error
    )
    return HTMLResponse(html, status_code=409 if error else 200)
