"""Validation of custom resources, which kubernetes-validate skips.

Each custom kind the manifests use has a validator here; any other custom kind
is an error (never skipped):

- ServiceMonitor, PrometheusRule (monitoring.coreos.com/v1): the
  prometheus-operator's generated models (PyPI cloudcoil-models-prometheus-operator).
- Certificate, Issuer, ClusterIssuer (cert-manager.io/v1): cert-manager's
  generated models (PyPI cloudcoil-models-cert-manager).
- IPAddressPool, L2Advertisement (metallb.io/v1beta1): JSON Schemas kept in
  k8s/schemas/, written from MetalLB v0.14's CRDs.

The models are pydantic classes that ignore unknown fields, so validation is
made strict here: the object is validated, dumped back, and every field of the
input must come back unchanged (an unknown or misspelt field, or a value the
model had to coerce, is an error), as `kubectl apply --validate=strict` would
reject it against the CRD's schema.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Callable

import jsonschema

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent.parent / "schemas"

# Fields the API server fills in or that kubectl accepts on any object.
_IGNORED_METADATA = {"creationTimestamp"}


def _strict_diff(given: Any, dumped: Any, path: str) -> list[str]:
    """Fields of `given` that the model dropped or changed."""
    problems: list[str] = []
    if isinstance(given, dict):
        if not isinstance(dumped, dict):
            return [f"{path or '.'}: expected {type(dumped).__name__}, got an object"]
        for key, value in given.items():
            sub = f"{path}.{key}" if path else key
            if key not in dumped:
                if value is None or (path == "metadata" and key in _IGNORED_METADATA):
                    continue
                problems.append(f"{sub}: unknown field")
                continue
            problems.extend(_strict_diff(value, dumped[key], sub))
    elif isinstance(given, list):
        if not isinstance(dumped, list) or len(dumped) != len(given):
            return [f"{path}: list changed by the model"]
        for index, (g, d) in enumerate(zip(given, dumped)):
            problems.extend(_strict_diff(g, d, f"{path}[{index}]"))
    else:
        # bool is an int in Python: compare types exactly.
        if type(given) is not type(dumped) and not (
            isinstance(given, (int, float)) and isinstance(dumped, (int, float)) and not isinstance(given, bool)
        ):
            problems.append(f"{path}: {given!r} ({type(given).__name__}) is not a {type(dumped).__name__}")
        elif given != dumped:
            problems.append(f"{path}: {given!r} was read as {dumped!r}")
    return problems


def _model_validator(model: Any) -> Callable[[dict], list[str]]:
    def validate(obj: dict) -> list[str]:
        import pydantic

        try:
            instance = model.model_validate(obj)
        except pydantic.ValidationError as error:
            return [
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)
            ]
        dumped = instance.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return _strict_diff(obj, dumped, "")

    return validate


def _schema_validator(filename: str) -> Callable[[dict], list[str]]:
    schema = json.loads((SCHEMA_DIR / filename).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def validate(obj: dict) -> list[str]:
        return [
            f"{'.'.join(str(p) for p in e.absolute_path) or '.'}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        ]

    return validate


def validators() -> dict[tuple[str, str], Callable[[dict], list[str]]]:
    """(apiVersion, kind) -> validator returning a list of problems."""
    from cloudcoil.models.cert_manager import v1 as cert_manager
    from cloudcoil.models.prometheus_operator import v1 as prometheus_operator

    return {
        ("monitoring.coreos.com/v1", "ServiceMonitor"): _model_validator(prometheus_operator.ServiceMonitor),
        ("monitoring.coreos.com/v1", "PrometheusRule"): _model_validator(prometheus_operator.PrometheusRule),
        ("monitoring.coreos.com/v1", "PodMonitor"): _model_validator(prometheus_operator.PodMonitor),
        ("cert-manager.io/v1", "Certificate"): _model_validator(cert_manager.Certificate),
        ("cert-manager.io/v1", "Issuer"): _model_validator(cert_manager.Issuer),
        ("cert-manager.io/v1", "ClusterIssuer"): _model_validator(cert_manager.ClusterIssuer),
        ("metallb.io/v1beta1", "IPAddressPool"): _schema_validator("metallb.io_v1beta1_ipaddresspool.json"),
        ("metallb.io/v1beta1", "L2Advertisement"): _schema_validator("metallb.io_v1beta1_l2advertisement.json"),
    }
