"""Money out of an application: the tranches released by an event, one payment order per funder
(idempotency key APPLICATION:T<n>:<funder>), and the inputs about them — the payment system's
result, bank details fixed after a rejection (requested by one person, approved by another), ops
retrying orders the payment system did not take."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.application import ApplicationActivities as A
    from domain.documents import PAYMENT_ADVICE
    from domain.edition import TrancheRelease
    from domain.models import (
        Answer,
        BankDetailsApproved,
        BankDetailsFixed,
        PaymentOrder,
        PaymentResult,
        PaymentRetry,
        Stage,
    )
    from domain.money import mad, split
    from domain.refusals import Refusal
    from workflows.actor import who


from workflows.application.state import (
    APPROVAL,
    FIX,
    PATCH_BANK_FOUR_EYES,
    PATCH_UNSENT_ROW,
    PAYMENTS,
    RESEND,
    SIGNATURE,
    UNSENT,
    ApplicationState,
)

# Patch id: from this version, an answer that comes while its order is being sent is kept (histories
# from before let the send's stale copy of the order overwrite it).
PATCH_ANSWERED_WHILE_SENDING = "payment-answered-while-sending"


class Payments(ApplicationState):
    async def _disburse(self, release: TrancheRelease) -> None:
        """Pay every tranche released by this event, one payment order per funder, and wait for them."""
        previous = self.status.stage
        await self._enter(Stage.DISBURSEMENT, f"tranches released at {release.value}")
        shares = [t.share for t in self.settings.tranches]
        for n, tranche in enumerate(self.settings.tranches, start=1):
            if tranche.release != release:
                continue
            for funder, amount in sorted(self.status.funders.items()):
                part = split(amount, shares)[n - 1]
                if part <= 0:
                    continue
                order = PaymentOrder(
                    key=f"{self.app_id}:T{n}:{funder}",
                    application_id=self.app_id,
                    tranche=n,
                    funder=funder,
                    amount=part,
                )
                self._orders[order.key] = order  # known before the await: a result may come at once
                await self._send_order(order, A.create_payment_order, order, self._bank_account, self._now())
        self._refresh_orders()
        await self._wait(
            lambda: all(o.status == "executed" for o in self._orders.values()),
            RESEND if any(o.status == UNSENT for o in self._orders.values()) else PAYMENTS,
            None,
        )
        if previous == Stage.MONITORING:
            await self._enter(Stage.MONITORING, "tranche paid")

    async def _send_order(self, order: PaymentOrder, fn: Callable[..., Any], *args: Any) -> None:
        """Run a payment order's activity: stored, then handed to the payment system. When the payment
        system stays unavailable past that activity's bounded retries (activities/policies.py), the
        order waits for ops (`retry_payment_orders`) with an escalation, rather than failing the grant."""
        try:
            sent = await self._act(fn, *args)
            if not self._answered_meanwhile(order):
                self._orders[order.key] = sent
        except ActivityError as e:
            if self._answered_meanwhile(order):
                self._refresh_orders()
                return  # the payment system took it after all: its answer came
            reason = str(e.cause or e)[:300]
            self._orders[order.key] = order.model_copy(update={"status": UNSENT})
            self._refresh_orders()
            if workflow.patched(PATCH_UNSENT_ROW):  # the database says so too (histories before it do not)
                await self._act(A.mark_payment_unsent, order.key, order.attempt, reason, self._now())
            await self._notice(
                f"payment-unsent-{self._next_seq('payment_unsent')}",
                "escalation",
                f"payment order {order.key} (attempt {order.attempt}) not taken by the payment system: {reason}",
            )
            self._awaiting(RESEND)
        self._refresh_orders()

    def _answered_meanwhile(self, order: PaymentOrder) -> bool:
        """The payment system's answer to this attempt came while the order was being sent (a fast
        payment system, or a send retried after its worker died): it is newer than the order the
        send read from the database, which would otherwise overwrite it and leave the workflow
        waiting for an answer already given."""
        now = self._orders.get(order.key)
        answered = now is not None and now.attempt == order.attempt and now.status in ("executed", "rejected")
        return answered and workflow.patched(PATCH_ANSWERED_WHILE_SENDING)

    @workflow.update
    async def payment_result(self, result: PaymentResult) -> Answer:
        self._guard(self._check_payment, result)
        order = self._orders[result.order_key]
        if result.executed:
            self._orders[order.key] = order.model_copy(update={"status": "executed"})
            await self._act(A.record_payment, order.key, result.attempt, result.reference, self._now())
            self.status.paid[order.funder] = self.status.paid.get(order.funder, Decimal(0)) + order.amount
            self.status.paid_total = mad(sum(self.status.paid.values(), Decimal(0)))
            self._refresh_orders()
            if self._issued is not None:  # workflows that issued their agreement issue the advices too
                await self._issue(PAYMENT_ADVICE, order.key)
            return self._answer(f"payment of {order.amount} MAD (tranche {order.tranche}, {order.funder}) recorded")
        self._orders[order.key] = order.model_copy(update={"status": "rejected"})
        self._refresh_orders()
        await self._act(A.mark_payment_rejected, order.key, result.attempt, result.reason, self._now())
        self._awaiting(FIX)
        return self._answer(f"payment order {order.key} rejected ({result.reason}); waiting for ops to fix the details")

    @payment_result.validator
    def _check_payment(self, result: PaymentResult) -> None:
        order = self._orders.get(result.order_key)
        if order is None:
            raise Refusal("payment.unknown_order", order_key=result.order_key)
        # An unsent order may have been taken all the same (our call timed out after the payment system
        # had it): its result is the proof, and a payment made is recorded rather than refused.
        if order.status not in ("sent", UNSENT) or order.attempt != result.attempt:
            raise Refusal(
                "payment.not_awaiting",
                order_key=order.key,
                attempt=result.attempt,
                status=order.status,
                current=order.attempt,
            )

    @workflow.update
    async def fix_bank_details(self, fix: BankDetailsFixed) -> Answer:
        """New bank details after a rejection: a request, applied once a second person approves it
        (four eyes on where money goes); histories from before applied it at once."""
        self._guard(self._check_fix, fix)
        if not workflow.patched(PATCH_BANK_FOUR_EYES):
            return await self._new_bank_details(fix.bank_account, fix.fixed_by)
        requested_by = who(fix.fixed_by)
        self._bank_change = (fix.bank_account, requested_by)
        self.status.bank_details_requested_by = requested_by
        self._awaiting(APPROVAL)
        seq = self._next_seq("bank_details")
        await self._record("bank_details", seq, "requested", {"bank_account": fix.bank_account}, requested_by)
        return self._answer(f"bank details change requested by {requested_by}: another person approves it")

    @fix_bank_details.validator
    def _check_fix(self, fix: BankDetailsFixed) -> None:
        if self._unsigned_agreement():  # the agreement states the account: a change is a new version
            return
        if not any(o.status == "rejected" for o in self._orders.values()):
            raise Refusal("bank.no_rejected_order")

    @workflow.update
    async def approve_bank_details(self, approval: BankDetailsApproved) -> Answer:
        self._guard(self._check_approval, approval)
        assert self._bank_change is not None  # checked by the validator
        account, requested_by = self._bank_change
        self._bank_change, self.status.bank_details_requested_by = None, None
        approver = who(approval.approved_by)
        if not approval.approved:
            self._awaiting(SIGNATURE if self._unsigned_agreement() else FIX)
            seq = self._next_seq("bank_details")
            await self._record("bank_details", seq, "declined", {"reason": approval.reason}, approver)
            return self._answer(f"bank details change of {requested_by} declined by {approver}")
        if self._unsigned_agreement():
            return await self._agreement_bank_details(account, approver)
        return await self._new_bank_details(account, approver)

    @approve_bank_details.validator
    def _check_approval(self, approval: BankDetailsApproved) -> None:
        if self._bank_change is None:
            raise Refusal("bank.no_change_waiting")
        if who(approval.approved_by) == self._bank_change[1]:
            raise Refusal("bank.four_eyes", requester=self._bank_change[1])

    async def _agreement_bank_details(self, account: str, by: str) -> Answer:
        """Before signature the agreement states the account (masked): a new account is a new
        version of the agreement, which the signature must name; the signature's account must be
        this one (inputs.py), and the payments go to it."""
        if self._reissuing:  # one version at a time: the one before is issued first
            await workflow.wait_condition(lambda: not self._reissuing)
            if not self._unsigned_agreement():  # signed (or stopped) meanwhile
                return await self._new_bank_details(account, by)
        self._reissuing = True  # from here a signature waits for the new version (inputs.py)
        try:
            seq = self._next_seq("bank_details")
            await self._record("bank_details", seq, "fixed", {"bank_account": account, "orders": []}, by)
            await self._reissue_agreement()
            self._agreed_account = self._bank_account = account
        finally:
            self._reissuing = False
        self._awaiting(SIGNATURE)
        assert self._issued is not None
        return self._answer(
            f"bank details fixed; agreement version {self._issued.version} issued (sha256 {self._issued.sha256}): "
            "sign that one"
        )

    async def _new_bank_details(self, account: str, by: str) -> Answer:
        """Pay the rejected orders again, to the new account (and the orders still to come: after
        signature the agreement is not issued again, the payment advices show the account paid)."""
        self._bank_account = account
        rejected = [o for o in self._orders.values() if o.status == "rejected"]
        for o in rejected:  # marked as sent before the awaits: a result may come at once
            self._orders[o.key] = o.model_copy(update={"status": "sent", "attempt": o.attempt + 1})
        self._refresh_orders()
        if rejected:  # a change asked before the signature and approved after it has nothing to resend
            self._awaiting(PAYMENTS)
        for o in rejected:
            await self._send_order(
                self._orders[o.key], A.retry_payment_order, o.key, o.attempt + 1, account, self._now()
            )
        seq = self._next_seq("bank_details")
        await self._record("bank_details", seq, "fixed", {"orders": [o.key for o in rejected]}, by)
        unsent = [o.key for o in rejected if self._orders[o.key].status == UNSENT]
        if unsent:
            return self._answer(
                f"bank details fixed; payment order(s) {', '.join(unsent)} not taken by the payment "
                "system: escalated, retry them with retry_payment_orders"
            )
        return self._answer(f"bank details fixed; {len(rejected)} payment order(s) sent again")

    @workflow.update
    async def retry_payment_orders(self, retry: PaymentRetry) -> Answer:
        """Ops send again the orders the payment system did not take (after its outage)."""
        self._guard(self._check_retry_payments, retry)
        unsent = [o for o in self._orders.values() if o.status == UNSENT]
        for o in unsent:  # marked as sent before the awaits: a result may come at once
            self._orders[o.key] = o.model_copy(update={"status": "sent"})
        self._refresh_orders()
        self._awaiting(PAYMENTS)
        for o in unsent:
            order = self._orders[o.key]
            if order.attempt == 1:
                await self._send_order(order, A.create_payment_order, order, self._bank_account, self._now())
            else:  # a re-sent order after fixed bank details: the same attempt, sent again
                await self._send_order(
                    order, A.retry_payment_order, order.key, order.attempt, self._bank_account, self._now()
                )
        await self._record(
            "payment_retry",
            self._next_seq("payment_retry"),
            "retried",
            {"orders": [o.key for o in unsent], "reason": retry.reason},
            retry.requested_by,
        )
        still = [o.key for o in unsent if self._orders[o.key].status == UNSENT]
        if still:
            raise ApplicationError(
                f"orders: the payment system still did not take {', '.join(still)}; escalated again, "
                "waiting for ops to retry",
                type="PaymentSystemUnavailable",
                non_retryable=True,
            )
        return self._answer(f"{len(unsent)} payment order(s) sent again to the payment system")

    @retry_payment_orders.validator
    def _check_retry_payments(self, retry: PaymentRetry) -> None:
        self._expect_open()
        if not any(o.status == UNSENT for o in self._orders.values()):
            raise Refusal("payment.nothing_to_resend")
