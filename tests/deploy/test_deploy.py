"""deploy/ checked without a container engine: the compose file, the Kubernetes manifests, the
Dockerfile and the lock are parsed, and what an operator relies on is asserted:

- every environment variable set for one of our containers is a setting that settings.py reads
  (a misspelt variable would be silently ignored), and the other containers' variables are
  documented in deploy/README.md as belonging to their program;
- what a cluster needs is set (no embedded default such as localhost or SQLite survives), and the
  workers, gateway and migration agree on Temporal namespace, task queue, database and secrets;
- probes and health checks call /healthz and /readyz on the ports the settings open;
- the workers have resource requests and an autoscaler, the image runs as non-root and installs
  exactly the lock, hashes checked; the lock pins pyproject's runtime closure at the versions of
  the tested virtualenv;
- `docker compose config` accepts the file, where a compose client exists.
"""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import ValidationError

from infra.settings import Settings
from observability.backlog import BACKLOG_AGE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
RUNBOOK = (DEPLOY / "README.md").read_text("utf-8")

SETTINGS_ENV = {name.upper(): name for name in Settings.model_fields}
# Variables of our image that belong to other programs, not to settings.py.
OTHER_PROGRAMS = {"PATH": "the shell", "PYTHONUNBUFFERED": "Python", "PYTHONDONTWRITEBYTECODE": "Python"}
# What a cluster must set: the embedded default (localhost, SQLite, a generated key) is wrong there.
REQUIRED_IN_A_CLUSTER = {
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TASK_QUEUE",
    "DATABASE_URL",
    "SECRETS_FILE",
    "MIGRATE_ON_START",
    "LOG_FORMAT",
}
SECRET_PLACEHOLDER = {
    "DATABASE_URL": "postgresql+psycopg://moazara:from-a-secret@db:5432/moazara",
    "TEMPORAL_API_KEY": "from-a-secret",
}


# --- Reading deploy/ ------------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))


def k8s_docs() -> list[dict]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [dict(d, _file=str(path.relative_to(DEPLOY))) for d in yaml.safe_load_all(path.read_text("utf-8")) if d]
    return docs


def k8s(kind: str, name: str | None = None) -> list[dict]:
    return [d for d in k8s_docs() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def dockerfile_env() -> dict[str, str]:
    """ENV of the image's final stage."""
    text = (DEPLOY / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    final = text[text.rindex("\nFROM ") :]
    env = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                k, _, v = item.partition("=")
                env[k] = v
    return env


def is_ours_compose(service: dict) -> bool:
    return str(service.get("image", "")).startswith("moazara") or "build" in service


def our_compose_services() -> dict[str, dict]:
    return {n: s for n, s in compose()["services"].items() if is_ours_compose(s)}


def command(container: dict) -> list[str]:
    c = container.get("command") or []
    return shlex.split(c) if isinstance(c, str) else list(c)


def role(cmd: list[str]) -> str:
    if cmd == ["python", "worker.py", "--editions"]:
        return "editions-worker"
    if cmd[:2] == ["python", "worker.py"]:
        return "worker"
    if cmd[:3] == ["python", "-m", "gateway"]:
        return "gateway"
    if cmd[:3] == ["python", "-m", "console"]:
        return "console"
    if cmd and cmd[0] == "alembic" and cmd[-2:] == ["upgrade", "head"]:
        return "migrate"
    return "other"


def pod_containers() -> list[tuple[dict, dict, dict]]:
    """(workload, pod spec, container) for every container of our image in the manifests."""
    out = []
    for d in k8s_docs():
        if d["kind"] in ("Deployment", "Job"):
            spec = d["spec"]["template"]["spec"]
            out += [(d, spec, c) for c in spec["containers"] if c["image"].split(":")[0] == "moazara"]
    return out


def k8s_env(container: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(effective environment with secrets as placeholders, {variable: secret name})."""
    env, secrets = dict(dockerfile_env()), {}
    for source in container.get("envFrom", []):
        if "secretRef" in source:  # every key of a Secret (the document bucket's AWS_* credentials)
            secrets[f"envFrom {source['secretRef']['name']}"] = source["secretRef"]["name"]
            continue
        [cm] = k8s("ConfigMap", source["configMapRef"]["name"])
        env.update({k: str(v) for k, v in cm["data"].items()})
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            secrets[e["name"]] = ref["name"]
            if not ref.get("optional"):
                env[e["name"]] = SECRET_PLACEHOLDER.get(e["name"], "from-a-secret")
    return env, secrets


def compose_env(service: dict) -> dict[str, str]:
    """What the container gets, with `${VAR:-default}` as compose gives it when VAR is not set."""
    unset = lambda v: re.sub(r"\$\{\w+:-([^}]*)\}", lambda m: m[1], str(v))  # noqa: E731
    return {**dockerfile_env(), **{k: unset(v) for k, v in (service.get("environment") or {}).items()}}


def settings_from(env: dict[str, str], monkeypatch) -> Settings:
    """The Settings a process with exactly `env` reads (validated: types, ranges)."""
    with monkeypatch.context() as m:
        for name in SETTINGS_ENV:
            m.delenv(name, raising=False)
        for k, v in env.items():
            if k in SETTINGS_ENV:
                m.setenv(k, v)
        return Settings(_env_file=None)


def port_of(url: str) -> tuple[int, str]:
    m = re.match(r"https?://[^/:]+:(\d+)(/\S*)", url)
    assert m, url
    return int(m[1]), m[2]


# --- Environment variables ------------------------------------------------------------------------------


def test_every_variable_set_for_our_containers_is_a_setting():
    unknown = {}
    for k in dockerfile_env():
        if k not in SETTINGS_ENV and k not in OTHER_PROGRAMS:
            unknown[f"Dockerfile ENV {k}"] = k
    for name, service in our_compose_services().items():
        for k in service.get("environment") or {}:
            if k not in SETTINGS_ENV:
                unknown[f"compose {name}: {k}"] = k
    for workload, _, c in pod_containers():
        for e in c.get("env", []):
            if e["name"] not in SETTINGS_ENV:
                unknown[f"{workload['_file']} {c['name']}: {e['name']}"] = e["name"]
    for cm in k8s("ConfigMap"):
        for k in cm["data"]:
            if k not in SETTINGS_ENV:
                unknown[f"{cm['_file']}: {k}"] = k
    assert not unknown, f"not read by settings.py (misspelt or stale?): {sorted(unknown)}"


def test_other_containers_variables_are_documented_as_theirs():
    rows = [line for line in RUNBOOK.splitlines() if line.startswith("|")]
    undocumented = []
    for name, service in compose()["services"].items():
        if is_ours_compose(service):
            continue
        for k in service.get("environment") or {}:
            if not any(name in row.split("|")[1] and f"`{k}`" in row for row in rows):
                undocumented.append(f"{name}: {k}")
    assert not undocumented, (
        f"document these in deploy/README.md, 'Environment of the other containers': {undocumented}"
    )


def test_required_settings_are_set_and_the_processes_agree(monkeypatch):
    required = REQUIRED_IN_A_CLUSTER | {n.upper() for n, f in Settings.model_fields.items() if f.is_required()}
    seen: dict[str, dict[str, Settings]] = {"compose": {}, "k8s": {}}
    for name, service in our_compose_services().items():
        env = compose_env(service)
        if role(command(service)) != "migrate":
            assert required <= set(env), f"compose {name} lacks {sorted(required - set(env))}"
        seen["compose"][name] = settings_from(env, monkeypatch)
    for workload, _, c in pod_containers():
        env, _ = k8s_env(c)
        if role(command(c)) != "migrate":
            assert required <= set(env), f"{workload['_file']} lacks {sorted(required - set(env))}"
        seen["k8s"][workload["metadata"]["name"]] = settings_from(env, monkeypatch)

    for where, processes in seen.items():
        roles = {
            role(command(c))
            for c in (our_compose_services().values() if where == "compose" else [c for _, _, c in pod_containers()])
        }
        assert {"worker", "gateway", "migrate"} <= roles, where
        running = {n: s for n, s in processes.items() if "migrate" not in n}
        for n, s in processes.items():
            assert s.database_url.startswith("postgresql"), (where, n, s.database_url)
        for n, s in running.items():
            host = s.temporal_address.rsplit(":", 1)[0]
            assert host not in ("localhost", "127.0.0.1"), (where, n)
            assert s.migrate_on_start is False, (where, n, "the migration job migrates, not each process")
            assert s.observability_host == "0.0.0.0" and s.gateway_host == "0.0.0.0", (where, n)
            assert s.log_format == "json", (where, n)
        # A gateway on another namespace, queue, database or key file would be silently broken.
        for field in ("temporal_namespace", "task_queue", "edition_task_queue", "database_url", "secrets_file"):
            values = {getattr(s, field) for s in running.values()}
            assert len(values) == 1, (where, field, values)
        # The editions have a queue of their own and a worker serving it (worker.py --editions).
        assert "editions-worker" in roles, where
        assert all(s.edition_task_queue and s.edition_task_queue != s.task_queue for s in running.values()), where
        migrate = [s for n, s in processes.items() if "migrate" in n]
        assert migrate and all(m.database_url == next(iter(running.values())).database_url for m in migrate), where
    # In a cluster the workers send payment orders to the payment system, over TLS.
    k8s_workers = [s for n, s in seen["k8s"].items() if "worker" in n]
    assert k8s_workers and all((s.payment_system_url or "").startswith("https://") for s in k8s_workers)


# --- Compose ----------------------------------------------------------------------------------------------


def test_compose_is_the_production_shaped_stack():
    services = compose()["services"]
    by_role: dict[str, list[str]] = {}
    for name, s in services.items():
        by_role.setdefault(role(command(s)) if is_ours_compose(s) else str(s["image"]).split(":")[0], []).append(name)

    [temporal] = by_role["temporalio/auto-setup"]
    env = services[temporal]["environment"]
    assert env["DB"] == "postgres12" and services[env["POSTGRES_SEEDS"]]["image"].startswith("postgres:")
    [ui] = by_role["temporalio/ui"]
    assert services[ui]["environment"]["TEMPORAL_ADDRESS"] == f"{temporal}:7233"
    assert len(by_role["postgres"]) == 2  # Temporal's and the domain's
    assert len(by_role["worker"]) >= 2 and len(by_role["gateway"]) == 1 and len(by_role["migrate"]) == 1
    assert len(by_role["console"]) == 1
    [migrate] = by_role["migrate"]
    assert services[migrate]["restart"] == "no"
    domain_db = re.search(r"@([\w-]+):", services[migrate]["environment"]["DATABASE_URL"])[1]
    assert services[domain_db]["image"].startswith("postgres:") and domain_db != env["POSTGRES_SEEDS"]
    for name in by_role["worker"] + by_role["gateway"] + by_role["console"]:
        deps = services[name]["depends_on"]
        assert deps[migrate]["condition"] == "service_completed_successfully", name
        assert temporal in deps, name
    assert services[migrate]["depends_on"][domain_db]["condition"] == "service_healthy"
    for name, s in services.items():  # every image pinned to a version
        assert re.search(r":\d+\.\d+", str(s["image"])) or is_ours_compose(s), (name, s["image"])
    # Worker host ports do not collide.
    host_ports = [p.split(":")[-2] for s in services.values() for p in s.get("ports", [])]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_compose_health_checks_call_the_readiness_endpoints(monkeypatch):
    for name, s in our_compose_services().items():
        r = role(command(s))
        if r == "migrate":
            continue
        settings = settings_from(compose_env(s), monkeypatch)
        test = s["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "observability.probe"], name
        port, path = port_of(test[4])
        assert path == "/readyz", name
        serves = {
            "worker": settings.health_port,
            "editions-worker": settings.health_port,
            "console": settings.console_port,
        }.get(r, settings.gateway_port)
        assert port == serves, name
        published = {int(p.split(":")[-1]) for p in s.get("ports", [])}
        if r == "worker":
            assert {settings.metrics_port, settings.health_port} <= published, name
        else:
            assert serves in published, name


def test_docker_compose_config_accepts_the_file(tmp_path):
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` client on this machine: the file is checked by parsing only")
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "deploy" / "compose.yaml")
    (tmp_path / "deploy" / "secrets.json").write_text("{}")
    r = subprocess.run(
        [docker, "compose", "-f", str(tmp_path / "deploy" / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr


# --- Kubernetes -------------------------------------------------------------------------------------------


def workload_of(r: str) -> tuple[dict, dict, dict]:
    [found] = [(w, spec, c) for w, spec, c in pod_containers() if role(command(c)) == r]
    return found


def named_port(container: dict, ref) -> int:
    if isinstance(ref, int):
        return ref
    [p] = [p["containerPort"] for p in container["ports"] if p["name"] == ref]
    return p


def test_k8s_worker_has_requests_probes_and_an_autoscaler(monkeypatch):
    worker, spec, c = workload_of("worker")
    assert worker["kind"] == "Deployment"
    settings = settings_from(k8s_env(c)[0], monkeypatch)
    requests = c["resources"]["requests"]
    assert requests.get("cpu") and requests.get("memory")
    assert (c["readinessProbe"]["httpGet"]["path"], c["livenessProbe"]["httpGet"]["path"]) == ("/readyz", "/healthz")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert named_port(c, c[probe]["httpGet"]["port"]) == settings.health_port, probe
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == settings.metrics_port == named_port(c, "metrics")
    assert annotations["prometheus.io/path"] == "/metrics"
    # SIGTERM, the activities' grace period, then SIGKILL: the pod waits longer than the worker.
    assert spec["terminationGracePeriodSeconds"] > settings.worker_shutdown_grace_seconds

    [hpa] = k8s("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", worker["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    # Work waiting: the backlog's age the workers publish, for their own queue, served by the adapter.
    [waiting] = [m["external"] for m in hpa["spec"]["metrics"] if m["type"] == "External"]
    assert waiting["metric"]["name"] == BACKLOG_AGE
    assert waiting["metric"]["selector"]["matchLabels"] == {"task_queue": settings.task_queue}
    rules = yaml.safe_load((DEPLOY / "prometheus" / "adapter.yaml").read_text("utf-8"))["externalRules"]
    assert BACKLOG_AGE in {r["name"]["as"] for r in rules if BACKLOG_AGE in r["seriesQuery"]}
    # An import held at its admission's seconds of work asks for more workers.
    assert waiting["target"]["type"] == "Value"
    assert 0 < float(waiting["target"]["value"]) < settings.application_backlog_seconds
    [pdb] = k8s("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= worker["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("serving", ["gateway", "console"])
def test_k8s_gateway_and_console_deployments_and_services(monkeypatch, serving):
    workload, _, c = workload_of(serving)
    settings = settings_from(k8s_env(c)[0], monkeypatch)
    port_setting = settings.gateway_port if serving == "gateway" else settings.console_port
    assert c["resources"]["requests"].get("cpu") and c["resources"]["requests"].get("memory")
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz" and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert named_port(c, c[probe]["httpGet"]["port"]) == port_setting
    labels = workload["spec"]["template"]["metadata"]["labels"]
    [service] = [x for x in k8s("Service") if x["spec"]["selector"].items() <= labels.items()]
    worker, _, _ = workload_of("worker")
    assert not service["spec"]["selector"].items() <= worker["spec"]["template"]["metadata"]["labels"].items()
    [port] = service["spec"]["ports"]
    assert named_port(c, port["targetPort"]) == port_setting


def test_k8s_console_is_reached_over_https_with_secure_cookies(monkeypatch):
    _, _, c = workload_of("console")
    assert settings_from(k8s_env(c)[0], monkeypatch).console_secure_cookies
    [ingress] = k8s("Ingress", "moazara-console")
    [rule] = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "moazara-console"


def test_k8s_web_ui_serves_the_codec_at_its_own_origin_over_https(monkeypatch):
    """Issue 14, item 6 in production: the Web UI's front (gateway/web_ui.py) behind HTTPS, the
    codec at the same origin (so the UI's calls carry the staff's cookie), the UI itself behind."""
    [(workload, _, c)] = [(w, s, c) for w, s, c in pod_containers() if command(c) == ["python", "-m", "gateway.web_ui"]]
    settings = settings_from(k8s_env(c)[0], monkeypatch)
    [ingress] = k8s("Ingress", "moazara-web-ui")
    [rule] = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "moazara-web-ui"
    assert settings.web_ui_host == "0.0.0.0" and settings.web_ui_upstream.startswith("http://temporal-web.")
    assert f"https://{rule['host']}" in settings.codec_server_origins
    assert "TEMPORAL_CODEC_ENDPOINT" in (DEPLOY / "README.md").read_text()


def test_k8s_migration_job_secrets_and_security():
    job, spec, c = workload_of("migrate")
    assert job["kind"] == "Job" and spec["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 1
    _, job_secrets = k8s_env(c)
    referenced = set()
    for workload, pod, container in pod_containers():
        _, secrets = k8s_env(container)
        referenced |= set(secrets.values())
        referenced |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        assert secrets["DATABASE_URL"] == job_secrets["DATABASE_URL"], workload["_file"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"], workload["_file"]
    # Secrets are referenced, never committed, and the runbook creates each one.
    assert not k8s("Secret")
    for name in referenced:
        assert f"create secret generic {name}" in RUNBOOK, name
    # The secrets file is mounted where SECRETS_FILE points.
    [cm] = k8s("ConfigMap")
    worker, pod, c = workload_of("worker")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    [secret_volume] = [v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "moazara-secrets"]
    assert cm["data"]["SECRETS_FILE"] == f"{mounts[secret_volume]}/secrets.json"
    assert "--from-file=secrets.json" in RUNBOOK


def test_kustomizations_list_every_manifest_with_one_image():
    images = set()
    for kfile in K8S.rglob("kustomization.yaml"):
        k = yaml.safe_load(kfile.read_text("utf-8"))
        here = {p.name for p in kfile.parent.glob("*.yaml")} - {"kustomization.yaml"}
        assert set(k["resources"]) == here, kfile
        [image] = k["images"]
        images.add((image["name"], image["newName"], image["newTag"]))
    assert len(images) == 1, f"the migration and the service must run the same image: {images}"


# --- The image --------------------------------------------------------------------------------------------


def test_image_is_non_root_and_installs_exactly_the_hashed_lock():
    text = (DEPLOY / "Dockerfile").read_text("utf-8")
    final = text[text.rindex("\nFROM ") :]
    [user] = re.findall(r"^USER (\S+)", final, re.M)
    assert user.split(":")[0] not in ("0", "root")
    [install] = [c for c in text.replace("\\\n", " ").split("&&") if "-r /tmp/requirements.lock" in c]
    assert {"--require-hashes", "--no-deps"} <= set(shlex.split(install))  # checked files, nothing beyond
    assert "pip check" in text and "COPY deploy/requirements.lock" in text
    [base] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    assert base.split(":")[1].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")  # as tested
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").splitlines()
    for secret_or_local in (".env", "var", "deploy/*", ".venv", ".git", "tests"):
        assert secret_or_local in ignored, secret_or_local
    assert "!deploy/requirements.lock" in ignored


def test_image_draws_the_dashboards_map_from_the_package_version_make_installs():
    text = (DEPLOY / "Dockerfile").read_text("utf-8")
    makefile = (DEPLOY.parent / "Makefile").read_text("utf-8")
    [made] = re.findall(r"morocco-map@(\S+)", makefile)
    [imaged] = re.findall(r"morocco-map@(\S+)", text)
    assert imaged == made  # the container's map is the one the tests saw
    final = text[text.rindex("\nFROM ") :]
    assert "python -m charts.regions_map" in final and "var/map/regions.json" in final


def locked() -> dict[str, tuple[str, list[str]]]:
    """{name: (version, sha256 hashes)} of deploy/requirements.lock, as pip reads it."""
    entries = {}
    for line in (DEPLOY / "requirements.lock").read_text("utf-8").replace("\\\n", " ").splitlines():
        if line.strip() and not line.strip().startswith("#"):
            req = Requirement(re.sub(r"\s--hash=\S+", "", line).strip())
            [pin] = req.specifier
            assert pin.operator == "==" and not req.extras and req.marker is None, f"not an exact pin: {line}"
            entries[canonicalize_name(req.name)] = (pin.version, re.findall(r"--hash=sha256:([0-9a-f]{64})\b", line))
    return entries


def test_lock_pins_with_hashes_the_runtime_closure_of_pyproject_as_installed_in_the_tested_virtualenv():
    import tomllib
    from importlib.metadata import distribution

    lock = locked()
    assert all(hashes for _, hashes in lock.values()), "every pin carries its files' hashes"
    # The closure of pyproject's runtime dependencies (no dev extras), walked through what is installed.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    todo = [(Requirement(dep), "") for dep in project["dependencies"]]
    closure, seen = {}, set()
    while todo:
        req, extra = todo.pop()
        if (str(req), extra) not in seen and (req.marker is None or req.marker.evaluate({"extra": extra})):
            seen.add((str(req), extra))
            dist = distribution(req.name)
            assert req.specifier.contains(dist.version, prereleases=True), f"{req} but {dist.version} installed"
            closure[canonicalize_name(req.name)] = dist.version
            todo += [(Requirement(r), e) for r in dist.requires or [] for e in req.extras or {""}]
    stale = "deploy/requirements.lock disagrees with pyproject.toml or the virtualenv: `make lock`"
    assert {name: version for name, (version, _) in lock.items()} == closure, stale
    assert "moazara" not in lock and "pytest" not in lock and "pip-tools" not in lock


# --- Secrets file tool and runbook --------------------------------------------------------------------------


def test_secrets_file_tool_rotates_keys_that_the_processes_accept(tmp_path):
    from codec.keys import key_ring
    from infra.live_settings import read_secrets_file

    path = tmp_path / "secrets.json"
    tool = [sys.executable, str(DEPLOY / "secrets_file.py")]
    new = subprocess.run(tool + ["new"], capture_output=True, text=True, check=True)
    path.write_text(new.stdout)

    def ring():
        return key_ring(read_secrets_file(Settings(_env_file=None, secrets_file=str(path))))

    first = ring().primary
    subprocess.run(tool + ["add-key", str(path)], capture_output=True, text=True, check=True)
    added = ring()
    [second] = set(added.ciphers) - {first}
    assert added.primary == first  # step 1: the new key decrypts only
    out = subprocess.run(tool + ["encrypt-with", str(path), second], capture_output=True, text=True, check=True)
    rotated = ring()
    assert rotated.primary == second and set(rotated.ciphers) == {first, second}, out.stdout  # old key kept
    assert set(json.loads(path.read_text())) <= {
        "codec_keys",
        "codec_encrypt_key",
        "codec_server_tokens",
        "codec_server_origins",
        "gateway_clients",
        "archive_keys",
        "archive_encrypt_key",
    }
    bad = subprocess.run(tool + ["encrypt-with", str(path), "nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "no codec key 'nope'" in bad.stderr


def test_the_secrets_file_gives_the_archive_a_key_of_its_own_and_rotates_it(tmp_path):
    """Production's archives (kept for years) are sealed with an archive key from the first deploy,
    not with the payload keys; it rotates as they do, and a file made before it had one gets one
    while what the payload keys sealed still opens."""
    from infra.archive_seal import label, open_sealed, seal, seals_with_payload_keys

    path = tmp_path / "secrets.json"
    tool = [sys.executable, str(DEPLOY / "secrets_file.py")]
    path.write_text(subprocess.run(tool + ["new"], capture_output=True, text=True, check=True).stdout)
    settings = Settings(_env_file=None, secrets_file=str(path), archive_keys={}, codec_keys={})
    content = json.loads(path.read_text())
    [first] = content["archive_keys"]
    assert content["archive_encrypt_key"] == first and first not in content["codec_keys"]
    assert not seals_with_payload_keys(settings)
    sealed = seal("{}\n", "moazara-4-X", "run-1", settings)
    assert label(sealed).key_id == first
    subprocess.run(tool + ["add-key", "--archive", str(path)], capture_output=True, text=True, check=True)
    [second] = set(json.loads(path.read_text())["archive_keys"]) - {first}
    assert label(seal("{}\n", "w", "r", settings)).key_id == first  # step 1: the new key opens only
    subprocess.run(tool + ["encrypt-with", "--archive", str(path), second], capture_output=True, text=True, check=True)
    assert label(seal("{}\n", "w", "r", settings)).key_id == second and open_sealed(sealed, settings)[1] == "{}\n"
    assert json.loads(path.read_text())["codec_keys"] == content["codec_keys"]  # the payload keys untouched

    older = {k: v for k, v in content.items() if not k.startswith("archive_")}  # a file from before
    path.write_text(json.dumps(older))
    assert seals_with_payload_keys(settings)
    by_payload_key = seal("{}\n", "w", "r", settings)
    out = subprocess.run(tool + ["add-key", "--archive", str(path)], capture_output=True, text=True, check=True)
    assert "it is the first" in out.stdout and not seals_with_payload_keys(settings)
    assert label(seal("{}\n", "w", "r", settings)).key_id.startswith("archive-")
    assert open_sealed(by_payload_key, settings)[1] == "{}\n"


def test_runbook_covers_the_operations_and_names_existing_files():
    headings = [line.lower() for line in RUNBOOK.splitlines() if line.startswith("#")]
    for topic in (
        "first deploy",
        "scaling workers",
        "rotating the codec keys",
        "upgrading workflow code",
        "backing up",
        "health endpoints",
        "metrics",
    ):
        assert any(topic in h for h in headings), topic
    # Files (with an extension) and the k8s folders; `deploy/NAME` alone is a kubectl Deployment.
    for ref in set(re.findall(r"(?<![\w/])(?:deploy/[\w./-]*\.\w+|deploy/k8s[\w/-]*)", RUNBOOK)):
        if ref != "deploy/secrets.json":  # made by the operator, never committed
            assert (ROOT / ref).exists(), ref


def test_every_setting_is_documented_in_the_readme_with_its_default(monkeypatch):
    section = (ROOT / "docs" / "configuration.md").read_text("utf-8")  # the configuration's one page
    documented: dict[str, str] = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z0-9_]+)`", cells[0])
        defaults = re.findall(r"`([^`]*)`", cells[1]) or [cells[1]]
        for i, name in enumerate(names):
            documented[name] = defaults[i] if len(defaults) == len(names) else defaults[0]
    missing = sorted(set(SETTINGS_ENV) - set(documented))
    assert not missing, f"settings missing from docs/configuration.md's table: {missing}"
    for name, default in documented.items():
        field = SETTINGS_ENV.get(name)
        assert field, f"docs/configuration.md documents {name}, which settings.py does not read"
        expected = Settings.model_fields[field].default
        if default == "—":
            assert expected is None, f"{name}: docs/configuration.md says no default, settings.py has {expected!r}"
            continue
        value = getattr(settings_from({name: default}, monkeypatch), field)
        if isinstance(expected, dict) and not expected:
            assert value == {}, name
        else:
            assert value == expected, f"{name}: docs/configuration.md says {default!r}, settings.py has {expected!r}"


def test_the_payment_system_url_must_be_http_and_blank_means_none(monkeypatch):
    assert settings_from({"PAYMENT_SYSTEM_URL": ""}, monkeypatch).payment_system_url is None
    assert (
        settings_from({"PAYMENT_SYSTEM_URL": "https://pay.example.org/o"}, monkeypatch).payment_system_url
        == "https://pay.example.org/o"
    )
    with pytest.raises(ValidationError) as e:
        settings_from({"PAYMENT_SYSTEM_URL": "pay.example.org/o"}, monkeypatch)
    assert "payment_system_url" in str(e.value) and "http" in str(e.value)


def test_alert_rules_name_metrics_the_workers_export_and_say_what_to_do():
    import temporalio.bridge

    from observability.counters import DESCRIPTIONS

    rules = [
        r
        for g in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text("utf-8"))["groups"]
        for r in g["rules"]
    ]
    assert {"MoazaraPaymentOrderNotTaken", "MoazaraActivitiesFailing"} <= {r["alert"] for r in rules}
    # The SDK's metric names are in its core library, without the `temporal_` prefix the runtime adds.
    [bridge] = Path(temporalio.bridge.__file__).parent.glob("temporal_sdk_bridge*")
    sdk = bridge.read_bytes()
    for r in rules:
        assert r["labels"]["severity"] in ("page", "ticket"), r["alert"]
        assert r["annotations"]["summary"] and "deploy/README.md#" in r["annotations"]["runbook"], r["alert"]
        names = re.findall(r"\b((?:moazara|temporal)_\w+)", r["expr"])
        assert names, r["alert"]
        for name in names:
            if name.startswith("moazara_"):
                assert name in DESCRIPTIONS, (r["alert"], name)
            else:
                base = re.sub(r"_(bucket|count|sum)$", "", name.removeprefix("temporal_"))
                assert base.encode() in sdk, (r["alert"], name)
        anchor = r["annotations"]["runbook"].split("#", 1)[1].split(":", 1)[0]
        headings = [
            re.sub(r"[^\w -]", "", h.lstrip("#").strip()).lower().replace(" ", "-")
            for h in RUNBOOK.splitlines()
            if h.startswith("#")
        ]
        assert anchor in headings, (r["alert"], anchor)
