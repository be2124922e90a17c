# SPDX-License-Identifier: Apache-2.0
# KMS emulator, fault layer: decides per request whether to add latency,
# throttle, fail with 5xx, reset the connection, garble or slow the answer.
"""Fault injection driven by the control API.

A configuration applies to requests whose operation is in for_ops (default:
every KMS operation; "*" means every logged endpoint). With count N it
applies to the next N matching requests only and then clears itself. Each
matching request rolls once, in this order: reset, close, 5xx, throttle,
malformed, bad_crc (Google answers: ciphertextCrc32c / plaintextCrc32c of a
200 off by one); latency and slow_body apply to every matching request that is
not reset or closed, and answer_override to every 200 JSON answer among
them. Rates are probabilities in 0..1 (1 makes the outcome certain).
Azure's 429 and 503 carry the delay retry_after_ms (default 1000) in the
headers named by retry_after_headers (default all of Retry-After, in whole
seconds rounded up, retry-after-ms and x-ms-retry-after-ms).
"""

import random
import threading

RATE_FIELDS = ("reset_rate", "close_rate", "error_5xx_rate",
               "throttle_rate", "malformed_rate", "bad_crc_rate")
KIND_OF = {"reset_rate": "reset", "close_rate": "close",
           "error_5xx_rate": "5xx", "throttle_rate": "throttle",
           "malformed_rate": "malformed", "bad_crc_rate": "bad_crc"}
FIELDS = RATE_FIELDS + ("latency_ms", "slow_body_ms", "error_5xx_status",
                        "answer_override", "for_ops", "count", "seed",
                        "retry_after_ms", "retry_after_headers")
RETRY_AFTER_HEADERS = ("Retry-After", "retry-after-ms", "x-ms-retry-after-ms")


class Decision:
    """What to do to one request."""

    def __init__(self, kind=None, latency_ms=0, slow_body_ms=0, status=500,
                 override=None, retry_after_ms=1000,
                 retry_after_headers=RETRY_AFTER_HEADERS):
        # None, reset, close, 5xx, throttle, malformed, bad_crc
        self.kind = kind
        self.latency_ms = latency_ms
        self.slow_body_ms = slow_body_ms
        self.status = status
        self.override = override  # members to set (None: remove) in a 200
        self.retry_after_ms = retry_after_ms  # Azure 429/503 answers
        self.retry_after_headers = list(retry_after_headers)


NO_FAULT = Decision()


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.config = None
        self.rng = random.Random()

    def configure(self, cfg):
        unknown = set(cfg) - set(FIELDS)
        if unknown:
            raise ValueError("unknown fault fields: %s" % sorted(unknown))
        for name in RATE_FIELDS:
            rate = float(cfg.get(name, 0))
            if not 0 <= rate <= 1:
                raise ValueError("%s must be in 0..1" % name)
        status = int(cfg.get("error_5xx_status", 500))
        if status not in (500, 502, 503, 504):
            raise ValueError("error_5xx_status must be 500, 502, 503 or 504")
        if not isinstance(cfg.get("answer_override", {}), dict):
            raise ValueError("answer_override must be an object")
        if int(cfg.get("retry_after_ms", 1000)) < 0:
            raise ValueError("retry_after_ms must not be negative")
        names = cfg.get("retry_after_headers", list(RETRY_AFTER_HEADERS))
        if not isinstance(names, list) or not set(names) <= set(
                RETRY_AFTER_HEADERS):
            raise ValueError("retry_after_headers: a list of %s"
                             % ", ".join(RETRY_AFTER_HEADERS))
        with self.lock:
            self.config = dict(cfg)
            if "seed" in cfg:
                self.rng.seed(cfg["seed"])

    def clear(self):
        with self.lock:
            self.config = None

    def snapshot(self):
        with self.lock:
            return dict(self.config) if self.config else {}

    @staticmethod
    def _matches(cfg, op, is_kms):
        ops = cfg.get("for_ops")
        if not ops:
            return is_kms
        # "GCP.*", "AZ.*": every op of that prefix (Google's, Azure's).
        return "*" in ops or op in ops or any(
            o.endswith(".*") and op.startswith(o[:-1]) for o in ops)

    def decide(self, op, is_kms=True):
        with self.lock:
            cfg = self.config
            if not cfg or not self._matches(cfg, op, is_kms):
                return NO_FAULT
            if "count" in cfg:
                cfg["count"] = int(cfg["count"]) - 1
                if cfg["count"] <= 0:
                    self.config = None
            kind = None
            for name in RATE_FIELDS:
                rate = float(cfg.get(name, 0))
                if rate > 0 and self.rng.random() < rate:
                    kind = KIND_OF[name]
                    break
            return Decision(kind, int(cfg.get("latency_ms", 0)),
                            int(cfg.get("slow_body_ms", 0)),
                            int(cfg.get("error_5xx_status", 500)),
                            cfg.get("answer_override"),
                            int(cfg.get("retry_after_ms", 1000)),
                            cfg.get("retry_after_headers",
                                    RETRY_AFTER_HEADERS))
