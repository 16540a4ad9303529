"""tuneforge serve RUN [RUN ...] [--host H] [--port P] [--root DIR] [--api-key KEY] [--set inference.K=V]
                [--assistant FILE] [limits ...]

Serves predictions of finished runs over HTTP (FastAPI on uvicorn); see ``tuneforge.serve``.
"""

from __future__ import annotations

import argparse
import os

HELP = ("Serve finished runs over HTTP: GET /v1/models, POST /v1/models/NAME/predict {\"inputs\": [...]}, "
        "/healthz, /readyz, /metrics, /openapi.json. Concurrent requests are micro-batched; \"stream\": true streams "
        "a generation run's reply. --assistant FILE adds POST /v1/assist and a chat page at /.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="*", metavar="RUN",
                        help="run directories (NAME=RUN to name one; default: the directory's name)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                        "only; 0.0.0.0 for every interface, then set --api-key)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", metavar="DIR",
                        help="POST /v1/models may load run directories under DIR while serving (default: off)")
    parser.add_argument("--api-key", default=os.environ.get("TUNEFORGE_API_KEY"), metavar="KEY",
                        help="require Authorization: Bearer KEY or X-API-Key: KEY (default: $TUNEFORGE_API_KEY; "
                             "prefer the variable: arguments show in the process list)")
    parser.add_argument("--max-batch-size", type=int, default=32, metavar="N",
                        help="inputs merged into one model call (1: no micro-batching; default 32)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, metavar="MS",
                        help="how long a batch waits for more requests (default 5)")
    parser.add_argument("--queue-size", type=int, default=256, metavar="N",
                        help="requests waiting per model before 503 with Retry-After (default 256)")
    parser.add_argument("--max-chars", type=int, default=20_000, metavar="N",
                        help="characters of one input (default 20000)")
    parser.add_argument("--max-items", type=int, default=64, metavar="N", help="inputs per request (default 64)")
    parser.add_argument("--max-body-bytes", type=int, default=1_000_000, metavar="N",
                        help="request body size (default 1000000)")
    parser.add_argument("--timeout-s", type=float, default=30.0, metavar="S",
                        help="answer 504 to a request not done after S seconds (default 30)")
    parser.add_argument("--allowed-host", dest="allowed_hosts", action="append", default=[], metavar="NAME",
                        help="a Host header name to answer (repeatable; '*': any). Default: the names of --host "
                             "(localhost, 127.0.0.1, ::1 for a loopback address; any for 0.0.0.0), so a web page "
                             "cannot reach the server through DNS rebinding")
    parser.add_argument("--read-timeout-s", type=float, default=10.0, metavar="S",
                        help="close a connection whose request headers are not complete after S seconds (default 10)")
    parser.add_argument("--max-connections", type=int, default=512, metavar="N",
                        help="requests in progress at once before 503 (default 512)")
    parser.add_argument("--keep-alive-s", type=float, default=5.0, metavar="S",
                        help="close an idle keep-alive connection after S seconds (default 5)")
    parser.add_argument("--cors-origin", dest="cors_origins", action="append", default=[], metavar="ORIGIN",
                        help="allow browser pages from ORIGIN (repeatable; default: no CORS)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change how every run predicts: inference.* only (repeatable), e.g. "
                             "inference.engine=onnx")
    parser.add_argument("--assistant", metavar="FILE",
                        help="an assistant YAML (intent, slots and reply runs; memory limits): serves POST /v1/assist "
                             "and a chat page at GET / (see examples/customer-service/assistant.yaml)")
    parser.add_argument("--schema", action="append", default=[], metavar="FILE",
                        help="with --assistant: an SGD schema file of services its state run tracks (a service it "
                             "never trained on works from its schema alone); repeatable")
    parser.add_argument("--log-texts", action="store_true",
                        help="log each request's input texts with personal data redacted (<EMAIL>, <PERSON_1>; "
                             "docs/privacy.md); without it no request text is ever written to the log")
    parser.add_argument("--log-ner-run", metavar="RUN",
                        help="with --log-texts: a token-classification run whose names, places and organisations "
                             "are redacted too (the pattern kinds always are)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def settings_of(args: argparse.Namespace):
    from pathlib import Path

    from tuneforge.errors import ConfigError
    from tuneforge.serve.host_check import default_hosts
    from tuneforge.serve.settings import ServeSettings

    for option in ("max_batch_size", "queue_size", "max_chars", "max_items", "max_body_bytes", "max_connections"):
        if getattr(args, option) < 1:
            raise ConfigError(f"--{option.replace('_', '-')} must be at least 1")
    if args.max_wait_ms < 0 or args.timeout_s <= 0:
        raise ConfigError("--max-wait-ms must be 0 or more and --timeout-s more than 0")
    for option in ("read_timeout_s", "keep_alive_s"):
        if not getattr(args, option) > 0:
            raise ConfigError(f"--{option.replace('_', '-')} must be more than 0")
    if not args.runs and not args.root and not args.assistant:
        raise ConfigError("nothing to serve: give run directories, --assistant FILE, or --root DIR to load runs "
                          "with POST /v1/models")
    if args.root and not Path(args.root).is_dir():
        raise ConfigError(f"--root {args.root}: not a directory")
    if args.assistant and not Path(args.assistant).is_file():
        raise ConfigError(f"--assistant {args.assistant}: no such file")
    if args.schema and not args.assistant:
        raise ConfigError("--schema adds services to an assistant's state run: give --assistant FILE")
    for schema in args.schema:
        if not Path(schema).is_file():
            raise ConfigError(f"--schema {schema}: no such file")
    check_overrides(args.overrides)
    if args.log_ner_run and not args.log_texts:
        raise ConfigError("--log-ner-run redacts logged texts: give --log-texts too")
    if args.log_ner_run and not Path(args.log_ner_run).is_dir():
        raise ConfigError(f"--log-ner-run {args.log_ner_run}: not a run directory")
    return ServeSettings(runs=list(args.runs), root=Path(args.root) if args.root else None,
                         api_key=args.api_key or None,
                         max_batch_size=args.max_batch_size, max_wait_ms=args.max_wait_ms, queue_size=args.queue_size,
                         max_chars=args.max_chars, max_request_chars=args.max_chars * args.max_items,
                         max_items=args.max_items, max_body_bytes=args.max_body_bytes, timeout_s=args.timeout_s,
                         cors_origins=list(args.cors_origins), overrides=list(args.overrides),
                         allowed_hosts=list(args.allowed_hosts) or default_hosts(args.host),
                         assistant=Path(args.assistant) if args.assistant else None,
                         schema_files=[Path(s) for s in args.schema], log_texts=args.log_texts,
                         log_ner_run=args.log_ner_run)


def check_overrides(overrides: list[str]) -> None:
    """--set may change how runs predict (inference.*), never what they learnt: refused before any model loads."""
    from tuneforge.config.loading import parse_overrides
    from tuneforge.errors import ConfigError

    for key, _ in parse_overrides(overrides):
        if not key.startswith("inference."):
            raise ConfigError(f"--set {key}: a served run can only change inference.* (how it predicts), "
                              "e.g. --set inference.engine=onnx")


def run(args: argparse.Namespace) -> int:
    import sys

    import uvicorn

    from tuneforge.serve.app import create_app

    settings = settings_of(args)
    if settings.log_texts:  # uvicorn configures its own loggers only: the redacted texts need a handler
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logging.getLogger("tuneforge.serve").addHandler(handler)
        logging.getLogger("tuneforge.serve").setLevel(logging.INFO)
    app = create_app(settings)  # loads every run first: a wrong run fails before the port opens
    print(f"tuneforge: serving {', '.join(sorted(app.state.registry.models)) or 'no model yet'} on "
          f"http://{args.host}:{args.port} (schema: /openapi.json)", file=sys.stderr, flush=True)
    uvicorn.run(app, **uvicorn_options(args))
    return 0


def uvicorn_options(args: argparse.Namespace) -> dict:
    """uvicorn's settings from the command line: every limit set (uvicorn's own defaults have no header
    deadline and no connection cap)."""
    from tuneforge.serve.http_protocol import protocol_class

    return {"host": args.host, "port": args.port, "log_level": args.log_level,
            "access_log": args.log_level == "debug", "timeout_graceful_shutdown": int(args.timeout_s) + 1,
            "http": protocol_class(args.read_timeout_s), "limit_concurrency": args.max_connections,
            "timeout_keep_alive": args.keep_alive_s}
    return 0
