"""The payment system's client: a payment order goes out as one HTTP POST, keyed for idempotency.

    POST <PAYMENT_SYSTEM_URL>
    Idempotency-Key: <order key>#<attempt>          e.g. moazara-4-ASSO-0001:T1:ministry#1
    {"order_key": …, "attempt": 1, "application_id": …, "tranche": 1, "funder": "ministry",
     "amount": "24000.00", "currency": "MAD", "bank_account": "<24-digit RIB>"}

The order key names the payment (application, tranche, funder); the attempt is 2, 3 … when ops
re-send a rejected order with fixed bank details. A retried activity (a worker killed after the
POST, a timeout) sends the very same key again, so the payment system takes each attempt once.

Answers: 2xx, or 409 (that key was already taken) — the order is taken; the payment system
confirms or rejects it later (the gateway's payment-order events). 5xx, 429, a timeout or a
refused connection — unavailable: the activity retries under its bounded policy
(activities/policies.py), then the workflow escalates to ops. Any other 4xx — the payment system
refuses this order as such: not retried, escalated at once.

With no URL configured (the embedded default) there is no payment system to call: the order is
taken at once, and results come from whoever plays the payment system (ops, the demo, the gateway).
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from temporalio.exceptions import ApplicationError

from domain.models import PaymentOrder

UNAVAILABLE = "PaymentSystemUnavailable"  # retried
REFUSED = "PaymentOrderRefused"  # not retried (listed in policies.NON_RETRYABLE)


def idempotency_key(order: PaymentOrder) -> str:
    return f"{order.key}#{order.attempt}"


@dataclass(frozen=True)
class PaymentSystem:
    url: str | None = None
    timeout_seconds: float = 10.0

    def send(self, order: PaymentOrder, bank_account: str) -> None:
        """Hand the order to the payment system; raises ApplicationError (UNAVAILABLE or REFUSED)."""
        if not self.url:
            return
        body = json.dumps(
            {
                "order_key": order.key,
                "attempt": order.attempt,
                "application_id": order.application_id,
                "tranche": order.tranche,
                "funder": order.funder,
                "amount": str(order.amount),
                "currency": "MAD",
                "bank_account": bank_account,
            }
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key(order)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as e:
            if e.code == 409:
                return  # this attempt was taken before (our own earlier try): nothing new to send
            if e.code == 429 or e.code >= 500:
                raise ApplicationError(f"payment system answered {e.code} {e.reason}", type=UNAVAILABLE) from None
            raise ApplicationError(
                f"payment system refused order {order.key}: {e.code} {e.reason}", type=REFUSED, non_retryable=True
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            # The bank account is in the body, never in this message.
            reason = getattr(e, "reason", None) or e
            raise ApplicationError(
                f"payment system unreachable: {type(e).__name__}: {reason}", type=UNAVAILABLE
            ) from None
