"""Where a read request's time goes: pyinstrument over the app serving the read mix of api_load.py.

The registry of ``api_load.py`` is imported (SQLite, or ``--database``), and ``--requests`` reads
(a park, its companies, a company's streams or a stream, at random) go through the ASGI app one
after another, in this thread: FastAPI's thread pool is replaced by a direct call while profiling,
as pyinstrument samples one thread (uvicorn's HTTP parsing is left out; the app is all the rest).
Prints pyinstrument's text tree; ``--html FILE`` writes its HTML view too.

Needs pyinstrument (``pip install pyinstrument``).

Usage: python benchmarks/profile_reads.py [--parks 5] [--requests 2000] [--database URL] [--html F]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from api_load import _pick, prepare


async def _inline(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parks", type=int, default=5)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--database")
    ap.add_argument("--html", type=Path)
    args = ap.parse_args()
    import fastapi.dependencies.utils
    import fastapi.routing
    import httpx2 as httpx
    from pyinstrument import Profiler

    from symbiolink.web.app import create_app

    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'profile.db'}"
    park, companies, streams = prepare(url, args.parks)
    for module in (fastapi.routing, fastapi.dependencies.utils):
        module.run_in_threadpool = _inline  # type: ignore[attr-defined]
    app = create_app(url)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://load") as client:
            r = await client.post(
                "/api/v1/auth/token",
                data={"username": "load@example.org", "password": "load-test-password"},
            )
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            rng = random.Random(1)
            for _ in range(50):  # warm up
                await client.get(_pick(rng, park, companies, streams))
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.requests):
                r = await client.get(_pick(rng, park, companies, streams))
                assert r.status_code == 200, r.text
            profiler.stop()
        print(
            profiler.output_text(
                unicode=False, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))
            )
        )
        if args.html:
            args.html.write_text(profiler.output_html())

    asyncio.run(run())
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
